"""The fused GRU sequence op: the time loop of one GRU layer and direction as one graph node.

The same design as the fused LSTM (``recurrent.py``): the input projection of all steps comes
from one GEMM outside the op, each step does one GEMM for all three gates, and the loop runs on
raw arrays; large batches are split over the cores as the LSTM's are (each core runs its block
of sequences through every step). PyTorch's equations are kept exactly, b_hn included inside
r * (W_hn h + b_hn):

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
from ganglion.core.ops.recurrent import (check_shapes, double_backward_error, over_batch_rows,
                                         previous_hidden, sequence_length,
                                         visiting_order)
from ganglion.core.ops.reduce import sum as reduce_sum
from ganglion.core.ops.shape import concatenate, reshape, transpose
from ganglion.core.tensor import TensorType

__all__ = ["gru_sequence"]

_ALL = slice(None)


def _sigmoid_(x, backend):
    """sigmoid in place, as 0.5 tanh(0.5 x) + 0.5 (tanh is faster than NumPy's exp)."""
    x *= 0.5
    backend.tanh(x, out=x)
    x *= 0.5
    x += 0.5


class GRUSequence(Op):
    """(x_gates (T*N, 3H) = x W_ih^T + b_ih, b_hh (3H,), h0 (N, H), w_hh (3H, H)) -> (T, N, 5H).
    Not differentiable itself: gradients flow through ``GRUOutputs``."""

    __slots__ = ("reverse",)
    differentiable = False

    def __init__(self, reverse=False):
        self.reverse = reverse

    def forward(self, backend, x_gates, b_hh, h0, w_hh):
        xp = backend.xp
        batch, hidden = h0.shape
        length = sequence_length("gru_sequence", x_gates.shape[0], batch)
        dtype = x_gates.dtype
        x_gates = x_gates.reshape(length, batch, 3 * hidden)
        out = backend.empty((length, batch, 5 * hidden), dtype)
        w_hh_t = xp.ascontiguousarray(w_hh.T)
        order = visiting_order(length, self.reverse)
        loops = backend.compiled_loops()
        if loops is None:
            # NumPy adds same-shape contiguous arrays faster than it broadcasts a row.
            b_hh_rows = xp.broadcast_to(b_hh, (batch, 3 * hidden)).copy()

        def rows(lo, hi, product):
            # Rows [lo, hi) of the batch through every step (see recurrent.over_batch_rows).
            h_gates = xp.empty((hi - lo, 3 * hidden), dtype)
            h_prev = h0[lo:hi]
            for t in order:
                step, gx = out[t, lo:hi], x_gates[t, lo:hi]
                product(h_prev, w_hh_t, out=h_gates)
                if loops is not None:
                    # The arithmetic below in one compiled loop.
                    loops.gru_step_forward(h_gates, gx, b_hh, h_prev, step)
                    h_prev = step[:, 4 * hidden:]
                    continue
                h_gates += b_hh_rows[lo:hi]
                reset_update = step[:, :2 * hidden]
                xp.add(gx[:, :2 * hidden], h_gates[:, :2 * hidden], out=reset_update)
                _sigmoid_(reset_update, backend)
                r, z = step[:, :hidden], step[:, hidden:2 * hidden]
                n, h_n, h = (step[:, k * hidden:(k + 1) * hidden] for k in (2, 3, 4))
                h_n[...] = h_gates[:, 2 * hidden:]
                xp.multiply(r, h_n, out=n)
                n += gx[:, 2 * hidden:]
                backend.tanh(n, out=n)
                xp.subtract(h_prev, n, out=h)
                h *= z
                h += n
                h_prev = h
        over_batch_rows(backend, batch, 3 * hidden * hidden * length, rows)
        return out

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
        xp = backend.xp
        length, batch, five_hidden = out.shape
        hidden = five_hidden // 5
        dtype = out.dtype
        back = backend.empty((length + 1, batch, 4 * hidden), dtype)
        order = visiting_order(length, self.reverse)
        loops = backend.compiled_loops()

        def rows(lo, hi, product):
            # Rows [lo, hi) of the batch through every step (see recurrent.over_batch_rows).
            d_h = back[length, lo:hi, :hidden]  # the gradient flowing back along h; then h0's
            one_minus = xp.empty((hi - lo, hidden), dtype)
            d_n = xp.empty((hi - lo, hidden), dtype)
            recurrent = xp.empty((hi - lo, hidden), dtype)
            for k in range(length - 1, -1, -1):
                t = order[k]
                step, g_h, d_step = out[t, lo:hi], grad[t, lo:hi], back[t, lo:hi]
                h_prev = h0[lo:hi] if k == 0 else out[order[k - 1], lo:hi, 4 * hidden:]
                if loops is not None:
                    # The arithmetic below in one compiled loop.
                    loops.gru_step_backward(step, g_h, h_prev, d_h, d_step, k == length - 1)
                    if k or self.h0_grad:
                        product(d_step[:, :3 * hidden], w_hh, out=recurrent)
                        d_h += recurrent
                    continue
                r, z, n, h_n = (step[:, j * hidden:(j + 1) * hidden] for j in range(4))
                d_r, d_z, d_h_n, d_x_n = (d_step[:, j * hidden:(j + 1) * hidden] for j in range(4))
                if k == length - 1:
                    d_h[...] = g_h
                else:
                    d_h += g_h
                xp.subtract(1, z, out=one_minus)
                xp.multiply(d_h, one_minus, out=d_n)
                xp.subtract(h_prev, n, out=d_z)
                d_z *= d_h
                one_minus *= z
                d_z *= one_minus
                xp.multiply(n, n, out=one_minus)
                xp.subtract(1, one_minus, out=one_minus)
                xp.multiply(d_n, one_minus, out=d_x_n)
                xp.multiply(d_x_n, r, out=d_h_n)
                xp.multiply(d_x_n, h_n, out=d_r)
                xp.subtract(1, r, out=one_minus)
                one_minus *= r
                d_r *= one_minus
                d_h *= z
                if k or self.h0_grad:
                    product(d_step[:, :3 * hidden], w_hh, out=recurrent)
                    d_h += recurrent
        over_batch_rows(backend, batch, 3 * hidden * hidden * length, rows)
        return back

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
