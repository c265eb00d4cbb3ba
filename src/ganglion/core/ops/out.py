"""The ``out=`` argument of PyTorch's functions (issue 13), added once, as a wrapper.

``with_out(fn)`` is ``fn`` with an optional ``out=`` keyword: the result is written into the
given tensor (and that tensor is returned), following PyTorch's rules:

- if any input requires grad while grad mode is on, it is refused (RuntimeError): functions
  with out= do not support automatic differentiation;
- the result is cast to out's dtype, unless that would lose its kind (a float result into an
  integer out, an int into a bool one): RuntimeError;
- an ``out`` of another shape is resized to the result's (silently when it is empty, with
  PyTorch's UserWarning when it held elements); otherwise the values are written in place,
  so views of ``out`` see them, and its version counter is bumped.

Without ``out=`` the wrapper only adds one keyword test to the call.
"""
import functools
import inspect
import warnings

from ganglion.core.grad_mode import grad_enabled
from ganglion.core.op import format_shape
from ganglion.core.tensor import Tensor
from ganglion.core.versions import bump_storage

__all__ = ["with_out", "write_out", "OUT_FUNCTIONS"]

# The public functions that take out= in PyTorch and get it here (ganglion/__init__.py wraps
# them under these names).
OUT_FUNCTIONS = (
    "abs", "add", "sub", "mul", "div", "pow", "remainder", "floor_divide", "maximum", "minimum",
    "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "square", "sin", "cos", "tan", "tanh",
    "sigmoid", "neg", "sign", "floor", "ceil", "round", "erf", "asin", "acos", "atan", "sinh",
    "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "atan2", "clamp", "clip",
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "where",
    "matmul", "mm", "bmm", "addmm", "baddbmm", "dot", "outer", "sum", "mean", "prod", "amax",
    "amin", "argmax", "argmin", "logsumexp", "all", "any", "cumsum", "cumprod", "cat",
    "concatenate", "stack", "lerp", "isclose", "tril", "triu", "diag", "index_select", "gather",
    "take", "masked_select", "subtract", "multiply", "divide", "true_divide",
    "absolute", "power", "clamp_min", "clamp_max", "std", "var", "norm", "trace", "sort",
    "topk", "kthvalue", "cummax", "cummin", "argsort",
)


def write_out(name, result, out):
    """Store ``result`` (a Tensor) in ``out`` following PyTorch's rules; returns ``out``."""
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be a Tensor, got {type(out).__name__}")
    if out._data is None or result._data is None:
        raise TypeError(f"{name}(): out= needs tensors holding values, not symbolic ones")
    if result.dtype.category > out.dtype.category:
        raise RuntimeError(f"{name}(): result type {result.dtype} can't be cast to the desired "
                           f"output type {out.dtype} (out= tensor)")
    data = result._data
    if data.dtype != out._data.dtype:
        data = data.astype(out._data.dtype)
    if tuple(out.shape) != tuple(result.shape):
        if out.numel():
            warnings.warn(f"{name}(): an output with one or more elements was resized since it "
                          f"had shape {format_shape(out.shape)}, which does not match the "
                          f"required output shape {format_shape(result.shape)}. This behavior "
                          "is deprecated (as in PyTorch); pass an empty tensor as out= instead.",
                          UserWarning, stacklevel=3)
        out._data = data.copy() if data is result._data else data
    else:
        out._data[...] = data
    bump_storage(out._data)
    return out


def _requires_grad(values):
    for v in values:
        if isinstance(v, Tensor) and v.requires_grad:
            return True
        if isinstance(v, (list, tuple)) and _requires_grad(v):
            return True
    return False


def with_out(fn, name=None):
    """``fn`` with PyTorch's ``out=`` keyword (see the module docstring)."""
    name = name or fn.__name__

    @functools.wraps(fn)
    def function(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if grad_enabled[0] and (_requires_grad(args) or _requires_grad(kwargs.values())):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad.")
        result = fn(*args, **kwargs)
        if isinstance(result, tuple) and isinstance(out, (tuple, list)):
            if len(out) != len(result):
                raise TypeError(f"{name}(): out= takes {len(result)} tensors, got {len(out)}")
            return type(result)(*(write_out(name, r, o) for r, o in zip(result, out))) \
                if hasattr(result, "_fields") else tuple(write_out(name, r, o)
                                                         for r, o in zip(result, out))
        if not isinstance(result, Tensor):
            raise TypeError(f"{name}(): out= is not supported for this call (the result is a "
                            f"{type(result).__name__})")
        return write_out(name, result, out)
    function.__wrapped_out__ = fn
    function.__signature__ = _signature_with_out(fn)  # help() and introspection show out=
    return function


def _signature_with_out(fn):
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())
    out = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    if parameters and parameters[-1].kind is inspect.Parameter.VAR_KEYWORD:
        parameters.insert(len(parameters) - 1, out)
    else:
        parameters.append(out)
    return signature.replace(parameters=parameters)
