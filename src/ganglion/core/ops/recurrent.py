"""The fused LSTM sequence op: the whole time loop of one layer and direction as one graph node.

A graph of per-step Tensor ops costs about thirty op calls per time step, forward and backward;
at small batch sizes that Python overhead, not the arithmetic, decides the speed. This op runs
the loop on raw arrays with preallocated buffers instead, and keeps to the GEMMs that matter:
the input projection of all time steps is computed outside (one GEMM per layer and direction,
as an ordinary matmul), and each step does one GEMM for all four gates together.

Where the batch is large enough, each core runs the whole time loop for its own block of the
batch's sequences (``over_batch_rows``), forward and backward.

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
from ganglion.backend import matmul as matmul_module
from ganglion.core.op import Op, ShapeError, apply, format_shape
from ganglion.core.ops.indexing import getitem
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.reduce import sum as reduce_sum
from ganglion.core.ops.shape import concatenate, reshape, transpose, unsqueeze
from ganglion.core.tensor import TensorType

__all__ = ["lstm_sequence"]

_GATES, _CELL, _HIDDEN = slice(0, 4), 4, 5


def double_backward_error(layer):
    """What a fused loop's backward-through-time op raises when differentiated itself."""
    return RuntimeError(f"{layer.lower()}_sequence: double backward through a fused {layer} is "
                        f"not supported; build the recurrence from {layer}Cell (ordinary ops) "
                        "for higher-order gradients")


def sequence_length(op_name, rows, batch):
    """The number of time steps of a fused loop's (T*N, G*H) input projection of ``rows`` rows.

    A batch of 0 sequences has no rows whatever T is, so T is lost: the recurrent layers
    (``nn.functional.recurrent``) handle an empty batch before reaching a fused op, and only a
    compiled graph whose batch size was unknown when it was built gets here with one."""
    if batch == 0:
        raise RuntimeError(f"{op_name}: a batch of 0 sequences reached the fused loop of a graph "
                           "built for an unknown batch size, which cannot tell the number of "
                           "time steps; skip empty batches, or run the layer eagerly (it gives "
                           "PyTorch's empty results)")
    return rows // batch


def visiting_order(length, reverse):
    """Time indices in the order the forward pass visits them."""
    return list(range(length - 1, -1, -1) if reverse else range(length))


def _activation_constants(xp, batch, hidden, dtype):
    """(N, 4H) constants that give sigmoid on the i, f, o blocks and tanh on the g block in
    whole-block operations: sigmoid(x) = 0.5 tanh(0.5 x) + 0.5, so with ``scale`` 0.5 (1 for g)
    and ``shift`` 0.5 (0 for g), act = shift + scale * tanh(scale * x). The derivative is
    ``base + act * (slope - act)``: act (1 - act) for sigmoid (base 0, slope 1) and 1 - act^2
    for tanh (base 1, slope 0). They are full (N, 4H) arrays because NumPy adds and multiplies
    same-shape contiguous arrays about three times faster than it broadcasts a row."""
    scale = xp.full((batch, 4 * hidden), 0.5, dtype)
    scale[:, 2 * hidden:3 * hidden] = 1
    slope = xp.ones((batch, 4 * hidden), dtype)
    slope[:, 2 * hidden:3 * hidden] = 0
    return scale, 1 - scale, slope, 1 - slope


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
        xp = backend.xp
        batch, hidden = h0.shape
        length = sequence_length("lstm_sequence", x_proj.shape[0], batch)
        dtype = x_proj.dtype
        x_proj = x_proj.reshape(length, batch, 4 * hidden)
        out = backend.empty((6, length, batch, hidden), dtype)
        acts = out[_GATES].reshape(length, batch, 4 * hidden)
        loops = backend.compiled_loops()
        if loops is None:
            scale, shift, _, _ = _activation_constants(xp, batch, hidden, dtype)
            bias = xp.broadcast_to(bias, (batch, 4 * hidden)).copy()
            product = xp.empty((batch, hidden), dtype)
        # BLAS runs this small-M GEMM about a third faster on a contiguous W_hh^T than through
        # the transpose flag; the copy is made once per sequence.
        w_hh_t = xp.ascontiguousarray(w_hh.T)
        order = visiting_order(length, self.reverse)
        if loops is not None:
            def rows(lo, hi, product):
                # The same arithmetic as below in one loop instead of ten calls.
                h_prev, c_prev = h0[lo:hi], c0[lo:hi]
                for k, t in enumerate(order):
                    gates, c, h = acts[t, lo:hi], out[_CELL, k, lo:hi], out[_HIDDEN, t, lo:hi]
                    product(h_prev, w_hh_t, out=gates)
                    loops.lstm_step_forward(gates, x_proj[t, lo:hi], bias, c_prev, c, h)
                    h_prev, c_prev = h, c
            over_batch_rows(backend, batch, 4 * hidden * hidden * length, rows)
            return out
        h_prev, c_prev = h0, c0
        for k, t in enumerate(order):
            gates = acts[t]
            backend.matmul(h_prev, w_hh_t, out=gates)
            gates += x_proj[t]
            gates += bias
            gates *= scale
            xp.tanh(gates, out=gates)
            gates *= scale
            gates += shift
            i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
            g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
            c, h = out[_CELL, k], out[_HIDDEN, t]
            xp.multiply(f, c_prev, out=c)
            xp.multiply(i, g, out=product)
            c += product
            xp.tanh(c, out=h)
            h *= o
            h_prev, c_prev = h, c
        return out

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


def check_shapes(op_name, expected):
    """``expected`` maps an input's name to (its type, the shape it must have; None = any)."""
    for name, (t, shape) in expected.items():
        if len(t.shape) != len(shape) or any(
                a is not None and b is not None and a != b for a, b in zip(t.shape, shape)):
            raise ShapeError(f"{op_name}: {name} must have shape {format_shape(shape)}, "
                             f"got {format_shape(t.shape)}")


# Split the batch's sequences over the cores when a sequence's recurrent GEMMs come to at
# least this many multiply-adds per row, and each core gets at least _MIN_ROWS rows (blocks
# are multiples of 8 rows). Measured on the benchmark's LSTM (64 -> 256, 35 steps, train
# step without the optimizer), split against not: batch 24 26.3 ms against 30.7, 32 24.5
# against 35.3, 64 49.9 against 65.2, 128 97 against 115; batch 16 split 8 + 8 the same.
_SPLIT_MULTIPLY_ADDS_PER_ROW = 1 << 20
_MIN_ROWS = 8


def over_batch_rows(backend, batch, multiply_adds_per_row, rows):
    """rows(lo, hi, product) over the batch, ``product`` being the matmul to use. Where that
    pays, one block of rows per core, each core running its sequences' whole time loop with
    single-threaded GEMMs (an LSTM's rows are independent): that puts the elementwise loops on
    every core too and spares BLAS's hand-off at every step (LSTM classifier train step: 51
    against 56 ms). Else all rows on the calling thread with ``backend.matmul``."""
    if multiply_adds_per_row < _SPLIT_MULTIPLY_ADDS_PER_ROW:
        rows(0, batch, backend.matmul)
        return
    # Inside the cores' blocks BLAS is single-threaded; backend.matmul would split again.
    matmul_module.on_each_core(batch, lambda lo, hi: rows(lo, hi, backend.xp.matmul), part=8,
                               least=_MIN_ROWS)


def previous_hidden(hiddens, h0, reverse):
    """The hidden state entering each step, (T, N, H), from ``hiddens`` (T, N, H), the output
    of every step: h0 for the first step visited, the neighbouring step's output for the
    others. (The fused LSTM, GRU and RNN all take W_hh's gradient against it.)"""
    if reverse:
        return concatenate([getitem(hiddens, slice(1, None)), unsqueeze(h0, 0)])
    return concatenate([unsqueeze(h0, 0), getitem(hiddens, slice(None, -1))])


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
        xp = backend.xp
        _, length, batch, hidden = out.shape
        dtype = out.dtype
        back = backend.empty((4 * length + 2, batch, hidden), dtype)
        acts = out[_GATES].reshape(length, batch, 4 * hidden)
        d_pre = back[:-2].reshape(length, batch, 4 * hidden)
        grad_c_last, grad_h = grad[0], grad[1:]
        loops = backend.compiled_loops()
        if loops is None:
            _, _, slope, base = _activation_constants(xp, batch, hidden, dtype)
            tanh_c = xp.empty((batch, hidden), dtype)
            derivative = xp.empty((batch, 4 * hidden), dtype)
        # The gradients flowing back along the recurrence; after the first step they are the
        # gradients of c0 and h0, so they live in the output's last two rows from the start.
        d_c, d_h = back[-2], back[-1]
        # Walk back from the step the forward pass visited last: ``order[k]`` is the time of
        # the k-th step visited, whose cell state is out[_CELL, k].
        order = visiting_order(length, self.reverse)
        if loops is not None:
            def rows(lo, hi, product):
                # All of the step's arithmetic in one loop.
                d_c[lo:hi] = grad_c_last[lo:hi]
                for k in range(length - 1, -1, -1):
                    t = order[k]
                    d_gates = d_pre[t, lo:hi]
                    c_prev = c0[lo:hi] if k == 0 else out[_CELL, k - 1, lo:hi]
                    loops.lstm_step_backward(acts[t, lo:hi], out[_CELL, k, lo:hi], c_prev,
                                             grad_h[t, lo:hi], d_h[lo:hi], d_c[lo:hi], d_gates,
                                             k == length - 1)
                    if k or self.h0_grad:
                        product(d_gates, w_hh, out=d_h[lo:hi])
            over_batch_rows(backend, batch, 4 * hidden * hidden * length, rows)
            return back
        d_c[...] = grad_c_last
        for k in range(length - 1, -1, -1):
            t = order[k]
            gates, d_gates = acts[t], d_pre[t]
            c_prev = c0 if k == 0 else out[_CELL, k - 1]
            i, f = gates[:, :hidden], gates[:, hidden:2 * hidden]
            g, o = gates[:, 2 * hidden:3 * hidden], gates[:, 3 * hidden:]
            # The gradient arriving from this step's output plus the one from the step after.
            if k == length - 1:
                d_h[...] = grad_h[t]
            else:
                d_h += grad_h[t]
            xp.tanh(out[_CELL, k], out=tanh_c)
            xp.multiply(d_h, tanh_c, out=d_gates[:, 3 * hidden:])
            xp.multiply(tanh_c, tanh_c, out=tanh_c)
            xp.subtract(1, tanh_c, out=tanh_c)
            tanh_c *= o
            tanh_c *= d_h
            d_c += tanh_c
            xp.multiply(d_c, g, out=d_gates[:, :hidden])
            xp.multiply(d_c, c_prev, out=d_gates[:, hidden:2 * hidden])
            xp.multiply(d_c, i, out=d_gates[:, 2 * hidden:3 * hidden])
            d_c *= f
            xp.subtract(slope, gates, out=derivative)
            derivative *= gates
            derivative += base
            d_gates *= derivative
            if k or self.h0_grad:
                backend.matmul(d_gates, w_hh, out=d_h)
        return back

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
