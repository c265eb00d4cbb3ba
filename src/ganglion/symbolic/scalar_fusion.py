"""Scalar fusion: connected 0-d float arithmetic computed by one generated Python function.

An optimizer's symbolic step carries a chain of scalar arithmetic per parameter (Adam: the step
count cast to float64 and incremented, ``1 - beta ** t`` twice, a square root, the step size and
``eps * sqrt(1 - beta2 ** t)`` cast to the parameter's dtype: 14 ops). Each op run by the
schedule costs about 4 us (the schedule's call, the op's ``forward``, a NumPy ufunc call on 0-d
arrays) for nanoseconds of arithmetic, so six parameters' chains cost 0.3 ms per step, more
than the elementwise work of a 512-wide layer. This pass replaces each connected group of two
or more such ops by one node whose kernel is generated Python code over NumPy scalars (about
0.1-0.2 us per op); values used outside the group come out of it as a tuple, each read through a
``FusedOutput`` node, as elementwise fusion's multi-output loops are.

Reference: the loop-invariant scalar work that Theano's ``Composite`` op (``theano/scalar/
basic.py``) fuses into one C function; here it is Python, since the scalars live in Python.

Numbers are NumPy's, bit for bit: each op computes in its result dtype (the type inference's,
NumPy's ``result_type`` of its operands) on operands cast to that dtype, which is what the
unfused ufunc call does, and NumPy scalar arithmetic runs the same C operations as its 0-d
ufunc loops. Only float32/float64 results of add, sub, mul, div, neg, pow, sqrt and casts
(from any bool, int or float dtype) join, and only on the NumPy backend.
"""
import numpy as np

from ganglion.backend import current as backend
from ganglion.core import dtypes
from ganglion.core.op import Op
from ganglion.core.ops.elementwise import Add, Cast, Div, Mul, Pow, Sub
from ganglion.core.ops.unary import Neg, Sqrt
from ganglion.symbolic.fusion import FusedOutput
from ganglion.symbolic.graph import Node, toposort

__all__ = ["fuse_scalars", "FusedScalars"]

_FLOATS = ("float32", "float64")
# Op class -> the Python expression computing it from operand names a (and b).
_EXPRESSIONS = {Add: "{a} + {b}", Sub: "{a} - {b}", Mul: "{a} * {b}", Div: "{a} / {b}",
                Pow: "{a} ** {b}", Neg: "-{a}", Sqrt: "sqrt({a})"}


def _joins(node):
    """Whether ``node`` can be computed inside a scalar group."""
    if node.kind != "apply" or node.type.shape != () or node.type.dtype.name not in _FLOATS:
        return False
    op = node.op
    if type(op) is Cast:
        return all(i.type.shape == () and i.type.dtype.np.kind in "biuf" for i in node.inputs)
    return (type(op) in _EXPRESSIONS
            and all(i.type.shape == () and i.type.dtype.name in _FLOATS for i in node.inputs))


def fuse_scalars(roots):
    """The graph of ``roots`` with each connected group of two or more 0-d float ops (module
    docstring) computed by one node; returns the new roots in the same order."""
    if backend.xp is not np:
        return roots
    order = toposort(roots)
    consumers = {}
    for node in order:
        for i in node.inputs:
            consumers.setdefault(id(i), []).append(node)
    # Groups grow in dependency order. A node joins the group of one of its joining inputs
    # unless one of its other inputs depends on that group (through ops outside it): the
    # fused node would then feed itself.
    group_of = {}   # id(node) -> group number
    depends = {}    # id(node) -> frozenset of the groups it depends on (itself included)
    members = []    # group number -> its members, in dependency order
    for node in order:
        deps = frozenset().union(*(depends[id(i)] for i in node.inputs)) if node.inputs else frozenset()
        if _joins(node):
            group = None
            for i in node.inputs:
                candidate = group_of.get(id(i))
                if candidate is None:
                    continue
                others = [depends[id(j)] for j in node.inputs if group_of.get(id(j)) != candidate]
                if not any(candidate in d for d in others):
                    group = candidate
                    break
            if group is None:
                group = len(members)
                members.append([])
            members[group].append(node)
            group_of[id(node)] = group
            deps = deps | {group}
        depends[id(node)] = deps
    fused = {g for g, m in enumerate(members) if len(m) > 1}
    if not fused:
        return roots
    root_ids = {id(r) for r in roots}
    memo = {}
    for unit in _unit_order(order, group_of, fused):
        if isinstance(unit, int):
            _build(members[unit], memo, consumers, root_ids)
            continue
        node = unit
        new = node
        if node.kind == "apply":
            inputs = tuple(memo[id(i)] for i in node.inputs)
            if any(a is not b for a, b in zip(inputs, node.inputs)):
                new = Node("apply", node.type, op=node.op, inputs=inputs, tensor=node.tensor)
        memo[id(node)] = new
    return [memo[id(r)] for r in roots]


def _unit_order(order, group_of, fused):
    """The nodes of ``order`` outside fused groups and the fused groups' numbers, in an order
    where every unit comes after the units it reads (Kahn's algorithm, stable)."""
    def unit_key(node):
        group = group_of.get(id(node))
        return ("g", group) if group in fused else ("n", id(node))

    units, readers, waiting = {}, {}, {}
    for node in order:
        key = unit_key(node)
        if key not in units:
            units[key] = key[1] if key[0] == "g" else node
            waiting[key] = set()
        for i in node.inputs:
            source = unit_key(i)
            if source != key and source not in waiting[key]:
                waiting[key].add(source)
                readers.setdefault(source, []).append(key)
    count = {key: len(w) for key, w in waiting.items()}
    ready = [key for key in units if count[key] == 0]
    result = []
    while ready:
        key = ready.pop()
        result.append(units[key])
        for reader in readers.get(key, ()):
            count[reader] -= 1
            if count[reader] == 0:
                ready.append(reader)
    return result


def _build(members, memo, consumers, root_ids):
    """Nodes computing the group ``members`` (in dependency order): one ``FusedScalars`` node,
    and a ``FusedOutput`` for each member used outside the group when there are several."""
    inside = {id(m) for m in members}
    names, inputs, input_types, lines, constants = {}, [], [], [], {}
    for k, member in enumerate(members):
        operands = []
        for i in member.inputs:
            if id(i) in names:
                pass
            elif i.kind == "constant":  # baked into the generated code as a NumPy scalar
                names[id(i)] = f"c{len(constants)}"
                constants[names[id(i)]] = np.asarray(i.value, dtype=i.type.dtype.np)[()]
            else:  # an outside value, converted to a NumPy scalar once
                names[id(i)] = f"i{len(inputs)}"
                inputs.append(memo[id(i)])
                input_types.append(i.type.dtype.name)
            operand = names[id(i)]
            dtype = member.type.dtype.name
            if type(member.op) is Cast or i.type.dtype.name != dtype:
                operand = f"{dtype}({operand})"
            operands.append(operand)
        names[id(member)] = f"v{k}"
        if type(member.op) is Cast:
            lines.append(f"v{k} = {operands[0]}")
        else:
            expression = _EXPRESSIONS[type(member.op)].format(a=operands[0], b=operands[-1])
            # Operands of the result's dtype give a NumPy scalar of that dtype.
            lines.append(f"v{k} = {expression}")
    outputs = [m for m in members if id(m) in root_ids
               or any(id(c) not in inside for c in consumers.get(id(m), ()))]
    op = FusedScalars(input_types, constants, lines, [names[id(o)] for o in outputs],
                      tuple(type(m.op).__name__.lower() for m in members))
    if len(outputs) == 1:
        memo[id(outputs[0])] = Node("apply", outputs[0].type, op=op, inputs=tuple(inputs),
                                    tensor=outputs[0].tensor)
        return
    fused = Node("apply", outputs[0].type, op=op, inputs=tuple(inputs))
    for k, o in enumerate(outputs):
        memo[id(o)] = Node("apply", o.type, op=FusedOutput(k), inputs=(fused,), tensor=o.tensor)


class FusedScalars(Op):
    """Connected 0-d float ops computed by one generated Python function (module docstring):
    its value is the one output's NumPy scalar, or the tuple of several. Built only by the
    compiler, after the gradient graph exists: it has no vjp."""
    __slots__ = ("names", "source", "kernel", "outputs")
    differentiable = False

    def __init__(self, input_types, constants, lines, outputs, names):
        self.names = names
        self.outputs = len(outputs)
        arguments = [f"i{k}" for k in range(len(input_types))]
        body = [f"{a} = {t}({a})" for a, t in zip(arguments, input_types)] + lines
        result = outputs[0] if len(outputs) == 1 else "(" + ", ".join(outputs) + ",)"
        self.source = (f"def kernel({', '.join(arguments)}):\n"
                       + "".join(f"    {line}\n" for line in body) + f"    return {result}\n")
        namespace = {"sqrt": np.sqrt, "float32": np.float32, "float64": np.float64}
        namespace.update({name: getattr(np, name) for name in set(input_types)})
        namespace.update(constants)
        exec(compile(self.source, "<fused scalars>", "exec"), namespace)
        self.kernel = namespace["kernel"]

    @property
    def name(self):
        return "fusedscalars"

    def __repr__(self):
        return f"FusedScalars({', '.join(self.names)})"

    def infer(self, *types):
        raise TypeError("FusedScalars: built by the compiler with its types known")

    def forward(self, backend, *values):
        return self.kernel(*values)
