"""Creating tensors: from data, filled, ranges, identity, and random.

Dtype defaults follow PyTorch: Python floats give the default float dtype (float32), Python ints
give int64, bools give bool, and arrays and tensors keep their dtype, with one deliberate
exception: float64 NumPy input gives the default float dtype too, so that data prepared with
NumPy does not silently turn a model into float64. ``from_numpy`` shares the array's memory and
so keeps its dtype, float64 included.
"""
import numbers

from ganglion.backend import current as backend
from ganglion.core import dtypes
from ganglion.core.dtypes import as_dtype, from_numpy_dtype, get_default_dtype
from ganglion.core.random import generator
from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "arange", "linspace", "eye", "rand", "randn",
           "randint", "randperm", "rand_like", "randn_like"]


def _finish(data, requires_grad):
    t = make_tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(array):
    kind = array.dtype.kind
    if kind == "f":
        # Python floats arrive as float64; float16 and float32 arrays keep their width.
        return get_default_dtype() if array.dtype.itemsize == 8 else from_numpy_dtype(array.dtype)
    if kind == "b":
        return dtypes.bool_
    if kind in "iu":
        return from_numpy_dtype(array.dtype)
    if kind == "O" or kind in "SUV":
        raise TypeError(f"tensor: cannot make a tensor from data of NumPy dtype {array.dtype} "
                        "(expected numbers, nested lists of numbers, or arrays)")
    raise TypeError(f"tensor: unsupported data dtype {array.dtype}")


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a tensor)."""
    _check_device(device)
    if isinstance(data, Tensor):
        if dtype is None:
            dtype = data.dtype
        data = data._value("tensor()")
    elif isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
        data = [tensor(v).data if isinstance(v, Tensor) else v for v in data]
    array = backend.asarray(data)
    dtype = as_dtype(dtype) if dtype is not None else _infer_dtype(array)
    return _finish(array.astype(dtype.np, copy=True), requires_grad)


def _flat(data):
    for v in data:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is an array (any dtype, float64 too,
    as PyTorch's as_tensor); other data goes through ``tensor()`` and its float32 default."""
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is as_dtype(dtype) else data.to(dtype)
    if isinstance(data, backend.ndarray) and (dtype is None or backend.xp.dtype(as_dtype(dtype).np) == data.dtype):
        from_numpy_dtype(data.dtype)
        return make_tensor(data)
    return tensor(data, dtype)


def from_numpy(array):
    """A tensor sharing ``array``'s memory and dtype (float64 stays float64)."""
    if not isinstance(array, backend.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    from_numpy_dtype(array.dtype)
    return make_tensor(array)


def _check_device(device):
    if device is not None:
        from ganglion.core.device import device as make_device
        make_device(device)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        return tuple(int(d) for d in size)
    except TypeError:
        raise TypeError(f"expected a size as integers, got {size!r}") from None


def _float_dtype(dtype):
    return as_dtype(dtype) if dtype is not None else get_default_dtype()


def zeros(*size, dtype=None, requires_grad=False, device=None):
    _check_device(device)
    return _finish(backend.xp.zeros(_size(size), _float_dtype(dtype).np), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    _check_device(device)
    return _finish(backend.xp.ones(_size(size), _float_dtype(dtype).np), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    _check_device(device)
    return _finish(backend.xp.empty(_size(size), _float_dtype(dtype).np), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value's type."""
    _check_device(device)
    if dtype is None:
        dtype = dtypes.as_dtype(type(fill_value)) if isinstance(fill_value, (bool, int, float)) else None
    size = (size,) if isinstance(size, int) else tuple(size)
    return _finish(backend.xp.full(size, fill_value, _float_dtype(dtype).np), requires_grad)


def _like_type(like, dtype):
    return as_dtype(dtype) if dtype is not None else like.dtype


def _like_shape(like):
    if like.data is None and None in like.shape:
        raise ValueError("*_like of a symbolic tensor with unknown dimensions: use the symbolic ops")
    return like.shape


def zeros_like(like, dtype=None, requires_grad=False):
    if like.data is None:
        return like * 0
    return _finish(backend.xp.zeros(_like_shape(like), _like_type(like, dtype).np), requires_grad)


def ones_like(like, dtype=None, requires_grad=False):
    if like.data is None:
        return like * 0 + 1
    return _finish(backend.xp.ones(_like_shape(like), _like_type(like, dtype).np), requires_grad)


def full_like(like, fill_value, dtype=None, requires_grad=False):
    return _finish(backend.xp.full(_like_shape(like), fill_value, _like_type(like, dtype).np), requires_grad)


def empty_like(like, dtype=None, requires_grad=False):
    return _finish(backend.xp.empty(_like_shape(like), _like_type(like, dtype).np), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from ``start`` up to (not including) ``end``; int64 for integer arguments."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(_is_integer(v) for v in (start, end, step))
        dtype = dtypes.int64 if is_int else get_default_dtype()
    dtype = as_dtype(dtype)
    return _finish(backend.xp.arange(start, end, step).astype(dtype.np), requires_grad)


def _is_integer(value):
    if isinstance(value, Tensor):
        return value.dtype.category < 2
    return isinstance(value, numbers.Integral)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    _check_device(device)
    data = backend.xp.linspace(start, end, int(steps)).astype(_float_dtype(dtype).np)
    return _finish(data, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    _check_device(device)
    return _finish(backend.xp.eye(n, m, dtype=_float_dtype(dtype).np), requires_grad)


def _random_float(method, size, dtype):
    dtype = _float_dtype(dtype)
    if dtype.np.itemsize >= 4:
        return getattr(generator(), method)(size, dtype=dtype.np)
    return getattr(generator(), method)(size, dtype=backend.xp.float32).astype(dtype.np)


def rand(*size, dtype=None, requires_grad=False, device=None):
    """Uniform samples from [0, 1)."""
    _check_device(device)
    return _finish(_random_float("random", _size(size), dtype), requires_grad)


def randn(*size, dtype=None, requires_grad=False, device=None):
    """Standard normal samples."""
    _check_device(device)
    return _finish(_random_float("standard_normal", _size(size), dtype), requires_grad)


def rand_like(like, dtype=None):
    return rand(like.shape, dtype=_like_type(like, dtype))


def randn_like(like, dtype=None):
    return randn(like.shape, dtype=_like_type(like, dtype))


def randint(low, high=None, size=None, dtype=None, device=None):
    """Integers uniform in [low, high) (int64 unless ``dtype``); ``randint(high, size)`` too."""
    _check_device(device)
    if size is None:
        if high is None or isinstance(high, int):
            raise TypeError("randint: give size=, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    size = (size,) if isinstance(size, int) else tuple(size)
    dtype = as_dtype(dtype) if dtype is not None else dtypes.int64
    return make_tensor(generator().integers(low, high, size).astype(dtype.np))


def randperm(n, dtype=None, device=None):
    _check_device(device)
    dtype = as_dtype(dtype) if dtype is not None else dtypes.int64
    return make_tensor(generator().permutation(n).astype(dtype.np))
