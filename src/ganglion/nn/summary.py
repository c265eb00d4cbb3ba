"""``summary(model, input_shape)``: a table of each layer's output shape, parameter count and
multiply-accumulates (MACs); ``profile`` returns the same numbers as data.

The model is called with a forward hook on every layer that records what comes out. It is
called on symbolic placeholders whose batch dimension is unknown: shapes then come from the
ops' ``infer`` rules and nothing is computed, so summarizing a large network is instant. A
model that needs values (Python control flow on the data) is run on zeros instead, with batch
sizes 1 and 2; the dimensions that differ between the two runs are the batch-dependent ones.
Those print as -1 (any size), as in the Keras and torchsummary tables users know.

MACs are computed from the layers' attributes and the shapes of their inputs and outputs only
(never from values), for one example (an unknown batch dimension counts as 1). The convention:

* ``Conv1d/2d``: output elements x (in_channels / groups) x kernel elements, so grouped and
  depthwise convolutions (groups = in_channels) are covered by ``groups``;
  ``ConvTranspose``: input elements x (out_channels / groups) x kernel elements;
* ``Linear``: output elements x in_features; ``Bilinear``: output elements x in1 x in2;
* ``MultiheadAttention``: the q, k, v and output projections plus the two attention products
  (L x S x E each: scores and weighted sum);
* pooling: one compare or add per window element is counted as one MAC, i.e. output elements
  x kernel elements (max and average pooling), input elements for adaptive pooling;
* ``BatchNorm`` / ``InstanceNorm`` / ``LayerNorm`` / ``GroupNorm``: one MAC per element (in
  eval mode a norm is one multiply-add per element); ``LocalResponseNorm``: size per element;
* biases, activations, dropout, reshapes, embeddings (lookups) and element-wise additions of
  residual connections count 0.

Depth (``profile(...).depth``) is the number of weighted layers (convolutions, linear layers,
attention) on the longest path from the input to the output, found by walking the autograd
graph of the placeholder run: 5 for LeNet-5, 16 for VGG-16, 18 for ResNet-18, whose 1x1
shortcut convolutions are on a shorter path. A model that can only be run on values is
summarized without a graph; its depth is then the number of weighted layer calls.
"""
import math
from dataclasses import dataclass

from ganglion.core.creation import zeros
from ganglion.core.dtypes import as_dtype, get_default_dtype
from ganglion.core.grad_mode import enable_grad, no_grad
from ganglion.core.tensor import Tensor, TensorType, make_tensor

__all__ = ["summary", "profile", "ModelProfile"]


@dataclass(frozen=True)
class ModelProfile:
    """The numbers of ``summary`` as data. ``rows`` holds (label, output shapes, parameters,
    MACs) per layer call; ``macs`` is the total for one example."""
    name: str
    rows: list
    parameters: int
    trainable: int
    macs: int
    depth: int


def summary(model, input_shape, dtype=None, print_fn=print):
    """Print and return a table of the layers that ``model`` calls on an input of
    ``input_shape`` (one example, without the batch dimension, e.g. ``(1, 28, 28)``; a list of
    shapes for a model with several inputs), with the totals of parameters and MACs.

    A row is written for each call of a layer without sub-modules (and of any module that holds
    parameters of its own). A layer called twice gets two rows; its parameters count once, its
    MACs twice. MACs follow the convention of this module's docstring (from shapes only, for
    one example). ``dtype`` is the inputs' dtype (default: the default float dtype; int64 for
    Embedding). The model runs in eval mode and is put back in its previous mode afterwards.
    """
    result = profile(model, input_shape, dtype)
    text = _table(result)
    if print_fn is not None:
        print_fn(text)
    return text


def profile(model, input_shape, dtype=None):
    """``summary``'s numbers without the table: a ``ModelProfile`` (rows, parameter totals,
    MACs per example and depth; see the module docstring for the conventions)."""
    shapes = [tuple(input_shape)] if _is_shape(input_shape) else [tuple(s) for s in input_shape]
    dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
    modes = {id(module): module.training for module in model.modules()}
    try:
        model.eval()
        try:
            with enable_grad():
                rows, depth = _record_layers(model, [_placeholder(dtype, s) for s in shapes])
        except Exception:  # noqa: BLE001  (any layer that cannot run without values)
            with no_grad():
                one, depth = _record_layers(model, [zeros((1,) + s, dtype=dtype) for s in shapes])
                two, _ = _record_layers(model, [zeros((2,) + s, dtype=dtype) for s in shapes])
            rows = [(label, _merge(a, b), params, macs)
                    for (label, a, params, macs), (_, b, _, _) in zip(one, two)]
    finally:
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])
    unique = {id(p): p for p in model.parameters()}.values()
    return ModelProfile(type(model).__name__, rows, sum(p.numel() for p in unique),
                        sum(p.numel() for p in unique if p.requires_grad),
                        sum(row[3] for row in rows), depth)


def _record_layers(model, inputs):
    """Call ``model`` on ``inputs``; return a row (label, output shapes, parameter count, MACs)
    for each call of a layer that has no sub-modules or parameters of its own, and the depth."""
    names = {id(module): name for name, module in model.named_modules()}
    rows, counted, handles = [], set(), []
    graph = _Depth()

    def record(module, args, output):
        params = 0
        if id(module) not in counted:
            counted.add(id(module))
            params = sum(p.numel() for p in module.parameters(recurse=False))
        label = f"{names.get(id(module)) or '(model)'} ({type(module).__name__})"
        rows.append((label, _shapes(output), params, macs(module, args, output)))
        if type(module).__name__ in _WEIGHTED or isinstance(module, _weighted_types()):
            graph.layer(args, output)

    for module in model.modules():
        if not module._modules or module._parameters:
            handles.append(module.register_forward_hook(record))
    try:
        model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return rows, graph.depth()


# ---------------------------------------------------------------- multiply-accumulates

_WEIGHTED = {"Linear", "Bilinear", "LazyLinear", "MultiheadAttention"}


def _weighted_types():
    from ganglion.nn.layers.conv import _ConvNd
    from ganglion.nn.layers.linear import Bilinear, Linear
    from ganglion.nn.layers.transformer import MultiheadAttention
    return (_ConvNd, Linear, Bilinear, MultiheadAttention)


def _numel(shape):
    """Elements of one example: an unknown (batch) dimension counts as 1."""
    return math.prod(d if isinstance(d, int) else 1 for d in shape)  # None or a SymbolicDim


def _first(tensors):
    for t in tensors:
        if isinstance(t, Tensor):
            return t
        if isinstance(t, (tuple, list)):
            found = _first(t)
            if found is not None:
                return found
    return None


def _window(kernel, dims):
    return math.prod(kernel) if isinstance(kernel, (tuple, list)) else kernel ** dims


def macs(module, args, output):
    """Multiply-accumulates of one call of ``module`` on ``args`` giving ``output``, for one
    example, from shapes and attributes only (the module docstring states the convention)."""
    from ganglion.nn.layers import conv, linear, normalization, pooling, transformer
    out = _first([output])
    inp = _first(args)
    if out is None or inp is None:
        return 0
    out_n, in_n = _numel(out.shape), _numel(inp.shape)
    if isinstance(module, conv._ConvNd):
        kernel = math.prod(module.kernel_size)
        if module._transposed:
            return in_n * (module.out_channels // module.groups) * kernel
        return out_n * (module.in_channels // module.groups) * kernel
    if isinstance(module, linear.Linear):
        return out_n * module.in_features
    if isinstance(module, linear.Bilinear):
        return out_n * module.in1_features * module.in2_features
    if isinstance(module, transformer.MultiheadAttention):
        query, key = args[0], args[1] if len(args) > 1 else args[0]
        embed = module.embed_dim
        length, source = _numel(query.shape) // embed, _numel(key.shape) // key.shape[-1]
        projections = length * embed * embed * 2 + source * embed * (module.kdim + module.vdim)
        return projections + 2 * length * source * embed
    name = type(module).__name__
    if name.startswith("Adaptive") and "Pool" in name:
        return in_n
    if isinstance(module, pooling._MaxPoolNd):
        return out_n * _window(module.kernel_size, module.spatial_dims)
    if "Pool" in name and hasattr(module, "kernel_size"):
        return out_n * _window(module.kernel_size, 1 if name.endswith("1d") else 2)
    if isinstance(module, normalization.LocalResponseNorm):
        return out_n * module.size
    if isinstance(module, (normalization._BatchNorm, normalization.LayerNorm,
                           normalization.GroupNorm)):
        return out_n
    return 0


def _key(node):
    """A graph node's identity: the tensor it belongs to (``grad_fn`` makes a new wrapper each
    time, and one op object can serve several calls)."""
    return id(getattr(node, "tensor", node))


class _Depth:
    """The longest chain of weighted layers: each weighted layer's output node in the autograd
    graph is tagged with 1 + the largest tag among its ancestors."""

    def __init__(self):
        self.tags, self.memo, self.keep, self.calls = {}, {}, [], 0

    def layer(self, args, output):
        self.calls += 1
        out = _first([output])
        node = getattr(out, "grad_fn", None) if out is not None else None
        if node is None:
            return
        below = 0
        for arg in args:
            if isinstance(arg, Tensor) and arg.grad_fn is not None:
                below = max(below, self._reach(arg.grad_fn))
        self.keep.append(node)
        self.tags[_key(node)] = self.memo[_key(node)] = below + 1

    def _reach(self, start):
        """The largest tag at or above ``start`` (iterative: graphs are thousands deep)."""
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            key = _key(node)
            if key in self.memo:
                continue
            parents = [n for n, _ in getattr(node, "next_functions", ()) if n is not None]
            if expanded:
                self.memo[key] = max((self.memo.get(_key(p), 0) for p in parents), default=0)
                self.keep.append(node)
            else:
                stack.append((node, True))
                stack.extend((p, False) for p in parents if _key(p) not in self.memo)
        return self.memo[_key(start)]

    def depth(self):
        return max(self.tags.values(), default=0) if self.tags else self.calls


# ---------------------------------------------------------------- shapes and the table

def _is_shape(value):
    return all(isinstance(d, int) for d in value)


def _placeholder(dtype, shape):
    """An input with an unknown batch dimension: ``(None,) + shape``."""
    t = make_tensor(None)
    t._type = TensorType(dtype, (None,) + shape)
    return t


def _shapes(output):
    """The shape of a tensor output, a list of them for tuples and lists, else the type name."""
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        return [_shapes(o) for o in output]
    return type(output).__name__


def _merge(one, two):
    """Shapes of the batch-1 run with the dimensions that changed in the batch-2 run as None."""
    if isinstance(one, tuple) and isinstance(two, tuple) and len(one) == len(two):
        return tuple(a if a == b else None for a, b in zip(one, two))
    if isinstance(one, list) and isinstance(two, list):
        return [_merge(a, b) for a, b in zip(one, two)]
    return one


def _format(shapes):
    if isinstance(shapes, tuple):
        return "(" + ", ".join(str(d) if isinstance(d, int) else "-1" for d in shapes) + ")"
    if isinstance(shapes, list):
        return ", ".join(_format(s) for s in shapes)
    return shapes


def human(count):
    """1234567 -> '1.23M' (K, M, G, T)."""
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(count) >= size:
            return f"{count / size:.2f}{unit}"
    return str(count)


def _table(result):
    header = ("Layer (type)", "Output Shape", "Param #", "MACs")
    cells = [header] + [(label, _format(shapes), f"{params:,}", f"{count:,}")
                        for label, shapes, params, count in result.rows]
    widths = [max(len(row[i]) for row in cells) + 4 for i in range(4)]

    def line(row):
        return (row[0].ljust(widths[0]) + row[1].ljust(widths[1]) + row[2].rjust(widths[2])
                + row[3].rjust(widths[3])).rstrip()

    total, trainable = result.parameters, result.trainable
    rule = "-" * sum(widths)
    lines = [f"{result.name} summary", rule, line(header), "=" * sum(widths)]
    lines += [line(row) for row in cells[1:]]
    lines += ["=" * sum(widths), f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              f"Total MACs: {result.macs:,} ("
              + (f"{human(result.macs)}, " if result.macs >= 1000 else "") + "per example)", rule]
    return "\n".join(lines)
