"""Dropout and Dropout2d."""

__all__ = []
