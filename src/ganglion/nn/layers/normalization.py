"""Normalization layers: BatchNorm1d/2d (running statistics as PyTorch keeps them), LayerNorm,
GroupNorm, InstanceNorm1d/2d and LocalResponseNorm, with PyTorch's parameter and buffer names and reprs."""
import warnings

from ganglion.backend import current as backend
from ganglion.core.dtypes import get_default_dtype
from ganglion.core.errors import ArgumentError
from ganglion.core.op import ShapeError, format_shape
from ganglion.core.ops.shape import squeeze, unsqueeze
from ganglion.core.tensor import make_tensor
from ganglion.nn.functional import normalization as F
from ganglion.nn.layers.arguments import count
from ganglion.nn.module import Module, Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "LocalResponseNorm",
           "InstanceNorm1d", "InstanceNorm2d"]


def _filled(shape, value, dtype=None):
    """An array of ``value``, in the default float dtype unless ``dtype`` is given."""
    return backend.xp.full(shape, value, dtype=dtype or get_default_dtype().np)


class _BatchNorm(Module):
    #: the input ranks the layer accepts, and how its error message draws the expected shape.
    ranks = ()
    expected = ""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, bias=True):
        super().__init__()
        name = f"{type(self).__name__}({num_features})"
        num_features = count(name, "num_features", num_features)
        for what, value in (("eps", eps), ("momentum", momentum)):
            # momentum=None is PyTorch's cumulative average.
            if not isinstance(value, (int, float)) and not (what == "momentum" and value is None):
                raise TypeError(f"{name}: {what} must be a number, got {value!r} of type "
                                f"{type(value).__name__}")
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.register_parameter("weight", Parameter(_filled((num_features,), 1.0))
                                if affine else None)
        self.register_parameter("bias", Parameter(_filled((num_features,), 0.0))
                                if affine and bias else None)
        if track_running_stats:
            self.register_buffer("running_mean", make_tensor(_filled((num_features,), 0.0)))
            self.register_buffer("running_var", make_tensor(_filled((num_features,), 1.0)))
            self.register_buffer("num_batches_tracked", make_tensor(_filled((), 0, "int64")))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def _check_input(self, input):
        shape = tuple(input.shape)
        if len(shape) not in self.ranks or shape[1] not in (None, self.num_features):
            expected = self.expected.format(C=self.num_features)
            raise ShapeError(f"{type(self).__name__}({self.num_features}): expected input of shape "
                             f"{expected}, got {format_shape(shape)}")

    def forward(self, input):
        self._check_input(input)
        momentum = self.momentum
        if (self.training and self.track_running_stats
                and F.updates_running_statistics(input)):
            self.num_batches_tracked.add_(1)
            if momentum is None:  # a cumulative average: the k-th batch weighs 1/k
                momentum = 1.0 / self.num_batches_tracked.to(input.dtype)
        # Without running estimates the batch's statistics normalize in eval mode too.
        uses_batch_statistics = self.training or not self.track_running_stats
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            uses_batch_statistics, momentum, self.eps,
                            who=f"{type(self).__name__}({self.num_features})")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _InstanceNorm(_BatchNorm):
    """Instance normalization: each channel of each sample over its spatial dims. PyTorch's
    defaults differ from batch norm's (no affine parameters, no running statistics); with
    ``track_running_stats`` the running estimates normalize in eval mode. As in PyTorch,
    ``num_batches_tracked`` stays 0 and ``momentum=None`` leaves the estimates unchanged."""
    #: the number of spatial dims, and the batched input rank is spatial + 2.
    spatial = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)

    def forward(self, input):
        name = f"{type(self).__name__}({self.num_features})"
        batched = self.spatial + 2
        if input.ndim not in (batched - 1, batched):
            raise ValueError(f"{name}: expected {batched - 1}-D or {batched}-D input, got "
                             f"{format_shape(input.shape)}")
        channel_dim = input.ndim - self.spatial - 1
        channels = input.tensor_type.shape[channel_dim]
        if channels is not None and channels != self.num_features:
            if self.affine or self.track_running_stats:
                raise ValueError(f"{name}: expected input's size at dim={channel_dim} to match "
                                 f"num_features ({self.num_features}), got "
                                 f"{format_shape(input.shape)}")
            warnings.warn(f"{name}: input's size at dim={channel_dim} ({channels}) does not "
                          "match num_features. You can silence this warning by not passing in "
                          "num_features, which is not used because affine=False", stacklevel=2)
        unbatched = input.ndim == batched - 1
        if unbatched:
            input = unsqueeze(input, 0)
        uses_input_statistics = self.training or not self.track_running_stats
        out = F.instance_norm(input, self.running_mean, self.running_var, self.weight,
                              self.bias, uses_input_statistics,
                              0.0 if self.momentum is None else self.momentum, self.eps,
                              who=name)
        return squeeze(out, 0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or (C, L) input over L."""


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or (C, H, W) input over H and W."""
    spatial = 2


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input over N (and L)."""
    ranks = (2, 3)
    expected = "(N, {C}) or (N, {C}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input over N, H and W."""
    ranks = (4,)
    expected = "(N, {C}, H, W)"


class LayerNorm(Module):
    """Normalizes over the last dims given by ``normalized_shape`` (mean 0, variance 1), then an
    elementwise affine map (PyTorch's ``nn.LayerNorm``)."""
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True):
        super().__init__()
        shape = ((normalized_shape,) if not isinstance(normalized_shape, (tuple, list))
                 else tuple(normalized_shape))
        self.normalized_shape = tuple(count(f"LayerNorm({normalized_shape})", "normalized_shape",
                                            d) for d in shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.register_parameter("weight", Parameter(_filled(self.normalized_shape, 1.0))
                                if elementwise_affine else None)
        self.register_parameter("bias", Parameter(_filled(self.normalized_shape, 0.0))
                                if elementwise_affine and bias else None)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps,
                            who=f"LayerNorm({self.normalized_shape})")

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalizes each group of ``num_channels / num_groups`` channels of each sample, then a
    per-channel affine map (PyTorch's ``nn.GroupNorm``)."""
    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, *, bias=True):
        super().__init__()
        name = f"GroupNorm({num_groups}, {num_channels})"
        num_channels = count(name, "num_channels", num_channels)
        num_groups = count(name, "num_groups", num_groups, minimum=-2**63)
        if num_groups <= 0:
            # PyTorch's own check is num_channels % num_groups: a ZeroDivisionError for 0.
            error = ZeroDivisionError if num_groups == 0 else ArgumentError
            raise error(f"{name}: num_groups must be positive, got {num_groups}")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self.register_parameter("weight", Parameter(_filled((num_channels,), 1.0))
                                if affine else None)
        self.register_parameter("bias", Parameter(_filled((num_channels,), 0.0))
                                if affine and bias else None)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] not in (None, self.num_channels):
            raise ShapeError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected input "
                             f"of shape (N, {self.num_channels}, ...), got "
                             f"{format_shape(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class LocalResponseNorm(Module):
    """Divides each channel by ``(k + alpha / size * sum of squares over size neighbouring
    channels) ** beta`` (AlexNet's; PyTorch's ``nn.LocalResponseNorm``)."""
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = count(f"LocalResponseNorm({size})", "size", size, 1)
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k,
                                     who=f"LocalResponseNorm({self.size})")

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
