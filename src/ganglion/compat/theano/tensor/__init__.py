"""Theano's ``theano.tensor`` (``T``) on ganglion: typed placeholders and the math functions,
under Theano's names and signatures (``T.switch``, ``T.neq``, ``T.dot``, ``T.grad`` ...)."""
import builtins
import warnings

import ganglion as _gn
from ganglion.symbolic import placeholders as _placeholders
from ganglion.compat.theano.tensor import nnet, shared_randomstreams  # noqa: F401
from ganglion.compat.theano.tensor.basic import (  # noqa: F401
    Lop, Rop, addbroadcast, alloc, and_, argsort, as_tensor_variable, batched_dot, constant,
    cumsum, dot, eye, fill, horizontal_stack, identity_like, inc_subtensor, int_div, inv, invert,
    join, largest, log2, log10, mod, neg, ones, ones_like, or_, outer, patternbroadcast, prod,
    set_subtensor, shape, shape_padaxis, shape_padleft, shape_padright, smallest, sort,
    specify_shape, squeeze, std, tensordot, transpose, true_div, unbroadcast, var, vertical_stack,
    xor, zeros, zeros_like)
from ganglion.compat.theano.tensor.var import (  # noqa: F401
    TensorConstant, TensorSharedVariable, TensorType, TensorVariable, as_variable, dimshuffle,
    flatten)


class _WarnFlags:
    """``theano.config.warn``: Theano's flags for warnings about its old bugs and changes.
    ``round`` (True by default) makes ``T.round(x)`` without a mode warn that the default is
    half to even; the other flags are kept for code that sets them and change nothing."""

    def __init__(self):
        self.ignore_bug_before = "0.8"
        self.round = True  # T.round() without a mode warns, as Theano's
        self.sum_div_dimshuffle_bug = False


class _Config:
    """``theano.config``: ``floatX`` is the dtype of placeholders made without a prefix and of
    ``T.zeros`` / ``T.constant(1.5)``; ``mode`` is the default of ``function(mode=)``
    ('FAST_COMPILE' compiles without the graph rewrites); ``warn`` holds Theano's warning flags."""

    _MODES = ("Mode", "FAST_RUN", "FAST_COMPILE", "DebugMode", "DEBUG_MODE", "ProfileMode")

    def __init__(self):
        self._floatX = "float64"
        self._mode = "Mode"
        self.warn = _WarnFlags()
        self.device = "cpu"
        self.compute_test_value = "off"
        self.exception_verbosity = "low"
        self.optimizer = "fast_run"

    @property
    def floatX(self):
        return self._floatX

    @floatX.setter
    def floatX(self, value):
        if value not in ("float16", "float32", "float64"):
            raise ValueError(f"theano.config.floatX: must be 'float16', 'float32' or 'float64', "
                             f"got {value!r}")
        self._floatX = value

    @property
    def mode(self):
        return self._mode

    @mode.setter
    def mode(self, value):
        if value not in self._MODES:
            raise ValueError(f"theano.config.mode: must be one of {', '.join(self._MODES)}, got "
                             f"{value!r}")
        self._mode = value


config = _Config()


def _float_constructor(name):
    single = getattr(_placeholders, name)

    def make(*args, dtype=None, **kwargs):
        made = single(*args, dtype=dtype or config.floatX, **kwargs)
        return [as_variable(v) for v in made] if isinstance(made, list) else as_variable(made)
    make.__name__ = name
    make.__doc__ = single.__doc__.replace("dtype= (default float)", "config.floatX")
    return make


def _typed_constructor(name):
    single = getattr(_placeholders, name)

    def make(*args, **kwargs):
        made = single(*args, **kwargs)
        return [as_variable(v) for v in made] if isinstance(made, list) else as_variable(made)
    make.__name__ = name
    make.__doc__ = single.__doc__
    return make


for _name in _placeholders.CONSTRUCTORS:
    _unprefixed = _name in _placeholders.RANKS or _name in _placeholders.PLURALS.values()
    globals()[_name] = _float_constructor(_name) if _unprefixed else _typed_constructor(_name)


def _broadcast_constructor(name, dtype, shape):
    def make(name=None, dtype=dtype):
        return as_variable(_placeholders.tensor(dtype or config.floatX, shape, name))
    make.__name__ = name
    make.__doc__ = f"A placeholder of shape {shape} (None: unknown), Theano's {name}."
    return make


# Theano's row (1, n) and col (n, 1): matrices whose size-1 dim broadcasts.
for _kind, _shape in (("row", (1, None)), ("col", (None, 1))):
    for _prefix, _dtype in (("", None), ("d", "float64"), ("f", "float32"), ("i", "int32"),
                            ("l", "int64"), ("b", "int8")):
        globals()[_prefix + _kind] = _broadcast_constructor(_prefix + _kind, _dtype, _shape)


def tensor(dtype=None, shape=None, name=None, broadcastable=None):
    """A placeholder of ``dtype`` (default config.floatX) and ``shape``, or of Theano's
    ``broadcastable`` pattern (True: a dim of size 1, False: unknown), which may come second as
    in Theano's ``T.tensor('float64', (False, True))``."""
    if shape is not None and len(shape) and all(type(d) is bool for d in shape):
        shape, broadcastable = None, shape
    if shape is None and broadcastable is not None:
        shape = tuple(1 if b else None for b in broadcastable)
    return as_variable(_placeholders.tensor(dtype or config.floatX, shape, name))


def switch(condition, then, otherwise):
    """Theano's switch: any nonzero condition selects ``then`` (ganglion.where, like PyTorch's,
    takes only a bool condition)."""
    if not isinstance(condition, _gn.Tensor):
        condition = _gn.tensor(condition)
    if condition.dtype is not _gn.bool:
        condition = _gn.ne(condition, 0)
    return _gn.where(condition, then, otherwise)


def neq(a, b):
    return _gn.ne(a, b)


def eq(a, b):
    return _gn.eq(a, b)


class DisconnectedInputError(ValueError):
    """``T.grad`` of a cost that does not depend on a variable in ``wrt`` (Theano's name)."""


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The symbolic gradient: one tensor for one variable, a list for a list (Theano's rule).
    ``consider_constant``: variables treated as constants (no gradient goes through them, as
    the RBM tutorial's chain end); ``disconnected_inputs`` 'ignore' or 'warn' gives zeros for a
    variable the cost does not depend on, 'raise' (the default) an error."""
    from ganglion.compat.theano.tensor.basic import with_constants
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    if consider_constant:
        (cost,), rebuilt = with_constants([cost], list(consider_constant))
        wrt_list = [rebuilt.get(id(w), w) for w in wrt_list]
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"grad: disconnected_inputs must be 'raise', 'warn' or 'ignore', got "
                         f"{disconnected_inputs!r}")
    grads = _gn.grad(cost, wrt_list, allow_unused=True)
    missing = [k for k, g in enumerate(grads) if g is None]
    if missing and disconnected_inputs == "raise":
        names = ", ".join(f"{k} ({wrt_list[k].name or 'unnamed'})" for k in missing)
        raise DisconnectedInputError(
            f"grad: the cost does not depend on wrt variable(s) {names}; pass "
            "disconnected_inputs='ignore' (or 'warn') to get zero gradients for them")
    if missing and disconnected_inputs == "warn":
        warnings.warn("grad: the cost does not depend on some of the variables in wrt; their "
                      "gradients are zero", stacklevel=2)
    grads = [_gn.zeros_like(w) if g is None else g for g, w in zip(grads, wrt_list)]
    return grads[0] if single else grads


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return _gn.sum(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    """The mean; bool and integer tensors count as floatX (T.mean(T.eq(...)) is an accuracy)."""
    if not x.dtype.is_floating_point:
        x = x.astype(config.floatX)
    return _gn.mean(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return _gn.amax(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return _gn.amin(x, axis=axis, keepdims=keepdims)


def argmax(x, axis=None, keepdims=False):
    return _gn.argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return _gn.argmin(x, axis=axis, keepdims=keepdims)


def sqr(x):
    return x * x


def cast(x, dtype):
    return x.astype(dtype)


exp, log, log1p, sqrt, tanh, abs_ = _gn.exp, _gn.log, _gn.log1p, _gn.sqrt, _gn.tanh, _gn.abs
sin, cos, maximum, minimum, clip, pow = _gn.sin, _gn.cos, _gn.maximum, _gn.minimum, _gn.clip, _gn.pow
sgn, floor, ceil = _gn.sign, _gn.floor, _gn.ceil
erf, isnan, isinf, tile, diag = _gn.erf, _gn.isnan, _gn.isinf, _gn.tile, _gn.diag
tan, sinh, cosh, arcsin, arccos, arctan, expm1 = (
    _gn.tan, _gn.sinh, _gn.cosh, _gn.arcsin, _gn.arccos, _gn.arctan, _gn.expm1)


def round(a, mode=None):  # noqa: A001
    """Theano's round: ``mode`` 'half_to_even' (the default, as NumPy's; a warning says so
    unless config.warn.round is False) or 'half_away_from_zero'."""
    if mode is None:
        mode = "half_to_even"
        if config.warn.round:
            warnings.warn("theano.tensor.round() changed its default from `half_away_from_zero` "
                          "to `half_to_even` to have the same default as NumPy. Use the Theano "
                          "flag `warn.round=False` to disable this warning.", stacklevel=2)
    if mode == "half_to_even":
        return _gn.round(a)
    if mode == "half_away_from_zero":
        return _gn.sign(a) * _gn.floor(_gn.abs(a) + 0.5)
    raise ValueError(f"round: mode must be 'half_to_even' or 'half_away_from_zero', got {mode!r}")


def iround(a, mode=None):
    """round(a, mode) as int64."""
    return round(a, mode).astype("int64")


def __getattr__(name):
    # T.any and T.all, served without shadowing the builtins inside this module.
    if name in ("any", "all"):
        return getattr(_gn, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
concatenate, stack, reshape = _gn.concatenate, _gn.stack, _gn.reshape
lt, le, gt, ge = _gn.lt, _gn.le, _gn.gt, _gn.ge
abs = builtins.abs  # noqa: A001  (T.abs(x) and abs(x) both work: Tensor defines __abs__)


def arange(start, stop=None, step=1, dtype=None):
    """Theano's arange: int64 for integer arguments, config.floatX with a float one; a symbolic
    bound (``T.arange(y.shape[0])``) gives a symbolic range, computed when the function runs."""
    if dtype is None and any(isinstance(v, float) or isinstance(v, _gn.Tensor)
                             and v.dtype.is_floating_point for v in (start, stop, step)):
        dtype = config.floatX
    return _gn.arange(start, stop, step, dtype=dtype)


from ganglion.compat.theano.scan_module import hessian, jacobian  # noqa: E402,F401
