"""Compiled loops (numba, the ``jit`` extra) for NN kernels whose NumPy form needs several passes.

ReLU's backward, ``grad * (out > 0)``, is two passes and a boolean temporary in NumPy and one
pass here.

Measured and dropped: max pooling's argmax and backward scatter as compiled loops. Alone, on the
CIFAR CNN's first pool, the scatter ran 2.7x faster than the NumPy kernels (one pass per window
tap); inside the training step it made the step 8% slower (it zeroes a fresh array first, and
that memory is cold there). The argmax loop, and a loop doing argmax and scatter together for
2x2 windows (writing every input, so no zeroing), ran 1.1-4x slower than NumPy's per-tap
passes even alone: numba does not vectorize a window's first-maximum search. An LSTM time step's
elementwise work as one loop forward and one backward made the LSTM step twice as slow: numba
calls the C library's scalar tanh, 5-40x slower than NumPy's vectorized exp, log and tanh here.

Importing this module imports numba; ``backend.numpy_backend`` does so only when
``fused_loops.available()`` (numba installed, ``GANGLION_FUSION`` not 0), and otherwise keeps
the NumPy kernels, which give the same results. Loops are compiled on first use and cached on
disk by numba (``cache=True``).
"""
import numpy as np
from numba import njit

__all__ = ["relu_backward"]

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_OPTIONS)
def _relu_backward_loop(grad, out, result):
    zero = result.dtype.type(0)
    for i in range(result.shape[0]):
        result[i] = grad[i] if out[i] > 0 else zero


def relu_backward(grad, out):
    """``grad`` where ``out > 0``, else 0 (in ``grad``'s dtype and shape, as ``out``'s)."""
    result = np.empty(out.shape, grad.dtype)
    _relu_backward_loop(np.ascontiguousarray(grad).reshape(-1), np.ascontiguousarray(out).reshape(-1),
                        result.reshape(-1))
    return result


