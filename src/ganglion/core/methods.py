"""Tensor's operators and methods, bound to the op library's functions.

Kept apart from ``tensor.py`` so that the Tensor class does not import the op library (which
imports Tensor). Each method is the function of the same name: ``x.sum(1)`` is
``ganglion.sum(x, 1)``.
"""
import warnings

from ganglion.core import dtypes
from ganglion.core import ops
from ganglion.core.dtypes import as_dtype
from ganglion.core.errors import DTypeError
from ganglion.core.inplace import inplace
from ganglion.core.op import ShapeError, broadcast_shapes
from ganglion.core.ops import elementwise as ew
from ganglion.core.ops import indexing, reduce, shape, unary
from ganglion.core.ops.softmax import log_softmax, softmax
from ganglion.core.tensor import Tensor


def _reflected(fn):
    def reflected(self, other):
        return fn(other, self)
    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _in_place(fn, name):
    def method(self, other, *args):
        return inplace(self, fn, other, *args, name=name)
    method.__name__ = name
    return method


def _matmul(a, b):
    if not isinstance(b, Tensor):
        b = ops_tensor(b, a.dtype)
    if not isinstance(a, Tensor):
        a = ops_tensor(a, b.dtype)
    return ops.matmul(a, b)


def ops_tensor(value, dtype):
    """``value`` (a number or nested lists) as a tensor of ``dtype``."""
    from ganglion.core.creation import tensor
    return tensor(value, dtype=dtype)


def _bitwise(kind):
    def op(a, b):
        return ew.bitwise(kind, a, b)
    op.__name__ = kind
    return op


_and, _or, _xor = _bitwise("bitwise_and"), _bitwise("bitwise_or"), _bitwise("bitwise_xor")

_OPERATORS = {
    "add": ew.add, "sub": ew.sub, "mul": ew.mul, "truediv": ew.div, "floordiv": ew.floor_divide,
    "mod": ew.remainder, "pow": ew.pow, "matmul": _matmul, "and": _and, "or": _or, "xor": _xor,
}
for _name, _fn in _OPERATORS.items():
    setattr(Tensor, f"__{_name}__", lambda a, b, _fn=_fn: _fn(a, b))
    setattr(Tensor, f"__r{_name}__", _reflected(_fn))
    setattr(Tensor, f"__i{_name}__", _in_place(_fn, f"__i{_name}__"))

Tensor.__neg__ = unary.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = unary.abs
Tensor.__invert__ = ew.invert


def _equality(compare):
    def operator(self, other):
        # x == None or x == "a" is False (and x != None True), as in PyTorch and Python, not an
        # error: `tensor in [None, ...]` and `if x == None` keep working.
        if other is None or isinstance(other, str):
            return NotImplemented
        return compare(self, other)
    operator.__name__ = f"__{compare.__name__}__"
    return operator


Tensor.__eq__ = _equality(ew.eq)
Tensor.__ne__ = _equality(ew.ne)
Tensor.__lt__ = ew.lt
Tensor.__le__ = ew.le
Tensor.__gt__ = ew.gt
Tensor.__ge__ = ew.ge
Tensor.__getitem__ = indexing.getitem
Tensor.__setitem__ = indexing.setitem_

# ----- math and reductions: method x.f(...) is function f(x, ...) --------------------------
for _name in ("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "sin", "cos", "tanh",
              "sigmoid", "relu", "abs", "neg", "sign", "floor", "ceil", "round", "erf", "clone",
              "leaky_relu", "elu", "selu", "gelu", "softplus"):
    setattr(Tensor, _name, getattr(unary, _name))
for _name in ("sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var",
              "std", "logsumexp", "all", "any", "cumsum"):
    setattr(Tensor, _name, getattr(reduce, _name))
for _name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le",
              "gt", "ge", "clamp", "logical_and", "logical_or", "logical_xor", "logical_not",
              "remainder", "floor_divide"):
    setattr(Tensor, _name, getattr(ew, _name))
for _name in ("reshape", "permute", "expand", "expand_as", "squeeze", "unsqueeze", "flatten",
              "flip", "tile", "repeat", "transpose", "broadcast_to"):
    setattr(Tensor, _name, getattr(shape, _name))
for _name in ("gather", "scatter_add", "index_select", "take_along_axis", "nonzero"):
    setattr(Tensor, _name, getattr(indexing, _name))
Tensor.softmax = softmax
Tensor.log_softmax = log_softmax
Tensor.matmul = _matmul
Tensor.dot = ops.dot
Tensor.split = ops.split
Tensor.chunk = ops.chunk
Tensor.clip = ew.clamp
Tensor.multiply = ew.mul
Tensor.divide = ew.div
Tensor.subtract = ew.sub
Tensor.true_divide = ew.div
Tensor.view = shape.view


def _resize(self, *sizes):
    """PyTorch's deprecated out-of-place ``Tensor.resize(*sizes)``: the same elements in a new
    shape (as its autograd Function does), with PyTorch's deprecation warning."""
    warnings.warn("non-inplace resize is deprecated", UserWarning, stacklevel=2)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    return shape.view(self, *sizes)


Tensor.resize = _resize
Tensor.swapaxes = shape.transpose
Tensor.T = property(lambda self: shape.permute(self, tuple(reversed(range(self.ndim)))))
Tensor.mT = property(lambda self: shape.transpose(self, -2, -1))


def _other_tensor(name, other):
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}: expected a Tensor to take the shape or dtype of, got "
                        f"{type(other).__name__}")
    return other


def _expand_as(self, other):
    return shape.expand(self, tuple(_other_tensor("expand_as", other).shape))


def _reshape_as(self, other):
    return shape.reshape(self, tuple(_other_tensor("reshape_as", other).shape))


def _view_as(self, other):
    return shape.view(self, tuple(_other_tensor("view_as", other).shape))


Tensor.expand_as = _expand_as
Tensor.reshape_as = _reshape_as
Tensor.view_as = _view_as
Tensor.contiguous = lambda self: self


# ----- dtype conversion ---------------------------------------------------------------------
def _to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(other_tensor)``.
    ``non_blocking`` is accepted and has no effect (copies on the CPU are synchronous)."""
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, (dtypes.DType, type)) or (isinstance(arg, str) and arg in _DTYPE_NAMES):
            dtype = arg
        else:
            device = arg
    if device is not None:
        from ganglion.core.device import check_available
        check_available(device, "Tensor.to")
    out = self if dtype is None else ew.cast(self, as_dtype(dtype))
    return unary.clone(out) if copy and out is self else out


_DTYPE_NAMES = {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool",
                "float", "double", "half", "long", "int"}

Tensor.to = _to
Tensor.astype = lambda self, dtype: ew.cast(self, as_dtype(dtype))
Tensor.type_as = lambda self, other: ew.cast(self, _other_tensor("type_as", other).dtype)
Tensor.float = lambda self: ew.cast(self, dtypes.float32)
Tensor.double = lambda self: ew.cast(self, dtypes.float64)
Tensor.half = lambda self: ew.cast(self, dtypes.float16)
Tensor.long = lambda self: ew.cast(self, dtypes.int64)
Tensor.int = lambda self: ew.cast(self, dtypes.int32)
Tensor.bool = lambda self: ew.cast(self, dtypes.bool_)
Tensor.short = lambda self: ew.cast(self, dtypes.int16)
Tensor.char = lambda self: ew.cast(self, dtypes.int8)
Tensor.byte = lambda self: ew.cast(self, dtypes.uint8)
Tensor.cpu = lambda self: self


# ----- in-place methods ---------------------------------------------------------------------
def _add_(self, other, alpha=1):
    return inplace(self, ew.add, other, alpha, name="add_")


def _sub_(self, other, alpha=1):
    return inplace(self, ew.sub, other, alpha, name="sub_")


def _filled(x, value):
    # where() with an always-true condition: value everywhere, a zero gradient for x (x stays
    # in the graph, as in PyTorch). The value is cast to x's dtype first: fill_(2.5) on an
    # integer tensor stores 2, as in PyTorch.
    value = ew.cast(value, x.dtype) if isinstance(value, Tensor) else ew.constant(value, x.dtype)
    return ew.where(ew.constant(True, dtypes.bool_), value, x)


def _fill_(self, value):
    _check_fill_value("fill_", value)
    return inplace(self, _filled, value, name="fill_")


def _check_fill_value(name, value):
    """A fill value is a number or a 0-d tensor (PyTorch's rule for fill_ and masked_fill)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"{name}: the value must be a number or a 0-d tensor, got a tensor "
                             f"of shape {tuple(value.shape)}")
    elif not isinstance(value, (int, float, bool)) and not hasattr(type(value), "__float__"):
        raise TypeError(f"{name}: the value must be a number or a 0-d tensor, got {value!r} of "
                        f"type {type(value).__name__}")


def _zero_(self):
    return _fill_(self, 0)


def _copy_(self, source):
    if not isinstance(source, Tensor):
        try:
            source = ops_tensor(source, self.dtype)
        except (TypeError, ValueError) as error:
            # Same exception type (DTypeError, ValueError...), with the call that failed named.
            raise type(error)(f"copy_: {error}") from None
    elif source.shape != self.shape:
        # The source broadcasts to the destination; check here so that the error names copy_
        # (the where() that does the copy would name itself).
        broadcast_shapes("copy_", tuple(self.shape), tuple(source.shape))
    return inplace(self, _filled, source, name="copy_")


def _clamp_(self, min=None, max=None):
    return inplace(self, lambda x, lo, hi: ew.clamp(x, lo, hi), min, max, name="clamp_")


def _masked_fill(self, mask, value, name="masked_fill"):
    if not isinstance(mask, Tensor) or mask.dtype is not dtypes.bool_:
        what = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise DTypeError(f"{name}: the mask must be a bool tensor, got {what}")
    if mask.shape != self.shape:
        broadcast_shapes(name, tuple(self.shape), tuple(mask.shape))
    _check_fill_value(name, value)
    return ew.where(mask, value, self)


Tensor.add_ = _add_
Tensor.sub_ = _sub_
Tensor.mul_ = _in_place(ew.mul, "mul_")
Tensor.div_ = _in_place(ew.div, "div_")
Tensor.pow_ = _in_place(ew.pow, "pow_")
Tensor.fill_ = _fill_
Tensor.zero_ = _zero_
Tensor.copy_ = _copy_
Tensor.clamp_ = _clamp_
Tensor.masked_fill = _masked_fill
Tensor.masked_fill_ = lambda self, mask, value: inplace(
    self, lambda x, m, v: _masked_fill(x, m, v, "masked_fill_"), mask, value, name="masked_fill_")


# ----- issue 13: the rest of PyTorch's tensor methods (core/ops/sorting.py, triangular.py, ...) --
from importlib import import_module  # noqa: E402
from ganglion.core.ops import (like, linalg as _linalg, norms, pointwise, rearrange,  # noqa: E402
                               sampling, sorting, triangular)

# ganglion.core.ops.scatter, the module (the package's attribute of that name is the function).
_scatter = import_module("ganglion.core.ops.scatter")

for _module, _names in (
        (unary, ("tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
                 "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh")),
        (pointwise, ("atan2", "arctan2", "lerp", "isnan", "isinf", "isfinite", "isposinf",
                     "isneginf", "isclose", "allclose", "equal", "bitwise_and", "bitwise_or",
                     "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
                     "clamp_min", "clamp_max")),
        (sorting, ("sort", "argsort", "topk", "kthvalue", "median", "cummax", "cummin",
                   "cumprod", "unique", "bincount", "histc", "msort")),
        (triangular, ("tril", "triu", "diag", "diagonal", "diag_embed", "trace")),
        (_scatter, ("scatter", "index_add", "index_copy", "index_fill", "take", "masked_select",
                    "argwhere")),
        (rearrange, ("t", "narrow", "roll", "rot90")),
        (_linalg, ("mm", "bmm", "addmm", "baddbmm")),
        (like, ("new_zeros", "new_ones", "new_full", "new_empty", "new_tensor")),
        (sampling, ("multinomial",))):
    for _name in _names:
        setattr(Tensor, _name, getattr(_module, _name))
Tensor.norm = norms.tensor_norm


def _in_place_method(fn, name):
    """``x.name_(...)``: ``fn(x, ...)`` stored into x (see core/inplace.py)."""
    def method(self, *args, **kwargs):
        return inplace(self, lambda x, *a: fn(x, *a, **kwargs), *args, name=name)
    method.__name__ = name
    return method


for _name, _fn in (("tril_", triangular.tril), ("triu_", triangular.triu),
                   ("index_add_", _scatter.index_add), ("index_copy_", _scatter.index_copy),
                   ("index_fill_", _scatter.index_fill), ("scatter_", _scatter.scatter),
                   ("scatter_add_", indexing.scatter_add), ("lerp_", pointwise.lerp),
                   ("clamp_min_", pointwise.clamp_min), ("clamp_max_", pointwise.clamp_max),
                   ("bitwise_and_", pointwise.bitwise_and), ("bitwise_or_", pointwise.bitwise_or),
                   ("bitwise_xor_", pointwise.bitwise_xor),
                   ("bitwise_not_", pointwise.bitwise_not), ("tan_", unary.tan),
                   ("atan2_", pointwise.atan2)):
    setattr(Tensor, _name, _in_place_method(_fn, _name))
