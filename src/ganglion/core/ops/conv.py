"""2-D convolution ops. The three of them are each other's gradients, so every order of
derivative is again a convolution computed by the backend's fast kernels:

- ``Conv2d(x, w[, b]) -> y``: gx = ConvTranspose2d(gy, w), gw = Conv2dWeightGrad(x, gy),
  gb = gy summed over (N, H, W);
- ``ConvTranspose2d(y, w[, b]) -> x``: the adjoint of Conv2d in its first input;
  gy = Conv2d(gx, w), gw = Conv2dWeightGrad(gx, y);
- ``Conv2dWeightGrad(x, gy) -> w``: the adjoint of Conv2d in its weight;
  gx = ConvTranspose2d(gy, gw), ggy = Conv2d(x, gw).

Attributes are normalized pairs: ``stride`` (sh, sw), ``padding`` ((top, bottom), (left, right)),
``dilation`` (dh, dw), ``groups``; ConvTranspose2d adds ``output_padding`` (extra rows and
columns at the bottom and right, which the floor division of a strided convolution loses).
"""
from ganglion.core import blocked_tensor
from ganglion.core.op import Op, ShapeError, apply, format_shape
from ganglion.core.ops.reduce import sum as reduce_sum
from ganglion.core.tensor import TensorType

__all__ = ["conv2d_op", "conv_transpose2d_op", "conv2d_weight_grad"]


def _conv_size(size, kernel, stride, padding, dilation):
    """Output length of one axis of a convolution; None if the input length is unknown."""
    if size is None:
        return None
    return (size + padding[0] + padding[1] - dilation * (kernel - 1) - 1) // stride + 1


def _transposed_size(size, kernel, stride, padding, dilation, output_padding):
    if size is None:
        return None
    return (size - 1) * stride - padding[0] - padding[1] + dilation * (kernel - 1) + 1 + output_padding


def _check_pair(name, x, w, groups, x_role, channel_axis_of_w):
    """Ranks and dtypes of input and weight, and that their channel counts fit ``groups``."""
    if len(x.shape) != 4 or len(w.shape) != 4:
        raise ShapeError(f"{name}: expected a 4-D {x_role} (N, C, H, W) and a 4-D weight, got shapes "
                         f"{format_shape(x.shape)} and {format_shape(w.shape)}")
    if not x.dtype.is_floating_point or x.dtype is not w.dtype:
        raise TypeError(f"{name}: {x_role} and weight must have the same floating dtype, got "
                        f"{x.dtype} and {w.dtype}")
    channels = x.shape[1]
    expected = w.shape[channel_axis_of_w] * (groups if channel_axis_of_w == 1 else 1)
    if channels is not None and w.shape[channel_axis_of_w] is not None and channels != expected:
        raise ShapeError(f"{name}: {x_role} of shape {format_shape(x.shape)} has {channels} channels, "
                         f"but the weight of shape {format_shape(w.shape)} with groups={groups} "
                         f"expects {expected}")


def _check_bias(name, bias, channels, dtype):
    if bias is None:
        return
    if bias.shape != (channels,) or bias.dtype is not dtype:
        raise ShapeError(f"{name}: expected a bias of shape ({channels},) and dtype {dtype}, got "
                         f"{format_shape(bias.shape)} {bias.dtype}")


def _check_spatial(name, x_shape, w_shape, out_hw):
    if any(d is not None and d < 1 for d in out_hw):
        raise ShapeError(f"{name}: input of shape {format_shape(x_shape)} is too small for the kernel "
                         f"of shape {format_shape(w_shape)} with this padding and dilation (output "
                         f"size {format_shape(out_hw)})")


class _ConvOp(Op):
    __slots__ = ("stride", "padding", "dilation", "groups")
    returns_new_array = True  # the backend's conv kernels never return their scratch buffers

    def __init__(self, stride, padding, dilation, groups):
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups

    def _out_hw(self, hw, k_hw):
        return tuple(_conv_size(hw[a], k_hw[a], self.stride[a], self.padding[a], self.dilation[a])
                     for a in (0, 1))

    def _geometry(self):
        return self.stride, self.padding, self.dilation, self.groups


class Conv2d(_ConvOp):
    """y = conv2d(x, w) + b, cross-correlation as in PyTorch. Inputs: x, w and optionally b."""
    __slots__ = ()

    def forward(self, backend, x, w, b=None):
        if (x.ndim != 4 or x.dtype != w.dtype or x.shape[1] != w.shape[1] * self.groups
                or b is not None and b.dtype != x.dtype):
            raise ValueError("conv2d: bad input")  # infer() explains
        return backend.conv2d_forward(x, w, b, *self._geometry())

    def vjp(self, out, grad, needs):
        x, w = out._inputs[:2]
        blocked = blocked_tensor.conv2d_backward(self, x, w, grad, needs)
        if blocked is not None:
            return blocked
        k_hw = w.shape[2:]
        gx = conv_transpose2d_op(grad, w, *self._geometry(), _lost_rows(self, x, k_hw)) if needs[0] else None
        gw = conv2d_weight_grad(x, grad, *self._geometry(), k_hw) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (reduce_sum(grad, axis=(0, 2, 3)) if needs[2] else None)

    def infer(self, x, w, b=None):
        _check_pair("conv2d", x, w, self.groups, "input", 1)
        if w.shape[0] % self.groups:
            raise ShapeError(f"conv2d: {w.shape[0]} output channels (weight {format_shape(w.shape)}) "
                             f"are not divisible by groups={self.groups}")
        _check_bias("conv2d", b, w.shape[0], x.dtype)
        out_hw = self._out_hw(x.shape[2:], w.shape[2:])
        _check_spatial("conv2d", x.shape, w.shape, out_hw)
        return TensorType(x.dtype, (x.shape[0], w.shape[0]) + out_hw)


def _lost_rows(op, x, k_hw):
    """The output_padding that makes ConvTranspose2d give back exactly x's height and width."""
    lost = []
    for a in (0, 1):
        size = x.tensor_type.shape[2 + a]
        if size is None:
            raise ShapeError("conv2d: the gradient needs the input's height and width, which are "
                             f"unknown in {format_shape(x.shape)}; give the placeholder a full shape")
        span = size + sum(op.padding[a]) - op.dilation[a] * (k_hw[a] - 1) - 1
        lost.append(span % op.stride[a])
    return tuple(lost)


class ConvTranspose2d(_ConvOp):
    """x = conv_transpose2d(y, w) + b: the gradient of conv2d with respect to its input.
    The weight is (C_in, C_out / groups, kh, kw), C_in being y's channels."""
    __slots__ = ("output_padding",)

    def __init__(self, stride, padding, dilation, groups, output_padding):
        super().__init__(stride, padding, dilation, groups)
        self.output_padding = output_padding

    def _in_hw(self, hw, k_hw):
        return tuple(_transposed_size(hw[a], k_hw[a], self.stride[a], self.padding[a],
                                      self.dilation[a], self.output_padding[a]) for a in (0, 1))

    def forward(self, backend, y, w, b=None):
        if (y.ndim != 4 or y.dtype != w.dtype or y.shape[1] != w.shape[0]
                or b is not None and b.dtype != y.dtype):
            raise ValueError("conv_transpose2d: bad input")  # infer() explains
        out = backend.conv2d_backward_input(y, w, self._in_hw(y.shape[2:], w.shape[2:]), *self._geometry())
        if b is not None:
            out += b[None, :, None, None]
        return out

    def vjp(self, out, grad, needs):
        y, w = out._inputs[:2]
        gy = conv2d_op(grad, w, None, *self._geometry()) if needs[0] else None
        gw = conv2d_weight_grad(grad, y, *self._geometry(), w.shape[2:]) if needs[1] else None
        if len(needs) == 2:
            return gy, gw
        return gy, gw, (reduce_sum(grad, axis=(0, 2, 3)) if needs[2] else None)

    def infer(self, y, w, b=None):
        _check_pair("conv_transpose2d", y, w, self.groups, "input", 0)
        if w.shape[0] % self.groups:
            raise ShapeError(f"conv_transpose2d: {w.shape[0]} input channels (weight "
                             f"{format_shape(w.shape)}) are not divisible by groups={self.groups}")
        channels = w.shape[1] * self.groups
        _check_bias("conv_transpose2d", b, channels, y.dtype)
        in_hw = self._in_hw(y.shape[2:], w.shape[2:])
        _check_spatial("conv_transpose2d", y.shape, w.shape, in_hw)
        return TensorType(y.dtype, (y.shape[0], channels) + in_hw)


class Conv2dWeightGrad(_ConvOp):
    """gw = conv2d_weight_grad(x, gy): the gradient of conv2d with respect to its weight."""
    __slots__ = ("kernel_size",)

    def __init__(self, stride, padding, dilation, groups, kernel_size):
        super().__init__(stride, padding, dilation, groups)
        self.kernel_size = kernel_size

    def forward(self, backend, x, gy):
        return backend.conv2d_backward_weight(x, gy, self.kernel_size, *self._geometry())

    def vjp(self, out, grad, needs):
        x, gy = out._inputs
        lost = _lost_rows(self, x, self.kernel_size)
        gx = conv_transpose2d_op(gy, grad, *self._geometry(), lost) if needs[0] else None
        ggy = conv2d_op(x, grad, None, *self._geometry()) if needs[1] else None
        return gx, ggy

    def infer(self, x, gy):
        c = x.shape[1]
        return TensorType(x.dtype, (gy.shape[1], None if c is None else c // self.groups) + self.kernel_size)


# ----- functions on normalized attributes (nn.functional builds these from PyTorch's forms) --

def conv2d_op(x, w, b, stride, padding, dilation, groups):
    op = Conv2d(stride, padding, dilation, groups)
    # (eagerly on oneDNN, the result stays in its blocked layout: core/blocked_tensor.py)
    out = blocked_tensor.conv2d(op, x, w, b)
    if out is not None:
        return out
    return apply(op, x, w) if b is None else apply(op, x, w, b)


def conv_transpose2d_op(y, w, stride, padding, dilation, groups, output_padding, b=None):
    op = ConvTranspose2d(stride, padding, dilation, groups, output_padding)
    return apply(op, y, w) if b is None else apply(op, y, w, b)


def conv2d_weight_grad(x, gy, stride, padding, dilation, groups, kernel_size):
    """The weight gradient of conv2d(x, w) for output gradient gy; w is (O, C/groups) + kernel_size."""
    return apply(Conv2dWeightGrad(stride, padding, dilation, groups, tuple(kernel_size)), x, gy)
