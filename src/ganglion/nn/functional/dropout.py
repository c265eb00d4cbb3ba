"""Dropout: inverted dropout (kept values are scaled by 1 / (1 - p) in training, so evaluation
is the identity), elementwise or by whole channels (dropout2d).

The mask is an op of its own, drawn from ganglion's global generator when the op runs: eager
calls draw at once, and a compiled symbolic function draws a fresh mask on every call.
``ganglion.manual_seed`` therefore makes masks reproducible. The output is ``input * mask``,
so the gradient is the incoming gradient times the same mask.
"""
from ganglion.core import random
from ganglion.core.op import Op, ShapeError, apply, format_shape
from ganglion.core.ops.unary import to_float
from ganglion.core.tensor import TensorType

__all__ = ["dropout", "dropout2d"]


class DropoutMask(Op):
    """A mask shaped like the input, except for size-1 ``shared_axes`` (a channel's pixels share
    one draw): 0 with probability p, else 1 / (1 - p)."""
    __slots__ = ("p", "shared_axes")
    differentiable = False
    saves_inputs = False
    nondeterministic = True  # never merged with another mask, never folded to a constant

    def __init__(self, p, shared_axes):
        self.p = p
        self.shared_axes = shared_axes

    @property
    def name(self):
        return "dropout"

    def _mask_shape(self, shape):
        return tuple(1 if axis in self.shared_axes else d for axis, d in enumerate(shape))

    def forward(self, backend, x):
        shape = self._mask_shape(x.shape)
        xp = backend.xp
        # The generator draws float32 or float64 only; float32 halves the cost of the draw.
        draw_dtype = xp.float32 if x.dtype == xp.float32 else xp.float64
        keep = random.generator().random(shape, dtype=draw_dtype) >= self.p
        return keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))

    def infer(self, x):
        return TensorType(x.dtype, self._mask_shape(x.shape))


def check_probability(p, who):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input, p, shared_axes):
    if p == 1.0:
        return input * 0.0
    return input * apply(DropoutMask(float(p), shared_axes), input)


def dropout(input, p=0.5, training=True, inplace=False, who="dropout"):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) when
    ``training``; the identity otherwise. ``inplace`` is accepted for PyTorch's signature."""
    check_probability(p, who)
    if not training or p == 0.0:
        return input
    return _dropout(to_float(input), p, ())


def dropout2d(input, p=0.5, training=True, inplace=False, who="dropout2d"):
    """Zero whole channels of (N, C, H, W) input (or (C, H, W)) with probability ``p``, scaling
    the rest by 1 / (1 - p). Neighbouring pixels are correlated, so zeroing single pixels would
    regularize little."""
    check_probability(p, who)
    if input.ndim not in (3, 4):
        raise ShapeError(f"{who}: expected input of shape (N, C, H, W) or (C, H, W), got "
                         f"{format_shape(input.shape)}")
    if not training or p == 0.0:
        return input
    return _dropout(to_float(input), p, (input.ndim - 2, input.ndim - 1))
