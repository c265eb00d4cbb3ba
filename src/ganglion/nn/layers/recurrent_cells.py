"""Recurrent cells: one time step of an RNN, LSTM or GRU, for loops written by hand.

Parameters are named as PyTorch's (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``) and
initialized from uniform(-1/sqrt(hidden), 1/sqrt(hidden)). The cells are built from ordinary
Tensor ops, so higher-order gradients work through them.
"""
import math

from ganglion.core.creation import zeros
from ganglion.core.op import format_shape
from ganglion.core.random import generator
from ganglion.core.tensor import make_tensor
from ganglion.nn.functional import recurrent as F
from ganglion.nn.layers.arguments import count
from ganglion.nn.module import Module, Parameter

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]


def uniform_parameter(shape, bound):
    """A float32 Parameter drawn from uniform(-bound, bound) with ganglion's global generator."""
    return Parameter(make_tensor(generator().uniform(-bound, bound, shape).astype("float32")))


class RNNCellBase(Module):
    gates = 1

    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__()
        name = f"{type(self).__name__}({input_size}, {hidden_size})"
        self.input_size = input_size = count(name, "input_size", input_size)
        self.hidden_size = hidden_size = count(name, "hidden_size", hidden_size)
        self.bias = bias
        # hidden_size 0 is an empty cell (as in PyTorch), with nothing to draw.
        bound = 1 / math.sqrt(hidden_size) if hidden_size else 0.0
        rows = self.gates * hidden_size
        shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size)}
        if bias:
            shapes.update(bias_ih=(rows,), bias_hh=(rows,))
        for name, shape in shapes.items():
            setattr(self, name, uniform_parameter(shape, bound))
        if not bias:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def _name(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def _check(self, input, states):
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(f"{self._name()}: expected input of shape (N, {self.input_size}), "
                             f"got {format_shape(input.shape)}")
        expected = input.shape[:-1] + (self.hidden_size,)
        for state in states:
            if tuple(state.shape) != expected:
                raise ValueError(f"{self._name()}: expected a state of shape "
                                 f"{format_shape(expected)}, got {format_shape(state.shape)}")

    def _zeros(self, input):
        return zeros(*(input.shape[:-1] + (self.hidden_size,)), dtype=input.dtype)

    def _params(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """h' = nonlinearity(x W_ih^T + b_ih + h W_hh^T + b_hh), nonlinearity 'tanh' or 'relu'."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh"):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell({input_size}, {hidden_size}): nonlinearity must be 'tanh' "
                             f"or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        hx = self._zeros(input) if hx is None else hx
        self._check(input, (hx,))
        cell = F.rnn_tanh_cell if self.nonlinearity == "tanh" else F.rnn_relu_cell
        return cell(input, hx, *self._params())


class LSTMCell(RNNCellBase):
    """One LSTM step: ``forward(input, (h, c)=None)`` returns (h', c')."""

    gates = 4

    def forward(self, input, hx=None):
        hx = (self._zeros(input),) * 2 if hx is None else tuple(hx)
        self._check(input, hx)
        return F.lstm_cell(input, hx, *self._params())


class GRUCell(RNNCellBase):
    """One GRU step: ``forward(input, h=None)`` returns h'."""

    gates = 3

    def forward(self, input, hx=None):
        hx = self._zeros(input) if hx is None else hx
        self._check(input, (hx,))
        return F.gru_cell(input, hx, *self._params())
