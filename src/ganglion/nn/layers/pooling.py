"""Pooling and resampling layers: max/avg pooling, adaptive pooling, Upsample.

Each layer is the module form of a function in ``nn.functional.pooling``, with PyTorch's
constructor signature and repr; a wrong input rank is reported with the layer's name.
"""
from ganglion.nn.functional import pooling as F
from ganglion.nn.layers.arguments import count, padding_sizes, sizes
from ganglion.nn.module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
           "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]


class _MaxPoolNd(Module):
    spatial_dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        _check_window(type(self).__name__, self.spatial_dims, kernel_size, stride, padding, dilation)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


def _check_window(layer, n, kernel_size, stride, padding, dilation=1):
    """A pooling window's arguments, checked when the layer is built (PyTorch checks them at
    the first forward call, with the same exception type)."""
    name = f"{layer}({kernel_size!r})"
    kernel = sizes(name, "kernel_size", kernel_size, n, 1)
    if stride is not None:
        sizes(name, "stride", stride, n, 1)
    sizes(name, "dilation", dilation, n, 1)
    padding_sizes(name, padding, kernel, n)


def _check_output_size(layer, output_size):
    """An adaptive pooling size: an int or a pair, each non-negative or None (keep the input's)."""
    values = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(values) != 2:
        raise ValueError(f"{layer}: output_size must be an integer or a pair, got {output_size!r}")
    for v in values:
        if v is not None:
            count(f"{layer}({output_size!r})", "output_size", v)


class MaxPool1d(_MaxPoolNd):
    """Maximum over sliding windows of the last dim of (N, C, L) input (PyTorch's
    ``nn.MaxPool1d``)."""
    spatial_dims = 1

    def forward(self, input):
        F.expect_spatial_input("MaxPool1d", input, 1)
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPoolNd):
    """Maximum over sliding windows of (N, C, H, W) input, with stride, padding, dilation and
    ``return_indices`` (PyTorch's ``nn.MaxPool2d``)."""
    def forward(self, input):
        F.expect_spatial_input("MaxPool2d", input, 2)
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class AvgPool2d(Module):
    """Mean over sliding windows of (N, C, H, W) input, with ``count_include_pad`` and
    ``divisor_override`` (PyTorch's ``nn.AvgPool2d``)."""
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        _check_window("AvgPool2d", 2, kernel_size, stride, padding)
        if divisor_override is not None:
            count(f"AvgPool2d({kernel_size!r})", "divisor_override", divisor_override, 1)
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        F.expect_spatial_input("AvgPool2d", input, 2)
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed ``output_size`` whatever the input's H and W (PyTorch's
    ``nn.AdaptiveAvgPool2d``)."""
    def __init__(self, output_size):
        super().__init__()
        _check_output_size("AdaptiveAvgPool2d", output_size)
        self.output_size = output_size

    def forward(self, input):
        F.expect_spatial_input("AdaptiveAvgPool2d", input, 2)
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed ``output_size`` whatever the input's H and W (PyTorch's
    ``nn.AdaptiveMaxPool2d``)."""
    def __init__(self, output_size, return_indices=False):
        super().__init__()
        _check_output_size("AdaptiveMaxPool2d", output_size)
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        F.expect_spatial_input("AdaptiveMaxPool2d", input, 2)
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class Upsample(Module):
    """Resize by ``size`` or ``scale_factor`` with mode 'nearest', 'linear' or 'bilinear'."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.size = size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(s) for s in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self):
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')``: repeat pixels to ``size`` or by ``scale_factor`` (PyTorch's
    ``nn.UpsamplingNearest2d``)."""
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` (PyTorch's
    ``nn.UpsamplingBilinear2d``)."""
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
