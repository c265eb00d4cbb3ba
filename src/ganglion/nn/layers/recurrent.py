"""Recurrent layers: RNN (tanh / relu), LSTM and GRU over whole sequences.

Parameters are laid out and named exactly as PyTorch's (``weight_ih_l0``, ``weight_hh_l0``,
``bias_ih_l0``, ``bias_hh_l0``, ``_reverse`` for the backward direction; gate blocks i, f, g, o
for LSTM and r, z, n for GRU), so a PyTorch state dict loads unchanged and gives the same
results. The cells (RNNCell, LSTMCell, GRUCell) live in ``recurrent_cells``.

Each layer also takes a ``PackedSequence`` (``nn.utils.rnn``) and then returns one, with the
final states taken at each sequence's own last step; that path runs the padded batch step by
step with the finished sequences' states held (``F.packed_run``): correct, with every
gradient, but slower than the fused loops of the padded path.
"""
import math

from ganglion.core.creation import zeros
from ganglion.core.op import format_shape
from ganglion.core.ops.indexing import index_select
from ganglion.nn.functional import recurrent as F
from ganglion.nn.layers.recurrent_cells import GRUCell, LSTMCell, RNNCell, uniform_parameter
from ganglion.nn.module import Module
from ganglion.nn.utils.rnn import PackedSequence, packed_like, padded_sorted

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, argument checks and the call into F."""

    #: gate blocks stacked in each weight matrix (LSTM 4, GRU 3, RNN 1).
    gates = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False):
        super().__init__()
        name = f"{type(self).__name__}({input_size}, {hidden_size})"
        if hidden_size <= 0 or input_size <= 0 or num_layers <= 0:
            raise ValueError(f"{name}: input_size, hidden_size and num_layers must be positive, "
                             f"got {input_size}, {hidden_size}, {num_layers}")
        if not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        directions = 2 if bidirectional else 1
        bound = 1 / math.sqrt(hidden_size)
        rows = self.gates * hidden_size
        self._weight_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(rows, layer_input), (rows, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(rows,), (rows,)]
                for param_name, shape in zip(names, shapes):
                    setattr(self, param_name, uniform_parameter(shape, bound))
                self._weight_names.append(names)

    def _name(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def flatten_parameters(self):
        """A no-op: PyTorch compacts its cuDNN weight buffer here; ganglion's weights are
        always used as they are."""

    def _packed_forward(self, input, hx, kind):
        """The layer over a PackedSequence: (packed output, final states in the batch's original
        order), the states taken at each sequence's own last step. ``hx`` is a tuple of
        states (or None) in the original order, as PyTorch takes them."""
        data = input.data
        if data.ndim != 2 or data.shape[-1] != self.input_size:
            raise ValueError(f"{self._name()}: expected packed data of shape (*, "
                             f"{self.input_size}), got {format_shape(data.shape)}")
        padded, lengths = padded_sorted(input)
        count = self.num_layers * (2 if self.bidirectional else 1)
        expected = (count, lengths.size, self.hidden_size)
        states = []
        for i, what in enumerate(("h_0", "c_0")[:2 if kind == "lstm" else 1]):
            if hx is None:
                states.append(zeros(*expected, dtype=data.dtype))
                continue
            state = hx[i]
            if tuple(state.shape) != expected:
                raise ValueError(f"{self._name()}: expected {what} of shape "
                                 f"{format_shape(expected)} for a packed batch of "
                                 f"{lengths.size} sequences, got {format_shape(state.shape)}")
            if input.sorted_indices is not None:
                state = index_select(state, 1, input.sorted_indices)
            states.append(state)
        output, finals = F.packed_run(kind, padded, lengths, tuple(states), self._weights(),
                                      self.num_layers, self.dropout, self.training,
                                      self.bidirectional)
        if input.unsorted_indices is not None:
            finals = tuple(index_select(f, 1, input.unsorted_indices) for f in finals)
        return packed_like(output, input), finals

    def _weights(self):
        """One (w_ih, w_hh, b_ih, b_hh) tuple per layer and direction, as F expects."""
        d = self.__dict__
        if self.bias:
            return [tuple(d[n] for n in names) for names in self._weight_names]
        return [(d[names[0]], d[names[1]], None, None) for names in self._weight_names]

    def _check_input(self, input):
        if input.ndim not in (2, 3) or input.shape[-1] != self.input_size:
            layout = "(N, T, {})" if self.batch_first else "(T, N, {})"
            raise ValueError(f"{self._name()}: expected input of shape "
                             f"{layout.format(self.input_size)}, got {format_shape(input.shape)}")

    def _check_state(self, input, state, what):
        count = self.num_layers * (2 if self.bidirectional else 1)
        if input.ndim == 2:
            expected = (count, self.hidden_size)
        else:
            expected = (count, input.shape[0 if self.batch_first else 1], self.hidden_size)
        if tuple(state.shape) != expected:
            raise ValueError(f"{self._name()}: expected {what} of shape {format_shape(expected)}, "
                             f"got {format_shape(state.shape)}")

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class _SingleStateRNN(RNNBase):
    """RNN and GRU: one state tensor h; subclasses name their function in ``_functional``."""

    def forward(self, input, hx=None):
        if isinstance(input, PackedSequence):
            output, (h_n,) = self._packed_forward(input, None if hx is None else (hx,),
                                                  self._kind())
            return output, h_n
        self._check_input(input)
        if hx is not None:
            self._check_state(input, hx, "h_0")
        return self._functional(input, hx, self._weights(), self.num_layers, dropout=self.dropout,
                                training=self.training, bidirectional=self.bidirectional,
                                batch_first=self.batch_first)


class RNN(_SingleStateRNN):
    """Elman RNN: h_t = nonlinearity(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

    ``forward(input, h_0=None)`` returns (output, h_n)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN({input_size}, {hidden_size}): nonlinearity must be 'tanh' or "
                             f"'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional)
        self.nonlinearity = nonlinearity

    def _functional(self, *args, **kwargs):
        return F.rnn(*args, nonlinearity=self.nonlinearity, **kwargs)

    def _kind(self):
        return "rnn_" + self.nonlinearity

    def extra_repr(self):
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else text + ", nonlinearity='relu'"


class GRU(_SingleStateRNN):
    """Gated recurrent unit with PyTorch's equations (b_hn inside r * (W_hn h + b_hn)); the
    time loop of each layer and direction runs as one fused op.

    ``forward(input, h_0=None)`` returns (output, h_n). Double backward through it is not
    supported (use GRUCell in a loop for that)."""

    gates = 3

    def _functional(self, *args, **kwargs):
        return F.gru(*args, **kwargs)

    def _kind(self):
        return "gru"


class LSTM(RNNBase):
    """Long short-term memory; the time loop of each layer and direction runs as one fused op.

    ``forward(input, (h_0, c_0)=None)`` returns (output, (h_n, c_n)). Double backward through
    it is not supported (use LSTMCell in a loop for that)."""

    gates = 4

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self._name()}: the initial state must be a tuple (h_0, c_0)")
        if isinstance(input, PackedSequence):
            output, (h_n, c_n) = self._packed_forward(input, hx, "lstm")
            return output, (h_n, c_n)
        self._check_input(input)
        if hx is not None:
            self._check_state(input, hx[0], "h_0")
            self._check_state(input, hx[1], "c_0")
        return F.lstm(input, hx, self._weights(), self.num_layers, dropout=self.dropout,
                      training=self.training, bidirectional=self.bidirectional,
                      batch_first=self.batch_first)
