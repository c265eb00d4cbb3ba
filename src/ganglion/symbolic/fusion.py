"""Elementwise fusion: the compiler's last rewrite, run after ``rewrites.optimize``.

Connected elementwise ops of one output shape become one fused node, computed by a single
generated loop (``backend.fused_loops``): an Adam update, a ReLU's backward mask, a bias add
followed by its activation. Intermediates never exist as arrays.

Groups are found walking the graph from its roots back: a node joins the group of its
consumers when it is elementwise with the group's shape and every consumer is in that one
group, so no value is computed twice. A value the function returns or assigns to a shared
variable is stored by the loop that computes it, as a further output when it joined its
consumers' group: Adam's new moments and new parameter come out of one pass, and the schedule
lets the loop write each straight over the storage of the value it updates. A group's other
inputs are read whole (same shape), as one number (size 1) or as a row repeated over the
leading dimensions (a bias), which covers what training graphs fuse; other broadcasts end it.

A group's own shape is always known, but its inputs' shapes may have unknown dimensions (a
placeholder's batch dimension, a weight's gradient computed from it): such an input, whose
known dimensions match the group's, is read 'full', and the loop broadcasts it to the group's
shape when it runs if it turns out smaller (an unknown dimension may be 1).

A group of one op is left alone: NumPy's own kernel is as fast. Fusion needs numba (the
``jit`` extra); without it, or with ``GANGLION_FUSION=0``, graphs are compiled unfused.

Which ops can join a loop is declared on the ops: ``Op.loop_opcode`` names the template in
``backend.fused_loops.OPCODES`` that computes the op. Only ops that LLVM turns into vector
instructions declare one: exp, log, tanh, sigmoid and pow are left to NumPy, because numba
calls the C library's scalar versions, 5-40x slower than NumPy's SIMD loops, which would cost
more than the memory passes that fusing them saves.
"""
from ganglion.backend import current as backend
from ganglion.backend import fused_loops
from ganglion.core import dtypes
from ganglion.core.op import Op
from ganglion.core.tensor import TensorType
from ganglion.symbolic.graph import Node, toposort

__all__ = ["fuse", "FusedElementwise", "FusedElementwiseOutputs", "FusedOutput"]

# Comparisons give bool results from any readable operands; every other opcode computes in
# the float dtype of its result.
_COMPARE = ("gt", "lt", "ge", "le", "eq", "ne")
_FLOATS = ("float32", "float64")
_READABLE = ("float32", "float64", "bool")

# Groups smaller than this many elements are left unfused: a loop call costs a few
# microseconds more than a NumPy call, which pays only when the saved passes over memory do.
MIN_SIZE = 256


def _opcode(node):
    """The loop opcode computing ``node`` (its op's ``loop_opcode``), or None if it cannot be
    fused."""
    opcode = node.op.loop_opcode
    if opcode is None or any(i.type.dtype.name not in _READABLE for i in node.inputs):
        return None
    if opcode in _COMPARE or node.type.dtype.name in _FLOATS:
        return opcode
    return None


def _size(shape):
    """The number of elements of ``shape``, or None when a dimension is unknown."""
    size = 1
    for d in shape:
        if d is None:
            return None
        size *= d
    return size


def _read_kind(shape, group_shape):
    """How a loop over ``group_shape`` (known) reads an input of ``shape``: ('full'|'scalar',
    None), ('row', inner size), or None when it cannot."""
    if shape == group_shape:
        return "full", None
    if None in shape:
        # Known only at run time: read whole, broadcast first if smaller (_expand_inputs).
        if len(shape) <= len(group_shape) and all(
                d is None or d == g for d, g in zip(shape[::-1], group_shape[::-1])):
            return "full", None
        return None
    if _size(shape) == 1:
        return "scalar", None
    trimmed = tuple(shape)
    while trimmed and trimmed[0] == 1:
        trimmed = trimmed[1:]
    if trimmed and len(trimmed) < len(group_shape) and group_shape[-len(trimmed):] == trimmed:
        return "row", _size(trimmed)
    return None


class _Group:
    __slots__ = ("shape", "members", "row")

    def __init__(self, shape):
        self.shape = shape
        self.members = []  # from the group's root back: the root first
        self.row = None    # the inner size of this group's row inputs, once it has one


def fuse(roots):
    """The graph of ``roots`` (nodes: outputs and update values) with elementwise groups
    fused; returns the new root nodes in the same order."""
    if not fused_loops.available():
        return roots
    order = toposort(roots)
    consumers = {}
    for node in order:
        for i in node.inputs:
            consumers.setdefault(id(i), []).append(node)
    materialized = {id(r) for r in roots}
    group_of = {}
    for node in reversed(order):
        row = _fusable(node)
        if row is False:
            continue
        users = consumers.get(id(node), ())
        group = group_of.get(id(users[0])) if users else None
        if (group is None or group.shape != node.type.shape
                or any(group_of.get(id(c)) is not group for c in users)
                or (row is not None and group.row not in (None, row))):
            group = _Group(node.type.shape)
        group.members.append(node)
        if row is not None:
            group.row = row
        group_of[id(node)] = group
    return _Rebuild(order, roots, materialized).run(group_of)


def _fusable(node):
    """False if ``node`` cannot be in a group; else the inner size of its row inputs (None
    when it has none)."""
    if node.kind != "apply" or _opcode(node) is None:
        return False
    shape = node.type.shape
    if None in shape or _size(shape) < MIN_SIZE:
        return False
    reads = [_read_kind(i.type.shape, shape) for i in node.inputs]
    if None in reads:
        return False
    rows = {inner for kind, inner in reads if kind == "row"}
    if len(rows) > 1:
        return False
    return rows.pop() if rows else None


class _Rebuild:
    """New nodes for the graph: each group of two or more ops becomes one fused node in place
    of its root. A group's materialized members (values returned or assigned, which joined
    their consumers' group) are further outputs of its loop, each read through a
    ``FusedOutput`` node."""

    def __init__(self, order, roots, materialized):
        self.order = order
        self.roots = roots
        self.materialized = materialized
        self.position = {id(node): k for k, node in enumerate(order)}
        self.memo = {}

    def run(self, group_of):
        memo = self.memo
        for node in self.order:
            group = group_of.get(id(node))
            if group is not None and len(group.members) > 1:
                if group.members[0] is node:
                    self._fuse(sorted(group.members, key=lambda m: self.position[id(m)]), group)
                continue
            new = node
            if node.kind == "apply":
                inputs = tuple(memo[id(i)] for i in node.inputs)
                if any(a is not b for a, b in zip(inputs, node.inputs)):
                    new = Node("apply", node.type, op=node.op, inputs=inputs, tensor=node.tensor)
            memo[id(node)] = new
        return [memo[id(r)] for r in self.roots]

    def _fuse(self, members, group):
        """Nodes for ``members`` (in dependency order; the last is the group's root)."""
        step_of = {id(m): k for k, m in enumerate(members)}
        external = {}     # id(original input node) -> its argument number
        reads, inputs, steps = [], [], []
        for member in members:
            operands = []
            for i in member.inputs:
                if id(i) in step_of:
                    operands.append(("step", step_of[id(i)]))
                    continue
                if id(i) not in external:
                    external[id(i)] = len(inputs)
                    reads.append((_read_kind(i.type.shape, group.shape)[0], i.type.dtype.name))
                    inputs.append(self.memo[id(i)])
                operands.append(("in", external[id(i)]))
            steps.append((_opcode(member), tuple(operands), member.type.dtype.name))
        root = members[-1]
        outputs = [root] + [m for m in members[:-1] if id(m) in self.materialized]
        spec = fused_loops.LoopSpec(reads, steps, [step_of[id(o)] for o in outputs])
        names = tuple(type(m.op).__name__.lower() for m in members)
        # Inputs of partly unknown shape, which the loop may have to broadcast when it runs.
        expand = tuple(k for k, i in enumerate(inputs)
                       if reads[k][0] == "full" and i.type.shape != group.shape)
        if len(outputs) == 1:
            op = FusedElementwise(spec, group.shape, names, expand)
            self.memo[id(root)] = Node("apply", root.type, op=op, inputs=tuple(inputs), tensor=root.tensor)
            return
        op = FusedElementwiseOutputs(spec, group.shape, names, expand)
        fused = Node("apply", root.type, op=op, inputs=tuple(inputs))
        for k, o in enumerate(outputs):
            self.memo[id(o)] = Node("apply", o.type, op=FusedOutput(k), inputs=(fused,), tensor=o.tensor)


class _FusedLoop(Op):
    """Several elementwise ops computed by one compiled loop (see the module docstring).
    Built only by the compiler, after the gradient graph exists: it has no vjp."""
    __slots__ = ("spec", "shape", "names", "expand")
    differentiable = False

    def __init__(self, spec, shape, names, expand=()):
        self.spec = spec
        self.shape = tuple(shape)
        self.names = names
        self.expand = expand  # positions of the inputs read 'full' whose shape is partly unknown

    @property
    def name(self):
        return "fused"

    def __repr__(self):
        return f"Fused({', '.join(self.names)})"

    def infer(self, *types):
        return TensorType(dtypes.as_dtype(self.spec.out_dtype()), self.shape)

    def _inputs_read(self, arrays):
        """``arrays`` with those of partly unknown shape broadcast to the loop's shape where they
        are smaller (NumPy's error, as unfused, where they cannot be)."""
        if not self.expand:
            return arrays
        arrays = list(arrays)
        for k in self.expand:
            if arrays[k].shape != self.shape:
                arrays[k] = backend.xp.broadcast_to(arrays[k], self.shape)
        return arrays


class FusedElementwise(_FusedLoop):
    """A fused loop with one output: a new array, or (``in_place_kernel``) one that the
    schedule hands it."""
    __slots__ = ()
    returns_new_array = True
    accepts_out = True

    def forward(self, backend, *arrays):
        return fused_loops.run(self.spec, self.shape, self._inputs_read(arrays), (None,))[0]

    def in_place_kernel(self, backend, position, arity):
        """A kernel writing the result into its argument at ``position``: an input that dies
        here, or (one past the inputs) a spare buffer of the result's type."""
        spec, shape, read = self.spec, self.shape, self._inputs_read
        # The schedule writes only into an input of the result's own (known) type, never into
        # one that may need broadcasting.
        if position < len(spec.inputs):
            return lambda *arrays: fused_loops.run(spec, shape, read(arrays), (position,))[0]
        return lambda *arrays: fused_loops.run(spec, shape, read(arrays[:-1]), (arrays[-1],))[0]


class FusedElementwiseOutputs(_FusedLoop):
    """A fused loop with several outputs; its value is their tuple, read by ``FusedOutput``
    nodes. Each output is a new array, unless the schedule gives the loop one to write over
    (``kernel_into``): the storage of the shared value that the output updates."""
    __slots__ = ()

    def forward(self, backend, *arrays):
        return fused_loops.run(self.spec, self.shape, self._inputs_read(arrays),
                               (None,) * len(self.spec.outputs))

    def kernel_into(self, positions):
        """A kernel whose arguments are the inputs and then buffers: output k is written into
        the argument at ``positions[k]``, or into a new array where that is None."""
        spec, shape, count, read = self.spec, self.shape, len(self.spec.inputs), self._inputs_read
        return lambda *args: fused_loops.run(
            spec, shape, read(args[:count]), tuple(None if p is None else args[p] for p in positions))


class FusedOutput(Op):
    """Output ``index`` of a ``FusedElementwiseOutputs`` node: a new array, or storage of a
    shared value that the schedule gave the loop to write over (an update's result, kept
    anyway)."""
    __slots__ = ("index",)
    differentiable = False
    returns_new_array = True

    def __init__(self, index):
        self.index = index

    def forward(self, backend, outputs):
        return outputs[self.index]
