"""Convolution layers: Conv1d, Conv2d and ConvTranspose2d, with PyTorch's arguments, parameter
names and layouts, so PyTorch state dicts load unchanged.

Weights are (out_channels, in_channels / groups, *kernel) for Conv1d / Conv2d and
(in_channels, out_channels / groups, *kernel) for ConvTranspose2d. Both weight and bias start as
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.shape[1] * prod(kernel), which is what
PyTorch's kaiming_uniform_(a=sqrt(5)) amounts to. Each layer checks its input's rank and channel
count with one comparison on the fast path and names itself in the error.
"""
import math

from ganglion.core.creation import empty
from ganglion.core.device import check_available as check_device
from ganglion.core.dtypes import as_dtype, get_default_dtype
from ganglion.core.op import ShapeError, format_shape
from ganglion.nn import init
from ganglion.nn.layers.arguments import count, sizes
from ganglion.nn.functional.conv import conv1d, conv2d, conv_transpose2d
from ganglion.nn.functional.padding import pad
from ganglion.nn.module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolution layers share: arguments, parameters, initialization and the check."""

    _spatial = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, device, dtype, output_padding=0):
        super().__init__()
        name = f"{type(self).__name__}({in_channels}, {out_channels})"
        n = self._spatial
        # Every argument is checked here, before any parameter exists: PyTorch checks the
        # kernel, stride, padding and dilation only at the first forward call.
        in_channels = count(name, "in_channels", in_channels)
        out_channels = count(name, "out_channels", out_channels)
        groups = count(name, "groups", groups)
        if groups < 1:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        for what, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ValueError(f"{name}: {what} ({channels}) must be divisible by "
                                 f"groups={groups}")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        if padding_mode != "zeros" and self._transposed:
            raise ValueError(f"{name}: only padding_mode='zeros' is supported for "
                             f"{type(self).__name__}, got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = sizes(name, "kernel_size", kernel_size, n, 1)
        self.stride = sizes(name, "stride", stride, n, 1)
        self.padding = self._padding(name, padding, n)
        self.dilation = sizes(name, "dilation", dilation, n, 1)
        self.groups = groups
        self.padding_mode = padding_mode
        if self._transposed:
            self.output_padding = sizes(name, "output_padding", output_padding, n, 0)
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        if device is not None:
            check_device(device)
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        self.weight = Parameter(empty(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _padding(self, name, padding, n):
        if not isinstance(padding, str):
            return sizes(name, "padding", padding, n, 0)
        if padding not in ("same", "valid"):
            raise ValueError(f"{name}: invalid padding string {padding!r}, should be 'same', "
                             "'valid', an integer or a tuple of integers")
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                             f"(stride={self.stride}); give the padding as numbers")
        return padding

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input):
        shape = input.shape
        n = self._spatial
        if len(shape) in (n + 1, n + 2) and shape[-n - 1] in (self.in_channels, None):
            return
        dims = "L" if n == 1 else "H, W"
        raise ShapeError(f"{type(self).__name__}({self.in_channels}, {self.out_channels}): expected "
                         f"input of shape (N, {self.in_channels}, {dims}), got {format_shape(shape)}")

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        zeros = (0,) * self._spatial
        if self.padding != zeros:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._spatial:
            text += f", dilation={self.dilation}"
        if self._transposed and self.output_padding != zeros:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    """A forward convolution layer: PyTorch's defaults, and ``_function`` applied to the input."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype)

    def forward(self, input):
        self._check_input(input)
        if self.padding_mode != "zeros":
            # PyTorch's way: pad in the layer's mode first, then convolve with no padding.
            input = pad(input, self._mode_padding(), self.padding_mode)
            return self._function(input, self.weight, self.bias, self.stride, 0, self.dilation,
                                  self.groups)
        return self._function(input, self.weight, self.bias, self.stride, self.padding,
                              self.dilation, self.groups)

    def _mode_padding(self):
        """F.pad's flat (last dim first) widths for a non-zero padding_mode; 'same' puts the odd
        one on the right, as PyTorch does."""
        widths = []
        for i in reversed(range(self._spatial)):
            if self.padding == "valid":
                widths += [0, 0]
            elif self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                widths += [total // 2, total - total // 2]
            else:
                widths += [self.padding[i], self.padding[i]]
        return tuple(widths)


class Conv1d(_Conv):
    """1-D convolution over (N, in_channels, L) inputs (or unbatched (in_channels, L))."""

    _spatial = 1
    _function = staticmethod(conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, in_channels, H, W) inputs (or unbatched (in_channels, H, W)).

    ``padding`` is an int, a pair, 'valid' or 'same'; ``groups=in_channels`` makes it depthwise.
    """

    _function = staticmethod(conv2d)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the upsampling layer of GAN generators and conv decoders).

    Output height: (H - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1.
    """

    _transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d({in_channels}, {out_channels}): padding must be an "
                             f"int or a pair, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, device, dtype, output_padding)

    def forward(self, input, output_size=None):
        self._check_input(input)
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(input, output_size)
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                output_padding, self.groups, self.dilation)

    def _output_padding_for(self, input, output_size):
        """The output_padding that gives ``output_size`` (H, W) (PyTorch's forward argument)."""
        target = tuple(output_size)[-2:]
        padding = []
        for a in (0, 1):
            smallest = ((input.shape[-2 + a] - 1) * self.stride[a] - 2 * self.padding[a]
                        + self.dilation[a] * (self.kernel_size[a] - 1) + 1)
            extra = target[a] - smallest
            if not 0 <= extra < max(self.stride[a], self.dilation[a]):
                raise ValueError(f"ConvTranspose2d({self.in_channels}, {self.out_channels}): "
                                 f"requested output size {target} is not reachable from input "
                                 f"{format_shape(input.shape)}")
            padding.append(extra)
        return tuple(padding)
