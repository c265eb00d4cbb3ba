"""Batch normalization kernels for the NumPy backend: per-channel statistics, the normalization,
and the two steps of the input gradient, on (N, C, ...) arrays normalized over every axis but 1.

These are the NumPy reference kernels: einsum sums over an (N, C, L) view (no temporary for
the squares) and in-place elementwise passes. The numba provider (backend/numba_provider.py)
runs float32 and float64 arrays through backend/batchnorm_loops.py instead (fewer passes over
memory, split over the cores by planes), with the same results to rounding. The ops that call
these (core/ops/nn/batch_norm.py) say what each quantity is.
"""
import math

import numpy as np

from ganglion.backend import array_cache

__all__ = ["batch_statistics", "batch_normalize", "batch_norm_gradient_sums",
           "batch_norm_input_gradient"]

# The numba provider splits planes over the cores only where each core gets at least this many
# elements (below it the hand-off to a pool thread costs more than it saves).
SPLIT_ELEMENTS = 1 << 16


def rows(x):
    """x (N, C, ...) as a C-contiguous (N, C, L) array (a view where x is contiguous). The
    trailing size is given, not -1, which NumPy cannot infer for an empty batch."""
    return np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))


def batch_statistics(x):
    """The (2, C) stack of per-channel mean and biased variance of x (N, C, ...), in x's dtype."""
    x_rows = rows(x)
    count = max(x_rows.shape[0] * x_rows.shape[2], 1)
    # einsum over the (N, C, L) view: faster than NumPy's mean / var over the non-contiguous
    # axes (0, 2, 3), and the sum of squares needs no temporary for the squares.
    mean = np.einsum("ncl->c", x_rows) / x.dtype.type(count)
    centered = np.subtract(x_rows, mean[:, None], out=array_cache.empty(x_rows.shape, x_rows.dtype))
    variance = np.einsum("ncl,ncl->c", centered, centered) / x.dtype.type(count)
    return np.stack([mean, variance]).astype(x.dtype, copy=False)


def batch_normalize(x, scale, shift):
    """x * scale[c] + shift[c] for x (N, C, ...) and per-channel scale and shift."""
    scale, shift = scale.astype(x.dtype, copy=False), shift.astype(x.dtype, copy=False)
    out = array_cache.empty(x.shape, x.dtype)
    view = (1, -1) + (1,) * (x.ndim - 2)
    np.multiply(x, scale.reshape(view), out=out)
    out += shift.reshape(view)
    return out


def batch_norm_gradient_sums(g, x, mean):
    """(per-channel sum of g, per-channel sum of g * (x - mean[c])) for g and x (N, C, ...),
    as float64 arrays."""
    g_rows, x_rows = rows(g), rows(x)
    mean = np.ascontiguousarray(mean.astype(x.dtype, copy=False))
    centered = np.subtract(x_rows, mean[:, None], out=array_cache.empty(x_rows.shape, x_rows.dtype))
    return (np.einsum("ncl->c", g_rows).astype(np.float64),
            np.einsum("ncl,ncl->c", g_rows, centered).astype(np.float64))


def batch_norm_input_gradient(g, x, mean, a, b, d):
    """a[c] * g + b[c] * (x - mean[c]) + d[c], in g's dtype and x's shape."""
    a, b, d, mean = (np.ascontiguousarray(v.astype(g.dtype, copy=False)) for v in (a, b, d, mean))
    out = array_cache.empty(x.shape, g.dtype)
    g_rows, x_rows = rows(g), rows(x)
    out_rows = out.reshape(x_rows.shape)
    np.subtract(x_rows, mean[:, None], out=out_rows)
    out_rows *= b[:, None]
    out_rows += g_rows * a[:, None]
    out_rows += d[:, None]
    return out
