"""Dropout: inverted dropout (kept values are scaled by 1 / (1 - p) in training, so evaluation
is the identity), elementwise or by whole channels (dropout1d, dropout2d), and alpha dropout
for SELU networks.

The mask is an op of its own (``ganglion.core.ops.nn.dropout.DropoutMask``), drawn from
ganglion's global generator when the op runs: eager calls draw at once, and a compiled symbolic
function draws a fresh mask on every call. ``ganglion.manual_seed`` therefore makes masks
reproducible. The output is ``input * mask``, so the gradient is the incoming gradient times the
same mask.
"""
import warnings

from ganglion.core.op import apply, format_shape
from ganglion.core.ops.nn.dropout import DropoutMask
from ganglion.core.ops.unary import to_float

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]


def check_probability(p, who):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{who}: dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input, p, shared_axes):
    if p == 1.0:
        return input * 0.0
    return input * apply(DropoutMask(float(p), shared_axes), input)


def dropout(input, p=0.5, training=True, inplace=False, who="dropout"):
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p) when
    ``training``; the identity otherwise. ``inplace`` is accepted for PyTorch's signature."""
    check_probability(p, who)
    if not training or p == 0.0:
        return input
    return _dropout(to_float(input), p, ())


_DROPOUT2D_RANK_WARNING = (
    "dropout2d: Received a {}-D input to dropout2d, which is deprecated and will result in an "
    "error in a future release. To retain the behavior and silence this warning, please use "
    "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with "
    "2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
    "inputs).")
_DROPOUT2D_3D_WARNING = (
    "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
    "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
    "This behavior will change in a future release to interpret the input as one without a "
    "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
    "please switch to using dropout1d instead.")


def _feature_axes(input, who):
    """The axes a feature (channel) mask is shared over: every axis after (N, C)."""
    if input.ndim < 2:
        raise RuntimeError(f"{who}: feature dropout requires at least 2 dimensions in the "
                           f"input, got shape {format_shape(input.shape)}")
    return tuple(range(2, input.ndim))


def dropout2d(input, p=0.5, training=True, inplace=False, who="dropout2d"):
    """Zero whole channels of (N, C, H, W) input with probability ``p``, scaling the rest by
    1 / (1 - p). Neighbouring pixels are correlated, so zeroing single pixels would
    regularize little.

    Other ranks behave and warn as in PyTorch (whose warning texts these are): 3-D input is
    read as (N, C, L), one draw per (sample, channel), not as unbatched (C, H, W); 2-D and
    5-D input are deprecated but still drop by (N, C)."""
    check_probability(p, who)
    if input.ndim not in (3, 4):
        warnings.warn(_DROPOUT2D_RANK_WARNING.format(input.ndim), stacklevel=2)
    if input.ndim == 3:
        warnings.warn(_DROPOUT2D_3D_WARNING, stacklevel=2)
    if not training or p == 0.0:
        return input
    return _dropout(to_float(input), p, _feature_axes(input, who))


_DROPOUT3D_RANK_WARNING = (
    "dropout3d: Received a {}-D input to dropout3d, which is deprecated and will result in an "
    "error in a future release. To retain the behavior and silence this warning, please use "
    "dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with "
    "3 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D "
    "inputs).")


def dropout3d(input, p=0.5, training=True, inplace=False, who="dropout3d"):
    """Zero whole channels of (N, C, D, H, W) or unbatched (C, D, H, W) input with probability
    ``p``. Other ranks warn as in PyTorch and are read as unbatched (dim 0 the channels)."""
    check_probability(p, who)
    if input.ndim not in (4, 5):
        warnings.warn(_DROPOUT3D_RANK_WARNING.format(input.ndim), stacklevel=2)
    if not training or p == 0.0:
        return input
    first_shared = 2 if input.ndim == 5 else 1
    return _dropout(to_float(input), p, tuple(range(first_shared, input.ndim)))


def dropout1d(input, p=0.5, training=True, inplace=False, who="dropout1d"):
    """Zero whole channels of (N, C, L) or unbatched (C, L) input with probability ``p``."""
    check_probability(p, who)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{who}: expected 2-D (C, L) or 3-D (N, C, L) input, got "
                           f"{format_shape(input.shape)}")
    if not training or p == 0.0:
        return input
    return _dropout(to_float(input), p, (input.ndim - 1,))


# SELU's negative saturation value, -scale * alpha: alpha dropout sets dropped units to it.
_ALPHA_PRIME = 1.7580993408473766


def _alpha_dropout(input, p, training, shared_axes, who):
    check_probability(p, who)
    if not training or p == 0.0:
        return input
    input = to_float(input)
    if p == 1.0:
        return input * 0.0
    # Dropped units take SELU's saturation value, and an affine map a * x + b restores zero
    # mean and unit variance (PyTorch's constants). keep is 0 or 1 / (1 - p) here.
    a = 1.0 / ((_ALPHA_PRIME * _ALPHA_PRIME * p + 1) * (1 - p)) ** 0.5
    keep = apply(DropoutMask(float(p), shared_axes), input) * (1 - p)
    return input * (keep * a) + ((keep - 1.0) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for self-normalizing (SELU) networks: dropped units are set to SELU's
    saturation value and the result rescaled so that mean and variance are kept."""
    return _alpha_dropout(input, p, training, (), "alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout by whole channels of (N, C, ...) input."""
    axes = _feature_axes(input, "feature_alpha_dropout") if training and p else ()
    return _alpha_dropout(input, p, training, axes, "feature_alpha_dropout")
