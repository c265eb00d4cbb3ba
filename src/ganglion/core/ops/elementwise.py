"""Binary elementwise ops (arithmetic, comparisons, logic), casts and ``where``.

Operands may be Tensors or Python numbers; the result dtype follows PyTorch's promotion rules
(``dtypes.result_type``). A Python number becomes a 0-d constant of the result dtype, so a scalar
never widens a tensor (float32 * 2.5 stays float32). Gradients of broadcast operands are summed
back to the operand's shape.

Integer floor division, truncating division and remainder by zero raise
``IntegerDivisionByZero`` (a ZeroDivisionError, and a RuntimeError as PyTorch raises on the CPU)
instead of NumPy's silent 0: one vectorised ``divisor.all()`` per call, integer dtypes only.
"""
from ganglion.core import blocked_tensor, dtypes
from ganglion.core.dtypes import bool_, from_numpy_dtype, result_type
from ganglion.core.errors import (ArgumentError, DTypeError, IntegerDivisionByZero,
                                   UnsupportedDTypeError)
from ganglion.core.op import Op, apply, bool_type, broadcast_shapes, refuse_non_tensor
from ganglion.core.ops.shape import sum_to
from ganglion.core.tensor import Constant, Tensor, TensorType, make_tensor

__all__ = ["add", "sub", "mul", "div", "floor_divide", "remainder", "pow", "maximum", "minimum",
           "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
           "logical_not", "cast", "where", "clamp", "constant"]


def _check_integer_divisor(op_name, a, b):
    """Refuse a zero in an integer divisor (NumPy would give 0 and a warning)."""
    # bool() of a 0-d divisor (the usual `x // 2`) costs far less than a reduction.
    if b.dtype.kind in "iu" and not (bool(b) if b.ndim == 0 else b.all()):
        raise IntegerDivisionByZero(
            f"{op_name}: integer division by zero (the divisor of shape {tuple(b.shape)} and "
            f"dtype {b.dtype} holds a 0; integer tensors have no inf or nan to give)")


def constant(value, dtype):
    """A 0-d Tensor holding ``value`` as ``dtype`` (how Python numbers enter the graph).

    An integer that ``dtype`` cannot hold wraps around, as PyTorch casts it (uint8 + -1 is
    uint8 - 1, int8 * 300 is int8 * 44).
    """
    from ganglion.backend import current
    try:
        array = current.xp.asarray(value, dtype=dtype.np)
    except OverflowError:
        array = current.xp.asarray(value).astype(dtype.np)
    return make_tensor(array, cls=Constant)


def _operands(name, a, b):
    """Both operands as Tensors, and the dtype the result must have."""
    a_is_tensor = isinstance(a, Tensor)
    b_is_tensor = isinstance(b, Tensor)
    if a_is_tensor and b_is_tensor:
        ad = a._data
        bd = b._data
        if ad is not None and bd is not None and ad.dtype == bd.dtype:
            return a, b, None
        out_dtype = result_type(a, b)
        # A 0-d operand of a wider dtype that does not decide the result's (a float64 step size
        # times float32 weights, as Optimizer.updates builds) is cast first, so the op runs in
        # the result's dtype as PyTorch's does, not in float64 followed by a cast back.
        if a.dtype is not b.dtype:
            if b.tensor_type.shape == () and a.dtype is out_dtype and a.tensor_type.shape != ():
                return a, cast(b, out_dtype), None
            if a.tensor_type.shape == () and b.dtype is out_dtype and b.tensor_type.shape != ():
                return cast(a, out_dtype), b, None
        return a, b, out_dtype
    if not (a_is_tensor or b_is_tensor):
        raise TypeError(f"{name}: expected at least one Tensor, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    tensor, scalar = (a, b) if a_is_tensor else (b, a)
    if not isinstance(scalar, (int, float, bool)):
        scalar = _convert(name, scalar)
        return (a, scalar, result_type(a, scalar)) if a_is_tensor else (scalar, b, result_type(scalar, b))
    out_dtype = result_type(tensor, scalar)
    const = constant(scalar, out_dtype)
    if a_is_tensor:
        return a, const, (None if out_dtype is a.dtype else out_dtype)
    return const, b, (None if out_dtype is b.dtype else out_dtype)


def _convert(name, value):
    from ganglion.core.creation import tensor
    try:
        return tensor(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: cannot use a {type(value).__name__} as an operand: {error}") from None


def common_dtype_tensors(name, values):
    """Tensors (numbers converted) all cast to their promoted dtype, for cat/stack/where."""
    values = [v if isinstance(v, Tensor) else _convert(name, v) for v in values]
    if not values:
        return values
    dtype = result_type(*values)
    return [v if v.dtype is dtype else cast(v, dtype) for v in values]


def _binary(op, a, b, name):
    a, b, out_dtype = _operands(name, a, b)
    out = apply(op, a, b)
    if out_dtype is not None and out.dtype is not out_dtype:
        out = cast(out, out_dtype)
    return out


class Binary(Op):
    """Elementwise op of two broadcast operands; infer gives the backend's result dtype."""
    __slots__ = ()
    returns_new_array = True

    def infer(self, a, b):
        shape = broadcast_shapes(self.name, a.shape, b.shape)
        from ganglion.backend import current
        return TensorType(from_numpy_dtype(current.xp.result_type(a.dtype.np, b.dtype.np)), shape)


class Add(Binary):
    __slots__ = ()
    saves_inputs = False
    accepts_out = True
    loop_opcode = "add"
    infix = "+"

    def forward(self, backend, a, b, out=None):
        if out is None:
            return backend.ufunc(backend.xp.add, a, b)
        return backend.xp.add(a, b, out=out)

    def vjp(self, out, grad, needs):
        a, b = out._inputs
        return (sum_to(grad, a) if needs[0] else None, sum_to(grad, b) if needs[1] else None)


class Sub(Binary):
    __slots__ = ()
    saves_inputs = False
    accepts_out = True
    loop_opcode = "sub"
    infix = "-"

    def forward(self, backend, a, b, out=None):
        if out is None:
            return backend.ufunc(backend.xp.subtract, a, b)
        return backend.xp.subtract(a, b, out=out)

    def vjp(self, out, grad, needs):
        a, b = out._inputs
        return (sum_to(grad, a) if needs[0] else None, sum_to(-grad, b) if needs[1] else None)


class Mul(Binary):
    __slots__ = ()
    accepts_out = True
    loop_opcode = "mul"
    infix = "*"

    def forward(self, backend, a, b, out=None):
        if out is None:
            return backend.ufunc(backend.xp.multiply, a, b)
        return backend.xp.multiply(a, b, out=out)

    def vjp(self, out, grad, needs):
        a, b = out._inputs
        return (sum_to(grad * b, a) if needs[0] else None, sum_to(grad * a, b) if needs[1] else None)


class Div(Binary):
    __slots__ = ()
    accepts_out = True
    loop_opcode = "div"
    infix = "/"

    def forward(self, backend, a, b, out=None):
        if out is None:
            return backend.ufunc(backend.xp.true_divide, a, b)
        return backend.xp.true_divide(a, b, out=out)

    def vjp(self, out, grad, needs):
        a, b = out._inputs
        return (sum_to(grad / b, a) if needs[0] else None,
                sum_to(-grad * a / (b * b), b) if needs[1] else None)

    def infer(self, a, b):
        t = Binary.infer(self, a, b)
        return t if t.dtype.is_floating_point else TensorType(dtypes.float64, t.shape)


class Pow(Binary):
    __slots__ = ()
    infix = "**"

    def forward(self, backend, a, b):
        return a ** b

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.unary import log
        a, b = out._inputs
        ga = gb = None
        if needs[0]:
            da = grad * b * a ** (b - 1)
            if not (isinstance(b, Constant) and b._data != 0):
                # x ** 0 is constant: PyTorch gives 0, also at x = 0 where 0 * 0 ** -1 is nan.
                da = where(b == 0, 0.0, da)
            ga = sum_to(da, a)
        if needs[1]:
            # d(a**b)/db = a**b * log(a); where a == 0 and b >= 0 the limit (and PyTorch) gives 0.
            # The inner where keeps log's own gradient finite there for higher derivatives.
            zero_base = logical_and(a == 0, b >= 0)
            gb = sum_to(where(zero_base, 0.0, grad * out * log(where(zero_base, 1.0, a))), b)
        return ga, gb


class FloorDivide(Binary):
    __slots__ = ()
    infix = "//"
    differentiable = False

    def forward(self, backend, a, b):
        _check_integer_divisor("floor_divide", a, b)
        return a // b


class TruncDivide(Binary):
    """Division rounded toward zero (``div(rounding_mode='trunc')``): -7 / 2 gives -3."""
    __slots__ = ()
    differentiable = False

    def forward(self, backend, a, b):
        xp = backend.xp
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            _check_integer_divisor("div(rounding_mode='trunc')", a, b)
            # Floor division rounds down; where the exact quotient is negative and not whole
            # it is one below the truncated one. (Exact for int64, unlike trunc(a / b).)
            quotient = a // b
            inexact_negative = (a % b != 0) & ((a < 0) != (b < 0))
            return quotient + inexact_negative.astype(quotient.dtype)
        return xp.trunc(xp.true_divide(a, b))


class Remainder(Binary):
    """Python's (and PyTorch's remainder's) modulo: the result has the divisor's sign."""
    __slots__ = ()
    infix = "%"

    def forward(self, backend, a, b):
        _check_integer_divisor("remainder", a, b)
        return a % b

    def vjp(self, out, grad, needs):
        a, b = out._inputs
        return (sum_to(grad, a) if needs[0] else None,
                sum_to(-grad * floor_divide(a, b), b) if needs[1] else None)


class Maximum(Binary):
    """Elementwise max; on ties the gradient is split evenly, as in PyTorch."""
    __slots__ = ()
    accepts_out = True
    loop_opcode = "maximum"

    def forward(self, backend, a, b, out=None):
        if out is None:
            return backend.ufunc(backend.xp.maximum, a, b)
        return backend.xp.maximum(a, b, out=out)

    def vjp(self, out, grad, needs):
        return _select_vjp(out, grad, needs, gt)


class Minimum(Binary):
    __slots__ = ()
    accepts_out = True
    loop_opcode = "minimum"

    def forward(self, backend, a, b, out=None):
        if out is None:
            return backend.ufunc(backend.xp.minimum, a, b)
        return backend.xp.minimum(a, b, out=out)

    def vjp(self, out, grad, needs):
        return _select_vjp(out, grad, needs, lt)


def _select_vjp(out, grad, needs, wins):
    a, b = out._inputs
    a_wins = wins(a, b)
    tie = eq(a, b)
    share = grad * 0.5
    ga = sum_to(where(a_wins, grad, where(tie, share, 0.0)), a) if needs[0] else None
    gb = sum_to(where(a_wins, 0.0, where(tie, share, grad)), b) if needs[1] else None
    return ga, gb


class Compare(Binary):
    __slots__ = ("kind",)
    differentiable = False
    _FUNCS = {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
              "gt": "greater", "ge": "greater_equal", "and": "logical_and", "or": "logical_or",
              "xor": "logical_xor"}

    def __init__(self, kind):
        self.kind = kind

    _INFIX = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "and": "&",
              "or": "|", "xor": "^"}

    @property
    def name(self):
        return self.kind

    @property
    def loop_opcode(self):
        # The comparisons have loop templates; the logical ops do not.
        return self.kind if self.kind in ("gt", "lt", "ge", "le", "eq", "ne") else None

    @property
    def infix(self):
        return self._INFIX[self.kind]

    def forward(self, backend, a, b):
        return getattr(backend.xp, self._FUNCS[self.kind])(a, b)

    def infer(self, a, b):
        return bool_type(broadcast_shapes(self.kind, a.shape, b.shape))


class Bitwise(Binary):
    """&, | and ^ on bool or integer tensors."""
    __slots__ = ("kind",)
    differentiable = False

    def __init__(self, kind):
        self.kind = kind

    @property
    def name(self):
        return self.kind

    def forward(self, backend, a, b):
        return getattr(backend.xp, self.kind)(a, b)

    def infer(self, a, b):
        for t in (a, b):
            if t.dtype.is_floating_point:
                raise UnsupportedDTypeError(f"{self.kind}: expected bool or integer tensors, got "
                                            f"{t.dtype}")
        return Binary.infer(self, a, b)


class LogicalNot(Op):
    __slots__ = ()
    differentiable = False

    def forward(self, backend, x):
        return backend.xp.logical_not(x) if x.dtype == bool else backend.xp.invert(x)

    def infer(self, x):
        if x.dtype.is_floating_point:
            raise TypeError(f"~ (bitwise not): expected a bool or integer tensor, got {x.dtype}")
        return TensorType(x.dtype, x.shape)


class Cast(Op):
    __slots__ = ("dtype",)
    saves_inputs = False
    returns_new_array = True
    loop_opcode = "cast"

    def __init__(self, dtype):
        self.dtype = dtype

    @property
    def differentiable(self):
        return self.dtype.is_floating_point

    def forward(self, backend, x):
        return x.astype(self.dtype.np)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (cast(grad, x.dtype) if x.dtype.is_floating_point else None,)

    def infer(self, x):
        return TensorType(self.dtype, x.shape)

    def pp(self, args):
        return f"cast({args[0]}, {self.dtype.name})"


class Where(Op):
    __slots__ = ()
    returns_new_array = True
    loop_opcode = "where"

    def forward(self, backend, condition, a, b):
        return backend.xp.where(condition, a, b)

    def vjp(self, out, grad, needs):
        condition, a, b = out._inputs
        zero = constant(0, grad.dtype)
        return (None,
                sum_to(where(condition, grad, zero), a) if needs[1] else None,
                sum_to(where(condition, zero, grad), b) if needs[2] else None)

    def infer(self, condition, a, b):
        if condition.dtype is not bool_:
            raise TypeError(f"where: the condition must be a bool tensor, got {condition.dtype}")
        shape = broadcast_shapes("where", condition.shape, a.shape, b.shape)
        return TensorType(a.dtype, shape)


# ----- functions ----------------------------------------------------------------------------

_ADD, _SUB, _MUL, _DIV, _POW = Add(), Sub(), Mul(), Div(), Pow()
_BlockedTensor = blocked_tensor.BlockedTensor


def _check_alpha(name, alpha):
    if not isinstance(alpha, (int, float)):
        raise TypeError(f"{name}: alpha must be a number, got {alpha!r} of type "
                        f"{type(alpha).__name__}")


def add(a, b, alpha=1):
    """``a + alpha * b`` elementwise, broadcasting (PyTorch's ``torch.add``)."""
    if alpha != 1:
        _check_alpha("add", alpha)
        b = mul(b, alpha)
    elif type(a) is _BlockedTensor and type(b) is _BlockedTensor:
        out = blocked_tensor.add(_ADD, a, b)
        if out is not None:
            return out
    return _binary(_ADD, a, b, "add")


def sub(a, b, alpha=1):
    """``a - alpha * b`` elementwise, broadcasting (PyTorch's ``torch.sub``)."""
    if alpha != 1:
        _check_alpha("sub", alpha)
        b = mul(b, alpha)
    return _binary(_SUB, a, b, "sub")


def mul(a, b):
    """``a * b`` elementwise, broadcasting (PyTorch's ``torch.mul``)."""
    return _binary(_MUL, a, b, "mul")


def div(a, b, rounding_mode=None):
    """True division (integers give the default float dtype), or division rounded down with
    ``rounding_mode='floor'`` or toward zero with ``rounding_mode='trunc'`` (these keep an
    integer dtype, and refuse an integer divisor holding 0)."""
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        return _binary(TruncDivide(), a, b, "div")
    if rounding_mode is not None:
        raise ArgumentError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                            f"{rounding_mode!r}")
    a, b, out_dtype = _operands("div", a, b)
    if out_dtype is None:
        out_dtype = a.dtype
    if not out_dtype.is_floating_point:
        out_dtype = dtypes.get_default_dtype()
    out = apply(_DIV, a, b)
    return out if out.dtype is out_dtype else cast(out, out_dtype)


def floor_divide(a, b):
    """``floor(a / b)`` elementwise (PyTorch's ``torch.floor_divide``)."""
    return _binary(FloorDivide(), a, b, "floor_divide")


def remainder(a, b):
    """``a - floor(a / b) * b`` elementwise, with the sign of ``b`` (PyTorch's
    ``torch.remainder``)."""
    return _binary(Remainder(), a, b, "remainder")


def pow(a, b):
    """``a ** b`` elementwise, broadcasting (PyTorch's ``torch.pow``)."""
    return _binary(_POW, a, b, "pow")


def maximum(a, b):
    """The larger of ``a`` and ``b`` elementwise; NaN wins (PyTorch's ``torch.maximum``)."""
    return _binary(Maximum(), a, b, "maximum")


def minimum(a, b):
    """The smaller of ``a`` and ``b`` elementwise; NaN wins (PyTorch's ``torch.minimum``)."""
    return _binary(Minimum(), a, b, "minimum")


def _compare(kind):
    op = Compare(kind)

    def compare(a, b):
        a, b, _ = _operands(kind, a, b)
        return apply(op, a, b)
    compare.__name__ = kind
    compare.__doc__ = f"Elementwise {kind} comparison; a bool tensor, not differentiable."
    return compare


eq, ne, lt, le, gt, ge = (_compare(k) for k in ("eq", "ne", "lt", "le", "gt", "ge"))


def logical_and(a, b):
    """``a and b`` elementwise, nonzero meaning True; a bool tensor (PyTorch's
    ``torch.logical_and``)."""
    return apply(Compare("and"), *_operands("logical_and", a, b)[:2])


def logical_or(a, b):
    """``a or b`` elementwise, nonzero meaning True; a bool tensor (PyTorch's
    ``torch.logical_or``)."""
    return apply(Compare("or"), *_operands("logical_or", a, b)[:2])


def logical_xor(a, b):
    """``a xor b`` elementwise, nonzero meaning True; a bool tensor (PyTorch's
    ``torch.logical_xor``)."""
    return apply(Compare("xor"), *_operands("logical_xor", a, b)[:2])


def logical_not(x):
    """``not x`` elementwise, nonzero meaning True; a bool tensor (PyTorch's
    ``torch.logical_not``)."""
    return apply(LogicalNot(), cast(x, bool_) if x.dtype is not bool_ else x)


def bitwise(kind, a, b):
    """``&`` / ``|`` / ``^``: logical on bool tensors, bitwise on integer tensors."""
    name = {"bitwise_and": "&", "bitwise_or": "|", "bitwise_xor": "^"}[kind]
    a, b, out_dtype = _operands(name, a, b)
    out = apply(Bitwise(kind), a, b)
    return out if out_dtype is None or out.dtype is out_dtype else cast(out, out_dtype)


def invert(x):
    return apply(LogicalNot(), x)


def cast(x, dtype):
    dtype = dtypes.as_dtype(dtype)
    if x.dtype is dtype:
        return x
    return apply(Cast(dtype), x)


def where(condition, a=None, b=None):
    """Elements of ``a`` where ``condition`` holds, else of ``b`` (numbers allowed)."""
    if a is None and b is None:
        from ganglion.core.ops.indexing import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        condition = _convert("where", condition)
    if condition.dtype is not bool_:
        raise DTypeError(f"where: expected condition to be a bool tensor, got {condition.dtype} "
                         "(compare it first, e.g. where(mask != 0, a, b))")
    tensors = [v for v in (a, b) if isinstance(v, Tensor)]
    if not tensors:
        a, b = common_dtype_tensors("where", [a, b])
    else:
        dtype = result_type(a, b)
        a = cast(a, dtype) if isinstance(a, Tensor) else constant(a, dtype)
        b = cast(b, dtype) if isinstance(b, Tensor) else constant(b, dtype)
    return apply(Where(), condition, a, b)


def clamp(x, min=None, max=None):
    """Limit values to [min, max]; the gradient passes where min <= x <= max (PyTorch's rule).

    The result dtype promotes over x and the bounds, as in PyTorch (an integer tensor clamped
    to 0.5 gives float32).
    """
    if not isinstance(x, Tensor):
        refuse_non_tensor("clamp", (x,))
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    for what, bound in (("min", min), ("max", max)):
        if bound is not None and not isinstance(bound, (int, float, Tensor)):
            raise TypeError(f"clamp: {what} must be a number or a tensor, got {bound!r} of type "
                            f"{type(bound).__name__}")
    out = cast(x, result_type(x, *[b for b in (min, max) if b is not None]))
    if min is not None:
        out = where(lt(out, min), min, out)
    if max is not None:
        out = where(gt(out, max), max, out)
    return out
