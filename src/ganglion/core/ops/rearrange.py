"""Rearranging entries under PyTorch's names (issue 13): t, narrow, roll, rot90 and meshgrid.

narrow is a slice, rot90 a flip and a transpose, meshgrid reshapes and expands, so their
gradients come from those ops; roll is one op whose vjp rolls the gradient back.
"""
from ganglion.core.errors import ArgumentError, ShapeError
from ganglion.core.op import Op, apply, format_shape, normalize_axes
from ganglion.core.ops.indexing import slice_along
from ganglion.core.ops.shape import expand, flatten, flip, reshape, transpose
from ganglion.core.tensor import Tensor, TensorType

__all__ = ["t", "narrow", "roll", "rot90", "meshgrid"]


def _tensor(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor as input, got {type(x).__name__}")
    return x


def _int(name, what, value):
    if isinstance(value, Tensor) and value._data is not None and value.ndim == 0 \
            and value.dtype.category == 1:
        return int(value)
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{name}: {what} must be an integer, got {value!r} of type "
                        f"{type(value).__name__}")
    return int(value)


def t(input):
    """The transpose of a matrix; 0-d and 1-D tensors come back as they are."""
    x = _tensor("t", input)
    if x.ndim > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D "
                         f"(shape {format_shape(x.shape)}); use transpose(dim0, dim1) or mT")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def narrow(input, dim, start, length):
    """``length`` entries of ``input`` from ``start`` along ``dim`` (start may be negative,
    counted from the end)."""
    x = _tensor("narrow", input)
    if x.ndim == 0:
        raise ShapeError("narrow() cannot be applied to a 0-dim tensor.")
    axis = normalize_axes("narrow", dim, x.ndim)[0]
    start, length = _int("narrow", "start", start), _int("narrow", "length", length)
    size = x.tensor_type.shape[axis]
    if size is None:  # a symbolic dim of unknown size: the slice itself is all that can be done
        if start < 0 or length < 0:
            raise ArgumentError(f"narrow: start and length must be non-negative on a dim of "
                                f"unknown size, got start={start}, length={length}")
        return slice_along(x, axis, start, start + length)
    if not -size <= start <= size:
        raise IndexError(f"narrow: start out of range (expected to be in range of [{-size}, "
                         f"{size}], but got {start}) for dimension {axis} of size {size}")
    if start < 0:
        start += size
    if length < 0:
        raise ArgumentError(f"narrow(): length must be non-negative, got {length}")
    if start + length > size:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                         f"({size}) of dimension {axis}")
    return slice_along(x, axis, start, start + length)


class Roll(Op):
    __slots__ = ("shifts", "axes")
    saves_inputs = False

    def __init__(self, shifts, axes):
        self.shifts = shifts
        self.axes = axes

    def forward(self, backend, x):
        return backend.xp.roll(x, self.shifts, self.axes)

    def vjp(self, out, grad, needs):
        return (apply(Roll(tuple(-s for s in self.shifts), self.axes), grad),)

    def infer(self, x):
        return TensorType(x.dtype, x.shape)


def _ints(name, what, values):
    if isinstance(values, (tuple, list)):
        return tuple(_int(name, what, v) for v in values)
    return (_int(name, what, values),)


def roll(input, shifts, dims=None):
    """Entries shifted ``shifts`` places along ``dims``, wrapping around; without ``dims``,
    along the flattened tensor (the shape is kept)."""
    x = _tensor("roll", input)
    shifts = _ints("roll", "shifts", shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ShapeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, "
                             "dims: 0 (without dims, give one shift)")
        return reshape(apply(Roll(shifts, (0,)), flatten(x)), tuple(x.shape))
    dims = _ints("roll", "dims", dims)
    if len(shifts) != len(dims):
        raise ShapeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims: "
                         f"{len(dims)}")
    axes = tuple(normalize_axes("roll", d, x.ndim)[0] for d in dims)
    return apply(Roll(shifts, axes), x)


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim toward
    the second (as PyTorch and NumPy)."""
    x = _tensor("rot90", input)
    dims = _ints("rot90", "dims", dims)
    if len(dims) != 2:
        raise ShapeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if x.ndim < 2:
        raise ShapeError(f"rot90: expected total dims >= 2, but got total dims = {x.ndim}")
    a, b = (normalize_axes("rot90", d, x.ndim)[0] for d in dims)
    if a == b:
        raise ShapeError(f"rot90: expected rotation dims to be different, but got dim0 = {a} "
                         f"and dim1 = {b}")
    k = _int("rot90", "k", k) % 4
    if k == 0:
        return x
    if k == 2:
        return flip(x, (a, b))
    if k == 1:
        return transpose(flip(x, b), a, b)
    return flip(transpose(x, a, b), b)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-D tensors: with ``indexing='ij'`` (PyTorch's default) the i-th
    result varies along dim i; with 'xy' the first two dims are swapped (NumPy's default)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"meshgrid: indexing must be one of 'xy' or 'ij', but received: "
                            f"{indexing!r}")
    if not tensors:
        raise ShapeError("meshgrid: expects a non-empty TensorList")
    for i, x in enumerate(tensors):
        _tensor("meshgrid", x)
        if x.ndim > 1:
            raise ShapeError(f"meshgrid: expects 0D or 1D tensors, but tensor {i} has shape "
                             f"{format_shape(x.shape)}")
        if x.dtype is not tensors[0].dtype:
            raise TypeError(f"meshgrid: expects all tensors to have the same dtype, got "
                            f"{tensors[0].dtype} and {x.dtype}")
    sizes = [x.numel() for x in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, x in enumerate(tensors):
        axis = {0: 1, 1: 0}.get(i, i) if swap else i
        shape = [1] * len(tensors)
        shape[axis] = sizes[axis]
        grids.append(expand(reshape(x, tuple(shape)), tuple(sizes)))
    return tuple(grids)
