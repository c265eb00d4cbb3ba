"""Data types and PyTorch's type-promotion rules.

A ``DType`` wraps the NumPy dtype that backs it. Promotion follows PyTorch, not NumPy:
categories are ordered bool < integer < floating; inside a category the wider type wins;
across categories the operand of the higher category decides (int64 + float16 -> float16);
a Python scalar or a 0-d tensor never widens a dimensioned tensor of its own category; a float
scalar combined with integer tensors gives the default float dtype, a 0-d float tensor its own.
"""
import numpy as np

__all__ = [
    "DType", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_",
    "as_dtype", "get_default_dtype", "set_default_dtype", "result_type",
]


class DType:
    """A ganglion dtype: a name, a NumPy dtype and a category (0 bool, 1 integer, 2 floating)."""

    __slots__ = ("name", "np", "category", "itemsize")

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize

    @property
    def is_floating_point(self):
        return self.category == 2

    def __repr__(self):
        return f"ganglion.{self.name}"

    def __reduce__(self):
        return (as_dtype, (self.name,))


float16 = DType("float16", np.float16, 2)
float32 = DType("float32", np.float32, 2)
float64 = DType("float64", np.float64, 2)
int8 = DType("int8", np.int8, 1)
int16 = DType("int16", np.int16, 1)
int32 = DType("int32", np.int32, 1)
int64 = DType("int64", np.int64, 1)
uint8 = DType("uint8", np.uint8, 1)
bool_ = DType("bool", np.bool_, 0)

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
_BY_NP = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
                 "bool_": bool_, "short": int16})
_BY_PY = {float: None, int: int64, bool: bool_}  # float: None = the current default float dtype

_default_float = float32


def get_default_dtype():
    """The dtype given to Python floats and float64 NumPy input (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype):
    global _default_float
    dtype = as_dtype(dtype)
    if not dtype.is_floating_point:
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_float = dtype


def from_numpy_dtype(np_dtype):
    """The DType for a NumPy dtype; TypeError for dtypes ganglion has no counterpart of."""
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(f"ganglion has no dtype for NumPy dtype {np_dtype!r}; supported: "
                        + ", ".join(d.name for d in _ALL)) from None


def as_dtype(dtype):
    """Accept a DType, a name ('float32'), a NumPy dtype or a Python type (float, int, bool)."""
    if isinstance(dtype, DType):
        return dtype
    if isinstance(dtype, str):
        try:
            return _BY_NAME[dtype]
        except KeyError:
            raise TypeError(f"unknown dtype name {dtype!r}") from None
    if dtype in _BY_PY:
        return _BY_PY[dtype] or _default_float
    return from_numpy_dtype(dtype)


def _promote_same_category(a, b):
    if a is b:
        return a
    return from_numpy_dtype(np.promote_types(a.np, b.np))


def promote_types(a, b):
    """PyTorch's promote_types: the category decides first, then the wider type."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _promote_same_category(a, b)


def scalar_category(value):
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return 1
    if isinstance(value, float):
        return 2
    raise TypeError(f"expected a Python number, got {type(value).__name__}")


def result_type(*operands):
    """The dtype of an elementwise op over tensors and Python scalars, by PyTorch's rules.

    Operands are Tensors or Python numbers. Three priority tiers, as in PyTorch: tensors with
    dimensions, then 0-d tensors, then Python scalars. A lower tier only matters when its
    category is higher than everything above it: 0-d tensors then give their own (promoted)
    dtype (int32 tensor + 0-d float64 tensor -> float64), Python scalars the default dtype of
    their category (int32 tensor + 2.5 -> float32).
    """
    dim_t = zero_t = None
    scalar_cat = -1
    for op in operands:
        dtype = getattr(op, "dtype", None)
        if dtype is None:
            scalar_cat = max(scalar_cat, scalar_category(op))
        elif op.ndim:
            dim_t = dtype if dim_t is None else promote_types(dim_t, dtype)
        else:
            zero_t = dtype if zero_t is None else promote_types(zero_t, dtype)
    result = dim_t
    if zero_t is not None and (result is None or zero_t.category > result.category):
        result = zero_t
    if scalar_cat >= 0:
        if result is None:
            result = _default_for_category(scalar_cat)
        elif scalar_cat > result.category:
            result = _default_for_category(scalar_cat)
    return result


def _default_for_category(category):
    return (bool_, int64, _default_float)[category]
