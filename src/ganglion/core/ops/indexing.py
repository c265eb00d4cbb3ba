"""Indexing: ``x[index]``, ``x[index] = v``, gather / scatter_add along an axis, index_select,
one_hot and nonzero.

An index may mix ints, slices, None, Ellipsis and integer or boolean arrays, as in NumPy. Array
parts of the index become inputs of the op (``Slot`` marks their place in the index), so that in
symbolic mode an index can itself be a placeholder, e.g. ``logp[arange(n), y]`` for labels ``y``.
Gradients scatter back with accumulation, so repeated indices add up.

Index bounds follow PyTorch: ``x[idx]`` and ``x[idx] = v`` accept negative indices in [-n, n)
(as NumPy does); embedding, index_select, gather, scatter_add and one_hot accept only [0, n),
where NumPy would silently wrap a negative index around. Range checks look at the index array's
min and max only (vectorised), and out-of-range errors name the op, the bad value, the size of
the dimension and the valid range.
"""
import re

from ganglion.core.dtypes import bool_, int64
from ganglion.core.errors import DTypeError, IndexRangeError
from ganglion.core.op import (Op, ShapeError, apply, broadcast_shapes, format_shape,
                              normalize_axes, refuse_non_tensor)
from ganglion.core.ops.shape import expand, flatten, pad
from ganglion.core.tensor import Tensor, TensorType
from ganglion.core.versions import bump_storage

__all__ = ["getitem", "setitem_", "gather", "scatter_add", "index_select", "one_hot", "nonzero",
           "slice_along", "take_along_axis",
           "check_index_range", "restate_index_error"]


def check_index_range(op_name, index, size, axis, allow_negative=False, what=None, noun="index"):
    """Raise IndexRangeError unless every value of the array ``index`` is in [0, size) (or
    [-size, size) with ``allow_negative``). Only the min and max are looked at. ``what``
    describes the dimension in the message (default: "dimension {axis} of size {size}")."""
    if not index.size:
        return
    low, high = index.min(), index.max()
    lowest = -size if allow_negative else 0
    if low < lowest or high >= size:
        bad = low if low < lowest else high
        what = what or f"dimension {axis} of size {size}"
        plural = "indices" if noun == "index" else noun + "s"
        raise IndexRangeError(f"{op_name}: {noun} {bad} is out of range for {what} ({plural} must "
                              f"be in [{lowest}, {size}))")


_OUT_OF_BOUNDS = re.compile(r"index (-?\d+) is out of bounds for axis (\d+) with size (\d+)")


def restate_index_error(op_name, error, shape):
    """NumPy's IndexError from x[index] restated for ganglion users: the op, the tensor's shape
    and, for an index out of bounds, the valid range."""
    message = str(error)
    found = _OUT_OF_BOUNDS.search(message)
    if not found:
        return IndexError(f"{op_name}: {message} (indexing a tensor of shape {format_shape(shape)})")
    value, axis, size = found.groups()
    return IndexRangeError(f"{op_name}: index {value} is out of range for dimension {axis} of size "
                           f"{size} in a tensor of shape {format_shape(shape)} (indices must be "
                           f"in [-{size}, {size}))")


def _assignment_shape_error(shape, region, value_shape):
    return ShapeError(f"setitem: cannot assign a value of shape {format_shape(value_shape)} to "
                      f"x[index], a region of shape {format_shape(region)} (x has shape "
                      f"{format_shape(shape)}); the value's shape must broadcast to the region's")

# Stand-ins for unknown (None) dims when working out symbolic result shapes with NumPy itself:
# two different primes, so that a result dim computed from an unknown one (x[1:] is n - 1, x[::2]
# is ceil(n / 2)) differs between the two and is marked unknown.
_UNKNOWN_SIZES = (7919, 7937)


class Slot:
    """The place of the k-th index array in an index spec."""
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return isinstance(other, Slot) and other.k == self.k

    def __hash__(self):
        return hash(("slot", self.k))

    def __repr__(self):
        return f"Slot({self.k})"


def _split_index(index):
    """A user index as (spec, index tensors): arrays are lifted out as op inputs."""
    from ganglion.core.creation import tensor
    if not isinstance(index, tuple):
        index = (index,)
    spec, arrays = [], []
    for part in index:
        if part is None or part is Ellipsis or isinstance(part, (int, slice)) and not isinstance(part, bool):
            if isinstance(part, slice):
                part = slice(*(_slice_bound(v) for v in (part.start, part.stop, part.step)))
            spec.append(part)
            continue
        if not isinstance(part, Tensor):
            part = tensor(part)
            if part.dtype.is_floating_point and part.numel() == 0:
                part = part.long()
        if part.dtype.is_floating_point:
            raise IndexError(f"getitem: tensors used as indices must be integer or bool, got {part.dtype}")
        spec.append(Slot(len(arrays)))
        arrays.append(part)
    return tuple(spec), arrays


def _build(spec, arrays):
    return tuple(arrays[p.k] if isinstance(p, Slot) else p for p in spec)


def _index_shape(op_name, shape, spec, array_types):
    """The shape of x[index] for a possibly partly unknown ``shape``, worked out by NumPy on a
    zero-strided stand-in array: once for each of two stand-in sizes of the unknown dims, a
    result dim being known where both agree (a slice with a fixed stop, x[:3], is taken to reach
    it)."""
    if None not in shape and not any(None in t.shape for t in array_types):
        return _index_shape_with(op_name, shape, spec, array_types, _UNKNOWN_SIZES[0])
    first, second = (_index_shape_with(op_name, shape, spec, array_types, size)
                     for size in _UNKNOWN_SIZES)
    return tuple(a if a == b else None for a, b in zip(first, second))


def _index_shape_with(op_name, shape, spec, array_types, unknown_size):
    from ganglion.backend import current
    xp = current.xp
    dummy = xp.broadcast_to(xp.zeros((), xp.int8),
                            tuple(unknown_size if d is None else d for d in shape))
    stand_ins = []
    unknown = {unknown_size}
    for t in array_types:
        t_shape = tuple(unknown_size if d is None else d for d in t.shape)
        if t.dtype is bool_:
            # How many entries a mask selects is known only at run time: the all-True stand-in
            # selects all of them, and the dim of that size in the result is marked unknown.
            stand_ins.append(xp.ones(t_shape, bool))
            n = 1
            for d in t_shape:
                n *= d
            unknown.add(n)
        else:
            stand_ins.append(xp.zeros(t_shape, xp.int64))
    try:
        result = dummy[_build(spec, stand_ins)].shape
    except IndexError as error:
        raise restate_index_error(op_name, error, shape) from None
    return tuple(None if d in unknown else d for d in result)


class GetItem(Op):
    """x[index]. ``checked`` = (op name, axis, description) makes the first index array accept
    only [0, size) along ``axis``, as PyTorch's embedding and index_select do (NumPy would wrap
    negative indices around)."""
    __slots__ = ("spec", "checked")
    is_view = True  # basic indexing gives a view (advanced indexing a copy)
    saves_inputs = False

    def __init__(self, spec, checked=None):
        self.spec = spec
        self.checked = checked

    def forward(self, backend, x, *arrays):
        if self.checked is not None:
            op_name, axis, what = self.checked
            check_index_range(op_name, arrays[0], x.shape[axis], axis, what=what)
        try:
            return x[_build(self.spec, arrays)]
        except IndexError as error:
            raise restate_index_error("getitem", error, x.shape) from None

    def vjp(self, out, grad, needs):
        x, *arrays = out._inputs
        return (apply(IndexAdd(self.spec), grad, x, *arrays),) + (None,) * len(arrays)

    def infer(self, x, *arrays):
        if self.checked is not None:
            # x[:, ..., index] along the checked axis: worked out directly, since the NumPy
            # stand-in below would fail first (with getitem's message) on a dimension of size 0.
            axis = self.checked[1]
            return TensorType(x.dtype, tuple(x.shape[:axis]) + tuple(arrays[0].shape)
                              + tuple(x.shape[axis + 1:]))
        return TensorType(x.dtype, _index_shape("getitem", x.shape, self.spec, arrays))


class IndexAdd(Op):
    """zeros_like(like) with ``values`` added at ``index``: the gradient of getitem."""
    __slots__ = ("spec",)
    saves_inputs = False

    def __init__(self, spec):
        self.spec = spec

    def forward(self, backend, values, like, *arrays):
        return backend.index_add(like.shape, values.dtype, _build(self.spec, arrays), values)

    def vjp(self, out, grad, needs):
        _, _, *arrays = out._inputs
        return (apply(GetItem(self.spec), grad, *arrays), None) + (None,) * len(arrays)

    def infer(self, values, like, *arrays):
        return TensorType(values.dtype, like.shape)


class IndexPut(Op):
    """A copy of x with ``value`` written at ``index`` (broadcast): differentiable assignment."""
    __slots__ = ("spec",)
    saves_inputs = False

    def __init__(self, spec):
        self.spec = spec

    def forward(self, backend, x, value, *arrays):
        out = x.copy()
        _assign(out, _build(self.spec, arrays), value)
        return out

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.elementwise import constant
        from ganglion.core.ops.shape import sum_to
        x, value, *arrays = out._inputs
        gx = apply(IndexPut(self.spec), grad, constant(0, grad.dtype), *arrays) if needs[0] else None
        gv = sum_to(apply(GetItem(self.spec), grad, *arrays), value) if needs[1] else None
        return (gx, gv) + (None,) * len(arrays)

    def infer(self, x, value, *arrays):
        region = _index_shape("setitem", x.shape, self.spec, arrays)
        if None not in region + tuple(value.shape):
            try:
                fits = broadcast_shapes("setitem", tuple(value.shape), region) == region
            except ShapeError:
                fits = False
            if not fits:
                raise _assignment_shape_error(x.shape, region, value.shape)
        return TensorType(x.dtype, x.shape)


def _assign(array, index, value):
    """array[index] = value, with NumPy's errors restated (NumPy checks the whole index before
    writing anything, so a failed assignment leaves ``array`` as it was)."""
    try:
        array[index] = value
    except IndexError as error:
        raise restate_index_error("setitem", error, array.shape) from None
    except ValueError:
        if not array.flags.writeable:  # not a shape problem: the memory is read-only
            from ganglion.core.dlpack import read_only_error
            raise read_only_error("setitem") from None
        region = array[index].shape
        raise _assignment_shape_error(array.shape, region, getattr(value, "shape", ())) from None


def _gather_view(x, index, axis):
    """x cut down to index's extent in the non-gather dims (PyTorch's gather allows a smaller index)."""
    if all(i == d for k, (i, d) in enumerate(zip(index.shape, x.shape)) if k != axis):
        return x
    return x[tuple(slice(None) if k == axis else slice(0, i) for k, i in enumerate(index.shape))]


class Gather(Op):
    """out[i][j][k] = x[i][index[i][j][k]][k] for axis 1: PyTorch's gather, NumPy's take_along_axis.
    Indices must be in [0, size) as in PyTorch's gather, or in [-size, size) with
    ``allow_negative`` (NumPy's take_along_axis, PyTorch's take_along_dim)."""
    __slots__ = ("axis", "allow_negative")
    saves_inputs = False

    def __init__(self, axis, allow_negative=False):
        self.axis = axis
        self.allow_negative = allow_negative

    @property
    def name(self):
        return "take_along_axis" if self.allow_negative else "gather"

    def forward(self, backend, x, index):
        check_index_range(self.name, index, x.shape[self.axis], self.axis, self.allow_negative)
        return backend.xp.take_along_axis(_gather_view(x, index, self.axis), index, self.axis)

    def vjp(self, out, grad, needs):
        x, index = out._inputs
        # put_along_axis_add wraps negative indices as NumPy does, so they need no rewriting.
        return (apply(ScatterAddInto(self.axis), grad, x, index), None)

    def infer(self, x, index):
        if len(index.shape) != len(x.shape):
            raise ShapeError(f"{self.name}: index of shape {format_shape(index.shape)} must have as many "
                             f"dimensions as the input {format_shape(x.shape)}")
        if index.dtype.category != 1:
            raise DTypeError(f"{self.name}: index must be an integer tensor, got {index.dtype}")
        return TensorType(x.dtype, index.shape)


class ScatterAddInto(Op):
    """zeros_like(like) with ``values`` added at ``index`` along ``axis``: gather's gradient."""
    __slots__ = ("axis",)
    saves_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, backend, values, like, index):
        return backend.put_along_axis_add(like.shape, values.dtype, index, values, self.axis)

    def vjp(self, out, grad, needs):
        _, _, index = out._inputs
        return (apply(Gather(self.axis), grad, index), None, None)

    def infer(self, values, like, index):
        return TensorType(values.dtype, like.shape)


class ScatterAdd(Op):
    """PyTorch's scatter_add: a copy of x with src added at ``index`` along ``axis``."""
    __slots__ = ("axis",)
    saves_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, backend, x, index, src):
        check_index_range("scatter_add", index, x.shape[self.axis], self.axis)
        src = src[tuple(slice(0, i) for i in index.shape)]
        return x + backend.put_along_axis_add(x.shape, x.dtype, index, src, self.axis)

    def vjp(self, out, grad, needs):
        x, index, src = out._inputs
        g_src = None
        if needs[2]:
            g_src = apply(Gather(self.axis), grad, index)
            if g_src.shape != src.shape:
                g_src = pad(g_src, tuple((0, s - i) for s, i in zip(src.shape, index.shape)))
        return (grad if needs[0] else None, None, g_src)

    def infer(self, x, index, src):
        if not (len(x.shape) == len(index.shape) == len(src.shape)):
            raise ShapeError(f"scatter_add: input {format_shape(x.shape)}, index "
                             f"{format_shape(index.shape)} and src {format_shape(src.shape)} must "
                             "have the same number of dimensions")
        return TensorType(x.dtype, x.shape)


class OneHot(Op):
    __slots__ = ("num_classes",)
    differentiable = False

    def __init__(self, num_classes):
        self.num_classes = num_classes

    def forward(self, backend, x):
        xp = backend.xp
        if x.dtype.kind not in "iu":
            raise DTypeError(f"one_hot: expected an integer array of class indices, got {x.dtype}")
        check_index_range("one_hot", x, self.num_classes, -1,
                          what=f"num_classes={self.num_classes}", noun="class value")
        return (x[..., None] == xp.arange(self.num_classes)).astype(xp.int64)

    def infer(self, x):
        if x.dtype.category != 1:
            raise DTypeError(f"one_hot: expected an integer tensor of class indices, got {x.dtype}")
        return TensorType(int64, tuple(x.shape) + (self.num_classes,))


class Nonzero(Op):
    __slots__ = ()
    differentiable = False

    def forward(self, backend, x):
        return backend.xp.argwhere(x)

    def infer(self, x):
        return TensorType(int64, (None, len(x.shape)))


# ----- functions ----------------------------------------------------------------------------

def getitem(x, index):
    try:
        spec, arrays = _split_index(index)
    except SymbolicSliceBound:  # x[i * n:(i + 1) * n] with a symbolic i (Theano's minibatches)
        from ganglion.core.ops.dynamic_slice import dynamic_getitem
        return dynamic_getitem(x, index)
    return apply(GetItem(spec), x, *arrays)


class SymbolicSliceBound(Exception):
    """A slice bound is a symbolic tensor: the index is handled by ``dynamic_slice``."""


def _slice_bound(value):
    if isinstance(value, Tensor):
        if value._data is None:
            raise SymbolicSliceBound
        return int(value)
    return value


def setitem_(x, index, value):
    """``x[index] = value`` in place. On a tensor that is part of a recorded graph, the
    assignment is recorded too (x becomes a differentiable copy with the values written)."""
    from ganglion.core.grad_mode import grad_enabled
    from ganglion.core.inplace import read_before_change, rebind
    from ganglion.core.ops.elementwise import cast, constant
    if isinstance(value, Tensor):
        value = cast(value, x.dtype)
    elif isinstance(value, (int, float, bool)):
        value = constant(value, x.dtype)
    else:
        # Straight to x's dtype: through the default float32 a float64 value would lose digits.
        from ganglion.core.creation import tensor
        value = tensor(value, dtype=x.dtype)
    spec, arrays = _split_index(index)
    if x._data is not None and not (grad_enabled[0] and (x.requires_grad or value.requires_grad)):
        _assign(x._data, _build(spec, [a._data for a in arrays]), value._data)
        bump_storage(x._data)
        return x
    if x.is_leaf and x.requires_grad and grad_enabled[0]:
        raise RuntimeError("setitem: a leaf tensor that requires grad cannot be assigned to in "
                           "place; wrap the assignment in ganglion.no_grad() or assign to a copy")
    changed = rebind(x, apply(IndexPut(spec), x, value, *arrays))
    # The value and indices may have been computed from x (y[y < 0] = 0, y[0] = y[1] * v).
    old, *read = changed._inputs
    read_before_change(changed, old, read)
    return changed


def _as_tensor(value):
    from ganglion.core.creation import tensor
    return tensor(value)


def slice_along(x, axis, start, stop):
    index = (slice(None),) * axis + (slice(start, stop),)
    return apply(GetItem(index), x)


def _int_index(name, index):
    if not isinstance(index, Tensor):
        index = _as_tensor(index)
    if index.dtype.category != 1:
        raise DTypeError(f"{name}: index must be an integer tensor, got {index.dtype}")
    return index


def gather(x, dim, index):
    """PyTorch's gather(input, dim, index)."""
    axis = normalize_axes("gather", dim, x.ndim)[0]
    return apply(Gather(axis), x, _int_index("gather", index))


def take_along_axis(x, indices, axis):
    """NumPy's take_along_axis (PyTorch's take_along_dim): gather along ``axis`` with
    ``indices`` broadcast against ``x`` in the other dimensions. (torch.gather would instead read
    only the leading block of ``x`` that a smaller index covers.) ``axis=None`` reads the
    flattened ``x``."""
    indices = _int_index("take_along_axis", indices)
    if axis is None:
        x = flatten(x)
        axis = 0
    if indices.ndim != x.ndim:
        raise ShapeError(f"take_along_axis: indices of shape {format_shape(indices.shape)} must have "
                         f"as many dimensions as the input {format_shape(x.shape)}")
    axis = normalize_axes("take_along_axis", axis, x.ndim)[0]
    others = [d for k, d in enumerate(x.shape) if k != axis]
    index_others = [d for k, d in enumerate(indices.shape) if k != axis]
    common = list(broadcast_shapes("take_along_axis", tuple(others), tuple(index_others)))
    x_shape = tuple(common[:axis]) + (x.shape[axis],) + tuple(common[axis:])
    index_shape = tuple(common[:axis]) + (indices.shape[axis],) + tuple(common[axis:])
    if tuple(x.shape) != x_shape:
        x = expand(x, x_shape)
    if tuple(indices.shape) != index_shape:
        indices = expand(indices, index_shape)
    return apply(Gather(axis, allow_negative=True), x, indices)


def scatter_add(x, dim, index, src):
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim`` (PyTorch's
    ``torch.scatter_add``)."""
    axis = normalize_axes("scatter_add", dim, x.ndim)[0]
    return apply(ScatterAdd(axis), x, _int_index("scatter_add", index), src)


def index_select(x, dim, index):
    """The entries of ``x`` at ``index`` (1-D, or 0-d as one index) along ``dim``. Indices must
    be in [0, size): PyTorch refuses negative ones."""
    index = _int_index("index_select", index)
    if index.ndim == 0:
        from ganglion.core.ops.shape import reshape
        index = reshape(index, (1,))
    if index.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-D (or 0-d), got shape "
                         f"{format_shape(index.shape)}")
    axis = normalize_axes("index_select", dim, x.ndim)[0]
    spec = (slice(None),) * axis + (Slot(0),)
    return apply(GetItem(spec, checked=("index_select", axis, None)), x, index)


def one_hot(x, num_classes=-1):
    """Class indices to one-hot int64 vectors along a new last axis, as PyTorch's one_hot:
    ``num_classes=-1`` means max(x) + 1 (which an empty ``x`` cannot tell)."""
    if not isinstance(x, Tensor):  # before x.dtype is read (an array has one too)
        refuse_non_tensor("one_hot", (x,))
    num_classes = int(num_classes)
    if num_classes == -1:
        if x.dtype.category != 1:
            raise DTypeError(f"one_hot: expected an integer tensor of class indices, got {x.dtype}")
        if x._data is None:
            raise ValueError("one_hot: num_classes must be given for a symbolic input")
        if not x._data.size:
            raise IndexRangeError("one_hot: cannot infer the number of classes from an empty "
                                  "tensor; pass num_classes")
        num_classes = max(int(x._data.max()) + 1, 0)
    elif num_classes < 0 or num_classes == 0 and x._data is not None and not x._data.size:
        # PyTorch refuses these too (an empty tensor with num_classes=0: as with -1).
        raise IndexRangeError(f"one_hot: num_classes must be positive (or -1 to infer it from the "
                              f"values), got {num_classes}")
    return apply(OneHot(num_classes), x)


def nonzero(x, as_tuple=False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    out = apply(Nonzero(), x)
    if not as_tuple:
        return out
    return tuple(getitem(out, (slice(None), d)) for d in range(x.ndim))
