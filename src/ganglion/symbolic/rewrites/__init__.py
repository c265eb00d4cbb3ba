"""Graph rewrites: a registry of small functions, and the pass that applies them.

A rewrite is ``rewrite(node, builder) -> Node | None``: it looks at one apply node (whose inputs
are already rewritten) and returns a replacement or None. Replacements are built with
``builder.make(op, inputs)``, which rewrites the new node in turn, so every rewrite sees a
canonical graph. Rewrites run in registration order; the first that fires wins. They must
strictly simplify the graph, so the pass ends. Each module below registers its rewrites:

- ``folding``: constant folding; ``noop``: no-op reshapes, transposes, casts;
- ``stable``: numerically stable forms (log_softmax, softplus, log-sigmoid, sigmoid + BCE);
- ``slices``: summed gradients of disjoint slices of one array as one scatter;
- ``cse``: common-subexpression elimination (registered last: it sees final nodes).
"""
from ganglion.backend import current as backend
from ganglion.symbolic.graph import Node, toposort

__all__ = ["register", "REWRITES", "Builder", "optimize"]

#: (name, function) in the order they are tried.
REWRITES = []


def register(name):
    def decorate(fn):
        REWRITES.append((name, fn))
        return fn
    return decorate


class Builder:
    """Makes canonical nodes: each new node is rewritten and merged with an equal one."""

    def __init__(self, names=None):
        self.rewrites = [fn for name, fn in REWRITES if names is None or name in names]
        self.merged = {}
        self.constants = {}

    def make(self, op, inputs):
        inputs = tuple(inputs)
        node = Node("apply", op.infer(*[i.type for i in inputs]), op=op, inputs=inputs)
        return self.canonical(node)

    def canonical(self, node):
        for rewrite in self.rewrites:
            result = rewrite(node, self)
            if result is not None:
                return result
        return node

    def constant(self, value, type):
        """A constant node; small equal constants are one node, so CSE can merge their users."""
        value = backend.xp.asarray(value)
        if value.size > 16:
            return Node("constant", type, value=value)
        key = (value.dtype.str, value.shape, value.tobytes())
        node = self.constants.get(key)
        if node is None:
            node = self.constants[key] = Node("constant", type, value=value)
        return node


def optimize(outputs, names=None):
    """The rewritten graph of ``outputs`` (nodes); ``names`` limits the rewrites (for tests)."""
    builder = Builder(names)
    memo = {}
    for node in toposort(outputs):
        key = id(node)
        if node.kind == "constant":
            memo[key] = builder.constant(node.value, node.type)
            continue
        if node.kind != "apply":
            memo[key] = node
            continue
        inputs = tuple(memo[id(i)] for i in node.inputs)
        if any(new is not old for new, old in zip(inputs, node.inputs)):
            node = Node("apply", node.type, op=node.op, inputs=inputs, tensor=node.tensor)
        memo[key] = builder.canonical(node)
    return [memo[id(o)] for o in outputs]


def is_constant(node, value):
    """True when ``node`` is a constant whose elements all equal ``value``."""
    return node.kind == "constant" and node.value.size > 0 and bool((node.value == value).all())


def nondeterministic(op):
    """Random ops draw new values on every call: never folded, never merged."""
    return getattr(op, "nondeterministic", False)


from ganglion.symbolic.rewrites import folding, noop, stable, slices, cse  # noqa: E402,F401  (registers, in order)
