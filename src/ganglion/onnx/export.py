"""``export``: a ganglion model or symbolic function written as an ONNX file.

The signature is PyTorch's ``torch.onnx.export(model, args, f, input_names=, output_names=,
dynamic_axes=, opset_version=)``. The model is not traced by a second mechanism: it is called
on ganglion placeholders (as ``ganglion.jit`` does), which records the symbolic graph that
``gn.function`` compiles; a ``gn.function`` already holds that graph. Each node of the graph is
then written as ONNX operators by the converters in ``_export_ops`` (one per ganglion op class),
following the operator specifications at https://onnx.ai/onnx/operators/:

- parameters and buffers become initializers named by their ``state_dict`` keys (shared
  variables of a function by their names);
- axes listed in ``dynamic_axes``, and the ``None`` dims of placeholders, become symbolic dims
  (``dim_param``), so the file runs at any batch size;
- the module that applied each op is recorded while tracing (forward hooks), so an op without
  an ONNX form raises ``UnsupportedOnnxOpError`` naming the op and where it occurs
  (``features.3 (MyOdd)``) instead of writing a wrong graph.

The result passes ``onnx.checker.check_model(full_check=True)`` (strict shape inference) before
it is written, and is written atomically (a temporary file renamed over ``path``).
"""
import os
import tempfile

from ganglion.backend import current as backend
from ganglion.core.tensor import Tensor
from ganglion.symbolic.graph import extract, toposort
from ganglion.symbolic.placeholders import tensor as placeholder
from ganglion.symbolic.shared import value_attribute

__all__ = ["export", "UnsupportedOnnxOpError"]

#: The opsets this exporter writes: 13 gives Squeeze/Unsqueeze/ReduceSum their axes as inputs,
#: which the converters rely on; newer opsets change only what the converters check for.
MIN_OPSET = 13


class UnsupportedOnnxOpError(NotImplementedError):
    """An op of the traced graph has no ONNX form in this exporter (or not at this opset)."""


def import_onnx():
    """The ``onnx`` package, or an ImportError that names the extra to install."""
    try:
        import onnx
    except ImportError:
        raise ImportError("ganglion.onnx needs the onnx package: pip install ganglion[onnx]") from None
    return onnx


def export(model_or_function, example_inputs, path, input_names=None, output_names=None,
           dynamic_axes=None, opset_version=17):
    """Write ``model_or_function`` to ``path`` (a file name, or a binary file object) as an
    ONNX model; returns the ``ModelProto``.

    ``model_or_function``: a Module (put in eval mode while tracing, its mode restored after),
    a plain function of tensors, or a compiled ``gn.function`` (its inputs and outputs are the
    graph's; ``example_inputs`` may then be None). ``example_inputs``: a tensor or a tuple of
    tensors giving each input's dtype and shape (placeholders may leave dims None).
    ``input_names`` / ``output_names``: names of the graph's inputs and outputs (default
    ``input``/``output``, numbered when there are several). ``dynamic_axes``: {name: {axis:
    dim name}} or {name: [axes]} for inputs and outputs whose size may change (the batch).
    ``opset_version``: the ONNX opset written (13 or newer)."""
    onnx = import_onnx()
    from ganglion.onnx._export_graph import GraphWriter
    from ganglion.symbolic.function import Function

    max_opset = onnx.defs.onnx_opset_version()
    if not isinstance(opset_version, int) or not MIN_OPSET <= opset_version <= max_opset:
        raise ValueError(f"export: opset_version must be an int from {MIN_OPSET} to {max_opset} "
                         f"(the installed onnx's newest), got {opset_version!r}")
    from ganglion.symbolic.jit import JitFunction
    if isinstance(model_or_function, JitFunction):  # gn.jit(model): trace the model itself
        model_or_function = model_or_function.fn
    if isinstance(model_or_function, Function):
        graph = _function_graph(model_or_function, example_inputs, input_names)
    else:
        graph = _traced_graph(model_or_function, example_inputs, input_names, dynamic_axes)
    input_names = _names("input", input_names or graph.input_names, len(graph.inputs))
    output_names = _names("output", output_names, len(graph.outputs))
    shared_names = sorted(set(input_names) & set(output_names))
    if shared_names:
        raise ValueError(f"export: {shared_names} name both an input and an output; ONNX values "
                         "need distinct names")
    axes = _dynamic_axes(dynamic_axes, input_names, output_names, graph)

    writer = GraphWriter(opset_version, graph.paths, graph.parameter_names)
    writer.convert(graph, input_names, output_names, axes)
    model = writer.model(graph.name)
    serialized = model.SerializeToString()  # once, for the checker and the file
    onnx.checker.check_model(serialized, full_check=True)
    if hasattr(path, "write"):  # a binary file object, as torch.onnx.export accepts
        path.write(serialized)
    else:
        _save_atomically(serialized, os.fspath(path))
    return model


class _Graph:
    """What the writer needs: input nodes, output nodes, every node in order, names."""

    def __init__(self, name, inputs, outputs, paths, parameter_names):
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = toposort(outputs)
        self.paths = paths
        self.parameter_names = parameter_names
        self.input_names = None  # default names of the inputs, when they have their own


def _names(kind, names, count):
    if names is None:
        return [kind] if count == 1 else [f"{kind}_{k}" for k in range(count)]
    names = list(names)
    if len(names) != count or len(set(names)) != len(names) or not all(
            isinstance(n, str) and n for n in names):
        raise ValueError(f"export: {kind}_names must be {count} distinct non-empty strings (the "
                         f"graph has {count} {kind}{'s' if count != 1 else ''}), got {names!r}")
    return names


def _as_tuple(example_inputs):
    if isinstance(example_inputs, Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, (tuple, list)):
        for k, item in enumerate(example_inputs):
            if not isinstance(item, Tensor):
                raise TypeError(f"export: example input {k} must be a ganglion Tensor, got "
                                f"{type(item).__name__}")
        return tuple(example_inputs)
    raise TypeError(f"export: example_inputs must be a Tensor or a tuple of Tensors, got "
                    f"{type(example_inputs).__name__}")


def _dynamic_input_axes(dynamic_axes, names):
    """{input position: set of axes} from dynamic_axes, for the inputs it names."""
    result = {}
    for position, name in enumerate(names):
        spec = (dynamic_axes or {}).get(name)
        if spec is not None:
            result[position] = set(spec.keys() if isinstance(spec, dict) else spec)
    return result


def _traced_graph(model, example_inputs, input_names, dynamic_axes):
    """Trace ``model`` (a Module or a function of tensors) on placeholders shaped like the
    examples, with the dims named in ``dynamic_axes`` unknown."""
    from ganglion.nn.module import Module
    from ganglion.onnx._export_trace import trace_model

    examples = _as_tuple(example_inputs)
    names = _names("input", input_names, len(examples))
    dynamic = _dynamic_input_axes(dynamic_axes, names)
    placeholders = []
    for position, (name, example) in enumerate(zip(names, examples)):
        axes = dynamic.get(position, set())
        for axis in axes:
            if not isinstance(axis, int) or not -example.ndim <= axis < example.ndim:
                raise ValueError(f"export: dynamic_axes[{name!r}] names axis {axis!r}, but the "
                                 f"input has {example.ndim} dimensions")
        axes = {a % example.ndim for a in axes}
        shape = tuple(None if k in axes else d for k, d in enumerate(example.tensor_type.shape))
        placeholders.append(placeholder(example.dtype, shape, name=name))
    if not callable(model):
        raise TypeError(f"export: expected a Module, a function or a gn.function, got "
                        f"{type(model).__name__}")
    outputs, paths = trace_model(model, placeholders)
    nodes, input_nodes, _ = extract(outputs, placeholders, [])
    parameter_names = {}
    if isinstance(model, Module):
        for key, value in model.state_dict(keep_vars=True).items():
            if isinstance(value, Tensor):
                parameter_names.setdefault(id(value), key)
    name = type(model).__name__ if isinstance(model, Module) else getattr(model, "__name__", "model")
    return _Graph(name, input_nodes, nodes, paths, parameter_names)


def _function_graph(function, example_inputs, input_names):
    """The graph of a compiled ``gn.function``, extracted again from its inputs and outputs
    without the compiler's rewrites (fused loops have no ONNX form; the plain ops do)."""
    from ganglion.core.symbolic_shape import SymbolicShape
    from ganglion.symbolic.function import _givens

    arguments = function._arguments
    if arguments["updates"]:
        raise ValueError("export: the function has updates=, which an ONNX graph cannot apply; "
                         "export a function compiled without updates (the inference function)")
    outputs = arguments["outputs"]
    if isinstance(outputs, SymbolicShape):
        outputs = outputs.to_tensor()
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if not outputs or outputs == [None]:
        raise ValueError("export: the function has no outputs")
    variables = [spec.variable for spec in function.inputs]
    if example_inputs is not None:
        examples = _as_tuple(example_inputs)
        if len(examples) != len(variables):
            raise ValueError(f"export: the function takes {len(variables)} inputs, but "
                             f"{len(examples)} example inputs were given")
    nodes, input_nodes, _ = extract(outputs, variables, _givens(arguments["givens"]))
    parameter_names = {}
    for node in toposort(nodes):
        if node.kind == "shared" and node.tensor is not None and node.tensor.name:
            parameter_names.setdefault(id(node.tensor), node.tensor.name)
    graph = _Graph(function.name or "function", input_nodes, nodes, {}, parameter_names)
    names = [spec.name for spec in function.inputs]
    if all(isinstance(n, str) and n for n in names) and len(set(names)) == len(names):
        graph.input_names = names  # the placeholders' own names
    return graph


def _dynamic_axes(dynamic_axes, input_names, output_names, graph):
    """{value name: {axis: dim name}} for every input and output: the axes of dynamic_axes,
    and the unknown (None) dims of the graph's types."""
    dynamic_axes = dict(dynamic_axes or {})
    known = set(input_names) | set(output_names)
    for name in dynamic_axes:
        if name not in known:
            raise ValueError(f"export: dynamic_axes names {name!r}, which is neither an input "
                             f"nor an output (inputs {input_names}, outputs {output_names})")
    result = {}
    for names, nodes in ((input_names, graph.inputs), (output_names, graph.outputs)):
        for name, node in zip(names, nodes):
            ndim = len(node.type.shape)
            spec = dynamic_axes.get(name, {})
            if not isinstance(spec, dict):
                spec = {axis: f"{name}_dim{axis}" for axis in spec}
            axes = {}
            for axis, dim_name in spec.items():
                if not isinstance(axis, int) or not -ndim <= axis < ndim:
                    raise ValueError(f"export: dynamic_axes[{name!r}] names axis {axis!r}, but "
                                     f"{name!r} has {ndim} dimensions")
                axes[axis % ndim] = str(dim_name)
            for axis, d in enumerate(node.type.shape):
                if d is None and axis not in axes and name in input_names:
                    axes[axis] = f"{name}_dim{axis}"
            result[name] = axes
    return result


def _save_atomically(serialized, path):
    """Write to a temporary file beside ``path`` and rename it over ``path``: a reader never
    sees a half-written model, and a failed write leaves the old file in place."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".ganglion-onnx-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(serialized)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def to_numpy(tensor_or_array):
    """A tensor's (or a backend array's) value as a NumPy array, for an initializer. A shared
    variable keeps its value in ``storage``, which compiled functions read."""
    data = tensor_or_array
    if isinstance(tensor_or_array, Tensor):
        data = getattr(tensor_or_array, value_attribute(tensor_or_array))
    return backend.to_numpy(backend.xp.asarray(data))
