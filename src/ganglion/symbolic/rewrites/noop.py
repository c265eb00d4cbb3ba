"""Removal of ops that do nothing: reshapes, broadcasts and sums to the shape the input already
has, identity transposes, casts to the same dtype; and chains that collapse into one op
(reshape of a reshape, transpose of a transpose)."""
from ganglion.core.ops.elementwise import Cast
from ganglion.core.ops.shape import Expand, ExpandAs, Permute, Reshape, ReshapeAs, SumTo
from ganglion.symbolic.rewrites import register


def _known_equal(a, b):
    return a.shape == b.shape and None not in a.shape


@register("remove_noop_reshape")
def remove_noop_reshape(node, builder):
    op = node.op
    if isinstance(op, (Reshape, Expand)):
        x = node.inputs[0]
        if _known_equal(x.type, node.type):
            return x
        if isinstance(op, Reshape) and x.kind == "apply" and isinstance(x.op, Reshape):
            return builder.make(op, (x.inputs[0],))
    elif isinstance(op, (ReshapeAs, ExpandAs, SumTo)):
        x, like = node.inputs
        if _known_equal(x.type, like.type):
            return x
    return None


@register("remove_noop_transpose")
def remove_noop_transpose(node, builder):
    op = node.op
    if not isinstance(op, Permute):
        return None
    x = node.inputs[0]
    if op.axes == tuple(range(len(op.axes))):
        return x
    if x.kind == "apply" and isinstance(x.op, Permute):
        axes = tuple(x.op.axes[a] for a in op.axes)
        return builder.make(Permute(axes), (x.inputs[0],))
    return None


@register("remove_noop_cast")
def remove_noop_cast(node, builder):
    if isinstance(node.op, Cast) and node.inputs[0].type.dtype is node.op.dtype:
        return node.inputs[0]
    return None
