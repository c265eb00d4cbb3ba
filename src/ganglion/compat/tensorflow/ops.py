"""TensorFlow 1's array and math ops (``tf.matmul``, ``tf.reduce_mean``, ``tf.cast``...) as
ganglion ops on symbolic tensors.

Reference: the TF 1.15 API: argument names and defaults (``axis`` / ``reduction_indices``,
``keepdims`` / ``keep_dims``, ``tf.argmax``'s axis 0, ``tf.one_hot``'s ``on_value`` /
``off_value``), float32 for Python floats and int32 for Python ints in ``tf.constant``.
"""
import builtins

import numpy as np

import ganglion as gn
from ganglion.compat.tensorflow.graph import (as_dtype, float32, get_default_graph, int32,
                                              static_shape,
                                              int64, truncated_normal)
from ganglion.core.ops.dynamic_shape import random_draw
from ganglion.core.ops.elementwise import cast as _cast
from ganglion.core.tensor import Tensor

__all__ = ["constant", "convert_to_tensor", "zeros", "ones", "zeros_like", "ones_like", "fill",
           "range", "random_normal", "random_uniform", "truncated_normal_op", "matmul", "add",
           "subtract", "multiply", "divide", "truediv", "negative", "square", "sqrt", "rsqrt",
           "exp", "log", "abs", "pow", "maximum", "minimum", "sigmoid", "tanh", "reshape", "cast",
           "to_float", "to_int32", "to_int64", "reduce_mean", "reduce_sum", "reduce_max",
           "reduce_min", "reduce_prod", "reduce_logsumexp", "equal", "not_equal", "less",
           "greater", "less_equal", "greater_equal", "logical_and", "logical_or", "logical_not",
           "argmax", "argmin", "one_hot", "concat", "stack", "unstack", "split", "transpose",
           "expand_dims", "squeeze", "shape", "identity", "stop_gradient", "where", "clip_by_value",
           "clip_by_global_norm", "clip_by_norm", "global_norm", "gradients", "add_n", "tile",
           "gather", "sign", "round", "floor"]


def convert_to_tensor(value, dtype=None, name=None):
    """A tensor of ``value``: tensors pass (cast when ``dtype`` differs), other values become
    constants."""
    if isinstance(value, Tensor):
        return value if dtype is None else cast(value, dtype)
    return constant(value, dtype)


def _tensor(value, like=None):
    if isinstance(value, Tensor):
        return value
    return constant(value, like.dtype if like is not None else None)


def constant(value, dtype=None, shape=None, name="Const"):
    """A constant tensor; Python floats are float32 and ints int32 unless ``dtype`` says,
    and ``shape`` broadcasts a scalar (or reshapes a list of the right size)."""
    array = np.asarray(value.numpy() if isinstance(value, Tensor) else value)
    if dtype is None:
        kind = array.dtype.kind
        dtype = float32 if kind == "f" else int32 if kind in "iu" else as_dtype(array.dtype)
    array = array.astype(as_dtype(dtype).np)
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        array = (np.broadcast_to(array, shape) if array.size == 1 else array.reshape(shape)).copy()
    t = gn.from_numpy(array)
    t.name = name
    return t


def zeros(shape, dtype=float32, name=None):
    return constant(0, dtype, shape)


def ones(shape, dtype=float32, name=None):
    return constant(1, dtype, shape)


def fill(dims, value, name=None):
    return constant(value, None, dims)


def zeros_like(tensor, dtype=None, name=None):
    return _cast(gn.zeros_like(tensor), dtype) if dtype is not None else gn.zeros_like(tensor)


def ones_like(tensor, dtype=None, name=None):
    return _cast(gn.ones_like(tensor), dtype) if dtype is not None else gn.ones_like(tensor)


def range(start, limit=None, delta=1, dtype=None, name="range"):
    if limit is None:
        start, limit = 0, start
    values = np.arange(start, limit, delta)
    return constant(values, dtype)


def _rng(seed):
    return get_default_graph().next_rng(seed)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Normal draws, new at each ``Session.run``."""
    return random_draw("random_normal", "normal", tuple(shape), (mean, stddev), as_dtype(dtype),
                       _rng(seed))


def random_uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None):
    """Uniform draws in [minval, maxval), new at each ``Session.run``."""
    maxval = 1.0 if maxval is None else maxval
    return random_draw("random_uniform", "uniform", tuple(shape), (minval, maxval),
                       as_dtype(dtype), _rng(seed))


def truncated_normal_op(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None):
    """Truncated normal draws (within two standard deviations). Drawn once, when the graph is
    built: enough for its use as a variable's initial value, which is what programs do with it."""
    values = truncated_normal(_rng(seed), mean, stddev, tuple(int(d) for d in shape))
    return constant(values, dtype)


def matmul(a, b, transpose_a=False, transpose_b=False, name=None, **unused):
    """The matrix product (batched over leading dims), optionally of the transposes."""
    a, b = _tensor(a), _tensor(b)
    if transpose_a:
        a = a.transpose(-1, -2)
    if transpose_b:
        b = b.transpose(-1, -2)
    return gn.matmul(a, b)


def add(x, y, name=None):
    return x + y


def subtract(x, y, name=None):
    return x - y


def multiply(x, y, name=None):
    return x * y


def divide(x, y, name=None):
    return x / y


truediv = divide


def negative(x, name=None):
    return -x


def square(x, name=None):
    return x * x


def sqrt(x, name=None):
    return gn.sqrt(x)


def rsqrt(x, name=None):
    return 1.0 / gn.sqrt(x)


def exp(x, name=None):
    return gn.exp(x)


def log(x, name=None):
    return gn.log(x)


def abs(x, name=None):
    return gn.abs(x)


def sign(x, name=None):
    return gn.sign(x)


def round(x, name=None):
    return gn.round(x)


def floor(x, name=None):
    return gn.floor(x)


def pow(x, y, name=None):
    return gn.pow(x, y)


def maximum(x, y, name=None):
    return gn.maximum(_tensor(x, y if isinstance(y, Tensor) else None),
                      _tensor(y, x if isinstance(x, Tensor) else None))


def minimum(x, y, name=None):
    return gn.minimum(_tensor(x, y if isinstance(y, Tensor) else None),
                      _tensor(y, x if isinstance(x, Tensor) else None))


def sigmoid(x, name=None):
    return gn.sigmoid(x)


def tanh(x, name=None):
    return gn.tanh(x)


def reshape(tensor, shape, name=None):
    """``tensor`` with ``shape`` (one dim may be -1)."""
    if isinstance(shape, Tensor):
        shape = shape.numpy().tolist()
    return _tensor(tensor).reshape(tuple(int(d) for d in shape))


def cast(x, dtype, name=None):
    return _cast(_tensor(x), as_dtype(dtype))


def to_float(x, name=None):
    return cast(x, float32)


def to_int32(x, name=None):
    return cast(x, int32)


def to_int64(x, name=None):
    return cast(x, int64)


def _axes(axis, reduction_indices, keepdims, keep_dims):
    if axis is None:
        axis = reduction_indices
    if keepdims is None:
        keepdims = bool(keep_dims)
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, keepdims


def _reduce(method, x, axis, keepdims):
    x = _tensor(x)
    if axis is None:
        axis = tuple(builtin_range(x.ndim))
    if isinstance(axis, tuple) and len(axis) == 0:
        return x
    return method(x, axis, keepdims)


builtin_range = builtins.range  # this module defines tf.range


def reduce_mean(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    """The mean over ``axis`` (all when None). Integer tensors give the truncated integer mean,
    as TF's."""
    axis, keepdims = _axes(axis, reduction_indices, keepdims, keep_dims)
    x = _tensor(input_tensor)
    if not x.dtype.is_floating_point:
        return _cast(_reduce(lambda t, a, k: gn.mean(_cast(t, gn.float64), a, k), x, axis,
                             keepdims), x.dtype)
    return _reduce(lambda t, a, k: gn.mean(t, a, k), x, axis, keepdims)


def reduce_sum(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    axis, keepdims = _axes(axis, reduction_indices, keepdims, keep_dims)
    x = _tensor(input_tensor)
    result = _reduce(lambda t, a, k: gn.sum(t, a, k), x, axis, keepdims)
    return result if result.dtype is x.dtype or x.dtype.is_bool else _cast(result, x.dtype)


def reduce_max(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    axis, keepdims = _axes(axis, reduction_indices, keepdims, keep_dims)
    return _reduce(lambda t, a, k: gn.amax(t, a, k), input_tensor, axis, keepdims)


def reduce_min(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
               keep_dims=None):
    axis, keepdims = _axes(axis, reduction_indices, keepdims, keep_dims)
    return _reduce(lambda t, a, k: gn.amin(t, a, k), input_tensor, axis, keepdims)


def reduce_prod(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                keep_dims=None):
    axis, keepdims = _axes(axis, reduction_indices, keepdims, keep_dims)
    x = _tensor(input_tensor)
    axes = tuple(builtin_range(x.ndim)) if axis is None else axis
    axes = (axes,) if isinstance(axes, int) else axes
    for a in sorted((a % x.ndim for a in axes), reverse=True):
        x = gn.prod(x, a, keepdims)
    return x


def reduce_logsumexp(input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None):
    axis, keepdims = _axes(axis, reduction_indices, keepdims, keep_dims)
    return _reduce(lambda t, a, k: gn.logsumexp(t, a, k), input_tensor, axis, keepdims)


def equal(x, y, name=None):
    return _tensor(x) == _tensor(y, x if isinstance(x, Tensor) else None)


def not_equal(x, y, name=None):
    return _tensor(x) != _tensor(y, x if isinstance(x, Tensor) else None)


def less(x, y, name=None):
    return x < y


def greater(x, y, name=None):
    return x > y


def less_equal(x, y, name=None):
    return x <= y


def greater_equal(x, y, name=None):
    return x >= y


def logical_and(x, y, name=None):
    return gn.logical_and(x, y)


def logical_or(x, y, name=None):
    return gn.logical_or(x, y)


def logical_not(x, name=None):
    return gn.logical_not(x)


def argmax(input, axis=None, name=None, dimension=None, output_type=int64):
    """The index of the largest value along ``axis`` (0 when not given, as TF1's)."""
    axis = dimension if axis is None else axis
    result = gn.argmax(_tensor(input), 0 if axis is None else int(axis))
    return result if as_dtype(output_type) is result.dtype else _cast(result, output_type)


def argmin(input, axis=None, name=None, dimension=None, output_type=int64):
    axis = dimension if axis is None else axis
    result = gn.argmin(_tensor(input), 0 if axis is None else int(axis))
    return result if as_dtype(output_type) is result.dtype else _cast(result, output_type)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """``depth`` values per index, ``on_value`` (1) at the index and ``off_value`` (0)
    elsewhere; indices outside [0, depth) give a row of ``off_value`` (TF's rule)."""
    indices = _tensor(indices)
    dtype = as_dtype(dtype) if dtype is not None else float32
    classes = gn.from_numpy(np.arange(int(depth), dtype=np.int64))
    hit = _cast(gn.unsqueeze(indices, -1), gn.int64) == classes
    on = 1 if on_value is None else on_value
    off = 0 if off_value is None else off_value
    result = gn.where(hit, constant(on, dtype), constant(off, dtype))
    if axis is not None and axis != -1:
        order = list(builtin_range(result.ndim - 1))
        order.insert(axis, result.ndim - 1)
        result = result.permute(*order)
    return result


def concat(values, axis, name="concat"):
    return gn.cat([_tensor(v) for v in values], axis)


def stack(values, axis=0, name="stack"):
    return gn.stack([_tensor(v) for v in values], axis)


def unstack(value, num=None, axis=0, name="unstack"):
    return list(gn.unbind(value, axis))


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    """Equal parts (an int) or parts of the given sizes along ``axis``."""
    if isinstance(num_or_size_splits, int):
        size = static_shape(value)[axis]
        if size is None:
            raise ValueError(f"split: dimension {axis} of shape {static_shape(value)} must be known")
        if size % num_or_size_splits:
            raise ValueError(f"split: dimension {axis} of size {size} does not split into "
                             f"{num_or_size_splits} equal parts")
        return list(gn.split(value, size // num_or_size_splits, axis))
    return list(gn.split(value, list(num_or_size_splits), axis))


def transpose(a, perm=None, name="transpose", conjugate=False):
    """Dims permuted by ``perm`` (reversed when None)."""
    perm = list(reversed(builtin_range(a.ndim))) if perm is None else list(perm)
    return a.permute(*perm)


def expand_dims(input, axis=None, name=None, dim=None):
    return gn.unsqueeze(input, dim if axis is None else axis)


def squeeze(input, axis=None, name=None, squeeze_dims=None):
    axis = squeeze_dims if axis is None else axis
    if axis is None:
        return gn.squeeze(input)
    for a in sorted(((axis,) if isinstance(axis, int) else axis), reverse=True):
        input = gn.squeeze(input, a)
    return input


def shape(input, name=None, out_type=int32):
    return input.shape


def identity(input, name=None):
    return input


def stop_gradient(input, name=None):
    return input.detach()


def where(condition, x=None, y=None, name=None):
    return gn.where(condition, x, y)


def tile(input, multiples, name=None):
    return input.repeat(*[int(m) for m in multiples])


def gather(params, indices, axis=0, name=None):
    return gn.index_select(params, axis, _cast(_tensor(indices), gn.int64).reshape(-1)).reshape(
        tuple(params.shape[:axis]) + tuple(indices.shape) + tuple(params.shape[axis + 1:]))


def add_n(inputs, name=None):
    total = inputs[0]
    for t in inputs[1:]:
        total = total + t
    return total


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    """``t`` limited to [min, max]; the gradient passes only inside."""
    return gn.clamp(t, clip_value_min, clip_value_max)


def global_norm(t_list, name=None):
    """sqrt(sum of the squared elements of every tensor in ``t_list``) (None entries skipped)."""
    squares = [gn.sum(_cast(t, gn.float32) ** 2) for t in t_list if t is not None]
    if not squares:
        raise ValueError("global_norm: t_list holds no tensors")
    return gn.sqrt(add_n(squares))


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """(the tensors scaled by clip_norm / max(global_norm, clip_norm), global_norm): every tensor
    shrinks by the same factor when their joint norm exceeds ``clip_norm``; None stays None."""
    if not isinstance(t_list, (list, tuple)):
        raise TypeError("clip_by_global_norm: t_list must be a list (or tuple) of tensors, got "
                        f"{type(t_list).__name__}")
    norm = global_norm(t_list) if use_norm is None else use_norm
    scale = clip_norm / gn.maximum(norm, _tensor(clip_norm, norm))
    clipped = [None if t is None else t * _cast(scale, t.dtype) for t in t_list]
    return clipped, norm


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """``t`` scaled to L2 norm ``clip_norm`` (over ``axes``) where the norm is larger."""
    norm = gn.sqrt(reduce_sum(t * t, axes, keepdims=True))
    return t * clip_norm / gn.maximum(norm, _tensor(clip_norm, norm))


def gradients(ys, xs, grad_ys=None, name="gradients", stop_gradients=None, **unused):
    """Symbolic d(sum of ys)/d(x) for each x (None where ``ys`` does not depend on it)."""
    ys = ys if isinstance(ys, (list, tuple)) else [ys]
    xs_list = xs if isinstance(xs, (list, tuple)) else [xs]
    total = add_n([gn.sum(y) if grad_ys is None else gn.sum(y * g)
                   for y, g in zip(ys, grad_ys or [None] * len(ys))])
    return list(gn.grad(total, xs_list, allow_unused=True))

