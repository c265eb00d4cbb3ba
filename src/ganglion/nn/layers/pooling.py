"""Pooling and resampling layers: max/avg pooling, adaptive pooling, Upsample."""

__all__ = []
