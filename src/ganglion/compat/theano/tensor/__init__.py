"""Theano's ``theano.tensor`` (``T``) on ganglion: typed placeholders and the math functions,
under Theano's names and signatures (``T.switch``, ``T.neq``, ``T.dot``, ``T.grad`` ...)."""
import builtins

import ganglion as _gn
from ganglion.symbolic import placeholders as _placeholders
from ganglion.compat.theano.tensor import nnet, shared_randomstreams  # noqa: F401


class _Config:
    """``theano.config``: ``floatX`` is the dtype of placeholders made without a prefix."""

    def __init__(self):
        self.floatX = "float64"


config = _Config()


def _float_constructor(name):
    single = getattr(_placeholders, name)

    def make(*args, dtype=None, **kwargs):
        return single(*args, dtype=dtype or config.floatX, **kwargs)
    make.__name__ = name
    make.__doc__ = single.__doc__.replace("dtype= (default float)", "config.floatX")
    return make


for _name in _placeholders.CONSTRUCTORS:
    _unprefixed = _name in _placeholders.RANKS or _name in _placeholders.PLURALS.values()
    globals()[_name] = _float_constructor(_name) if _unprefixed else getattr(_placeholders, _name)


def tensor(dtype=None, shape=None, name=None):
    return _placeholders.tensor(dtype or config.floatX, shape, name)


def dot(a, b):
    return _gn.dot(a, b)


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


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The symbolic gradient: one tensor for one variable, a list for a list (Theano's rule)."""
    single = not isinstance(wrt, (list, tuple))
    allow = disconnected_inputs != "raise"
    grads = _gn.grad(cost, [wrt] if single else list(wrt), allow_unused=allow)
    return grads[0] if single else list(grads)


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
sgn, floor, ceil, round = _gn.sign, _gn.floor, _gn.ceil, _gn.round  # noqa: A001
concatenate, stack, reshape, flatten = _gn.concatenate, _gn.stack, _gn.reshape, _gn.flatten
lt, le, gt, ge = _gn.lt, _gn.le, _gn.gt, _gn.ge
zeros_like, ones_like = _gn.zeros_like, _gn.ones_like
abs = builtins.abs  # noqa: A001  (T.abs(x) and abs(x) both work: Tensor defines __abs__)
