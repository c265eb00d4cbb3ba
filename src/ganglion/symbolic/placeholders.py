"""Typed symbolic inputs: ``tensor(dtype, shape)`` and Theano's named constructors.

A placeholder is a Tensor without a value (``data is None``); its TensorType holds the dtype and
the shape, whose dims may be None (unknown until a compiled function is called). Floating
placeholders require grad, so that ``grad`` reaches through them.

Theano's shortcuts are generated from two tables: a dtype prefix (``d`` float64, ``f`` float32,
``i`` int32, ``l`` int64, ``b`` int8, none for the default float dtype) and a rank name
(``scalar`` ... ``tensor4``), with a plural for each (``dscalars('x', 'y')``).
"""
from ganglion.core import dtypes
from ganglion.core.dtypes import as_dtype
from ganglion.core.tensor import TensorType, make_tensor

RANKS = {"scalar": 0, "vector": 1, "matrix": 2, "tensor3": 3, "tensor4": 4}
PREFIXES = {"d": dtypes.float64, "f": dtypes.float32, "i": dtypes.int32, "l": dtypes.int64,
            "b": dtypes.int8}
PLURALS = {"scalar": "scalars", "vector": "vectors", "matrix": "matrices", "tensor3": "tensor3s",
           "tensor4": "tensor4s"}


def tensor(dtype=None, shape=None, name=None):
    """A placeholder of ``dtype`` (default: the default float dtype) and ``shape`` (None dims
    are unknown; a shape is required)."""
    if shape is None:
        raise TypeError("tensor: give the placeholder's shape, e.g. shape=(None, 784) (None marks "
                        "a dimension known only when the compiled function is called)")
    dtype = as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    shape = tuple(None if d is None else int(d) for d in shape)
    placeholder = make_tensor(None)
    placeholder._type = TensorType(dtype, shape)
    placeholder.requires_grad = dtype.is_floating_point
    placeholder.name = name
    return placeholder


def is_placeholder(t):
    return t._data is None and t._op is None


def _constructor(rank_name, ndim, fixed_dtype):
    def make(name=None, dtype=None, shape=None):
        dtype = fixed_dtype if fixed_dtype is not None else dtype
        if shape is not None and len(shape) != ndim:
            raise ValueError(f"{rank_name}: shape {tuple(shape)} has {len(shape)} dimensions, "
                             f"expected {ndim}")
        return tensor(dtype, shape if shape is not None else (None,) * ndim, name)
    return make


def _plural(single):
    def make(*names, dtype=None):
        if len(names) == 1 and isinstance(names[0], int):
            names = (None,) * names[0]
        return [single(name, dtype=dtype) for name in names]
    return make


def _define_constructors(namespace):
    names = []
    for rank_name, ndim in RANKS.items():
        for prefix, dtype in [("", None)] + list(PREFIXES.items()):
            single = _constructor(prefix + rank_name, ndim, dtype)
            single.__name__ = prefix + rank_name
            single.__doc__ = (f"A {ndim}-d placeholder of dtype "
                              f"{dtype.name if dtype else 'dtype= (default float)'}.")
            plural = _plural(single)
            plural.__name__ = prefix + PLURALS[rank_name]
            plural.__doc__ = f"Several {single.__name__} placeholders, one per name."
            namespace[single.__name__] = single
            namespace[plural.__name__] = plural
            names += [single.__name__, plural.__name__]
    return names


CONSTRUCTORS = _define_constructors(globals())
__all__ = ["tensor", "is_placeholder"] + CONSTRUCTORS
