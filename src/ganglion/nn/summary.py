"""``summary(model, input_shape)``: a table of each layer's output shape and parameter count.

The model is called with a forward hook on every layer that records what comes out. It is
called on symbolic placeholders whose batch dimension is unknown: shapes then come from the
ops' ``infer`` rules and nothing is computed, so summarizing a large network is instant. A
model that needs values (Python control flow on the data) is run on zeros instead, with batch
sizes 1 and 2; the dimensions that differ between the two runs are the batch-dependent ones.
Those print as -1 (any size), as in the Keras and torchsummary tables users know.
"""
from ganglion.core.creation import zeros
from ganglion.core.dtypes import as_dtype, get_default_dtype
from ganglion.core.grad_mode import no_grad
from ganglion.core.tensor import Tensor, TensorType, make_tensor

__all__ = ["summary"]


def summary(model, input_shape, dtype=None, print_fn=print):
    """Print and return a table of the layers that ``model`` calls on an input of
    ``input_shape`` (one example, without the batch dimension, e.g. ``(1, 28, 28)``; a list of
    shapes for a model with several inputs), with the totals of parameters.

    A row is written for each call of a layer without sub-modules (and of any module that holds
    parameters of its own). A layer called twice gets two rows; its parameters count once.
    ``dtype`` is the inputs' dtype (default: the default float dtype; int64 for Embedding).
    The model runs in eval mode and is put back in its previous mode afterwards.
    """
    shapes = [tuple(input_shape)] if _is_shape(input_shape) else [tuple(s) for s in input_shape]
    dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
    modes = {id(module): module.training for module in model.modules()}
    try:
        model.eval()
        try:
            rows = _record_layers(model, [_placeholder(dtype, shape) for shape in shapes])
        except Exception:  # noqa: BLE001  (any layer that cannot run without values)
            with no_grad():
                one = _record_layers(model, [zeros((1,) + s, dtype=dtype) for s in shapes])
                two = _record_layers(model, [zeros((2,) + s, dtype=dtype) for s in shapes])
            rows = [(label, _merge(a, b), params) for (label, a, params), (_, b, _) in zip(one, two)]
    finally:
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])
    text = _table(type(model).__name__, rows, list(model.parameters()))
    if print_fn is not None:
        print_fn(text)
    return text


def _record_layers(model, inputs):
    """Call ``model`` on ``inputs``; return a row (label, output shapes, parameter count) for
    each call of a layer that has no sub-modules or parameters of its own."""
    names = {id(module): name for name, module in model.named_modules()}
    rows, counted, handles = [], set(), []

    def record(module, args, output):
        params = 0
        if id(module) not in counted:
            counted.add(id(module))
            params = sum(p.numel() for p in module.parameters(recurse=False))
        label = f"{names.get(id(module)) or '(model)'} ({type(module).__name__})"
        rows.append((label, _shapes(output), params))

    for module in model.modules():
        if not module._modules or module._parameters:
            handles.append(module.register_forward_hook(record))
    try:
        model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return rows


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
        return "(" + ", ".join("-1" if d is None else str(d) for d in shapes) + ")"
    if isinstance(shapes, list):
        return ", ".join(_format(s) for s in shapes)
    return shapes


def _table(model_name, rows, parameters):
    unique = {id(p): p for p in parameters}.values()
    total = sum(p.numel() for p in unique)
    trainable = sum(p.numel() for p in unique if p.requires_grad)
    header = ("Layer (type)", "Output Shape", "Param #")
    cells = [header] + [(label, _format(shapes), f"{params:,}") for label, shapes, params in rows]
    widths = [max(len(row[i]) for row in cells) + 4 for i in range(3)]

    def line(row):
        return (row[0].ljust(widths[0]) + row[1].ljust(widths[1]) + row[2].rjust(widths[2])).rstrip()

    rule = "-" * sum(widths)
    lines = [f"{model_name} summary", rule, line(header), "=" * sum(widths)]
    lines += [line(row) for row in cells[1:]]
    lines += ["=" * sum(widths), f"Total params: {total:,}", f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}", rule]
    return "\n".join(lines)
