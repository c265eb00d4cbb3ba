"""Shape ops: reshape, permute, broadcasting and its inverse, concatenation, padding (constant,
reflect, replicate, circular), flipping.

Gradients of broadcasting ops sum back to the input's shape. The vjps use the ``*As`` ops, which
take the tensor whose shape they match as a second (non-differentiated) input: in symbolic mode a
shape may be partly unknown until run time, and this way one rule serves both modes.
"""
import numpy as np

from ganglion.core.op import (Op, ShapeError, apply, as_integer, broadcast_shapes, format_shape,
                              normalize_axes, normalize_dim)
from ganglion.core.ops.dynamic_shape import expand_dynamic, reshape_dynamic
from ganglion.core.symbolic_shape import SymbolicSizes, check_size_entry, is_symbolic_scalar
from ganglion.core.tensor import Tensor, TensorType

__all__ = ["reshape", "reshape_as", "permute", "expand", "expand_as", "sum_to", "concatenate",
           "pad", "flip", "squeeze", "unsqueeze"]


def _known(shape):
    return None not in shape


def _product(shape):
    n = 1
    for d in shape:
        n *= d
    return n


class Reshape(Op):
    __slots__ = ("shape",)
    is_view = True
    saves_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, backend, x):
        return x.reshape(self.shape)

    def vjp(self, out, grad, needs):
        return (reshape_as(grad, out._inputs[0]),)

    def infer(self, x):
        target = list(self.shape)
        _check_reshape_sizes(self.shape)
        if target.count(-1) > 1:
            raise ShapeError(f"reshape: only one dimension can be -1 (inferred), got "
                             f"{tuple(self.shape)}")
        if -1 in target:
            rest = _product(d for d in target if d != -1)
            if _known(x.shape):
                total = _product(x.shape)
                if rest == 0:
                    raise ShapeError(f"reshape: cannot reshape {format_shape(x.shape)} ({total} "
                                     f"elements) into {tuple(self.shape)}: the other sizes "
                                     "multiply to 0, so the -1 could be any size (ambiguous)")
                if total % rest:
                    raise ShapeError(f"reshape: cannot reshape {format_shape(x.shape)} "
                                     f"({total} elements) into {tuple(self.shape)}: {total} is "
                                     f"not a multiple of {rest}")
                target[target.index(-1)] = total // rest
            else:
                target[target.index(-1)] = None
        elif _known(x.shape) and _product(x.shape) != _product(target):
            raise ShapeError(f"reshape: cannot reshape {format_shape(x.shape)} ({_product(x.shape)} "
                             f"elements) into {tuple(self.shape)} ({_product(target)} elements)")
        return TensorType(x.dtype, tuple(target))


class ReshapeAs(Op):
    """Reshape the first input to the second input's shape (known only at run time)."""
    __slots__ = ()
    is_view = True
    saves_inputs = False

    def forward(self, backend, x, like):
        return x.reshape(like.shape)

    def vjp(self, out, grad, needs):
        return (reshape_as(grad, out._inputs[0]), None)

    def infer(self, x, like):
        return TensorType(x.dtype, like.shape)


class Permute(Op):
    __slots__ = ("axes",)
    is_view = True
    saves_inputs = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, backend, x):
        return x.transpose(self.axes)

    def vjp(self, out, grad, needs):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (permute(grad, tuple(inverse)),)

    def infer(self, x):
        if sorted(self.axes) != list(range(len(x.shape))):
            raise ShapeError(f"permute: axes {self.axes} are not a permutation of the "
                             f"{len(x.shape)} dimensions of {format_shape(x.shape)}")
        return TensorType(x.dtype, tuple(x.shape[a] for a in self.axes))


class Expand(Op):
    """Broadcast to ``shape`` (NumPy's broadcast_to; -1 keeps a dimension). A read-only view."""
    __slots__ = ("shape",)
    is_view = True
    saves_inputs = False

    def __init__(self, shape):
        self.shape = shape

    def forward(self, backend, x):
        shape = self.shape
        if -1 in shape:
            # -1 keeps an existing dimension; in a new leading one it stays -1, which NumPy
            # refuses, and infer() then explains.
            lead = len(shape) - x.ndim
            shape = tuple(x.shape[i - lead] if d == -1 and i >= lead else d
                          for i, d in enumerate(shape))
        return backend.xp.broadcast_to(x, shape)

    def vjp(self, out, grad, needs):
        return (sum_to(grad, out._inputs[0]),)

    def infer(self, x):
        lead = len(self.shape) - len(x.shape)
        if lead < 0:
            raise ShapeError(f"expand: cannot expand {format_shape(x.shape)} to fewer dimensions "
                             f"{tuple(self.shape)}")
        for i, d in enumerate(self.shape):
            if d is not None and (d < -1 or d == -1 and i < lead):
                raise ShapeError(f"expand: cannot expand {format_shape(x.shape)} to "
                                 f"{tuple(self.shape)}: size {d} in dimension {i} (-1 may only "
                                 "keep an existing dimension)")
        target = tuple(x.shape[i - lead] if d == -1 else d for i, d in enumerate(self.shape))
        for i, d in enumerate(x.shape):
            t = target[i + lead]
            if d not in (1, None) and t is not None and d != t:
                raise ShapeError(f"expand: cannot expand {format_shape(x.shape)} to "
                                 f"{tuple(self.shape)}: dimension {i} is {d}, not 1 or {t}")
        return TensorType(x.dtype, target)


class ExpandAs(Op):
    """Broadcast the first input to the second input's shape."""
    __slots__ = ()
    is_view = True
    saves_inputs = False

    def forward(self, backend, x, like):
        return backend.xp.broadcast_to(x, like.shape)

    def vjp(self, out, grad, needs):
        return (sum_to(grad, out._inputs[0]), None)

    def infer(self, x, like):
        return TensorType(x.dtype, broadcast_shapes("expand_as", x.shape, like.shape))


class SumTo(Op):
    """Sum the first input down to the second input's shape: the inverse of broadcasting."""
    __slots__ = ()
    is_view = True
    saves_inputs = False

    def forward(self, backend, x, like):
        shape = like.shape
        if x.shape == shape:
            return x
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(shape)
                                          if d == 1 and x.shape[i + lead] != 1)
        return x.sum(axis=axes, keepdims=True).reshape(shape)

    def vjp(self, out, grad, needs):
        return (expand_as(grad, out._inputs[0]), None)

    def infer(self, x, like):
        return TensorType(x.dtype, like.shape)


class Concatenate(Op):
    __slots__ = ("axis",)
    returns_new_array = True
    saves_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, backend, *arrays):
        xp = backend.xp
        shape = list(arrays[0].shape)
        shape[self.axis] = sum(a.shape[self.axis] for a in arrays)
        return xp.concatenate(arrays, axis=self.axis,
                              out=backend.empty(shape, xp.result_type(*arrays)))

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.indexing import slice_along
        grads = []
        start = 0
        for x, need in zip(out._inputs, needs):
            size = x.shape[self.axis]
            grads.append(slice_along(grad, self.axis, start, start + size) if need else None)
            start += size
        return tuple(grads)

    def infer(self, *types):
        first = types[0]
        axis = self.axis
        total = 0
        for t in types:
            if len(t.shape) != len(first.shape):
                raise ShapeError("cat: tensors must have the same number of dimensions, got "
                                 + ", ".join(format_shape(t.shape) for t in types))
            for i, (d, e) in enumerate(zip(t.shape, first.shape)):
                if i != axis and d is not None and e is not None and d != e:
                    raise ShapeError(f"cat: shapes {', '.join(format_shape(t.shape) for t in types)} "
                                     f"differ in dimension {i}, which is not the concatenation axis {axis}")
            total = None if total is None or t.shape[axis] is None else total + t.shape[axis]
        shape = list(first.shape)
        shape[axis] = total
        return TensorType(first.dtype, tuple(shape))


class Pad(Op):
    """Constant padding; ``widths`` is NumPy's ((before, after), ...) per dimension. A negative
    width removes that many entries instead, as in PyTorch's F.pad."""
    __slots__ = ("widths", "value")
    saves_inputs = False

    def __init__(self, widths, value):
        self.widths = widths
        self.value = value

    def forward(self, backend, x):
        # The negative widths crop first: together they may not remove more than the dim holds.
        if any(d + min(b, 0) + min(a, 0) < 0 for d, (b, a) in zip(x.shape, self.widths)):
            raise ValueError("pad: cropping more than the tensor holds")  # infer() explains
        crop = tuple(slice(-min(b, 0), x.shape[i] + min(a, 0)) for i, (b, a) in enumerate(self.widths))
        grow = tuple((max(b, 0), max(a, 0)) for b, a in self.widths)
        return backend.xp.pad(x[crop], grow, constant_values=self.value)

    def vjp(self, out, grad, needs):
        # Padding's gradient crops what was padded, and pads with zeros what was cropped.
        return (apply(Pad(tuple((-b, -a) for b, a in self.widths), 0.0), grad),)

    def infer(self, x):
        if len(self.widths) != len(x.shape):
            raise ShapeError(f"pad: {len(self.widths)} (before, after) pairs for a tensor of shape "
                             f"{format_shape(x.shape)}")
        shape = tuple(None if d is None else d + b + a for d, (b, a) in zip(x.shape, self.widths))
        kept = (d + min(b, 0) + min(a, 0) for d, (b, a) in zip(x.shape, self.widths) if d is not None)
        if any(d < 0 for d in kept):
            raise ShapeError(f"pad: negative padding {self.widths} larger than {format_shape(x.shape)}")
        return TensorType(x.dtype, shape)


def _mode_pad_index(mode, size, before, after):
    """The input positions that the padded axis reads, for one axis of ``size`` entries.

    reflect and replicate map each output position through the whole input (so a negative
    width crops, and the other side may still reflect into the cropped part, as in PyTorch);
    circular crops first and wraps around what is left, as PyTorch does."""
    if mode == "circular":
        kept = size + min(before, 0) + min(after, 0)
        return max(-before, 0) + np.arange(-max(before, 0), kept + max(after, 0)) % max(kept, 1)
    positions = np.arange(-before, size + after)
    if mode == "reflect":
        return (size - 1) - np.abs((size - 1) - np.abs(positions))
    return np.clip(positions, 0, size - 1)


class ModePad(Op):
    """reflect / replicate / circular padding of the trailing ``len(widths)`` dimensions;
    ``widths`` is ((before, after), ...) for those dimensions, first to last. Each padded axis
    is one gather (``take``) of the positions ``_mode_pad_index`` gives."""
    __slots__ = ("mode", "widths")
    saves_inputs = False
    returns_new_array = True

    def __init__(self, mode, widths):
        self.mode = mode
        self.widths = widths

    def forward(self, backend, x):
        first = x.ndim - len(self.widths)
        for i, (before, after) in enumerate(self.widths):
            axis = first + i
            index = backend.xp.asarray(_mode_pad_index(self.mode, x.shape[axis], before, after))
            x = x.take(index, axis=axis)
        return x

    def vjp(self, out, grad, needs):
        return (apply(ModePadBackward(self.mode, self.widths), grad, out._inputs[0]),)

    def infer(self, x):
        first = len(x.shape) - len(self.widths)
        shape = list(x.shape)
        for i, (before, after) in enumerate(self.widths):
            if shape[first + i] is not None:
                shape[first + i] += before + after
        return TensorType(x.dtype, tuple(shape))


class ModePadBackward(Op):
    """ModePad's gradient: each output position's gradient added back to the input position it
    read (the centre is one slice copy; only the padded borders need a scatter-add). ``like``
    (not differentiated) gives the input's shape. Linear, so its own vjp is ModePad again."""
    __slots__ = ("mode", "widths")
    saves_inputs = False
    returns_new_array = True

    def __init__(self, mode, widths):
        self.mode = mode
        self.widths = widths

    def forward(self, backend, grad, like):
        xp = backend.xp
        first = like.ndim - len(self.widths)
        for i, (before, after) in enumerate(self.widths):
            axis = first + i
            size = like.shape[axis]
            index = xp.asarray(_mode_pad_index(self.mode, size, before, after))
            moved = xp.moveaxis(grad, axis, 0)
            folded = xp.zeros((size,) + moved.shape[1:], dtype=grad.dtype)
            # The centre reads a contiguous run of the input, one position each.
            lead = max(before, 0)
            kept = size + min(before, 0) + min(after, 0)
            start = max(-before, 0)
            folded[start:start + kept] = moved[lead:lead + kept]
            border = xp.asarray(np.r_[0:lead, lead + kept:len(index)])
            xp.add.at(folded, index[border], moved[border])
            grad = xp.moveaxis(folded, 0, axis)
        return grad

    def vjp(self, out, grad, needs):
        return (apply(ModePad(self.mode, self.widths), grad) if needs[0] else None, None)

    def infer(self, grad, like):
        return TensorType(grad.dtype, like.shape)


class Flip(Op):
    __slots__ = ("axes",)
    saves_inputs = False

    def __init__(self, axes):
        self.axes = axes

    def forward(self, backend, x):
        return backend.xp.flip(x, self.axes)

    def vjp(self, out, grad, needs):
        return (flip(grad, self.axes),)

    def infer(self, x):
        normalize_axes("flip", self.axes, len(x.shape))
        return TensorType(x.dtype, x.shape)


# ----- functions ----------------------------------------------------------------------------

def _dim(op_name, dim, ndim):
    """One dimension index, negatives counted from the end (a 0-d tensor takes 0 and -1)."""
    return normalize_dim(op_name, dim, ndim, "dimension", "dimension must be an integer")


def _integer(op_name, what, value):
    return as_integer(op_name, f"{what} must be an integer", value)


def _shape_arg(op_name, shape):
    """Sizes as a tuple of ints; a ``SymbolicSizes`` tuple when they hold symbolic scalars
    (``x.shape[0]``, arithmetic on it), which the ops that take sizes handle at run time."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(d if type(d) is int else _integer(op_name, "each size", d) for d in shape)
    except (TypeError, RuntimeError):
        if not any(is_symbolic_scalar(d) for d in shape):
            if None in shape:  # the None of an unknown dim: say what to pass instead
                check_size_entry(op_name, list(shape).index(None), None)
            raise
    return SymbolicSizes(check_size_entry(op_name, k, d) if type(d) is not int else d
                         for k, d in enumerate(shape))


def reshape(x, *shape):
    """The elements of ``x`` in a new shape (one size may be -1) (PyTorch's ``torch.reshape``)."""
    shape = _shape_arg("reshape", shape)
    if type(shape) is SymbolicSizes:
        return reshape_dynamic("reshape", x, shape)
    if shape == x.shape:
        return x
    if shape and min(shape) < -1:
        _check_reshape_sizes(shape)
    return apply(Reshape(shape), x)


def view(x, *shape):
    """Tensor.view: reshape under its own name in errors (ganglion's tensors are always
    contiguous, so a view never fails for a layout reason as PyTorch's can)."""
    shape = _shape_arg("view", shape)
    if type(shape) is SymbolicSizes:
        return reshape_dynamic("view", x, shape)
    if shape == x.shape:
        return x
    if shape and min(shape) < -1:
        _check_reshape_sizes(shape, "view")
    return apply(Reshape(shape), x)


def _check_reshape_sizes(shape, op_name="reshape"):
    """NumPy takes any negative size as "infer this one"; PyTorch refuses all but -1."""
    for i, d in enumerate(shape):
        if d < -1:
            raise ShapeError(f"{op_name}: invalid shape dimension {d} at index {i} of "
                             f"{format_shape(shape)} (sizes must be non-negative, or -1 for the "
                             "one size to infer)")


def reshape_as(x, like):
    if x.shape == like.shape and None not in x.shape:
        return x
    return apply(ReshapeAs(), x, like)


def permute(x, *axes):
    """``x`` with its dims reordered as ``axes`` (PyTorch's ``torch.permute``)."""
    axes = _shape_arg("permute", axes)
    ndim = x.ndim
    axes = tuple(_dim("permute", a, ndim) for a in axes)
    if axes == tuple(range(ndim)):
        return x
    return apply(Permute(axes), x)


def transpose(x, dim0=-2, dim1=-1):
    """Swap two dimensions (PyTorch's transpose; NumPy's swapaxes)."""
    ndim = x.ndim
    dim0, dim1 = _dim("transpose", dim0, ndim), _dim("transpose", dim1, ndim)
    if ndim < 2:
        return x
    axes = list(range(ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return permute(x, tuple(axes))


def expand(x, *shape):
    """``x`` broadcast to ``shape`` without copying; -1 keeps a size (PyTorch's
    ``Tensor.expand``)."""
    shape = _shape_arg("expand", shape)
    if type(shape) is SymbolicSizes:
        return expand_dynamic(x, shape)
    if shape == x.shape:
        return x
    return apply(Expand(shape), x)


def expand_as(x, like):
    if x.shape == like.shape and None not in x.shape:
        return x
    return apply(ExpandAs(), x, like)


def sum_to(x, like):
    """Sum ``x`` down to ``like``'s shape (the gradient of broadcasting ``like`` to ``x``)."""
    if x.shape == like.shape and None not in x.shape:  # unknown dims may still differ at run time
        return x
    return apply(SumTo(), x, like)


def concatenate(tensors, axis=0, dim=None):
    """The tensors joined along an existing dim ``dim``/``axis`` (PyTorch's ``torch.cat``)."""
    from ganglion.core.ops.elementwise import common_dtype_tensors
    axis = dim if dim is not None else axis
    _check_sequence("cat", tensors)
    tensors = common_dtype_tensors("cat", tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ShapeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                             "concatenated; use stack, or reshape it to (1,)")
    axis = normalize_axes("cat", axis, tensors[0].ndim)[0]
    return apply(Concatenate(axis), *tensors)


def _check_sequence(op_name, tensors):
    """cat and stack take a sequence of tensors; a tensor is iterable, but joining its rows
    is not what cat(x) means (PyTorch refuses it too)."""
    from ganglion.core.tensor import Tensor
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op_name}: expected a sequence (list or tuple) of tensors, got a single "
                        f"tensor of shape {format_shape(tensors.shape)}; write {op_name}([x, y])")


def stack(tensors, axis=0, dim=None):
    """The tensors, all of one shape, joined along a new dim ``dim``/``axis`` (PyTorch's
    ``torch.stack``)."""
    axis = dim if dim is not None else axis
    _check_sequence("stack", tensors)
    from ganglion.core.ops.elementwise import common_dtype_tensors
    tensors = common_dtype_tensors("stack", tensors)  # as cat: numbers and arrays converted
    if not tensors:
        # PyTorch raises RuntimeError here (and ValueError for cat); a ShapeError is both.
        raise ShapeError("stack: expected a non-empty sequence of tensors")
    shapes = {t.tensor_type.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError("stack: all tensors must have the same shape, got "
                         + ", ".join(format_shape(t.shape) for t in tensors))
    axis = normalize_axes("stack", axis, tensors[0].ndim + 1)[0]
    return concatenate([unsqueeze(t, axis) for t in tensors], axis)


def squeeze(x, axis=None, dim=None):
    """``x`` without its size-1 dims (only ``dim``/``axis`` when given) (PyTorch's
    ``torch.squeeze``)."""
    axis = dim if dim is not None else axis
    shape = x.shape
    if axis is None:
        new = tuple(d for d in shape if d != 1)
    else:
        axes = normalize_axes("squeeze", axis, len(shape))
        new = tuple(d for i, d in enumerate(shape) if not (i in axes and d == 1))
    return x if new == shape else reshape_or_symbolic(x, new)


def unsqueeze(x, axis=None, dim=None):
    """``x`` with a size-1 dim inserted at ``dim``/``axis`` (PyTorch's ``torch.unsqueeze``)."""
    axis = dim if dim is not None else axis
    if type(axis) is not int:
        axis = _integer("unsqueeze", "dim", axis)
    ndim = x.ndim + 1
    if not -ndim <= axis < ndim:
        raise IndexError(f"unsqueeze: dimension {axis} is out of range for a result of {ndim} "
                         f"dimensions (expected to be in range of [{-ndim}, {ndim - 1}], but got "
                         f"{axis})")
    axis %= ndim
    shape = list(x.shape)
    shape.insert(axis, 1)
    return reshape_or_symbolic(x, tuple(shape))


def reshape_or_symbolic(x, shape):
    """Reshape to a shape that may hold one unknown (None) dimension, written as -1."""
    if None in shape:  # None, or the SymbolicDim of a symbolic tensor's shape
        shape = tuple(None if isinstance(d, Tensor) else d for d in shape)
        if shape.count(None) > 1:
            return _add_or_drop_unit_dims(x, shape)
        shape = tuple(-1 if d is None else d for d in shape)
    return apply(Reshape(shape), x)


def _add_or_drop_unit_dims(x, shape):
    """x[:, None, ...] / x[:, 0, ...]: a reshape that only inserts or removes dims of size 1,
    which an index can do when several dims are unknown (symbolic squeeze, unsqueeze, keepdims)."""
    from ganglion.core.ops.indexing import getitem
    source, index, i = x.tensor_type.shape, [], 0
    for d in shape:
        while i < len(source) and source[i] == 1 and d != 1:
            index.append(0)  # a unit dim that the target does not have here
            i += 1
        if i < len(source) and source[i] == d:
            index.append(slice(None))
            i += 1
        elif d == 1:
            index.append(None)
        else:
            raise ShapeError(f"reshape: cannot reshape {format_shape(source)} into {format_shape(shape)} "
                             "with more than one unknown dimension")
    while i < len(source) and source[i] == 1:
        index.append(0)
        i += 1
    if i != len(source):
        raise ShapeError(f"reshape: cannot reshape {format_shape(source)} into {format_shape(shape)} "
                         "with more than one unknown dimension")
    return getitem(x, tuple(index))


def flatten(x, start_dim=0, end_dim=-1):
    """``x`` with the dims ``start_dim`` to ``end_dim`` merged into one (PyTorch's
    ``torch.flatten``)."""
    ndim = x.ndim
    if ndim == 0:
        return reshape(x, 1)
    start, end = _dim("flatten", start_dim, ndim), _dim("flatten", end_dim, ndim)
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                         f"tensor of shape {format_shape(x.shape)}")
    if start == end:
        return x        # nothing merged: the input itself, as PyTorch returns it
    shape = x.shape
    middle = None if None in shape[start:end + 1] else _product(shape[start:end + 1])
    return reshape_or_symbolic(x, shape[:start] + (middle,) + shape[end + 1:])


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(x, pad, mode="constant", value=None):
    """PyTorch's F.pad. ``pad`` is the flat form (last dim first: (left, right, top, bottom,
    ...)) or NumPy's ((before, after), ...) per dimension (constant mode only). A negative
    width crops.

    ``mode`` is 'constant' (``value``, default 0, any number of dims), or 'reflect',
    'replicate' and 'circular', which pad the last 1, 2 or 3 dims of a batched or unbatched
    input, as PyTorch allows: 2 values for 2-D or 3-D input, 4 for 3-D or 4-D, 6 for 4-D or 5-D.
    """
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r} (expected one of "
                                  f"{', '.join(map(repr, _PAD_MODES))})")
    ndim = x.ndim
    if pad and isinstance(pad[0], (tuple, list)):
        if mode != "constant":
            raise ValueError(f"pad: (before, after) pairs per dimension are only taken by "
                             f"mode='constant'; give mode={mode!r} PyTorch's flat form")
        widths = tuple(_shape_arg("pad", (tuple(w),)) for w in pad)
        if any(len(w) != 2 for w in widths):
            raise ShapeError(f"pad: expected (before, after) pairs, got {tuple(pad)}")
    else:
        pad = _shape_arg("pad", (tuple(pad),))
        if len(pad) % 2 or len(pad) // 2 > ndim:
            raise ShapeError(f"pad: expected an even number of at most {2 * ndim} values for a "
                             f"{ndim}-d tensor, got {tuple(pad)}")
        if mode != "constant":
            return _mode_pad(x, pad, mode, value)
        widths = [(0, 0)] * ndim
        for i in range(len(pad) // 2):
            widths[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        widths = tuple(widths)
    if value is None:
        value = 0.0
    elif not isinstance(value, (int, float, bool, np.number)):
        raise TypeError(f"pad: value must be a number, got {value!r} of type "
                        f"{type(value).__name__}")
    return apply(Pad(widths, value), x)


def _mode_pad(x, pad, mode, value):
    """reflect / replicate / circular padding, with PyTorch's checks and exception types."""
    if value is not None and value != 0:
        raise RuntimeError(f"pad: padding mode {mode!r} doesn't take in a value argument "
                           f"(got value={value})")
    count = len(pad) // 2
    ndim = x.ndim
    if ndim not in (count + 1, count + 2) or not 1 <= count <= 3:
        raise NotImplementedError(
            f"pad: mode={mode!r} with {len(pad)} padding values is not supported for a "
            f"{ndim}-d input of shape {format_shape(x.shape)}; supported: 2 values for 2-D or "
            "3-D input (pads the last dim), 4 for 3-D or 4-D input (the last 2 dims), 6 for "
            "4-D or 5-D input (the last 3 dims)")
    # First to last padded dim: PyTorch's flat form lists the last dim first.
    widths = tuple((pad[2 * i], pad[2 * i + 1]) for i in reversed(range(count)))
    for i, (before, after) in enumerate(widths):
        axis = ndim - count + i
        size = x.tensor_type.shape[axis]
        if size is None:
            continue
        if mode == "circular":
            if before > size or after > size:
                raise RuntimeError(f"pad: circular padding {(before, after)} of dim {axis} of "
                                   f"the input of shape {format_shape(x.shape)} wraps around "
                                   f"more than once (each width must be at most {size})")
        elif size == 0:
            raise RuntimeError(f"pad: mode={mode!r} needs non-empty padded dims, got dim {axis} "
                               f"of size 0 in the input of shape {format_shape(x.shape)}")
        elif mode == "reflect" and (before >= size or after >= size):
            raise RuntimeError(f"pad: reflect padding {(before, after)} of dim {axis} of the "
                               f"input of shape {format_shape(x.shape)} must be less than the "
                               f"dim's size {size}")
        padded = size + before + after
        kept = size + min(before, 0) + min(after, 0)
        # PyTorch refuses an empty reflect / replicate result; circular's output would read
        # nothing (PyTorch returns uninitialized memory there), so it is refused too.
        if padded < 0 or (padded == 0 and mode != "circular") or (mode == "circular"
                                                                   and kept <= 0 < padded):
            raise RuntimeError(f"pad: padding {(before, after)} of dim {axis} of the input of "
                               f"shape {format_shape(x.shape)} leaves too little: the "
                               f"{mode}-padded size would be {padded}"
                               + (f" from {kept} kept entries" if mode == "circular" else ""))
    return apply(ModePad(mode, widths), x)


def flip(x, axis=None, dims=None):
    """``x`` with the order of its elements reversed along ``dims``/``axis`` (PyTorch's
    ``torch.flip``)."""
    axis = dims if dims is not None else axis
    axes = normalize_axes("flip", axis if axis is not None else tuple(range(x.ndim)), x.ndim)
    return apply(Flip(axes), x)


def tile(x, reps):
    """Repeat the whole tensor ``reps`` times along each dimension (NumPy's tile)."""
    reps = _shape_arg("tile", reps if isinstance(reps, (tuple, list)) else (reps,))
    if any(type(r) is int and r < 0 for r in reps):
        raise ShapeError(f"tile: repeat counts must not be negative, got {reps}")
    ndim = max(x.ndim, len(reps))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - x.ndim) + tuple(x.shape)
    # (a, b) tiled (r, s) is (1, a, 1, b) expanded to (r, a, s, b), then merged pairwise.
    interleaved = []
    for d in shape:
        interleaved += [1, d]
    expanded = []
    for r, d in zip(reps, shape):
        expanded += [r, d]
    y = expand(reshape(x, tuple(interleaved)), tuple(expanded))
    return reshape(y, tuple(r * d for r, d in zip(reps, shape)))


def repeat(x, *sizes):
    """PyTorch's Tensor.repeat: tile the tensor ``sizes`` times along each dimension."""
    sizes = _shape_arg("repeat", sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: {len(sizes)} repeat counts for a {x.ndim}-d tensor of shape "
                         f"{format_shape(x.shape)}; give at least one per dimension")
    if any(type(s) is int and s < 0 for s in sizes):
        raise ShapeError(f"repeat: repeat counts must not be negative, got {sizes}")
    return tile(x, sizes)


def broadcast_to(x, shape):
    """``x`` broadcast to ``shape`` (PyTorch's ``torch.broadcast_to``)."""
    return expand(x, tuple(shape))
