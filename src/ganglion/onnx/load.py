"""``ganglion.onnx.load``: run an ONNX model as a ganglion Module (issue 17).

The file is parsed with the ``onnx`` package (protobuf: nothing in it is executed) with
``load_external_data=False``; tensors stored in external data files are then read here, and
only from files inside the model's own folder (a location that is absolute, holds '..', or
reaches outside the folder through a link is refused), as the ONNX external-data spec
(https://onnx.ai/onnx/repo-docs/ExternalData.html) asks of a careful reader. The graph runs
node by node with ganglion ops (``_load_ops``), eagerly, so autograd works: the float
initializers are trainable ``Parameter``s (the running statistics of BatchNormalization are
buffers), registered under their ONNX names split at dots and made identifier-safe, so a model
exported from PyTorch keeps its ``state_dict`` keys (``layer1.0.conv1.weight``). Every
operator is checked when the file is loaded: an unsupported one is an error naming the op, its
domain and the opset before anything runs.
"""
import os
import re

import numpy as np

import ganglion as gn
import ganglion.nn as nn
from ganglion.core.errors import DTypeError, ShapeError
from ganglion.onnx._load_ops import OPERATORS, UnsupportedOnnxError

__all__ = ["load", "OnnxModule", "UnsupportedOnnxError"]

_DEFAULT_DOMAINS = ("", "ai.onnx")


def _require_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError("ganglion.onnx.load needs the onnx package: install the extra "
                          "ganglion[onnx] (pip install 'ganglion[onnx]')") from error
    return onnx


def load(path):
    """The ONNX model at ``path`` as an ``OnnxModule`` (a ``ganglion.nn.Module``): call it
    with the graph's inputs (positionally in the graph's order, or by name), get its output
    (a tuple when the graph has several). Its float initializers are trainable Parameters."""
    onnx = _require_onnx()
    from google.protobuf.message import DecodeError
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ganglion.onnx.load: no file at {path!r}")
    try:
        model = onnx.load(path, load_external_data=False)
    except (DecodeError, ValueError, RuntimeError) as error:
        raise ValueError(f"ganglion.onnx.load: {path!r} is not an ONNX model file (protobuf "
                         f"could not parse it: {error})") from None
    if model.ir_version <= 0 or not model.graph.output:
        raise ValueError(f"ganglion.onnx.load: {path!r} is not an ONNX model file (no IR "
                         "version or no graph outputs in it)")
    return OnnxModule(model, os.path.dirname(os.path.abspath(path)), source=path)


# ----- tensors, external data included ----------------------------------------------------

def _external_file(folder, location, tensor_name, source):
    """The path of ``location`` inside ``folder``; anything that would leave it is refused."""
    parts = re.split(r"[\\/]", location)
    if (os.path.isabs(location) or re.match(r"^[A-Za-z]:", location) or ".." in parts
            or location.startswith(("/", "\\"))):
        raise ValueError(f"ganglion.onnx.load: tensor {tensor_name!r} of {source!r} names the "
                         f"external data file {location!r}, which is not inside the model's "
                         f"folder {folder!r}: only relative locations inside that folder are "
                         "read")
    full = os.path.realpath(os.path.join(folder, *parts))
    root = os.path.realpath(folder)
    if os.path.commonpath([full, root]) != root:
        raise ValueError(f"ganglion.onnx.load: tensor {tensor_name!r} of {source!r} names the "
                         f"external data file {location!r}, which leads outside the model's "
                         f"folder {folder!r} (through a link): refused")
    if not os.path.isfile(full):
        raise FileNotFoundError(f"ganglion.onnx.load: tensor {tensor_name!r} of {source!r} "
                                f"needs the external data file {location!r}, which is not in "
                                f"{folder!r}")
    return full


def _to_array(tensor, folder, source):
    """An ONNX TensorProto's value as a NumPy array, its external data read from ``folder``."""
    from onnx import TensorProto, numpy_helper
    if tensor.data_location != TensorProto.EXTERNAL:
        return numpy_helper.to_array(tensor)
    info = {entry.key: entry.value for entry in tensor.external_data}
    if "location" not in info:
        raise ValueError(f"ganglion.onnx.load: tensor {tensor.name!r} of {source!r} is stored "
                         "externally but names no location")
    full = _external_file(folder, info["location"], tensor.name, source)
    offset = int(info.get("offset", 0))
    file_size = os.path.getsize(full)
    length = int(info["length"]) if "length" in info else file_size - offset
    if offset < 0 or length < 0 or offset + length > file_size:
        raise ValueError(f"ganglion.onnx.load: tensor {tensor.name!r} of {source!r} reads bytes "
                         f"{offset}..{offset + length} of {info['location']!r}, which has "
                         f"{file_size} bytes")
    with open(full, "rb") as handle:
        handle.seek(offset)
        raw = handle.read(length)
    inline = TensorProto()
    inline.CopyFrom(tensor)
    del inline.external_data[:]
    inline.data_location = TensorProto.DEFAULT
    inline.raw_data = raw
    return numpy_helper.to_array(inline)


def _attributes(node, folder, source):
    """A node's attributes as Python values (tensors as NumPy arrays, strings as str)."""
    from onnx import AttributeProto, helper
    values = {}
    for attribute in node.attribute:
        if attribute.type == AttributeProto.TENSOR:
            values[attribute.name] = _to_array(attribute.t, folder, source)
        elif attribute.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS,
                                AttributeProto.SPARSE_TENSOR):
            raise UnsupportedOnnxError(
                f"ganglion.onnx.load: node {node.name!r} ({node.op_type}) has a "
                f"{AttributeProto.AttributeType.Name(attribute.type)} attribute "
                f"{attribute.name!r}, which is not supported")
        else:
            value = helper.get_attribute_value(attribute)
            if isinstance(value, bytes):
                value = value.decode()
            elif isinstance(value, list) and value and isinstance(value[0], bytes):
                value = [v.decode() for v in value]
            values[attribute.name] = value
    return values


# ----- the graph as a module --------------------------------------------------------------

class Node:
    """One graph node, ready to run: its handler, input and output names, attributes."""
    __slots__ = ("name", "op_type", "opset", "run", "inputs", "outputs", "attrs", "num_outputs",
                 "release")

    def __init__(self, proto, opset, attrs, index):
        self.name = proto.name or f"{proto.op_type}_{index}"
        self.op_type = proto.op_type
        self.opset = opset
        self.run = OPERATORS[proto.op_type]
        self.inputs = tuple(proto.input)
        self.outputs = tuple(proto.output)
        self.attrs = attrs
        self.num_outputs = sum(1 for name in proto.output if name)
        self.release = ()


def _identifier(part):
    part = re.sub(r"\W", "_", part)
    return part or "_"


class _Folder(nn.Module):
    """A plain Module that holds the initializers under one dotted prefix of their names."""

    def forward(self, *args):
        raise TypeError("this module only holds initializers of an ONNX graph; call the "
                        "OnnxModule that contains it")


def _value_type(value_info):
    """(element type as NumPy dtype or None, shape with None for unknown dims or None)."""
    from onnx import helper
    tensor_type = value_info.type.tensor_type
    dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type) if tensor_type.elem_type else None
    if not tensor_type.HasField("shape"):
        return dtype, None
    shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
                  for d in tensor_type.shape.dim)
    return dtype, shape


class OnnxModule(nn.Module):
    """An ONNX graph run with ganglion ops (made by ``ganglion.onnx.load``).

    ``input_names`` and ``output_names`` are the graph's; ``input_shapes`` the declared shapes
    (an int for a fixed dim, the symbolic name or None for a free one), checked on each call.
    The graph runs as it was written, whatever ``train()`` / ``eval()`` say: an exported
    inference graph keeps batch norm on its running statistics and has no dropout, so
    fine-tuning trains its parameters with those fixed (as PyTorch's eval-mode fine-tuning).
    """

    def __init__(self, model, folder, source="<model>"):
        super().__init__()
        graph = model.graph
        self.source = source
        opsets = {entry.domain: entry.version for entry in model.opset_import}
        opset = opsets.get("", opsets.get("ai.onnx"))
        if opset is None:
            raise ValueError(f"ganglion.onnx.load: {source!r} imports no version of the default "
                             "ONNX operator set")
        self.opset = opset
        self._check_operators(graph, opsets)
        initializer_names = {t.name for t in graph.initializer}
        running_statistics = {name for node in graph.node if node.op_type == "BatchNormalization"
                              for name in node.input[3:5]}
        self._slots = {}  # ONNX initializer name -> (owning module, attribute name)
        self._static = {}  # ONNX name -> NumPy array (integer initializers, constants)
        for tensor in graph.initializer:
            array = _to_array(tensor, folder, source)
            if np.issubdtype(array.dtype, np.floating):
                # A copy: the array protobuf gave is read-only, and fine-tuning writes in place.
                value = np.array(array, copy=True)
                if tensor.name in running_statistics:
                    self._register(tensor.name, gn.from_numpy(value), buffer=True)
                else:
                    self._register(tensor.name, nn.Parameter(gn.from_numpy(value)), buffer=False)
            else:
                self._static[tensor.name] = np.array(array, copy=True)
        self.input_names, self.input_shapes, self._input_dtypes = [], [], []
        for value_info in graph.input:
            if value_info.name in initializer_names:
                continue  # IR < 4 lists initializers among the inputs too
            dtype, shape = _value_type(value_info)
            self.input_names.append(value_info.name)
            self.input_shapes.append(shape)
            self._input_dtypes.append(dtype)
        self.output_names = [value_info.name for value_info in graph.output]
        self._nodes = [Node(proto, opset, _attributes(proto, folder, source), k)
                       for k, proto in enumerate(graph.node)]
        self._check_order(initializer_names)
        self._fold_constants()
        self._plan_release()

    # -- loading ---------------------------------------------------------------------------
    def _check_operators(self, graph, opsets):
        for k, node in enumerate(graph.node):
            domain = node.domain or ""
            if domain in _DEFAULT_DOMAINS and node.op_type in OPERATORS:
                continue
            version = opsets.get(domain, "not imported")
            raise UnsupportedOnnxError(
                f"ganglion.onnx.load: {self.source!r} uses the operator {node.op_type!r} (domain "
                f"{domain or 'ai.onnx'!r}, opset {version}) in node "
                f"{node.name or f'#{k}'!r}, which ganglion cannot run; supported operators of "
                f"the default domain: {', '.join(sorted(OPERATORS))}")

    def _check_order(self, initializer_names):
        """ONNX requires nodes in topological order; a graph that reads a value before any
        node makes it is refused now rather than with a KeyError during a call."""
        known = set(initializer_names) | set(self.input_names)
        for node in self._nodes:
            for name in node.inputs:
                if name and name not in known:
                    raise ValueError(f"ganglion.onnx.load: node {node.name!r} ({node.op_type}) of "
                                     f"{self.source!r} reads {name!r}, which no earlier node, "
                                     "input or initializer provides")
            known.update(name for name in node.outputs if name)

    def _register(self, onnx_name, tensor, buffer):
        """Register under the ONNX name split at dots (each part an identifier), nested in
        folder modules; a clash with an existing attribute falls back to a flat, numbered
        name at the top."""
        parts = [_identifier(p) for p in onnx_name.split(".")]
        owner = self
        for part in parts[:-1]:
            existing = owner._modules.get(part)
            if isinstance(existing, _Folder):
                owner = existing
                continue
            if hasattr(owner, part):
                owner = None
                break
            folder = _Folder()
            owner.add_module(part, folder)
            owner = folder
        leaf = parts[-1]
        if owner is None or hasattr(owner, leaf):
            owner, leaf = self, "_".join(parts)
            base, count = leaf, 1
            while hasattr(self, leaf):
                leaf, count = f"{base}_{count}", count + 1
        if buffer:
            owner.register_buffer(leaf, tensor)
        else:
            owner.register_parameter(leaf, tensor)
        self._slots[onnx_name] = (owner, leaf)

    def _fold_constants(self):
        """Run Constant nodes, and nodes whose inputs are all static, once now."""
        remaining = []
        for node in self._nodes:
            if node.op_type == "Constant" or (
                    node.op_type != "Shape" and node.inputs and
                    all(name == "" or name in self._static for name in node.inputs)):
                values = [self._static[name] if name else None for name in node.inputs]
                result = node.run(node, values, node.attrs)
                results = result if isinstance(result, tuple) else (result,)
                if all(isinstance(r, np.ndarray) for r in results):
                    for name, value in zip(node.outputs, results):
                        if name:
                            self._static[name] = value
                    continue
            remaining.append(node)
        self._nodes = remaining

    def _plan_release(self):
        """After which node each intermediate value can be dropped, so big activations go back
        to the array cache during the call instead of at its end."""
        last_use = {}
        for k, node in enumerate(self._nodes):
            for name in node.inputs:
                last_use[name] = k
        keep = set(self.output_names)
        release = [[] for _ in self._nodes]
        for name, k in last_use.items():
            if name and name not in keep and name not in self._static and name not in self._slots:
                release[k].append(name)
        for node, names in zip(self._nodes, release):
            node.release = tuple(names)

    # -- running ---------------------------------------------------------------------------
    def _check_input(self, index, value):
        name = self.input_names[index]
        if isinstance(value, np.ndarray):
            value = gn.from_numpy(value)
        elif not isinstance(value, gn.Tensor):
            raise TypeError(f"OnnxModule({self.source!r}): input {name!r} must be a Tensor or a "
                            f"NumPy array, got {type(value).__name__}")
        expected = self.input_shapes[index]
        if expected is not None:
            shape = tuple(value.shape)
            wrong_rank = len(shape) != len(expected)
            if wrong_rank or any(isinstance(e, int) and isinstance(d, int) and d != e
                                 for d, e in zip(shape, expected)):
                shown = "(" + ", ".join(str(e) if e is not None else "?" for e in expected) + ")"
                raise ShapeError(
                    f"OnnxModule({self.source!r}): input {name!r} expects shape {shown} (rank "
                    f"{len(expected)}), got shape {tuple(shape)}"
                    + (" of rank " + str(len(shape)) if wrong_rank else ""))
        dtype = self._input_dtypes[index]
        if dtype is not None and np.dtype(value.dtype.np) != dtype:
            raise DTypeError(f"OnnxModule({self.source!r}): input {name!r} expects element type "
                             f"{dtype}, got {value.dtype}")
        return value

    def _arguments(self, args, kwargs):
        if len(args) > len(self.input_names):
            raise TypeError(f"OnnxModule({self.source!r}): the graph takes {len(self.input_names)}"
                            f" inputs ({', '.join(self.input_names)}), got {len(args)}")
        values = dict(zip(self.input_names, args))
        for name, value in kwargs.items():
            if name not in self.input_names:
                raise TypeError(f"OnnxModule({self.source!r}): no input named {name!r}; the "
                                f"inputs are {', '.join(self.input_names)}")
            if name in values:
                raise TypeError(f"OnnxModule({self.source!r}): input {name!r} given twice")
            values[name] = value
        missing = [name for name in self.input_names if name not in values]
        if missing:
            raise TypeError(f"OnnxModule({self.source!r}): missing input(s) {', '.join(missing)} "
                            f"(the graph takes {', '.join(self.input_names)})")
        return {name: self._check_input(k, values[name])
                for k, name in enumerate(self.input_names)}

    def forward(self, *args, **kwargs):
        env = dict(self._static)
        for onnx_name, (owner, attribute) in self._slots.items():
            env[onnx_name] = getattr(owner, attribute)
        env.update(self._arguments(args, kwargs))
        for node in self._nodes:
            inputs = [env[name] if name else None for name in node.inputs]
            result = node.run(node, inputs, node.attrs)
            if isinstance(result, tuple):
                for name, value in zip(node.outputs, result):
                    if name:
                        env[name] = value
            else:
                env[node.outputs[0]] = result
            for name in node.release:
                del env[name]
        outputs = tuple(_as_output(env[name]) for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs

    def extra_repr(self):
        return (f"source={self.source!r}, opset={self.opset}, inputs={self.input_names}, "
                f"outputs={self.output_names}, nodes={len(self._nodes)}")


def _as_output(value):
    return gn.from_numpy(value) if isinstance(value, np.ndarray) else value

