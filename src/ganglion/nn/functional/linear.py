"""Functional linear layers and embedding lookup."""

__all__ = []
