"""Functional pooling and resampling."""

__all__ = []
