"""Padding (PyTorch's F.pad): constant, reflect, replicate and circular modes.

The op itself lives in ``core/ops/shape.py`` (``pad``: constant padding is the ``Pad`` op,
the other modes one gather per padded axis, ``ModePad``, whose gradient adds each output
position's gradient back to the input position it read). This module gives it PyTorch's
functional name and signature.
"""
from ganglion.core.ops.shape import pad as _pad
from ganglion.core.tensor import Tensor

__all__ = ["pad"]


def pad(input, pad, mode="constant", value=None):
    """Pad ``input`` by ``pad`` = (left, right, top, bottom, front, back), last dim first.

    ``mode='constant'`` fills with ``value`` (0 by default) and pads any number of dims;
    'reflect', 'replicate' and 'circular' pad the last 1, 2 or 3 dims of 2-D to 5-D input
    (batched or not) and take no ``value``. Negative widths crop.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: expected a Tensor as input, got {type(input).__name__}")
    return _pad(input, pad, mode, value)
