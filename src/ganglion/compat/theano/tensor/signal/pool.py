"""Theano's ``theano.tensor.signal.pool.pool_2d``: pooling over the last two dims.

Reference: Theano 1.0's ``theano/tensor/signal/pool.py`` (``Pool.out_shape`` and
``Pool.perform``). With ``ignore_border=False`` (Theano's default, with a warning, as in Theano)
the windows that run past the bottom or right border are kept, cut at the border; that is
PyTorch's ``ceil_mode=True`` without padding, which is how it is computed. ``pad`` (which Theano
allows only with ``ignore_border=True``) is explicit zero padding for the sums and averages, and
padding that never wins for max. Modes: 'max', 'sum', 'average_inc_pad' (the mean over the
window, padding counted), 'average_exc_pad' (the mean over the window's input elements only).
"""
import warnings

import ganglion as _gn
from ganglion.nn import functional as _F

__all__ = ["pool_2d", "MODES"]

MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def _pair(name, value):
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"pool_2d: {name} must be a pair of ints, got {value!r}") from None
    return (int(first), int(second))


def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max", ds=None,
            st=None, padding=None):
    """Pool ``input`` (2 or more dims; the last two are rows and cols) with windows ``ws``
    moved by ``stride`` (default ``ws``); see the module docstring. ``ds``, ``st`` and
    ``padding`` are Theano's old names of ``ws``, ``stride`` and ``pad``."""
    ws = ws if ws is not None else ds
    stride = stride if stride is not None else st
    pad = padding if padding is not None else pad
    if ws is None:
        raise ValueError("pool_2d: give the window size ws=(rows, cols)")
    ws = _pair("ws", ws)
    stride = ws if stride is None else _pair("stride", stride)
    pad = _pair("pad", pad)
    if mode not in MODES:
        raise ValueError(f"pool_2d: mode must be one of {', '.join(MODES)}, got {mode!r}")
    if ignore_border is None:
        warnings.warn("pool_2d() will have the parameter ignore_border default value changed to "
                      "True (currently False). To have consistent behavior with all Theano "
                      "version, explicitly add the parameter ignore_border=True.", stacklevel=2)
        ignore_border = False
    if pad != (0, 0) and not ignore_border:
        raise NotImplementedError("pool_2d: padding works only with ignore_border=True")
    if min(ws) < 1 or min(stride) < 1 or min(pad) < 0 or pad[0] >= ws[0] or pad[1] >= ws[1]:
        raise ValueError(f"pool_2d: need ws >= 1, stride >= 1 and 0 <= pad < ws, got ws={ws}, "
                         f"stride={stride}, pad={pad}")
    if not 2 <= input.ndim <= 4:
        raise ValueError(f"pool_2d: input must have 2 to 4 dims (rows and cols last), got shape "
                         f"{tuple('?' if d is None else d for d in input.tensor_type.shape)}")
    x = input
    if x.ndim == 2:
        x = _gn.unsqueeze(x, 0)
    result = _pool(x, ws, stride, pad, mode, ceil_mode=not ignore_border)
    return _gn.squeeze(result, 0) if input.ndim == 2 else result


def _pool(x, ws, stride, pad, mode, ceil_mode):
    widths = (pad[1], pad[1], pad[0], pad[0])
    if mode == "max":
        if pad != (0, 0):
            x = _F.pad(x, widths, value=float("-inf"))
        return _F.max_pool2d(x, ws, stride, ceil_mode=ceil_mode)
    padded = _F.pad(x, widths) if pad != (0, 0) else x
    # Without padding left to the pooling op, each window's divisor is the number of its
    # elements inside ``padded`` (cut at the border in ceil mode), as Theano's 'average_inc_pad';
    # divisor_override=1 gives the sums.
    if mode == "average_inc_pad" or (mode == "average_exc_pad" and pad == (0, 0)):
        return _F.avg_pool2d(padded, ws, stride, ceil_mode=ceil_mode)
    sums = _F.avg_pool2d(padded, ws, stride, ceil_mode=ceil_mode, divisor_override=1)
    if mode == "sum":
        return sums
    # 'average_exc_pad' with padding: divide by the count of x's own elements in each window.
    inside = _F.pad(_gn.ones_like(x), widths)
    return sums / _F.avg_pool2d(inside, ws, stride, ceil_mode=ceil_mode, divisor_override=1)
