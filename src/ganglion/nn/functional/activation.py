"""Activation functions (PyTorch's torch.nn.functional names), and the step neuron of perceptrons.

Most are ops of the core library (``core/ops/unary.py``, ``core/ops/softmax.py``) re-exported
under PyTorch's signatures; the rest are short compositions of them. ``inplace=`` is accepted
for scripts ported from PyTorch, but the result is always a new tensor: ganglion's graph rules
make an out-of-place activation as cheap as an in-place one.
"""
from ganglion.core import ops
from ganglion.core.ops.elementwise import cast, ge
from ganglion.core.ops.unary import to_float

__all__ = ["relu", "leaky_relu", "elu", "selu", "gelu", "sigmoid", "tanh", "softmax",
           "log_softmax", "softplus", "hardtanh", "relu6", "logsigmoid", "step", "sign"]

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
