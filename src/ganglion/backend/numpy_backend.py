"""The NumPy (CPU) backend: the array namespace and the kernels that ops call.

Kernels here take and return NumPy arrays and know nothing of Tensors or autograd. They exist
where one namespace call is not enough (a scatter-add that must accumulate duplicates, the error
function that NumPy lacks) so that ops never import NumPy themselves.

The convolution, pooling, batch-norm and recurrent methods and some elementwise ones are
dispatched per call between kernel providers (oneDNN, numba loops) and the NumPy reference
kernels, in the order ``ganglion.config.kernels`` selects (backend/providers.py). Convolutions
run inside ``matmul.convolution_scope`` whichever provider runs them (backend/matmul.py says why).
"""

import math

import numpy as np

from ganglion import config
from ganglion.backend import array_cache, batchnorm, conv, numba_provider, pool, providers, recurrent
from ganglion.backend.matmul import (convolution_scope, linear_forward, matmul, split_rows,
                                     splits)
from ganglion.backend.special import erf


# Elementwise results of at least this many elements go into cached memory.
_CACHED_RESULT_SIZE = 1 << 17


def _convolution(method, reference):
    """The dispatched convolution method ``method``, run inside the convolution scope."""
    dispatch = providers.dispatched(method, reference)

    def run(*args, **kwargs):
        with convolution_scope():
            return dispatch(*args, **kwargs)
    run.__name__ = run.__qualname__ = method
    run.__doc__ = reference.__doc__
    run.dispatcher = dispatch.dispatcher
    return run


def _compiled_or_numpy(name):
    """The backend method ``name``: the numba provider's kernel (backend/nn_loops.py) where it
    runs, else the one of backend/recurrent.py (same arguments, same results to rounding)."""
    return providers.dispatched(name, getattr(recurrent, name))


def _numpy_tanh(x, out=None):
    """``np.tanh(x, out=out)``."""
    return np.tanh(x, out=out)


def _numpy_relu(x, out=None):
    """max(x, 0) into ``out`` (x's shape and dtype; it may be x) or a new array; large arrays
    split over the cores (NumPy's ufuncs release the GIL)."""
    if out is None:
        out = array_cache.empty(x.shape, x.dtype)
    if not (splits(x.size, 1) and x.flags.c_contiguous and out.flags.c_contiguous):
        return np.maximum(x, 0, out=out)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    split_rows(x.size, 1, lambda lo, hi: np.maximum(flat_x[lo:hi], 0, out=flat_out[lo:hi]))
    return out


def _numpy_relu_nan_free(x, out):
    """``relu(x, out=out)`` (out may be x); returns whether x held no NaN (a second pass here;
    the numba provider finds it in the first)."""
    _numpy_relu(x, out=out)
    return not np.isnan(np.max(out)) if out.size else True


def _numpy_relu_backward(grad, out):
    """``grad`` where ``out > 0``, else zero."""
    return np.multiply(grad, out > 0, out=array_cache.empty(out.shape, grad.dtype))


def _numpy_hardtanh_backward(grad, x, min_val, max_val):
    """``grad`` where min_val < x < max_val, else zero."""
    inside = np.logical_and(x > min_val, x < max_val)
    return np.multiply(grad, inside, out=array_cache.empty(x.shape, grad.dtype))


class NumpyBackend:
    """CPU arrays through NumPy; BLAS does the matrix products."""

    name = "numpy"
    device = "cpu"
    xp = np
    ndarray = np.ndarray

    # Convolutions: providers, then the reference (backend/conv.py).
    conv2d_forward = staticmethod(_convolution("conv2d_forward", conv.conv2d_forward))
    conv2d_backward_input = staticmethod(_convolution("conv2d_backward_input", conv.conv2d_backward_input))
    conv2d_backward_weight = staticmethod(_convolution("conv2d_backward_weight",
                                                       conv.conv2d_backward_weight))

    # Batch normalization over (N, C, ...) arrays: providers, then backend/batchnorm.py.
    batch_statistics = staticmethod(providers.dispatched("batch_statistics", batchnorm.batch_statistics))
    batch_normalize = staticmethod(providers.dispatched("batch_normalize", batchnorm.batch_normalize))
    batch_norm_gradient_sums = staticmethod(providers.dispatched(
        "batch_norm_gradient_sums", batchnorm.batch_norm_gradient_sums))
    batch_norm_input_gradient = staticmethod(providers.dispatched(
        "batch_norm_input_gradient", batchnorm.batch_norm_input_gradient))

    # The fused recurrent ops' time loops (backend/recurrent.py); the LSTM's and GRU's run as
    # compiled loops (backend/nn_loops.py) where numba can be used.
    lstm_sequence_forward = staticmethod(_compiled_or_numpy("lstm_sequence_forward"))
    lstm_sequence_backward = staticmethod(_compiled_or_numpy("lstm_sequence_backward"))
    gru_sequence_forward = staticmethod(_compiled_or_numpy("gru_sequence_forward"))
    gru_sequence_backward = staticmethod(_compiled_or_numpy("gru_sequence_backward"))
    rnn_sequence_forward = staticmethod(recurrent.rnn_sequence_forward)
    rnn_sequence_backward = staticmethod(recurrent.rnn_sequence_backward)

    # Matrix products: oneDNN's where it applies, else on BLAS's threads, or on ganglion's own
    # around the convolution kernels (backend/matmul.py says which and why).
    matmul = staticmethod(matmul)
    linear_forward = staticmethod(linear_forward)

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
        """``backend.nn_loops`` (numba loops for the arithmetic inside some kernels) where the
        kernels setting lets the numba provider run ("auto" or "numba") and numba imports, else
        None: callers then run their NumPy form."""
        return _loops()

    @staticmethod
    def sum(x, axes, keepdims):
        """``x.sum(axis=axes, keepdims=keepdims)``. Where the reduced axes end with the last
        ones (a convolution's bias gradient sums g (N, O, H, W) over N, H and W), those are
        summed first as a matrix-vector product with a vector of ones, since BLAS's product
        runs several times faster than NumPy's sum over the H*W rows of an NCHW array."""
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

    # tanh: float32 through the numba provider's vectorized approximation (within 3e-7 of the
    # exact value, see backend/nn_loops.py), since NumPy vectorizes float32 tanh only with
    # AVX-512; ReLU forward (np.maximum's NaN handling costs 2.5x a plain select) and ReLU's and
    # hardtanh's backward in one compiled pass; ``relu_nan_free(x, out)`` also says whether x
    # held NaN (a blocked ReLU records it for the max pooling that reads it).
    relu = staticmethod(providers.dispatched("relu", _numpy_relu))
    relu_nan_free = staticmethod(providers.dispatched("relu_nan_free", _numpy_relu_nan_free))
    tanh = staticmethod(providers.dispatched("tanh", _numpy_tanh))
    relu_backward = staticmethod(providers.dispatched("relu_backward", _numpy_relu_backward))
    hardtanh_backward = staticmethod(providers.dispatched("hardtanh_backward", _numpy_hardtanh_backward))

    @staticmethod
    def hardtanh(x, min_val, max_val):
        """x clipped to [min_val, max_val] in x's dtype as a maximum then a minimum (a third of
        np.clip's time with Python bounds), large arrays split over the cores."""
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

    # Pooling and resampling: providers, then the reference (backend/pool.py).
    pool_output_size = staticmethod(pool.pool_output_size)
    max_pool2d = staticmethod(providers.dispatched("max_pool2d", pool.max_pool2d))
    max_pool2d_argmax = staticmethod(providers.dispatched("max_pool2d_argmax", pool.max_pool2d_argmax))
    max_pool2d_scatter = staticmethod(providers.dispatched("max_pool2d_scatter", pool.max_pool2d_scatter))
    max_pool2d_gather = staticmethod(pool.max_pool2d_gather)
    max_pool2d_indices = staticmethod(pool.max_pool2d_indices)
    avg_pool2d = staticmethod(providers.dispatched("avg_pool2d", pool.avg_pool2d))
    avg_pool2d_backward = staticmethod(providers.dispatched("avg_pool2d_backward", pool.avg_pool2d_backward))
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


# Sums of arrays smaller than this stay NumPy's (see NumpyBackend.sum).
_SUM_BY_PRODUCT_ELEMENTS = 1 << 16

# The kernels settings under which the numba provider runs.
_NUMBA_SETTINGS = tuple(name for name, order in providers.ORDER.items() if "numba" in order)


def _loops():
    """``backend.nn_loops`` when the kernels setting lets the numba provider run and numba
    imports, else None (imported on first use: importing numba takes a quarter of a second)."""
    if config.settings.kernels not in _NUMBA_SETTINGS or not _numba.available():
        return None
    return numba_provider.nn_loops


_numba = providers.provider("numba")
