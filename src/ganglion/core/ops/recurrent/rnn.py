"""The fused Elman RNN sequence op: the time loop of one RNN layer and direction as one graph node.

The same design as the fused LSTM and GRU (``lstm.py``, ``gru.py``): the input projection of all
steps, x W_ih^T + b_ih, comes from one GEMM outside the op, and the op's forward and backward
each call one backend method (``rnn_sequence_forward`` / ``rnn_sequence_backward``,
backend/recurrent.py) that runs the loop on raw arrays, one GEMM a step:
h' = act(gx + h W_hh^T + b_hh) with act tanh or relu.

The forward output is h of every step, (T, N, H): the layer's output as it is. The backward op
gives (T + 1, N, H): per step the gradient of the pre-activation (also that of gx), and in row
T the gradient of h0. Double backward through the fused RNN is not supported (RNNCell, built
from ordinary ops, supports it).
"""
from ganglion.core.op import Op, apply
from ganglion.core.ops.indexing import getitem
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.recurrent.common import (check_shapes, double_backward_error,
                                                previous_hidden, sequence_length)
from ganglion.core.ops.reduce import sum as reduce_sum
from ganglion.core.ops.shape import reshape, transpose
from ganglion.core.tensor import TensorType

__all__ = ["rnn_sequence", "RNNSequence", "RNNSequenceBackward"]


class RNNSequence(Op):
    """(x_gates (T*N, H) = x W_ih^T + b_ih, b_hh (H,), h0 (N, H), w_hh (H, H)) -> (T, N, H)."""

    __slots__ = ("reverse", "nonlinearity")
    saves_output = True

    def __init__(self, reverse=False, nonlinearity="tanh"):
        self.reverse = reverse
        self.nonlinearity = nonlinearity

    def forward(self, backend, x_gates, b_hh, h0, w_hh):
        batch, hidden = h0.shape
        length = sequence_length("rnn_sequence", x_gates.shape[0], batch)
        return backend.rnn_sequence_forward(x_gates.reshape(length, batch, hidden), b_hh, h0,
                                            w_hh, self.reverse, self.nonlinearity)

    def vjp(self, out, grad, needs):
        x_gates, b_hh, h0, w_hh = out._inputs
        back = apply(RNNSequenceBackward(self.reverse, self.nonlinearity, needs[2]),
                     grad, out, h0, w_hh)
        pre = reshape(getitem(back, slice(None, -1)), (-1, w_hh.shape[1]))
        g_b_hh = reduce_sum(pre, axis=0) if needs[1] else None
        g_h0 = getitem(back, -1) if needs[2] else None
        g_w_hh = None
        if needs[3]:
            h_prev = previous_hidden(out, h0, self.reverse)
            g_w_hh = matmul(transpose(pre), reshape(h_prev, (-1, w_hh.shape[1])))
        return (pre if needs[0] else None), g_b_hh, g_h0, g_w_hh

    def infer(self, x_gates, b_hh, h0, w_hh):
        hidden = w_hh.shape[1]
        batch = h0.shape[0] if len(h0.shape) == 2 else None
        expected = {"x_gates": (x_gates, (None, hidden)), "b_hh": (b_hh, (hidden,)),
                    "h0": (h0, (batch, hidden)), "w_hh": (w_hh, (hidden, hidden))}
        check_shapes("rnn_sequence", expected)
        rows = x_gates.shape[0]
        length = rows // batch if rows is not None and batch else None
        return TensorType(x_gates.dtype, (length, batch, hidden))


class RNNSequenceBackward(Op):
    """(dY, Y, h0, w_hh) -> (T + 1, N, H): rows [:T] the gradient of every step's
    pre-activation, row T that of h0 (left unset without ``h0_grad``, which saves the last
    step's GEMM)."""

    __slots__ = ("reverse", "nonlinearity", "h0_grad")

    def __init__(self, reverse=False, nonlinearity="tanh", h0_grad=True):
        self.reverse = reverse
        self.nonlinearity = nonlinearity
        self.h0_grad = h0_grad

    def forward(self, backend, grad, out, h0, w_hh):
        return backend.rnn_sequence_backward(grad, out, h0, w_hh, self.reverse, self.nonlinearity,
                                             self.h0_grad)

    def vjp(self, out, grad, needs):
        raise double_backward_error("RNN")

    def infer(self, grad, out, h0, w_hh):
        length, batch, hidden = out.shape
        return TensorType(out.dtype, (None if length is None else length + 1, batch, hidden))


def rnn_sequence(x_gates, b_hh, h0, w_hh, reverse=False, nonlinearity="tanh"):
    """Run one Elman RNN layer direction over all steps; returns h of every step (T, N, H).
    ``x_gates`` (T*N, H) is x W_ih^T + b_ih of every step; ``reverse`` runs from the last step
    to the first."""
    return apply(RNNSequence(bool(reverse), nonlinearity), x_gates, b_hh, h0, w_hh)
