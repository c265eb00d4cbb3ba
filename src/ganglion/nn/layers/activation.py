"""Activation layers: the module form of ``nn.functional.activation``, printed as PyTorch prints
them (``LeakyReLU(negative_slope=0.01)``), plus the perceptron's ``Step`` neuron."""
from ganglion.backend import current as backend
from ganglion.core.dtypes import as_dtype, get_default_dtype
from ganglion.core.errors import ArgumentError
from ganglion.core.op import format_shape
from ganglion.nn.functional import activation as F
from ganglion.nn.init import constant_
from ganglion.nn.layers.arguments import count
from ganglion.nn.module import Module, Parameter

__all__ = ["ReLU", "LeakyReLU", "ELU", "SELU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
           "Softplus", "Hardtanh", "ReLU6", "Step", "SiLU", "Mish", "Hardswish", "Hardsigmoid",
           "PReLU", "Softmax2d"]


class _Activation(Module):
    """A layer with no parameters. ``inplace`` is kept for PyTorch's repr and signatures; the
    computation is always out of place (see nn.functional.activation)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Activation):
    """``max(0, x)`` elementwise (PyTorch's ``nn.ReLU``; ``inplace=True`` writes into the
    input)."""
    def forward(self, input):
        return F.relu(input)


class ReLU6(_Activation):
    """``min(max(0, x), 6)`` elementwise (PyTorch's ``nn.ReLU6``)."""
    def forward(self, input):
        return F.relu6(input)


class SELU(_Activation):
    """Scaled ELU, ``scale * (max(0, x) + min(0, alpha * (exp(x) - 1)))`` with the
    self-normalizing constants (PyTorch's ``nn.SELU``)."""
    def forward(self, input):
        return F.selu(input)


class LeakyReLU(_Activation):
    """``x`` where ``x >= 0``, else ``negative_slope * x`` (PyTorch's ``nn.LeakyReLU``)."""
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(_Activation):
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)`` (PyTorch's ``nn.ELU``)."""
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Hardtanh(_Activation):
    """``x`` clamped to ``[min_val, max_val]`` (PyTorch's ``nn.Hardtanh``)."""
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__(inplace)
        if min_val > max_val:
            # PyTorch asserts this in its constructor (an AssertionError); F.hardtanh raises
            # ValueError, which is what both raise here.
            raise ValueError(f"Hardtanh: min_val cannot be greater than max_val, got "
                             f"min_val={min_val}, max_val={max_val}")
        self.min_val = min_val
        self.max_val = max_val

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return (f"min_val={self.min_val}, max_val={self.max_val}"
                + (", inplace=True" if self.inplace else ""))


class GELU(Module):
    """``x * Phi(x)``, Phi the standard normal CDF; ``approximate='tanh'`` uses the tanh formula
    (PyTorch's ``nn.GELU``)."""
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ArgumentError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise (PyTorch's ``nn.Sigmoid``)."""
    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)`` elementwise (PyTorch's ``nn.Tanh``)."""
    def forward(self, input):
        return F.tanh(input)


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold`` (PyTorch's
    ``nn.Softplus``)."""
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """softmax along ``dim``; with ``dim=None`` PyTorch's legacy choice (see softmax_dim)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """``log(softmax(x))`` along ``dim``, computed stably (PyTorch's ``nn.LogSoftmax``)."""
    def forward(self, input):
        return F.log_softmax(input, self.dim)


class Step(Module):
    """The perceptron's threshold neuron: 1.0 where ``input >= threshold``, else 0.0.

    It has no gradient (the output never requires grad), so a network ending in Step cannot be
    trained by backpropagation: train perceptrons with the perceptron rule, or put Step only on
    the prediction path and use ``PerceptronLoss`` on the raw scores.
    """

    def __init__(self, threshold=0.0):
        super().__init__()
        self.threshold = threshold

    def forward(self, input):
        return F.step(input, self.threshold)

    def extra_repr(self):
        return f"threshold={self.threshold}"


class SiLU(_Activation):
    """x * sigmoid(x)."""

    def forward(self, input):
        return F.silu(input)


class Mish(_Activation):
    """x * tanh(softplus(x))."""

    def forward(self, input):
        return F.mish(input)


class Hardswish(_Activation):
    """x * relu6(x + 3) / 6."""

    def forward(self, input):
        return F.hardswish(input)


class Hardsigmoid(_Activation):
    """relu6(x + 3) / 6."""

    def forward(self, input):
        return F.hardsigmoid(input)


class PReLU(Module):
    """Leaky ReLU with a learned slope: one shared by all channels (``num_parameters=1``) or
    one per channel (dim 1 of the input), each starting at ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = count("PReLU", "num_parameters", num_parameters)
        if not isinstance(init, (int, float)) or isinstance(init, bool):
            raise TypeError(f"PReLU: init must be a number, got {init!r} of type "
                            f"{type(init).__name__}")
        self.init = init
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        self.weight = Parameter(backend.xp.full((self.num_parameters,), init, dtype=dtype.np))

    def reset_parameters(self):
        constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class Softmax2d(Module):
    """softmax over the channels (dim -3) of (N, C, H, W) or (C, H, W) input."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input of shape (N, C, H, W) or (C, H, W), got "
                             f"{format_shape(input.shape)}")
        return F.softmax(input, -3)
