"""Padding layers: ReflectionPad1d/2d/3d, ReplicationPad1d/2d/3d, CircularPad1d/2d/3d,
ZeroPad1d/2d/3d and ConstantPad1d/2d/3d, the module forms of ``F.pad`` with PyTorch's
constructors and reprs.

``padding`` is an int (the same on every side) or a tuple of 2 (1d: left, right), 4 (2d: left,
right, top, bottom) or 6 (3d: ..., front, back) ints, checked when the layer is built (PyTorch
only fails at the first forward call).
"""
import numbers

from ganglion.nn.functional.padding import pad
from ganglion.nn.layers.arguments import count
from ganglion.nn.module import Module

__all__ = ["ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
           "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d",
           "CircularPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d",
           "ConstantPad2d", "ConstantPad3d"]


def _padding(layer, padding, n):
    """``padding`` as a tuple of 2 * n ints (negative ones crop, as in PyTorch)."""
    values = padding if isinstance(padding, (tuple, list)) else (padding,) * (2 * n)
    if len(values) != 2 * n:
        raise ValueError(f"{layer}: padding must be an integer or a tuple of {2 * n} integers, "
                         f"got {tuple(values)!r}")
    return tuple(count(f"{layer}({padding!r})", "padding", v, minimum=-2**63) for v in values)


class _PadNd(Module):
    """A padding layer of ``_spatial`` dims in ``_mode``."""

    _spatial = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        self.padding = _padding(type(self).__name__, padding, self._spatial)

    def forward(self, input):
        return pad(input, self.padding, self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class ReflectionPad1d(_PadNd):
    """Pad the last dim of (N, C, W) or (C, W) input with its reflection (the edge excluded)."""
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    """Pad the last two dims of (N, C, H, W) or (C, H, W) input with their reflection."""
    _spatial = 2
    _mode = "reflect"


class ReflectionPad3d(_PadNd):
    """Pad the last three dims of (N, C, D, H, W) or (C, D, H, W) input with their reflection."""
    _spatial = 3
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    """Pad the last dim by repeating its edge values."""
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    """Pad the last two dims by repeating their edge values."""
    _spatial = 2
    _mode = "replicate"


class ReplicationPad3d(_PadNd):
    """Pad the last three dims by repeating their edge values."""
    _spatial = 3
    _mode = "replicate"


class CircularPad1d(_PadNd):
    """Pad the last dim by wrapping around (periodic boundary)."""
    _mode = "circular"


class CircularPad2d(_PadNd):
    """Pad the last two dims by wrapping around."""
    _spatial = 2
    _mode = "circular"


class CircularPad3d(_PadNd):
    """Pad the last three dims by wrapping around."""
    _spatial = 3
    _mode = "circular"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        if not isinstance(value, numbers.Number) or isinstance(value, bool):
            raise TypeError(f"{type(self).__name__}: value must be a number, got {value!r} of "
                            f"type {type(value).__name__}")
        self.value = value

    def forward(self, input):
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``."""


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``."""
    _spatial = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``."""
    _spatial = 3


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last three dims with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"
