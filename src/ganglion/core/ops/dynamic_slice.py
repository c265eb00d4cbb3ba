"""Indexing with slice bounds known only at run time: ``x[i * n:(i + 1) * n]`` for a symbolic i.

Theano code feeds minibatches this way (``givens={x: data[index * size:(index + 1) * size]}``).
Symbolic bounds are 0-d integer tensors and become inputs of the op (``Slot`` marks their
place); the rest of the index may hold ints, static slices, None and Ellipsis (basic indexing).
A dim cut by a slice with a symbolic bound is unknown (None) until run time.
"""
from ganglion.core.errors import IndexRangeError
from ganglion.core.op import Op, apply, format_shape
from ganglion.core.ops.indexing import Slot, restate_index_error
from ganglion.core.tensor import Tensor, TensorType

__all__ = ["dynamic_getitem"]


def dynamic_getitem(x, index):
    spec, bounds = [], []
    for part in index if isinstance(index, tuple) else (index,):
        if isinstance(part, slice):
            part = slice(*(_lift(v, bounds) for v in (part.start, part.stop, part.step)))
        elif not (part is None or part is Ellipsis or isinstance(part, int)):
            raise IndexError(f"getitem: an index with symbolic slice bounds may hold only ints, "
                             f"slices, None and ..., got {type(part).__name__}")
        spec.append(part)
    return apply(DynamicGetItem(tuple(spec)), x, *bounds)


def _lift(value, bounds):
    if not isinstance(value, Tensor):
        return value
    if value.ndim != 0 or value.dtype.category != 1:
        raise TypeError(f"getitem: a slice bound must be an integer scalar, got a tensor of "
                        f"dtype {value.dtype} and shape {format_shape(value.shape)}")
    bounds.append(value)
    return Slot(len(bounds) - 1)


def _build(spec, bounds):
    def bound(v):
        return int(bounds[v.k]) if isinstance(v, Slot) else v
    return tuple(slice(bound(p.start), bound(p.stop), bound(p.step)) if isinstance(p, slice) else p
                 for p in spec)


def _dynamic(part):
    return isinstance(part, slice) and any(isinstance(v, Slot) for v in (part.start, part.stop, part.step))


class DynamicGetItem(Op):
    __slots__ = ("spec",)
    saves_inputs = False

    def __init__(self, spec):
        self.spec = spec

    def forward(self, backend, x, *bounds):
        try:
            return x[_build(self.spec, bounds)]
        except IndexError as error:  # an int part out of range: name the op and the range
            raise restate_index_error("getitem", error, x.shape) from None

    def vjp(self, out, grad, needs):
        x, *bounds = out._inputs
        return (apply(DynamicIndexAdd(self.spec), grad, x, *bounds),) + (None,) * len(bounds)

    def infer(self, x, *bounds):
        shape = x.shape
        consumed = sum(1 for p in self.spec if p is not None and p is not Ellipsis)
        if consumed > len(shape):
            raise IndexError(f"getitem: {consumed} indices for a tensor of shape {format_shape(shape)}")
        result, axis = [], 0
        for part in self.spec:
            if part is None:
                result.append(1)
            elif part is Ellipsis:
                n = len(shape) - consumed
                result.extend(shape[axis:axis + n])
                axis += n
            elif isinstance(part, int):
                d = shape[axis]
                if d is not None and not -d <= part < d:
                    raise IndexRangeError(f"getitem: index {part} is out of range for dimension "
                                          f"{axis} of size {d} in a tensor of shape "
                                          f"{format_shape(shape)} (indices must be in [-{d}, {d}))")
                axis += 1
            else:
                d = shape[axis]
                axis += 1
                result.append(None if d is None or _dynamic(part) else len(range(*part.indices(d))))
        return TensorType(x.dtype, tuple(result) + tuple(shape[axis:]))


class DynamicIndexAdd(Op):
    """zeros_like(like) with ``values`` at the index: the gradient of DynamicGetItem."""
    __slots__ = ("spec",)
    saves_inputs = False

    def __init__(self, spec):
        self.spec = spec

    def forward(self, backend, values, like, *bounds):
        out = backend.xp.zeros(like.shape, values.dtype)
        out[_build(self.spec, bounds)] = values  # basic indexing never repeats an element
        return out

    def vjp(self, out, grad, needs):
        _, _, *bounds = out._inputs
        return (apply(DynamicGetItem(self.spec), grad, *bounds), None) + (None,) * len(bounds)

    def infer(self, values, like, *bounds):
        return TensorType(values.dtype, like.shape)


