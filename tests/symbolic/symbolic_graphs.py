"""Test helpers: the compiler's graph of an expression, and graph equality (as PyTensor's
``assert_equal_computations``): same ops with the same attributes, same leaves, same structure."""
from ganglion.symbolic.graph import extract
from ganglion.symbolic.rewrites import optimize


def compiled_graph(outputs, inputs, rewrites=None):
    """The rewritten nodes of ``outputs``; ``rewrites`` names the rewrites to run (None: all)."""
    nodes, _, _ = extract(list(outputs), list(inputs), [])
    return optimize(nodes, rewrites)


def raw_graph(outputs, inputs):
    nodes, _, _ = extract(list(outputs), list(inputs), [])
    return nodes


def same_graph(a, b):
    """True when nodes ``a`` and ``b`` compute the same thing in the same way."""
    if a.kind != b.kind:
        return False
    if a.kind == "apply":
        return (a.op == b.op and len(a.inputs) == len(b.inputs)
                and all(same_graph(x, y) for x, y in zip(a.inputs, b.inputs)))
    if a.kind == "constant":
        return a.value.shape == b.value.shape and bool((a.value == b.value).all())
    return a.tensor is b.tensor


def count_ops(node, op_class, seen=None):
    seen = set() if seen is None else seen
    if id(node) in seen:
        return 0
    seen.add(id(node))
    own = int(node.kind == "apply" and isinstance(node.op, op_class))
    return own + sum(count_ops(i, op_class, seen) for i in node.inputs)
