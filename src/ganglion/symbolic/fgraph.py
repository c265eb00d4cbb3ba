"""A read-only view of a compiled function's graph in Theano's terms: ``f.maker.fgraph``.

Reference: Theano 1.0's ``theano/gof/fg.py`` (``FunctionGraph``: ``inputs``, ``outputs``,
``apply_nodes``, ``variables``, ``toposort()``) and ``theano/gof/graph.py`` (``Apply`` with
``op``, ``inputs``, ``outputs``; ``Variable`` with ``owner``, ``name``, ``type``). The graph is
the one the function runs, after the rewrites and fusion, in the schedule's order, so code that
inspects what the optimiser did (``[node.op for node in f.maker.fgraph.toposort()]``) sees the
ops ganglion runs (its own op classes, not Theano's).
"""
from ganglion.symbolic.graph import toposort

__all__ = ["FunctionMaker", "FunctionGraph", "Apply", "Variable"]


class FunctionMaker:
    """``f.maker``: holds the compiled graph (``fgraph``) and the function's inputs."""

    def __init__(self, function):
        self.function = function
        self.inputs = list(function.inputs)
        self.fgraph = FunctionGraph(function)


class Variable:
    """One value of the graph: ``owner`` (the Apply computing it, None for an input, shared
    variable or constant), ``name``, ``type`` (Theano's TensorType) and ``kind``."""

    def __init__(self, node, graph):
        self.node = node
        self.graph = graph

    @property
    def owner(self):
        return self.graph._apply(self.node) if self.node.kind == "apply" else None

    @property
    def name(self):
        return self.node.name

    @property
    def kind(self):
        return self.node.kind

    @property
    def type(self):
        from ganglion.compat.theano.tensor.var import TensorType
        return TensorType(self.node.type.dtype, tuple(d == 1 for d in self.node.type.shape))

    def __repr__(self):
        return self.name or (f"{self.node.op.name}.out" if self.node.kind == "apply" else self.kind)


class Apply:
    """One op applied in the graph: ``op`` (a ganglion Op), ``inputs`` and ``outputs``."""

    def __init__(self, node, graph):
        self.node = node
        self.op = node.op
        self.inputs = [graph._variable(i) for i in node.inputs]
        self.outputs = [graph._variable(node)]

    def __repr__(self):
        return f"{self.op.name}({', '.join(map(repr, self.inputs))})"


class FunctionGraph:
    """The compiled function's graph (module docstring)."""

    def __init__(self, function):
        self._variables = {}
        self._applies = {}
        nodes = toposort(function.output_nodes + [n.node for n in function.schedule.instructions])
        order = [i.node for i in function.schedule.instructions]
        self._order = order + [n for n in nodes if n.kind == "apply" and id(n) not in
                               {id(o) for o in order}]
        self.inputs = [self._variable(n) for n in nodes if n.kind == "input"]
        self.outputs = [self._variable(n) for n in function.output_nodes]
        self.variables = {self._variable(n) for n in nodes}

    def toposort(self):
        """The applies in the order the function runs them."""
        return [self._apply(n) for n in self._order]

    @property
    def apply_nodes(self):
        return set(self.toposort())

    def _variable(self, node):
        variable = self._variables.get(id(node))
        if variable is None:
            variable = self._variables[id(node)] = Variable(node, self)
        return variable

    def _apply(self, node):
        apply = self._applies.get(id(node))
        if apply is None:
            apply = self._applies[id(node)] = Apply(node, self)
        return apply
