"""The numerically stable form of a symbolic graph, taken before it is differentiated.

The compiler rewrites ``log(1 - sigmoid(z))`` into ``-softplus(z)`` (``stable.py``), but a
gradient built from the graph as written is ``-g / (1 - sigmoid(z)) * sigmoid(z) * (1 -
sigmoid(z))``: at z = 40 in float64, 1 - sigmoid(z) is 0 and the gradient is inf * 0 = NaN, so
training diverges although the cost the function reports is finite (issue 16: Theano's
logistic-regression example ended with NaN weights). ``ganglion.grad`` on a symbolic graph
therefore differentiates the stable form: ``stable_roots`` applies the rewrites of ``stable.py``
(only those: no folding or merging) to the graph of the outputs and returns the outputs rebuilt
as Tensors where something was rewritten. softplus's derivative is the sigmoid, finite
everywhere, and log_softmax's is softmax minus the target.

The user's Tensors are not changed: rewritten parts and the nodes above them up to the outputs
are new Tensors; everything else (the leaves, untouched subgraphs) is the original. A tensor the
gradient is asked for, one with hooks or retained gradients, a random draw and a custom
Function's nodes are kept as they are and not rewritten through, so that what the caller sees
of the walk stays the same. Theano reaches a stable gradient by rewriting the gradient graph
itself (its canonicalizer cancels the 1 - sigmoid factors); rewriting before differentiating
gives the same result with the rewrites the forward pass already has.
"""
from ganglion.core.grad_mode import enable_grad
from ganglion.core.op import apply
from ganglion.core.tensor import Constant, make_tensor
from ganglion.symbolic.graph import Node, toposort
from ganglion.symbolic.rewrites import Builder, nondeterministic
from ganglion.symbolic.rewrites.stable import NAMES, REPLACED_OPS

__all__ = ["stable_roots"]


def stable_roots(roots, keep=None):
    """``roots`` (Tensors) in their stable form: the same list when no rewrite applies, else
    new Tensors computing the same values stably. ``keep``: ids of tensors to leave as they are
    (the ones whose gradients are asked for)."""
    keep = keep or ()
    order = _tensors_in_order(roots, keep)
    if not any(type(t._op) in REPLACED_OPS for t in order):
        return roots  # the common case, decided without building the compiler's nodes
    nodes, changed = _rewritten_nodes(roots, order, keep)
    if not changed:
        return roots
    return _as_tensors(nodes)


def _opaque(t, keep):
    """True when ``t`` is a leaf of the rewritten graph (not rewritten, not looked through):
    rebuilding a node above a random op would draw new values, and a custom Function's node
    holds the state of its own call."""
    op = t._op
    return (op is None or t._inputs is None or id(t) in keep or bool(t._hooks)
            or t._retains_grad or nondeterministic(op) or isinstance(op, _function_ops()))


def _function_ops():
    global _FUNCTION_OPS
    if _FUNCTION_OPS is None:  # imported late: ganglion.autograd imports the engine
        from ganglion.autograd.function import FunctionNode, SymbolicFunctionOutput
        _FUNCTION_OPS = (FunctionNode, SymbolicFunctionOutput)
    return _FUNCTION_OPS


_FUNCTION_OPS = None


def _rewritten_nodes(roots, order, keep):
    """Nodes for ``roots`` (``order``: their tensors, inputs first) with the stable rewrites
    applied, and whether any applied."""
    builder = Builder(NAMES)
    memo = {}
    changed = False
    for t in order:
        if _opaque(t, keep):
            kind = "constant" if isinstance(t, Constant) else "input"
            memo[id(t)] = Node(kind, t.tensor_type, value=t._data, tensor=t)
            continue
        inputs = tuple(memo[id(i)] for i in t._inputs)
        original = all(node.tensor is i for node, i in zip(inputs, t._inputs))
        node = Node("apply", t.tensor_type, op=t._op, inputs=inputs, tensor=t if original else None)
        if type(t._op) in REPLACED_OPS:
            canonical = builder.canonical(node)
            changed = changed or canonical is not node
            node = canonical
        memo[id(t)] = node
    return [memo[id(r)] for r in roots], changed


def _tensors_in_order(roots, keep):
    """Tensors reachable from ``roots``, each after its inputs; opaque ones end the walk
    (iterative: unrolled graphs are deeper than Python's recursion limit)."""
    order, visited = [], set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        t, expanded = stack.pop()
        if expanded:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        if not _opaque(t, keep):
            stack.extend((i, False) for i in reversed(t._inputs) if id(i) not in visited)
    return order


def _as_tensors(nodes):
    """Tensors for ``nodes``: a node with a tensor is that tensor (an apply node has one only
    while its inputs are the tensor's own); a new node becomes a new Tensor."""
    tensors = {}
    # Recorded, so that parts computed from values only (parameters) stay in the graph and
    # the gradient walk goes through them, as through the original.
    with enable_grad():
        for node in toposort(nodes):
            if node.tensor is not None:
                t = node.tensor
            elif node.kind == "constant":
                t = make_tensor(node.value, cls=Constant)
            else:
                t = apply(node.op, *[tensors[id(i)] for i in node.inputs])
            tensors[id(node)] = t
    return [tensors[id(n)] for n in nodes]
