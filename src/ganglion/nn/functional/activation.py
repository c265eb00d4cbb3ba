"""Functional activations."""

__all__ = []
