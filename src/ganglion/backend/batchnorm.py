"""Batch normalization kernels for the NumPy backend: per-channel statistics, the normalization,
and the two steps of the input gradient, on (N, C, ...) arrays normalized over every axis but 1.

With numba (the ``jit`` extra) float32 and float64 arrays go through backend/batchnorm_loops.py
(fewer passes over memory, split over the cores by planes); otherwise, and for other dtypes,
through the NumPy forms here, which give the same results to rounding. The ops that call these
(nn/functional/batch_norm_ops.py) say what each quantity is.

Measured on the CIFAR MobileNetV2's train step (batch 64, 52 batch norms): see
benchmarks/RESULTS.md, "Model zoo (issue 14)".
"""
import math

import numpy as np

from ganglion.backend import array_cache, matmul

__all__ = ["batch_statistics", "batch_normalize", "batch_norm_gradient_sums",
           "batch_norm_input_gradient"]

# A range of planes per core only where each core gets at least this many elements (below it
# the hand-off to a pool thread costs more than it saves; see backend/matmul.py).
_SPLIT_ELEMENTS = 1 << 16
_compiled = []


def _loops(*arrays):
    """backend.batchnorm_loops when numba can be used and every array is float32 or float64 of
    one dtype, else None."""
    if arrays[0].dtype not in (np.float32, np.float64) or any(a.dtype != arrays[0].dtype for a in arrays):
        return None
    if not _compiled:
        from ganglion.backend import fused_loops
        if fused_loops.available():
            from ganglion.backend import batchnorm_loops
            _compiled.append(batchnorm_loops)
        else:
            _compiled.append(None)
    return _compiled[0]


def _rows(x):
    """x (N, C, ...) as a C-contiguous (N, C, L) array (a view where x is contiguous). The
    trailing size is given, not -1, which NumPy cannot infer for an empty batch."""
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))


def _splitter(length):
    """on_each_core over planes of ``length`` elements, each core given enough of them."""
    least = -(-_SPLIT_ELEMENTS // max(1, length))
    return lambda planes, work: matmul.on_each_core(planes, work, least=least)


def batch_statistics(x):
    """The (2, C) stack of per-channel mean and biased variance of x (N, C, ...), in x's dtype."""
    rows = _rows(x)
    count = max(rows.shape[0] * rows.shape[2], 1)
    loops = _loops(rows)
    if loops is not None and rows.size:
        split = _splitter(rows.shape[2])
        mean = loops.channel_sums(split, rows, np.zeros(rows.shape[1], rows.dtype)) / count
        mean_ = mean.astype(rows.dtype)
        variance = loops.centered_squares(split, rows, mean_) / count
        return np.stack([mean, variance]).astype(x.dtype)
    # einsum over the (N, C, L) view: faster than NumPy's mean / var over the non-contiguous
    # axes (0, 2, 3), and the sum of squares needs no temporary for the squares.
    mean = np.einsum("ncl->c", rows) / x.dtype.type(count)
    centered = np.subtract(rows, mean[:, None], out=array_cache.empty(rows.shape, rows.dtype))
    variance = np.einsum("ncl,ncl->c", centered, centered) / x.dtype.type(count)
    return np.stack([mean, variance]).astype(x.dtype, copy=False)


def batch_normalize(x, scale, shift):
    """x * scale[c] + shift[c] for x (N, C, ...) and per-channel scale and shift."""
    scale, shift = scale.astype(x.dtype, copy=False), shift.astype(x.dtype, copy=False)
    out = array_cache.empty(x.shape, x.dtype)
    loops = _loops(x, scale, shift)
    if loops is not None and x.ndim >= 2 and x.size:
        rows = _rows(x)
        loops.normalize(_splitter(rows.shape[2]), rows, np.ascontiguousarray(scale),
                        np.ascontiguousarray(shift), out.reshape(rows.shape))
        return out
    view = (1, -1) + (1,) * (x.ndim - 2)
    np.multiply(x, scale.reshape(view), out=out)
    out += shift.reshape(view)
    return out


def batch_norm_gradient_sums(g, x, mean):
    """(per-channel sum of g, per-channel sum of g * (x - mean[c])) for g and x (N, C, ...),
    as float64 arrays."""
    g_rows, x_rows = _rows(g), _rows(x)
    mean = np.ascontiguousarray(mean.astype(x.dtype, copy=False))
    loops = _loops(g_rows, x_rows, mean)
    if loops is not None and x_rows.size:
        return loops.gradient_sums(_splitter(x_rows.shape[2]), g_rows, x_rows, mean)
    centered = np.subtract(x_rows, mean[:, None], out=array_cache.empty(x_rows.shape, x_rows.dtype))
    return (np.einsum("ncl->c", g_rows).astype(np.float64),
            np.einsum("ncl,ncl->c", g_rows, centered).astype(np.float64))


def batch_norm_input_gradient(g, x, mean, a, b, d):
    """a[c] * g + b[c] * (x - mean[c]) + d[c], in g's dtype and x's shape."""
    a, b, d, mean = (np.ascontiguousarray(v.astype(g.dtype, copy=False)) for v in (a, b, d, mean))
    out = array_cache.empty(x.shape, g.dtype)
    g_rows, x_rows = _rows(g), _rows(x)
    loops = _loops(g_rows, x_rows, a)
    if loops is not None and x_rows.size:
        loops.input_gradient(_splitter(x_rows.shape[2]), g_rows, x_rows, mean, a, b, d,
                             out.reshape(x_rows.shape))
        return out
    out_rows = out.reshape(x_rows.shape)
    np.subtract(x_rows, mean[:, None], out=out_rows)
    out_rows *= b[:, None]
    out_rows += g_rows * a[:, None]
    out_rows += d[:, None]
    return out
