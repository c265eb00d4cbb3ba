"""The NumPy (CPU) backend: the array namespace and the kernels that ops call.

Kernels here take and return NumPy arrays and know nothing of Tensors or autograd. They exist
where one namespace call is not enough (a scatter-add that must accumulate duplicates, the error
function that NumPy lacks) so that ops never import NumPy themselves.
"""

import math

import numpy as np

from ganglion.backend import array_cache, batchnorm, conv, pool, recurrent
from ganglion.backend.matmul import matmul, split_rows
from ganglion.backend.special import erf


# Elementwise results of at least this many elements go into cached memory.
_CACHED_RESULT_SIZE = 1 << 17


def _compiled_or_numpy(name):
    """The kernel ``name`` of backend/nn_loops.py where numba can be used, else the one of
    backend/recurrent.py (same arguments, same results to rounding)."""
    reference = getattr(recurrent, name)

    def kernel(*args):
        loops = _loops()
        return (reference if loops is None else getattr(loops, name))(*args)
    kernel.__name__ = name
    kernel.__doc__ = reference.__doc__
    return kernel


class NumpyBackend:
    """CPU arrays through NumPy; BLAS does the matrix products."""

    name = "numpy"
    device = "cpu"
    xp = np
    ndarray = np.ndarray

    # Convolution kernels (backend/conv.py).
    conv2d_forward = staticmethod(conv.conv2d_forward)
    conv2d_backward_input = staticmethod(conv.conv2d_backward_input)
    conv2d_backward_weight = staticmethod(conv.conv2d_backward_weight)

    # Batch normalization over (N, C, ...) arrays (backend/batchnorm.py).
    batch_statistics = staticmethod(batchnorm.batch_statistics)
    batch_normalize = staticmethod(batchnorm.batch_normalize)
    batch_norm_gradient_sums = staticmethod(batchnorm.batch_norm_gradient_sums)
    batch_norm_input_gradient = staticmethod(batchnorm.batch_norm_input_gradient)

    # The fused recurrent ops' time loops (backend/recurrent.py); the LSTM's and GRU's run as
    # compiled loops (backend/nn_loops.py) where numba can be used.
    lstm_sequence_forward = staticmethod(_compiled_or_numpy("lstm_sequence_forward"))
    lstm_sequence_backward = staticmethod(_compiled_or_numpy("lstm_sequence_backward"))
    gru_sequence_forward = staticmethod(_compiled_or_numpy("gru_sequence_forward"))
    gru_sequence_backward = staticmethod(_compiled_or_numpy("gru_sequence_backward"))
    rnn_sequence_forward = staticmethod(recurrent.rnn_sequence_forward)
    rnn_sequence_backward = staticmethod(recurrent.rnn_sequence_backward)

    # Matrix products: on BLAS's threads, or on ganglion's own while the convolution kernels
    # use them (backend/matmul.py says why).
    matmul = staticmethod(matmul)

    # A new uninitialized array; large ones reuse memory nobody holds (backend/array_cache.py).
    empty = staticmethod(array_cache.empty)

    @staticmethod
    def ufunc(function, a, b):
        """``function(a, b)`` for a NumPy ufunc of two arrays; a large floating-point result goes
        into memory from the array cache (the shape and dtype checks cost about 2 us, paid
        only on arrays where a page-faulting allocation costs far more)."""
        if (type(a) is np.ndarray and type(b) is np.ndarray
                and max(a.size, b.size) >= _CACHED_RESULT_SIZE
                and a.dtype.kind == "f" and b.dtype.kind == "f"):
            out = array_cache.empty(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
            return function(a, b, out=out)
        return function(a, b)

    @staticmethod
    def asarray(data, dtype=None):
        return np.asarray(data, dtype=dtype)

    @staticmethod
    def to_numpy(array):
        return array

    @staticmethod
    def erf(x):
        return erf(x)

    @staticmethod
    def index_add(shape, dtype, index, values):
        """zeros(shape) with ``values`` added at ``index`` (repeated positions accumulate)."""
        out = array_cache.zeros(shape, dtype)
        if _is_basic_index(index):
            out[index] = values
        else:
            np.add.at(out, index, values)
        return out

    @staticmethod
    def put_along_axis_add(shape, dtype, indices, values, axis):
        """zeros(shape) with ``values`` added at ``indices`` along ``axis`` (duplicates add up)."""
        out = array_cache.zeros(shape, dtype)
        if indices.shape[axis] == 1 and all(i == d for k, (i, d) in enumerate(zip(indices.shape, shape))
                                            if k != axis):
            # One index per row along the axis: positions are distinct, plain assignment suffices.
            np.put_along_axis(out, indices, values, axis)
            return out
        grids = list(np.indices(indices.shape, sparse=True))
        grids[axis] = indices
        np.add.at(out, tuple(grids), values)
        return out

    @staticmethod
    def compiled_loops():
        """``backend.nn_loops`` (numba loops for the arithmetic inside some kernels), or None
        when numba cannot be used: callers then run their NumPy form."""
        return _loops()

    @staticmethod
    def sum(x, axes, keepdims):
        """``x.sum(axis=axes, keepdims=keepdims)``. Where the reduced axes end with the last
        ones (a convolution's bias gradient sums g (N, O, H, W) over N, H and W), those are
        summed first as a matrix-vector product with a vector of ones: NumPy's sum over H*W
        rows of an NCHW array took 0.63 ms on the CIFAR CNN's first layer, BLAS 0.1-0.3."""
        trailing = 0
        if axes is not None and x.ndim:
            axes = tuple(a % x.ndim for a in axes)
            while trailing < len(axes) and x.ndim - 1 - trailing in axes:
                trailing += 1
        if (not trailing or trailing == x.ndim or x.size < _SUM_BY_PRODUCT_ELEMENTS
                or x.dtype not in (np.float32, np.float64) or not x.flags.c_contiguous):
            return x.sum(axis=axes, keepdims=keepdims)
        kept = x.shape[:x.ndim - trailing]
        inner = math.prod(x.shape[x.ndim - trailing:])
        if inner < 16:
            return x.sum(axis=axes, keepdims=keepdims)
        partial = matmul(x.reshape(-1, inner), np.ones((inner, 1), x.dtype)).reshape(kept)
        rest = tuple(a for a in axes if a < len(kept))
        result = partial.sum(axis=rest) if rest else partial
        if keepdims:
            result = result.reshape(tuple(1 if a in axes else d for a, d in enumerate(x.shape)))
        return result

    @staticmethod
    def relu(x, out=None):
        """max(x, 0) into ``out`` (x's shape and dtype; it may be x) or a new array; large arrays
        split over the cores (NumPy's ufuncs release the GIL)."""
        if out is None:
            out = array_cache.empty(x.shape, x.dtype)
        if not (x.flags.c_contiguous and out.flags.c_contiguous):
            return np.maximum(x, 0, out=out)
        flat_x, flat_out = x.reshape(-1), out.reshape(-1)
        split_rows(x.size, 1, lambda lo, hi: np.maximum(flat_x[lo:hi], 0, out=flat_out[lo:hi]))
        return out

    @staticmethod
    def tanh(x, out=None):
        """``np.tanh(x, out=out)``; float32 through the compiled loops' vectorized approximation
        (within 3e-7 of the exact value, see backend/nn_loops.py): NumPy vectorizes its float32
        tanh only with AVX-512 (3.8 ns an element on an AVX2 machine, against 0.6)."""
        if (x.dtype == np.float32 and x.size >= _COMPILED_TANH_ELEMENTS and _loops() is not None
                and type(x) is np.ndarray and _rows_or_contiguous(x)
                and (out is None or (out.dtype == np.float32 and out.shape == x.shape
                                     and _rows_or_contiguous(out)))):
            return _loops().tanh(x, out)
        return np.tanh(x, out=out)

    @staticmethod
    def relu_backward(grad, out):
        """``grad`` where ``out > 0``, else zero."""
        if _loops() is not None and grad.dtype == out.dtype and grad.shape == out.shape:
            return _loops().relu_backward(grad, out)
        return np.multiply(grad, out > 0, out=array_cache.empty(out.shape, grad.dtype))

    @staticmethod
    def hardtanh(x, min_val, max_val):
        """x clipped to [min_val, max_val] in x's dtype, large arrays split over the cores
        (np.clip with Python bounds took 10 ms on a MobileNetV2 activation, max-then-min 3)."""
        out = array_cache.empty(x.shape, x.dtype)
        low, high = x.dtype.type(min_val), x.dtype.type(max_val)
        if not x.flags.c_contiguous or x.dtype.kind != "f":
            return np.minimum(np.maximum(x, low), high, out=out)
        flat_x, flat_out = x.reshape(-1), out.reshape(-1)

        def clip(lo, hi):
            np.maximum(flat_x[lo:hi], low, out=flat_out[lo:hi])
            np.minimum(flat_out[lo:hi], high, out=flat_out[lo:hi])
        split_rows(x.size, 1, clip)
        return out

    @staticmethod
    def hardtanh_backward(grad, x, min_val, max_val):
        """``grad`` where min_val < x < max_val, else zero."""
        if (_loops() is not None and grad.dtype == x.dtype and grad.shape == x.shape
                and x.dtype in (np.float32, np.float64)):
            return _loops().hardtanh_backward(grad, x, min_val, max_val)
        inside = np.logical_and(x > min_val, x < max_val)
        return np.multiply(grad, inside, out=array_cache.empty(x.shape, grad.dtype))

    # Pooling and resampling kernels (backend/pool.py).
    pool_output_size = staticmethod(pool.pool_output_size)
    # 2x2 windows with stride 2 that tile the input run as compiled loops (backend/nn_loops.py).

    @staticmethod
    def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
        if _tiled_2x2(x.shape, x.dtype, kernel, stride, padding, dilation):
            return _loops().max_pool_2x2(x)
        return pool.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode)

    @staticmethod
    def max_pool2d_argmax(x, out, kernel, stride, padding, dilation, ceil_mode):
        if _tiled_2x2(x.shape, x.dtype, kernel, stride, padding, dilation):
            return _loops().max_pool_2x2_argmax(x, out, pool.argmax_dtype(kernel))
        return pool.max_pool2d_argmax(x, out, kernel, stride, padding, dilation, ceil_mode)

    @staticmethod
    def max_pool2d_scatter(grad, arg, in_shape, kernel, stride, padding, dilation, ceil_mode):
        if _tiled_2x2(in_shape, grad.dtype, kernel, stride, padding, dilation):
            return _loops().max_pool_2x2_scatter(grad, arg, in_shape)
        return pool.max_pool2d_scatter(grad, arg, in_shape, kernel, stride, padding, dilation, ceil_mode)

    max_pool2d_gather = staticmethod(pool.max_pool2d_gather)
    max_pool2d_indices = staticmethod(pool.max_pool2d_indices)
    avg_pool2d = staticmethod(pool.avg_pool2d)
    avg_pool2d_backward = staticmethod(pool.avg_pool2d_backward)
    adaptive_max_pool2d_indices = staticmethod(pool.adaptive_max_pool2d_indices)
    adaptive_avg_matrix = staticmethod(pool.adaptive_avg_matrix)
    interpolation_matrix = staticmethod(pool.interpolation_matrix)

    @staticmethod
    def seeded_generator(seed):
        return np.random.default_rng(seed)



def _is_basic_index(index):
    """True when ``index`` selects without integer or boolean arrays (no repeated positions)."""
    if not isinstance(index, tuple):
        index = (index,)
    for part in index:
        if isinstance(part, np.ndarray) or isinstance(part, (list,)):
            return False
    return True


def _rows_or_contiguous(a):
    """C-contiguous, or 2-D with contiguous rows (a block of columns): what the tanh loops take."""
    return a.flags.c_contiguous or (a.ndim == 2 and a.strides[-1] == a.itemsize)


# float32 tanh of fewer elements than this stays NumPy's: below it the compiled loop's call
# overhead (a few us) is more than it saves.
_COMPILED_TANH_ELEMENTS = 1024

# Sums of arrays smaller than this stay NumPy's (see NumpyBackend.sum).
_SUM_BY_PRODUCT_ELEMENTS = 1 << 16


def _tiled_2x2(shape, dtype, kernel, stride, padding, dilation):
    """Whether a max pooling has 2x2 windows at stride 2 that tile its float input exactly (so
    ceil_mode changes nothing), and the compiled loops are there to run it."""
    return (tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0)
            and tuple(dilation) == (1, 1) and len(shape) >= 2 and shape[-2] % 2 == 0
            and shape[-1] % 2 == 0 and np.dtype(dtype) in (np.float32, np.float64)
            and _loops() is not None)


_nn_loops = []


def _loops():
    """``backend.nn_loops`` when numba can be used (see ``fused_loops.available``), else None;
    imported on first use, since importing numba takes a quarter of a second."""
    if not _nn_loops:
        from ganglion.backend import fused_loops
        if fused_loops.available():
            from ganglion.backend import nn_loops
            _nn_loops.append(nn_loops)
        else:
            _nn_loops.append(None)
    return _nn_loops[0]
