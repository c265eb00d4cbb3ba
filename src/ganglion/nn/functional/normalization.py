"""Normalization functions: batch_norm (fused ops in ``ganglion.core.ops.nn.batch_norm``), layer_norm,
group_norm, instance_norm and local_response_norm (compositions of core ops). ``who`` is the name that error
messages give (a layer passes its own)."""
from ganglion.core import ops, tracing
from ganglion.core.creation import ones, zeros
from ganglion.core.grad_mode import no_grad
from ganglion.core.inplace import inplace
from ganglion.core.op import ShapeError, format_shape
from ganglion.core.ops.shape import pad, reshape, reshape_as
from ganglion.core.ops.unary import rsqrt, to_float
from ganglion.core.ops.nn.batch_norm import batch_normalize, batch_statistics, element_count

__all__ = ["batch_norm", "layer_norm", "group_norm", "local_response_norm", "instance_norm"]


def updates_running_statistics(input):
    """Whether a training step on ``input`` can update running statistics: yes eagerly and
    while jit traces (the change becomes an update of the compiled function), no when
    placeholders only build a graph outside jit (there is no batch yet to average in)."""
    return not input.is_symbolic or bool(tracing.active)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, who="batch_norm"):
    """Normalize each channel (axis 1) of ``input`` (N, C, ...).

    In training, the batch's statistics normalize, and running estimates that are given are
    updated in place: ``running = (1 - momentum) * running + momentum * batch``, with the
    unbiased batch variance, as in PyTorch. ``momentum`` may be a 0-d tensor (the layer's
    cumulative average passes 1 / batches seen). Outside training the running estimates normalize.
    See ``updates_running_statistics`` for graphs built on placeholders.
    """
    input = to_float(input)
    if input.ndim < 2:
        raise ShapeError(f"{who}: expected input of shape (N, C, ...), got "
                         f"{format_shape(input.shape)}")
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError(f"{who}: running_mean and running_var are needed outside training")
        return batch_normalize(input, running_mean, running_var, weight, bias, eps, False)
    axes = (0,) + tuple(range(2, input.ndim))
    count = element_count(input, axes)
    if isinstance(count, int) and count == 0:
        # An empty batch, as in PyTorch: an empty result, the running estimates unchanged, and
        # zero gradients for the weight and bias (through a normalization that uses constants).
        channels = input.shape[1]
        return batch_normalize(input, zeros(channels, dtype=input.dtype),
                               ones(channels, dtype=input.dtype), weight, bias, eps, False)
    if isinstance(count, int) and count == 1:
        raise ValueError(f"{who}: expected more than 1 value per channel when training, got input "
                         f"of shape {format_shape(input.shape)}")
    statistics = batch_statistics(input)
    mean, variance = statistics[0], statistics[1]
    if (running_mean is not None or running_var is not None) and updates_running_statistics(input):
        # Under no_grad rather than through detach(): a detached symbolic value would lose
        # its node, and the update must stay computed from this batch in a traced graph.
        with no_grad():
            if running_mean is not None:
                inplace(running_mean, _moving_average, mean, momentum, name="running_mean")
            if running_var is not None:
                unbiased = variance * (count / (count - 1))
                inplace(running_var, _moving_average, unbiased, momentum, name="running_var")
    return batch_normalize(input, mean, variance, weight, bias, eps, True)


def _moving_average(running, batch, momentum):
    return running * (1 - momentum) + batch * momentum


def _normalize_last(x, axes, eps):
    """(x - mean) / sqrt(var + eps) over ``axes`` (biased variance)."""
    centered = x - ops.mean(x, axis=axes, keepdims=True)
    variance = ops.mean(centered * centered, axis=axes, keepdims=True)
    return centered * rsqrt(variance + eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, who="layer_norm"):
    """Normalize over the last ``len(normalized_shape)`` dims, which must equal it."""
    input = to_float(input)
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                        else tuple(normalized_shape))
    count = len(normalized_shape)
    tail = tuple(input.tensor_type.shape[input.ndim - count:]) if count <= input.ndim else None
    if tail is None or any(d is not None and d != e for d, e in zip(tail, normalized_shape)):
        dims = ", ".join(map(str, normalized_shape))
        raise ShapeError(f"{who}: expected input of shape (*, {dims}), got "
                         f"{format_shape(input.shape)}")
    out = _normalize_last(input, tuple(range(input.ndim - count, input.ndim)), eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5, who="group_norm"):
    """Split the C channels into ``num_groups`` groups and normalize each group of each sample."""
    input = to_float(input)
    channels = input.tensor_type.shape[1] if input.ndim >= 2 else None
    if channels is None or channels % num_groups:
        raise ShapeError(f"{who}: expected input of shape (N, C, ...) with C divisible by "
                         f"num_groups={num_groups}, got {format_shape(input.shape)}")
    spatial = tuple(input.shape[2:])
    if None in spatial:
        raise ShapeError(f"{who}: the spatial dims of {format_shape(input.shape)} must be "
                         "known")
    grouped = reshape(input, (-1, num_groups, channels // num_groups) + spatial)
    out = reshape_as(_normalize_last(grouped, tuple(range(2, grouped.ndim)), eps), input)
    view = (1, channels) + (1,) * len(spatial)
    if weight is not None:
        out = out * reshape(weight, view)
    if bias is not None:
        out = out + reshape(bias, view)
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0, who="local_response_norm"):
    """AlexNet's normalization across channels: x / (k + alpha * mean of x**2 over ``size``
    neighbouring channels) ** beta, the window zero-padded at the ends (PyTorch's)."""
    input = to_float(input)
    if input.ndim < 3:
        raise ShapeError(f"{who}: expected input of shape (N, C, ...) with at least 3 dims, got "
                         f"{format_shape(input.shape)}")
    channels = input.shape[1]
    squares = input * input
    widths = ((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (input.ndim - 2)
    padded = pad(squares, widths)
    window = padded[:, 0:channels]
    for offset in range(1, size):
        window = window + padded[:, offset:offset + channels]
    return input / (window * (alpha / size) + k) ** beta


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5, who="instance_norm"):
    """Normalize each channel of each sample of ``input`` (N, C, ...) over its spatial dims.

    With ``use_input_stats`` (the default) each instance's own statistics normalize, and
    running estimates that are given are updated in place with the batch's average of them
    (the variance unbiased), as in PyTorch; otherwise the running estimates normalize.
    """
    input = to_float(input)
    if input.ndim < 3:
        raise ValueError(f"{who}: expected input of shape (N, C, ...) with spatial dims, got "
                         f"{format_shape(input.shape)}")
    channels = input.shape[1]
    view = (1, channels) + (1,) * (input.ndim - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{who}: running_mean and running_var are needed when "
                             "use_input_stats=False")
        out = (input - reshape(running_mean, view)) * rsqrt(reshape(running_var, view) + eps)
    else:
        axes = tuple(range(2, input.ndim))
        spatial = element_count(input, axes)
        if isinstance(spatial, int) and spatial <= 1:
            raise ValueError(f"{who}: expected more than 1 spatial element when training, got "
                             f"input of shape {format_shape(input.shape)}")
        mean = ops.mean(input, axis=axes, keepdims=True)
        centered = input - mean
        variance = ops.mean(centered * centered, axis=axes, keepdims=True)
        out = centered * rsqrt(variance + eps)
        if (running_mean is not None or running_var is not None) and \
                updates_running_statistics(input):
            # The running estimates average the instances' statistics (as PyTorch's do).
            with no_grad():
                if running_mean is not None:
                    batch_mean = ops.mean(reshape(mean, (-1, channels)), axis=0)
                    inplace(running_mean, _moving_average, batch_mean, momentum,
                            name="running_mean")
                if running_var is not None:
                    batch_var = ops.mean(reshape(variance, (-1, channels)), axis=0) * (
                        spatial / (spatial - 1))
                    inplace(running_var, _moving_average, batch_var, momentum,
                            name="running_var")
    if weight is not None:
        out = out * reshape(weight, view)
    if bias is not None:
        out = out + reshape(bias, view)
    return out
