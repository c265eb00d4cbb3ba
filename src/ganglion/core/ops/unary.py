"""Unary elementwise math and activation functions.

Each op's vjp is written with Tensor ops (tanh' = 1 - tanh**2 through the output, and so on), so
that second derivatives come from the same rules. Functions that are only defined on real
numbers (exp, log, tanh, ...) turn integer input into the default float dtype, as PyTorch does.

An activation's parameter (a slope, alpha, beta, bounds) must be a number: a string or None
raises TypeError naming the function and the parameter, as PyTorch does, instead of failing
later inside ``float()``. Functions that need a tensor refuse other input by name.
"""
import numbers
import math

from ganglion.core import blocked_tensor, dtypes
from ganglion.core.errors import ArgumentError, DTypeError
from ganglion.core.op import Op, ShapeError, apply
from ganglion.core.ops.elementwise import cast, gt, mul, where
from ganglion.core.tensor import Tensor, TensorType

__all__ = ["neg", "abs", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "sin", "cos",
           "tanh", "sigmoid", "relu", "leaky_relu", "elu", "selu", "gelu", "softplus", "sign",
           "floor", "ceil", "round", "erf", "logsigmoid", "hardtanh", "relu6", "clone",
           "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin",
           "arccos", "arctan", "arcsinh", "arccosh", "arctanh"]


class Unary(Op):
    """An op of one tensor whose result has the input's dtype and shape (a new array)."""
    __slots__ = ()
    returns_new_array = True

    def infer(self, x):
        return TensorType(x.dtype, x.shape)


def _tensor(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor as input, got {type(x).__name__}")
    return x


def _number(name, what, value):
    """An activation parameter as a float; TypeError naming it if it is not a real number."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, Tensor) and value._data is not None and value.ndim == 0:
        return float(value)
    raise TypeError(f"{name}: {what} must be a number, got {value!r} of type "
                    f"{type(value).__name__}")


def to_float(x):
    if not isinstance(x, Tensor):
        from ganglion.core.creation import tensor
        x = tensor(x)
    return x if x.dtype.is_floating_point else cast(x, dtypes.get_default_dtype())


class Neg(Unary):
    __slots__ = ()
    saves_inputs = False
    accepts_out = True
    loop_opcode = "neg"

    def forward(self, backend, x, out=None):
        return backend.xp.negative(x, out=out)

    def vjp(self, out, grad, needs):
        return (-grad,)

    def pp(self, args):
        return f"-{args[0]}"


class Abs(Unary):
    __slots__ = ()
    accepts_out = True
    loop_opcode = "abs"

    def forward(self, backend, x, out=None):
        return backend.xp.abs(x, out=out)

    def vjp(self, out, grad, needs):
        return (grad * sign(out._inputs[0]),)


class Exp(Unary):
    __slots__ = ()
    saves_inputs = False
    saves_output = True
    accepts_out = True

    def forward(self, backend, x, out=None):
        return backend.xp.exp(x, out=out)

    def vjp(self, out, grad, needs):
        return (grad * out,)


class Log(Unary):
    __slots__ = ()
    accepts_out = True

    def forward(self, backend, x, out=None):
        return backend.xp.log(x, out=out)

    def vjp(self, out, grad, needs):
        return (grad / out._inputs[0],)


class Log1p(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        return backend.xp.log1p(x)

    def vjp(self, out, grad, needs):
        return (grad / (out._inputs[0] + 1),)


class Expm1(Unary):
    __slots__ = ()
    saves_inputs = False
    saves_output = True

    def forward(self, backend, x):
        return backend.xp.expm1(x)

    def vjp(self, out, grad, needs):
        return (grad * (out + 1),)


class Sqrt(Unary):
    __slots__ = ()
    saves_inputs = False
    saves_output = True
    accepts_out = True
    loop_opcode = "sqrt"

    def forward(self, backend, x, out=None):
        return backend.xp.sqrt(x, out=out)

    def vjp(self, out, grad, needs):
        return (grad / (out * 2),)


class Sin(Unary):
    __slots__ = ()
    accepts_out = True

    def forward(self, backend, x, out=None):
        return backend.xp.sin(x, out=out)

    def vjp(self, out, grad, needs):
        return (grad * cos(out._inputs[0]),)


class Cos(Unary):
    __slots__ = ()
    accepts_out = True

    def forward(self, backend, x, out=None):
        return backend.xp.cos(x, out=out)

    def vjp(self, out, grad, needs):
        return (-grad * sin(out._inputs[0]),)


class Tanh(Unary):
    __slots__ = ()
    saves_inputs = False
    saves_output = True
    accepts_out = True

    def forward(self, backend, x, out=None):
        return backend.tanh(x, out=out)

    def vjp(self, out, grad, needs):
        return (grad * (1 - out * out),)


class Sigmoid(Unary):
    __slots__ = ()
    saves_inputs = False
    saves_output = True

    def forward(self, backend, x):
        xp = backend.xp
        if x.dtype.kind != "f":
            # exp of -|x| never overflows; the two branches give full relative precision in both tails.
            e = xp.exp(-xp.abs(x))
            return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        # PyTorch's form 1 / (1 + exp(-x)), in place in one array: four passes where the |x|
        # form above takes nine (5x faster on an LSTM's gates). Full relative precision in both
        # tails too (a large exp(-x) divides 1 to within rounding); where exp(-x) overflows
        # (x < -88.7 in float32) it gives 0, as PyTorch does, for a sigmoid below the smallest
        # normal float.
        out = xp.empty_like(x)
        xp.negative(x, out=out)
        with xp.errstate(over="ignore"):
            xp.exp(out, out=out)
        xp.add(out, 1, out=out)
        return xp.reciprocal(out, out=out)

    def vjp(self, out, grad, needs):
        return (grad * out * (1 - out),)


class Relu(Unary):
    __slots__ = ()
    saves_inputs = False
    saves_output = True
    accepts_out = True
    loop_opcode = "relu"

    def forward(self, backend, x, out=None):
        return backend.relu(x, out=out)

    def vjp(self, out, grad, needs):
        op = ReluBackward()
        blocked = blocked_tensor.relu_backward(op, grad, out)
        return (blocked if blocked is not None else apply(op, grad, out),)


class ReluBackward(Op):
    """(grad, relu output) -> grad where the output is positive, else 0: ReLU's backward as
    one kernel (one pass) rather than a comparison and a product."""
    __slots__ = ()
    returns_new_array = True
    loop_opcode = "relu_grad"

    def forward(self, backend, grad, out):
        return backend.relu_backward(grad, out)

    def vjp(self, out, grad, needs):
        # Linear in the incoming gradient with the same mask; the mask itself is flat.
        return (apply(ReluBackward(), grad, out._inputs[1]) if needs[0] else None, None)

    def infer(self, grad, out):
        if grad.shape != out.shape and None not in grad.shape + out.shape:
            raise ShapeError(f"relu_backward: gradient of shape {grad.shape} for an output of "
                             f"shape {out.shape}")
        return TensorType(grad.dtype, grad.shape)


class LeakyRelu(Unary):
    __slots__ = ("negative_slope",)

    def __init__(self, negative_slope):
        self.negative_slope = negative_slope

    def forward(self, backend, x):
        return backend.xp.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def vjp(self, out, grad, needs):
        return (where(gt(out._inputs[0], 0), grad, grad * self.negative_slope),)


class Elu(Unary):
    """alpha * (exp(x) - 1) for x <= 0, x above; ``scale`` multiplies both (SELU)."""
    __slots__ = ("alpha", "scale")

    def __init__(self, alpha, scale=1.0):
        self.alpha = alpha
        self.scale = scale

    def forward(self, backend, x):
        xp = backend.xp
        t = x.dtype.type
        negative = t(self.alpha) * xp.expm1(xp.minimum(x, 0))
        return t(self.scale) * xp.where(x > 0, x, negative)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        # For x <= 0 the derivative is scale * alpha * exp(x) = out + scale * alpha.
        return (where(gt(x, 0), grad * self.scale, grad * (out + self.scale * self.alpha)),)


class Erf(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        return backend.erf(x)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (grad * (2 / math.sqrt(math.pi)) * exp(-(x * x)),)


class Softplus(Unary):
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` as in PyTorch."""
    __slots__ = ("beta", "threshold")

    def __init__(self, beta=1.0, threshold=20.0):
        self.beta = beta
        self.threshold = threshold

    def forward(self, backend, x):
        xp = backend.xp
        t = x.dtype.type
        scaled = x * t(self.beta)
        soft = xp.logaddexp(t(0), scaled) / t(self.beta)
        return xp.where(scaled > self.threshold, x, soft)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        scaled = x * self.beta
        return (where(gt(scaled, self.threshold), grad, grad * sigmoid(scaled)),)


class Sign(Unary):
    """sign, floor, ceil and round: piecewise constant, so their gradient is zero (PyTorch's).

    sign(nan) is nan, as in NumPy; PyTorch gives 0 there.
    """
    __slots__ = ("kind",)
    saves_inputs = False

    def __init__(self, kind):
        self.kind = kind

    @property
    def name(self):
        return self.kind

    def forward(self, backend, x):
        if x.dtype == bool:
            return x.copy()  # sign of a bool tensor is itself, as in PyTorch
        return getattr(backend.xp, self.kind)(x)

    def vjp(self, out, grad, needs):
        return (grad * 0,)


class Hardtanh(Unary):
    """Clip to [min_val, max_val], keeping the dtype. Unlike clamp's, the gradient is zero at the
    corners themselves, as in PyTorch's hardtanh (and relu6)."""
    __slots__ = ("min_val", "max_val")

    def __init__(self, min_val, max_val):
        self.min_val = min_val
        self.max_val = max_val

    def forward(self, backend, x):
        return backend.hardtanh(x, self.min_val, self.max_val)

    def vjp(self, out, grad, needs):
        op = HardtanhBackward(self.min_val, self.max_val)
        blocked = blocked_tensor.hardtanh_backward(op, grad, out._inputs[0])
        if blocked is not None:
            return (blocked,)
        # x detached: the mask is flat in x, so the gradient records only where grad does
        # (as the where() form did; a second derivative through x would be zero anyway).
        return (apply(op, grad, out._inputs[0].detach()),)


class HardtanhBackward(Op):
    """(grad, x) -> grad where min_val < x < max_val, else 0: hardtanh's (and ReLU6's) backward
    as one kernel rather than two comparisons, a logical and and a where (MobileNetV2's 35
    ReLU6 layers spent more time there than in their convolutions)."""
    __slots__ = ("min_val", "max_val")
    returns_new_array = True

    def __init__(self, min_val, max_val):
        self.min_val = min_val
        self.max_val = max_val

    def forward(self, backend, grad, x):
        return backend.hardtanh_backward(grad, x, self.min_val, self.max_val)

    def vjp(self, out, grad, needs):
        # Linear in the incoming gradient with the same mask; the mask itself is flat.
        return (apply(HardtanhBackward(self.min_val, self.max_val), grad, out._inputs[1])
                if needs[0] else None, None)

    def infer(self, grad, x):
        if grad.shape != x.shape and None not in grad.shape + x.shape:
            raise ShapeError(f"hardtanh_backward: gradient of shape {grad.shape} for an input of "
                             f"shape {x.shape}")
        return TensorType(grad.dtype, grad.shape)


# ----- functions ----------------------------------------------------------------------------

def _unary(op_class):
    op = op_class()

    def function(x):
        return apply(op, to_float(x))
    function.__name__ = op_class.__name__.lower()
    function.__doc__ = (f"``{function.__name__}(x)`` elementwise; integer and bool input is "
                        "computed in the default float dtype (PyTorch's "
                        f"``torch.{function.__name__}``).")
    return function


exp = _unary(Exp)
log = _unary(Log)
log1p = _unary(Log1p)
expm1 = _unary(Expm1)
sqrt = _unary(Sqrt)
sin = _unary(Sin)
cos = _unary(Cos)
tanh = _unary(Tanh)
sigmoid = _unary(Sigmoid)
erf = _unary(Erf)

_NEG, _ABS, _RELU = Neg(), Abs(), Relu()


def neg(x):
    """``-x`` elementwise (PyTorch's ``torch.neg``)."""
    if _tensor("neg", x).dtype.category == 0:
        raise DTypeError("neg: negation of a bool tensor is not supported; use ~ or logical_not")
    return apply(_NEG, x)


def abs(x):
    """``|x|`` elementwise (PyTorch's ``torch.abs``)."""
    return apply(_ABS, _tensor("abs", x))


def square(x):
    """x * x; a bool tensor is squared as int64, as in PyTorch."""
    if x.dtype is dtypes.bool_:
        x = cast(x, dtypes.int64)
    return mul(x, x)


def rsqrt(x):
    """``1 / sqrt(x)`` elementwise (PyTorch's ``torch.rsqrt``)."""
    return 1 / sqrt(x)


def relu(x):
    """``max(0, x)`` elementwise (PyTorch's ``torch.relu``)."""
    if _tensor("relu", x).dtype is dtypes.bool_:
        raise DTypeError("relu: bool tensors are not supported (as in PyTorch); cast to a number "
                         "dtype first")
    if type(x) is blocked_tensor.BlockedTensor:
        out = blocked_tensor.relu(_RELU, x)
        if out is not None:
            return out
    return apply(_RELU, x)


def relu6(x):
    """``min(max(0, x), 6)`` elementwise (PyTorch's ``F.relu6``)."""
    return hardtanh(x, 0.0, 6.0)


def hardtanh(x, min_val=-1.0, max_val=1.0):
    """``x`` clamped to ``[min_val, max_val]`` (PyTorch's ``F.hardtanh``)."""
    low, high = _number("hardtanh", "min_val", min_val), _number("hardtanh", "max_val", max_val)
    if low > high:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, "
                         f"max_val={max_val}")
    op = Hardtanh(low, high)
    if type(x) is blocked_tensor.BlockedTensor:
        out = blocked_tensor.hardtanh(op, x)
        if out is not None:
            return out
    return apply(op, _tensor("hardtanh", x))


def leaky_relu(x, negative_slope=0.01):
    """``x`` where ``x >= 0``, else ``negative_slope * x`` (PyTorch's ``F.leaky_relu``)."""
    return apply(LeakyRelu(_number("leaky_relu", "negative_slope", negative_slope)), to_float(x))


def elu(x, alpha=1.0):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)`` (PyTorch's ``F.elu``)."""
    return apply(Elu(_number("elu", "alpha", alpha)), to_float(x))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x):
    """Scaled ELU with the self-normalizing constants (PyTorch's ``torch.selu``)."""
    return apply(Elu(_SELU_ALPHA, _SELU_SCALE), to_float(x))


def gelu(x, approximate="none"):
    """x * Phi(x) with the exact normal CDF, or PyTorch's tanh approximation."""
    x = to_float(x)
    if approximate == "tanh":
        inner = (x + 0.044715 * x * x * x) * math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + tanh(inner))
    if approximate != "none":
        raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1 + erf(x * (1 / math.sqrt(2))))


def softplus(x, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold`` (PyTorch's
    ``F.softplus``)."""
    return apply(Softplus(_number("softplus", "beta", beta),
                          _number("softplus", "threshold", threshold)), to_float(x))


def logsigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``."""
    return -softplus(-to_float(x))


def sign(x):
    """-1, 0 or 1 by the sign of each element; NaN stays NaN (PyTorch's ``torch.sign`` gives 0)."""
    return apply(Sign("sign"), x)


def floor(x):
    """The largest integer not above each element (PyTorch's ``torch.floor``)."""
    return x if _tensor("floor", x).dtype.category < 2 else apply(Sign("floor"), x)


def ceil(x):
    """The smallest integer not below each element (PyTorch's ``torch.ceil``)."""
    return x if _tensor("ceil", x).dtype.category < 2 else apply(Sign("ceil"), x)


def round(x):
    """Round half to even, as PyTorch and NumPy do."""
    return x if _tensor("round", x).dtype.category < 2 else apply(Sign("round"), x)



class StopGradient(Unary):
    """The same value with no gradient path: what ``detach()`` is inside a symbolic graph, where
    the value is not known yet and so cannot simply be cut loose."""
    __slots__ = ()
    differentiable = False
    saves_inputs = False
    # Its result is its input's array, not a new one as other unary ops' are.
    returns_new_array = False
    is_view = True

    def forward(self, backend, x):
        return x


class Clone(Unary):
    """A copy that owns its memory; the gradient passes through unchanged."""
    __slots__ = ()
    saves_inputs = False

    def forward(self, backend, x):
        return x.copy()

    def vjp(self, out, grad, needs):
        return (grad,)


def clone(x):
    """A copy of ``x`` that autograd differentiates through (PyTorch's ``torch.clone``)."""
    return apply(Clone(), x)


# ----- trigonometric and hyperbolic functions (issue 13) -----------------------------------
# Each derivative is written through Tensor ops, so second derivatives come from the same rules;
# outside its domain (asin of 2, acosh of 0) a function gives nan, as in PyTorch and NumPy.

class Tan(Unary):
    """tan' = 1 + tan**2, read through the output."""
    __slots__ = ()
    saves_inputs = False
    saves_output = True

    def forward(self, backend, x):
        return backend.xp.tan(x)

    def vjp(self, out, grad, needs):
        return (grad * (1 + out * out),)


class Asin(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        with backend.xp.errstate(invalid="ignore", divide="ignore"):  # nan / inf outside the domain
            return backend.xp.arcsin(x)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (grad * rsqrt(1 - x * x),)


class Acos(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        with backend.xp.errstate(invalid="ignore", divide="ignore"):  # nan / inf outside the domain
            return backend.xp.arccos(x)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (-grad * rsqrt(1 - x * x),)


class Atan(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        return backend.xp.arctan(x)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (grad / (1 + x * x),)


class Sinh(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        return backend.xp.sinh(x)

    def vjp(self, out, grad, needs):
        return (grad * cosh(out._inputs[0]),)


class Cosh(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        return backend.xp.cosh(x)

    def vjp(self, out, grad, needs):
        return (grad * sinh(out._inputs[0]),)


class Asinh(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        return backend.xp.arcsinh(x)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (grad * rsqrt(x * x + 1),)


class Acosh(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        with backend.xp.errstate(invalid="ignore", divide="ignore"):  # nan / inf outside the domain
            return backend.xp.arccosh(x)

    def vjp(self, out, grad, needs):
        # (x - 1) * (x + 1) rather than x * x - 1: no cancellation near x = 1 (PyTorch's form).
        x = out._inputs[0]
        return (grad * rsqrt((x - 1) * (x + 1)),)


class Atanh(Unary):
    __slots__ = ()

    def forward(self, backend, x):
        with backend.xp.errstate(invalid="ignore", divide="ignore"):  # nan / inf outside the domain
            return backend.xp.arctanh(x)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (grad / (1 - x * x),)


tan = _unary(Tan)
asin = arcsin = _unary(Asin)
acos = arccos = _unary(Acos)
atan = arctan = _unary(Atan)
sinh = _unary(Sinh)
cosh = _unary(Cosh)
asinh = arcsinh = _unary(Asinh)
acosh = arccosh = _unary(Acosh)
atanh = arctanh = _unary(Atanh)
