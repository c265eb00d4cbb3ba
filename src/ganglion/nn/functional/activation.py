"""Activation functions (PyTorch's torch.nn.functional names), and the step neuron of perceptrons.

Most are ops of the core library (``core/ops/unary.py``, ``core/ops/softmax.py``,
``core/ops/nn/activation.py``) re-exported
under PyTorch's signatures; the rest are short compositions of them. ``inplace=`` is accepted
for scripts ported from PyTorch, but the result is always a new tensor: ganglion's graph rules
make an out-of-place activation as cheap as an in-place one.
"""
from ganglion.core import ops
from ganglion.core.op import apply, format_shape
from ganglion.core.ops.elementwise import cast, ge, gt, where
from ganglion.core.ops.shape import reshape
from ganglion.core.ops.nn.activation import Hardswish, Silu
from ganglion.core.ops.unary import hardtanh as _hardtanh, to_float
from ganglion.core.tensor import Tensor

__all__ = ["relu", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "tanh", "softmax",
           "log_softmax", "softplus", "hardtanh", "relu6", "logsigmoid", "step", "sign", "silu",
           "mish", "hardswish", "hardsigmoid", "prelu"]

sigmoid = ops.sigmoid
tanh = ops.tanh
logsigmoid = ops.logsigmoid
sign = ops.sign


def relu(input, inplace=False):
    return ops.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return ops.leaky_relu(input, negative_slope)


def elu(input, alpha=1.0, inplace=False):
    return ops.elu(input, alpha)


def selu(input, inplace=False):
    return ops.selu(input)


def gelu(input, approximate="none"):
    return ops.gelu(input, approximate)


def softplus(input, beta=1.0, threshold=20.0):
    return ops.softplus(input, beta, threshold)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return ops.hardtanh(input, min_val, max_val)


def relu6(input, inplace=False):
    return ops.relu6(input)


def softmax_dim(ndim):
    """PyTorch's choice when ``dim`` is not given: 0 for 0-, 1- and 3-d input, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = cast(input, dtype)
    return ops.softmax(input, dim=softmax_dim(input.ndim) if dim is None else dim)


def log_softmax(input, dim=None, dtype=None):
    if dtype is not None:
        input = cast(input, dtype)
    return ops.log_softmax(input, dim=softmax_dim(input.ndim) if dim is None else dim)


def step(input, threshold=0.0):
    """The perceptron's Heaviside neuron: 1.0 where ``input >= threshold``, else 0.0.

    Piecewise constant, so it has no gradient: the result never requires grad (train a
    perceptron with its own update rule or ``perceptron_loss``, not through this function).
    """
    input = to_float(input)
    return cast(ge(input, threshold), input.dtype)


_SILU = Silu()


def _activation_input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor as input, got {type(input).__name__}")
    return to_float(input)


def silu(input, inplace=False):
    """x * sigmoid(x) (the swish activation)."""
    return apply(_SILU, _activation_input("silu", input))


def mish(input, inplace=False):
    """x * tanh(softplus(x))."""
    input = _activation_input("mish", input)
    return input * ops.tanh(ops.softplus(input))


def hardsigmoid(input, inplace=False):
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between."""
    input = _activation_input("hardsigmoid", input)
    return _hardtanh(input + 3.0, 0.0, 6.0) * (1.0 / 6.0)


_HARDSWISH = Hardswish()


def hardswish(input, inplace=False):
    """x * relu6(x + 3) / 6 (MobileNetV3's)."""
    return apply(_HARDSWISH, _activation_input("hardswish", input))


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), with one learned slope (``weight`` of 1 element) or one
    per channel (dim 1 of ``input``), as PyTorch's."""
    input = _activation_input("prelu", input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu: expected a Tensor as weight, got {type(weight).__name__}")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: expected weight to be a scalar or a 1-D tensor, got shape "
                           f"{format_shape(weight.shape)}")
    slopes = weight.numel() if weight.ndim else 1
    channels = input.shape[1] if input.ndim >= 2 else 1
    if slopes != 1 and slopes != channels:
        raise RuntimeError(f"prelu: {slopes} slopes (weight of shape "
                           f"{format_shape(weight.shape)}) for input of shape "
                           f"{format_shape(input.shape)} with {channels} channels (dim 1); "
                           f"expected 1 slope or one per channel")
    if slopes != 1:
        weight = reshape(weight, (channels,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = reshape(weight, ())
    return where(gt(input, 0), input, weight * input)
