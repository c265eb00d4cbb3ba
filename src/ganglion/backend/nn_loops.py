"""Compiled loops (numba, the ``jit`` extra) for NN kernels whose NumPy form needs several passes.

ReLU's backward, ``grad * (out > 0)``, is two passes and a boolean temporary in NumPy and one
pass here. An LSTM time step's arithmetic (all but its tanh calls) runs in three loops instead
of about nine NumPy calls forward and twenty backward.

2x2 max pooling with stride 2 (the pooling of LeNet, VGG and most small CNNs) is one pass per
kernel: forward, argmax and backward scatter. On the CIFAR CNN's first pool (128x32x32x32,
float32, one core) they take 0.34, 0.30 and 1.1 ms against 2.3, 3.4 and 3.3 for the per-tap
NumPy kernels (backend/pool.py), which still serve every other geometry. The loops are written
so that LLVM vectorizes them: branch-free selects, and the scatter masks the gradient's bits
(``v & -(k == tap)``) instead of choosing between v and 0, which it did not vectorize (4.8 ms).
Large arrays are split over the cores.

Measured and dropped earlier: an argmax loop with the window taps in an inner loop, and a
scatter that zeroed a fresh array before writing (1.1-4x slower than NumPy). An LSTM time step's
elementwise work including its tanh, as one loop forward and one backward, made the LSTM step
twice as slow: numba calls the C library's scalar tanh, 5-40x slower than NumPy's vectorized
exp, log and tanh here; hence the loops above leave tanh to NumPy (5-8% faster LSTM steps).
Direct convolution loops (no im2col) for the few-channel first layers ran 1.3-11x slower than
im2col + GEMM.

Importing this module imports numba; ``backend.numpy_backend`` does so only when
``fused_loops.available()`` (numba installed, ``GANGLION_FUSION`` not 0), and otherwise keeps
the NumPy kernels, which give the same results (except the argmax of a pooling window holding
a NaN: the NumPy kernel drops that window's gradient, see backend/pool.py). Loops are compiled
on first use and cached on disk by numba (``cache=True``).
"""
import numpy as np
from numba import njit

from ganglion.backend import array_cache, matmul

__all__ = ["relu_backward", "lstm_gates_in", "lstm_gates_out", "lstm_step_backward",
           "max_pool_2x2", "max_pool_2x2_argmax", "max_pool_2x2_scatter"]

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_OPTIONS)
def _relu_backward_loop(grad, out, result):
    zero = result.dtype.type(0)
    for i in range(result.shape[0]):
        result[i] = grad[i] if out[i] > 0 else zero


def relu_backward(grad, out):
    """``grad`` where ``out > 0``, else 0 (in ``grad``'s dtype and shape, as ``out``'s)."""
    result = array_cache.empty(out.shape, grad.dtype)
    grad_flat, out_flat = np.ascontiguousarray(grad).reshape(-1), np.ascontiguousarray(out).reshape(-1)
    flat = result.reshape(-1)
    matmul.split_rows(flat.size, 1, lambda lo, hi: _relu_backward_loop(grad_flat[lo:hi], out_flat[lo:hi], flat[lo:hi]))
    return result


# The LSTM loops know the gate blocks' layout (i, f, g, o, each H wide: sigmoid on i, f and o,
# tanh on g, with sigmoid(x) = 0.5 tanh(0.5 x) + 0.5) instead of reading (N, 4H) arrays of
# per-column constants as the NumPy form does: per time step that is 0.5-0.75 MB less to read,
# which no longer fits in a core's cache beside the step's own arrays.

@njit(**_OPTIONS)
def lstm_gates_in(gates, x_proj, bias):
    """gates = (gates + x_proj + bias) * scale, in place: an LSTM step's gate pre-activations
    (``gates`` holds h_prev @ W_hh^T; ``bias`` is one (4H,) row), scaled for the tanh that
    follows: by 0.5 on the sigmoid blocks, 1 on g."""
    batch, width = gates.shape
    hidden = width // 4
    half = gates.dtype.type(0.5)
    for n in range(batch):
        for k in range(2 * hidden):
            gates[n, k] = (gates[n, k] + x_proj[n, k] + bias[k]) * half
        for k in range(2 * hidden, 3 * hidden):
            gates[n, k] = gates[n, k] + x_proj[n, k] + bias[k]
        for k in range(3 * hidden, width):
            gates[n, k] = (gates[n, k] + x_proj[n, k] + bias[k]) * half


@njit(**_OPTIONS)
def lstm_gates_out(gates, c_prev, c):
    """After the tanh: the activations, in place (0.5 tanh + 0.5 on the sigmoid blocks), and
    the new cell state c = f * c_prev + i * g."""
    batch, width = gates.shape
    hidden = width // 4
    half = gates.dtype.type(0.5)
    for n in range(batch):
        for k in range(2 * hidden):
            gates[n, k] = gates[n, k] * half + half
        for k in range(3 * hidden, width):
            gates[n, k] = gates[n, k] * half + half
        for j in range(hidden):
            c[n, j] = gates[n, hidden + j] * c_prev[n, j] + gates[n, j] * gates[n, 2 * hidden + j]


@njit(**_OPTIONS)
def lstm_step_backward(gates, tanh_c, c_prev, grad_h, grad_c, d_acts, d_h, d_c, d_gates, first):
    """One LSTM step backward up to its recurrent GEMM, given tanh of the step's cell state.
    ``grad_h``/``grad_c``: the gradient of this step's outputs; ``d_h``/``d_c``: the gradient
    from the step after (ignored when ``first``, the last step visited). Writes the gate
    pre-activations' gradient into ``d_gates`` and the previous cell's gradient into ``d_c``."""
    batch, width = gates.shape
    hidden = width // 4
    one = gates.dtype.type(1)
    for n in range(batch):
        for j in range(hidden):
            dh = grad_h[n, j] if first else d_h[n, j] + grad_h[n, j]
            dc = grad_c[n, j] if first else d_c[n, j] + grad_c[n, j]
            t = tanh_c[n, j]
            d_gates[n, 3 * hidden + j] = dh * t
            dc = dc + (one - t * t) * gates[n, 3 * hidden + j] * dh
            d_gates[n, j] = dc * gates[n, 2 * hidden + j]
            d_gates[n, hidden + j] = dc * c_prev[n, j]
            d_gates[n, 2 * hidden + j] = dc * gates[n, j]
            d_c[n, j] = dc * gates[n, hidden + j]
        # through the activations: act (1 - act) for the sigmoids, 1 - act^2 for g's tanh
        for k in range(2 * hidden):
            act = gates[n, k]
            d_gates[n, k] = (d_gates[n, k] + d_acts[n, k]) * (act * (one - act))
        for k in range(2 * hidden, 3 * hidden):
            act = gates[n, k]
            d_gates[n, k] = (d_gates[n, k] + d_acts[n, k]) * (one - act * act)
        for k in range(3 * hidden, width):
            act = gates[n, k]
            d_gates[n, k] = (d_gates[n, k] + d_acts[n, k]) * (act * (one - act))


# ----- 2x2 max pooling, stride 2 --------------------------------------------------------------
# x is (planes, H, W) with H and W even; the output and the argmax are (planes, H/2, W/2). The
# argmax is the window tap 0-3 in row-major order that PyTorch picks: the first maximum, or the
# last NaN of a window that holds one (its forward output is then NaN).

@njit(**_OPTIONS)
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


@njit(**_OPTIONS)
def _argmax_2x2_loop(x, arg):
    planes, oh, ow = arg.shape
    for p in range(planes):
        for i in range(oh):
            top, bottom, row = x[p, 2 * i], x[p, 2 * i + 1], arg[p, i]
            for j in range(ow):
                best, tap = top[2 * j], 0
                value = top[2 * j + 1]
                if value > best or value != value:
                    best, tap = value, 1
                value = bottom[2 * j]
                if value > best or value != value:
                    best, tap = value, 2
                value = bottom[2 * j + 1]
                if value > best or value != value:
                    tap = 3
                row[j] = tap


@njit(**_OPTIONS)
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
    """loop(x as (planes, H, W), result as (planes, H/2, W/2)) over each core's planes."""
    result = array_cache.empty(x.shape[:-2] + (x.shape[-2] // 2, x.shape[-1] // 2), dtype)
    source = np.ascontiguousarray(x).reshape((-1,) + x.shape[-2:])
    target = result.reshape((-1,) + result.shape[-2:])
    matmul.split_rows(len(source), source[0].size, lambda lo, hi: loop(source[lo:hi], target[lo:hi]))
    return result


def max_pool_2x2(x):
    """2x2 max pooling with stride 2 of x (..., H, W), H and W even."""
    return _per_window(_max_2x2_loop, x, x.dtype)


def max_pool_2x2_argmax(x, dtype):
    """Each window's argmax tap (0-3, row-major; see above) as ``dtype``, shaped as the output."""
    return _per_window(_argmax_2x2_loop, x, np.dtype(dtype))


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
