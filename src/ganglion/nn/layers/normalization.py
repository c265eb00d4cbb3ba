"""Normalization layers: BatchNorm, LayerNorm, GroupNorm, LocalResponseNorm."""

__all__ = []
