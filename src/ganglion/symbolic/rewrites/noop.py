"""Removal of ops that do nothing: reshapes, broadcasts and sums to the shape the input already
has, identity transposes, casts to the same dtype, products with and divisions by one; and
chains that collapse into one op (reshape of a reshape, transpose of a transpose)."""
from ganglion.core.ops.elementwise import Cast, Div, Mul
from ganglion.core.ops.shape import Expand, ExpandAs, Permute, Reshape, ReshapeAs, SumTo
from ganglion.symbolic.rewrites import is_constant, register


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


@register("remove_multiply_by_one")
def remove_multiply_by_one(node, builder):
    """x * 1, 1 * x and x / 1 are x (exactly, NaN and -0.0 included) when the one changes
    neither the dtype nor the shape; softplus's gradient with beta = 1 has such a product."""
    op = node.op
    if type(op) is Mul:
        a, b = node.inputs
        x = a if is_constant(b, 1) else b if is_constant(a, 1) else None
    elif type(op) is Div and is_constant(node.inputs[1], 1):
        x = node.inputs[0]
    else:
        return None
    if x is not None and x.type.shape == node.type.shape and x.type.dtype is node.type.dtype:
        return x
    return None
