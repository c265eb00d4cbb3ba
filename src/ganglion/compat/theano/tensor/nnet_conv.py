"""Theano's 2-d convolution, ``T.nnet.conv2d`` (and the older ``T.nnet.conv.conv2d``), on
ganglion's ``conv2d``.

Reference: Theano 1.0's ``theano/tensor/nnet/abstract_conv.py`` (``conv2d``,
``get_conv_output_shape``). Theano convolves: the kernel is flipped (``filters[:, :, ::-1,
::-1]``) unless ``filter_flip=False``, while PyTorch's and ganglion's conv2d correlate. Border
modes: 'valid' (no padding), 'full' ((k - 1) * dilation on each side), 'half' ((k // 2) *
dilation: the same size for odd k), an int or a pair of ints (that much padding).
"""
import ganglion as _gn
from ganglion.nn import functional as _F

__all__ = ["conv2d"]


def _pair(name, value):
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(f"conv2d: {name} must be an int or a pair of ints, got {value!r}") from None
    return (int(first), int(second))


def _text(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _check_shape(what, tensor, declared, ndim=4):
    if declared is None:
        return
    declared = tuple(declared)
    static = tensor.tensor_type.shape
    if len(declared) != ndim or any(
            d is not None and s is not None and int(d) != s for d, s in zip(declared, static)):
        raise ValueError(f"conv2d: {what}={declared} does not match the {what.split('_')[0]}'s "
                         f"shape {_text(static)}")


def _declare(tensor, declared):
    static = tensor.tensor_type.shape
    if declared is None or not any(s is None and d is not None for s, d in zip(static, declared)):
        return tensor
    from ganglion.compat.theano.tensor.basic import specify_shape
    return specify_shape(tensor, tuple(s if s is not None else d for s, d in zip(static, declared)))


def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid",
           subsample=(1, 1), filter_flip=True, image_shape=None, filter_dilation=(1, 1),
           num_groups=1, **kwargs):
    """Theano's conv2d of a (batch, channels, rows, cols) input with (out channels, in
    channels / groups, rows, cols) filters (see the module docstring)."""
    if image_shape is not None and input_shape is None:
        input_shape = image_shape
    if input.ndim != 4 or filters.ndim != 4:
        raise ValueError(f"conv2d: input and filters must be 4-d, got shapes "
                         f"{_text(input.tensor_type.shape)} and {_text(filters.tensor_type.shape)}")
    _check_shape("input_shape", input, input_shape)
    _check_shape("filter_shape", filters, filter_shape)
    # Theano's shapes are hints for its code generator; here they make unknown dims known (the
    # gradient with respect to the filters needs the input's rows and cols).
    input = _declare(input, input_shape)
    filters = _declare(filters, filter_shape)
    dilation = _pair("filter_dilation", filter_dilation)
    kernel = list(filters.tensor_type.shape[2:])
    if filter_shape is not None:
        kernel = [kernel[k] if kernel[k] is not None else int(filter_shape[2 + k]) for k in (0, 1)]
    if isinstance(border_mode, str):
        if border_mode not in ("valid", "full", "half"):
            raise ValueError(f"conv2d: border_mode must be 'valid', 'full', 'half', an int or a "
                             f"pair of ints, got {border_mode!r}")
        if border_mode != "valid" and None in kernel:
            raise ValueError(f"conv2d: border_mode={border_mode!r} needs the filter size; give "
                             "filter_shape= for filters of unknown shape")
        if border_mode == "valid":
            padding = (0, 0)
        elif border_mode == "full":
            padding = tuple((k - 1) * d for k, d in zip(kernel, dilation))
        else:
            padding = tuple((k // 2) * d for k, d in zip(kernel, dilation))
    else:
        padding = _pair("border_mode", border_mode)
        if min(padding) < 0:
            raise ValueError(f"conv2d: border_mode padding must not be negative, got {border_mode!r}")
    if filter_flip:
        filters = _gn.flip(filters, (2, 3))
    return _F.conv2d(input, filters, None, stride=_pair("subsample", subsample), padding=padding,
                     dilation=dilation, groups=num_groups)
