"""``tf.layers``: dense, conv2d, pooling, flatten, dropout and batch normalization as TF 1 builds
them: each call makes its variables in a new variable scope (``dense``, ``dense_1``... or
``name``) with TF's names (``kernel``, ``bias``, ``gamma``, ``beta``, ``moving_mean``,
``moving_variance``) and shapes (conv kernels [h, w, in, out]).

Reference: TF 1.15 ``tf.layers`` (channels_last by default; dense and conv kernels Glorot
uniform, biases zeros; dropout's ``rate`` is the fraction dropped and applies only when
``training``; batch normalization with momentum 0.99 and epsilon 1e-3, whose moving-average
updates go to ``tf.GraphKeys.UPDATE_OPS`` for the train op to run under
``tf.control_dependencies``). ``training`` may be a Python bool or a bool tensor (a placeholder).
"""
import ganglion as gn
from ganglion.compat.tensorflow import nn
from ganglion.compat.tensorflow.graph import (GraphKeys, Operation, add_to_collection,
                                              get_variable, ones_initializer, static_shape,
                                              variable_scope,
                                              zeros_initializer)
from ganglion.core.ops.elementwise import cast as _cast
from ganglion.core.tensor import Tensor

__all__ = ["dense", "conv2d", "max_pooling2d", "average_pooling2d", "flatten", "dropout",
           "batch_normalization"]


#: Activations that act on each element alone: applied in the NCHW layout, before the transpose
#: back (which the next layer's transpose then cancels). Any other runs on the NHWC result.
ELEMENTWISE = {nn.relu, nn.relu6, nn.elu, nn.selu, nn.softplus, nn.sigmoid, nn.tanh,
               nn.leaky_relu}


def _scope(name, default, reuse):
    return variable_scope(name, default_name=None if name else default, reuse=reuse)


def _activate(x, activation):
    return activation(x) if activation is not None else x


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=None, kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True,
          name=None, reuse=None):
    """activation(inputs @ kernel + bias), kernel [in, units] (over the last axis of inputs)."""
    depth = static_shape(inputs)[-1]
    if depth is None:
        raise ValueError(f"dense: the last dimension of the inputs must be known, got shape "
                         f"{static_shape(inputs)}")
    with _scope(name, "dense", reuse):
        kernel = get_variable("kernel", (depth, units), initializer=kernel_initializer,
                              regularizer=kernel_regularizer, trainable=trainable)
        out = gn.matmul(inputs, kernel)
        if use_bias:
            bias = get_variable("bias", (units,), initializer=bias_initializer or
                                zeros_initializer(), regularizer=bias_regularizer,
                                trainable=trainable)
            out = out + bias
    return _activate(out, activation)


def _pair(who, what, value):
    if isinstance(value, int):
        return value, value
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{who}: {what} must be an int or 2 ints, got {value}")
    return value


def _check_channels_last(who, data_format, inputs):
    if data_format not in ("channels_last", None):
        raise ValueError(f"{who}: data_format {data_format!r} is not supported; only "
                         "'channels_last' (NHWC, TF's default)")
    if inputs.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D NHWC input, got shape {static_shape(inputs)}")


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
           data_format="channels_last", dilation_rate=(1, 1), activation=None, use_bias=True,
           kernel_initializer=None, bias_initializer=None, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
    """A 2-D convolution layer on NHWC inputs: kernel [kh, kw, in, filters], padding 'valid' or
    'same' (TF's SAME), then the bias and activation (applied in ganglion's NCHW layout, so a
    following layer's transpose cancels this one's)."""
    _check_channels_last("conv2d", data_format, inputs)
    kernel_size = _pair("conv2d", "kernel_size", kernel_size)
    stride = _pair("conv2d", "strides", strides)
    dilation = _pair("conv2d", "dilation_rate", dilation_rate)
    depth = static_shape(inputs)[3]
    if depth is None:
        raise ValueError(f"conv2d: the number of input channels must be known, got shape "
                         f"{static_shape(inputs)}")
    pads = nn._padding("conv2d", padding, static_shape(inputs), kernel_size, stride, dilation)
    with _scope(name, "conv2d", reuse):
        kernel = get_variable("kernel", kernel_size + (depth, filters),
                              initializer=kernel_initializer, regularizer=kernel_regularizer,
                              trainable=trainable)
        bias = None
        if use_bias:
            bias = get_variable("bias", (filters,), initializer=bias_initializer or
                                zeros_initializer(), regularizer=bias_regularizer,
                                trainable=trainable)
    out = nn.conv_nchw(nn._to_nchw(inputs), kernel.permute(3, 2, 0, 1), stride, pads, dilation,
                       bias)
    if activation in ELEMENTWISE:
        return nn._to_nhwc(activation(out))
    return _activate(nn._to_nhwc(out), activation)  # e.g. a softmax over the channels (last axis)


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                  name=None):
    """Max pooling of NHWC inputs ('same' padding ignores the padded elements)."""
    _check_channels_last("max_pooling2d", data_format, inputs)
    return nn._to_nhwc(nn._pool_nchw("max_pooling2d", nn._to_nchw(inputs),
                                     _pair("max_pooling2d", "pool_size", pool_size),
                                     _pair("max_pooling2d", "strides", strides), padding, "max"))


def average_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                      name=None):
    """Average pooling of NHWC inputs ('same' averages the real elements of each window)."""
    _check_channels_last("average_pooling2d", data_format, inputs)
    return nn._to_nhwc(nn._pool_nchw("average_pooling2d", nn._to_nchw(inputs),
                                     _pair("average_pooling2d", "pool_size", pool_size),
                                     _pair("average_pooling2d", "strides", strides), padding,
                                     "avg"))


def flatten(inputs, name=None, data_format="channels_last"):
    """[batch, everything else] (in NHWC order, as TF's)."""
    rest = 1
    for d in static_shape(inputs)[1:]:
        if d is None:
            return inputs.reshape((inputs.shape[0], -1))
        rest *= d
    return inputs.reshape((-1, rest))


def _select(training, when_training, otherwise):
    """``when_training()`` or ``otherwise()`` for a Python flag, both selected by ``where`` for a
    bool tensor."""
    if isinstance(training, Tensor):
        flag = training if training.dtype is gn.bool_ else training != 0
        return gn.where(flag, when_training(), otherwise())
    return when_training() if training else otherwise()


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """Zero a fraction ``rate`` of the inputs and scale the rest by 1 / (1 - rate), only when
    ``training`` (a bool or bool tensor); the identity otherwise."""
    if not isinstance(rate, Tensor) and not 0 <= rate < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), got {rate}")
    if not isinstance(rate, Tensor) and rate == 0:
        return inputs
    return _select(training, lambda: nn.keep_mask(inputs, 1 - rate, seed, noise_shape),
                   lambda: inputs)


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=None, gamma_initializer=None,
                        moving_mean_initializer=None, moving_variance_initializer=None,
                        beta_regularizer=None, gamma_regularizer=None, training=False,
                        trainable=True, name=None, reuse=None, fused=None, **unused):
    """Batch normalization over every axis but ``axis``: with the batch's statistics while
    ``training`` (updating the moving averages through ``tf.GraphKeys.UPDATE_OPS``: moving =
    moving * momentum + batch * (1 - momentum)), with the moving averages otherwise. The moving
    variance takes the unbiased batch variance for 4-D inputs (TF's fused kernel, its default
    there) and the biased one otherwise."""
    axis = axis % inputs.ndim if isinstance(axis, int) else axis[0] % inputs.ndim
    depth = static_shape(inputs)[axis]
    if depth is None:
        raise ValueError(f"batch_normalization: the size of axis {axis} must be known, got shape "
                         f"{static_shape(inputs)}")
    with _scope(name, "batch_normalization", reuse):
        gamma = get_variable("gamma", (depth,), initializer=gamma_initializer or ones_initializer(),
                             regularizer=gamma_regularizer, trainable=trainable) if scale else None
        beta = get_variable("beta", (depth,), initializer=beta_initializer or zeros_initializer(),
                            regularizer=beta_regularizer, trainable=trainable) if center else None
        moving_mean = get_variable("moving_mean", (depth,), trainable=False,
                                   initializer=moving_mean_initializer or zeros_initializer())
        moving_variance = get_variable("moving_variance", (depth,), trainable=False,
                                       initializer=moving_variance_initializer or ones_initializer())
    axes = tuple(a for a in range(inputs.ndim) if a != axis)
    view = tuple(depth if a == axis else 1 for a in range(inputs.ndim))

    def normalize(mean, variance):
        return nn.batch_normalization(inputs, mean.reshape(view), variance.reshape(view),
                                      None if beta is None else beta.reshape(view),
                                      None if gamma is None else gamma.reshape(view), epsilon)

    if training is False:
        return normalize(moving_mean, moving_variance)
    mean = gn.mean(inputs, axes)
    centered = inputs - mean.reshape(view)
    squares = gn.sum(centered * centered, axes)
    count = 1
    for a in axes:  # a symbolic size where the batch size is known only when the graph runs
        count = count * inputs.shape[a]
    if not isinstance(count, int):
        count = _cast(count, inputs.dtype)
    variance = squares / count
    unbiased = squares / (count - 1) if inputs.ndim == 4 else variance
    new_mean = moving_mean * momentum + mean * (1 - momentum)
    new_variance = moving_variance * momentum + unbiased * (1 - momentum)
    if isinstance(training, Tensor):
        new_mean = _select(training, lambda: new_mean, lambda: moving_mean)
        new_variance = _select(training, lambda: new_variance, lambda: moving_variance)
    add_to_collection(GraphKeys.UPDATE_OPS,
                      Operation(updates=[(moving_mean, new_mean), (moving_variance, new_variance)],
                                name=moving_mean.op_name + "/AssignMovingAvg"))
    return _select(training, lambda: normalize(mean, variance),
                   lambda: normalize(moving_mean, moving_variance))

