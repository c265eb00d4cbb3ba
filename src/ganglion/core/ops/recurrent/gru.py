"""The fused GRU sequence op: the time loop of one GRU layer and direction as one graph node.

The same design as the fused LSTM (``lstm.py``): the input projection of all steps comes from
one GEMM outside the op, and the op's forward and backward each call one backend method
(``gru_sequence_forward`` / ``gru_sequence_backward``, backend/recurrent.py) that runs the loop
on raw arrays, one GEMM a step for all three gates. PyTorch's equations are kept exactly, b_hn
included inside r * (W_hn h + b_hn):

    r, z = sigmoid(gx_r + gh_r), sigmoid(gx_z + gh_z)     gh = h W_hh^T + b_hh
    n = tanh(gx_n + r * gh_n)                             gx = x W_ih^T + b_ih
    h' = n + z * (h - n)

The forward op packs per step [r | z | n | gh_n | h'] into (T, N, 5H) and is not
differentiable itself; ``GRUOutputs`` hands on the last H columns (h of every step, a view) and
carries the gradient, so backward receives (T, N, H) rather than a (T, N, 5H) array four fifths
zero (as ``LSTMOutputs`` does for the LSTM). The backward op gives (T + 1, N, 4H): per step the
gradient of gh (3H, also that of gx in the r and z blocks) and of gx_n (H); row T holds the
gradient of h0 in its first H columns. Double backward through the fused GRU is not supported
(GRUCell, built from ordinary ops, supports it).
"""
from ganglion.core.op import Op, apply
from ganglion.core.ops.indexing import getitem
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.recurrent.common import (check_shapes, double_backward_error,
                                                previous_hidden, sequence_length)
from ganglion.core.ops.reduce import sum as reduce_sum
from ganglion.core.ops.shape import concatenate, reshape, transpose
from ganglion.core.tensor import TensorType

__all__ = ["gru_sequence", "GRUSequence", "GRUOutputs", "GRUSequenceBackward"]

_ALL = slice(None)


class GRUSequence(Op):
    """(x_gates (T*N, 3H) = x W_ih^T + b_ih, b_hh (3H,), h0 (N, H), w_hh (3H, H)) -> (T, N, 5H).
    Not differentiable itself: gradients flow through ``GRUOutputs``."""

    __slots__ = ("reverse",)
    differentiable = False

    def __init__(self, reverse=False):
        self.reverse = reverse

    def forward(self, backend, x_gates, b_hh, h0, w_hh):
        batch, hidden = h0.shape
        length = sequence_length("gru_sequence", x_gates.shape[0], batch)
        return backend.gru_sequence_forward(x_gates.reshape(length, batch, 3 * hidden), b_hh, h0,
                                            w_hh, self.reverse)

    def infer(self, x_gates, b_hh, h0, w_hh):
        hidden = w_hh.shape[1]
        batch = h0.shape[0] if len(h0.shape) == 2 else None
        expected = {"x_gates": (x_gates, (None, 3 * hidden)), "b_hh": (b_hh, (3 * hidden,)),
                    "h0": (h0, (batch, hidden)), "w_hh": (w_hh, (3 * hidden, hidden))}
        check_shapes("gru_sequence", expected)
        rows = x_gates.shape[0]
        length = rows // batch if rows is not None and batch else None
        return TensorType(x_gates.dtype, (length, batch, 5 * hidden))


class GRUOutputs(Op):
    """(Y (T, N, 5H) of ``GRUSequence`` and that op's inputs) -> (T, N, H): h of every step, a
    view of Y's last H columns. The inputs are here so that the vjp can give their gradients."""

    __slots__ = ("reverse",)
    saves_inputs = True

    def __init__(self, reverse=False):
        self.reverse = reverse

    def forward(self, backend, packed, x_gates, b_hh, h0, w_hh):
        return packed[:, :, 4 * w_hh.shape[1]:]

    def vjp(self, out, grad, needs):
        packed, x_gates, b_hh, h0, w_hh = out._inputs
        hidden = w_hh.shape[1]
        back = apply(GRUSequenceBackward(self.reverse, needs[3]), grad, packed, h0, w_hh)
        steps = getitem(back, slice(None, -1))
        d_h_gates = reshape(getitem(steps, (_ALL, _ALL, slice(None, 3 * hidden))), (-1, 3 * hidden))
        g_x_gates = None
        if needs[1]:
            # gx and gh share their gradient in the r and z blocks; gx_n has its own.
            d_x_n = getitem(steps, (_ALL, _ALL, slice(3 * hidden, None)))
            d_x_rz = getitem(steps, (_ALL, _ALL, slice(None, 2 * hidden)))
            g_x_gates = reshape(concatenate([d_x_rz, d_x_n], axis=2), (-1, 3 * hidden))
        g_b_hh = reduce_sum(d_h_gates, axis=0) if needs[2] else None
        g_h0 = getitem(back, (-1, _ALL, slice(None, hidden))) if needs[3] else None
        g_w_hh = None
        if needs[4]:
            h_prev = previous_hidden(out, h0, self.reverse)
            g_w_hh = matmul(transpose(d_h_gates), reshape(h_prev, (-1, hidden)))
        return None, g_x_gates, g_b_hh, g_h0, g_w_hh

    def infer(self, packed, x_gates, b_hh, h0, w_hh):
        length, batch, five_hidden = packed.shape
        return TensorType(packed.dtype, (length, batch, five_hidden // 5))


class GRUSequenceBackward(Op):
    """(dH, Y, h0, w_hh) -> (T + 1, N, 4H), packed as the module docstring says; dH (T, N, H)
    is the gradient of every step's h. Without ``h0_grad`` the gradient of h0 is left unset,
    which saves the last step's GEMM."""

    __slots__ = ("reverse", "h0_grad")

    def __init__(self, reverse=False, h0_grad=True):
        self.reverse = reverse
        self.h0_grad = h0_grad

    def forward(self, backend, grad, out, h0, w_hh):
        return backend.gru_sequence_backward(grad, out, h0, w_hh, self.reverse, self.h0_grad)

    def vjp(self, out, grad, needs):
        raise double_backward_error("GRU")

    def infer(self, grad, out, h0, w_hh):
        length, batch, five_hidden = out.shape
        return TensorType(out.dtype, (None if length is None else length + 1, batch,
                                      4 * (five_hidden // 5)))


def gru_sequence(x_gates, b_hh, h0, w_hh, reverse=False):
    """Run one GRU layer direction over all steps; returns h of every step, (T, N, H).
    ``x_gates`` (T*N, 3H) is x W_ih^T + b_ih of every step; ``reverse`` runs from the last step
    to the first."""
    reverse = bool(reverse)
    packed = apply(GRUSequence(reverse), x_gates, b_hh, h0, w_hh)
    return apply(GRUOutputs(reverse), packed, x_gates, b_hh, h0, w_hh)
