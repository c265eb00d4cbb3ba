"""``tf.nn``: activations, NHWC convolution and pooling with TF's SAME / VALID padding, dropout,
cross-entropies on logits, moments, and the recurrent cells with ``dynamic_rnn``.

Reference: TF 1.15 ``tf.nn``. Images are NHWC and conv filters [height, width, in, out], TF's
defaults; ganglion's kernels are NCHW, so each op transposes in and out, and the compiler's
transpose-of-transpose rewrite removes the pairs between consecutive layers. TF's SAME padding
gives ceil(size / stride) outputs and puts the odd element of an odd total padding at the end
(bottom / right), which a strided or even kernel needs; it is padded explicitly when the two
sides differ. Max pooling ignores the padding, average pooling divides by the number of real
elements in each window. Recurrent cells keep TF's variable layout (one ``kernel`` of shape
[input + units, 4 * units] with gates i, j, f, o for ``BasicLSTMCell``) so that checkpoints name
the same variables.
"""
import collections

import numpy as np

import ganglion as gn
import ganglion.nn.functional as F
from ganglion.compat.tensorflow.graph import (float32, get_default_graph, get_variable, static_shape,
                                              variable_scope, zeros_initializer, ones_initializer)
from ganglion.compat.tensorflow.ops import _tensor, sigmoid, tanh  # noqa: F401 (tf.nn.sigmoid)
from ganglion.core.ops.dynamic_shape import random_draw
from ganglion.core.ops.elementwise import cast as _cast
from ganglion.core.tensor import Tensor

__all__ = ["relu", "relu6", "elu", "selu", "leaky_relu", "softplus", "sigmoid", "tanh", "softmax",
           "log_softmax", "bias_add", "conv2d", "max_pool", "avg_pool", "dropout", "l2_loss",
           "moments", "batch_normalization", "softmax_cross_entropy_with_logits",
           "softmax_cross_entropy_with_logits_v2", "sparse_softmax_cross_entropy_with_logits",
           "sigmoid_cross_entropy_with_logits", "embedding_lookup", "dynamic_rnn", "rnn_cell",
           "same_padding", "in_top_k", "l2_normalize"]


def relu(features, name=None):
    return F.relu(features)


def relu6(features, name=None):
    return F.relu6(features)


def elu(features, name=None):
    return F.elu(features)


def selu(features, name=None):
    return F.selu(features)


def leaky_relu(features, alpha=0.2, name=None):
    return F.leaky_relu(features, alpha)


def softplus(features, name=None):
    return F.softplus(features)


def softmax(logits, axis=None, name=None, dim=None):
    """Softmax along ``axis`` (the last by default)."""
    axis = dim if axis is None else axis
    return F.softmax(logits, -1 if axis is None else axis)


def log_softmax(logits, axis=None, name=None, dim=None):
    axis = dim if axis is None else axis
    return F.log_softmax(logits, -1 if axis is None else axis)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    axis = dim if axis is None else axis
    squares = gn.sum(x * x, axis, True) if axis is not None else gn.sum(x * x)
    return x / gn.sqrt(gn.maximum(squares, _tensor(epsilon, x)))


def bias_add(value, bias, data_format=None, name=None):
    """``value + bias`` along the channel axis (the last for NHWC, 1 for NCHW)."""
    if data_format == "NCHW":
        return value + bias.reshape((-1,) + (1,) * (value.ndim - 2))
    return value + bias


def _check_format(who, data_format):
    if data_format not in (None, "NHWC", "channels_last"):
        raise ValueError(f"{who}: data_format {data_format!r} is not supported; only NHWC "
                         "(channels_last), TF's default")


def _pair(who, what, value, four):
    """(h, w) from an int, a pair, or TF's 4-element [1, h, w, 1]."""
    if isinstance(value, int):
        return value, value
    value = [int(v) for v in value]
    if len(value) == 4 and four:
        if value[0] != 1 or value[3] != 1:
            raise ValueError(f"{who}: {what} {value} must be 1 in the batch and channel "
                             "dimensions")
        return value[1], value[2]
    if len(value) == 2:
        return tuple(value)
    if len(value) == 1:
        return value[0], value[0]
    raise ValueError(f"{who}: {what} must be an int, 2 values or 4 values [1, h, w, 1], got "
                     f"{value}")


def same_padding(size, kernel, stride, dilation=1):
    """TF's SAME padding of one axis: (before, after), the odd element after."""
    out = -(-size // stride)
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _padding(who, padding, shape, kernel, stride, dilation=(1, 1)):
    """((top, bottom), (left, right)) for TF's 'SAME' / 'VALID' (any case) on an NHWC shape."""
    mode = str(padding).upper()
    if mode == "VALID":
        return (0, 0), (0, 0)
    if mode != "SAME":
        raise ValueError(f"{who}: padding must be 'SAME' or 'VALID', got {padding!r}")
    height, width = shape[1], shape[2]
    if height is None or width is None:
        raise ValueError(f"{who}: SAME padding needs the image height and width known when the "
                         f"graph is built, got input shape {tuple(shape)}")
    return (same_padding(height, kernel[0], stride[0], dilation[0]),
            same_padding(width, kernel[1], stride[1], dilation[1]))


def _to_nchw(x):
    return x.permute(0, 3, 1, 2)


def _to_nhwc(x):
    return x.permute(0, 2, 3, 1)


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True,
           data_format="NHWC", dilations=(1, 1, 1, 1), name=None, filters=None):
    """2-D convolution (a cross-correlation, as TF's) of an NHWC ``input`` with a filter of shape
    [height, width, in_channels, out_channels]; ``strides`` [1, sh, sw, 1]; ``padding`` 'SAME'
    or 'VALID'."""
    filter = filters if filter is None else filter
    _check_format("conv2d", data_format)
    if input.ndim != 4 or filter.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D NHWC input and a 4-D [h, w, in, out] filter, "
                         f"got shapes {static_shape(input)} and {tuple(filter.shape)}")
    if static_shape(input)[3] not in (None, filter.shape[2]):
        raise ValueError(f"conv2d: the input has {input.shape[3]} channels (shape "
                         f"{static_shape(input)}) but the filter {tuple(filter.shape)} expects "
                         f"{filter.shape[2]}")
    stride = _pair("conv2d", "strides", strides, True)
    dilation = _pair("conv2d", "dilations", dilations, True)
    kernel = (filter.shape[0], filter.shape[1])
    pads = _padding("conv2d", padding, static_shape(input), kernel, stride, dilation)
    return _to_nhwc(conv_nchw(_to_nchw(input), filter.permute(3, 2, 0, 1), stride, pads, dilation))


def conv_nchw(x, weight, stride, pads, dilation, bias=None):
    """F.conv2d with TF's (possibly uneven) padding pairs."""
    (top, bottom), (left, right) = pads
    if top == bottom and left == right:
        return F.conv2d(x, weight, bias, stride, (top, left), dilation)
    x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, weight, bias, stride, 0, dilation)


def _pool_nchw(who, x, kernel, stride, padding, kind):
    """Max or average pooling of an NCHW tensor whose NHWC shape decided ``padding``."""
    n, c, h, w = static_shape(x)
    pads = _padding(who, padding, (n, h, w, c), kernel, stride)
    (top, bottom), (left, right) = pads
    if kind == "max":
        if top or bottom or left or right:
            # Padding with -inf: the windows' maxima ignore it, as TF's SAME pooling does.
            x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
        return F.max_pool2d(x, kernel, stride)
    if not (top or bottom or left or right):
        return F.avg_pool2d(x, kernel, stride)
    x = F.pad(x, (left, right, top, bottom))
    total = F.avg_pool2d(x, kernel, stride) * float(kernel[0] * kernel[1])
    # Each window's number of real (not padded) elements; TF divides by it.
    height, width = h, w
    rows = _window_counts(height, kernel[0], stride[0], top, bottom)
    cols = _window_counts(width, kernel[1], stride[1], left, right)
    counts = np.outer(rows, cols).astype(x.dtype.np)
    return total / gn.from_numpy(counts)


def _window_counts(size, kernel, stride, before, after):
    starts = np.arange(0, size + before + after - kernel + 1, stride) - before
    return np.minimum(starts + kernel, size) - np.maximum(starts, 0)


def max_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """Max pooling of an NHWC tensor: ``ksize`` and ``strides`` [1, h, w, 1]."""
    value = input if value is None else value
    _check_format("max_pool", data_format)
    return _to_nhwc(_pool_nchw("max_pool", _to_nchw(value), _pair("max_pool", "ksize", ksize, True),
                               _pair("max_pool", "strides", strides, True), padding, "max"))


def avg_pool(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
    """Average pooling of an NHWC tensor (SAME padding averages the real elements only)."""
    value = input if value is None else value
    _check_format("avg_pool", data_format)
    return _to_nhwc(_pool_nchw("avg_pool", _to_nchw(value), _pair("avg_pool", "ksize", ksize, True),
                               _pair("avg_pool", "strides", strides, True), padding, "avg"))


def keep_mask(x, keep_prob, seed, noise_shape=None):
    """x's elements kept with probability ``keep_prob`` and scaled by 1 / keep_prob (fresh at
    each run); ``keep_prob`` may be a tensor (a fed placeholder)."""
    sizes = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[k] if d is None else d for k, d in enumerate(noise_shape))
    draw = random_draw("dropout", "uniform", sizes, (0.0, 1.0), x.dtype,
                       get_default_graph().next_rng(seed))
    keep = _cast(draw < keep_prob, x.dtype)
    return x * keep / keep_prob


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """TF1's dropout: each element kept with probability ``keep_prob`` (or 1 - ``rate``) and
    scaled by 1 / keep_prob, new at each run."""
    if keep_prob is None:
        if rate is None:
            raise ValueError("dropout: give keep_prob (or rate)")
        keep_prob = 1 - rate if not isinstance(rate, Tensor) else 1.0 - rate
    if not isinstance(keep_prob, Tensor):
        if not 0 < keep_prob <= 1:
            raise ValueError(f"dropout: keep_prob must be in (0, 1], got {keep_prob}")
        if keep_prob == 1:
            return x
    return keep_mask(x, keep_prob, seed, noise_shape)


def l2_loss(t, name=None):
    """sum(t ** 2) / 2."""
    return gn.sum(t * t) / 2


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """(mean, variance) over ``axes``; the variance is the biased (population) one."""
    keep = bool(keepdims if keepdims is not None else keep_dims)
    axes = tuple(axes)
    mean = gn.mean(x, axes, True)
    variance = gn.mean((x - mean) ** 2, axes, True)
    if not keep:
        mean, variance = gn.squeeze(mean, axes), gn.squeeze(variance, axes)
    return mean, variance


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """(x - mean) / sqrt(variance + eps) * scale + offset (scale / offset may be None)."""
    inv = 1.0 / gn.sqrt(variance + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    out = (x - mean) * inv
    return out + offset if offset is not None else out


def softmax_cross_entropy_with_logits_v2(labels=None, logits=None, axis=-1, name=None, dim=None):
    """Per example: -sum(labels * log_softmax(logits)) along ``axis`` (gradients reach the labels
    too, as v2's)."""
    _require("softmax_cross_entropy_with_logits_v2", labels, logits)
    axis = dim if dim is not None else axis
    labels = _tensor(labels, logits)
    if (None not in static_shape(labels) + static_shape(logits)
            and static_shape(labels) != static_shape(logits)):
        raise ValueError("softmax_cross_entropy_with_logits_v2: labels and logits must have the "
                         f"same shape, got {static_shape(labels)} and {static_shape(logits)}")
    return -gn.sum(labels * F.log_softmax(logits, axis), axis)


def softmax_cross_entropy_with_logits(labels=None, logits=None, dim=-1, name=None, axis=None):
    """As ``_v2``, with no gradient into the labels (TF1's deprecated version)."""
    _require("softmax_cross_entropy_with_logits", labels, logits)
    labels = _tensor(labels, logits).detach()
    return softmax_cross_entropy_with_logits_v2(labels, logits, dim if axis is None else axis)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None, _sentinel=None):
    """Per example: -log_softmax(logits)[label], labels being class indices."""
    _require("sparse_softmax_cross_entropy_with_logits", labels, logits)
    labels = _tensor(labels)
    if labels.dtype.is_floating_point:
        raise TypeError("sparse_softmax_cross_entropy_with_logits: labels must be integer class "
                        f"indices, got dtype {labels.dtype}")
    if labels.ndim != logits.ndim - 1:
        raise ValueError("sparse_softmax_cross_entropy_with_logits: labels must have one "
                         f"dimension less than logits, got shapes {static_shape(labels)} and "
                         f"{static_shape(logits)}")
    labels = _cast(labels, gn.int64)
    if logits.ndim == 2:
        return F.cross_entropy(logits, labels, reduction="none")
    classes = static_shape(logits)[-1]
    flat = F.cross_entropy(logits.reshape((-1, classes)), labels.reshape(-1), reduction="none")
    return flat.reshape(labels.shape)


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None, _sentinel=None):
    """Per element: max(x, 0) - x * z + log(1 + exp(-|x|)) (x logits, z labels), TF's stable form."""
    _require("sigmoid_cross_entropy_with_logits", labels, logits)
    labels = _tensor(labels, logits)
    if labels.dtype is not logits.dtype:
        labels = _cast(labels, logits.dtype)
    return F.relu(logits) - logits * labels + gn.log1p(gn.exp(-gn.abs(logits)))


def _require(who, labels, logits):
    if labels is None or logits is None:
        raise ValueError(f"{who}: labels and logits must both be given (by name: labels=..., "
                         "logits=...)")


def embedding_lookup(params, ids, name=None, **unused):
    """Rows of ``params`` at ``ids`` (any shape of integer ids)."""
    return F.embedding(_cast(_tensor(ids), gn.int64), params)


def in_top_k(predictions, targets, k, name=None):
    """True where the target's score is among the k largest of its row."""
    target_scores = gn.gather(predictions, 1, gn.unsqueeze(_cast(targets, gn.int64), 1))
    return gn.sum(_cast(predictions > target_scores, gn.int32), 1) < k


# ----- recurrent cells --------------------------------------------------------------------------
LSTMStateTuple = collections.namedtuple("LSTMStateTuple", ["c", "h"])


class RNNCell:
    """A cell: ``output, new_state = cell(inputs, state)``; its variables are made on the first
    call, in the current variable scope under the cell's name."""

    default_name = "rnn_cell"

    def __init__(self, num_units, activation=None, reuse=None, name=None, dtype=None):
        self.num_units = int(num_units)
        self.activation = activation or tanh
        self.name = name
        self.reuse = reuse
        self.built = False
        self.scope_name = None

    @property
    def output_size(self):
        return self.num_units

    @property
    def state_size(self):
        return self.num_units

    def zero_state(self, batch_size, dtype=float32):
        zeros = gn.zeros((batch_size, self.num_units), dtype=dtype)
        return zeros

    def __call__(self, inputs, state, scope=None):
        if not self.built:
            with variable_scope(scope or self.name or self.default_name, reuse=self.reuse) as s:
                self.scope_name = s.name
                self.build(_depth(inputs))
            self.built = True
        return self.step(inputs, state)

    def _linear(self, name, depth, units, bias_init=None):
        kernel = get_variable(f"{name}kernel", (depth + self.num_units, units))
        bias = get_variable(f"{name}bias", (units,), initializer=bias_init or zeros_initializer())
        return kernel, bias


class BasicRNNCell(RNNCell):
    """h' = activation([x, h] @ kernel + bias)."""

    default_name = "basic_rnn_cell"

    def build(self, depth):
        self.kernel, self.bias = self._linear("", depth, self.num_units)

    def step(self, inputs, state):
        h = self.activation(gn.matmul(gn.cat([inputs, state], 1), self.kernel) + self.bias)
        return h, h


class BasicLSTMCell(RNNCell):
    """TF's BasicLSTMCell: gates i, j, f, o = split([x, h] @ kernel + bias, 4);
    c' = c * sigmoid(f + forget_bias) + sigmoid(i) * activation(j); h' = activation(c') *
    sigmoid(o). The state is an ``LSTMStateTuple(c, h)``."""

    default_name = "basic_lstm_cell"

    def __init__(self, num_units, forget_bias=1.0, state_is_tuple=True, activation=None,
                 reuse=None, name=None, dtype=None):
        super().__init__(num_units, activation, reuse, name, dtype)
        if not state_is_tuple:
            raise ValueError("BasicLSTMCell: only state_is_tuple=True (TF's default) is supported")
        self.forget_bias = float(forget_bias)

    @property
    def state_size(self):
        return LSTMStateTuple(self.num_units, self.num_units)

    def zero_state(self, batch_size, dtype=float32):
        return LSTMStateTuple(super().zero_state(batch_size, dtype),
                              super().zero_state(batch_size, dtype))

    def build(self, depth):
        self.kernel, self.bias = self._linear("", depth, 4 * self.num_units)

    def step(self, inputs, state):
        c, h = state
        gates = gn.matmul(gn.cat([inputs, h], 1), self.kernel) + self.bias
        i, j, f, o = gn.split(gates, self.num_units, 1)
        new_c = c * gn.sigmoid(f + self.forget_bias) + gn.sigmoid(i) * self.activation(j)
        new_h = self.activation(new_c) * gn.sigmoid(o)
        return new_h, LSTMStateTuple(new_c, new_h)


class LSTMCell(BasicLSTMCell):
    """TF's LSTMCell without peepholes or projection: BasicLSTMCell's step, named lstm_cell."""

    default_name = "lstm_cell"


class GRUCell(RNNCell):
    """TF's GRUCell: r, u = sigmoid([x, h] @ gates/kernel + gates/bias) (bias starts at 1);
    c = activation([x, r * h] @ candidate/kernel + candidate/bias); h' = u * h + (1 - u) * c."""

    default_name = "gru_cell"

    def build(self, depth):
        with variable_scope("gates"):
            self.gate_kernel, self.gate_bias = self._linear("", depth, 2 * self.num_units,
                                                            ones_initializer())
        with variable_scope("candidate"):
            self.kernel, self.bias = self._linear("", depth, self.num_units)

    def step(self, inputs, state):
        gates = gn.sigmoid(gn.matmul(gn.cat([inputs, state], 1), self.gate_kernel) + self.gate_bias)
        r, u = gn.split(gates, self.num_units, 1)
        c = self.activation(gn.matmul(gn.cat([inputs, r * state], 1), self.kernel) + self.bias)
        h = u * state + (1 - u) * c
        return h, h


class MultiRNNCell(RNNCell):
    """Cells stacked: each one's output is the next one's input; the state is a tuple."""

    default_name = "multi_rnn_cell"

    def __init__(self, cells, state_is_tuple=True):
        self.cells = list(cells)
        self.name = None
        self.reuse = None
        self.built = True

    @property
    def output_size(self):
        return self.cells[-1].output_size

    @property
    def state_size(self):
        return tuple(c.state_size for c in self.cells)

    def zero_state(self, batch_size, dtype=float32):
        return tuple(c.zero_state(batch_size, dtype) for c in self.cells)

    def __call__(self, inputs, state, scope=None):
        new_states = []
        with variable_scope(scope or self.default_name):
            for k, (cell, s) in enumerate(zip(self.cells, state)):
                with variable_scope(f"cell_{k}"):
                    inputs, new = cell(inputs, s)
                new_states.append(new)
        return inputs, tuple(new_states)


class DropoutWrapper(RNNCell):
    """A cell whose inputs and outputs go through dropout (keep probabilities may be tensors)."""

    def __init__(self, cell, input_keep_prob=1.0, output_keep_prob=1.0, seed=None, **unused):
        self.cell = cell
        self.input_keep_prob, self.output_keep_prob, self.seed = input_keep_prob, output_keep_prob, seed
        self.built = True

    output_size = property(lambda self: self.cell.output_size)
    state_size = property(lambda self: self.cell.state_size)

    def zero_state(self, batch_size, dtype=float32):
        return self.cell.zero_state(batch_size, dtype)

    def __call__(self, inputs, state, scope=None):
        inputs = dropout(inputs, self.input_keep_prob, seed=self.seed)
        output, new_state = self.cell(inputs, state, scope)
        return dropout(output, self.output_keep_prob, seed=self.seed), new_state


def _depth(inputs):
    depth = static_shape(inputs)[-1]
    if depth is None:
        raise ValueError(f"rnn cell: the inputs' last dimension must be known, got shape "
                         f"{static_shape(inputs)}")
    return depth


def _map_state(fn, *states):
    first = states[0]
    if isinstance(first, tuple):
        mapped = [_map_state(fn, *parts) for parts in zip(*states)]
        return type(first)(*mapped) if hasattr(first, "_fields") else tuple(mapped)
    return fn(*states)


def _flat_state(state):
    if isinstance(state, tuple):
        return [t for part in state for t in _flat_state(part)]
    return [state]


def _rebuild_state(like, flat):
    """``flat`` (tensors in ``_flat_state`` order) in the structure of ``like``."""
    if isinstance(like, tuple):
        parts = []
        for part in like:
            parts.append(_rebuild_state(part, flat))
        return type(like)(*parts) if hasattr(like, "_fields") else tuple(parts)
    return flat.pop(0)


def dynamic_rnn(cell, inputs, sequence_length=None, initial_state=None, dtype=None,
                parallel_iterations=None, swap_memory=False, time_major=False, scope=None):
    """Run ``cell`` over the time steps of ``inputs`` ([batch, time, depth], or [time, batch,
    depth] with ``time_major``): (outputs of every step, final state). With
    ``sequence_length``, steps past an example's length give zero outputs and keep its state,
    as TF's. A number of steps known when the graph is built is unrolled; an unknown one runs
    as a symbolic ``scan`` loop."""
    if inputs.ndim != 3:
        raise ValueError(f"dynamic_rnn: inputs must be 3-D [batch, time, depth], got shape "
                         f"{static_shape(inputs)}")
    if not time_major:
        inputs = inputs.permute(1, 0, 2)
    steps = static_shape(inputs)[0]
    if initial_state is None:
        if dtype is None:
            raise ValueError("dynamic_rnn: if there is no initial_state, you must give a dtype")
        initial_state = cell.zero_state(inputs.shape[1], dtype)
    lengths = None
    if sequence_length is not None:
        lengths = _cast(_tensor(sequence_length), gn.int64)

    def step(x_t, alive, state):
        output, new_state = cell(x_t, state)
        if alive is not None:
            output = gn.where(alive, output, gn.zeros_like(output))
            new_state = _map_state(lambda new, old: gn.where(alive, new, old), new_state, state)
        return output, new_state

    with variable_scope(scope or "rnn"):
        if steps is not None:
            state, outputs = initial_state, []
            for t in range(steps):
                alive = None if lengths is None else gn.unsqueeze(lengths > t, 1)
                output, state = step(inputs[t], alive, state)
                outputs.append(output)
            stacked = gn.stack(outputs, 0)
        else:
            stacked, state = _scan_rnn(step, inputs, lengths, initial_state)
    return (stacked if time_major else stacked.permute(1, 0, 2)), state


def _scan_rnn(step, inputs, lengths, initial_state):
    """The loop of ``dynamic_rnn`` over an unknown number of steps, as ``ganglion.scan``."""
    from ganglion.symbolic import scan

    flat_initial = _flat_state(initial_state)
    sequences = [inputs]
    if lengths is not None:
        # step t (counted from 1 by a cumulative sum) is alive while t <= length
        counts = gn.cumsum(gn.ones_like(inputs[:, :, 0]), 0)
        sequences.append(gn.unsqueeze(counts <= _cast(lengths, inputs.dtype), 2))

    def body(*args):
        x_t = args[0]
        alive = args[1] if lengths is not None else None
        state = _rebuild_state(initial_state, list(args[len(sequences):]))
        output, new_state = step(x_t, alive, state)
        return [output] + _flat_state(new_state)

    results, _ = scan(body, sequences=sequences, outputs_info=[None] + flat_initial)
    final = [r[-1] for r in results[1:]]
    return results[0], _rebuild_state(initial_state, final)


class _RNNCellModule:
    """``tf.nn.rnn_cell``."""
    RNNCell = RNNCell
    BasicRNNCell = BasicRNNCell
    BasicLSTMCell = BasicLSTMCell
    LSTMCell = LSTMCell
    GRUCell = GRUCell
    MultiRNNCell = MultiRNNCell
    DropoutWrapper = DropoutWrapper
    LSTMStateTuple = LSTMStateTuple


rnn_cell = _RNNCellModule
