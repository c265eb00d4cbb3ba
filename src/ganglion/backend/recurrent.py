"""The time loops of the fused recurrent ops (LSTM, GRU, Elman RNN), NumPy's form.

The ops (``core/ops/recurrent/``) call one backend method per direction of the pass:
``lstm_sequence_forward`` / ``_backward``, ``gru_sequence_forward`` / ``_backward`` and
``rnn_sequence_forward`` / ``_backward``. The NumPy backend runs the compiled loops' version
(``backend/nn_loops.py``: a time step's elementwise arithmetic as one numba loop) where numba
can be used, and these otherwise; the RNN's step is two NumPy calls, so it has this form only.
Both forms compute the same quantities in the same layout, which the ops document:

- LSTM: the forward result Y (6, T, N, H) holds in its first four blocks the gate activations
  i, f, g, o as (T, N, 4H) memory, in block 4 the cell states in visiting order and in block 5
  the hidden states in time order; the backward result (4T + 2, N, H) holds the gate
  pre-activations' gradient as (T, N, 4H) memory, then the gradients of c0 and h0.
- GRU: per step [r | z | n | gh_n | h'] (T, N, 5H) forward; backward (T + 1, N, 4H), per step
  [d_r | d_z | d_gh_n | d_gx_n] and h0's gradient in row T's first H columns.
- RNN: h of every step (T, N, H) forward; backward (T + 1, N, H), the pre-activations'
  gradients and h0's in row T.

Each step does one GEMM for all its gates, by the same W_hh (forward) or W_hh^T (backward)
at every step: a ``fixed_right_product`` of the backend (backend/matmul.py; on oneDNN, W_hh is
copied once into its blocked layout); the input projection of all steps comes from one GEMM
outside. A sigmoid is computed as 0.5 tanh(0.5 x) + 0.5 (NumPy's tanh is faster than its
exp). Large batches run one block of sequences per core through the whole time loop
(``over_batch_rows``). Without ``h0_grad`` a backward pass skips the last step's GEMM.
"""
import numpy as np

from ganglion.backend import array_cache, blas_threads, threads
from ganglion.backend.matmul import fixed_right_product, matmul, on_each_core

__all__ = ["lstm_sequence_forward", "lstm_sequence_backward", "gru_sequence_forward",
           "gru_sequence_backward", "rnn_sequence_forward", "rnn_sequence_backward",
           "over_batch_rows", "visiting_order"]

# The LSTM's packed forward result (see the module docstring).
LSTM_GATES, LSTM_CELL, LSTM_HIDDEN = slice(0, 4), 4, 5

# Split the batch's sequences over the cores when a sequence's recurrent GEMMs come to at
# least this many multiply-adds per row, and each core gets at least _MIN_ROWS rows (blocks
# are multiples of 8 rows): below that, handing a block to another core costs more than the
# GEMMs it saves.
_SPLIT_MULTIPLY_ADDS_PER_ROW = 1 << 20
_MIN_ROWS = 8


def over_batch_rows(batch, multiply_adds_per_row, rows, right=None):
    """rows(lo, hi, product) over the batch, ``product(a, b, out=None)`` being the matmul to
    use (``right``: the right operand of the loop's products, when they all have the same).
    Where that pays, one block of rows per core, each core running its sequences' whole time
    loop with single-threaded GEMMs (a recurrent layer's rows are independent), which puts the
    elementwise work on every core too and spares BLAS's hand-off at every step; else all rows
    on the calling thread with the backend's ``fixed_right_product(right, batch)`` (or
    ``matmul``)."""
    if (multiply_adds_per_row < _SPLIT_MULTIPLY_ADDS_PER_ROW or threads.count() == 1
            or batch < 2 * _MIN_ROWS or not blas_threads.available()):
        rows(0, batch, matmul if right is None else fixed_right_product(right, batch))
        return
    # Inside the cores' blocks BLAS is single-threaded; backend.matmul would split again.
    on_each_core(batch, lambda lo, hi: rows(lo, hi, np.matmul), part=8, least=_MIN_ROWS)


def _tanh(x, out):
    """The backend's tanh (``backend.current.tanh``: its provider may be a compiled loop)."""
    from ganglion.backend import current
    return current.tanh(x, out=out)


def visiting_order(length, reverse):
    """Time indices in the order the forward pass visits them."""
    return list(range(length - 1, -1, -1) if reverse else range(length))


# ----- LSTM --------------------------------------------------------------------------------

def _activation_constants(batch, hidden, dtype):
    """(N, 4H) constants that give sigmoid on the i, f, o blocks and tanh on the g block in
    whole-block operations: with ``scale`` 0.5 (1 for g) and ``shift`` 0.5 (0 for g),
    act = shift + scale * tanh(scale * x). The derivative is ``base + act * (slope - act)``:
    act (1 - act) for sigmoid (base 0, slope 1) and 1 - act^2 for tanh (base 1, slope 0).
    Full (N, 4H) arrays, because NumPy adds and multiplies same-shape contiguous arrays about
    three times faster than it broadcasts a row."""
    scale = np.full((batch, 4 * hidden), 0.5, dtype)
    scale[:, 2 * hidden:3 * hidden] = 1
    slope = np.ones((batch, 4 * hidden), dtype)
    slope[:, 2 * hidden:3 * hidden] = 0
    return scale, 1 - scale, slope, 1 - slope


def lstm_sequence_forward(x_proj, bias, h0, c0, w_hh, reverse):
    """Y (6, T, N, H) of one LSTM direction from x_proj (T, N, 4H) = x W_ih^T, bias (4H,) =
    b_ih + b_hh, h0 and c0 (N, H) and w_hh (4H, H)."""
    length, batch, four_hidden = x_proj.shape
    hidden = four_hidden // 4
    dtype = x_proj.dtype
    out = array_cache.empty((6, length, batch, hidden), dtype)
    acts = out[LSTM_GATES].reshape(length, batch, four_hidden)
    scale, shift, _, _ = _activation_constants(batch, hidden, dtype)
    bias = np.broadcast_to(bias, (batch, four_hidden)).copy()
    product = np.empty((batch, hidden), dtype)
    # BLAS runs this small-M GEMM faster on a contiguous W_hh^T than through the transpose flag.
    w_hh_t = np.ascontiguousarray(w_hh.T)
    h_prev, c_prev = h0, c0
    recurrent_product = fixed_right_product(w_hh_t, batch)
    for k, t in enumerate(visiting_order(length, reverse)):
        gates = acts[t]
        recurrent_product(h_prev, w_hh_t, out=gates)
        gates += x_proj[t]
        gates += bias
        gates *= scale
        np.tanh(gates, out=gates)
        gates *= scale
        gates += shift
        i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
        g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
        c, h = out[LSTM_CELL, k], out[LSTM_HIDDEN, t]
        np.multiply(f, c_prev, out=c)
        np.multiply(i, g, out=product)
        c += product
        np.tanh(c, out=h)
        h *= o
        h_prev, c_prev = h, c
    return out


def lstm_sequence_backward(grad, out, h0, c0, w_hh, reverse, h0_grad):
    """The backward pass through one LSTM direction: ``grad`` (T + 1, N, H) is the gradient of
    c_n and of every step's h, ``out`` the forward's Y; returns (4T + 2, N, H) (module
    docstring)."""
    _, length, batch, hidden = out.shape
    dtype = out.dtype
    back = array_cache.empty((4 * length + 2, batch, hidden), dtype)
    acts = out[LSTM_GATES].reshape(length, batch, 4 * hidden)
    d_pre = back[:-2].reshape(length, batch, 4 * hidden)
    grad_c_last, grad_h = grad[0], grad[1:]
    _, _, slope, base = _activation_constants(batch, hidden, dtype)
    tanh_c = np.empty((batch, hidden), dtype)
    derivative = np.empty((batch, 4 * hidden), dtype)
    # The gradients flowing back along the recurrence; after the first step they are the
    # gradients of c0 and h0, so they live in the output's last two rows from the start.
    d_c, d_h = back[-2], back[-1]
    d_c[...] = grad_c_last
    # Walk back from the step visited last: order[k] is the time of the k-th step visited,
    # whose cell state is out[LSTM_CELL, k].
    order = visiting_order(length, reverse)
    recurrent_product = fixed_right_product(w_hh, batch)
    for k in range(length - 1, -1, -1):
        t = order[k]
        gates, d_gates = acts[t], d_pre[t]
        c_prev = c0 if k == 0 else out[LSTM_CELL, k - 1]
        i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
        g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
        # The gradient arriving from this step's output plus the one from the step after.
        if k == length - 1:
            d_h[...] = grad_h[t]
        else:
            d_h += grad_h[t]
        np.tanh(out[LSTM_CELL, k], out=tanh_c)
        np.multiply(d_h, tanh_c, out=d_gates[:, 3 * hidden:])
        np.multiply(tanh_c, tanh_c, out=tanh_c)
        np.subtract(1, tanh_c, out=tanh_c)
        tanh_c *= o
        tanh_c *= d_h
        d_c += tanh_c
        np.multiply(d_c, g, out=d_gates[:, :hidden])
        np.multiply(d_c, c_prev, out=d_gates[:, hidden:2 * hidden])
        np.multiply(d_c, i, out=d_gates[:, 2 * hidden:3 * hidden])
        d_c *= f
        np.subtract(slope, gates, out=derivative)
        derivative *= gates
        derivative += base
        d_gates *= derivative
        if k or h0_grad:
            recurrent_product(d_gates, w_hh, out=d_h)
    return back


# ----- GRU ---------------------------------------------------------------------------------

def _sigmoid_(x):
    """sigmoid in place, as 0.5 tanh(0.5 x) + 0.5."""
    x *= 0.5
    _tanh(x, x)
    x *= 0.5
    x += 0.5


def gru_sequence_forward(x_gates, b_hh, h0, w_hh, reverse):
    """(T, N, 5H) of one GRU direction (module docstring) from x_gates (T, N, 3H) =
    x W_ih^T + b_ih, b_hh (3H,), h0 (N, H) and w_hh (3H, H), with PyTorch's equations:
    r, z = sigmoid(gx_r + gh_r), sigmoid(gx_z + gh_z); n = tanh(gx_n + r * gh_n);
    h' = n + z * (h - n), where gh = h W_hh^T + b_hh."""
    length, batch, three_hidden = x_gates.shape
    hidden = three_hidden // 3
    dtype = x_gates.dtype
    out = array_cache.empty((length, batch, 5 * hidden), dtype)
    w_hh_t = np.ascontiguousarray(w_hh.T)
    order = visiting_order(length, reverse)
    # NumPy adds same-shape contiguous arrays faster than it broadcasts a row.
    b_hh_rows = np.broadcast_to(b_hh, (batch, three_hidden)).copy()

    def rows(lo, hi, product):
        h_gates = np.empty((hi - lo, three_hidden), dtype)
        h_prev = h0[lo:hi]
        for t in order:
            step, gx = out[t, lo:hi], x_gates[t, lo:hi]
            product(h_prev, w_hh_t, out=h_gates)
            h_gates += b_hh_rows[lo:hi]
            reset_update = step[:, :2 * hidden]
            np.add(gx[:, :2 * hidden], h_gates[:, :2 * hidden], out=reset_update)
            _sigmoid_(reset_update)
            r, z = step[:, :hidden], step[:, hidden:2 * hidden]
            n, h_n, h = (step[:, k * hidden:(k + 1) * hidden] for k in (2, 3, 4))
            h_n[...] = h_gates[:, 2 * hidden:]
            np.multiply(r, h_n, out=n)
            n += gx[:, 2 * hidden:]
            _tanh(n, n)
            np.subtract(h_prev, n, out=h)
            h *= z
            h += n
            h_prev = h
    over_batch_rows(batch, three_hidden * hidden * length, rows, w_hh_t)
    return out


def gru_sequence_backward(grad, out, h0, w_hh, reverse, h0_grad):
    """The backward pass through one GRU direction: ``grad`` (T, N, H) is the gradient of every
    step's h, ``out`` the forward's result; returns (T + 1, N, 4H) (module docstring)."""
    length, batch, five_hidden = out.shape
    hidden = five_hidden // 5
    dtype = out.dtype
    back = array_cache.empty((length + 1, batch, 4 * hidden), dtype)
    order = visiting_order(length, reverse)

    def rows(lo, hi, product):
        d_h = back[length, lo:hi, :hidden]  # the gradient flowing back along h; then h0's
        one_minus = np.empty((hi - lo, hidden), dtype)
        d_n = np.empty((hi - lo, hidden), dtype)
        recurrent = np.empty((hi - lo, hidden), dtype)
        for k in range(length - 1, -1, -1):
            t = order[k]
            step, g_h, d_step = out[t, lo:hi], grad[t, lo:hi], back[t, lo:hi]
            h_prev = h0[lo:hi] if k == 0 else out[order[k - 1], lo:hi, 4 * hidden:]
            r, z, n, h_n = (step[:, j * hidden:(j + 1) * hidden] for j in range(4))
            d_r, d_z, d_h_n, d_x_n = (d_step[:, j * hidden:(j + 1) * hidden] for j in range(4))
            if k == length - 1:
                d_h[...] = g_h
            else:
                d_h += g_h
            np.subtract(1, z, out=one_minus)
            np.multiply(d_h, one_minus, out=d_n)
            np.subtract(h_prev, n, out=d_z)
            d_z *= d_h
            one_minus *= z
            d_z *= one_minus
            np.multiply(n, n, out=one_minus)
            np.subtract(1, one_minus, out=one_minus)
            np.multiply(d_n, one_minus, out=d_x_n)
            np.multiply(d_x_n, r, out=d_h_n)
            np.multiply(d_x_n, h_n, out=d_r)
            np.subtract(1, r, out=one_minus)
            one_minus *= r
            d_r *= one_minus
            d_h *= z
            if k or h0_grad:
                product(d_step[:, :3 * hidden], w_hh, out=recurrent)
                d_h += recurrent
    over_batch_rows(batch, 3 * hidden * hidden * length, rows, w_hh)
    return back


# ----- Elman RNN ---------------------------------------------------------------------------

def rnn_sequence_forward(x_gates, b_hh, h0, w_hh, reverse, nonlinearity):
    """h of every step (T, N, H) of one RNN direction, h' = act(gx + h W_hh^T + b_hh), from
    x_gates (T, N, H) = x W_ih^T + b_ih; ``nonlinearity`` is 'tanh' or 'relu'."""
    length, batch, hidden = x_gates.shape
    out = array_cache.empty((length, batch, hidden), x_gates.dtype)
    w_hh_t = np.ascontiguousarray(w_hh.T)
    order = visiting_order(length, reverse)
    relu = nonlinearity == "relu"

    def rows(lo, hi, product):
        h_prev = h0[lo:hi]
        for t in order:
            h = out[t, lo:hi]
            product(h_prev, w_hh_t, out=h)
            h += x_gates[t, lo:hi]
            h += b_hh
            if relu:
                np.maximum(h, 0, out=h)
            else:
                _tanh(h, h)
            h_prev = h
    over_batch_rows(batch, hidden * hidden * length, rows, w_hh_t)
    return out


def rnn_sequence_backward(grad, out, h0, w_hh, reverse, nonlinearity, h0_grad):
    """The backward pass through one RNN direction: ``grad`` (T, N, H) is the gradient of every
    step's h, ``out`` the forward's result; returns (T + 1, N, H) (module docstring)."""
    length, batch, hidden = out.shape
    back = array_cache.empty((length + 1, batch, hidden), out.dtype)
    order = visiting_order(length, reverse)
    relu = nonlinearity == "relu"

    def rows(lo, hi, product):
        d_h = back[length, lo:hi]   # the gradient flowing back along h; at the end, h0's
        for k in range(length - 1, -1, -1):
            t = order[k]
            h, d_pre = out[t, lo:hi], back[t, lo:hi]
            if k == length - 1:
                d_h[...] = grad[t, lo:hi]
            else:
                d_h += grad[t, lo:hi]
            if relu:
                np.multiply(d_h, h > 0, out=d_pre)
            else:
                np.multiply(h, h, out=d_pre)          # tanh' = 1 - h^2
                np.subtract(1, d_pre, out=d_pre)
                d_pre *= d_h
            if k or h0_grad:
                product(d_pre, w_hh, out=d_h)
    over_batch_rows(batch, hidden * hidden * length, rows, w_hh)
    return back
