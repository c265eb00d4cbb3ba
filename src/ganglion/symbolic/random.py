"""Random tensors for symbolic graphs: each call of a compiled function draws fresh values.

A random op reads no tensor but its symbolic sizes (``size=x.shape``, ``(x.shape[0], 10)``: the
draw's shape is known only when the function runs) and is marked ``nondeterministic``, so the
compiler never folds it into a constant nor merges two of them; one random node used twice gives
the same draw in both places within one call (as in Theano). Each op draws from the NumPy
generator of its stream (``core/ops/dynamic_shape.RandomDraw``).
"""
from ganglion.core.ops.dynamic_shape import RandomDraw, random_draw

__all__ = ["RandomDraw", "random_tensor"]


def random_tensor(distribution, shape, params, dtype, generator):
    """A symbolic tensor drawn from ``generator.<distribution>(*params, size=shape)``; ``shape``
    holds ints and symbolic integer scalars (a symbolic tensor's ``shape`` is one)."""
    if isinstance(shape, int) or getattr(shape, "ndim", None) == 0:
        shape = (shape,)
    return random_draw(f"random {distribution}", distribution, tuple(shape), params, dtype,
                       generator)
