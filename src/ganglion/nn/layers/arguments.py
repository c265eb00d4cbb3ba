"""Checks of layer constructor arguments: sizes, kernel sizes, strides, paddings, dilations.

A wrong argument is refused when the layer is built, not at its first forward call (or, for a
negative size, deep inside an array allocation), with the layer's name, the argument's name, the
value and what it must be: ``Linear(-1, 3): in_features must be non-negative, got -1``.
A value that is not an integer raises TypeError; one out of range raises ``ArgumentError``, a
RuntimeError as PyTorch raises for these (at construction or at the first forward call) and a
ValueError as NumPy raises.
"""
from ganglion.core.errors import ArgumentError
from ganglion.core.op import as_integer

__all__ = ["count", "sizes", "padding_sizes"]


def count(layer, what, value, minimum=0):
    """An integer argument of at least ``minimum`` (a feature or channel count, a kernel size)."""
    value = as_integer(layer, f"{what} must be an integer", value)
    if value < minimum:
        expected = "non-negative" if minimum == 0 else "positive" if minimum == 1 else f">= {minimum}"
        raise ArgumentError(f"{layer}: {what} must be {expected}, got {value}")
    return value


def sizes(layer, what, value, n, minimum):
    """An int or a sequence of ``n`` ints, each at least ``minimum``, as an ``n``-tuple."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise ValueError(f"{layer}: {what} must be an integer or a tuple of {n} integers, got "
                             f"{tuple(value)!r}")
        values = tuple(value)
    else:
        values = (value,) * n
    try:
        return tuple(count(layer, what, v, minimum) for v in values)
    except ArgumentError:
        raise ArgumentError(f"{layer}: {what} must be {'non-negative' if minimum == 0 else 'positive'}"
                            f", got {value!r}") from None


def padding_sizes(layer, padding, kernel_size, n):
    """A pooling layer's padding: non-negative and at most half the kernel size (rounded
    down), as PyTorch requires, so that no window lies wholly in the padding."""
    padding = sizes(layer, "padding", padding, n, 0)
    if any(p > k // 2 for p, k in zip(padding, kernel_size)):
        raise ArgumentError(f"{layer}: padding should be at most half of the kernel size, got "
                            f"padding={padding} and kernel_size={kernel_size}")
    return padding
