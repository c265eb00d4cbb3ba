"""The compiler's own graph: nodes extracted from Tensors between a function's inputs and outputs.

The user's Tensors are never changed by compiling: ``extract`` copies the subgraph into ``Node``
objects that rewrites may replace freely. A node is one of four kinds:

- ``input``: a placeholder listed in the function's inputs (its value comes from the caller);
- ``shared``: a shared variable, or a tensor holding a value (a parameter): read at call time.
  A tensor computed eagerly from other valued tensors without a recorded node (no gradient was
  needed) is a value fixed when the expression was built;
- ``constant``: a ``Constant`` (a Python number in an expression), or a folded value;
- ``apply``: an op applied to other nodes.

``extract`` also substitutes ``givens`` and raises the errors that name a missing input. A node
made before an in-place change of a tensor it reads takes the value from before the change
(``core/rebinds.py inputs_as_read``, which corrects the node's ``_inputs``).
"""
from ganglion.core.rebinds import inputs_as_read
from ganglion.core.tensor import Constant, TensorType
from ganglion.symbolic.shared import SharedVariable

__all__ = ["Node", "extract", "toposort", "describe"]


class Node:
    __slots__ = ("kind", "op", "inputs", "type", "value", "tensor")

    def __init__(self, kind, type, op=None, inputs=(), value=None, tensor=None):
        self.kind = kind
        self.type = type
        self.op = op
        self.inputs = inputs
        self.value = value
        self.tensor = tensor

    @property
    def name(self):
        return self.tensor.name if self.tensor is not None else None

    def __repr__(self):
        if self.kind == "apply":
            return f"Node({self.op!r}, {len(self.inputs)} inputs, {self.type})"
        return f"Node({self.kind}, {self.name or ''}, {self.type})"


def describe(t):
    """How errors name a tensor: its name if it has one, and its type."""
    dims = ", ".join("?" if d is None else str(d) for d in t.tensor_type.shape)
    label = f"{t.name!r} " if t.name else ""
    return f"{label}({t.dtype.name}, shape ({dims}{',' if t.ndim == 1 else ''}))"


def extract(outputs, inputs, givens):
    """Nodes for ``outputs`` (a list of Tensors), with ``inputs`` (placeholders) as input nodes
    and ``givens`` ({tensor: replacement tensor}) substituted. Returns (output nodes, the input
    nodes in order, {id(tensor): node} for every tensor visited)."""
    memo = {}
    input_nodes = []
    for t in inputs:
        node = Node("input", t.tensor_type, tensor=t)
        memo[id(t)] = node
        input_nodes.append(node)
    replacement = {id(old): new for old, new in givens}
    result = [_convert(t, memo, replacement) for t in outputs]
    return result, input_nodes, memo


def _convert(root, memo, replacement):
    """The node for ``root``, converting what it depends on first (iteratively: graphs of
    unrolled RNNs are deeper than Python's recursion limit). A tensor met again while what it
    depends on is still being converted closes a cycle: that raises GraphCycleError instead of
    looping forever."""
    # Entries are (tensor, expanded): a tensor is pushed once to expand it (its inputs are
    # pushed above it) and once more, below them, to build its node when they are done. The
    # tensors in ``converting`` are those whose node waits on the ones above them: the path.
    converting = set()
    stack = [(root, False)]
    while stack:
        t, expanded = stack.pop()
        key = id(t)
        if expanded:
            converting.discard(key)
            source = replacement.get(key, t)
            if source is not t:
                memo[key] = memo[id(source)]
            else:
                memo[key] = Node("apply", t.tensor_type, op=t._op,
                                 inputs=tuple(memo[id(i)] for i in t._inputs), tensor=t)
            continue
        if key in memo:
            continue
        if key in converting:
            raise GraphCycleError(
                f"function: the graph of the outputs has a cycle through the tensor {describe(t)}: "
                "it depends on itself (e.g. an in-place change whose operands read the tensor "
                "after it was changed, or givens= replacing a tensor by an expression of itself)")
        source = replacement.get(key, t)
        if source is not t:
            converting.add(key)
            stack.append((t, True))
            stack.append((source, False))
            continue
        if t._op is None:
            memo[key] = _leaf(t)
            continue
        converting.add(key)
        stack.append((t, True))
        stack.extend((i, False) for i in reversed(inputs_as_read(t)) if id(i) not in memo)
    return memo[id(root)]


def _leaf(t):
    if isinstance(t, SharedVariable):
        return Node("shared", t.tensor_type, tensor=t)
    if t._data is None:
        raise MissingInputError(
            f"function: the outputs depend on the placeholder {describe(t)}, which is not in the "
            "list of inputs; add it to the inputs, or replace it with givens=")
    if isinstance(t, Constant):
        return Node("constant", t.tensor_type, value=t._data, tensor=t)
    return Node("shared", TensorType(t.dtype, t.shape), tensor=t)


class MissingInputError(ValueError):
    """A graph needs a placeholder that the function's inputs do not list."""


class GraphCycleError(ValueError):
    """The tensors between a function's inputs and outputs depend on themselves."""


def toposort(outputs):
    """Every node reachable from ``outputs``, each after its inputs."""
    order = []
    visited = set()
    stack = [(node, False) for node in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for i in reversed(node.inputs):
            if id(i) not in visited:
                stack.append((i, False))
    return order
