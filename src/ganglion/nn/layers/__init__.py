"""Layer modules, one file per family."""

__all__ = []
