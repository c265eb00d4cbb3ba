"""More elementwise functions under PyTorch's names (issue 13): atan2, lerp, the float tests
(isnan, isinf, isfinite, isposinf, isneginf), isclose / allclose / equal, the bitwise functions
and shifts, clamp_min / clamp_max and the function form of masked_fill.

The comparisons and tests are not differentiable (their results are bool); atan2 and lerp are,
with vjps written in Tensor ops. Bitwise functions take bool and integer tensors only and raise
PyTorch's error type (NotImplementedError, through ``UnsupportedDTypeError``) for floats.
"""
from ganglion.core import dtypes
from ganglion.core.dtypes import bool_, result_type
from ganglion.core.errors import DTypeError, UnsupportedDTypeError
from ganglion.core.op import Op, apply, bool_type, broadcast_shapes
from ganglion.core.ops import elementwise as ew
from ganglion.core.ops.shape import sum_to
from ganglion.core.tensor import Tensor, TensorType

__all__ = ["atan2", "arctan2", "lerp", "isnan", "isinf", "isfinite", "isposinf", "isneginf",
           "isclose", "allclose", "equal", "bitwise_and", "bitwise_or", "bitwise_xor",
           "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "clamp_min", "clamp_max",
           "masked_fill"]


def _as_tensor(name, value):
    if isinstance(value, Tensor):
        return value
    from ganglion.core.creation import tensor
    try:
        return tensor(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: expected a Tensor or a number, got {type(value).__name__}: "
                        f"{error}") from None


# ----- atan2 -------------------------------------------------------------------------------

class Atan2(Op):
    """atan2(y, x), the angle of the point (x, y); d/dy = x / r**2, d/dx = -y / r**2."""
    __slots__ = ()

    def forward(self, backend, y, x):
        return backend.xp.arctan2(y, x)

    def vjp(self, out, grad, needs):
        y, x = out._inputs
        scale = grad / (x * x + y * y)
        return (sum_to(scale * x, y) if needs[0] else None,
                sum_to(-scale * y, x) if needs[1] else None)

    def infer(self, y, x):
        return TensorType(y.dtype, broadcast_shapes("atan2", y.shape, x.shape))


def atan2(input, other):
    """The elementwise angle atan(input / other) in the right quadrant; integers give the
    default float dtype."""
    y, x = _as_tensor("atan2", input), _as_tensor("atan2", other)
    dtype = result_type(y, x)
    if not dtype.is_floating_point:
        dtype = dtypes.get_default_dtype()
    return apply(Atan2(), ew.cast(y, dtype), ew.cast(x, dtype))


arctan2 = atan2


def lerp(input, end, weight):
    """input + weight * (end - input). As in PyTorch, ``input`` and ``end`` must have the same
    dtype; ``weight`` is a number or a tensor."""
    if not isinstance(input, Tensor) or not isinstance(end, Tensor):
        raise TypeError(f"lerp: input and end must be tensors, got {type(input).__name__} and "
                        f"{type(end).__name__}")
    if input.dtype is not end.dtype:
        raise DTypeError(f"lerp: expected dtype {input.dtype} for `end` but got dtype {end.dtype} "
                         "(input and end must have the same dtype)")
    if not input.dtype.is_floating_point:
        raise DTypeError(f"lerp: expected floating-point tensors, got {input.dtype}")
    if isinstance(weight, Tensor) and weight.dtype is not input.dtype:
        raise DTypeError(f"lerp: expected dtype {input.dtype} for `weight` but got dtype "
                         f"{weight.dtype}")
    return input + weight * (end - input)


# ----- float tests ---------------------------------------------------------------------------

class FloatTest(Op):
    """isnan, isinf, isfinite, isposinf, isneginf: a bool tensor. Integer and bool tensors hold
    no nan or inf, so every entry is finite."""
    __slots__ = ("kind",)
    differentiable = False
    saves_inputs = False

    def __init__(self, kind):
        self.kind = kind

    @property
    def name(self):
        return self.kind

    def forward(self, backend, x):
        xp = backend.xp
        if x.dtype.kind not in "fc":
            return xp.full(x.shape, self.kind == "isfinite")
        if self.kind == "isposinf":
            return xp.isposinf(x)
        if self.kind == "isneginf":
            return xp.isneginf(x)
        return getattr(xp, self.kind)(x)

    def infer(self, x):
        return bool_type(x.shape)


def _float_test(kind):
    op = FloatTest(kind)

    def test(input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{kind}: expected a Tensor as input, got {type(input).__name__}")
        return apply(op, input)
    test.__name__ = kind
    test.__doc__ = f"Elementwise {kind}: a bool tensor of the input's shape."
    return test


isnan, isinf, isfinite, isposinf, isneginf = (
    _float_test(k) for k in ("isnan", "isinf", "isfinite", "isposinf", "isneginf"))


class IsClose(Op):
    __slots__ = ("rtol", "atol", "equal_nan")
    differentiable = False
    saves_inputs = False

    def __init__(self, rtol, atol, equal_nan):
        self.rtol = rtol
        self.atol = atol
        self.equal_nan = equal_nan

    def forward(self, backend, a, b):
        return backend.xp.isclose(a, b, rtol=self.rtol, atol=self.atol, equal_nan=self.equal_nan)

    def infer(self, a, b):
        return bool_type(broadcast_shapes("isclose", a.shape, b.shape))


def _close_operands(name, input, other):
    input, other = _as_tensor(name, input), _as_tensor(name, other)
    if input.dtype is not other.dtype:
        # PyTorch refuses mixed dtypes here ("Long did not match Float") rather than promote.
        raise DTypeError(f"{name}: input and other must have the same dtype, got {input.dtype} "
                         f"and {other.dtype} (cast one of them first)")
    return input, other


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False, _name="isclose"):
    """``|input - other| <= atol + rtol * |other|``, elementwise (a bool tensor)."""
    input, other = _close_operands(_name, input, other)
    if rtol < 0 or atol < 0:
        raise ValueError(f"{_name}: rtol and atol must be non-negative, got rtol={rtol}, "
                         f"atol={atol}")
    return apply(IsClose(float(rtol), float(atol), bool(equal_nan)), input, other)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every pair of entries is close (see ``isclose``); a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan, _name="allclose").all())


def equal(input, other):
    """True if both tensors have the same shape and the same values (a Python bool). Mixed
    dtypes compare by value, as in PyTorch."""
    input, other = _as_tensor("equal", input), _as_tensor("equal", other)
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool(ew.eq(input, other).all())


# ----- bitwise functions -------------------------------------------------------------------

def _integer_operands(name, *values):
    tensors = [_as_tensor(name, v) for v in values]
    for t in tensors:
        if t.dtype.is_floating_point:
            raise UnsupportedDTypeError(f"{name}: not implemented for {t.dtype} tensors; expected "
                                        "bool or integer tensors")
    return tensors


def bitwise_and(input, other):
    """Bitwise AND of integer or bool tensors (PyTorch's ``torch.bitwise_and``)."""
    _integer_operands("bitwise_and", input, other)
    return ew.bitwise("bitwise_and", input, other)


def bitwise_or(input, other):
    """Bitwise OR of integer or bool tensors (PyTorch's ``torch.bitwise_or``)."""
    _integer_operands("bitwise_or", input, other)
    return ew.bitwise("bitwise_or", input, other)


def bitwise_xor(input, other):
    """Bitwise XOR of integer or bool tensors (PyTorch's ``torch.bitwise_xor``)."""
    _integer_operands("bitwise_xor", input, other)
    return ew.bitwise("bitwise_xor", input, other)


def bitwise_not(input):
    """Bitwise NOT of an integer or bool tensor (PyTorch's ``torch.bitwise_not``)."""
    (input,) = _integer_operands("bitwise_not", input)
    return ew.invert(input)


class Shift(Op):
    __slots__ = ("kind",)
    differentiable = False
    saves_inputs = False

    def __init__(self, kind):
        self.kind = kind

    @property
    def name(self):
        return f"bitwise_{self.kind}_shift"

    def forward(self, backend, a, b):
        return (backend.xp.left_shift if self.kind == "left" else backend.xp.right_shift)(a, b)

    def infer(self, a, b):
        return TensorType(a.dtype, broadcast_shapes(self.name, a.shape, b.shape))


def _shift(kind, input, other):
    name = f"bitwise_{kind}_shift"
    a, b = _integer_operands(name, input, other)
    dtype = result_type(input, other)
    if dtype is bool_:
        # A bool tensor shifted by a Python int promotes to int64 (True << 1 is 2), as in
        # PyTorch; two bool tensors have no shift, as in PyTorch.
        raise UnsupportedDTypeError(f"{name}: not implemented for bool tensors; expected integer "
                                    "tensors")
    return apply(Shift(kind), ew.cast(a, dtype), ew.cast(b, dtype))


def bitwise_left_shift(input, other):
    """input * 2**other on integer (or bool) tensors."""
    return _shift("left", input, other)


def bitwise_right_shift(input, other):
    """input >> other (arithmetic shift, rounding down) on integer (or bool) tensors."""
    return _shift("right", input, other)


# ----- clamp_min / clamp_max / masked_fill ----------------------------------------------------

def clamp_min(input, min):
    """``max(input, min)`` elementwise (PyTorch's ``torch.clamp_min``)."""
    return ew.clamp(input, min=min)


def clamp_max(input, max):
    """``min(input, max)`` elementwise (PyTorch's ``torch.clamp_max``)."""
    return ew.clamp(input, max=max)


def masked_fill(input, mask, value):
    """``value`` where the bool ``mask`` holds, else ``input`` (the mask broadcasts)."""
    from ganglion.core.methods import _masked_fill
    if not isinstance(input, Tensor):
        raise TypeError(f"masked_fill: expected a Tensor as input, got {type(input).__name__}")
    return _masked_fill(input, mask, value)
