"""``DropoutMask``: dropout's random mask as an op of its own (``ganglion.nn.functional.dropout``
multiplies the input by it).

The mask is drawn from ganglion's global generator when the op runs: eager calls draw at once,
and a compiled symbolic function draws a fresh mask on every call, so ``ganglion.manual_seed``
makes masks reproducible.
"""
from ganglion.core import random
from ganglion.core.op import Op
from ganglion.core.tensor import TensorType

__all__ = ["DropoutMask"]


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
