"""Compiled loops (numba, the ``jit`` extra) for NN kernels whose NumPy form needs several passes.

ReLU's backward, ``grad * (out > 0)``, is two passes and a boolean temporary in NumPy and one
pass here. An LSTM time step's arithmetic (all but its tanh calls) runs in three loops instead
of about nine NumPy calls forward and twenty backward.

Measured and dropped: max pooling's argmax and backward scatter as compiled loops. Alone, on the
CIFAR CNN's first pool, the scatter ran 2.7x faster than the NumPy kernels (one pass per window
tap); inside the training step it made the step 8% slower (it zeroes a fresh array first, and
that memory is cold there). The argmax loop, and a loop doing argmax and scatter together for
2x2 windows (writing every input, so no zeroing), ran 1.1-4x slower than NumPy's per-tap
passes even alone: numba does not vectorize a window's first-maximum search. An LSTM time step's
elementwise work including its tanh, as one loop forward and one backward, made the LSTM step
twice as slow: numba calls the C library's scalar tanh, 5-40x slower than NumPy's vectorized
exp, log and tanh here; hence the loops above leave tanh to NumPy (5-8% faster LSTM steps).
Direct convolution loops (no im2col) for the few-channel first layers ran 1.3-11x slower than
im2col + GEMM.

Importing this module imports numba; ``backend.numpy_backend`` does so only when
``fused_loops.available()`` (numba installed, ``GANGLION_FUSION`` not 0), and otherwise keeps
the NumPy kernels, which give the same results. Loops are compiled on first use and cached on
disk by numba (``cache=True``).
"""
import numpy as np
from numba import njit

from ganglion.backend import array_cache

__all__ = ["relu_backward", "lstm_gates_in", "lstm_gates_out", "lstm_step_backward"]

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_OPTIONS)
def _relu_backward_loop(grad, out, result):
    zero = result.dtype.type(0)
    for i in range(result.shape[0]):
        result[i] = grad[i] if out[i] > 0 else zero


def relu_backward(grad, out):
    """``grad`` where ``out > 0``, else 0 (in ``grad``'s dtype and shape, as ``out``'s)."""
    result = array_cache.empty(out.shape, grad.dtype)
    _relu_backward_loop(np.ascontiguousarray(grad).reshape(-1), np.ascontiguousarray(out).reshape(-1),
                        result.reshape(-1))
    return result


@njit(**_OPTIONS)
def lstm_gates_in(gates, x_proj, bias, scale):
    """gates = (gates + x_proj + bias) * scale, in place: an LSTM step's gate pre-activations
    (``gates`` holds h_prev @ W_hh^T), scaled for the tanh that follows (see recurrent.py)."""
    batch, width = gates.shape
    for n in range(batch):
        for k in range(width):
            gates[n, k] = (gates[n, k] + x_proj[n, k] + bias[n, k]) * scale[n, k]


@njit(**_OPTIONS)
def lstm_gates_out(gates, scale, shift, c_prev, c):
    """After the tanh: the activations act = tanh * scale + shift (sigmoid on i, f, o; tanh on
    g), in place, and the new cell state c = f * c_prev + i * g."""
    batch, width = gates.shape
    hidden = width // 4
    for n in range(batch):
        for k in range(width):
            gates[n, k] = gates[n, k] * scale[n, k] + shift[n, k]
        for j in range(hidden):
            c[n, j] = gates[n, hidden + j] * c_prev[n, j] + gates[n, j] * gates[n, 2 * hidden + j]


@njit(**_OPTIONS)
def lstm_step_backward(gates, tanh_c, c_prev, grad_h, grad_c, d_acts, slope, base, d_h, d_c,
                       d_gates, first):
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
        for k in range(width):
            act = gates[n, k]
            d_gates[n, k] = (d_gates[n, k] + d_acts[n, k]) * ((slope[n, k] - act) * act + base[n, k])
