"""Gradients of disjoint slices of one array, summed, become one scatter into one buffer.

The gradient of ``x[s]`` is ``IndexAdd``: zeros of x's shape with the slice's gradient added at
``s``. A step that uses several slices of one array (an LSTM's four gates ``gates[:, k*H:(k+1)*H]``)
gets one such zero-filled array per slice and adds them up: for the LSTM step, four zero fills,
four copies and a three-add loop over 64x1024 arrays per time step. When the slices are basic
(slices of step 1) and pairwise disjoint, the sum is the array holding each gradient in its slice:
``ScatterSlices`` makes one array (uninitialised when the slices cover it, else zeros) and copies
each gradient in once. This is the concatenation that Theano's ``local_IncSubtensor`` rewrites
and PyTorch's autograd accumulate differently; here it is a rewrite of the sum.
"""
from ganglion.backend import array_cache
from ganglion.core.op import Op, apply
from ganglion.core.ops.elementwise import Add
from ganglion.core.ops.indexing import GetItem, IndexAdd
from ganglion.core.tensor import TensorType
from ganglion.symbolic.rewrites import register

__all__ = ["ScatterSlices"]


class ScatterSlices(Op):
    """An array of ``like``'s shape holding ``values[k]`` at the basic, pairwise disjoint index
    ``specs[k]`` and zeros elsewhere (nothing else when the indexes cover it)."""
    __slots__ = ("specs", "covers")
    returns_new_array = True
    saves_inputs = False

    def __init__(self, specs, covers):
        self.specs = tuple(specs)
        self.covers = covers

    @property
    def name(self):
        return "scatterslices"

    def __repr__(self):
        return f"ScatterSlices({len(self.specs)} slices{', covering' if self.covers else ''})"

    def forward(self, backend, *arrays):
        *values, like = arrays
        # Reused memory (backend/array_cache.py): a fresh 256 KB array faults its pages in.
        make = array_cache.empty if self.covers else array_cache.zeros
        out = make(like.shape, values[0].dtype)
        for spec, value in zip(self.specs, values):
            out[spec] = value
        return out

    def vjp(self, out, grad, needs):
        return tuple(apply(GetItem(spec), grad) if needs[k] else None
                     for k, spec in enumerate(self.specs)) + (None,)

    def infer(self, *types):
        return TensorType(types[0].dtype, types[-1].shape)


def _box(spec, shape):
    """The index ranges ((start, stop) per dimension) of the basic index ``spec`` on a known
    ``shape``, or None when it is not a tuple of step-1 slices."""
    if not isinstance(spec, tuple) or len(spec) > len(shape):
        return None
    box = []
    for k, d in enumerate(shape):
        part = spec[k] if k < len(spec) else slice(None)
        if not isinstance(part, slice):
            return None
        start, stop, step = part.indices(d)
        if step != 1:
            return None
        box.append((start, max(start, stop)))
    return tuple(box)


def _pieces(node, shape):
    """[(spec, value node, box)] when ``node`` is an IndexAdd or a ScatterSlices of basic slices
    on an array of ``shape``, else None."""
    op = node.op if node.kind == "apply" else None
    if isinstance(op, IndexAdd) and len(node.inputs) == 2:
        box = _box(op.spec, shape)
        return None if box is None else [(op.spec, node.inputs[0], box)]
    if isinstance(op, ScatterSlices):
        return [(spec, value, _box(spec, shape)) for spec, value in zip(op.specs, node.inputs[:-1])]
    return None


def _disjoint(a, b):
    return any(a_stop <= b_start or b_stop <= a_start
               for (a_start, a_stop), (b_start, b_stop) in zip(a, b))


@register("scatter_disjoint_slices")
def scatter_disjoint_slices(node, builder):
    if not isinstance(node.op, Add) or len(node.inputs) != 2:
        return None
    shape = node.type.shape
    if None in shape or any(i.type.shape != shape or i.type.dtype != node.type.dtype
                            for i in node.inputs):
        return None
    left, right = (_pieces(i, shape) for i in node.inputs)
    if left is None or right is None:
        return None
    pieces = left + right
    if not all(_disjoint(a[2], b[2]) for k, a in enumerate(pieces) for b in pieces[k + 1:]):
        return None
    volume = 0
    for _, _, box in pieces:
        size = 1
        for start, stop in box:
            size *= stop - start
        volume += size
    total = 1
    for d in shape:
        total *= d
    like = node.inputs[0].inputs[-1]  # the IndexAdd's or ScatterSlices' array of the shape
    op = ScatterSlices([spec for spec, _, _ in pieces], covers=volume == total)
    return builder.make(op, [value for _, value, _ in pieces] + [like])
