"""softmax and log_softmax along an axis, computed stably (the row maximum is subtracted first).

Their vjps use the outputs: softmax' g = y * (g - sum(g * y)), log_softmax' g = g - exp(y) * sum(g).
"""
from ganglion.core.op import Op, apply, normalize_axes
from ganglion.core.ops.unary import to_float
from ganglion.core.tensor import TensorType

__all__ = ["softmax", "log_softmax"]


class Softmax(Op):
    __slots__ = ("axis",)
    returns_new_array = True
    saves_inputs = False
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, backend, x):
        xp = backend.xp
        if x.size == 0:
            return xp.empty_like(x)  # an empty result (max has no identity over an empty axis)
        # asarray: on a 0-d input NumPy's arithmetic gives a scalar, which cannot be an out=.
        shifted = xp.asarray(x - x.max(axis=self.axis, keepdims=True))
        e = xp.exp(shifted, out=shifted)
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def vjp(self, out, grad, needs):
        gy = grad * out
        return (gy - out * gy.sum(axis=self.axis, keepdims=True),)

    def infer(self, x):
        normalize_axes("softmax", self.axis, len(x.shape))
        return TensorType(x.dtype, x.shape)


class LogSoftmax(Softmax):
    __slots__ = ()

    def forward(self, backend, x):
        xp = backend.xp
        if x.size == 0:
            return xp.empty_like(x)
        shifted = xp.asarray(x - x.max(axis=self.axis, keepdims=True))
        total = xp.exp(shifted).sum(axis=self.axis, keepdims=True)
        shifted -= xp.log(total)
        return shifted

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.unary import exp
        return (grad - exp(out) * grad.sum(axis=self.axis, keepdims=True),)


def _axis(name, x, axis, dim):
    """The axis as a non-negative int; None (the one element) for a 0-d tensor."""
    axis = dim if dim is not None else axis
    if axis is None:
        axis = -1
    axis = normalize_axes(name, axis, x.ndim)[0]
    return axis if x.ndim else None


def softmax(x, axis=None, dim=None):
    """exp(x) / sum(exp(x)) along ``axis`` (default: the last)."""
    x = to_float(x)
    return apply(Softmax(_axis("softmax", x, axis, dim)), x)


def log_softmax(x, axis=None, dim=None):
    """log(softmax(x)) along ``axis`` (default: the last), without overflow or log(0)."""
    x = to_float(x)
    return apply(LogSoftmax(_axis("log_softmax", x, axis, dim)), x)
