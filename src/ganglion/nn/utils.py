"""Gradient clipping and parameter/vector conversion (nn.utils)."""

__all__ = []
