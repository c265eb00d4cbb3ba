"""Constant folding: an op whose inputs are all constants is computed once, at compile time."""
from ganglion.backend import current as backend
from ganglion.symbolic.rewrites import nondeterministic, register


@register("constant_folding")
def fold_constants(node, builder):
    if not node.inputs or nondeterministic(node.op):
        return None
    if any(i.kind != "constant" for i in node.inputs):
        return None
    value = node.op.forward(backend, *[i.value for i in node.inputs])
    return builder.constant(value, node.type)
