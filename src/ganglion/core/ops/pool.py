"""Pooling ops over the last two axes of (N, C, H, W) tensors: max and average pooling, each
with its backward as an op of its own, so that gradients of gradients work.

Max pooling computes only the window maxima. Its vjp finds each window's argmax (the first
tap in row-major order that holds the max: PyTorch's tie rule) and scatters the gradient
through it. Scatter and gather through a fixed argmax are adjoint linear maps, so each is the
other's vjp; likewise average pooling and its backward.
"""
from ganglion.backend import current as backend
from ganglion.core import blocked_tensor, dtypes
from ganglion.core.op import Op, ShapeError, apply, format_shape
from ganglion.core.tensor import TensorType

__all__ = ["max_pool2d_values", "max_pool2d_argmax", "max_pool2d_indices", "avg_pool2d_values",
           "adaptive_max_pool2d_indices"]


class Pool2d(Op):
    """Shared attributes and shape rule of the 2-D pooling ops."""
    __slots__ = ("kernel", "stride", "padding", "dilation", "ceil_mode")

    def __init__(self, kernel, stride, padding, dilation, ceil_mode):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    @property
    def geometry(self):
        return self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode

    def out_shape(self, shape, op_name):
        if len(shape) != 4:
            raise ShapeError(f"{op_name}: expected a 4-D input (N, C, H, W), got shape "
                             f"{format_shape(shape)}")
        out = tuple(None if n is None else backend.pool_output_size(n, k, s, p, d, self.ceil_mode)
                    for n, k, s, p, d in
                    zip(shape[2:], self.kernel, self.stride, self.padding, self.dilation))
        if 0 in out:
            raise ShapeError(f"{op_name}: input of shape {format_shape(shape)} is too small for "
                             f"kernel {self.kernel} with padding {self.padding} and dilation "
                             f"{self.dilation}: the output would be {out}")
        return tuple(shape[:2]) + out


class MaxPool2d(Pool2d):
    """The maximum of each window."""
    __slots__ = ()
    saves_output = True

    def forward(self, backend, x):
        if x.size == 0:
            # An empty batch: an empty result (the compiled 2x2 loops assume a first plane).
            return backend.empty(self.out_shape(x.shape, "max_pool2d"), x.dtype)
        return backend.max_pool2d(x, *self.geometry)

    def vjp(self, out, grad, needs):
        blocked = blocked_tensor.max_pool2d_backward(self, grad, out)
        if blocked is not None:
            return (blocked,)
        x = out._inputs[0]
        arg = apply(MaxPool2dArgmax(*self.geometry), x, out)
        return (apply(MaxPool2dScatter(*self.geometry), grad, arg, x),)

    def infer(self, x):
        return TensorType(x.dtype, self.out_shape(x.shape, "max_pool2d"))


class MaxPool2dArgmax(Pool2d):
    """(input, pooled output) -> each window's argmax as a tap number in row-major window order."""
    __slots__ = ()
    differentiable = False

    def forward(self, backend, x, out):
        if x.size == 0:
            return backend.empty(out.shape, self.infer(x, out).dtype.np)
        return backend.max_pool2d_argmax(x, out, *self.geometry)

    def infer(self, x, out):
        dtype = dtypes.int8 if self.kernel[0] * self.kernel[1] <= 127 else dtypes.int32
        return TensorType(dtype, out.shape)


class MaxPool2dScatter(Pool2d):
    """(gradient, argmax, input) -> the input's gradient: each window's gradient at its argmax."""
    __slots__ = ()
    saves_inputs = False

    def forward(self, backend, grad, arg, like):
        if grad.size == 0:
            return backend.xp.zeros(like.shape, grad.dtype)
        return backend.max_pool2d_scatter(grad, arg, like.shape, *self.geometry)

    def vjp(self, out, grad, needs):
        arg = out._inputs[1]
        return (apply(MaxPool2dGather(*self.geometry), grad, arg), None, None)

    def infer(self, grad, arg, like):
        return TensorType(grad.dtype, like.shape)


class MaxPool2dGather(Pool2d):
    """(input-shaped values, argmax) -> the values at each window's argmax."""
    __slots__ = ()
    saves_inputs = False

    def forward(self, backend, values, arg):
        return backend.max_pool2d_gather(values, arg, *self.geometry)

    def vjp(self, out, grad, needs):
        values, arg = out._inputs
        return (apply(MaxPool2dScatter(*self.geometry), grad, arg, values), None)

    def infer(self, values, arg):
        return TensorType(values.dtype, arg.shape)


class MaxPool2dIndices(Pool2d):
    """(argmax, input) -> PyTorch's ``return_indices``: flat positions in each H*W plane."""
    __slots__ = ()
    differentiable = False

    def forward(self, backend, arg, like):
        return backend.max_pool2d_indices(arg, like.shape, *self.geometry)

    def infer(self, arg, like):
        return TensorType(dtypes.int64, arg.shape)


class AvgPool2d(Pool2d):
    """The mean of each window; the divisor follows PyTorch's count_include_pad and
    divisor_override rules."""
    __slots__ = ("count_include_pad", "divisor_override")
    saves_inputs = False

    def __init__(self, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
        super().__init__(kernel, stride, padding, (1, 1), ceil_mode)
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    @property
    def avg_attrs(self):
        return (self.kernel, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                self.divisor_override)

    def forward(self, backend, x):
        return backend.avg_pool2d(x, *self.avg_attrs)

    def vjp(self, out, grad, needs):
        return (apply(AvgPool2dBackward(*self.avg_attrs), grad, out._inputs[0]),)

    def infer(self, x):
        return TensorType(x.dtype, self.out_shape(x.shape, "avg_pool2d"))


class AvgPool2dBackward(AvgPool2d):
    """(gradient, input) -> the input's gradient of average pooling."""
    __slots__ = ()

    def forward(self, backend, grad, like):
        return backend.avg_pool2d_backward(grad, like.shape, *self.avg_attrs)

    def vjp(self, out, grad, needs):
        return (apply(AvgPool2d(*self.avg_attrs), grad), None)

    def infer(self, grad, like):
        return TensorType(grad.dtype, like.shape)


class AdaptiveMaxPool2dIndices(Op):
    """Flat H*W positions of each adaptive window's first maximum."""
    __slots__ = ("output_size",)
    differentiable = False

    def __init__(self, output_size):
        self.output_size = output_size

    def forward(self, backend, x):
        return backend.adaptive_max_pool2d_indices(x, self.output_size)

    def infer(self, x):
        if len(x.shape) != 4:
            raise ShapeError(f"adaptive_max_pool2d: expected a 4-D input (N, C, H, W), got shape "
                             f"{format_shape(x.shape)}")
        return TensorType(dtypes.int64, tuple(x.shape[:2]) + tuple(self.output_size))


# ----- functions on 4-D tensors with normalized (pair) arguments ---------------------------

def max_pool2d_values(x, kernel, stride, padding, dilation, ceil_mode):
    op = MaxPool2d(kernel, stride, padding, dilation, ceil_mode)
    if type(x) is blocked_tensor.BlockedTensor:
        out = blocked_tensor.max_pool2d(op, x)
        if out is not None:
            return out
    return apply(op, x)


def max_pool2d_argmax(x, out, kernel, stride, padding, dilation, ceil_mode):
    return apply(MaxPool2dArgmax(kernel, stride, padding, dilation, ceil_mode), x, out)


def max_pool2d_indices(x, out, kernel, stride, padding, dilation, ceil_mode):
    geometry = (kernel, stride, padding, dilation, ceil_mode)
    return apply(MaxPool2dIndices(*geometry), apply(MaxPool2dArgmax(*geometry), x, out), x)


def avg_pool2d_values(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    return apply(AvgPool2d(kernel, stride, padding, ceil_mode, count_include_pad,
                           divisor_override), x)


def adaptive_max_pool2d_indices(x, output_size):
    return apply(AdaptiveMaxPool2dIndices(tuple(output_size)), x)
