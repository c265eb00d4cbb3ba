"""The ONNX graph under construction: values, initializers and nodes, and the walk over ganglion's
graph that fills it (``GraphWriter.convert``).

Each ganglion node becomes the ONNX value its converter returns (``_export_ops.converter_for``,
looked up by the op's exact class, so that a backward op never passes for its forward
subclass). Input nodes are graph inputs; shared nodes (parameters, buffers, shared variables)
are initializers, one per tensor; constants are initializers too, and an op whose inputs are
all constants is computed here and written as its value (constant folding). Nodes that no
output needs (a converter may bypass parts of the ganglion graph, as the recurrent ones do) are
pruned before the model is made.
"""
import numpy as np

from ganglion.backend import current as backend
from ganglion.onnx.export import UnsupportedOnnxOpError, import_onnx, to_numpy

__all__ = ["GraphWriter"]

#: Why some ops have no ONNX form: they belong to training, not to the inference graph.
_WHY = {
    "DropoutMask": "dropout draws a mask in training mode; export the model in eval mode",
}

#: Ops whose value must not be computed at export time even when their inputs are constants.
_NOT_FOLDED = {"RandomDraw", "RandomSample", "DropoutMask"}


class GraphWriter:
    """Builds one ONNX graph at ``opset``. ``paths``: {id(symbolic tensor): module label} for
    error messages and node names; ``parameter_names``: {id(tensor): initializer name}."""

    def __init__(self, opset, paths, parameter_names):
        self.onnx = import_onnx()
        self.helper = self.onnx.helper
        self.opset = opset
        self.paths = paths
        self.parameter_names = parameter_names
        self.nodes = []
        self.initializers = {}  # name -> NumPy array
        self.used_names = set()
        self.scope = ""
        self.counter = 0
        self.inputs = []
        self.outputs = []
        self.values = {}        # id(ganglion node) -> ONNX value name (or a converter's marker)
        self.constant_values = {}  # id(ganglion node) -> NumPy value of a constant node
        self.scalar_cache = {}

    # ----- building blocks the converters use -------------------------------------------------
    def fresh(self, hint):
        name = hint
        while name in self.used_names:
            self.counter += 1
            name = f"{hint}_{self.counter}"
        self.used_names.add(name)
        return name

    def add(self, op_type, inputs, outputs=1, **attributes):
        """Append an ONNX node; returns its output name (a list of names if ``outputs`` > 1)."""
        prefix = f"{self.scope}/" if self.scope else ""
        names = [self.fresh(f"{prefix}{op_type}_out{k}" if outputs > 1 else f"{prefix}{op_type}")
                 for k in range(outputs)]
        node_name = self.fresh(f"{prefix}{op_type}_node")
        attributes = {k: v for k, v in attributes.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, name=node_name,
                                                **attributes))
        return names if outputs > 1 else names[0]

    def initializer(self, array, hint):
        name = self.fresh(hint)
        self.initializers[name] = np.asarray(array)
        return name

    def constant(self, array, dtype=None):
        """An initializer holding ``array`` (small constants of equal value are written once)."""
        array = np.asarray(array, dtype=dtype)
        if array.size <= 16:
            key = (array.dtype.str, array.shape, array.tobytes())
            name = self.scalar_cache.get(key)
            if name is None:
                name = self.scalar_cache[key] = self.initializer(array, "const")
            return name
        return self.initializer(array, "const")

    def ints(self, values):
        """A 1-d int64 initializer (shapes, axes, pads)."""
        return self.constant(np.asarray(list(values), dtype=np.int64).reshape(-1))

    def reduce(self, op_type, x, axes, keepdims):
        """A Reduce* node over ``axes`` (None: all): axes are an input from opset 18 (13 for
        ReduceSum), an attribute before."""
        keepdims = int(bool(keepdims))
        if axes is None:
            return self.add(op_type, [x], keepdims=keepdims)
        axes = [int(a) for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.add(op_type, [x, self.ints(axes)], keepdims=keepdims)
        return self.add(op_type, [x], axes=axes, keepdims=keepdims)

    def unsupported(self, node, why=None):
        where = self.paths.get(id(node.tensor)) if node.tensor is not None else None
        where = f" in {where}" if where else ""
        why = why or _WHY.get(type(node.op).__name__)
        why = f": {why}" if why else ""
        return UnsupportedOnnxOpError(
            f"export: op {type(node.op).__name__} ({node.op.name}){where} has no ONNX form in "
            f"ganglion's exporter at opset {self.opset}{why}")

    # ----- the walk -------------------------------------------------------------------------
    def convert(self, graph, input_names, output_names, dynamic_axes):
        from ganglion.onnx._export_ops import converter_for
        helper = self.helper
        self.used_names.update(input_names)
        self.used_names.update(output_names)
        for node, name in zip(graph.inputs, input_names):
            self.values[id(node)] = name
            self.inputs.append(self._value_info(name, node.type, dynamic_axes.get(name, {})))
        for node in graph.nodes:
            if id(node) in self.values:
                continue
            if node.kind == "input":
                raise ValueError(f"export: the outputs depend on an input that is not listed "
                                 f"({node.name or 'unnamed'})")
            if node.kind in ("shared", "constant"):
                self._leaf(node)
                continue
            if self._fold(node):
                continue
            converter = converter_for(node.op)
            if converter is None:
                raise self.unsupported(node)
            label = self.paths.get(id(node.tensor)) if node.tensor is not None else None
            self.scope = label.split(" ")[0] if label and not label.startswith("the model") else ""
            self.values[id(node)] = converter(self, node.op, node,
                                              [self.values[id(i)] for i in node.inputs])
            self.scope = ""
        for node, name in zip(graph.outputs, output_names):
            value = self.values[id(node)]
            if not isinstance(value, str):
                raise self.unsupported(node, "its result is internal to another op")
            self.nodes.append(helper.make_node("Identity", [value], [name],
                                               name=self.fresh(f"{name}_identity")))
            self.outputs.append(self._value_info(name, node.type, dynamic_axes.get(name, {})))

    def _leaf(self, node):
        if node.kind == "constant":
            value = np.asarray(node.value if node.value is not None else to_numpy(node.tensor))
            value = backend.to_numpy(value) if not isinstance(value, np.ndarray) else value
            self.constant_values[id(node)] = value
            self.values[id(node)] = self.constant(value)
            return
        tensor = node.tensor
        name = self.parameter_names.get(id(tensor)) or tensor.name or "tensor"
        self.values[id(node)] = self.initializer(to_numpy(tensor), name)

    def _fold(self, node):
        """Compute an op whose inputs are all constants now; True if it was."""
        if not node.inputs or type(node.op).__name__ in _NOT_FOLDED:
            return False
        if not all(id(i) in self.constant_values for i in node.inputs):
            return False
        arrays = [backend.xp.asarray(self.constant_values[id(i)]) for i in node.inputs]
        value = to_numpy(node.op.forward(backend, *arrays))
        value = np.asarray(value, dtype=node.type.dtype.np)
        self.constant_values[id(node)] = value
        self.values[id(node)] = self.constant(value)
        return True

    def _value_info(self, name, tensor_type, axes):
        helper = self.helper
        elem = helper.np_dtype_to_tensor_dtype(np.dtype(tensor_type.dtype.np))
        dims = [axes.get(k, d) for k, d in enumerate(tensor_type.shape)]
        return helper.make_tensor_value_info(name, elem, dims)

    # ----- the model --------------------------------------------------------------------------
    def model(self, name):
        helper = self.helper
        nodes, initializers = self._pruned()
        graph = helper.make_graph(nodes, name, self.inputs, self.outputs)
        from ganglion import __version__
        model = helper.make_model(graph, producer_name="ganglion", producer_version=__version__,
                                  opset_imports=[helper.make_opsetid("", self.opset)])
        # Added to the model's own graph: make_model copies the graph it is given.
        for initializer_name, array in initializers:
            _add_initializer(self.onnx, model.graph, initializer_name, array)
        # The IR version the opset came with, so that older runtimes accept the file.
        model.ir_version = min(model.ir_version, _ir_version(self.onnx, self.opset))
        return model

    def _pruned(self):
        """The nodes some output needs (in order) and the initializers they read."""
        needed = {info.name for info in self.outputs}
        kept = []
        for node in reversed(self.nodes):
            if any(o in needed for o in node.output):
                kept.append(node)
                needed.update(i for i in node.input if i)
        kept.reverse()
        initializers = [(name, array) for name, array in self.initializers.items() if name in needed]
        return kept, initializers


def _add_initializer(onnx, graph, name, array):
    """``array`` as an initializer of ``graph``, its bytes copied once (large models hold
    hundreds of megabytes; ``numpy_helper.from_array`` and ``make_graph`` copy them twice more)."""
    tensor = graph.initializer.add()
    tensor.name = name
    tensor.data_type = onnx.helper.np_dtype_to_tensor_dtype(array.dtype)
    tensor.dims.extend(array.shape)
    if array.dtype == np.bool_ or array.dtype.byteorder == ">":
        tensor.CopyFrom(onnx.numpy_helper.from_array(array, name))
    else:
        tensor.raw_data = np.ascontiguousarray(array).tobytes()


def _ir_version(onnx, opset):
    for entry in onnx.helper.VERSION_TABLE:
        _, ir_version, ai_onnx, *_ = entry
        if ai_onnx == opset:
            return ir_version
    return onnx.IR_VERSION
