"""Compiled loops (numba, the ``jit`` extra) for batch normalization over (N, C, L) arrays: the
per-channel statistics, the normalization, and the training-mode input gradient, each in as few
passes over memory as the arithmetic allows.

With NumPy, a training-mode batch norm costs about five passes forward (a sum, a centered copy,
a sum of squares, a multiply, an add) and seven backward (a centered copy, two sums, three
elementwise products and sums), each through memory and on one core. Here:

- statistics: two read passes (the mean, then the centered sum of squares: the two-pass
  variance, as accurate as NumPy's);
- normalization: one pass, ``x * scale[c] + shift[c]``;
- input gradient: one read pass for the per-channel sums of g and g * (x - mean), then one pass
  writing ``a[c] * g + b[c] * (x - mean[c]) + d[c]``, the coefficients computed from the sums by
  the caller (nn/functional/batch_norm_ops.py).

Work is split over the cores by planes (image, channel), so a batch of one uses them all;
each range keeps its own per-channel float64 partial sums, which the caller adds. Row sums run
in 16 partial sums added lane by lane (vectorized by LLVM without reassociating), then reduced.
Reference: PyTorch's CPU batch norm (aten/src/ATen/native/cpu/batch_norm_kernel.cpp) computes
the same quantities with the same two-pass variance.
"""
import numpy as np

from ganglion.backend.kernel_cache import njit_cached

__all__ = ["channel_sums", "centered_squares", "normalize", "gradient_sums", "input_gradient"]

_OPTIONS = dict(nogil=True, error_model="numpy", fastmath={"contract"})


@njit_cached(**_OPTIONS)
def _sum_loop(x, shift, totals, lo, hi):
    """totals[c] += sum of (x[n, c] - shift[c]) over planes [lo, hi) of x (N, C, L)."""
    channels, length = x.shape[1], x.shape[2]
    whole = length - length % 16
    lanes = np.empty(16, x.dtype)
    zero = x.dtype.type(0)
    for plane in range(lo, hi):
        n, c = plane // channels, plane % channels
        row, s = x[n, c], shift[c]
        for lane in range(16):
            lanes[lane] = zero
        for q in range(0, whole, 16):
            for lane in range(16):
                lanes[lane] += row[q + lane] - s
        total = 0.0
        for q in range(whole, length):
            total += row[q] - s
        for lane in range(16):
            total += lanes[lane]
        totals[c] += total


@njit_cached(**_OPTIONS)
def _square_loop(x, mean, totals, lo, hi):
    """totals[c] += sum of (x[n, c] - mean[c])**2 over planes [lo, hi)."""
    channels, length = x.shape[1], x.shape[2]
    whole = length - length % 16
    lanes = np.empty(16, x.dtype)
    zero = x.dtype.type(0)
    for plane in range(lo, hi):
        n, c = plane // channels, plane % channels
        row, m = x[n, c], mean[c]
        for lane in range(16):
            lanes[lane] = zero
        for q in range(0, whole, 16):
            for lane in range(16):
                d = row[q + lane] - m
                lanes[lane] += d * d
        total = 0.0
        for q in range(whole, length):
            d = row[q] - m
            total += d * d
        for lane in range(16):
            total += lanes[lane]
        totals[c] += total


@njit_cached(**_OPTIONS)
def _normalize_loop(x, scale, shift, out, lo, hi):
    """out[n, c] = x[n, c] * scale[c] + shift[c] over planes [lo, hi)."""
    channels, length = x.shape[1], x.shape[2]
    for plane in range(lo, hi):
        n, c = plane // channels, plane % channels
        row, target, a, b = x[n, c], out[n, c], scale[c], shift[c]
        for q in range(length):
            target[q] = row[q] * a + b


@njit_cached(**_OPTIONS)
def _gradient_sums_loop(g, x, mean, sum_g, sum_gc, lo, hi):
    """sum_g[c] += sum of g[n, c]; sum_gc[c] += sum of g[n, c] * (x[n, c] - mean[c])."""
    channels, length = x.shape[1], x.shape[2]
    whole = length - length % 16
    lanes_g = np.empty(16, x.dtype)
    lanes_gc = np.empty(16, x.dtype)
    zero = x.dtype.type(0)
    for plane in range(lo, hi):
        n, c = plane // channels, plane % channels
        grad, row, m = g[n, c], x[n, c], mean[c]
        for lane in range(16):
            lanes_g[lane] = zero
            lanes_gc[lane] = zero
        for q in range(0, whole, 16):
            for lane in range(16):
                v = grad[q + lane]
                lanes_g[lane] += v
                lanes_gc[lane] += v * (row[q + lane] - m)
        total_g = 0.0
        total_gc = 0.0
        for q in range(whole, length):
            total_g += grad[q]
            total_gc += grad[q] * (row[q] - m)
        for lane in range(16):
            total_g += lanes_g[lane]
            total_gc += lanes_gc[lane]
        sum_g[c] += total_g
        sum_gc[c] += total_gc


@njit_cached(**_OPTIONS)
def _input_gradient_loop(g, x, mean, a, b, d, out, lo, hi):
    """out[n, c] = a[c] * g[n, c] + b[c] * (x[n, c] - mean[c]) + d[c] over planes [lo, hi)."""
    channels, length = x.shape[1], x.shape[2]
    for plane in range(lo, hi):
        n, c = plane // channels, plane % channels
        grad, row, target = g[n, c], x[n, c], out[n, c]
        ac, bc, dc, m = a[c], b[c], d[c], mean[c]
        for q in range(length):
            target[q] = ac * grad[q] + bc * (row[q] - m) + dc


def _partial_totals(split, loop, arrays, channels):
    """Run ``loop(*arrays, totals, lo, hi)`` over ranges of planes (``split(planes, work)``,
    backend/matmul.py's on_each_core), each range into its own float64 totals; their sum."""
    planes = arrays[0].shape[0] * channels

    def work(lo, hi):
        totals = np.zeros(channels)
        loop(*arrays, totals, lo, hi)
        return totals
    return sum(split(planes, work))


def channel_sums(split, x, shift):
    """Per-channel sums of x (N, C, L) - shift[c], float64."""
    return _partial_totals(split, _sum_loop, (x, shift), x.shape[1])


def centered_squares(split, x, mean):
    """Per-channel sums of (x - mean[c])**2, float64."""
    return _partial_totals(split, _square_loop, (x, mean), x.shape[1])


def normalize(split, x, scale, shift, out):
    """out = x * scale[c] + shift[c] (x and out (N, C, L), scale and shift in x's dtype)."""
    split(x.shape[0] * x.shape[1], lambda lo, hi: _normalize_loop(x, scale, shift, out, lo, hi))
    return out


def gradient_sums(split, g, x, mean):
    """(per-channel sum of g, per-channel sum of g * (x - mean[c])), float64."""
    channels = x.shape[1]

    def work(lo, hi):
        sum_g, sum_gc = np.zeros(channels), np.zeros(channels)
        _gradient_sums_loop(g, x, mean, sum_g, sum_gc, lo, hi)
        return sum_g, sum_gc
    parts = split(x.shape[0] * channels, work)
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def input_gradient(split, g, x, mean, a, b, d, out):
    """out = a[c] * g + b[c] * (x - mean[c]) + d[c]."""
    split(x.shape[0] * x.shape[1],
          lambda lo, hi: _input_gradient_loop(g, x, mean, a, b, d, out, lo, hi))
    return out
