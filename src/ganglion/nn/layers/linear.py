"""Linear, Bilinear, Identity, Flatten and Unflatten."""

__all__ = []
