"""Theano's ``theano.gradient``: ``grad``, ``grad_clip``, ``disconnected_grad``, ``zero_grad``,
``Rop`` and ``Lop``.

Reference: Theano 1.0's ``theano/gradient.py``. ``grad_clip(x, lower, upper)`` is x in the
forward pass; in the backward pass the gradient reaching x is clipped to [lower, upper]
elementwise (the usual guard against exploding gradients in recurrent nets).
"""
from ganglion.core.op import Op, apply
from ganglion.compat.theano.tensor import Lop, Rop, grad

__all__ = ["grad", "grad_clip", "disconnected_grad", "zero_grad", "Rop", "Lop", "GradClip"]


class GradClip(Op):
    """Identity forward; the gradient clipped to [lower, upper] backward."""

    __slots__ = ("lower", "upper")
    saves_inputs = False

    def __init__(self, lower, upper):
        self.lower = lower
        self.upper = upper

    @property
    def name(self):
        return "grad_clip"

    def forward(self, backend, x):
        return x

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.elementwise import clamp
        return (clamp(grad, self.lower, self.upper),)

    def infer(self, x):
        return x


def grad_clip(x, lower_bound, upper_bound):
    """x, whose gradient is clipped to [lower_bound, upper_bound] on its way back."""
    lower, upper = float(lower_bound), float(upper_bound)
    if lower > upper:
        raise ValueError(f"grad_clip: lower_bound {lower_bound} is above upper_bound {upper_bound}")
    return apply(GradClip(lower, upper), x)


def disconnected_grad(x):
    """x, through which no gradient goes (the cost's gradient with respect to what x is computed
    from leaves x out)."""
    return x.detach()


zero_grad = disconnected_grad
