"""Common-subexpression elimination: equal ops (Ops compare by their attributes) applied to the
same input nodes are one node. Random ops are never merged: each draws its own values."""
from ganglion.symbolic.rewrites import nondeterministic, register


@register("cse")
def merge_equal_nodes(node, builder):
    if nondeterministic(node.op):
        return None
    key = (node.op, tuple(id(i) for i in node.inputs))
    existing = builder.merged.get(key)
    if existing is None:
        builder.merged[key] = node
        return None
    return existing if existing is not node else None
