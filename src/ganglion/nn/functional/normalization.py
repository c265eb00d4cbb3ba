"""Functional normalization."""

__all__ = []
