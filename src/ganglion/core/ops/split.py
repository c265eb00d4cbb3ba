"""split and chunk with PyTorch's semantics, as views (slices) of the input."""
from ganglion.core.op import normalize_axes
from ganglion.core.ops.indexing import slice_along

__all__ = ["split", "chunk"]


def split(x, split_size_or_sections, dim=0, axis=None):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed sizes."""
    axis = normalize_axes("split", axis if axis is not None else dim, x.ndim)[0]
    length = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length:
            raise ValueError(f"split: sections {sizes} add up to {sum(sizes)}, but dimension {axis} "
                             f"has size {length}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(slice_along(x, axis, start, start + size))
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """``chunks`` pieces of equal size along ``dim`` (the last may be smaller), as PyTorch's chunk."""
    if chunks <= 0:
        raise ValueError(f"chunk: the number of chunks must be positive, got {chunks}")
    axis = normalize_axes("chunk", dim, x.ndim)[0]
    length = x.shape[axis]
    if length == 0:
        # PyTorch gives ``chunks`` empty pieces here.
        return split(x, [0] * chunks, axis)
    return split(x, -(-length // chunks), axis)
