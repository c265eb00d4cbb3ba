"""Functional convolution: conv1d, conv2d, conv_transpose2d."""

__all__ = []
