"""Loss modules (MSELoss, CrossEntropyLoss, ...)."""

__all__ = []
