"""Compiled loops (numba, the ``jit`` extra) for max pooling of any window, stride, padding and
dilation: the maximum, the argmax tap of each window, and the gradient scatter.

backend/pool.py's NumPy kernels make one to four passes over the whole output per kernel tap
(a maximum; an equality, a subtraction, a product and a subtraction for the argmax; an equality
and a product for the scatter), each through memory. GoogLeNet's thirteen 3x3 pools (stride 1
in the Inception branches, stride 2 with ceil_mode between stages) spent more of a train step
there than in its convolutions. These loops make the same per-tap passes one image plane at a
time, so each pass runs in the L1 cache, and each tap visits only the windows in which it falls
inside the input (the range is computed per tap, as pool.py's _tap_range does), so padding is
never read and there is no branch in the inner loops, which LLVM vectorizes.

Results are PyTorch's: NaN propagates into the maximum; the argmax is the first tap (row-major
in the window) equal to the maximum, or the last NaN of a window that holds one; the scatter
adds, so overlapping windows accumulate. backend/nn_loops.py keeps its own 2x2 stride-2 loops,
and backend/pool.py its NumPy kernels for machines without numba and for other dtypes.
"""
import numpy as np

from ganglion.backend.kernel_cache import njit_cached

__all__ = ["max_pool", "argmax", "scatter"]

_OPTIONS = dict(nogil=True, error_model="numpy", fastmath={"contract"})


@njit_cached(**_OPTIONS)
def _tap_range(size, out, stride, padding, offset):
    """[first, last) of the outputs whose tap at ``offset`` lands inside an input of ``size``."""
    first = max(0, -((offset - padding) // stride))
    last = min(out, (size - 1 + padding - offset) // stride + 1)
    return first, max(first, last)


@njit_cached(**_OPTIONS)
def _max_loop(x, out, kh, kw, sh, sw, ph, pw, dh, dw, lo, hi):
    height, width = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    lowest = -np.inf
    for p in range(lo, hi):
        plane, result = x[p], out[p]
        for y in range(oh):
            for xo in range(ow):
                result[y, xo] = lowest
        for i in range(kh):
            y0, y1 = _tap_range(height, oh, sh, ph, i * dh)
            for j in range(kw):
                x0, x1 = _tap_range(width, ow, sw, pw, j * dw)
                for y in range(y0, y1):
                    source, row = plane[y * sh - ph + i * dh], result[y]
                    start = j * dw - pw
                    for xo in range(x0, x1):
                        v, m = source[xo * sw + start], row[xo]
                        row[xo] = m if (m >= v or m != m) else v


@njit_cached(**_OPTIONS)
def _argmax_loop(x, out, arg, kh, kw, sh, sw, ph, pw, dh, dw, lo, hi):
    height, width = x.shape[1], x.shape[2]
    oh, ow = out.shape[1], out.shape[2]
    for p in range(lo, hi):
        plane, peak, taps = x[p], out[p], arg[p]
        for y in range(oh):
            for xo in range(ow):
                taps[y, xo] = kh * kw - 1
        # Taps in reverse: each match moves the argmax to an earlier tap, so the first wins.
        for tap in range(kh * kw - 1, -1, -1):
            i, j = tap // kw, tap % kw
            y0, y1 = _tap_range(height, oh, sh, ph, i * dh)
            x0, x1 = _tap_range(width, ow, sw, pw, j * dw)
            for y in range(y0, y1):
                source, maxima, row = plane[y * sh - ph + i * dh], peak[y], taps[y]
                start = j * dw - pw
                for xo in range(x0, x1):
                    row[xo] = tap if source[xo * sw + start] == maxima[xo] else row[xo]
        has_nan = False
        for y in range(oh):
            for xo in range(ow):
                if peak[y, xo] != peak[y, xo]:
                    has_nan = True
        if not has_nan:
            continue
        # A NaN maximum matches nothing: point at the window's last NaN, as PyTorch does.
        for tap in range(kh * kw):
            i, j = tap // kw, tap % kw
            y0, y1 = _tap_range(height, oh, sh, ph, i * dh)
            x0, x1 = _tap_range(width, ow, sw, pw, j * dw)
            for y in range(y0, y1):
                source, row = plane[y * sh - ph + i * dh], taps[y]
                start = j * dw - pw
                for xo in range(x0, x1):
                    v = source[xo * sw + start]
                    if v != v:
                        row[xo] = tap


@njit_cached(**_OPTIONS)
def _scatter_loop(grad, arg, grad_input, kh, kw, sh, sw, ph, pw, dh, dw, lo, hi):
    height, width = grad_input.shape[1], grad_input.shape[2]
    oh, ow = grad.shape[1], grad.shape[2]
    zero = grad_input.dtype.type(0)
    for p in range(lo, hi):
        g, taps, target = grad[p], arg[p], grad_input[p]
        for y in range(height):
            for xi in range(width):
                target[y, xi] = zero
        for tap in range(kh * kw):
            i, j = tap // kw, tap % kw
            y0, y1 = _tap_range(height, oh, sh, ph, i * dh)
            x0, x1 = _tap_range(width, ow, sw, pw, j * dw)
            for y in range(y0, y1):
                row, g_row, t_row = target[y * sh - ph + i * dh], g[y], taps[y]
                start = j * dw - pw
                for xo in range(x0, x1):
                    row[xo * sw + start] += g_row[xo] if t_row[xo] == tap else zero


def max_pool(split, x, out, kernel, stride, padding, dilation):
    """out (P, OH, OW) = the maximum of each window of x (P, H, W)."""
    split(x.shape[0], lambda lo, hi: _max_loop(x, out, *kernel, *stride, *padding, *dilation, lo, hi))
    return out


def argmax(split, x, out, arg, kernel, stride, padding, dilation):
    """arg (P, OH, OW): each window's argmax tap, given x and the forward's maximum ``out``."""
    split(x.shape[0], lambda lo, hi: _argmax_loop(x, out, arg, *kernel, *stride, *padding,
                                                  *dilation, lo, hi))
    return arg


def scatter(split, grad, arg, grad_input, kernel, stride, padding, dilation):
    """grad_input (P, H, W): each window's gradient added at its argmax tap."""
    split(grad.shape[0], lambda lo, hi: _scatter_loop(grad, arg, grad_input, *kernel, *stride,
                                                      *padding, *dilation, lo, hi))
    return grad_input
