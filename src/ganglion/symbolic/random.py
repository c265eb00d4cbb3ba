"""Random ops for symbolic graphs: each call of a compiled function draws fresh values.

A random op has no inputs and is marked ``nondeterministic``, so the compiler never folds it
into a constant nor merges two of them; one random node used twice gives the same draw in both
places within one call (as in Theano). Each op draws from the NumPy generator of its stream.
"""
from ganglion.core import dtypes
from ganglion.core.op import Op
from ganglion.core.tensor import TensorType, make_tensor

__all__ = ["RandomOp", "random_tensor"]


class RandomOp(Op):
    __slots__ = ("distribution", "shape", "params", "dtype", "generator")
    differentiable = False
    nondeterministic = True

    def __init__(self, distribution, shape, params, dtype, generator):
        self.distribution = distribution
        self.shape = shape
        self.params = params
        self.dtype = dtype
        self.generator = generator

    @property
    def name(self):
        return f"random_{self.distribution}"

    def forward(self, backend):
        draw = getattr(self.generator, self.distribution)
        return backend.xp.asarray(draw(*self.params, size=self.shape), dtype=self.dtype.np)

    def infer(self):
        return TensorType(self.dtype, self.shape)


def random_tensor(distribution, shape, params, dtype, generator):
    """A symbolic tensor drawn from ``generator.<distribution>(*params, size=shape)``."""
    shape = tuple(int(d) for d in shape)
    op = RandomOp(distribution, shape, tuple(params), dtypes.as_dtype(dtype), generator)
    out = make_tensor(None)
    out._type = op.infer()
    out._op = op
    out._inputs = ()
    return out
