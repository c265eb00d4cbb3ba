"""Functional convolution with PyTorch's signatures: conv1d, conv2d and conv_transpose2d.

These turn PyTorch's argument forms (an int or a tuple, padding 'same' / 'valid', unbatched
inputs) into the normalized attributes of the ops in ``core/ops/conv.py``; conv1d is conv2d on
a height-1 input, so it runs the same kernels.
"""
from ganglion.core.op import ShapeError, format_shape
from ganglion.core.ops.conv import conv2d_op, conv_transpose2d_op
from ganglion.core.ops.shape import squeeze, unsqueeze

__all__ = ["conv1d", "conv2d", "conv_transpose2d"]


def _tuple(name, what, value, n):
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) == 1:
        values = values * n
    if len(values) != n or not all(isinstance(v, int) for v in values):
        raise ValueError(f"{name}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    return values


def _positive(name, **values):
    for what, value in values.items():
        if min(value) < 1:
            raise ValueError(f"{name}: {what} must be positive, got {value}")


def _padding_pairs(name, padding, kernel, stride, dilation):
    """((before, after), ...) per spatial axis from PyTorch's int / tuple / 'same' / 'valid'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * len(kernel)
        if padding != "same":
            raise ValueError(f"{name}: padding must be 'same', 'valid', an int or a tuple, got "
                             f"{padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions "
                             f"(stride {stride})")
        # PyTorch puts the odd element of an even total at the end (bottom / right).
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = _tuple(name, "padding", padding, len(kernel))
    if min(pads) < 0:
        raise ValueError(f"{name}: padding must not be negative, got {pads}")
    return tuple((p, p) for p in pads)


def _check_rank(name, input, expected, layout):
    if input.ndim not in (expected - 1, expected):
        raise ShapeError(f"{name}: expected a {expected - 1}-D (unbatched) or {expected}-D input "
                         f"{layout}, got shape {format_shape(input.shape)}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of input (N, C, H, W) with weight (O, C/groups, kh, kw) + bias (O,).

    ``padding`` is an int, a pair, 'valid' (none) or 'same' (output as large as the input;
    stride 1 only). An unbatched (C, H, W) input gives an unbatched output.
    """
    _check_rank("conv2d", input, 4, "(N, C, H, W)")
    stride = _tuple("conv2d", "stride", stride, 2)
    dilation = _tuple("conv2d", "dilation", dilation, 2)
    _positive("conv2d", stride=stride, dilation=dilation, groups=(groups,))
    kernel = tuple(weight.shape[2:]) if weight.ndim == 4 else (1, 1)
    pads = _padding_pairs("conv2d", padding, kernel, stride, dilation)
    if input.ndim == 3:
        return squeeze(conv2d_op(unsqueeze(input, 0), weight, bias, stride, pads, dilation, groups), 0)
    return conv2d_op(input, weight, bias, stride, pads, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation of input (N, C, L) with weight (O, C/groups, k) + bias (O,); runs
    as conv2d over a height-1 image. ``padding`` as in conv2d."""
    _check_rank("conv1d", input, 3, "(N, C, L)")
    if weight.ndim != 3:
        raise ShapeError(f"conv1d: expected a 3-D weight (out_channels, in_channels / groups, "
                         f"kernel_size), got shape {format_shape(weight.shape)}")
    stride = _tuple("conv1d", "stride", stride, 1)
    dilation = _tuple("conv1d", "dilation", dilation, 1)
    _positive("conv1d", stride=stride, dilation=dilation, groups=(groups,))
    pads = _padding_pairs("conv1d", padding, tuple(weight.shape[2:]), stride, dilation)
    unbatched = input.ndim == 2
    x = unsqueeze(input, 0) if unbatched else input
    out = conv2d_op(unsqueeze(x, 2), unsqueeze(weight, 2), bias, (1,) + stride, ((0, 0),) + pads,
                    (1,) + dilation, groups)
    out = squeeze(out, 2)
    return squeeze(out, 0) if unbatched else out


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The transposed 2-D convolution (the gradient of conv2d with respect to its input):
    input (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw), bias (C_out,).

    Output height: (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1.
    """
    _check_rank("conv_transpose2d", input, 4, "(N, C, H, W)")
    stride = _tuple("conv_transpose2d", "stride", stride, 2)
    dilation = _tuple("conv_transpose2d", "dilation", dilation, 2)
    output_padding = _tuple("conv_transpose2d", "output_padding", output_padding, 2)
    _positive("conv_transpose2d", stride=stride, dilation=dilation, groups=(groups,))
    if isinstance(padding, str):
        raise ValueError(f"conv_transpose2d: padding must be an int or a pair, got {padding!r}")
    pads = _padding_pairs("conv_transpose2d", padding, (1, 1), stride, dilation)
    if any(p < 0 or (p >= s and p >= d) for p, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be non-negative "
                         f"and smaller than either stride {stride} or dilation {dilation}")
    if input.ndim == 3:
        out = conv_transpose2d_op(unsqueeze(input, 0), weight, stride, pads, dilation, groups,
                                  output_padding, bias)
        return squeeze(out, 0)
    return conv_transpose2d_op(input, weight, stride, pads, dilation, groups, output_padding, bias)
