"""Compiled loops (numba, the ``jit`` extra) for NN kernels whose NumPy form takes several passes.

Each kernel computes what its NumPy form computes (backend/numpy_backend.py, recurrent.py,
pool.py), in one pass over memory:

- ReLU's and hardtanh's backward: the gradient where the mask holds, else 0 (NumPy: a
  comparison, a boolean temporary and a product);
- float32 tanh (``fast_tanh``, a rational approximation within 3e-7 of tanh): NumPy vectorizes
  float32 tanh only with AVX-512, and numba's math.tanh is the C library's scalar call;
- the LSTM's and GRU's time loops (``lstm_sequence_forward`` ...), each step's elementwise
  arithmetic in one loop forward and one backward, between its recurrent GEMMs;
- Adam's update: param, grad and the moments read once and written once;
- 2x2 max pooling at stride 2 (LeNet's, VGG's): forward, argmax (comparing each tap with the
  forward's result) and the gradient's scatter.

Rule for every loop: LLVM must vectorize it, so selects are branch-free and the pooling scatter
masks the gradient's bits (``v & -(k == tap)``), because a choice between v and 0 did not
vectorize. Large arrays are split over the cores.

Importing this module imports numba; the numba provider (backend/numba_provider.py) does so on
first use, and without numba the NumPy kernels run and give the same results (except the
argmax of a pooling window holding a NaN: the NumPy kernel drops that window's gradient, see
backend/pool.py). Loops are compiled on first use and cached on disk in ganglion's checked
per-user kernel cache (``backend.kernel_cache.njit_cached``; numba's ``cache=True`` would write
into the package).
"""
import math

import numpy as np
from numba import types
from numba.extending import overload

from ganglion.backend import array_cache, matmul
from ganglion.backend.recurrent import (LSTM_CELL, LSTM_GATES, LSTM_HIDDEN, over_batch_rows,
                                        visiting_order)
from ganglion.backend.kernel_cache import njit_cached

__all__ = ["relu_backward", "hardtanh_backward", "fast_tanh", "tanh", "lstm_step_forward",
           "lstm_step_backward", "gru_step_forward", "gru_step_backward", "lstm_sequence_forward",
           "lstm_sequence_backward", "gru_sequence_forward", "gru_sequence_backward",
           "max_pool_2x2", "max_pool_2x2_argmax", "max_pool_2x2_scatter", "adam", "relu",
           "relu_nan_free"]

# "contract" lets LLVM fuse a multiply and an add into one FMA (one rounding instead of two),
# which halves the cost of fast_tanh's polynomials; it allows no other reordering. The loops are
# cached on disk by njit_cached, in the checked per-user folder (not numba's cache=True, which
# writes next to this file, into the installed package).
_OPTIONS = dict(nogil=True, error_model="numpy", fastmath={"contract"})


@njit_cached(**_OPTIONS)
def _relu_loop(x, out):
    zero = out.dtype.type(0)
    for i in range(out.shape[0]):
        v = x[i]
        # not (v <= 0) keeps NaN (as np.maximum and torch.relu do); v > 0 would give 0.
        out[i] = v if not v <= 0 else zero


@njit_cached(**_OPTIONS)
def _relu_reporting_nan_loop(x, out):
    zero = out.dtype.type(0)
    nan = False
    for i in range(out.shape[0]):
        v = x[i]
        out[i] = v if not v <= 0 else zero
        nan |= v != v
    return nan


def relu_nan_free(x, out):
    """``relu(x, out=out)``, returning whether x held no NaN: found in the same pass, at no
    measurable cost (a max pooling that reads the result can skip its own search). ``out`` may
    be x, but a separate ``out`` is faster (LLVM does not vectorize a loop whose input and output
    may alias: 18 against 7 us on a 128 x 512 float32 array)."""
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    found = []
    matmul.split_rows(flat_x.size, 1, lambda lo, hi: found.append(
        _relu_reporting_nan_loop(flat_x[lo:hi], flat_out[lo:hi])))
    return not any(found)


def relu(x, out=None):
    """max(x, 0) (NaN stays NaN) into ``out`` (x's shape and dtype, C-contiguous; it may be x)
    or a new array."""
    if out is None:
        out = array_cache.empty(x.shape, x.dtype)
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    if not matmul.splits(flat_x.size, 1):
        _relu_loop(flat_x, flat_out)
        return out
    matmul.split_rows(flat_x.size, 1, lambda lo, hi: _relu_loop(flat_x[lo:hi], flat_out[lo:hi]))
    return out


@njit_cached(**_OPTIONS)
def _relu_backward_loop(grad, out, result):
    zero = result.dtype.type(0)
    for i in range(result.shape[0]):
        result[i] = grad[i] if out[i] > 0 else zero


def _over_flat(loop, arrays, *scalars):
    """loop(*each array's [lo, hi), *scalars) for arrays of one shape, each flattened (copied
    first where not C-contiguous, so only read-only inputs may be strided), over one range per
    core for large arrays (matmul.split_rows)."""
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    if not matmul.splits(flat[0].size, 1):
        loop(*flat, *scalars)
        return
    matmul.split_rows(flat[0].size, 1, lambda lo, hi: loop(*[a[lo:hi] for a in flat], *scalars))


def relu_backward(grad, out):
    """``grad`` where ``out > 0``, else 0 (in ``grad``'s dtype and shape, as ``out``'s)."""
    result = array_cache.empty(out.shape, grad.dtype)
    _over_flat(_relu_backward_loop, [grad, out, result])
    return result


@njit_cached(**_OPTIONS)
def _hardtanh_backward_loop(grad, x, result, low, high):
    zero = result.dtype.type(0)
    for i in range(result.shape[0]):
        result[i] = grad[i] if (x[i] > low and x[i] < high) else zero


def hardtanh_backward(grad, x, min_val, max_val):
    """``grad`` where min_val < x < max_val, else 0 (hardtanh's and ReLU6's backward)."""
    result = array_cache.empty(x.shape, grad.dtype)
    _over_flat(_hardtanh_backward_loop, [grad, x, result], x.dtype.type(min_val),
               x.dtype.type(max_val))
    return result


# ----- tanh for float32 in compiled loops ------------------------------------------------------
# Eigen's rational approximation: odd degree-13 numerator over even degree-6 denominator in x,
# input clamped to +-7.905 (where tanh is within 3e-7 of +-1); at most 2.6e-7 (4 ulp of 1) from
# the exact value. It is plain arithmetic, so LLVM vectorizes it, where math.tanh is a scalar C
# call. NaN passes through the clamp (both comparisons are false), |x| < 4e-4 returns x itself
# and |x| > 9.1 returns +-1 exactly, as float32 tanh rounds there. float64 keeps math.tanh: it
# is the precision that gradient checks run in.

_F32 = np.float32
_CLAMP, _TINY, _SATURATED, _ONE = _F32(7.90531110763549805), _F32(0.0004), _F32(9.1), _F32(1)
_ALPHA = [_F32(a) for a in (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05,
                            5.12229709037114e-08, -8.60467152213735e-11, 2.00018790482477e-13,
                            -2.76076847742355e-16)]
_BETA = [_F32(b) for b in (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04,
                           1.19825839466702e-06)]
_A1, _A3, _A5, _A7, _A9, _A11, _A13 = _ALPHA
_B0, _B2, _B4, _B6 = _BETA


def fast_tanh(x):
    """tanh of one float inside compiled loops (see above); ``np.tanh`` when called from Python."""
    return np.tanh(x)


@overload(fast_tanh)
def _fast_tanh_typed(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:
        def rational(x):
            y = _CLAMP if x > _CLAMP else x
            y = -_CLAMP if y < -_CLAMP else y
            y2 = y * y
            p = y2 * _A13 + _A11
            p = y2 * p + _A9
            p = y2 * p + _A7
            p = y2 * p + _A5
            p = y2 * p + _A3
            p = y2 * p + _A1
            q = y2 * _B6 + _B4
            q = y2 * q + _B2
            q = y2 * q + _B0
            magnitude = abs(x)
            rounded = y * p / q
            saturated = _ONE if x > 0 else -_ONE
            rounded = saturated if magnitude > _SATURATED else rounded
            return x if magnitude < _TINY else rounded
        return rational
    return lambda x: math.tanh(x)


@njit_cached(**_OPTIONS)
def _tanh_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = fast_tanh(x[i])


@njit_cached(**_OPTIONS)
def _tanh_rows_loop(x, out):
    for r in range(x.shape[0]):
        for i in range(x.shape[1]):
            out[r, i] = fast_tanh(x[r, i])


def tanh(x, out=None):
    """tanh of a float32 array (see ``fast_tanh``) into ``out`` (shaped as x) or a new array.
    Contiguous arrays are split over the cores; a 2-D array may also have strided rows (a block
    of columns, as the GRU loop's)."""
    if out is None:
        out = array_cache.empty(x.shape, x.dtype)
    if x.ndim == 2 and not (x.flags.c_contiguous and out.flags.c_contiguous):
        _tanh_rows_loop(x, out)
        return out
    _over_flat(_tanh_loop, [x, out])
    return out


# ----- LSTM time steps ---------------------------------------------------------------------------
# The loops know the gate blocks' layout (i, f, g, o, each H wide: sigmoid on i, f and o, tanh
# on g, with sigmoid(x) = 0.5 tanh(0.5 x) + 0.5) instead of reading (N, 4H) arrays of
# per-column constants as the NumPy form does, which would not fit in a core's cache beside
# the step's own arrays.

@njit_cached(**_OPTIONS)
def lstm_step_forward(gates, x_proj, bias, c_prev, c, h):
    """One LSTM step after its recurrent GEMM: ``gates`` holds h_prev @ W_hh^T on entry and the
    activations i, f, g, o on exit; writes c = f * c_prev + i * g and h = o * tanh(c).
    ``bias`` is one (4H,) row."""
    batch, width = gates.shape
    hidden = width // 4
    half, one = gates.dtype.type(0.5), gates.dtype.type(1)
    for n in range(batch):
        # One loop over the four blocks with a per-column select (scale 1 on g, 0.5 on the
        # sigmoids): LLVM vectorizes it better than a loop per block.
        for k in range(width):
            scale = one if (k >= 2 * hidden) & (k < 3 * hidden) else half
            pre = gates[n, k] + x_proj[n, k] + bias[k]
            gates[n, k] = scale * fast_tanh(scale * pre) + (one - scale)
        for j in range(hidden):
            cell = gates[n, hidden + j] * c_prev[n, j] + gates[n, j] * gates[n, 2 * hidden + j]
            c[n, j] = cell
            h[n, j] = gates[n, 3 * hidden + j] * fast_tanh(cell)


@njit_cached(**_OPTIONS)
def lstm_step_backward(gates, c, c_prev, grad_h, d_h, d_c, d_gates, first):
    """One LSTM step backward up to its recurrent GEMM. ``gates``: the step's activations;
    ``c``: its cell state; ``grad_h``: the gradient of this step's output; ``d_h``: the
    gradient from the step after (ignored when ``first``, the last step visited); ``d_c``: the
    cell state's gradient. Writes the gate pre-activations' gradient into ``d_gates`` and the
    previous cell's gradient into ``d_c``."""
    batch, width = gates.shape
    hidden = width // 4
    one = gates.dtype.type(1)
    for n in range(batch):
        for j in range(hidden):
            dh = grad_h[n, j] if first else d_h[n, j] + grad_h[n, j]
            t = fast_tanh(c[n, j])
            d_gates[n, 3 * hidden + j] = dh * t
            dc = d_c[n, j] + (one - t * t) * gates[n, 3 * hidden + j] * dh
            d_gates[n, j] = dc * gates[n, 2 * hidden + j]
            d_gates[n, hidden + j] = dc * c_prev[n, j]
            d_gates[n, 2 * hidden + j] = dc * gates[n, j]
            d_c[n, j] = dc * gates[n, hidden + j]
        # through the activations: 1 - act^2 for g's tanh, act (1 - act) for the sigmoids
        for k in range(width):
            act = gates[n, k]
            slope = one - act * act if (k >= 2 * hidden) & (k < 3 * hidden) else act * (one - act)
            d_gates[n, k] = d_gates[n, k] * slope


# ----- GRU time steps ----------------------------------------------------------------------
# The GRU step arithmetic of backend/recurrent.py (PyTorch's equations, sigmoid as
# 0.5 tanh(0.5 x) + 0.5) in one loop each way. ``step`` is the step's packed row block
# [r | z | n | gh_n | h'] (N, 5H).

@njit_cached(**_OPTIONS)
def gru_step_forward(h_gates, x_gates, b_hh, h_prev, step):
    """One GRU step after its recurrent GEMM (``h_gates`` = h_prev @ W_hh^T, without b_hh)."""
    batch, width = h_gates.shape
    hidden = width // 3
    half = h_gates.dtype.type(0.5)
    for n in range(batch):
        for j in range(hidden):
            r = half * fast_tanh(half * (x_gates[n, j] + h_gates[n, j] + b_hh[j])) + half
            k = hidden + j
            z = half * fast_tanh(half * (x_gates[n, k] + h_gates[n, k] + b_hh[k])) + half
            gh_n = h_gates[n, 2 * hidden + j] + b_hh[2 * hidden + j]
            new = fast_tanh(x_gates[n, 2 * hidden + j] + r * gh_n)
            step[n, j] = r
            step[n, hidden + j] = z
            step[n, 2 * hidden + j] = new
            step[n, 3 * hidden + j] = gh_n
            step[n, 4 * hidden + j] = (h_prev[n, j] - new) * z + new


@njit_cached(**_OPTIONS)
def gru_step_backward(step, grad_h, h_prev, d_h, d_step, first):
    """One GRU step backward up to its recurrent GEMM. ``grad_h``: the gradient of the step's
    output h; ``d_h``: the gradient from the step after (ignored when ``first``), replaced by
    the part of h_prev's gradient that does not pass through W_hh. Writes
    [d_r | d_z | d_gh_n | d_gx_n] (the pre-activations' gradients) into ``d_step`` (N, 4H)."""
    batch = step.shape[0]
    hidden = step.shape[1] // 5
    one = step.dtype.type(1)
    for n in range(batch):
        for j in range(hidden):
            r, z = step[n, j], step[n, hidden + j]
            new, gh_n = step[n, 2 * hidden + j], step[n, 3 * hidden + j]
            dh = grad_h[n, j] if first else d_h[n, j] + grad_h[n, j]
            d_z = (h_prev[n, j] - new) * dh * ((one - z) * z)
            d_x_n = dh * (one - z) * (one - new * new)
            d_step[n, j] = d_x_n * gh_n * ((one - r) * r)
            d_step[n, hidden + j] = d_z
            d_step[n, 2 * hidden + j] = d_x_n * r
            d_step[n, 3 * hidden + j] = d_x_n
            d_h[n, j] = dh * z


# ----- the recurrent ops' time loops with these steps ------------------------------------------
# The same contract as backend/recurrent.py's NumPy forms (its docstring gives the layouts), with
# each step's elementwise part in one of the loops above.

def lstm_sequence_forward(x_proj, bias, h0, c0, w_hh, reverse):
    """Y (6, T, N, H) of one LSTM direction (see ``recurrent.lstm_sequence_forward``)."""
    length, batch, four_hidden = x_proj.shape
    hidden = four_hidden // 4
    out = array_cache.empty((6, length, batch, hidden), x_proj.dtype)
    acts = out[LSTM_GATES].reshape(length, batch, four_hidden)
    # BLAS runs this small-M GEMM faster on a contiguous W_hh^T than through the transpose flag.
    w_hh_t = np.ascontiguousarray(w_hh.T)
    order = visiting_order(length, reverse)

    def rows(lo, hi, product):
        h_prev, c_prev = h0[lo:hi], c0[lo:hi]
        for k, t in enumerate(order):
            gates, c, h = acts[t, lo:hi], out[LSTM_CELL, k, lo:hi], out[LSTM_HIDDEN, t, lo:hi]
            product(h_prev, w_hh_t, out=gates)
            lstm_step_forward(gates, x_proj[t, lo:hi], bias, c_prev, c, h)
            h_prev, c_prev = h, c
    over_batch_rows(batch, four_hidden * hidden * length, rows, w_hh_t)
    return out


def lstm_sequence_backward(grad, out, h0, c0, w_hh, reverse, h0_grad):
    """(4T + 2, N, H): the backward pass through one LSTM direction (see
    ``recurrent.lstm_sequence_backward``)."""
    _, length, batch, hidden = out.shape
    back = array_cache.empty((4 * length + 2, batch, hidden), out.dtype)
    acts = out[LSTM_GATES].reshape(length, batch, 4 * hidden)
    d_pre = back[:-2].reshape(length, batch, 4 * hidden)
    grad_c_last, grad_h = grad[0], grad[1:]
    # The gradients flowing back along the recurrence end as those of c0 and h0.
    d_c, d_h = back[-2], back[-1]
    order = visiting_order(length, reverse)

    def rows(lo, hi, product):
        d_c[lo:hi] = grad_c_last[lo:hi]
        for k in range(length - 1, -1, -1):
            t = order[k]
            d_gates = d_pre[t, lo:hi]
            c_prev = c0[lo:hi] if k == 0 else out[LSTM_CELL, k - 1, lo:hi]
            lstm_step_backward(acts[t, lo:hi], out[LSTM_CELL, k, lo:hi], c_prev,
                               grad_h[t, lo:hi], d_h[lo:hi], d_c[lo:hi], d_gates,
                               k == length - 1)
            if k or h0_grad:
                product(d_gates, w_hh, out=d_h[lo:hi])
    over_batch_rows(batch, 4 * hidden * hidden * length, rows, w_hh)
    return back


def gru_sequence_forward(x_gates, b_hh, h0, w_hh, reverse):
    """(T, N, 5H) of one GRU direction (see ``recurrent.gru_sequence_forward``)."""
    length, batch, three_hidden = x_gates.shape
    hidden = three_hidden // 3
    dtype = x_gates.dtype
    out = array_cache.empty((length, batch, 5 * hidden), dtype)
    w_hh_t = np.ascontiguousarray(w_hh.T)
    order = visiting_order(length, reverse)

    def rows(lo, hi, product):
        h_gates = np.empty((hi - lo, three_hidden), dtype)
        h_prev = h0[lo:hi]
        for t in order:
            step = out[t, lo:hi]
            product(h_prev, w_hh_t, out=h_gates)
            gru_step_forward(h_gates, x_gates[t, lo:hi], b_hh, h_prev, step)
            h_prev = step[:, 4 * hidden:]
    over_batch_rows(batch, three_hidden * hidden * length, rows, w_hh_t)
    return out


def gru_sequence_backward(grad, out, h0, w_hh, reverse, h0_grad):
    """(T + 1, N, 4H): the backward pass through one GRU direction (see
    ``recurrent.gru_sequence_backward``)."""
    length, batch, five_hidden = out.shape
    hidden = five_hidden // 5
    dtype = out.dtype
    back = array_cache.empty((length + 1, batch, 4 * hidden), dtype)
    order = visiting_order(length, reverse)

    def rows(lo, hi, product):
        d_h = back[length, lo:hi, :hidden]  # the gradient flowing back along h; then h0's
        recurrent = np.empty((hi - lo, hidden), dtype)
        for k in range(length - 1, -1, -1):
            t = order[k]
            d_step = back[t, lo:hi]
            h_prev = h0[lo:hi] if k == 0 else out[order[k - 1], lo:hi, 4 * hidden:]
            gru_step_backward(out[t, lo:hi], grad[t, lo:hi], h_prev, d_h, d_step, k == length - 1)
            if k or h0_grad:
                product(d_step[:, :3 * hidden], w_hh, out=recurrent)
                d_h += recurrent
    over_batch_rows(batch, 3 * hidden * hidden * length, rows, w_hh)
    return back


# ----- Adam's update ---------------------------------------------------------------------------
# optim/adam.py's update in one pass (its NumPy form is twelve). Scalars come in the arrays'
# dtype, so that float32 arithmetic stays float32 as in the NumPy form.

@njit_cached(**_OPTIONS)
def _adam_loop(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, amsgrad, maximize, decay,
               weight_decay, one_minus_beta1, beta2, one_minus_beta2, eps, step_size):
    for i in range(param.shape[0]):
        p = param[i] * decay                      # decoupled weight decay (AdamW); 1 otherwise
        g = -grad[i] if maximize else grad[i]
        g = g + weight_decay * p                  # L2 weight decay (Adam); 0 otherwise
        m = exp_avg[i] + one_minus_beta1 * (g - exp_avg[i])
        v = beta2 * exp_avg_sq[i] + one_minus_beta2 * (g * g)
        exp_avg[i], exp_avg_sq[i] = m, v
        if amsgrad:
            v = max(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        param[i] = p - step_size * m / (math.sqrt(v) + eps)


def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, maximize, decay, weight_decay, beta1,
         beta2, eps, step_size):
    """One Adam step in place on C-contiguous arrays of one float dtype (see optim/adam.py for
    the scalars); ``max_exp_avg_sq`` is None without AMSGrad. Large arrays are split over the
    cores."""
    amsgrad = max_exp_avg_sq is not None
    real = param.dtype.type
    _over_flat(_adam_loop, [param, grad, exp_avg, exp_avg_sq,
                            max_exp_avg_sq if amsgrad else exp_avg_sq],
               amsgrad, maximize, real(decay), real(weight_decay), real(1 - beta1), real(beta2),
               real(1 - beta2), real(eps), real(step_size))


# ----- 2x2 max pooling, stride 2 --------------------------------------------------------------
# x is (planes, H, W) with H and W even; the output and the argmax are (planes, H/2, W/2). The
# argmax is the window tap 0-3 in row-major order that PyTorch picks: the first maximum, or the
# last NaN of a window that holds one (its forward output is then NaN).

@njit_cached(**_OPTIONS)
def _max_2x2_loop(x, out):
    planes, oh, ow = out.shape
    for p in range(planes):
        for i in range(oh):
            top, bottom, row = x[p, 2 * i], x[p, 2 * i + 1], out[p, i]
            for j in range(ow):
                a, b, c, d = top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]
                upper = a if (a >= b or a != a) else b      # NaN propagates
                lower = c if (c >= d or c != c) else d
                row[j] = upper if (upper >= lower or upper != upper) else lower


@njit_cached(**_OPTIONS)
def _argmax_2x2_loop(x, out, arg):
    """The first tap equal to the window's max ``out`` (the forward result), or the last NaN
    tap where the max is NaN. Comparing with the known max is branch-free, so LLVM vectorizes
    it (tracking a running max is not)."""
    planes, oh, ow = arg.shape
    for p in range(planes):
        for i in range(oh):
            top, bottom, peak, row = x[p, 2 * i], x[p, 2 * i + 1], out[p, i], arg[p, i]
            for j in range(ow):
                a, b, c, d = top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]
                m = peak[j]
                tap = np.int8(2) if c == m else np.int8(3)
                tap = np.int8(1) if b == m else tap
                tap = np.int8(0) if a == m else tap
                last_nan = np.int8(1) if b != b else np.int8(0)
                last_nan = np.int8(2) if c != c else last_nan
                last_nan = np.int8(3) if d != d else last_nan
                row[j] = last_nan if m != m else tap


@njit_cached(**_OPTIONS)
def _scatter_2x2_loop(grad_bits, arg, result_bits):
    """The gradient (as integers of its width) to each window's argmax tap, 0 to the others;
    every input position is written. grad_bits and arg are (rows, OW), result_bits is
    (rows, 2, 2*OW): the two input rows of each row of windows."""
    rows, ow = arg.shape
    for r in range(rows):
        g, a, top, bottom = grad_bits[r], arg[r], result_bits[r, 0], result_bits[r, 1]
        for j in range(ow):
            value, tap = g[j], np.int32(a[j])
            top[2 * j] = value & ((tap == 0) * np.int32(-1))
            top[2 * j + 1] = value & ((tap == 1) * np.int32(-1))
            bottom[2 * j] = value & ((tap == 2) * np.int32(-1))
            bottom[2 * j + 1] = value & ((tap == 3) * np.int32(-1))


def _per_window(loop, x, dtype):
    """loop(x's planes, the result's planes, lo, hi) over each core's planes [lo, hi), with x
    as (planes, H, W) and the result as (planes, H/2, W/2)."""
    result = array_cache.empty(x.shape[:-2] + (x.shape[-2] // 2, x.shape[-1] // 2), dtype)
    source = np.ascontiguousarray(x).reshape((-1,) + x.shape[-2:])
    target = result.reshape((-1,) + result.shape[-2:])
    matmul.split_rows(len(source), source[0].size,
                      lambda lo, hi: loop(source[lo:hi], target[lo:hi], lo, hi))
    return result


def max_pool_2x2(x):
    """2x2 max pooling with stride 2 of x (..., H, W), H and W even."""
    return _per_window(lambda source, target, lo, hi: _max_2x2_loop(source, target), x, x.dtype)


def max_pool_2x2_argmax(x, out, dtype):
    """Each window's argmax tap (0-3, row-major; see above) as ``dtype``, shaped as the output
    ``out`` of ``max_pool_2x2(x)``."""
    peak = np.ascontiguousarray(out).reshape((-1,) + out.shape[-2:])
    return _per_window(lambda source, target, lo, hi: _argmax_2x2_loop(source, peak[lo:hi], target),
                       x, np.dtype(dtype))


def max_pool_2x2_scatter(grad, arg, in_shape):
    """The input gradient of 2x2 stride-2 max pooling: ``grad`` at each window's argmax tap."""
    result = array_cache.empty(tuple(in_shape), grad.dtype)
    bits = np.dtype(f"i{grad.dtype.itemsize}")   # the gradient's bits, masked (see the loop)
    ow = arg.shape[-1]
    grad_bits = np.ascontiguousarray(grad).view(bits).reshape(-1, ow)
    arg_rows = np.ascontiguousarray(arg).reshape(-1, ow)
    result_bits = result.view(bits).reshape(-1, 2, 2 * ow)
    matmul.split_rows(len(arg_rows), 4 * ow, lambda lo, hi: _scatter_2x2_loop(
        grad_bits[lo:hi], arg_rows[lo:hi], result_bits[lo:hi]))
    return result
