"""Writing at indices, and reading by index or mask (issue 13): scatter (a src tensor or a
value, ``reduce=`` optional), index_add, index_copy, index_fill, take, masked_select, argwhere.

Every index is range-checked with ``check_index_range`` before anything is computed, so an
index out of range raises ``IndexRangeError`` (PyTorch's IndexError or RuntimeError) naming the
op, the value and the valid range, and a failed call changes nothing. Index ops along a dim
reuse indexing.py's ops (``GetItem``, ``IndexAdd``, ``IndexPut``, ``Gather``) and so their
gradients too.
"""
from ganglion.core.dtypes import bool_, result_type
from ganglion.core.errors import ArgumentError, DTypeError, ShapeError
from ganglion.core.op import Op, apply, broadcast_shapes, format_shape, normalize_axes
from ganglion.core.ops.elementwise import cast, constant
from ganglion.core.ops.indexing import (Gather, GetItem, IndexAdd, IndexPut, Slot,
                                        check_index_range, nonzero)
from ganglion.core.ops.shape import expand, flatten, pad, reshape
from ganglion.core.tensor import Tensor, TensorType

__all__ = ["scatter", "index_add", "index_copy", "index_fill", "take", "masked_select",
           "argwhere", "scatter_reduce"]


def _tensor(name, x, what="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor as {what}, got {type(x).__name__}")
    return x


def _index(name, index):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}: index must be a tensor of int64, got {type(index).__name__}")
    if index.dtype.category != 1:
        raise DTypeError(f"{name}: index must be an integer tensor, got {index.dtype}")
    return index


def _check(name, index, size, axis):
    """The range check, when the index holds values (a symbolic one is checked by the op)."""
    if index._data is not None:
        check_index_range(name, index._data, size, axis)


# ----- scatter -------------------------------------------------------------------------------

class Scatter(Op):
    """A copy of x with src's entries written at ``index`` along ``axis`` (PyTorch's scatter):
    out[i][index[i][j]] = src[i][j] for axis 1. ``reduce`` 'add' or 'multiply' combines instead
    of overwriting (its backward raises, as PyTorch's does)."""
    __slots__ = ("axis", "reduce")
    saves_inputs = False

    def __init__(self, axis, reduce=None):
        self.axis = axis
        self.reduce = reduce

    def forward(self, backend, x, index, src):
        xp = backend.xp
        check_index_range("scatter", index, x.shape[self.axis], self.axis)
        out = x.copy()
        src = xp.broadcast_to(src, index.shape) if src.ndim == 0 else \
            src[tuple(slice(0, i) for i in index.shape)]
        # PyTorch lets the index be smaller than x in every dim: write into x's leading block.
        view = out[tuple(slice(None) if k == self.axis else slice(0, i)
                         for k, i in enumerate(index.shape))]
        if self.reduce is None:
            xp.put_along_axis(view, index, src, self.axis)
        else:
            grids = list(xp.indices(index.shape, sparse=True))
            grids[self.axis] = index
            ufunc = xp.add if self.reduce == "add" else xp.multiply
            ufunc.at(view, tuple(grids), src)
        return out

    def vjp(self, out, grad, needs):
        if self.reduce is not None:
            raise RuntimeError(f"scatter: the derivative for reduce={self.reduce!r} is not "
                               "implemented (as in PyTorch); scatter_add and index_add are "
                               "differentiable")
        x, index, src = out._inputs
        gx = gsrc = None
        if needs[0]:
            # The written entries came from src: x's gradient is zero there.
            gx = apply(Scatter(self.axis), grad, index, constant(0, grad.dtype))
        if needs[2]:
            gsrc = apply(Gather(self.axis), grad, index)
            if src.ndim and tuple(gsrc.shape) != tuple(src.shape):
                gsrc = pad(gsrc, tuple((0, s - i) for s, i in zip(src.shape, index.shape)))
            elif not src.ndim:
                gsrc = gsrc.sum()
        return gx, None, gsrc

    def infer(self, x, index, src):
        if len(index.shape) != len(x.shape) or (src.shape and len(src.shape) != len(x.shape)):
            raise ShapeError(f"scatter: index {format_shape(index.shape)} and src "
                             f"{format_shape(src.shape)} must have as many dimensions as the "
                             f"input {format_shape(x.shape)}")
        return TensorType(x.dtype, x.shape)


_REDUCTIONS = (None, "add", "multiply")


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with ``src`` (a tensor) or ``value`` (a number) written at
    ``index`` along ``dim``. ``index`` may be smaller than ``input`` and ``src`` in every dim.
    Where an index repeats, which write wins is unspecified (as in PyTorch)."""
    x = _tensor("scatter", input)
    if src is None and value is None:
        raise TypeError("scatter: expected src (a tensor) or value (a number)")
    if reduce not in _REDUCTIONS:
        raise ArgumentError(f"scatter: reduce argument must be either 'add' or 'multiply', got "
                            f"{reduce!r}")
    index = _index("scatter", index)
    axis = normalize_axes("scatter", dim, x.ndim)[0] if x.ndim else 0
    if src is None or not isinstance(src, Tensor):
        src = constant(value if src is None else src, x.dtype)
    elif src.dtype is not x.dtype:
        raise DTypeError(f"scatter: expected self.dtype to be equal to src.dtype, got {x.dtype} "
                         f"and {src.dtype}")
    if index.ndim != x.ndim or (src.ndim and src.ndim != x.ndim):
        raise ShapeError(f"scatter: index {format_shape(index.shape)} and src "
                         f"{format_shape(src.shape)} must have as many dimensions as the input "
                         f"{format_shape(x.shape)}")
    x_shape, src_shape = x.tensor_type.shape, src.tensor_type.shape
    for k, i in enumerate(index.tensor_type.shape):
        if i is None:
            continue  # symbolic: NumPy checks the sizes when the values come
        if (k != axis and x_shape[k] is not None and i > x_shape[k]) \
                or (src.ndim and src_shape[k] is not None and i > src_shape[k]):
            raise ShapeError(f"scatter: index {format_shape(index.shape)} is larger than the "
                             f"input {format_shape(x.shape)} or src {format_shape(src.shape)} in "
                             f"dimension {k} (it may only be larger than the input along dim "
                             f"{axis})")
    # Scatter.forward checks the index range (also for a symbolic index).
    return apply(Scatter(axis, reduce), x, index, src)


def scatter_reduce(input, dim, index, src, reduce, include_self=True):
    """scatter with reduce 'sum' or 'prod' (the rest of PyTorch's reductions are not
    implemented)."""
    names = {"sum": "add", "prod": "multiply"}
    if reduce not in names or not include_self:
        raise NotImplementedError(f"scatter_reduce: only reduce='sum' or 'prod' with "
                                  f"include_self=True is implemented, got reduce={reduce!r}, "
                                  f"include_self={include_self}")
    if reduce == "sum":
        from ganglion.core.ops.indexing import scatter_add
        return scatter_add(input, dim, index, src)
    return scatter(input, dim, index, src, reduce=names[reduce])


# ----- index_add / index_copy / index_fill -----------------------------------------------------

def _along(name, x, dim, index, source=None):
    """(axis, index as 1-D, the GetItem spec that reads x along it), with the checks shared by
    index_add and index_copy: a 1-D (or 0-d) integer index in [0, size), and a source with x's
    shape except ``len(index)`` along ``dim``. ``x`` has at least one dim."""
    index = _index(name, index)
    if index.ndim > 1:
        raise ShapeError(f"{name}: index should have dimension 1 or 0 (got shape "
                         f"{format_shape(index.shape)})")
    if index.ndim == 0:
        index = reshape(index, (1,))
    axis = normalize_axes(name, dim, x.ndim)[0]
    _check(name, index, x.shape[axis], axis)
    _tensor(name, source, "source")
    expected = tuple(x.shape[:axis]) + (index.shape[0],) + tuple(x.shape[axis + 1:])
    if tuple(source.shape) != expected:
        raise ShapeError(f"{name}: source tensor shape must match self tensor shape, excluding "
                         f"the specified dimension: self {format_shape(x.shape)}, source "
                         f"{format_shape(source.shape)}, index of {index.shape[0]} entries "
                         f"along dim {axis} (expected source {format_shape(expected)})")
    return axis, index, (slice(None),) * axis + (Slot(0),)


def _as_1d(fn, name, x, dim, index, source, **options):
    """``fn`` on a 0-d ``x`` and ``source`` seen as 1-D (PyTorch treats them so), back to 0-d."""
    normalize_axes(name, dim, 0)
    source = reshape(_tensor(name, source, "source"), (-1,))
    return reshape(fn(reshape(x, (1,)), 0, index, source, **options), ())


def index_add(input, dim, index, source, *, alpha=1):
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``
    (repeated indices accumulate)."""
    x = _tensor("index_add", input)
    if x.ndim == 0:
        return _as_1d(index_add, "index_add", x, dim, index, source, alpha=alpha)
    axis, index, spec = _along("index_add", x, dim, index, source)
    if source.dtype is not x.dtype:
        source = cast(source, x.dtype)
    values = source if alpha == 1 else source * alpha
    return x + apply(IndexAdd(spec), values, x, index)


def index_copy(input, dim, index, source):
    """A copy of ``input`` with ``source``'s slices written at ``index`` along ``dim``."""
    x = _tensor("index_copy", input)
    if isinstance(source, Tensor) and source.dtype is not x.dtype:
        raise DTypeError(f"index_copy: self ({x.dtype}) and source ({source.dtype}) must have "
                         "the same dtype")
    if x.ndim == 0:
        return _as_1d(index_copy, "index_copy", x, dim, index, source)
    axis, index, spec = _along("index_copy", x, dim, index, source)
    return apply(IndexPut(spec), x, source, index)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with ``value`` written in the slices at ``index`` along ``dim``.
    Unlike index_copy, negative indices count from the end here, as in PyTorch."""
    x = _tensor("index_fill", input)
    index = _index("index_fill", index)
    axis = normalize_axes("index_fill", dim, x.ndim)[0] if x.ndim else 0
    size = x.shape[axis] if x.ndim else 1
    if index._data is not None:
        check_index_range("index_fill", index._data, size, axis, allow_negative=True)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"index_fill: only supports a 0-dimensional value tensor, but got "
                             f"one of shape {format_shape(value.shape)}")
        value = cast(value, x.dtype)
    else:
        value = constant(value, x.dtype)
    if x.ndim == 0:
        return reshape(value, ()) if index.numel() else x
    if index.ndim == 0:
        index = reshape(index, (1,))
    spec = (slice(None),) * axis + (Slot(0),)
    return apply(IndexPut(spec), x, value, index)


# ----- take / masked_select / argwhere -----------------------------------------------------------

def take(input, index):
    """``input`` read as 1-D at ``index`` (negative indices count from the end); the result has
    the index's shape."""
    x = _tensor("take", input)
    index = _index("take", index)
    n = x.numel()
    if index._data is not None and index._data.size and (index._data.min() < -n
                                                         or index._data.max() >= n):
        bad = index._data.min() if index._data.min() < -n else index._data.max()
        from ganglion.core.errors import IndexRangeError
        raise IndexRangeError(f"take: out of range: tried to access index {int(bad)} on a tensor "
                              f"of {n} elements (indices must be in [{-n}, {n}))")
    return apply(GetItem((Slot(0),)), flatten(x), index)


def masked_select(input, mask):
    """The entries of ``input`` where the bool ``mask`` holds (both broadcast), as 1-D."""
    x = _tensor("masked_select", input)
    if not isinstance(mask, Tensor) or mask.dtype is not bool_:
        what = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise DTypeError(f"masked_select: expected BoolTensor for mask, got {what}")
    shape = broadcast_shapes("masked_select", tuple(x.shape), tuple(mask.shape))
    if tuple(x.shape) != shape:
        x = expand(x, shape)
    if tuple(mask.shape) != shape:
        mask = expand(mask, shape)
    return apply(GetItem((Slot(0),)), x, mask)


def argwhere(input):
    """The indices of the non-zero entries, one row per entry: an (n, ndim) int64 tensor."""
    return nonzero(_tensor("argwhere", input))
