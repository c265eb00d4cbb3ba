"""ONNX forms of ganglion's ops: ``CONVERTERS`` maps an op class to a function
``(writer, op, node, inputs) -> ONNX value name`` (``writer`` is ``_export_graph.GraphWriter``;
``inputs`` are the ONNX names of the node's inputs).

Each converter follows the ONNX operator specification (https://onnx.ai/onnx/operators/) for
the opsets 13 and newer, and ganglion's (PyTorch's) semantics where they differ: ``softplus``
with its threshold, ``remainder`` with the divisor's sign, ``x[index]`` as NumPy reads it. An op
whose attributes ask for something ONNX cannot express raises ``UnsupportedOnnxOpError``
through ``writer.unsupported`` rather than writing an approximation. The recurrent layers
are in ``_export_recurrent``.
"""
import numpy as np

from importlib import import_module

from ganglion.core.ops.nn.activation import Hardswish, Silu
from ganglion.core.ops.nn.attention import AttentionWeights, ScaleLikeQuery, default_scale
from ganglion.core.ops.nn.batch_norm import BatchNormalize, BatchStatistics
from ganglion.core.ops.nn.linear import Linear
from ganglion.core.symbolic_shape import ShapeOf, ShapeVector, SizeSlot

# The op modules themselves (their packages re-export functions under some of these names).
(conv, dynamic_shape, elementwise, indexing, linalg, pool, reduce, shape, softmax, sorting,
 triangular, unary) = (import_module(f"ganglion.core.ops.{name}") for name in (
    "conv", "dynamic_shape", "elementwise", "indexing", "linalg", "pool", "reduce", "shape",
    "softmax", "sorting", "triangular", "unary"))

__all__ = ["CONVERTERS", "converter_for"]

CONVERTERS = {}
#: Converters of ops from layers that ``import ganglion`` does not load (the Theano compat
#: layer takes a second to import), by the op class's module and name.
CONVERTERS_BY_NAME = {}


def converter_for(op):
    """The converter of ``op``'s exact class, or None."""
    cls = type(op)
    found = CONVERTERS.get(cls)
    if found is None:
        found = CONVERTERS_BY_NAME.get(f"{cls.__module__}.{cls.__qualname__}")
    return found
_INT64_MAX = np.iinfo(np.int64).max
_INT64_MIN = np.iinfo(np.int64).min


def converts(*op_classes):
    def register(fn):
        for cls in op_classes:
            CONVERTERS[cls] = fn
        return fn
    return register


def _shape(node, k=0):
    return node.inputs[k].type.shape


def _np_dtype(node, k=None):
    t = node.type if k is None else node.inputs[k].type
    return np.dtype(t.dtype.np)


def _scalar(w, value, node, k=None):
    """A 0-d constant of the dtype of ``node``'s result (or of its input ``k``)."""
    return w.constant(np.asarray(value, dtype=_np_dtype(node, k)))


# ----- elementwise ----------------------------------------------------------------------------

_BINARY = {elementwise.Add: "Add", elementwise.Sub: "Sub", elementwise.Mul: "Mul",
           elementwise.Div: "Div", elementwise.Pow: "Pow", elementwise.Maximum: "Max",
           elementwise.Minimum: "Min", linalg.MatMul: "MatMul"}


def _cast_input(w, node, k, name, dtype):
    """Input ``k`` as ``dtype``: ganglion's ops promote mixed dtypes as NumPy does (float32 +
    int32 is float32), ONNX's take one type."""
    if _np_dtype(node, k) == dtype:
        return name
    return w.add("Cast", [name], to=w.helper.np_dtype_to_tensor_dtype(dtype))


def _common(w, node, ins, dtype=None):
    """``ins`` cast to ``dtype`` (default: the dtype NumPy promotes them to)."""
    if dtype is None:
        dtype = np.result_type(*[_np_dtype(node, k) for k in range(len(ins))])
    return [_cast_input(w, node, k, name, dtype) for k, name in enumerate(ins)]


@converts(*_BINARY)
def _binary(w, op, node, ins):
    return w.add(_BINARY[type(op)], _common(w, node, ins, _np_dtype(node)))


def _is_integer(node, k):
    return np.issubdtype(_np_dtype(node, k), np.integer)


@converts(elementwise.FloorDivide)
def _floor_divide(w, op, node, ins):
    ins = _common(w, node, ins, _np_dtype(node))
    a, b = ins
    if _is_integer(node, 0):  # exact: (a - a mod b) / b, with Mod's floor semantics
        return w.add("Div", [w.add("Sub", [a, w.add("Mod", [a, b], fmod=0)]), b])
    return w.add("Floor", [w.add("Div", [a, b])])


@converts(elementwise.TruncDivide)
def _trunc_divide(w, op, node, ins):
    ins = _common(w, node, ins, _np_dtype(node))
    quotient = w.add("Div", ins)
    if _is_integer(node, 0):  # ONNX's integer Div truncates
        return quotient
    return w.add("Mul", [w.add("Sign", [quotient]), w.add("Floor", [w.add("Abs", [quotient])])])


@converts(elementwise.Remainder)
def _remainder(w, op, node, ins):
    ins = _common(w, node, ins, _np_dtype(node))
    a, b = ins
    if _is_integer(node, 0):
        return w.add("Mod", [a, b], fmod=0)
    # Python's (and PyTorch's) remainder takes the divisor's sign: a - b * floor(a / b).
    return w.add("Sub", [a, w.add("Mul", [b, w.add("Floor", [w.add("Div", [a, b])])])])


_COMPARE = {"eq": "Equal", "lt": "Less", "le": "LessOrEqual", "gt": "Greater",
            "ge": "GreaterOrEqual", "and": "And", "or": "Or", "xor": "Xor"}


def _as_bool(w, node, k, name):
    if _np_dtype(node, k) == np.bool_:
        return name
    return w.add("Not", [w.add("Equal", [name, _scalar(w, 0, node, k)])])


@converts(elementwise.Compare)
def _compare(w, op, node, ins):
    if op.kind == "ne":
        return w.add("Not", [w.add("Equal", _common(w, node, ins))])
    if op.kind in ("and", "or", "xor"):
        ins = [_as_bool(w, node, k, name) for k, name in enumerate(ins)]
    else:
        ins = _common(w, node, ins)
    return w.add(_COMPARE[op.kind], ins)


@converts(elementwise.LogicalNot)
def _logical_not(w, op, node, ins):
    return w.add("Not", [_as_bool(w, node, 0, ins[0])])


@converts(elementwise.Bitwise)
def _bitwise(w, op, node, ins):
    names = {"bitwise_and": ("And", "BitwiseAnd"), "bitwise_or": ("Or", "BitwiseOr"),
             "bitwise_xor": ("Xor", "BitwiseXor")}
    if op.kind not in names:
        raise w.unsupported(node)
    logical, bitwise = names[op.kind]
    if _np_dtype(node) == np.bool_:
        return w.add(logical, ins)
    if w.opset < 18:
        raise w.unsupported(node, "bitwise ops on integers need opset 18")
    return w.add(bitwise, ins)


@converts(elementwise.Cast)
def _cast(w, op, node, ins):
    to = w.helper.np_dtype_to_tensor_dtype(np.dtype(op.dtype.np))
    return w.add("Cast", ins, to=to)


@converts(elementwise.Where)
def _where(w, op, node, ins):
    branches = [_cast_input(w, node, k, ins[k], _np_dtype(node)) for k in (1, 2)]
    return w.add("Where", [_as_bool(w, node, 0, ins[0])] + branches)


_UNARY = {unary.Neg: "Neg", unary.Abs: "Abs", unary.Exp: "Exp", unary.Log: "Log",
          unary.Sqrt: "Sqrt", unary.Sin: "Sin", unary.Cos: "Cos", unary.Tanh: "Tanh",
          unary.Sigmoid: "Sigmoid", unary.Relu: "Relu", unary.Erf: "Erf", unary.Tan: "Tan",
          unary.Asin: "Asin", unary.Acos: "Acos", unary.Atan: "Atan", unary.Sinh: "Sinh",
          unary.Cosh: "Cosh", unary.Asinh: "Asinh", unary.Acosh: "Acosh", unary.Atanh: "Atanh",
          unary.StopGradient: "Identity", unary.Clone: "Identity",
          Hardswish: "HardSwish"}


@converts(*_UNARY)
def _unary(w, op, node, ins):
    if type(op) is Hardswish and w.opset < 14:
        # x * hardsigmoid(x) with PyTorch's slope 1/6 (HardSwish itself is opset 14).
        return w.add("Mul", [ins[0], w.add("HardSigmoid", ins, alpha=1 / 6, beta=0.5)])
    return w.add(_UNARY[type(op)], ins)


@converts(unary.Log1p)
def _log1p(w, op, node, ins):
    return w.add("Log", [w.add("Add", [ins[0], _scalar(w, 1, node)])])


@converts(unary.Expm1)
def _expm1(w, op, node, ins):
    return w.add("Sub", [w.add("Exp", ins), _scalar(w, 1, node)])


@converts(unary.Sign)
def _sign(w, op, node, ins):
    if _np_dtype(node) == np.bool_ or (op.kind != "sign" and _is_integer(node, 0)):
        return w.add("Identity", ins)
    names = {"sign": "Sign", "floor": "Floor", "ceil": "Ceil", "round": "Round"}
    if op.kind not in names:
        raise w.unsupported(node)
    return w.add(names[op.kind], ins)


@converts(unary.LeakyRelu)
def _leaky_relu(w, op, node, ins):
    return w.add("LeakyRelu", ins, alpha=float(op.negative_slope))


@converts(unary.Elu)
def _elu(w, op, node, ins):
    if op.scale == 1:
        return w.add("Elu", ins, alpha=float(op.alpha))
    # scale * elu(x, alpha) is ONNX's Selu with gamma = scale (SELU's constants or any others).
    return w.add("Selu", ins, alpha=float(op.alpha), gamma=float(op.scale))


@converts(unary.Softplus)
def _softplus(w, op, node, ins):
    # PyTorch: x where beta * x > threshold (linear there, and no overflow), else
    # log(1 + exp(beta * x)) / beta. ONNX's Softplus is the second part with beta = 1.
    x = ins[0]
    scaled = w.add("Mul", [x, _scalar(w, op.beta, node)]) if op.beta != 1 else x
    smooth = w.add("Softplus", [scaled])
    if op.beta != 1:
        smooth = w.add("Div", [smooth, _scalar(w, op.beta, node)])
    linear_part = w.add("Greater", [scaled, _scalar(w, op.threshold, node)])
    return w.add("Where", [linear_part, x, smooth])


@converts(unary.Hardtanh)
def _hardtanh(w, op, node, ins):
    return w.add("Clip", [ins[0], _scalar(w, op.min_val, node), _scalar(w, op.max_val, node)])


@converts(Silu)
def _silu(w, op, node, ins):
    return w.add("Mul", [ins[0], w.add("Sigmoid", ins)])


@converts(softmax.Softmax, softmax.LogSoftmax)
def _softmax(w, op, node, ins):
    return w.add("LogSoftmax" if isinstance(op, softmax.LogSoftmax) else "Softmax", ins,
                 axis=int(op.axis))


# ----- layers ---------------------------------------------------------------------------------

@converts(Linear)
def _linear(w, op, node, ins):
    x, weight = ins[0], ins[1]
    if len(_shape(node, 0)) == 2:
        return w.add("Gemm", ins, transB=1)
    out = w.add("MatMul", [x, w.add("Transpose", [weight], perm=[1, 0])])
    return w.add("Add", [out, ins[2]]) if op.has_bias else out


@converts(conv.Conv2d, conv.ConvTranspose2d)
def _conv(w, op, node, ins):
    (top, bottom), (left, right) = op.padding
    kernel = _shape(node, 1)[2:]
    attributes = dict(strides=list(op.stride), pads=[top, left, bottom, right],
                      dilations=list(op.dilation), group=int(op.groups),
                      kernel_shape=[int(k) for k in kernel])
    if type(op) is conv.ConvTranspose2d:
        return w.add("ConvTranspose", ins, output_padding=list(op.output_padding), **attributes)
    return w.add("Conv", ins, **attributes)


def _ceil_mode_sizes(op, spatial):
    """(ONNX's output size, PyTorch's) per spatial dim of a ceil-mode pool. PyTorch drops a
    last window that would start in the right padding; ONNX keeps it (the same windows
    otherwise, so cutting ONNX's last one off gives PyTorch's result)."""
    sizes = []
    for size, k, s, p, d in zip(spatial, op.kernel, op.stride, op.padding, op.dilation):
        span = size + 2 * p - d * (k - 1) - 1
        onnx_size = -(-span // s) + 1
        torch_size = onnx_size - 1 if (onnx_size - 1) * s >= size + p else onnx_size
        sizes.append((onnx_size, torch_size))
    return sizes


@converts(pool.MaxPool2d, pool.AvgPool2d)
def _pool(w, op, node, ins):
    ph, pw = op.padding
    attributes = dict(kernel_shape=list(op.kernel), strides=list(op.stride), pads=[ph, pw, ph, pw],
                      ceil_mode=int(bool(op.ceil_mode)))
    if type(op) is pool.MaxPool2d:
        result = w.add("MaxPool", ins, dilations=list(op.dilation), **attributes)
    else:
        if op.divisor_override is not None and op.divisor_override != op.kernel[0] * op.kernel[1]:
            raise w.unsupported(node, f"divisor_override={op.divisor_override} (ONNX's "
                                      "AveragePool divides by the window's size)")
        if tuple(op.dilation) != (1, 1):
            if w.opset < 19:
                raise w.unsupported(node, "a dilated average pool needs opset 19")
            attributes["dilations"] = list(op.dilation)
        result = w.add("AveragePool", ins, count_include_pad=int(bool(op.count_include_pad)),
                       **attributes)
    if op.ceil_mode:
        spatial = _shape(node, 0)[-2:]
        if None in spatial:
            raise w.unsupported(node, "ceil_mode with an unknown image size (ONNX keeps a last "
                                      "window that PyTorch drops, depending on the size)")
        sizes = _ceil_mode_sizes(op, spatial)
        if any(onnx_size != torch_size for onnx_size, torch_size in sizes):
            ends = [torch_size for _, torch_size in sizes]
            result = w.add("Slice", [result, w.ints([0, 0]), w.ints(ends), w.ints([2, 3])])
    return result


@converts(BatchStatistics)
def _batch_statistics(w, op, node, ins):
    """(2, C): the batch's mean and biased variance per channel. Modules are exported in eval
    mode, so this is a layer with track_running_stats=False, or a function's batch norm in
    training mode (without its running-statistics updates, which export refuses)."""
    x = ins[0]
    axes = list(op.axes)
    mean = w.reduce("ReduceMean", x, axes, True)
    centered = w.add("Sub", [x, mean])
    var = w.reduce("ReduceMean", w.add("Mul", [centered, centered]), axes, True)
    rows = [w.add("Reshape", [value, w.ints([1, -1])]) for value in (mean, var)]
    return w.add("Concat", rows, axis=0)


@converts(BatchNormalize)
def _batch_norm(w, op, node, ins):
    # With batch_statistics the mean and var inputs are the batch's (BatchStatistics above):
    # the normalisation itself is the same.
    x, mean, var = ins[:3]
    if op.affine:
        scale, bias = ins[3], ins[4]
    else:
        channels = _shape(node, 1)[0]
        if channels is None:
            raise w.unsupported(node, "the number of channels is unknown")
        dtype = _np_dtype(node)
        scale = w.constant(np.ones(channels, dtype))
        bias = w.constant(np.zeros(channels, dtype))
    return w.add("BatchNormalization", [x, scale, bias, mean, var], epsilon=float(op.eps))


def _attention_scale(w, node, q, position):
    """1/sqrt(E) for queries ``q`` (the node's input ``position``) of E features (E known when
    the graph was built, or read from q's shape at run time)."""
    size = _shape(node, position)[-1]
    if size is not None:
        return _scalar(w, default_scale(size), node)
    features = w.add("Gather", [w.add("Shape", [q]), w.constant(np.asarray(-1, np.int64))], axis=0)
    features = w.add("Cast", [features], to=w.helper.np_dtype_to_tensor_dtype(_np_dtype(node)))
    return w.add("Reciprocal", [w.add("Sqrt", [features])])


@converts(AttentionWeights)
def _attention_weights(w, op, node, ins):
    """softmax(q k^T * scale + mask) over the keys (scaled dot-product attention's weights)."""
    q, k = ins[0], ins[1]
    rank = len(_shape(node, 0))
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    scale = _scalar(w, op.scale, node) if op.scale is not None else _attention_scale(w, node, q, 0)
    scores = w.add("Mul", [w.add("MatMul", [q, w.add("Transpose", [k], perm=perm)]), scale])
    minus_infinity = _scalar(w, -np.inf, node)
    if len(ins) > 2:
        if op.mask_is_bool:
            scores = w.add("Where", [ins[2], scores, minus_infinity])
        else:
            scores = w.add("Add", [scores, ins[2]])
    if op.causal:
        if w.opset < 14:
            raise w.unsupported(node, "a causal mask needs Trilu (opset 14)")
        # Keys after each query's position are masked: the strict upper triangle of (L, S).
        sizes = w.add("Slice", [w.add("Shape", [scores]), w.ints([-2]), w.ints([_INT64_MAX])])
        ones = w.add("ConstantOfShape", [sizes],
                     value=w.onnx.numpy_helper.from_array(np.ones(1, np.bool_), "value"))
        blocked = w.add("Trilu", [ones, w.constant(np.asarray(1, np.int64))], upper=1)
        scores = w.add("Where", [blocked, minus_infinity, scores])
    weights = w.add("Softmax", [scores], axis=-1)
    if op.safe and (len(ins) > 2 or op.causal):
        # A row whose every key is masked gives zeros, as ganglion (and PyTorch's
        # scaled_dot_product_attention) do, where Softmax gives NaN.
        row_max = w.reduce("ReduceMax", scores, [-1], True)
        weights = w.add("Where", [w.add("Equal", [row_max, minus_infinity]),
                                  _scalar(w, 0, node), weights])
    return weights


@converts(ScaleLikeQuery)
def _scale_like_query(w, op, node, ins):
    return w.add("Mul", [ins[0], _attention_scale(w, node, ins[1], 1)])


# ----- reductions -----------------------------------------------------------------------------

_REDUCE = {reduce.Sum: "ReduceSum", reduce.Mean: "ReduceMean", reduce.Prod: "ReduceProd",
           reduce.LogSumExp: "ReduceLogSumExp"}


@converts(*_REDUCE)
def _reduce(w, op, node, ins):
    axes = op.axes if op.axes is None or isinstance(op.axes, (tuple, list)) else (op.axes,)
    if (type(op) is reduce.Mean and op.keepdims and len(_shape(node, 0)) == 4
            and axes is not None and tuple(a % 4 for a in axes) == (2, 3)):
        # adaptive_avg_pool2d(x, 1): runtimes have a blocked-layout kernel for this one (ONNX
        # Runtime converts its NCHWc layout back before a ReduceMean).
        return w.add("GlobalAveragePool", ins)
    return w.reduce(_REDUCE[type(op)], ins[0], op.axes, op.keepdims)


@converts(reduce.Extreme)
def _extreme(w, op, node, ins):
    return w.reduce("ReduceMax" if op.kind == "max" else "ReduceMin", ins[0], op.axes, op.keepdims)


@converts(reduce.ArgExtreme)
def _arg_extreme(w, op, node, ins):
    onnx_op = {"argmax": "ArgMax", "argmin": "ArgMin"}[op.kind]
    axes = op.axes
    if axes is None:  # over the flattened tensor
        flat = w.add("Reshape", [ins[0], w.ints([-1])])
        result = w.add(onnx_op, [flat], axis=0, keepdims=0)
        if op.keepdims:
            result = w.add("Reshape", [result, w.ints([1] * len(_shape(node, 0)))])
        return result
    axis = axes[0] if isinstance(axes, (tuple, list)) else axes
    return w.add(onnx_op, ins, axis=int(axis), keepdims=int(bool(op.keepdims)))


@converts(reduce.Var)
def _var(w, op, node, ins):
    x = ins[0]
    in_shape = _shape(node, 0)
    axes = tuple(range(len(in_shape))) if op.axes is None else tuple(
        op.axes if isinstance(op.axes, (tuple, list)) else (op.axes,))
    sizes = [in_shape[a] for a in axes]
    if any(s is None for s in sizes):
        raise w.unsupported(node, "the variance is taken over a dimension of unknown size")
    count = int(np.prod(sizes)) - op.ddof
    centered = w.add("Sub", [x, w.reduce("ReduceMean", x, axes, True)])
    squares = w.reduce("ReduceSum", w.add("Mul", [centered, centered]), axes, op.keepdims)
    return w.add("Div", [squares, _scalar(w, count, node)])


@converts(reduce.Truth)
def _truth(w, op, node, ins):
    flags = w.add("Cast", [_as_bool(w, node, 0, ins[0])], to=w.onnx.TensorProto.INT32)
    reduced = w.reduce("ReduceMax" if op.kind == "any" else "ReduceMin", flags, op.axes, op.keepdims)
    return w.add("Cast", [reduced], to=w.onnx.TensorProto.BOOL)


@converts(reduce.CumSum)
def _cumsum(w, op, node, ins):
    if op.axis is None:
        raise w.unsupported(node, "a cumulative sum over the flattened tensor")
    return w.add("CumSum", [ins[0], w.constant(np.asarray(op.axis, np.int64))])


# ----- shapes ---------------------------------------------------------------------------------

@converts(shape.Reshape)
def _reshape(w, op, node, ins):
    sizes = list(op.shape)
    # ONNX reads a 0 as "copy this dim" unless allowzero=1 (opset 14).
    allowzero = 1 if 0 in sizes and w.opset >= 14 else None
    if 0 in sizes and allowzero is None:
        raise w.unsupported(node, "a reshape to an empty shape needs opset 14")
    return w.add("Reshape", [ins[0], w.ints(sizes)], allowzero=allowzero)


@converts(shape.ReshapeAs)
def _reshape_as(w, op, node, ins):
    return w.add("Reshape", [ins[0], w.add("Shape", [ins[1]])])


@converts(shape.Permute)
def _permute(w, op, node, ins):
    return w.add("Transpose", ins, perm=[int(a) for a in op.axes])


@converts(shape.Expand)
def _expand(w, op, node, ins):
    # ONNX's Expand broadcasts both ways, so a 1 keeps the input's dim as PyTorch's -1 does.
    return w.add("Expand", [ins[0], w.ints([1 if d == -1 else d for d in op.shape])])


@converts(shape.ExpandAs)
def _expand_as(w, op, node, ins):
    return w.add("Expand", [ins[0], w.add("Shape", [ins[1]])])


@converts(shape.Concatenate)
def _concatenate(w, op, node, ins):
    return w.add("Concat", _common(w, node, ins, _np_dtype(node)), axis=int(op.axis))


@converts(shape.Pad)
def _pad(w, op, node, ins):
    widths = list(op.widths)
    ndim = len(_shape(node, 0))
    widths = [(0, 0)] * (ndim - len(widths)) + widths
    pads = [b for b, _ in widths] + [a for _, a in widths]
    return w.add("Pad", [ins[0], w.ints(pads), _scalar(w, op.value, node)], mode="constant")


@converts(shape.ModePad)
def _mode_pad(w, op, node, ins):
    modes = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
    if op.mode not in modes or (op.mode == "circular" and w.opset < 19):
        raise w.unsupported(node, f"{op.mode} padding")
    widths = list(op.widths)
    if any(b < 0 or a < 0 for b, a in widths):
        raise w.unsupported(node, "negative padding widths (cropping) with a padding mode")
    ndim = len(_shape(node, 0))
    widths = [(0, 0)] * (ndim - len(widths)) + widths
    pads = [b for b, _ in widths] + [a for _, a in widths]
    return w.add("Pad", [ins[0], w.ints(pads)], mode=modes[op.mode])


@converts(shape.Flip)
def _flip(w, op, node, ins):
    axes = list(op.axes)
    count = len(axes)
    return w.add("Slice", [ins[0], w.ints([-1] * count), w.ints([_INT64_MIN] * count),
                           w.ints(axes), w.ints([-1] * count)])


@converts(linalg.Einsum)
def _einsum(w, op, node, ins):
    return w.add("Einsum", ins, equation=op.equation)


@converts(indexing.GetItem)
def _getitem(w, op, node, ins):
    """x[index] for ints, slices, None, Ellipsis and at most one integer index array (where
    the array sits, NumPy's rule and ONNX's Gather agree)."""
    x, arrays = ins[0], ins[1:]
    spec = op.spec if isinstance(op.spec, tuple) else (op.spec,)
    ndim = len(_shape(node, 0))
    used = sum(1 for p in spec if p is not None and p is not Ellipsis)
    expanded = []
    for part in spec:
        if part is Ellipsis:
            expanded.extend([slice(None)] * (ndim - used))
        else:
            expanded.append(part)
    expanded.extend([slice(None)] * (ndim - sum(1 for p in expanded if p is not None)))
    slots = [p for p in expanded if isinstance(p, indexing.Slot)]
    if slots and (len(slots) > 1 or any(isinstance(p, int) or p is None for p in expanded)):
        raise w.unsupported(node, "an index that mixes an index array with ints, None or other "
                                  "index arrays")
    for slot in slots:
        if node.inputs[1 + slot.k].type.dtype.name == "bool":
            raise w.unsupported(node, "a boolean mask (its result's size depends on the values)")
    starts, ends, axes, steps, squeezed, new_axes, gather = [], [], [], [], [], [], None
    axis = 0
    result_dims = 0  # dims of the result so far: where a None inserts its new axis
    for part in expanded:
        if part is None:
            new_axes.append(result_dims)
            result_dims += 1
            continue
        if not isinstance(part, int):
            result_dims += 1
        if isinstance(part, indexing.Slot):
            gather = (axis, arrays[part.k])
        elif isinstance(part, int):
            starts.append(part)
            ends.append(part + 1 if part != -1 else _INT64_MAX)
            axes.append(axis)
            steps.append(1)
            squeezed.append(axis)
        elif part != slice(None):
            step = 1 if part.step is None else part.step
            big, small = (_INT64_MAX, _INT64_MIN) if step > 0 else (_INT64_MIN, _INT64_MAX)
            starts.append(small if part.start is None else part.start)
            ends.append(big if part.stop is None else part.stop)
            axes.append(axis)
            steps.append(step)
        axis += 1
    result = x
    if axes:
        result = w.add("Slice", [result, w.ints(starts), w.ints(ends), w.ints(axes), w.ints(steps)])
    if gather is not None:
        result = w.add("Gather", [result, gather[1]], axis=gather[0])
    if squeezed:
        result = w.add("Squeeze", [result, w.ints(squeezed)])
    if new_axes:
        result = w.add("Unsqueeze", [result, w.ints(new_axes)])
    if result == x:
        result = w.add("Identity", [x])
    return result


@converts(indexing.Gather)
def _gather_elements(w, op, node, ins):
    """PyTorch's gather: ONNX's GatherElements, on x cut to the index's size in the other
    dims (PyTorch reads only that corner of x; GatherElements wants them equal)."""
    x, index = ins
    axis = int(op.axis)
    x_shape, index_shape = _shape(node, 0), _shape(node, 1)
    same = all(a is not None and a == b for k, (a, b) in enumerate(zip(x_shape, index_shape))
               if k != axis)
    if not same:
        sizes = w.add("Shape", [index])
        ends = [w.add("Slice", [sizes, w.ints([0]), w.ints([axis])])] if axis else []
        ends.append(w.ints([_INT64_MAX]))
        if axis + 1 < len(x_shape):
            ends.append(w.add("Slice", [sizes, w.ints([axis + 1]), w.ints([_INT64_MAX])]))
        ends = ends[0] if len(ends) == 1 else w.add("Concat", ends, axis=0)
        x = w.add("Slice", [x, w.ints([0] * len(x_shape)), ends])
    return w.add("GatherElements", [x, index], axis=axis)


@converts(indexing.OneHot)
def _one_hot(w, op, node, ins):
    depth = w.constant(np.asarray(op.num_classes, np.int64))
    return w.add("OneHot", [ins[0], depth, w.constant(np.asarray([0, 1], np.int64))], axis=-1)


@converts(sorting.ArgSort)
def _argsort(w, op, node, ins):
    """sort's and topk's indices: ONNX's TopK, which puts equal values in index order as
    ganglion's stable sort does (NaNs may be placed differently)."""
    if not _shape(node, 0):
        return w.constant(np.zeros((), np.int64))
    axis = int(op.axis)
    k = op.k if op.k is not None else _shape(node, 0)[axis]
    if k is None:  # the whole of an axis whose size is known only at run time
        k = w.add("Reshape", [w.add("Gather", [w.add("Shape", ins),
                                               w.constant(np.asarray(axis, np.int64))], axis=0),
                              w.ints([1])])
    else:
        k = w.ints([k])
    _, indices = w.add("TopK", [ins[0], k], outputs=2, axis=axis, largest=int(bool(op.descending)),
                       sorted=1)
    return indices


@converts(triangular.Triangle)
def _triangle(w, op, node, ins):
    if w.opset < 14:
        raise w.unsupported(node, "Trilu needs opset 14")
    return w.add("Trilu", [ins[0], w.constant(np.asarray(op.k, np.int64))],
                 upper=int(op.kind == "triu"))


def _theano_flatten(w, op, node, ins):
    """compat.theano's ``x.flatten(ndim)``: the first ndim - 1 dims kept (Reshape's 0 copies a
    dim), the rest joined."""
    return w.add("Reshape", [ins[0], w.ints([0] * (op.ndim - 1) + [-1])])


def _identity(w, op, node, ins):
    return w.add("Identity", ins[:1])


CONVERTERS_BY_NAME.update({
    "ganglion.compat.theano.tensor.var.Flatten": _theano_flatten,
    "ganglion.compat.theano.tensor.basic.SpecifyShape": _identity,  # a check, not a computation
})


# ----- shapes computed at run time (graphs whose batch size is unknown) -----------------------

@converts(ShapeOf)
def _shape_of(w, op, node, ins):
    return w.add("Gather", [w.add("Shape", ins), w.constant(np.asarray(op.axis, np.int64))], axis=0)


@converts(ShapeVector)
def _shape_vector(w, op, node, ins):
    return w.add("Shape", ins)


def _size_vector(w, node, ins, offset, template, keep=None):
    """A 1-d int64 shape from a template of ints and ``SizeSlot``s naming 0-d size inputs (the
    node's inputs from ``offset`` on); ``keep`` replaces the ints equal to -1 (Expand's "keep
    this dim" is 1)."""
    parts, run = [], []
    for d in template:
        if isinstance(d, SizeSlot):
            if run:
                parts.append(w.ints(run))
                run = []
            size = ins[offset + d.k]
            if _np_dtype(node, offset + d.k) != np.int64:
                size = w.add("Cast", [size], to=w.onnx.TensorProto.INT64)
            parts.append(w.add("Reshape", [size, w.ints([1])]))
        else:
            run.append(keep if keep is not None and d == -1 else d)
    if run:
        parts.append(w.ints(run))
    return parts[0] if len(parts) == 1 else w.add("Concat", parts, axis=0)


@converts(dynamic_shape.DynamicReshape)
def _dynamic_reshape(w, op, node, ins):
    return w.add("Reshape", [ins[0], _size_vector(w, node, ins, 1, op.template)])


@converts(dynamic_shape.DynamicExpand)
def _dynamic_expand(w, op, node, ins):
    return w.add("Expand", [ins[0], _size_vector(w, node, ins, 1, op.template, keep=1)])


@converts(dynamic_shape.Filled)
def _filled(w, op, node, ins):
    value = np.asarray([op.value], dtype=np.dtype(op.dtype.np))
    return w.add("ConstantOfShape", [_size_vector(w, node, ins, 0, op.template)],
                 value=w.onnx.numpy_helper.from_array(value, "value"))


@converts(dynamic_shape.Arange)
def _arange(w, op, node, ins):
    return w.add("Range", ins)


from ganglion.onnx import _export_recurrent  # noqa: E402,F401  (registers the recurrent ops)
