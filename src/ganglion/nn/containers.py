"""Containers: Sequential, ModuleList and ModuleDict."""

__all__ = []
