"""Data types and PyTorch's type-promotion rules.

A ``DType`` wraps the NumPy dtype that backs it. Promotion follows PyTorch, not NumPy:
categories are ordered bool < integer < floating; inside a category the wider type wins;
across categories the operand of the higher category decides (int64 + float16 -> float16);
a Python scalar or a 0-d tensor never widens a dimensioned tensor of its own category; a float
scalar combined with integer tensors gives the default float dtype, a 0-d float tensor its own.

PyTorch's other names for the same dtypes are here too (``float`` is float32, ``long`` int64, ...),
each dtype's legacy tensor-type name (``float32.legacy_name == 'torch.FloatTensor'``, the strings
``Tensor.type()`` gives in PyTorch, kept verbatim so that ported code comparing them works), and
``finfo`` / ``iinfo``, the numeric limits of a floating or integer dtype.
"""
import numpy as np

__all__ = [
    "DType", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_",
    "as_dtype", "get_default_dtype", "set_default_dtype", "result_type", "from_legacy_name",
    "finfo", "iinfo",
]


class DType:
    """A ganglion dtype: a name, a NumPy dtype and a category (0 bool, 1 integer, 2 floating)."""

    __slots__ = ("name", "np", "category", "itemsize", "legacy_name")

    def __init__(self, name, np_dtype, category, legacy_name):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize
        self.legacy_name = legacy_name

    @property
    def is_floating_point(self):
        return self.category == 2

    @property
    def is_signed(self):
        # PyTorch: bool and uint8 are unsigned, every other dtype here is signed.
        return self.np.kind in "fi"

    @property
    def is_complex(self):
        return False  # ganglion has no complex dtypes (yet)

    def __repr__(self):
        return f"ganglion.{self.name}"

    def __eq__(self, other):
        # A dtype equals its own name, so that Theano code's ``x.dtype == 'float32'`` works
        # (PyTorch's dtypes never equal strings). The hash is the name's, as equality needs.
        return self is other or (type(other) is str and other == self.name)

    def __hash__(self):
        return hash(self.name)

    # Theano code treats a dtype as its name in two more ways: ``y.dtype.startswith('int')``,
    # and ``numpy.asarray(v, dtype=x.dtype)`` (NumPy reads a ``dtype`` attribute).
    def startswith(self, prefix, *bounds):
        return self.name.startswith(prefix, *bounds)

    def endswith(self, suffix, *bounds):
        return self.name.endswith(suffix, *bounds)

    @property
    def dtype(self):
        """The NumPy dtype, so that NumPy takes a ganglion dtype wherever it takes a dtype."""
        return self.np

    def __reduce__(self):
        return (as_dtype, (self.name,))


float16 = DType("float16", np.float16, 2, "torch.HalfTensor")
float32 = DType("float32", np.float32, 2, "torch.FloatTensor")
float64 = DType("float64", np.float64, 2, "torch.DoubleTensor")
int8 = DType("int8", np.int8, 1, "torch.CharTensor")
int16 = DType("int16", np.int16, 1, "torch.ShortTensor")
int32 = DType("int32", np.int32, 1, "torch.IntTensor")
int64 = DType("int64", np.int64, 1, "torch.LongTensor")
uint8 = DType("uint8", np.uint8, 1, "torch.ByteTensor")
bool_ = DType("bool", np.bool_, 0, "torch.BoolTensor")

_ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, bool_)
_BY_NP = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
                 "bool_": bool_, "short": int16})
_BY_LEGACY_NAME = {d.legacy_name: d for d in _ALL}
_BY_PY = {float: None, int: int64, bool: bool_}  # float: None = the current default float dtype

_default_float = float32


def from_legacy_name(name):
    """The dtype of a legacy tensor-type name, as ``Tensor.type()`` gives it:
    ``from_legacy_name('torch.DoubleTensor')`` is float64 (``'ganglion.DoubleTensor'`` too).
    ValueError for any other string, as PyTorch's ``x.type('foo')``; a DeviceUnavailableError
    (a RuntimeError, as PyTorch's, and a ValueError) for a CUDA type ('torch.cuda.FloatTensor')."""
    if isinstance(name, str):
        key = "torch." + name[len("ganglion."):] if name.startswith("ganglion.") else name
        found = _BY_LEGACY_NAME.get(key)
        if found is not None:
            return found
        if key.startswith("torch.cuda.") and "torch." + key[len("torch.cuda."):] in _BY_LEGACY_NAME:
            from ganglion.core.device import DeviceUnavailableError
            raise DeviceUnavailableError(f"type {name!r} is not available: this build of ganglion "
                                         "runs on 'cpu' only (a GPU backend may come later)")
    raise ValueError(f"invalid type: {name!r} (the legacy tensor types are "
                     + ", ".join(repr(d.legacy_name) for d in _ALL) + ")")


def get_default_dtype():
    """The dtype given to Python floats and float64 NumPy input (float32 unless changed)."""
    return _default_float


def set_default_dtype(dtype):
    """Set the float dtype that float data and the creation functions default to (float32 at
    start)."""
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
        if not isinstance(dtype, DType):  # a Python number, or a NumPy scalar such as np.float64
            dtype = None
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


# ----- numeric limits --------------------------------------------------------------------
def _limits_dtype(name, dtype, wanted):
    """``dtype`` for finfo/iinfo: a ganglion dtype (as in PyTorch, not a name) of the right kind."""
    if not isinstance(dtype, DType):
        raise TypeError(f"{name}(): argument 'type' must be a ganglion dtype, not "
                        f"{type(dtype).__name__}")
    if dtype is bool_:
        raise TypeError(f"{name}(): ganglion.bool is not supported (it has no numeric range)")
    if dtype.category != wanted:
        other = "finfo" if name == "iinfo" else "iinfo"
        kind = "an integer" if name == "iinfo" else "a floating point"
        raise TypeError(f"{name}() requires {kind} dtype, got {dtype}; use ganglion.{other} for it")
    return dtype


class finfo:
    """The limits of a floating dtype (the default dtype if none is given), as Python floats:
    ``bits``, ``eps``, ``max``, ``min``, ``tiny`` (= ``smallest_normal``), ``resolution``, and
    ``dtype`` (its name, a string, as in PyTorch)."""

    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")

    def __init__(self, type=None):  # noqa: A002  (PyTorch's argument name)
        dtype = _limits_dtype("finfo", _default_float if type is None else type, 2)
        info = np.finfo(dtype.np)
        self.bits = int(info.bits)
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        # 10 ** -precision exactly (NumPy's own float16 resolution is 0.0010004).
        self.resolution = 10.0 ** -int(info.precision)
        self.dtype = dtype.name

    def __eq__(self, other):
        return isinstance(other, finfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """The limits of an integer dtype, as Python ints: ``bits``, ``max``, ``min``, and ``dtype``
    (its name, a string, as in PyTorch)."""

    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, type):  # noqa: A002  (PyTorch's argument name)
        dtype = _limits_dtype("iinfo", type, 1)
        info = np.iinfo(dtype.np)
        self.bits = int(info.bits)
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = dtype.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and self.dtype == other.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


