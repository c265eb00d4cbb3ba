"""Batch normalization kernels on oneDNN's batch normalization primitive, with the signatures
and results of the NumPy backend's kernels (backend/batchnorm.py), and two fused kernels that
do a whole forward (training) or backward pass in one primitive.

oneDNN normalizes dst = scale * (src - mean) / sqrt(var + eps) + shift over every axis but 1
of an (N, C, ...) array with 1 to 3 spatial axes (or none). The NumPy backend's kernels split
batch norm into smaller steps; each maps onto one primitive call:
- ``batch_statistics``: the training forward primitive, which computes the batch mean and the
  biased variance (and a normalized output, discarded: the primitive always writes it);
- ``batch_normalize(x, scale, shift)``: the inference primitive with mean 0, variance 1 and
  eps 0, i.e. x * scale + shift;
- ``batch_norm_gradient_sums(g, x, mean)``: the backward primitive with those same statistics,
  whose scale and shift gradients are then sum(g * (x - mean)) and sum(g) (its input gradient
  is discarded).
``batch_norm_input_gradient`` (a * g + b * (x - mean) + d) has no primitive; the fused
``batch_norm_backward`` computes the input gradient that the ops build from it instead.

float32 only (oneDNN's CPU batch norm has no float64); data stays in the caller's plain layout.
"""
import numpy as np

from ganglion.backend import array_cache
from ganglion.backend.onednn import _capi, _runtime, library

__all__ = ["supports_batch_norm", "batch_statistics", "batch_normalize", "batch_norm_gradient_sums",
           "batch_norm_forward_training", "batch_norm_backward"]


def supports_batch_norm(shape, dtype):
    """Whether the oneDNN kernels run batch norm on an array of ``shape`` and ``dtype``: float32,
    (N, C) to (N, C, D, H, W), no empty axis."""
    if not library.usable():
        return False
    return (np.dtype(dtype) == np.float32 and 2 <= len(shape) <= 5 and min(shape) >= 1)


def _shape(x):
    return tuple(int(d) for d in x.shape)


def _check(name, x):
    library.check_usable()
    if not supports_batch_norm(x.shape, x.dtype):
        raise ValueError(f"onednn.{name}: unsupported input of shape {tuple(x.shape)} and dtype "
                         f"{x.dtype}; expected float32 (N, C, ...) with 0 to 3 non-empty "
                         f"spatial axes (check supports_batch_norm first)")


_FLAGS = {"statistics": 0, "normalize": _capi.USE_GLOBAL_STATS | _capi.USE_SCALE | _capi.USE_SHIFT,
          "forward_training": _capi.USE_SCALE | _capi.USE_SHIFT,
          "backward_training": _capi.USE_SCALE | _capi.USE_SHIFT,
          "backward_eval": _capi.USE_GLOBAL_STATS | _capi.USE_SCALE | _capi.USE_SHIFT}


def _forward_pd(shape, kind, eps):
    data = _runtime.MemoryDesc(shape)
    training = kind != "normalize"
    pd = _runtime.PrimitiveDesc(
        "dnnl_batch_normalization_forward_primitive_desc_create",
        _capi.FORWARD_TRAINING if training else _capi.FORWARD_INFERENCE, data.handle, data.handle,
        float(eps), _FLAGS[kind if kind != "backward_training" else "forward_training"], None,
        detail=f"input {shape}")
    return pd, data


def _plan(kind, shape, eps):
    def build():
        channel = _runtime.MemoryDesc((shape[1],))
        if kind.startswith("backward") or kind == "sums":
            forward_kind = "forward_training" if kind == "backward_training" else "normalize"
            hint, data = _forward_pd(shape, forward_kind, eps)
            flags = _FLAGS["backward_training" if kind == "backward_training" else "backward_eval"]
            pd = _runtime.PrimitiveDesc(
                "dnnl_batch_normalization_backward_primitive_desc_create", _capi.BACKWARD,
                data.handle, data.handle, data.handle, float(eps), flags, hint.handle, None,
                detail=f"input {shape}")
            return _runtime.Plan(pd, [
                (_capi.ARG_SRC, "x", data, False), (_capi.ARG_DIFF_DST, "g", data, False),
                (_capi.ARG_MEAN, "mean", channel, False), (_capi.ARG_VARIANCE, "var", channel, False),
                (_capi.ARG_SCALE, "scale", channel, False),
                (_capi.ARG_DIFF_SRC, "gx", data, True), (_capi.ARG_DIFF_SCALE, "gscale", channel, True),
                (_capi.ARG_DIFF_SHIFT, "gshift", channel, True)], keep=[hint])
        pd, data = _forward_pd(shape, kind, eps)
        bindings = [(_capi.ARG_SRC, "x", data, False), (_capi.ARG_DST, "y", data, True),
                    (_capi.ARG_MEAN, "mean", channel, kind != "normalize"),
                    (_capi.ARG_VARIANCE, "var", channel, kind != "normalize")]
        if kind != "statistics":
            bindings += [(_capi.ARG_SCALE, "scale", channel, False),
                         (_capi.ARG_SHIFT, "shift", channel, False)]
        return _runtime.Plan(pd, bindings)
    return _runtime.cached_plan(("batch_norm", kind, shape, float(eps)), build)


def _vector(name, what, v, channels):
    """A per-channel vector as a contiguous float32 (C,) array (a scalar is broadcast; any other
    size is an error, since oneDNN reads C values)."""
    v = np.asarray(v, np.float32)
    if v.shape not in ((), (1,), (channels,)):
        raise ValueError(f"onednn.{name}: {what} has shape {v.shape}, expected ({channels},) "
                         f"for an input with {channels} channels")
    return np.ascontiguousarray(np.broadcast_to(v, (channels,)))


def _same_shape(name, g, x):
    if g.shape != x.shape:
        raise ValueError(f"onednn.{name}: gradient has shape {tuple(g.shape)}, expected the "
                         f"input's {tuple(x.shape)}")


_UNIT = {}


def _unit_statistics(channels):
    """(zeros, ones) of length ``channels``: the statistics under which oneDNN's normalization
    is x * scale + shift and its gradients are plain sums."""
    if channels not in _UNIT:
        _UNIT[channels] = (np.zeros(channels, np.float32), np.ones(channels, np.float32))
    return _UNIT[channels]


def batch_statistics(x):
    """The (2, C) stack of per-channel mean and biased variance of x (N, C, ...)."""
    _check("batch_statistics", x)
    shape, channels = _shape(x), x.shape[1]
    stats = np.empty((2, channels), np.float32)
    discarded = array_cache.empty(shape, np.float32)
    _plan("statistics", shape, 0.0).run(x=np.ascontiguousarray(x), y=discarded,
                                        mean=stats[0], var=stats[1])
    return stats


def batch_normalize(x, scale, shift):
    """x * scale[c] + shift[c] for x (N, C, ...) and per-channel scale and shift."""
    _check("batch_normalize", x)
    shape, channels = _shape(x), x.shape[1]
    zeros, ones = _unit_statistics(channels)
    scale = _vector("batch_normalize", "scale", scale, channels)
    shift = _vector("batch_normalize", "shift", shift, channels)
    out = array_cache.empty(shape, np.float32)
    _plan("normalize", shape, 0.0).run(x=np.ascontiguousarray(x), y=out, mean=zeros, var=ones,
                                       scale=scale, shift=shift)
    return out


def batch_norm_gradient_sums(g, x, mean):
    """(per-channel sum of g, per-channel sum of g * (x - mean[c])) for g and x (N, C, ...),
    as float64 arrays (summed in float32 by oneDNN)."""
    _check("batch_norm_gradient_sums", x)
    _same_shape("batch_norm_gradient_sums", g, x)
    shape, channels = _shape(x), x.shape[1]
    _, ones = _unit_statistics(channels)
    mean = _vector("batch_norm_gradient_sums", "mean", mean, channels)
    discarded = array_cache.empty(shape, np.float32)
    sum_gc, sum_g = np.empty(channels, np.float32), np.empty(channels, np.float32)
    _plan("sums", shape, 0.0).run(x=np.ascontiguousarray(x), g=np.ascontiguousarray(g, np.float32),
                                  mean=mean, var=ones, scale=ones, gx=discarded, gscale=sum_gc,
                                  gshift=sum_g)
    return sum_g.astype(np.float64), sum_gc.astype(np.float64)


def batch_norm_forward_training(x, weight, bias, eps):
    """(y, mean, biased variance) of training-mode batch norm in one pass: the batch's
    per-channel statistics and y = (x - mean) / sqrt(var + eps) * weight + bias (weight and
    bias (C,) or None for 1 and 0)."""
    _check("batch_norm_forward_training", x)
    shape, channels = _shape(x), x.shape[1]
    zeros, ones = _unit_statistics(channels)
    scale = ones if weight is None else _vector("batch_norm_forward_training", "weight", weight, channels)
    shift = zeros if bias is None else _vector("batch_norm_forward_training", "bias", bias, channels)
    out = array_cache.empty(shape, np.float32)
    mean, var = np.empty(channels, np.float32), np.empty(channels, np.float32)
    _plan("forward_training", shape, eps).run(x=np.ascontiguousarray(x), y=out, mean=mean, var=var,
                                              scale=scale, shift=shift)
    return out, mean, var


def batch_norm_backward(g, x, mean, var, weight, eps, batch_statistics):
    """(grad_x, grad_weight, grad_bias) of y = (x - mean) / sqrt(var + eps) * weight + bias in
    one pass. With ``batch_statistics`` (training) mean and var are x's own batch statistics and
    grad_x includes the paths through them; otherwise they are constants (running estimates).
    grad_weight = sum(g * (x - mean)) / sqrt(var + eps), grad_bias = sum(g)."""
    _check("batch_norm_backward", x)
    _same_shape("batch_norm_backward", g, x)
    shape, channels = _shape(x), x.shape[1]
    _, ones = _unit_statistics(channels)
    mean = _vector("batch_norm_backward", "mean", mean, channels)
    var = _vector("batch_norm_backward", "var", var, channels)
    scale = ones if weight is None else _vector("batch_norm_backward", "weight", weight, channels)
    grad_x = array_cache.empty(shape, np.float32)
    grad_weight, grad_bias = np.empty(channels, np.float32), np.empty(channels, np.float32)
    kind = "backward_training" if batch_statistics else "backward_eval"
    _plan(kind, shape, eps).run(x=np.ascontiguousarray(x), g=np.ascontiguousarray(g, np.float32),
                                mean=mean, var=var, scale=scale, gx=grad_x, gscale=grad_weight,
                                gshift=grad_bias)
    return grad_x, grad_weight, grad_bias
