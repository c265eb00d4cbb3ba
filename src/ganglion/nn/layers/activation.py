"""Activation layers (ReLU, Tanh, Softmax, ...)."""

__all__ = []
