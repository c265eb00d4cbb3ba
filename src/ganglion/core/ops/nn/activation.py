"""Activations that are one op each but have no function of their own in ``ganglion.core.ops``:
``Silu`` (x * sigmoid(x)) and ``Hardswish`` (x * relu6(x + 3) / 6), each one pass forward
instead of a chain of ops (``ganglion.nn.functional.activation`` applies them).
"""
from ganglion.core.ops.elementwise import ge, le, where
from ganglion.core.ops.unary import Unary, sigmoid

__all__ = ["Silu", "Hardswish"]


class Silu(Unary):
    """x * sigmoid(x), one pass forward; the vjp, sigmoid(x) * (1 + x * (1 - sigmoid(x))), is
    written with Tensor ops so that second derivatives follow."""
    __slots__ = ()
    returns_new_array = True

    def forward(self, backend, x):
        xp = backend.xp
        e = xp.exp(-xp.abs(x))  # never overflows; the two branches keep precision in both tails
        return (x * xp.where(x >= 0, 1 / (1 + e), e / (1 + e))).astype(x.dtype, copy=False)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        s = sigmoid(x)
        return (grad * (s * (1 + x * (1 - s))),)


class Hardswish(Unary):
    """x * relu6(x + 3) / 6 in one pass, with PyTorch's derivative: 0 up to -3, x / 3 + 0.5
    between, 1 from 3 on (the corners take the flat sides' values)."""
    __slots__ = ()
    returns_new_array = True

    def forward(self, backend, x):
        t = x.dtype.type
        return x * backend.xp.clip(x + t(3), t(0), t(6)) * t(1 / 6)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        inside = where(ge(x, 3.0), grad, grad * (x * (1 / 3) + 0.5))
        return (where(le(x, -3.0), 0.0, inside),)
