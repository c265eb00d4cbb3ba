"""split and chunk with PyTorch's semantics, as views (slices) of the input.

Bad sizes raise ShapeError (a RuntimeError, as PyTorch raises, and a ValueError), naming the op,
the sizes and the dimension's length."""
from ganglion.core.op import ShapeError, format_shape, normalize_axes
from ganglion.core.ops.indexing import slice_along

__all__ = ["split", "chunk"]


def split(x, split_size_or_sections, dim=0, axis=None):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes."""
    axis = normalize_axes("split", axis if axis is not None else dim, x.ndim)[0]
    length = x.shape[axis]
    if hasattr(type(split_size_or_sections), "__index__"):
        size = split_size_or_sections.__index__()
        if size < 0 or size == 0 and length:
            raise ShapeError(f"split: split_size must be positive (0 only for a dimension of size "
                             f"0), got {size} for dimension {axis} of size {length} (input shape "
                             f"{format_shape(x.shape)})")
        sizes = [min(size, length - start) for start in range(0, length, size)] if size else [0]
        sizes = sizes or [0]
    elif isinstance(split_size_or_sections, (tuple, list)):
        sizes = [int(s) for s in split_size_or_sections]
        if sizes and min(sizes) < 0:
            raise ShapeError(f"split: sections must not be negative, got {sizes}")
        if sum(sizes) != length:
            raise ShapeError(f"split: sections {sizes} add up to {sum(sizes)}, but dimension {axis} "
                             f"has size {length}")
    else:
        raise TypeError(f"split: split_size_or_sections must be an integer or a list of integers, "
                        f"got {split_size_or_sections!r}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(slice_along(x, axis, start, start + size))
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """``chunks`` pieces of equal size along ``dim`` (the last may be smaller), as PyTorch's chunk."""
    if not hasattr(type(chunks), "__index__"):
        raise TypeError(f"chunk: the number of chunks must be an integer, got {chunks!r}")
    if chunks <= 0:
        raise ShapeError(f"chunk: the number of chunks must be positive, got {chunks}")
    axis = normalize_axes("chunk", dim, x.ndim)[0]
    length = x.shape[axis]
    if length == 0:
        # PyTorch gives ``chunks`` empty pieces here.
        return split(x, [0] * chunks, axis)
    return split(x, -(-length // chunks), axis)
