"""Indexing: ``x[index]``, ``x[index] = v``, gather / scatter_add along an axis, index_select,
one_hot and nonzero.

An index may mix ints, slices, None, Ellipsis and integer or boolean arrays, as in NumPy. Array
parts of the index become inputs of the op (``Slot`` marks their place in the index), so that in
symbolic mode an index can itself be a placeholder, e.g. ``logp[arange(n), y]`` for labels ``y``.
Gradients scatter back with accumulation, so repeated indices add up.
"""
from ganglion.core.dtypes import bool_, int64
from ganglion.core.op import Op, apply, broadcast_shapes, format_shape, normalize_axes
from ganglion.core.ops.shape import expand, flatten, pad
from ganglion.core.tensor import Tensor, TensorType
from ganglion.core.versions import bump_storage

__all__ = ["getitem", "setitem_", "gather", "scatter_add", "index_select", "one_hot", "nonzero",
           "slice_along", "take_along_axis"]

# A stand-in for unknown (None) dims when working out symbolic result shapes with NumPy itself.
_UNKNOWN = 7919


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
    zero-strided stand-in array."""
    from ganglion.backend import current
    xp = current.xp
    dummy = xp.broadcast_to(xp.zeros((), xp.int8), tuple(_UNKNOWN if d is None else d for d in shape))
    stand_ins = []
    unknown = {_UNKNOWN}
    for t in array_types:
        t_shape = tuple(_UNKNOWN if d is None else d for d in t.shape)
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
        raise IndexError(f"{op_name}: {error} (indexing a tensor of shape {format_shape(shape)})") from None
    return tuple(None if d in unknown else d for d in result)


class GetItem(Op):
    __slots__ = ("spec",)
    saves_inputs = False

    def __init__(self, spec):
        self.spec = spec

    def forward(self, backend, x, *arrays):
        return x[_build(self.spec, arrays)]

    def vjp(self, out, grad, needs):
        x, *arrays = out._inputs
        return (apply(IndexAdd(self.spec), grad, x, *arrays),) + (None,) * len(arrays)

    def infer(self, x, *arrays):
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
        out[_build(self.spec, arrays)] = value
        return out

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.elementwise import constant
        from ganglion.core.ops.shape import sum_to
        x, value, *arrays = out._inputs
        gx = apply(IndexPut(self.spec), grad, constant(0, grad.dtype), *arrays) if needs[0] else None
        gv = sum_to(apply(GetItem(self.spec), grad, *arrays), value) if needs[1] else None
        return (gx, gv) + (None,) * len(arrays)

    def infer(self, x, value, *arrays):
        _index_shape("setitem", x.shape, self.spec, arrays)
        return TensorType(x.dtype, x.shape)


def _gather_view(x, index, axis):
    """x cut down to index's extent in the non-gather dims (PyTorch's gather allows a smaller index)."""
    if all(i == d for k, (i, d) in enumerate(zip(index.shape, x.shape)) if k != axis):
        return x
    return x[tuple(slice(None) if k == axis else slice(0, i) for k, i in enumerate(index.shape))]


def _check_range(op_name, index, size, axis):
    """PyTorch's bounds for gather / scatter indices: 0 <= index < size (NumPy would wrap
    negative ones around silently)."""
    if index.size and (index.min() < 0 or index.max() >= size):
        raise IndexError(f"{op_name}: index values must be in [0, {size}) for dimension {axis} "
                         f"of size {size}, got values from {index.min()} to {index.max()}")


class Gather(Op):
    """out[i][j][k] = x[i][index[i][j][k]][k] for axis 1: PyTorch's gather, NumPy's take_along_axis."""
    __slots__ = ("axis",)
    saves_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, backend, x, index):
        _check_range("gather", index, x.shape[self.axis], self.axis)
        return backend.xp.take_along_axis(_gather_view(x, index, self.axis), index, self.axis)

    def vjp(self, out, grad, needs):
        x, index = out._inputs
        return (apply(ScatterAddInto(self.axis), grad, x, index), None)

    def infer(self, x, index):
        if len(index.shape) != len(x.shape):
            raise ValueError(f"gather: index of shape {format_shape(index.shape)} must have as many "
                             f"dimensions as the input {format_shape(x.shape)}")
        if index.dtype.category != 1:
            raise TypeError(f"gather: index must be an integer tensor, got {index.dtype}")
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
        _check_range("scatter_add", index, x.shape[self.axis], self.axis)
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
            raise ValueError(f"scatter_add: input {format_shape(x.shape)}, index "
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
            raise TypeError("one_hot of a non-integer array")
        if x.size and (x.min() < 0 or x.max() >= self.num_classes):
            raise ValueError(f"one_hot: class values must be in [0, {self.num_classes}), got values "
                             f"from {x.min()} to {x.max()}")
        return (x[..., None] == xp.arange(self.num_classes)).astype(xp.int64)

    def infer(self, x):
        if x.dtype.category != 1:
            raise TypeError(f"one_hot: expected an integer tensor of class indices, got {x.dtype}")
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
        if value.data is None:
            raise SymbolicSliceBound
        return int(value)
    return value


def setitem_(x, index, value):
    """``x[index] = value`` in place. On a tensor that is part of a recorded graph, the
    assignment is recorded too (x becomes a differentiable copy with the values written)."""
    from ganglion.core.grad_mode import grad_enabled
    from ganglion.core.inplace import rebind
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
    if x.data is not None and not (grad_enabled[0] and (x.requires_grad or value.requires_grad)):
        x.data[_build(spec, [a.data for a in arrays])] = value.data
        bump_storage(x.data)
        return x
    if x.is_leaf and x.requires_grad and grad_enabled[0]:
        raise RuntimeError("setitem: a leaf tensor that requires grad cannot be assigned to in "
                           "place; wrap the assignment in ganglion.no_grad() or assign to a copy")
    return rebind(x, apply(IndexPut(spec), x, value, *arrays))


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
        raise TypeError(f"{name}: index must be an integer tensor, got {index.dtype}")
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
        raise ValueError(f"take_along_axis: indices of shape {format_shape(indices.shape)} must have "
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
    return apply(Gather(axis), x, indices)


def scatter_add(x, dim, index, src):
    axis = normalize_axes("scatter_add", dim, x.ndim)[0]
    return apply(ScatterAdd(axis), x, _int_index("scatter_add", index), src)


def index_select(x, dim, index):
    index = _int_index("index_select", index)
    if index.ndim != 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {format_shape(index.shape)}")
    axis = normalize_axes("index_select", dim, x.ndim)[0]
    spec = (slice(None),) * axis + (Slot(0),)
    return apply(GetItem(spec), x, index)


def one_hot(x, num_classes=-1):
    """Class indices to one-hot int64 vectors along a new last axis, as PyTorch's one_hot."""
    if num_classes < 0:
        if x.dtype.category != 1:
            raise TypeError(f"one_hot: expected an integer tensor of class indices, got {x.dtype}")
        if x.data is None:
            raise ValueError("one_hot: num_classes must be given for a symbolic input")
        num_classes = int(x.data.max()) + 1 if x.data.size else 0
    return apply(OneHot(int(num_classes)), x)


def nonzero(x, as_tuple=False):
    """Indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    out = apply(Nonzero(), x)
    if not as_tuple:
        return out
    return tuple(getitem(out, (slice(None), d)) for d in range(x.ndim))
