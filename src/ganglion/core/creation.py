"""Creating tensors: from data, filled, ranges, identity, and random.

Dtype defaults follow PyTorch: Python floats give the default float dtype (float32), Python ints
give int64, bools give bool, and arrays and tensors keep their dtype, with one deliberate
exception: float64 NumPy input gives the default float dtype too, so that data prepared with
NumPy does not silently turn a model into float64. ``from_numpy`` shares the array's memory and
so keeps its dtype, float64 included.

Bad arguments raise PyTorch's exception types with messages that name the function, the value
and what was expected: TypeError for a size, count or fill value that is not a number of the
right kind, and ``ArgumentError`` (a RuntimeError, as PyTorch raises, and a ValueError, as NumPy
raises) for a value out of range (a negative size, a zero arange step, low >= high in randint).
The checks are O(number of dimensions) Python comparisons, done before any array is allocated.
"""
import math
import numbers
import operator

from ganglion.backend import current as backend
from ganglion.core import dtypes
from ganglion.core.dtypes import as_dtype, from_numpy_dtype, get_default_dtype
from ganglion.core.errors import ArgumentError, DTypeError, UnsupportedDTypeError
from ganglion.core.op import ShapeError
from ganglion.core.ops.dynamic_shape import arange_symbolic, filled, random_draw
from ganglion.core.random import numpy_generator
from ganglion.core.symbolic_shape import (SymbolicShape, SymbolicSizes, check_size_entry,
                                          is_symbolic_scalar)
from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "arange", "linspace", "eye", "rand", "randn",
           "randint", "randperm", "rand_like", "randn_like"]


def _finish(data, requires_grad):
    t = make_tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(array, data=None):
    kind = array.dtype.kind
    if kind == "f":
        # Python floats arrive as float64; float16 and float32 arrays keep their width.
        return get_default_dtype() if array.dtype.itemsize == 8 else from_numpy_dtype(array.dtype)
    if kind == "b":
        return dtypes.bool_
    if kind in "iu":
        return from_numpy_dtype(array.dtype)
    if kind == "O" or kind in "SUV":
        raise DTypeError(f"tensor: cannot make a tensor from {_not_a_number(array, data)} "
                            "(expected numbers, nested lists of numbers, or arrays)")
    raise TypeError(f"tensor: unsupported data dtype {array.dtype}")


def _not_a_number(array, data):
    """Words for the first element of the data that is not a number (looked for in the
    original lists, since NumPy turns [1, 'a'] into the strings '1' and 'a')."""
    if isinstance(data, (list, tuple)):
        items = _flat(data)
    elif isinstance(data, backend.ndarray):
        items = iter(array.reshape(-1)[:1000])
    else:
        items = (data,)
    for item in items:
        if not isinstance(item, (numbers.Number, backend.xp.bool_, Tensor)):
            return f"an element of type {type(item).__name__} ({item!r:.40})"
    return f"data of NumPy dtype {array.dtype}"


def _ragged_message(data):
    """Why nested sequences do not form a rectangular array: the first dimension at which two
    entries differ in length (PyTorch's "expected sequence of length 2 at dim 1 (got 1)").
    Only called once NumPy has refused the data, so the walk costs nothing on success."""
    level = [data]
    for dim in range(64):
        lengths = [len(v) if _is_sequence(v) else None for v in level]
        expected = lengths[0]
        for got in lengths:
            if got != expected:
                if expected is None or got is None:
                    return (f"tensor: a number and a sequence at the same depth (dim {dim}): "
                            "nested lists must be rectangular, like [[1, 2], [3, 4]]")
                return (f"tensor: expected sequence of length {expected} at dim {dim} (got {got}): "
                        "nested lists must be rectangular, like [[1, 2], [3, 4]]")
        if expected is None:
            break
        level = [item for v in level for item in v]
    return "tensor: nested lists must be rectangular, like [[1, 2], [3, 4]]"


def _is_sequence(value):
    if isinstance(value, (list, tuple)):
        return True
    return getattr(value, "ndim", 0) > 0 and hasattr(value, "__len__")


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a tensor)."""
    _check_device(device)
    if isinstance(data, Tensor):
        if dtype is None:
            dtype = data.dtype
        data = data._value("tensor()")
    elif isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flat(data)):
        if type(data) is SymbolicShape:  # a symbolic tensor's shape: its 1-d int64 tensor
            return as_tensor(data, dtype)
        data = [tensor(v)._data if isinstance(v, Tensor) else v for v in data]
    try:
        array = backend.asarray(data)
    except ValueError:
        # NumPy's "inhomogeneous shape" error names neither the call nor the lengths.
        if isinstance(data, (list, tuple)):
            raise ValueError(_ragged_message(data)) from None
        raise
    if dtype is None:
        dtype = _infer_dtype(array, data)
    else:
        if array.dtype.kind in "OSUV":
            _infer_dtype(array, data)  # refuses None, strings, objects: NumPy casts None to nan
        dtype = as_dtype(dtype)
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
    if type(data) is SymbolicShape:  # x.shape of a symbolic tensor: Theano's shape vector
        data = data.to_tensor()
    if isinstance(data, Tensor):
        return data if dtype is None or data.dtype is as_dtype(dtype) else data.to(dtype)
    if isinstance(data, backend.ndarray) and (dtype is None or backend.xp.dtype(as_dtype(dtype).np) == data.dtype):
        from_numpy_dtype(data.dtype)
        return make_tensor(data)
    return tensor(data, dtype)


def from_numpy(array):
    """A tensor sharing ``array``'s memory and dtype (float64 stays float64): writes through
    either are seen through the other. A read-only array stays read-only: writes to the tensor
    raise (PyTorch warns and shares writable memory; see ``ganglion.from_dlpack`` for arrays of
    other frameworks)."""
    if not isinstance(array, backend.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    from_numpy_dtype(array.dtype)
    return make_tensor(array)


def _check_device(device):
    if device is not None:
        from ganglion.core.device import check_available
        check_available(device)


def _size(name, size):
    """``size`` (ints, or one tuple or list of ints) as a tuple, checked as PyTorch checks it:
    TypeError naming ``name`` for a dimension that is not an integer (2.5, '3'; NumPy integers
    and 0-d integer tensors pass), ShapeError (a RuntimeError) for a negative one."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        dims = tuple(d if type(d) is int else _integer(d) for d in size)
    except (TypeError, RuntimeError):
        return _symbolic_size(name, size)
    if dims and min(dims) < 0:
        raise ShapeError(f"{name}: size {dims} has negative dimension {min(dims)}; dimensions "
                         "must be non-negative")
    return dims


def _symbolic_size(name, size):
    """A size that is not all integers: ``SymbolicSizes`` when it holds symbolic scalars (the
    caller then builds a symbolic tensor, sized at run time), else the TypeError naming the
    entry (an unknown dim's None gets its own message)."""
    if any(is_symbolic_scalar(d) for d in size) or None in size:
        return SymbolicSizes(check_size_entry(name, k, d) if type(d) is not int else d
                             for k, d in enumerate(size))
    raise TypeError(f"{name}: expected a size as integers, got {tuple(size)!r}")


def _integer(value):
    """``value`` as an int if it is an integer (not a bool, not a float such as 2.0)."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a size")
    return operator.index(value)


def _count(name, what, value):
    """A non-negative integer argument (eye's n, linspace's steps, randperm's n)."""
    try:
        value = value if type(value) is int else _integer(value)
    except TypeError:
        raise TypeError(f"{name}: {what} must be an integer, got {value!r} of type "
                        f"{type(value).__name__}") from None
    if value < 0:
        raise ArgumentError(f"{name}: {what} must be non-negative, got {value}")
    return value


def _fill_number(name, value):
    """A fill value: a Python or NumPy number, or a 0-d tensor (taken as its number)."""
    if isinstance(value, Tensor) and value._data is not None and value.ndim == 0:
        return value.item()
    if not isinstance(value, (numbers.Number, backend.xp.bool_)) or isinstance(value, complex):
        raise TypeError(f"{name}: fill_value must be a number, got {value!r} of type "
                        f"{type(value).__name__}")
    return value


def _keyword_size(name, size, keywords):
    """``size`` given as PyTorch's ``size=`` keyword (``torch.empty(size=(2, 3))``) instead of
    positionally; any other keyword is the TypeError Python would raise."""
    if keywords.keys() - {"size"}:
        unknown = sorted(keywords.keys() - {"size"})[0]
        raise TypeError(f"{name}() got an unexpected keyword argument {unknown!r}")
    if "size" in keywords:
        if size:
            raise TypeError(f"{name}(): size given both positionally {size} and as size=")
        return (keywords["size"],)
    return size


def _float_dtype(dtype):
    return as_dtype(dtype) if dtype is not None else get_default_dtype()


def zeros(*size, dtype=None, requires_grad=False, device=None, **keywords):
    """A tensor of ``size`` filled with 0 (PyTorch's ``torch.zeros``)."""
    _check_device(device)
    size = _keyword_size("zeros", size, keywords)
    dims = _size("zeros", size)
    if type(dims) is SymbolicSizes:
        return filled("zeros", dims, 0, _float_dtype(dtype), requires_grad)
    return _finish(backend.xp.zeros(dims, _float_dtype(dtype).np), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None, **keywords):
    """A tensor of ``size`` filled with 1 (PyTorch's ``torch.ones``)."""
    _check_device(device)
    size = _keyword_size("ones", size, keywords)
    dims = _size("ones", size)
    if type(dims) is SymbolicSizes:
        return filled("ones", dims, 1, _float_dtype(dtype), requires_grad)
    return _finish(backend.xp.ones(dims, _float_dtype(dtype).np), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None, **keywords):
    """A tensor of ``size`` with unspecified values (PyTorch's ``torch.empty``)."""
    _check_device(device)
    size = _keyword_size("empty", size, keywords)
    dims = _size("empty", size)
    if type(dims) is SymbolicSizes:
        return filled("empty", dims, 0, _float_dtype(dtype), requires_grad)
    return _finish(backend.xp.empty(dims, _float_dtype(dtype).np), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value's type."""
    _check_device(device)
    fill_value = _fill_number("full", fill_value)
    if dtype is None:
        dtype = dtypes.as_dtype(type(fill_value)) if isinstance(fill_value, (bool, int, float)) else None
    size = _size("full", (size,))
    if type(size) is SymbolicSizes:
        return filled("full", size, fill_value, _float_dtype(dtype), requires_grad)
    return _finish(backend.xp.full(size, fill_value, _float_dtype(dtype).np), requires_grad)


def _like_type(like, dtype):
    return as_dtype(dtype) if dtype is not None else like.dtype


def _like_tensor(name, like):
    if not isinstance(like, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(like).__name__}")
    return like


def _like_shape(like, name):
    """The shape to build a tensor like ``like`` with (a symbolic tensor's may hold symbolic
    sizes: the result is then symbolic too)."""
    return like.shape


def zeros_like(input, dtype=None, requires_grad=False, *, device=None):
    """A tensor of ``input``'s shape (and dtype, unless given) filled with 0."""
    like = input
    _check_device(device)
    if _like_tensor("zeros_like", like)._data is None:
        return like * 0
    return _finish(backend.xp.zeros(_like_shape(like, "zeros_like"), _like_type(like, dtype).np),
                   requires_grad)


def ones_like(input, dtype=None, requires_grad=False, *, device=None):
    """A tensor of ``input``'s shape (and dtype, unless given) filled with 1."""
    like = input
    _check_device(device)
    if _like_tensor("ones_like", like)._data is None:
        return like * 0 + 1
    return _finish(backend.xp.ones(_like_shape(like, "ones_like"), _like_type(like, dtype).np),
                   requires_grad)


def full_like(input, fill_value, dtype=None, requires_grad=False, *, device=None):
    """A tensor of ``input``'s shape (and dtype, unless given) filled with ``fill_value``."""
    like = input
    _check_device(device)
    _like_tensor("full_like", like)
    fill_value = _fill_number("full_like", fill_value)
    if like._data is None:
        return filled("full_like", like.shape, fill_value, _like_type(like, dtype), requires_grad)
    return _finish(backend.xp.full(_like_shape(like, "full_like"), fill_value,
                                   _like_type(like, dtype).np), requires_grad)


def empty_like(input, dtype=None, requires_grad=False, *, device=None):
    """A tensor of ``input``'s shape (and dtype, unless given) with unspecified values."""
    like = input
    _check_device(device)
    _like_tensor("empty_like", like)
    if like._data is None:
        return filled("empty_like", like.shape, 0, _like_type(like, dtype), requires_grad)
    return _finish(backend.xp.empty(_like_shape(like, "empty_like"), _like_type(like, dtype).np),
                   requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from ``start`` up to (not including) ``end``; int64 for integer arguments. A
    symbolic bound or step (``arange(y.shape[0])``) gives a symbolic tensor of unknown length."""
    _check_device(device)
    if start is None:
        raise TypeError("arange: end must be a number or a 0-d tensor, got None (an unknown "
                        "dimension has no value: pass the symbolic size, e.g. y.shape[0] of the "
                        "symbolic tensor y)")
    if end is None:
        start, end = 0, start
    if is_symbolic_scalar(start) or is_symbolic_scalar(end) or is_symbolic_scalar(step):
        out = arange_symbolic(start, end, step, dtype)
        if requires_grad:
            out.requires_grad = True
        return out
    _check_range(start, end, step)
    if dtype is None:
        is_int = all(_is_integer(v) for v in (start, end, step))
        dtype = dtypes.int64 if is_int else get_default_dtype()
    dtype = as_dtype(dtype)
    return _finish(backend.xp.arange(start, end, step).astype(dtype.np), requires_grad)


def _check_range(start, end, step):
    """PyTorch's arange checks: numbers, finite bounds, a nonzero step pointing from start
    towards end (arange(10, 0, 1) is refused, not empty; arange(5, 5) is empty)."""
    try:
        lo, hi, by = float(start), float(end), float(step)
    except (TypeError, ValueError):
        raise TypeError(f"arange: start, end and step must be numbers, got start={start!r}, "
                        f"end={end!r}, step={step!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(by)):
        raise ArgumentError(f"arange: unsupported range {start} -> {end} with step {step}: "
                            "start, end and step must be finite")
    if by == 0:
        raise ArgumentError(f"arange: step must be nonzero, got {step} (range {start} -> {end})")
    if (hi - lo) * by < 0:
        raise ArgumentError(f"arange: step {step} points away from end: cannot go from {start} "
                            f"to {end} (upper bound and lower bound inconsistent with step sign)")


def _is_integer(value):
    if isinstance(value, Tensor):
        return value.dtype.category < 2
    return isinstance(value, numbers.Integral)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (PyTorch's
    ``torch.linspace``)."""
    _check_device(device)
    steps = _count("linspace", "the number of steps", steps)
    data = backend.xp.linspace(start, end, steps).astype(_float_dtype(dtype).np)
    return _finish(data, requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The n x m identity matrix (n x n without ``m``)."""
    _check_device(device)
    n = _count("eye", "n (the number of rows)", n)
    if m is not None:
        m = _count("eye", "m (the number of columns)", m)
    return _finish(backend.xp.eye(n, m, dtype=_float_dtype(dtype).np), requires_grad)


def _random_float(name, method, size, dtype, generator=None):
    dtype = _float_dtype(dtype)
    if not dtype.is_floating_point:
        raise UnsupportedDTypeError(f"{name}: samples a floating-point dtype, got {dtype}; "
                                    f"use randint for integers or cast the result")
    source = numpy_generator(generator, name)
    if dtype.np.itemsize >= 4:
        return getattr(source, method)(size, dtype=dtype.np)
    return getattr(source, method)(size, dtype=backend.xp.float32).astype(dtype.np)


def _random_symbolic(name, method, sizes, dtype, generator):
    """rand / randn of a symbolic size: drawn from ``generator`` (or the global one) each time
    the compiled function runs."""
    dtype = _float_dtype(dtype)
    if not dtype.is_floating_point:
        raise UnsupportedDTypeError(f"{name}: samples a floating-point dtype, got {dtype}; "
                                    f"use randint for integers or cast the result")
    numpy_generator(generator, name)
    typed = dtype.np.itemsize >= 4
    out = random_draw(name, method, sizes, (), dtype if typed else dtypes.float32, generator, typed)
    return out if typed else out.to(dtype)


def rand(*size, generator=None, dtype=None, requires_grad=False, device=None, **keywords):
    """Uniform samples from [0, 1), from ``generator`` (a ganglion.Generator) or the global one."""
    _check_device(device)
    size = _keyword_size("rand", size, keywords)
    dims = _size("rand", size)
    if type(dims) is SymbolicSizes:
        return _random_symbolic("rand", "random", dims, dtype, generator)
    return _finish(_random_float("rand", "random", dims, dtype, generator), requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False, device=None, **keywords):
    """Standard normal samples, from ``generator`` or the global one."""
    _check_device(device)
    size = _keyword_size("randn", size, keywords)
    dims = _size("randn", size)
    if type(dims) is SymbolicSizes:
        return _random_symbolic("randn", "standard_normal", dims, dtype, generator)
    return _finish(_random_float("randn", "standard_normal", dims, dtype, generator),
                   requires_grad)


def rand_like(input, dtype=None, *, generator=None, device=None, requires_grad=False):
    """Uniform [0, 1) random values in ``input``'s shape (PyTorch's ``torch.rand_like``)."""
    like = input
    _check_device(device)
    return rand(_like_shape(_like_tensor("rand_like", like), "rand_like"),
                dtype=_like_type(like, dtype), generator=generator, requires_grad=requires_grad)


def randn_like(input, dtype=None, *, generator=None, device=None, requires_grad=False):
    """Standard normal random values in ``input``'s shape (PyTorch's ``torch.randn_like``)."""
    like = input
    _check_device(device)
    return randn(_like_shape(_like_tensor("randn_like", like), "randn_like"),
                 dtype=_like_type(like, dtype), generator=generator, requires_grad=requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, *, generator=None):
    """Integers uniform in [low, high) (int64 unless ``dtype``); ``randint(high, size)`` too."""
    _check_device(device)
    if size is None:
        if high is None or isinstance(high, int):
            raise TypeError("randint: give size=, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if not (_is_integer(low) and _is_integer(high)):
        raise TypeError(f"randint: low and high must be integers, got low={low!r}, high={high!r}")
    if low >= high:
        raise ArgumentError(f"randint: expected low < high, got low={low}, high={high} (the "
                            "samples are drawn from [low, high))")
    size = _size("randint", (size,))
    dtype = as_dtype(dtype) if dtype is not None else dtypes.int64
    if type(size) is SymbolicSizes:
        numpy_generator(generator, "randint")  # refuses a bad generator now, not at run time
        return random_draw("randint", "integers", size, (int(low), int(high)), dtype, generator)
    source = numpy_generator(generator, "randint")
    return make_tensor(source.integers(low, high, size).astype(dtype.np))


def randperm(n, dtype=None, device=None, *, generator=None):
    """A random permutation of the integers 0 to n - 1, int64 (PyTorch's ``torch.randperm``)."""
    _check_device(device)
    n = _count("randperm", "n", n)
    dtype = as_dtype(dtype) if dtype is not None else dtypes.int64
    return make_tensor(numpy_generator(generator, "randperm").permutation(n).astype(dtype.np))
