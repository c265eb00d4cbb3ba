"""The fused LSTM sequence op: the whole time loop of one layer and direction as one graph node.

The input projection of all time steps is computed outside (one GEMM per layer and direction,
as an ordinary matmul); the op's forward and backward each call one backend method
(``lstm_sequence_forward`` / ``lstm_sequence_backward``, backend/recurrent.py), which runs the
loop on raw arrays with one GEMM a step for all four gates.

Ops have one output, so the forward op ``LSTMSequence`` packs what the backward pass needs
into one array ``Y`` of shape (6, T, N, H): ``Y[5]`` is the hidden state h_t of every step (in
time order), ``Y[4]`` the cell states in the order the steps were visited, and the memory of
``Y[0:4]`` holds the gate activations i, f, g, o (PyTorch's gate order) laid out as (T, N, 4H),
i.e. ``reshape(Y[0:4], (T, N, 4H))``. Every per-step block the loop touches is then contiguous.

``Y`` itself is not differentiable. What the layer hands on is ``LSTMOutputs``, a view of its
last T + 1 blocks: the final cell state c_n (the last cell state visited, ``Y[4, T-1]``)
followed by the T hidden states, which lie right after it in memory. Its vjp therefore receives
a gradient of (T + 1, N, H) only, where one of the whole of ``Y`` would be six times larger and
zero but for those blocks (a zero-filled 14 MB array a step for the benchmark LSTM, read back by
the backward loop). The vjp is written with Tensor ops around one backward-through-time op,
``LSTMSequenceBackward``, whose output packs the gradient of the gate pre-activations of every
step (again as (T, N, 4H) memory) with the gradients of c0 and h0. The gradients of x_proj, the
bias and W_hh (one large GEMM over all steps) are then Tensor ops. The backward-through-time
op has no vjp: double backward through a fused LSTM is not supported (LSTMCell, built from
ordinary ops, supports it).
"""
from ganglion.core.op import Op, ShapeError, apply
from ganglion.core.ops.indexing import getitem
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.recurrent.common import (check_shapes, double_backward_error,
                                                previous_hidden, sequence_length)
from ganglion.core.ops.reduce import sum as reduce_sum
from ganglion.core.ops.shape import reshape, transpose
from ganglion.core.tensor import TensorType

__all__ = ["lstm_sequence", "LSTMSequence", "LSTMOutputs", "LSTMSequenceBackward"]

# The block of the packed forward result Y that holds every step's hidden state.
_HIDDEN = 5


class LSTMSequence(Op):
    """(x_proj (T*N, 4H), bias (4H,), h0 (N, H), c0 (N, H), w_hh (4H, H)) -> Y (6, T, N, H).

    ``x_proj`` has the steps' rows stacked (step-major), as the input-projection GEMM gives them;
    the batch size comes from ``h0``, so symbolic graphs may leave T and N unknown. Not
    differentiable itself: gradients flow through ``LSTMOutputs``."""

    __slots__ = ("reverse",)
    differentiable = False

    def __init__(self, reverse=False):
        self.reverse = reverse

    def forward(self, backend, x_proj, bias, h0, c0, w_hh):
        batch, hidden = h0.shape
        length = sequence_length("lstm_sequence", x_proj.shape[0], batch)
        return backend.lstm_sequence_forward(x_proj.reshape(length, batch, 4 * hidden), bias,
                                             h0, c0, w_hh, self.reverse)

    def infer(self, x_proj, bias, h0, c0, w_hh):
        hidden = w_hh.shape[1]
        batch = h0.shape[0] if len(h0.shape) == 2 else None
        expected = {"x_proj": (x_proj, (None, 4 * hidden)), "bias": (bias, (4 * hidden,)),
                    "h0": (h0, (batch, hidden)), "c0": (c0, (batch, hidden)),
                    "w_hh": (w_hh, (4 * hidden, hidden))}
        check_shapes("lstm_sequence", expected)
        rows = x_proj.shape[0]
        length = rows // batch if rows is not None and batch else None
        if length is not None and length * batch != rows:
            raise ShapeError(f"lstm_sequence: x_proj has {rows} rows, not a multiple of the batch "
                             f"size {batch}")
        return TensorType(x_proj.dtype, (6, length, batch, hidden))


class LSTMOutputs(Op):
    """(Y (6, T, N, H) of ``LSTMSequence`` and that op's inputs) -> (T + 1, N, H): c_n, then the
    hidden state of every step, as a view of Y (see the module docstring). The inputs are here
    so that the vjp can give their gradients."""

    __slots__ = ("reverse",)
    saves_inputs = True

    def __init__(self, reverse=False):
        self.reverse = reverse

    def forward(self, backend, packed, x_proj, bias, h0, c0, w_hh):
        _, length, batch, hidden = packed.shape
        return packed.reshape(6 * length, batch, hidden)[5 * length - 1:]

    def vjp(self, out, grad, needs):
        packed, x_proj, bias, h0, c0, w_hh = out._inputs
        back = apply(LSTMSequenceBackward(self.reverse, needs[3]), grad, packed, h0, c0, w_hh)
        four_hidden = x_proj.shape[1]
        pre = reshape(getitem(back, slice(None, -2)), (-1, four_hidden))
        g_bias = reduce_sum(pre, axis=0) if needs[2] else None
        g_h0 = getitem(back, -1) if needs[3] else None
        g_c0 = getitem(back, -2) if needs[4] else None
        g_w_hh = None
        if needs[5]:
            h_prev = previous_hidden(getitem(packed, _HIDDEN), h0, self.reverse)
            g_w_hh = matmul(transpose(pre), reshape(h_prev, (-1, four_hidden // 4)))
        return None, (pre if needs[1] else None), g_bias, g_h0, g_c0, g_w_hh

    def infer(self, packed, x_proj, bias, h0, c0, w_hh):
        _, length, batch, hidden = packed.shape
        return TensorType(packed.dtype, (None if length is None else length + 1, batch, hidden))


class LSTMSequenceBackward(Op):
    """(dZ, Y, h0, c0, w_hh) -> (4T + 2, N, H), where dZ (T + 1, N, H) is the gradient of
    ``LSTMOutputs``' result (c_n, then h of every step): the memory of rows [:-2] holds the
    gradient of the gate pre-activations as (T, N, 4H); row [-2] is the gradient of c0, row
    [-1] that of h0.

    Without ``h0_grad`` the last row is left unset, which saves the last step's GEMM."""

    __slots__ = ("reverse", "h0_grad")

    def __init__(self, reverse=False, h0_grad=True):
        self.reverse = reverse
        self.h0_grad = h0_grad

    def forward(self, backend, grad, out, h0, c0, w_hh):
        return backend.lstm_sequence_backward(grad, out, h0, c0, w_hh, self.reverse, self.h0_grad)

    def vjp(self, out, grad, needs):
        raise double_backward_error("LSTM")

    def infer(self, grad, out, h0, c0, w_hh):
        _, length, batch, hidden = out.shape
        return TensorType(out.dtype, (None if length is None else 4 * length + 2, batch, hidden))


def lstm_sequence(x_proj, bias, h0, c0, w_hh, reverse=False):
    """Run one LSTM layer direction over all steps; returns (T + 1, N, H): ``[0]`` is the final
    cell state c_n and ``[1:]`` the hidden state of every step, in time order. ``x_proj``
    (T*N, 4H) is the input projection x @ W_ih^T of every step and ``bias`` is b_ih + b_hh;
    ``reverse`` runs from the last step to the first."""
    reverse = bool(reverse)
    packed = apply(LSTMSequence(reverse), x_proj, bias, h0, c0, w_hh)
    return apply(LSTMOutputs(reverse), packed, x_proj, bias, h0, c0, w_hh)
