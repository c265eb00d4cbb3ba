"""The fused ops of batch normalization, per-channel statistics and normalization
(``ganglion.nn.functional.batch_norm`` applies them).

``BatchStatistics`` computes the per-channel mean and biased variance in one op and returns
both stacked as a (2, C) array, so the layer gets the numbers its running averages need without
another pass. ``BatchNormalize`` then computes ``(x - mean) / sqrt(var + eps) * weight + bias``
as one multiply-add per element with per-channel coefficients.

In training the mean and variance are functions of x. BatchNormalize's vjp then returns the
complete input gradient ``scale * (g - mean(g) - xhat * mean(g * xhat))`` and no gradient for
the statistics inputs: there is nothing left to add through them. The vjp is written with Tensor
ops, arranged so that the full-size arrays are few (see the comment in ``vjp``). The statistics
stay recorded nodes of x, so when the vjp itself is differentiated (``create_graph=True``) the
paths through them are followed, and second derivatives are right. Where nothing records the backward pass
(no create_graph, concrete arrays) the same gradients come from two backend kernels instead
(``_vjp_arrays``: one pass for the per-channel sums, one for the input gradient), and the
forward ops call the backend's statistics and normalization kernels (backend/batchnorm.py).
"""
import math

from ganglion.backend import current as backend
from ganglion.core.creation import ones, zeros
from ganglion.core import blocked_tensor
from ganglion.core.grad_mode import grad_enabled
from ganglion.core.op import Op, ShapeError, apply, format_shape
from ganglion.core.ops.elementwise import constant
from ganglion.core.ops.reduce import sum
from ganglion.core.ops.shape import expand_as, reshape
from ganglion.core.ops.unary import rsqrt
from ganglion.core.tensor import TensorType, make_tensor

__all__ = ["batch_statistics", "batch_normalize", "element_count"]


def _channel_view(shape, ndim):
    """The shape that broadcasts a (C,) vector along axis 1 of an ndim-d tensor."""
    return (1, shape) + (1,) * (ndim - 2)


def _channel(vector, ndim):
    return reshape(vector, _channel_view(-1, ndim))


def element_count(x, axes):
    """How many elements each channel has: an int, or a 0-d tensor when a dim is unknown."""
    n = 1
    for a in axes:
        if x.tensor_type.shape[a] is None:
            return sum(expand_as(constant(1.0, x.dtype), x), axis=axes)[(0,) * (x.ndim - len(axes))]
        n *= x.shape[a]
    return n


class ChannelSum(Op):
    """Per-channel sum over every axis but 1 of one input, or of the product of two inputs
    (without forming the product): the reductions of batch norm's backward pass."""
    __slots__ = ()

    def forward(self, backend, *arrays):
        # The trailing size is given, not -1, which NumPy cannot infer for an empty batch.
        rows = [a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:])) for a in arrays]
        if len(rows) == 1:
            return backend.xp.einsum("ncl->c", rows[0])
        # NumPy's einsum without optimize=: its optimized path is ten times slower here.
        return backend.xp.einsum("ncl,ncl->c", rows[0], rows[1])

    def vjp(self, out, grad, needs):
        inputs = out._inputs
        spread = _channel(grad, inputs[0].ndim)
        if len(inputs) == 1:
            return (expand_as(spread, inputs[0]),)
        a, b = inputs
        return (spread * b if needs[0] else None, spread * a if needs[1] else None)

    def infer(self, *types):
        return TensorType(types[0].dtype, (types[0].shape[1],))


def channel_sum(*tensors):
    return apply(ChannelSum(), *tensors)


class BatchStatistics(Op):
    """x (N, C, ...) -> [[mean per channel], [biased variance per channel]] of shape (2, C)."""
    __slots__ = ("axes",)

    def __init__(self, axes):
        self.axes = axes

    def forward(self, backend, x):
        return backend.batch_statistics(x)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        ndim = x.ndim
        grad_mean, grad_var = grad[0], grad[1]
        n = element_count(x, self.axes)
        centered = x - _channel(out[0], ndim)
        return ((_channel(grad_mean, ndim) + centered * _channel(grad_var * 2.0, ndim)) / n,)

    def infer(self, x):
        return TensorType(x.dtype, (2, x.shape[1]))


class BatchNormalize(Op):
    """Inputs x, mean, var (and weight, bias when ``affine``); ``batch_statistics`` says whether
    mean and var were computed from x (training) or are fixed running estimates (eval)."""
    __slots__ = ("eps", "affine", "batch_statistics")

    def __init__(self, eps, affine, batch_statistics):
        self.eps = eps
        self.affine = affine
        self.batch_statistics = batch_statistics

    @property
    def name(self):
        return "batch_norm"

    def forward(self, backend, x, mean_, var, weight=None, bias=None):
        return backend.batch_normalize(x, *self.scale_and_shift(backend.xp, x.dtype, mean_, var,
                                                                weight, bias))

    def scale_and_shift(self, xp, dtype, mean_, var, weight=None, bias=None):
        """The per-channel (scale, shift) with which the result is x * scale + shift."""
        scale = 1 / xp.sqrt(var + dtype.type(self.eps))
        if weight is not None:
            scale = scale * weight
        shift = -mean_ * scale
        if bias is not None:
            shift += bias
        return scale, shift

    def vjp(self, out, grad, needs):
        blocked = blocked_tensor.batch_norm_backward(self, out, grad, needs)
        if blocked is not None:
            return blocked
        if not grad_enabled[0] and grad._data is not None:
            return self._vjp_arrays(out, grad, needs)
        # With c = x - mean, s = weight * invstd and per-channel sums over the batch axes:
        #   grad_bias = sum(g), grad_weight = invstd * sum(g c),
        #   training: grad_x = s g - s grad_bias / n - s invstd**2 sum(g c) / n * c,
        # i.e. g and c times per-channel coefficients: few passes over the full-size arrays.
        x, mean_, var = out._inputs[:3]
        weight = out._inputs[3] if self.affine else None
        ndim = x.ndim
        axes = (0,) + tuple(range(2, ndim))
        invstd = rsqrt(var + self.eps)
        scale = invstd if weight is None else invstd * weight
        centered = x - _channel(mean_, ndim)
        grad_bias = channel_sum(grad)
        grad_centered = channel_sum(grad, centered)
        grad_x = grad_mean = grad_var = None
        if needs[0]:
            grad_x = grad * _channel(scale, ndim)
            if self.batch_statistics:
                n = element_count(x, axes)
                grad_x = (grad_x + centered * _channel(scale * invstd * invstd * grad_centered
                                                       * (-1.0 / n), ndim)
                          - _channel(scale * grad_bias / n, ndim))
        if not self.batch_statistics:
            grad_mean = -grad_bias * scale if needs[1] else None
            grad_var = grad_centered * scale * invstd * invstd * -0.5 if needs[2] else None
        grads = (grad_x, grad_mean, grad_var)
        if self.affine:
            grads += (grad_centered * invstd if needs[3] else None,
                      grad_bias if needs[4] else None)
        return grads

    def _vjp_arrays(self, out, grad, needs):
        """The gradients of ``vjp`` below computed on arrays by the backend's kernels, where
        nothing records them (backward without create_graph): one pass over g and x for the
        per-channel sums and one for the input gradient, instead of about seven Tensor ops over
        full-size arrays. The Tensor-op form serves create_graph and symbolic graphs."""
        inputs = out._inputs
        x, mean_, var = (t._data for t in inputs[:3])
        g = grad._data
        xp = backend.xp
        invstd = 1 / xp.sqrt(var.astype(xp.float64) + self.eps)
        scale = invstd * inputs[3]._data if self.affine else invstd
        sum_g, sum_gc = backend.batch_norm_gradient_sums(g, x, mean_)
        grad_x = grad_mean = grad_var = None
        if needs[0]:
            if self.batch_statistics:
                n = max(x.size // max(x.shape[1], 1), 1)
                b, d = scale * invstd * invstd * sum_gc * (-1.0 / n), scale * sum_g * (-1.0 / n)
            else:
                b = d = xp.zeros_like(scale)
            grad_x = backend.batch_norm_input_gradient(g, x, mean_, scale, b, d)
        if not self.batch_statistics:
            grad_mean = -sum_g * scale if needs[1] else None
            grad_var = sum_gc * scale * invstd * invstd * -0.5 if needs[2] else None
        grads = [grad_x, grad_mean, grad_var]
        if self.affine:
            grads += [sum_gc * invstd if needs[3] else None, sum_g if needs[4] else None]
        return tuple(None if a is None else make_tensor(a.astype(t.dtype.np, copy=False))
                     for a, t in zip(grads, inputs))

    def infer(self, x, mean_, var, weight=None, bias=None):
        channels = x.shape[1]
        for what, t in (("running_mean", mean_), ("running_var", var), ("weight", weight),
                        ("bias", bias)):
            if t is None or None in (channels,) + tuple(t.shape):
                continue
            if tuple(t.shape) != (channels,):
                raise ShapeError(f"batch_norm: {what} has shape {format_shape(t.shape)}, expected "
                                 f"({channels},) for input {format_shape(x.shape)}")
        return TensorType(x.dtype, x.shape)


def batch_statistics(x):
    """The (2, C) stack of per-channel mean and biased variance over all axes but 1."""
    op = BatchStatistics((0,) + tuple(range(2, x.ndim)))
    if type(x) is blocked_tensor.BlockedTensor:
        out = blocked_tensor.batch_statistics(op, x)
        if out is not None:
            return out
    return apply(op, x)


def batch_normalize(x, mean_, var, weight, bias, eps, batch_statistics):
    affine = weight is not None or bias is not None
    inputs = (x, mean_, var)
    if affine:
        channels = x.shape[1]
        inputs += (weight if weight is not None else ones(channels, dtype=x.dtype),
                   bias if bias is not None else zeros(channels, dtype=x.dtype))
    op = BatchNormalize(float(eps), affine, batch_statistics)
    if type(x) is blocked_tensor.BlockedTensor:
        out = blocked_tensor.batch_normalize(op, inputs)
        if out is not None:
            return out
    return apply(op, *inputs)
