"""The ONNX operators that ``ganglion.onnx.load`` runs, each as a function of ganglion ops.

Reference: the ONNX operator specification (https://onnx.ai/onnx/operators/), the versions of
each operator from opset 7 to 21 (inputs that replaced attributes, such as Clip's min/max
in opset 11, Squeeze's axes in 13 or ReduceMean's axes in 18, are read from wherever the node
has them).

A value is either a ganglion Tensor or a NumPy array. NumPy arrays are *static* values: the
initializers and constants of integer type and everything computed from them and from
``Shape`` (the shape arithmetic that exporters write around ``Reshape``). Operators whose
inputs are all static compute in NumPy once per call and never enter the autograd graph or
a compiled schedule, so ``gn.jit`` folds them, as the exporters' own constant folding would.
Every handler takes ``(node, inputs, attrs)``: the ``Node`` (name, opset, requested output
count), the input values (None where an optional input is left out) and the attributes as
Python values; it returns one value or a tuple of values.
"""
import math

import numpy as np

import ganglion as gn
import ganglion.nn.functional as F
from ganglion.onnx._load_common import (UnsupportedOnnxError, as_tensor, is_static, known,
                                        optional as _optional, reshape_target as _reshape_target,
                                        static_ints, unsupported as _unsupported)
from ganglion.onnx._load_recurrent import recurrent

__all__ = ["OPERATORS", "UnsupportedOnnxError"]


def _static_float(node, value, what):
    ints_or_floats = value.detach().numpy() if isinstance(value, gn.Tensor) else np.asarray(value)
    if ints_or_floats.size != 1:
        _unsupported(node, f"a {what} with {ints_or_floats.size} elements (expected a scalar)")
    return float(ints_or_floats.reshape(-1)[0])


_DTYPES = {np.dtype(np.float32): gn.float32, np.dtype(np.float64): gn.float64,
           np.dtype(np.float16): gn.float16, np.dtype(np.int64): gn.int64,
           np.dtype(np.int32): gn.int32, np.dtype(np.int16): gn.int16,
           np.dtype(np.int8): gn.int8, np.dtype(np.uint8): gn.uint8, np.dtype(np.bool_): gn.bool_}


def ganglion_dtype(node, np_dtype):
    dtype = _DTYPES.get(np.dtype(np_dtype))
    if dtype is None:
        _unsupported(node, f"element type {np.dtype(np_dtype)}")
    return dtype


def _axis(axis, ndim):
    return axis + ndim if axis < 0 else axis


# ----- elementwise ------------------------------------------------------------------------

def _binary(numpy_fn, ganglion_fn):
    def run(node, inputs, attrs):
        a, b = inputs
        if is_static(a) and is_static(b):
            return np.asarray(numpy_fn(a, b))
        if is_static(b) and b.ndim == 0 and not isinstance(a, np.ndarray):
            b = as_tensor(b.astype(np.dtype(a.dtype.np), copy=False))
        elif is_static(a) and a.ndim == 0:
            a = as_tensor(a.astype(np.dtype(b.dtype.np), copy=False))
        return ganglion_fn(as_tensor(a), as_tensor(b))
    return run


def _numpy_div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(np.true_divide(a, b)).astype(a.dtype)  # ONNX integer Div truncates
    return np.true_divide(a, b)


def _variadic(numpy_fn, ganglion_fn):
    def run(node, inputs, attrs):
        result = inputs[0]
        for value in inputs[1:]:
            result = _binary(numpy_fn, ganglion_fn)(node, [result, value], attrs)
        return result
    return run


def _unary(ganglion_fn, numpy_fn=None):
    def run(node, inputs, attrs):
        (x,) = inputs
        if numpy_fn is not None and is_static(x):
            return np.asarray(numpy_fn(x))
        return ganglion_fn(as_tensor(x))
    return run


def _clip(node, inputs, attrs):
    x = as_tensor(inputs[0])
    low = _optional(inputs, 1)
    high = _optional(inputs, 2)
    low = attrs.get("min") if low is None else _static_float(node, low, "Clip min")
    high = attrs.get("max") if high is None else _static_float(node, high, "Clip max")
    if low == 0.0 and high == 6.0:
        return F.relu6(x)
    if low == 0.0 and high is None:
        return F.relu(x)
    return gn.clamp(x, low, high)


def _hard_sigmoid(node, inputs, attrs):
    x = as_tensor(inputs[0])
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    if math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5:
        return F.hardsigmoid(x)
    return gn.clamp(x * alpha + beta, 0.0, 1.0)


def _softmax(function):
    def run(node, inputs, attrs):
        x = as_tensor(inputs[0])
        if node.opset >= 13:
            return function(x, dim=attrs.get("axis", -1))
        # Before opset 13 the input is seen as a 2-D matrix split at ``axis``.
        axis = _axis(attrs.get("axis", 1), x.ndim)
        if axis == x.ndim - 1:
            return function(x, dim=-1)
        shape = tuple(x.shape)
        flat = gn.reshape(x, (int(np.prod(shape[:axis])), -1))
        return gn.reshape(function(flat, dim=-1), shape)
    return run


def _gelu(node, inputs, attrs):
    return F.gelu(as_tensor(inputs[0]), approximate=attrs.get("approximate", "none"))


def _prelu(node, inputs, attrs):
    x, slope = as_tensor(inputs[0]), as_tensor(inputs[1])
    return gn.where(x >= 0, x, x * slope)


def _where(node, inputs, attrs):
    condition, a, b = inputs
    if is_static(condition) and is_static(a) and is_static(b):
        return np.where(condition, a, b)
    return gn.where(as_tensor(condition), as_tensor(a), as_tensor(b))


def _cast(node, inputs, attrs):
    from onnx import helper
    np_dtype = helper.tensor_dtype_to_np_dtype(attrs["to"])
    (x,) = inputs
    if is_static(x):
        return x.astype(np_dtype)
    return x.to(ganglion_dtype(node, np_dtype))


# ----- linear algebra and convolution -----------------------------------------------------

def _gemm(node, inputs, attrs):
    a, b = as_tensor(inputs[0]), as_tensor(inputs[1])
    c = _optional(inputs, 2)
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    trans_a, trans_b = attrs.get("transA", 0), attrs.get("transB", 0)
    if trans_a:
        a = gn.transpose(a, 0, 1)
    if trans_b and alpha == 1.0 and beta == 1.0 and (c is None or c.ndim <= 1):
        # The fully connected layer's form: one fused op (weight is (out, in)).
        return F.linear(a, b, None if c is None else as_tensor(c))
    product = gn.matmul(a, gn.transpose(b, 0, 1) if trans_b else b)
    if alpha != 1.0:
        product = product * alpha
    if c is None:
        return product
    c = as_tensor(c)
    return product + (c * beta if beta != 1.0 else c)


def _spatial_attrs(node, x, attrs, kernel):
    """(strides, dilations, pads as (begin, end) pairs) of a Conv or pooling node, ``auto_pad``
    resolved against the input's spatial shape."""
    dims = len(kernel)
    strides = tuple(attrs.get("strides", (1,) * dims))
    dilations = tuple(attrs.get("dilations", (1,) * dims))
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad in ("NOTSET", ""):
        pads = tuple(attrs.get("pads", (0,) * (2 * dims)))
        pairs = tuple((pads[k], pads[k + dims]) for k in range(dims))
    elif auto_pad == "VALID":
        pairs = ((0, 0),) * dims
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pairs = []
        for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations):
            if not known(size):
                _unsupported(node, "auto_pad SAME on an input of unknown spatial size")
            out = -(-size // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            small, large = total // 2, total - total // 2
            pairs.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
        pairs = tuple(pairs)
    else:
        _unsupported(node, f"auto_pad {auto_pad!r}")
    return strides, dilations, pairs


def _pad_explicitly(x, pairs, value=0.0):
    widths = []
    for begin, end in reversed(pairs):
        widths += [begin, end]
    return F.pad(x, widths, mode="constant", value=value)


def _conv(node, inputs, attrs):
    x, weight = as_tensor(inputs[0]), as_tensor(inputs[1])
    bias = _optional(inputs, 2)
    bias = None if bias is None else as_tensor(bias)
    kernel = tuple(attrs.get("kernel_shape", weight.shape[2:]))
    strides, dilations, pairs = _spatial_attrs(node, x, attrs, kernel)
    group = attrs.get("group", 1)
    if any(begin != end for begin, end in pairs):
        x = _pad_explicitly(x, pairs)
        padding = (0,) * len(kernel)
    else:
        padding = tuple(begin for begin, _ in pairs)
    if len(kernel) == 2:
        return F.conv2d(x, weight, bias, strides, padding, dilations, group)
    if len(kernel) == 1:
        return F.conv1d(x, weight, bias, strides, padding, dilations, group)
    _unsupported(node, f"a {len(kernel)}-D convolution (1-D and 2-D are)")


def _conv_transpose(node, inputs, attrs):
    x, weight = as_tensor(inputs[0]), as_tensor(inputs[1])
    bias = _optional(inputs, 2)
    bias = None if bias is None else as_tensor(bias)
    kernel = tuple(attrs.get("kernel_shape", weight.shape[2:]))
    if len(kernel) != 2:
        _unsupported(node, f"a {len(kernel)}-D transposed convolution (2-D is)")
    if "output_shape" in attrs:
        _unsupported(node, "the output_shape attribute (give pads and output_padding)")
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
        _unsupported(node, f"auto_pad {attrs['auto_pad']!r}")
    strides = tuple(attrs.get("strides", (1, 1)))
    dilations = tuple(attrs.get("dilations", (1, 1)))
    pads = tuple(attrs.get("pads", (0, 0, 0, 0)))
    output_padding = tuple(attrs.get("output_padding", (0, 0)))
    symmetric = pads[0] == pads[2] and pads[1] == pads[3]
    out = F.conv_transpose2d(x, weight, bias, strides, pads[:2] if symmetric else 0,
                             output_padding, attrs.get("group", 1), dilations)
    if symmetric:
        return out
    # Asymmetric pads crop the full output: begin rows at the start, end rows at the end.
    return out[:, :, pads[0]:-pads[2] or None, pads[1]:-pads[3] or None]


def _pool_geometry(node, x, attrs):
    kernel = tuple(attrs["kernel_shape"])
    if len(kernel) not in (1, 2):
        _unsupported(node, f"{len(kernel)}-D pooling (1-D and 2-D are)")
    strides, dilations, pairs = _spatial_attrs(node, x, attrs, kernel)
    return kernel, strides, dilations, pairs


def _as_2d(x, kernel, strides, dilations, pairs):
    """A 1-D pool as a 2-D pool over a height of one."""
    if len(kernel) == 2:
        return x, kernel, strides, dilations, pairs, False
    return (gn.unsqueeze(x, 2), (1,) + kernel, (1,) + strides, (1,) + dilations,
            ((0, 0),) + pairs, True)


def _max_pool(node, inputs, attrs):
    x = as_tensor(inputs[0])
    if node.num_outputs > 1:
        _unsupported(node, "MaxPool's Indices output")
    if attrs.get("storage_order", 0):
        _unsupported(node, "storage_order=1")
    x, kernel, strides, dilations, pairs, squeezed = _as_2d(x, *_pool_geometry(node, x, attrs))
    symmetric = all(b == e and 2 * b <= k for (b, e), k in zip(pairs, kernel))
    if symmetric:
        padding = tuple(b for b, _ in pairs)
    else:
        x = _pad_explicitly(x, pairs, value=-math.inf)
        padding = (0, 0)
    out = F.max_pool2d(x, kernel, strides, padding, dilations, bool(attrs.get("ceil_mode", 0)))
    return gn.squeeze(out, 2) if squeezed else out


def _average_pool(node, inputs, attrs):
    x = as_tensor(inputs[0])
    x, kernel, strides, dilations, pairs, squeezed = _as_2d(x, *_pool_geometry(node, x, attrs))
    if any(d != 1 for d in dilations):
        _unsupported(node, "AveragePool with dilations")
    include_pad = bool(attrs.get("count_include_pad", 0))
    symmetric = all(b == e and 2 * b <= k for (b, e), k in zip(pairs, kernel))
    if symmetric:
        padding = tuple(b for b, _ in pairs)
    elif include_pad:
        x = _pad_explicitly(x, pairs)
        padding = (0, 0)
    else:
        _unsupported(node, f"asymmetric pads {pairs} with count_include_pad=0")
    out = F.avg_pool2d(x, kernel, strides, padding, bool(attrs.get("ceil_mode", 0)), include_pad)
    return gn.squeeze(out, 2) if squeezed else out


def _global_pool(reduce):
    def run(node, inputs, attrs):
        x = as_tensor(inputs[0])
        axes = tuple(range(2, x.ndim))
        if reduce == "mean" and x.ndim == 4:
            return F.adaptive_avg_pool2d(x, 1)
        if reduce == "mean":
            return gn.mean(x, dim=axes, keepdim=True)
        return gn.amax(x, dim=axes, keepdim=True)
    return run


def _batch_norm(node, inputs, attrs):
    if attrs.get("training_mode", 0) or node.num_outputs > 1:
        _unsupported(node, "BatchNormalization in training mode (an exported model's batch norm "
                           "runs in inference mode)")
    x, scale, bias, mean, var = (as_tensor(v) for v in inputs[:5])
    return F.batch_norm(x, mean, var, scale, bias, training=False,
                        eps=attrs.get("epsilon", 1e-5))


def _layer_norm(node, inputs, attrs):
    if node.num_outputs > 1:
        _unsupported(node, "LayerNormalization's Mean and InvStdDev outputs")
    x, scale = as_tensor(inputs[0]), as_tensor(inputs[1])
    bias = _optional(inputs, 2)
    axis = _axis(attrs.get("axis", -1), x.ndim)
    return F.layer_norm(x, tuple(x.shape[axis:]), scale, None if bias is None else as_tensor(bias),
                        eps=attrs.get("epsilon", 1e-5))


def _lrn(node, inputs, attrs):
    """y = x / (bias + alpha / size * square_sum) ** beta, the square sum over channels
    [c - floor((size-1)/2), c + ceil((size-1)/2)] (PyTorch's window is shifted by one for an
    even size, so its local_response_norm is not used)."""
    x = as_tensor(inputs[0])
    size = attrs["size"]
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    squares = x * x
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    widths = [0, 0] * (x.ndim - 2) + [before, after]
    padded = F.pad(squares, widths)
    channels = x.shape[1]
    window_sum = padded[:, 0:channels]
    for shift in range(1, size):
        window_sum = window_sum + padded[:, shift:shift + channels]
    return x / (window_sum * (alpha / size) + bias) ** beta


# ----- shapes -----------------------------------------------------------------------------

def _shape(node, inputs, attrs):
    x = inputs[0]
    shape = tuple(x.shape)
    start, end = attrs.get("start", 0), attrs.get("end", None)
    shape = shape[start:end]
    if not all(known(d) for d in shape):
        _unsupported(node, "Shape of a tensor with dimensions unknown when the graph is built "
                           "(give the placeholder a concrete shape, as gn.jit does)")
    return np.array(shape, dtype=np.int64)


def _size(node, inputs, attrs):
    shape = _shape(node, inputs, {})
    return np.array(int(np.prod(shape)), dtype=np.int64)


def _reshape(node, inputs, attrs):
    x = inputs[0]
    target = list(static_ints(node, inputs[1], "Reshape shape"))
    if not attrs.get("allowzero", 0):
        for k, size in enumerate(target):
            if size == 0:
                target[k] = x.shape[k]
    if is_static(x):
        return x.reshape(target)
    return gn.reshape(x, _reshape_target(node, target))


def _flatten(node, inputs, attrs):
    x = inputs[0]
    axis = _axis(attrs.get("axis", 1), x.ndim)
    shape = tuple(x.shape)
    if all(known(d) for d in shape[:axis]):
        target = (int(np.prod(shape[:axis], dtype=np.int64)), -1)
    else:
        target = (-1, int(np.prod(shape[axis:], dtype=np.int64)))
    if is_static(x):
        return x.reshape(target)
    return gn.reshape(x, target)


def _transpose(node, inputs, attrs):
    x = inputs[0]
    perm = tuple(attrs.get("perm", range(x.ndim - 1, -1, -1)))
    if is_static(x):
        return np.transpose(x, perm)
    return gn.permute(x, perm)


def _axes(node, inputs, attrs, index=1):
    axes = _optional(inputs, index)
    if axes is not None:
        return static_ints(node, axes, f"{node.op_type} axes")
    return tuple(attrs["axes"]) if "axes" in attrs else None


def _squeeze(node, inputs, attrs):
    x = inputs[0]
    axes = _axes(node, inputs, attrs)
    if axes is None:
        axes = tuple(k for k, d in enumerate(x.shape) if d == 1)
    axes = sorted((_axis(a, x.ndim) for a in axes), reverse=True)
    if is_static(x):
        return np.squeeze(x, tuple(axes)) if axes else x
    for axis in axes:
        x = gn.squeeze(x, axis)
    return x


def _unsqueeze(node, inputs, attrs):
    x = inputs[0]
    axes = _axes(node, inputs, attrs)
    rank = x.ndim + len(axes)
    for axis in sorted(_axis(a, rank) for a in axes):
        x = np.expand_dims(x, axis) if is_static(x) else gn.unsqueeze(x, axis)
    return x


def _concat(node, inputs, attrs):
    values = [v for v in inputs if v is not None]
    axis = attrs["axis"]
    if all(is_static(v) for v in values):
        return np.concatenate(values, axis=axis)
    return gn.concatenate([as_tensor(v) for v in values], axis=axis)


def _split(node, inputs, attrs):
    x = as_tensor(inputs[0])
    axis = _axis(attrs.get("axis", 0), x.ndim)
    sizes = _optional(inputs, 1)
    sizes = static_ints(node, sizes, "Split sizes") if sizes is not None else attrs.get("split")
    if sizes is None:
        count = attrs.get("num_outputs", node.num_outputs)
        chunk = -(-x.shape[axis] // count)
        sizes = [min(chunk, x.shape[axis] - k * chunk) for k in range(count)]
    outputs, start = [], 0
    for size in sizes:
        index = (slice(None),) * axis + (slice(start, start + size),)
        outputs.append(x[index])
        start += size
    return tuple(outputs)


def _slice(node, inputs, attrs):
    x = inputs[0]
    if len(inputs) > 1:  # opset 10 on: starts, ends, axes, steps are inputs
        starts = static_ints(node, inputs[1], "Slice starts")
        ends = static_ints(node, inputs[2], "Slice ends")
        axes = static_ints(node, _optional(inputs, 3), "Slice axes")
        steps = static_ints(node, _optional(inputs, 4), "Slice steps")
    else:
        starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
    axes = tuple(range(len(starts))) if axes is None else axes
    steps = (1,) * len(starts) if steps is None else steps
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        if step == 0:
            _unsupported(node, "a step of 0")
        size = x.shape[_axis(axis, x.ndim)]
        # ONNX clamps out-of-range bounds; a negative step's "to the start" end is below -size.
        if step < 0 and known(size) and end < -size:
            end = None
        index[_axis(axis, x.ndim)] = slice(start, end, step)
    return x[tuple(index)]


def _gather(node, inputs, attrs):
    data, indices = inputs
    axis = _axis(attrs.get("axis", 0), data.ndim)
    if is_static(data) and is_static(indices):
        return np.asarray(np.take(data, indices, axis=axis))
    data = as_tensor(data)
    if is_static(indices):
        size = data.shape[axis]
        indices = np.where(indices < 0, indices + size, indices) if known(size) else indices
        if indices.ndim == 0:
            return data[(slice(None),) * axis + (int(indices),)]
    indices = as_tensor(indices)
    if axis == 0 and data.ndim == 2:
        return F.embedding(indices, data)
    flat = gn.index_select(data, axis, gn.reshape(indices, (-1,)))
    shape = tuple(data.shape[:axis]) + tuple(indices.shape) + tuple(data.shape[axis + 1:])
    return gn.reshape(flat, _reshape_target(node, shape))


def _expand(node, inputs, attrs):
    x = inputs[0]
    target = static_ints(node, inputs[1], "Expand shape")
    shape = np.broadcast_shapes(tuple(x.shape), target)
    if is_static(x):
        return np.broadcast_to(x, shape).copy()
    return gn.expand(x, *shape)


def _tile(node, inputs, attrs):
    x = inputs[0]
    repeats = static_ints(node, inputs[1], "Tile repeats")
    return np.tile(x, repeats) if is_static(x) else gn.tile(x, repeats)


def _constant_of_shape(node, inputs, attrs):
    shape = static_ints(node, inputs[0], "ConstantOfShape shape")
    value = attrs.get("value")
    value = np.zeros(1, np.float32) if value is None else value
    return np.full(shape, value.reshape(-1)[0], dtype=value.dtype)


def _range(node, inputs, attrs):
    start, limit, delta = (np.asarray(v.detach().numpy() if isinstance(v, gn.Tensor) else v)
                           for v in inputs)
    return np.arange(start, limit, delta, dtype=start.dtype)


def _constant(node, inputs, attrs):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in attrs:
            value = attrs[key]
            if key in ("value_float", "value_floats"):
                return np.array(value, dtype=np.float32)
            if key in ("value_int", "value_ints"):
                return np.array(value, dtype=np.int64)
            return value
    _unsupported(node, f"a Constant with attributes {sorted(attrs)}")


def _identity(node, inputs, attrs):
    return inputs[0]


def _dropout(node, inputs, attrs):
    x = inputs[0]
    training = _optional(inputs, 2)
    if training is not None and static_ints(node, training, "Dropout training_mode")[0]:
        ratio = _optional(inputs, 1)
        ratio = attrs.get("ratio", 0.5) if ratio is None else _static_float(node, ratio, "ratio")
        if node.num_outputs > 1:
            _unsupported(node, "Dropout's mask output in training mode")
        return F.dropout(as_tensor(x), ratio, training=True)
    if node.num_outputs > 1:
        return x, np.ones(tuple(x.shape), dtype=np.bool_)
    return x


def _pad(node, inputs, attrs):
    x = as_tensor(inputs[0])
    mode = attrs.get("mode", "constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if len(inputs) > 1:
        pads = static_ints(node, inputs[1], "Pad pads")
        value = _optional(inputs, 2)
        value = 0.0 if value is None else _static_float(node, value, "Pad constant_value")
        axes = static_ints(node, _optional(inputs, 3), "Pad axes")
    else:
        pads, value, axes = attrs["pads"], attrs.get("value", 0.0), None
    axes = tuple(range(x.ndim)) if axes is None else tuple(_axis(a, x.ndim) for a in axes)
    count = len(axes)
    begin = dict(zip(axes, pads[:count]))
    end = dict(zip(axes, pads[count:]))
    first_padded = min((a for a in axes if begin[a] or end[a]), default=x.ndim)
    widths = []
    for axis in range(x.ndim - 1, first_padded - 1, -1):  # F.pad lists the last dim first
        widths += [begin.get(axis, 0), end.get(axis, 0)]
    if not widths:
        return x
    modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}
    if mode not in modes:
        _unsupported(node, f"mode {mode!r}")
    if mode == "constant":
        return F.pad(x, widths, mode="constant", value=value)
    return F.pad(x, widths, mode=modes[mode])


def _reduce(ganglion_fn, numpy_fn):
    def run(node, inputs, attrs):
        x = inputs[0]
        axes = _axes(node, inputs, attrs)
        keepdims = bool(attrs.get("keepdims", 1))
        if axes is None or len(axes) == 0:
            if attrs.get("noop_with_empty_axes", 0):
                return x
            axes = tuple(range(x.ndim))
        axes = tuple(_axis(a, x.ndim) for a in axes)
        if is_static(x):
            return np.asarray(numpy_fn(x, axis=axes, keepdims=keepdims))
        return ganglion_fn(x, dim=axes, keepdim=keepdims)
    return run


def _reduce_prod(x, dim, keepdim):
    for axis in sorted(dim, reverse=True):
        x = gn.prod(x, dim=axis, keepdim=keepdim)
    return x


def _mod(node, inputs, attrs):
    a, b = inputs
    if attrs.get("fmod", 0):
        # C's fmod: the remainder takes the dividend's sign (Python's % takes the divisor's).
        if is_static(a) and is_static(b):
            return np.fmod(a, b)
        a, b = as_tensor(a), as_tensor(b)
        r = gn.remainder(a, b)
        return gn.where(gn.logical_and(r != 0, gn.sign(r) != gn.sign(a)), r - b, r)
    if is_static(a) and is_static(b):
        return np.mod(a, b)
    return gn.remainder(as_tensor(a), as_tensor(b))


def _cumsum(node, inputs, attrs):
    x = as_tensor(inputs[0])
    axis = _axis(static_ints(node, inputs[1], "CumSum axis")[0], x.ndim)
    if attrs.get("reverse", 0):
        x = gn.flip(x, (axis,))
    out = gn.cumsum(x, axis)
    if attrs.get("exclusive", 0):
        out = out - x
    return gn.flip(out, (axis,)) if attrs.get("reverse", 0) else out


def _einsum(node, inputs, attrs):
    return gn.einsum(attrs["equation"], *[as_tensor(v) for v in inputs])


def _arg_extreme(function):
    def run(node, inputs, attrs):
        if attrs.get("select_last_index", 0):
            _unsupported(node, "select_last_index=1")
        x = as_tensor(inputs[0])
        return function(x, dim=attrs.get("axis", 0), keepdim=bool(attrs.get("keepdims", 1)))
    return run


OPERATORS = {
    "Add": _binary(np.add, gn.add),
    "Sub": _binary(np.subtract, gn.sub),
    "Mul": _binary(np.multiply, gn.mul),
    "Div": _binary(_numpy_div, gn.div),
    "Pow": _binary(np.power, gn.pow),
    "Equal": _binary(np.equal, gn.eq),
    "Less": _binary(np.less, gn.lt),
    "Greater": _binary(np.greater, gn.gt),
    "Max": _variadic(np.maximum, gn.maximum),
    "Min": _variadic(np.minimum, gn.minimum),
    "Sum": _variadic(np.add, gn.add),
    "MatMul": _binary(np.matmul, gn.matmul),
    "Gemm": _gemm,
    "Relu": _unary(F.relu),
    "LeakyRelu": lambda node, inputs, attrs: F.leaky_relu(as_tensor(inputs[0]),
                                                          attrs.get("alpha", 0.01)),
    "Elu": lambda node, inputs, attrs: F.elu(as_tensor(inputs[0]), attrs.get("alpha", 1.0)),
    "Selu": _unary(F.selu),
    "Sigmoid": _unary(gn.sigmoid),
    "Tanh": _unary(gn.tanh),
    "Softplus": _unary(F.softplus),
    "HardSwish": _unary(F.hardswish),
    "HardSigmoid": _hard_sigmoid,
    "Gelu": _gelu,
    "Erf": _unary(gn.erf),
    "PRelu": _prelu,
    "Clip": _clip,
    "Exp": _unary(gn.exp, np.exp),
    "Log": _unary(gn.log, np.log),
    "Sqrt": _unary(gn.sqrt, np.sqrt),
    "Neg": _unary(gn.neg, np.negative),
    "Abs": _unary(gn.abs, np.abs),
    "Reciprocal": _unary(lambda x: 1.0 / x, np.reciprocal),
    "Floor": _unary(gn.floor, np.floor),
    "Ceil": _unary(gn.ceil, np.ceil),
    "Not": _unary(gn.logical_not, np.logical_not),
    "Sign": _unary(gn.sign, np.sign),
    "Round": _unary(gn.round, np.round),  # both round half to even, as ONNX does
    "Sin": _unary(gn.sin), "Cos": _unary(gn.cos), "Tan": _unary(gn.tan),
    "Asin": _unary(gn.asin), "Acos": _unary(gn.acos), "Atan": _unary(gn.atan),
    "Sinh": _unary(gn.sinh), "Cosh": _unary(gn.cosh),
    "Asinh": _unary(gn.asinh), "Acosh": _unary(gn.acosh), "Atanh": _unary(gn.atanh),
    "And": _binary(np.logical_and, gn.logical_and),
    "Or": _binary(np.logical_or, gn.logical_or),
    "Xor": _binary(np.logical_xor, gn.logical_xor),
    "BitwiseAnd": _binary(np.bitwise_and, gn.bitwise_and),
    "BitwiseOr": _binary(np.bitwise_or, gn.bitwise_or),
    "BitwiseXor": _binary(np.bitwise_xor, gn.bitwise_xor),
    "GreaterOrEqual": _binary(np.greater_equal, gn.ge),
    "LessOrEqual": _binary(np.less_equal, gn.le),
    "Mod": _mod,
    "CumSum": _cumsum,
    "Einsum": _einsum,
    "Where": _where,
    "Cast": _cast,
    "Softmax": _softmax(F.softmax),
    "LogSoftmax": _softmax(F.log_softmax),
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": _global_pool("mean"),
    "GlobalMaxPool": _global_pool("max"),
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "LRN": _lrn,
    "Shape": _shape,
    "Size": _size,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": _transpose,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "Split": _split,
    "Slice": _slice,
    "Gather": _gather,
    "Expand": _expand,
    "Tile": _tile,
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Constant": _constant,
    "Identity": _identity,
    "Dropout": _dropout,
    "Pad": _pad,
    "ReduceMean": _reduce(gn.mean, np.mean),
    "ReduceSum": _reduce(gn.sum, np.sum),
    "ReduceMax": _reduce(gn.amax, np.max),
    "ReduceMin": _reduce(gn.amin, np.min),
    "ReduceProd": _reduce(_reduce_prod, np.prod),
    "ReduceLogSumExp": _reduce(gn.logsumexp,
                               lambda x, axis, keepdims: np.log(np.sum(np.exp(x), axis=axis,
                                                                       keepdims=keepdims))),
    "ArgMax": _arg_extreme(gn.argmax),
    "ArgMin": _arg_extreme(gn.argmin),
    "LSTM": recurrent("LSTM"),
    "GRU": recurrent("GRU"),
    "RNN": recurrent("RNN"),
}
