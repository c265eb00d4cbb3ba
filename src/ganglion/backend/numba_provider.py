"""The numba provider: compiled loops (the ``jit`` extra) for the backend methods whose NumPy
form takes several passes over memory.

Each kernel here has the signature of the NumPy reference it replaces (``backend/conv.py``,
``pool.py``, ``batchnorm.py``, ``numpy_backend.py``) and an ``applies`` predicate; the loops
themselves are in ``depthwise_loops.py``, ``pool_loops.py``, ``batchnorm_loops.py`` and
``nn_loops.py``. The loops are typed for float32 and float64, so every predicate asks for one of
those; they give the reference's results to rounding (the float32 tanh to 3e-7, see nn_loops).

- depthwise convolutions (one input channel per group): one pass per image plane with the
  kernel's taps in the L1 cache, instead of one pass over the batch per tap;
- max pooling: 2x2 windows at stride 2 that tile the input by one pass per kernel over 2x2
  blocks (nn_loops), other windows per image plane (pool_loops); the argmax and the gradient
  scatter likewise;
- batch normalization's statistics, normalization, gradient sums and input gradient: one or
  two passes each, split over the cores by planes;
- float32 tanh (a vectorized rational approximation: NumPy vectorizes float32 tanh only with
  AVX-512), ReLU (a select, where np.maximum's NaN handling takes 2.5x as long) and ReLU's and
  hardtanh's backward (one pass, no boolean temporary);
- the LSTM's and GRU's time loops (backend/recurrent.py's NumPy form with each step's
  elementwise arithmetic as one loop).

``kernels()`` imports numba (a quarter of a second), so the registry calls it on first use.
"""
from functools import partial

import numpy as np

from ganglion.backend import array_cache, batchnorm, conv, matmul, pool
from ganglion.backend.providers import Kernel

__all__ = ["kernels", "tiles_2x2"]

_FLOATS = (np.float32, np.float64)


# The loop modules, imported by kernels() (importing them imports numba).
nn_loops = pool_loops = batchnorm_loops = depthwise_loops = None


# ----- depthwise convolution ------------------------------------------------------------------

def _depthwise_forward_applies(x, w, bias, stride, padding, dilation, groups):
    return x.dtype in _FLOATS and conv._is_depthwise(x.shape[1], w.shape[0], groups)


def _depthwise_backward_input_applies(g, w, input_hw, stride, padding, dilation, groups):
    return g.dtype in _FLOATS and conv._is_depthwise(w.shape[1] * groups, g.shape[1], groups)


def _depthwise_backward_weight_applies(x, g, kernel_hw, stride, padding, dilation, groups):
    return x.dtype in _FLOATS and conv._is_depthwise(x.shape[1], g.shape[1], groups)


def _split_planes(shape):
    """on_each_core over (image, channel) planes, each core given enough output elements."""
    least = -(-conv.DEPTHWISE_SPLIT_ELEMENTS // max(1, shape.o // shape.c * shape.columns))
    return lambda work: matmul.on_each_core(shape.n * shape.c, work, least=least)


def depthwise_conv2d_forward(x, w, bias, stride, padding, dilation, groups):
    """conv2d_forward for a depthwise convolution, one image plane at a time (depthwise_loops)."""
    shape = conv.forward_shape(x, w, stride, padding, dilation, groups)
    out = array_cache.empty((shape.n, shape.o) + shape.out_hw, x.dtype)
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    bias = None if bias is None else np.ascontiguousarray(bias)
    _split_planes(shape)(partial(depthwise_loops.forward, x, w, bias, out, shape.stride,
                                 shape.padding, shape.dilation))
    return out


def depthwise_conv2d_backward_input(g, w, input_hw, stride, padding, dilation, groups):
    """conv2d_backward_input for a depthwise convolution (depthwise_loops)."""
    shape = conv.backward_input_shape(g, w, input_hw, stride, padding, dilation, groups)
    grad_input = array_cache.empty((shape.n, shape.c) + shape.hw, g.dtype)
    g, w = np.ascontiguousarray(g), np.ascontiguousarray(w)
    _split_planes(shape)(partial(depthwise_loops.backward_input, g, w, grad_input, shape.stride,
                                 shape.padding, shape.dilation))
    return grad_input


def depthwise_conv2d_backward_weight(x, g, kernel_hw, stride, padding, dilation, groups):
    """conv2d_backward_weight for a depthwise convolution: per-range partial sums, added."""
    shape = conv.backward_weight_shape(x, g, kernel_hw, stride, padding, dilation, groups)
    x, g = np.ascontiguousarray(x), np.ascontiguousarray(g)
    partial_sums = _split_planes(shape)(partial(
        depthwise_loops.backward_weight, x, g, shape.k_hw, shape.stride, shape.padding, shape.dilation))
    grad_weight = partial_sums[0]
    for other in partial_sums[1:]:
        grad_weight += other
    return grad_weight


# ----- max pooling ----------------------------------------------------------------------------

def tiles_2x2(shape, kernel, stride, padding, dilation):
    """2x2 windows at stride 2 that tile the input exactly (so ceil_mode changes nothing)."""
    return (tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0)
            and tuple(dilation) == (1, 1) and shape[-2] % 2 == 0 and shape[-1] % 2 == 0)


def _split(plane_size):
    least = -(-pool.SPLIT_ELEMENTS // max(1, plane_size))
    return lambda planes, work: matmul.on_each_core(planes, work, least=least)


def _planes(a):
    """a (..., H, W) as a C-contiguous (P, H, W) array."""
    return np.ascontiguousarray(a).reshape((-1,) + a.shape[-2:])


def _max_pool_applies(x, kernel, stride, padding, dilation, ceil_mode):
    return x.dtype in _FLOATS and x.ndim >= 3 and x.size > 0


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """The maximum of each window (NaN propagates), in compiled loops."""
    if tiles_2x2(x.shape, kernel, stride, padding, dilation):
        return nn_loops.max_pool_2x2(x)
    g = pool.geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    out = array_cache.empty(x.shape[:-2] + g.out_hw, x.dtype)
    pool_loops.max_pool(_split(x.shape[-1] * x.shape[-2]), _planes(x),
                        out.reshape((-1,) + g.out_hw), g.kernel, g.stride, g.padding, g.dilation)
    return out


def _max_pool_argmax_applies(x, out, kernel, stride, padding, dilation, ceil_mode):
    return x.dtype in _FLOATS and x.ndim >= 3 and out.dtype == x.dtype and x.size > 0


def max_pool2d_argmax(x, out, kernel, stride, padding, dilation, ceil_mode):
    """Per window, the first tap (row-major) that holds the window's maximum ``out``."""
    dtype = pool.argmax_dtype(kernel)
    if tiles_2x2(x.shape, kernel, stride, padding, dilation):
        return nn_loops.max_pool_2x2_argmax(x, out, dtype)
    g = pool.geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    arg = np.empty(out.shape, dtype)
    pool_loops.argmax(_split(x.shape[-1] * x.shape[-2]), _planes(x), _planes(out),
                      arg.reshape((-1,) + g.out_hw), g.kernel, g.stride, g.padding, g.dilation)
    return arg


def _max_pool_scatter_applies(grad, arg, in_shape, kernel, stride, padding, dilation, ceil_mode):
    return grad.dtype in _FLOATS and grad.ndim >= 3 and grad.size > 0


def max_pool2d_scatter(grad, arg, in_shape, kernel, stride, padding, dilation, ceil_mode):
    """The input gradient of max pooling: each window's gradient at its argmax."""
    if tiles_2x2(in_shape, kernel, stride, padding, dilation):
        return nn_loops.max_pool_2x2_scatter(grad, arg, in_shape)
    g = pool.geometry(in_shape, kernel, stride, padding, dilation, ceil_mode)
    grad_input = array_cache.empty(tuple(in_shape), grad.dtype)
    pool_loops.scatter(_split(in_shape[-1] * in_shape[-2]), _planes(grad), _planes(arg),
                       grad_input.reshape((-1,) + g.in_hw), g.kernel, g.stride, g.padding, g.dilation)
    return grad_input


# ----- batch normalization --------------------------------------------------------------------

def _splitter(length):
    least = -(-batchnorm.SPLIT_ELEMENTS // max(1, length))
    return lambda planes, work: matmul.on_each_core(planes, work, least=least)


def _statistics_applies(x):
    return x.dtype in _FLOATS and x.ndim >= 2 and x.size > 0


def batch_statistics(x):
    """The (2, C) stack of per-channel mean and biased variance (two read passes)."""
    rows = batchnorm.rows(x)
    count = rows.shape[0] * rows.shape[2]
    split = _splitter(rows.shape[2])
    mean = batchnorm_loops.channel_sums(split, rows, np.zeros(rows.shape[1], rows.dtype)) / count
    variance = batchnorm_loops.centered_squares(split, rows, mean.astype(rows.dtype)) / count
    return np.stack([mean, variance]).astype(x.dtype)


def _normalize_applies(x, scale, shift):
    return x.dtype in _FLOATS and x.ndim >= 2 and x.size > 0


def batch_normalize(x, scale, shift):
    """x * scale[c] + shift[c] in one pass."""
    scale = np.ascontiguousarray(scale.astype(x.dtype, copy=False))
    shift = np.ascontiguousarray(shift.astype(x.dtype, copy=False))
    out = array_cache.empty(x.shape, x.dtype)
    rows = batchnorm.rows(x)
    batchnorm_loops.normalize(_splitter(rows.shape[2]), rows, scale, shift, out.reshape(rows.shape))
    return out


def _gradient_sums_applies(g, x, mean):
    return x.dtype in _FLOATS and g.dtype == x.dtype and x.ndim >= 2 and x.size > 0


def batch_norm_gradient_sums(g, x, mean):
    """(sum of g, sum of g * (x - mean[c])) per channel, as float64, in one read pass."""
    g_rows, x_rows = batchnorm.rows(g), batchnorm.rows(x)
    mean = np.ascontiguousarray(mean.astype(x.dtype, copy=False))
    return batchnorm_loops.gradient_sums(_splitter(x_rows.shape[2]), g_rows, x_rows, mean)


def _input_gradient_applies(g, x, mean, a, b, d):
    return g.dtype in _FLOATS and x.dtype == g.dtype and x.ndim >= 2 and x.size > 0


def batch_norm_input_gradient(g, x, mean, a, b, d):
    """a[c] * g + b[c] * (x - mean[c]) + d[c] in one pass."""
    a, b, d, mean = (np.ascontiguousarray(v.astype(g.dtype, copy=False)) for v in (a, b, d, mean))
    out = array_cache.empty(x.shape, g.dtype)
    g_rows, x_rows = batchnorm.rows(g), batchnorm.rows(x)
    batchnorm_loops.input_gradient(_splitter(x_rows.shape[2]), g_rows, x_rows, mean, a, b, d,
                                   out.reshape(x_rows.shape))
    return out


# ----- elementwise ----------------------------------------------------------------------------

# float32 tanh of fewer elements than this stays NumPy's: below it the compiled loop's call
# overhead (a few us) is more than it saves.
COMPILED_TANH_ELEMENTS = 1024


def _rows_or_contiguous(a):
    """C-contiguous, or 2-D with contiguous rows (a block of columns): what the tanh loops take."""
    return a.flags.c_contiguous or (a.ndim == 2 and a.strides[-1] == a.itemsize)


def _tanh_applies(x, out=None):
    return (x.dtype == np.float32 and x.size >= COMPILED_TANH_ELEMENTS and type(x) is np.ndarray
            and _rows_or_contiguous(x)
            and (out is None or (out.dtype == np.float32 and out.shape == x.shape
                                 and _rows_or_contiguous(out))))


# ReLU of fewer elements than this stays NumPy's (the compiled loop's call costs a few us).
COMPILED_RELU_ELEMENTS = 1024


def _relu_applies(x, out=None):
    return (x.dtype in _FLOATS and x.size >= COMPILED_RELU_ELEMENTS and type(x) is np.ndarray
            and x.flags.c_contiguous
            and (out is None or (out.dtype == x.dtype and out.shape == x.shape
                                 and out.flags.c_contiguous)))


def _relu_backward_applies(grad, out):
    return grad.dtype == out.dtype and grad.shape == out.shape


def _hardtanh_backward_applies(grad, x, min_val, max_val):
    return grad.dtype == x.dtype and grad.shape == x.shape and x.dtype in _FLOATS


def _always(*args, **kwargs):
    """The loops take every call of the method (the recurrent ops are float32 or float64)."""
    return True


def kernels():
    """{backend method: Kernel} of this provider; imports numba (ImportError without it)."""
    global nn_loops, pool_loops, batchnorm_loops, depthwise_loops
    from ganglion.backend import batchnorm_loops, depthwise_loops, nn_loops, pool_loops
    return {
        "conv2d_forward": Kernel(depthwise_conv2d_forward, _depthwise_forward_applies),
        "conv2d_backward_input": Kernel(depthwise_conv2d_backward_input, _depthwise_backward_input_applies),
        "conv2d_backward_weight": Kernel(depthwise_conv2d_backward_weight,
                                         _depthwise_backward_weight_applies),
        "max_pool2d": Kernel(max_pool2d, _max_pool_applies),
        "max_pool2d_argmax": Kernel(max_pool2d_argmax, _max_pool_argmax_applies),
        "max_pool2d_scatter": Kernel(max_pool2d_scatter, _max_pool_scatter_applies),
        "batch_statistics": Kernel(batch_statistics, _statistics_applies),
        "batch_normalize": Kernel(batch_normalize, _normalize_applies),
        "batch_norm_gradient_sums": Kernel(batch_norm_gradient_sums, _gradient_sums_applies),
        "batch_norm_input_gradient": Kernel(batch_norm_input_gradient, _input_gradient_applies),
        "tanh": Kernel(nn_loops.tanh, _tanh_applies),
        "relu": Kernel(nn_loops.relu, _relu_applies),
        "relu_nan_free": Kernel(nn_loops.relu_nan_free, _relu_applies),
        "relu_backward": Kernel(nn_loops.relu_backward, _relu_backward_applies),
        "hardtanh_backward": Kernel(nn_loops.hardtanh_backward, _hardtanh_backward_applies),
        "lstm_sequence_forward": Kernel(nn_loops.lstm_sequence_forward, _always),
        "lstm_sequence_backward": Kernel(nn_loops.lstm_sequence_backward, _always),
        "gru_sequence_forward": Kernel(nn_loops.gru_sequence_forward, _always),
        "gru_sequence_backward": Kernel(nn_loops.gru_sequence_backward, _always),
    }
