"""Compiled loops (numba, the ``jit`` extra) for depthwise convolutions: forward, input gradient
and weight gradient, one image plane at a time.

A depthwise convolution (``groups == in_channels``, as in MobileNet and EfficientNet) has one
input channel per group and ``multiplier = out_channels / in_channels`` output channels per
input channel: output channel ``o`` reads input channel ``o // multiplier`` through its own
kh x kw kernel. As an im2col GEMM that is a 1 x kh*kw by kh*kw x L product per channel,
memory-bound and at a tiny fraction of BLAS's speed; as NumPy passes, one multiply and one add
over the whole (N, C, OH, OW) array per kernel tap, 18 passes for a 3x3 kernel, each of them
through memory (backend/conv.py keeps that form for machines without numba). These loops visit
each (image, channel) plane once: the plane is copied into a small zero-bordered scratch plane
(so padding costs no branch in the inner loops), and each output row accumulates its kh*kw taps
while it sits in the L1 cache. The inner loops run along a row with unit stride in the output
(and in the input where the stride is 1), so LLVM vectorizes them.

- forward: out[n, o, y, x] = bias[o] + sum over i, j of w[o, 0, i, j] * xp[n, o // m, s*y + d*i, s*x + d*j]
- input gradient: the same sums scattered back, gxp[.., s*y + d*i, s*x + d*j] += w * g, into the
  zero-bordered plane, whose interior is the gradient (this is also the depthwise transposed
  convolution);
- weight gradient: gw[o, 0, i, j] = sum over n, y, x of xp[...] * g[n, o, y, x]. The sums run in
  a row of partial sums (one per output column, added elementwise, so vectorized without
  reassociating floating-point additions) that is reduced at the end of each plane.

Callers (backend/conv.py) split the N*C planes into one contiguous range per core; the loops
release the GIL. Reference: PyTorch's depthwise CPU kernel (aten/src/ATen/native/
DepthwiseConvKernel / the ``_conv_depthwise2d`` semantics) gives the definition compared
against in tests/backend/test_depthwise_conv.py.
"""
import numpy as np

from ganglion.backend.kernel_cache import njit_cached

__all__ = ["forward", "backward_input", "backward_weight"]

# "contract" lets LLVM fuse each multiply-add into one FMA; no other reordering is allowed, so
# results do not depend on vector width.
_OPTIONS = dict(nogil=True, error_model="numpy", fastmath={"contract"})


@njit_cached(**_OPTIONS)
def _padded_shape(height, width, oh, ow, kh, kw, sh, sw, top, left, dh, dw):
    """The zero-bordered plane: the input at (top, left), every tap of every output inside
    (rows past the input's are its bottom padding, or rows a strided convolution never reads),
    and one more row for the flat loops' last taps (see _flat_forward)."""
    return (max(top + height, sh * (oh - 1) + dh * (kh - 1) + 1) + 1,
            max(left + width, sw * (ow - 1) + dw * (kw - 1) + 1))


@njit_cached(**_OPTIONS)
def _fill_plane(padded, plane, top, left):
    """Copy ``plane`` (H, W) into the interior of the zero-bordered ``padded``."""
    h, w = plane.shape
    for y in range(h):
        for x in range(w):
            padded[top + y, left + x] = plane[y, x]


@njit_cached(**_OPTIONS)
def _fill_wide(wide, plane, width):
    """Copy ``plane`` (OH, OW) into the rows of ``width`` elements of flat ``wide``, the columns
    past OW zero (they must add nothing where the flat loops read them)."""
    oh, ow = plane.shape
    zero = wide.dtype.type(0)
    for y in range(oh):
        for x in range(ow):
            wide[y * width + x] = plane[y, x]
        for x in range(ow, width):
            wide[y * width + x] = zero


# ----- stride 1: each tap is one flat loop over the plane ---------------------------------------
# With stride 1, output (y, x) reads padded[y + dh*i, x + dw*j]: in the flat padded plane, of row
# length Wp, that is flat[q + dh*i*Wp + dw*j] for q = y*Wp + x. Computing the outputs in rows of
# Wp (the last Wp - OW of each row are discarded, or zero where read) makes each tap one
# unit-stride loop over OH*Wp elements: long vectorized loops even for ResNet's and MobileNet's
# 4x4 and 7x7 planes, whose 4- and 7-element rows would otherwise be mostly loop overhead.

# A 3x3 kernel (MobileNet's, EfficientNet's) has its nine taps fused into one loop: per output
# nine loads and one store instead of nine loads and stores of the accumulator.

@njit_cached(**_OPTIONS)
def _flat_taps_forward(flat, w, o, dh, dw, width, acc):
    """acc[q] += sum over taps of w[o, 0, i, j] * flat[q + dh*i*width + dw*j]."""
    length = acc.shape[0]
    if w.shape[2] == 3 and w.shape[3] == 3:
        w0, w1, w2 = w[o, 0, 0, 0], w[o, 0, 0, 1], w[o, 0, 0, 2]
        w3, w4, w5 = w[o, 0, 1, 0], w[o, 0, 1, 1], w[o, 0, 1, 2]
        w6, w7, w8 = w[o, 0, 2, 0], w[o, 0, 2, 1], w[o, 0, 2, 2]
        r1, r2 = dh * width, 2 * dh * width
        c1, c2 = dw, 2 * dw
        for q in range(length):
            acc[q] += (w0 * flat[q] + w1 * flat[q + c1] + w2 * flat[q + c2]
                       + w3 * flat[q + r1] + w4 * flat[q + r1 + c1] + w5 * flat[q + r1 + c2]
                       + w6 * flat[q + r2] + w7 * flat[q + r2 + c1] + w8 * flat[q + r2 + c2])
        return
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            weight = w[o, 0, i, j]
            offset = dh * i * width + dw * j
            for q in range(length):
                acc[q] += weight * flat[q + offset]


@njit_cached(**_OPTIONS)
def _flat_taps_backward_input(wide, w, o, dh, dw, width, flat, first, last, length):
    """flat[q + offset] += w[o, 0, i, j] * wide[q] for each tap: the transpose of the above.
    For 3x3 as a gather, flat[r] += sum over taps of w * wide[r - offset] for r in
    [first, last), where ``wide`` holds the gradient after a zero margin of the largest offset
    and is zero after it (so the nine taps fuse into one loop, as in the forward); ``length``
    is the gradient's (OH * width)."""
    if w.shape[2] == 3 and w.shape[3] == 3:
        w0, w1, w2 = w[o, 0, 0, 0], w[o, 0, 0, 1], w[o, 0, 0, 2]
        w3, w4, w5 = w[o, 0, 1, 0], w[o, 0, 1, 1], w[o, 0, 1, 2]
        w6, w7, w8 = w[o, 0, 2, 0], w[o, 0, 2, 1], w[o, 0, 2, 2]
        r1, r2 = dh * width, 2 * dh * width
        c1, c2 = dw, 2 * dw
        base = r2 + c2                      # the margin: wide[base + q] is the gradient at q
        for r in range(first, last):
            b = base + r
            flat[r] += (w0 * wide[b] + w1 * wide[b - c1] + w2 * wide[b - c2]
                        + w3 * wide[b - r1] + w4 * wide[b - r1 - c1] + w5 * wide[b - r1 - c2]
                        + w6 * wide[b - r2] + w7 * wide[b - r2 - c1] + w8 * wide[b - r2 - c2])
        return
    base = dh * (w.shape[2] - 1) * width + dw * (w.shape[3] - 1)
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            weight = w[o, 0, i, j]
            offset = dh * i * width + dw * j
            for q in range(length):
                flat[q + offset] += weight * wide[base + q]


@njit_cached(nogil=True, error_model="numpy", fastmath={"contract", "reassoc"})
def _dot_taps_3x3(flat, wide, r1, r2, c1, c2, sums):
    """The nine dot products of wide with flat shifted by a 3x3 kernel's offsets, in one pass.
    "reassoc" lets LLVM vectorize the nine reductions (partial sums per vector lane), so the
    rounding, not the result's accuracy, depends on the vector width."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = wide.dtype.type(0)
    for q in range(wide.shape[0]):
        v = wide[q]
        s0 += flat[q] * v
        s1 += flat[q + c1] * v
        s2 += flat[q + c2] * v
        s3 += flat[q + r1] * v
        s4 += flat[q + r1 + c1] * v
        s5 += flat[q + r1 + c2] * v
        s6 += flat[q + r2] * v
        s7 += flat[q + r2 + c1] * v
        s8 += flat[q + r2 + c2] * v
    sums[0], sums[1], sums[2], sums[3], sums[4] = s0, s1, s2, s3, s4
    sums[5], sums[6], sums[7], sums[8] = s5, s6, s7, s8


@njit_cached(**_OPTIONS)
def _flat_taps_backward_weight(flat, wide, grad_weight, o, dh, dw, width, lanes):
    """grad_weight[o, 0, i, j] += the dot product of wide and flat shifted by the tap's offset,
    summed in ``lanes`` (16 elements) of partial sums (3x3: one pass for all nine)."""
    if grad_weight.shape[2] == 3 and grad_weight.shape[3] == 3:
        _dot_taps_3x3(flat, wide, dh * width, 2 * dh * width, dw, 2 * dw, lanes)
        for t in range(9):
            grad_weight[o, 0, t // 3, t % 3] += lanes[t]
        return
    length = wide.shape[0]
    whole = length - length % 16
    zero = wide.dtype.type(0)
    for i in range(grad_weight.shape[2]):
        for j in range(grad_weight.shape[3]):
            offset = dh * i * width + dw * j
            for lane in range(16):
                lanes[lane] = zero
            for q in range(0, whole, 16):
                for lane in range(16):
                    lanes[lane] += flat[q + lane + offset] * wide[q + lane]
            total = zero
            for q in range(whole, length):
                total += flat[q + offset] * wide[q]
            for lane in range(16):
                total += lanes[lane]
            grad_weight[o, 0, i, j] += total


# ----- the three kernels ----------------------------------------------------------------------

@njit_cached(**_OPTIONS)
def _forward_loop(x, w, bias, has_bias, out, sh, sw, top, left, dh, dw, lo, hi):
    """Planes [lo, hi) of out, planes counted over (image, input channel): each input plane
    feeds its ``multiplier`` output planes."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    multiplier = w.shape[0] // channels
    kh, kw = w.shape[2], w.shape[3]
    oh, ow = out.shape[2], out.shape[3]
    padded = np.zeros(_padded_shape(height, width, oh, ow, kh, kw, sh, sw, top, left, dh, dw),
                      x.dtype)
    wp = padded.shape[1]
    flat = padded.reshape(-1)
    acc = np.empty(oh * wp, x.dtype)
    zero = x.dtype.type(0)
    for plane in range(lo, hi):
        n, c = plane // channels, plane % channels
        _fill_plane(padded, x[n, c], top, left)
        for k in range(multiplier):
            o = c * multiplier + k
            start = bias[o] if has_bias else zero
            result = out[n, o]
            if sh == 1 and sw == 1:
                for q in range(oh * wp):
                    acc[q] = start
                _flat_taps_forward(flat, w, o, dh, dw, wp, acc)
                for y in range(oh):
                    for xo in range(ow):
                        result[y, xo] = acc[y * wp + xo]
                continue
            for y in range(oh):
                row = result[y]
                for xo in range(ow):
                    row[xo] = start
                for i in range(kh):
                    source = padded[sh * y + dh * i]
                    for j in range(kw):
                        weight = w[o, 0, i, j]
                        offset = dw * j
                        for xo in range(ow):
                            row[xo] += weight * source[sw * xo + offset]


@njit_cached(**_OPTIONS)
def _backward_input_loop(g, w, grad_input, sh, sw, top, left, dh, dw, lo, hi):
    """Planes [lo, hi) of grad_input: each gathers its multiplier output planes' gradients
    through the kernel taps (a scatter into the zero-bordered plane, whose interior it is)."""
    channels, height, width = grad_input.shape[1], grad_input.shape[2], grad_input.shape[3]
    multiplier = w.shape[0] // channels
    kh, kw = w.shape[2], w.shape[3]
    oh, ow = g.shape[2], g.shape[3]
    padded = np.empty(_padded_shape(height, width, oh, ow, kh, kw, sh, sw, top, left, dh, dw),
                      g.dtype)
    wp = padded.shape[1]
    flat = padded.reshape(-1)
    # The gradient in rows of wp between zero margins of the largest tap offset (see above).
    margin = dh * (kh - 1) * wp + dw * (kw - 1)
    wide_margins = np.zeros(oh * wp + 2 * margin + flat.shape[0], g.dtype)
    wide = wide_margins[margin:margin + oh * wp]
    first, last = top * wp, (top + height) * wp   # the rows of the input: all that is kept
    zero = g.dtype.type(0)
    for plane in range(lo, hi):
        n, c = plane // channels, plane % channels
        for q in range(flat.shape[0]):
            flat[q] = zero
        for k in range(multiplier):
            o = c * multiplier + k
            gradient = g[n, o]
            if sh == 1 and sw == 1:
                _fill_wide(wide, gradient, wp)
                _flat_taps_backward_input(wide_margins, w, o, dh, dw, wp, flat, first, last,
                                          oh * wp)
                continue
            for y in range(oh):
                row = gradient[y]
                for i in range(kh):
                    target = padded[sh * y + dh * i]
                    for j in range(kw):
                        weight = w[o, 0, i, j]
                        offset = dw * j
                        for xo in range(ow):
                            target[sw * xo + offset] += weight * row[xo]
        result = grad_input[n, c]
        for y in range(height):
            for xi in range(width):
                result[y, xi] = padded[top + y, left + xi]


@njit_cached(**_OPTIONS)
def _backward_weight_loop(x, g, grad_weight, sh, sw, top, left, dh, dw, lo, hi):
    """grad_weight (O, 1, kh, kw) summed over planes [lo, hi) (image, input channel); the caller
    adds the ranges' results."""
    channels, height, width = x.shape[1], x.shape[2], x.shape[3]
    multiplier = grad_weight.shape[0] // channels
    kh, kw = grad_weight.shape[2], grad_weight.shape[3]
    oh, ow = g.shape[2], g.shape[3]
    padded = np.zeros(_padded_shape(height, width, oh, ow, kh, kw, sh, sw, top, left, dh, dw),
                      x.dtype)
    wp = padded.shape[1]
    flat = padded.reshape(-1)
    wide = np.empty(oh * wp, x.dtype)
    lanes = np.empty(16, x.dtype)
    partial = np.empty((kh * kw, ow), x.dtype)
    zero = x.dtype.type(0)
    for plane in range(lo, hi):
        n, c = plane // channels, plane % channels
        _fill_plane(padded, x[n, c], top, left)
        for k in range(multiplier):
            o = c * multiplier + k
            gradient = g[n, o]
            if sh == 1 and sw == 1:
                _fill_wide(wide, gradient, wp)
                _flat_taps_backward_weight(flat, wide, grad_weight, o, dh, dw, wp, lanes)
                continue
            # Strided: per tap, a row of partial sums (one per output column), added elementwise.
            for t in range(kh * kw):
                for xo in range(ow):
                    partial[t, xo] = zero
            for y in range(oh):
                row = gradient[y]
                for i in range(kh):
                    source = padded[sh * y + dh * i]
                    for j in range(kw):
                        sums = partial[i * kw + j]
                        offset = dw * j
                        for xo in range(ow):
                            sums[xo] += source[sw * xo + offset] * row[xo]
            for i in range(kh):
                for j in range(kw):
                    total = zero
                    sums = partial[i * kw + j]
                    for xo in range(ow):
                        total += sums[xo]
                    grad_weight[o, 0, i, j] += total


def forward(x, w, bias, out, stride, padding, dilation, lo, hi):
    """Fill planes [lo, hi) (over N * in_channels) of ``out`` with the depthwise convolution of
    C-contiguous x (N, C, H, W) by w (C*m, 1, kh, kw) plus ``bias`` (or None)."""
    (top, _), (left, _) = padding
    has_bias = bias is not None
    _forward_loop(x, w, bias if has_bias else np.zeros(0, x.dtype), has_bias, out, stride[0], stride[1],
                  top, left, dilation[0], dilation[1], lo, hi)


def backward_input(g, w, grad_input, stride, padding, dilation, lo, hi):
    """Fill planes [lo, hi) (over N * C) of ``grad_input`` (N, C, H, W) from the output gradient
    g (N, C*m, OH, OW)."""
    (top, _), (left, _) = padding
    _backward_input_loop(g, w, grad_input, stride[0], stride[1], top, left, dilation[0],
                         dilation[1], lo, hi)


def backward_weight(x, g, kernel_hw, stride, padding, dilation, lo, hi):
    """The weight gradient (C*m, 1, kh, kw) summed over planes [lo, hi) (over N * C)."""
    (top, _), (left, _) = padding
    grad_weight = np.zeros((g.shape[1], 1) + tuple(kernel_hw), x.dtype)
    _backward_weight_loop(x, g, grad_weight, stride[0], stride[1], top, left, dilation[0],
                          dilation[1], lo, hi)
    return grad_weight
