"""Functional recurrent cells and sequence loops."""

__all__ = []
