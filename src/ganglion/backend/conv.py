"""Convolution kernels for the NumPy backend: im2col through strided views and GEMMs over
chunks of the batch, one chunk at a time on each core.

The batch is split into one contiguous range of images per core, and each core walks its range
a chunk of images at a time with single-threaded BLAS (backend/blas_threads.py). A chunk holds
as many images as it takes to reach ``_MIN_COLUMNS`` columns and ``_MIN_MULTIPLY_ADDS``
multiply-adds (one image where it has both), and never more than the core's range. The chunk's
padded input (b, C, Hp, Wp) is copied into column matrices through one strided view, then:

- images with at least _MIN_COLUMNS output positions (L = OH*OW) get a GEMM each, as one
  stacked ``np.matmul`` per chunk (NumPy loops over the images in C), on cols[n] (C*kh*kw, L):
    forward           out[n] (O, L)     = W (O, C*k*k) @ cols[n]
    weight gradient   dW^T (C*k*k, O)  += sum over n of cols[n] @ g[n]^T
    input gradient    gcols[n]          = W^T @ g[n], then col2im;
  out[n] and g[n] are the (O, L) planes of the caller's NCHW arrays, so nothing is transposed;
- narrower images (CIFAR's 8x8 and ResNet's 4x4 stages) share one GEMM over the chunk, on
  cols (C*kh*kw, b*L), since per-image GEMMs of 16 or 64 columns run at a fraction of BLAS's
  speed. g and the output are then transposed to and from (O, b*L) around the GEMM;
- stride-1 input gradients are instead the forward convolution of g with the kernel flipped
  and its channel axes swapped ("full correlation", see _full_correlation_padding); col2im
  (one strided slice-add per kernel offset over the chunk, no np.add.at) serves the others.

Why these rules: BLAS runs thin GEMMs (few columns) at a fraction of its speed, so narrow
images share one; each chunk costs Python calls, so a chunk is at least _MIN_MULTIPLY_ADDS of
work; and one whole-batch GEMM on BLAS's threads would need transposes into and out of a
channels-first layout that cost as much as the im2col copies (measurements: NOTES.md, "CPU
convolutions").

Depthwise convolutions (one input channel per group, ``groups == in_channels``, and a whole
number ``m`` of output channels per input channel, the "channel multiplier") skip the GEMM,
which would be an m x kh*kw by kh*kw x L product per channel: here they run as NumPy passes
over the whole batch, one broadcast multiply-add per kernel tap. The numba provider
(backend/numba_provider.py) replaces them with one pass per image plane where numba is there.

Padding is ((top, bottom), (left, right)); 'same' with an even kernel pads unevenly.
"""
import threading
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ganglion.backend import array_cache, matmul, threads

__all__ = ["conv2d_output_size", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight",
           "forward_shape", "backward_input_shape", "backward_weight_shape"]

_scratch = threading.local()
# A chunk holds enough images for its GEMMs to have this many columns (thinner GEMMs run at a
# fraction of BLAS's speed; ResNet's 4x4 stage has 16 an image: its images share a GEMM) and
# this many multiply-adds (each chunk costs Python calls: LeNet's conv2 has 0.24 M an image).
_MIN_COLUMNS = 256
_MIN_MULTIPLY_ADDS = 16 << 20


def _buffer(slot, shape, dtype):
    """A reusable uninitialized array of ``shape`` for this thread's temporaries; one per slot."""
    size = 1
    for d in shape:
        size *= d
    key = (slot, np.dtype(dtype).str)
    store = _scratch.__dict__
    flat = store.get(key)
    if flat is None or flat.size < size:
        flat = np.empty(size, dtype)
        store[key] = flat
    return flat[:size].reshape(shape)


def conv2d_output_size(size, kernel, stride, padding, dilation):
    """Output length of one spatial axis; ``padding`` is (before, after)."""
    return (size + padding[0] + padding[1] - dilation * (kernel - 1) - 1) // stride + 1


class _Shape:
    """The sizes of one convolution, and the per-thread scratch views its chunks use."""

    def __init__(self, n, c, hw, o, groups, k_hw, stride, padding, dilation, dtype):
        self.n, self.c, self.o, self.groups = n, c, o, groups
        self.k_hw, self.stride, self.padding, self.dilation = tuple(k_hw), stride, padding, dilation
        self.hw = tuple(hw)
        self.out_hw = tuple(conv2d_output_size(hw[a], k_hw[a], stride[a], padding[a], dilation[a])
                            for a in (0, 1))
        if min(self.out_hw) < 1:
            raise ValueError(f"conv2d: the kernel does not fit the input (output size {self.out_hw})")
        self.padded_hw = (hw[0] + sum(padding[0]), hw[1] + sum(padding[1]))
        self.dtype = dtype
        self.columns = self.out_hw[0] * self.out_hw[1]        # L, per image
        self.rows = c * self.k_hw[0] * self.k_hw[1]           # C*kh*kw
        per_image = o // groups * self.rows * self.columns
        wanted = max(-(-_MIN_COLUMNS // self.columns), -(-_MIN_MULTIPLY_ADDS // per_image))
        self.chunk = max(1, min(wanted, -(-n // threads.count())))
        # Wide images get one GEMM each; narrow ones share one GEMM over the chunk's columns.
        self.per_image = self.columns >= _MIN_COLUMNS
        # A 1x1 kernel at stride 1 without padding: each image's (C, H*W) plane already is its
        # column matrix, so there is nothing to copy (chunk-wide GEMMs still need C first).
        self.pointwise = (self.k_hw == (1, 1) and tuple(stride) == (1, 1)
                          and not any(padding[0]) and not any(padding[1]))

    def interior(self, padded):
        """The part of a padded (b, C, Hp, Wp) array that holds the input."""
        (top, _), (left, _) = self.padding
        h, w = self.hw
        return padded[:, :, top:top + h, left:left + w]

    def windows(self, padded):
        """A strided view of padded (b, C, Hp, Wp): the element that each kernel offset meets
        at each output position, as (b, C, kh, kw, OH, OW) (per_image), or (C, kh, kw, b, OH, OW)."""
        s_n, s_c, s_h, s_w = padded.strides
        (dh, dw), (sh, sw) = self.dilation, self.stride
        kernel = ((self.c,) + self.k_hw, (s_c, dh * s_h, dw * s_w))
        batch = ((padded.shape[0],), (s_n,))
        first, second = (batch, kernel) if self.per_image else (kernel, batch)
        return as_strided(padded, shape=first[0] + second[0] + self.out_hw,
                          strides=first[1] + second[1] + (sh * s_h, sw * s_w))

    def scratch(self, b):
        """This thread's scratch for chunks of b images: (padded input, its windows, the column
        matrices, and the same laid out as the windows). The column matrices are one
        (C*kh*kw, L) per image, (b, C*kh*kw, L), or (per_image False) one (C*kh*kw, b*L)."""
        padded = _buffer("padded", (b, self.c) + self.padded_hw, self.dtype)
        windows = self.windows(padded)
        cols = _buffer("cols", windows.shape, self.dtype)
        matrix = (b, self.rows, self.columns) if self.per_image else (self.rows, b * self.columns)
        return padded, windows, cols.reshape(matrix), cols

    def chunks(self, lo, hi):
        """(start, stop) of each chunk of images in [lo, hi)."""
        return [(start, min(start + self.chunk, hi)) for start in range(lo, hi, self.chunk)]


def _on_each_core(shape, work):
    """work(lo, hi) on one contiguous range of images per core, ranges aligned to chunks, with
    BLAS single-threaded meanwhile; returns the results in range order."""
    return matmul.on_each_core(shape.n, work, shape.chunk)


def _columns(shape, x, start, stop, cache):
    """The column matrix of images [start, stop) of x: a view of x for a pointwise (1x1)
    convolution's per-image GEMMs, else copied into this thread's scratch."""
    b = stop - start
    if shape.pointwise:
        if shape.per_image:
            return x[start:stop].reshape(b, shape.c, shape.columns)
        cols = _buffer("cols", (shape.c, b) + shape.hw, x.dtype)
        np.copyto(cols, x[start:stop].transpose(1, 0, 2, 3))
        return cols.reshape(shape.c, b * shape.columns)
    return _im2col(shape, x, start, stop, _chunk_scratch(shape, cache, b))


def _im2col(shape, x, start, stop, scratch):
    """The column matrix of images [start, stop) of x, in ``scratch`` (from shape.scratch)."""
    padded, windows, cols, cols_6d = scratch
    np.copyto(shape.interior(padded), x[start:stop])
    np.copyto(cols_6d, windows)
    return cols


def _chunk_scratch(shape, cache, b):
    """shape.scratch(b), made once per chunk size; the padding is zeroed once and never written.
    (A range's last chunk may be shorter: its scratch shares memory with the full chunks', which
    is safe because it comes last.)"""
    if b not in cache:
        cache[b] = shape.scratch(b)
        cache[b][0].fill(0)
    return cache[b]


def _is_depthwise(c, o, groups):
    """One input channel per group and a whole number of output channels per input channel:
    a GEMM per channel would be (O/C) x kh*kw."""
    return groups > 1 and groups == c and o % c == 0


# The numba provider splits depthwise planes over the cores only where each core gets at least
# this many output elements: below that, the hand-off to a pool thread (20-50 us) costs more
# than it saves.
DEPTHWISE_SPLIT_ELEMENTS = 1 << 14


def forward_shape(x, w, stride, padding, dilation, groups):
    """The _Shape of conv2d_forward(x, w, ...); raises where the kernel does not fit."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    return _Shape(n, c, (h, wd), o, groups, (kh, kw), stride, padding, dilation, x.dtype)


def backward_input_shape(g, w, input_hw, stride, padding, dilation, groups):
    """The _Shape of conv2d_backward_input; raises where g does not match the output size."""
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    shape = _Shape(n, cg * groups, input_hw, o, groups, (kh, kw), stride, padding, dilation, g.dtype)
    if shape.out_hw != (oh, ow):
        raise ValueError(f"conv2d_backward_input: gradient of shape {g.shape} does not match the "
                         f"output size {shape.out_hw} of an input of size {tuple(input_hw)}")
    return shape


def backward_weight_shape(x, g, kernel_hw, stride, padding, dilation, groups):
    """The _Shape of conv2d_backward_weight(x, g, ...)."""
    n, c, h, wd = x.shape
    return _Shape(n, c, (h, wd), g.shape[1], groups, kernel_hw, stride, padding, dilation, x.dtype)


# ----- forward -----------------------------------------------------------------------------

def conv2d_forward(x, w, bias, stride, padding, dilation, groups):
    """out[n, o] = sum over c, i, j of w[o, c, i, j] * x_padded[n, c, s*y + d*i, s*x + d*j] (+ bias)."""
    n, c, _, _ = x.shape
    o, cg, kh, kw = w.shape
    shape = forward_shape(x, w, stride, padding, dilation, groups)
    if _is_depthwise(c, o, groups):
        return _depthwise_forward(x, w, bias, shape)
    if shape.pointwise:
        x = np.ascontiguousarray(x)
    out = array_cache.empty((n, o) + shape.out_hw, x.dtype)
    w_groups = w.reshape(groups, o // groups, cg * kh * kw)
    bias_column = None if bias is None else bias[:, None, None]
    if n < threads.count() and groups == 1:
        _forward_few_images(shape, x, w_groups[0], bias_column, out)
        return out
    _on_each_core(shape, partial(_forward_range, shape, x, w_groups, bias_column, out))
    return out


def _forward_few_images(shape, x, w_matrix, bias_column, out):
    """Fewer images than cores (inference on one image): each image's GEMM is split over the
    cores instead (backend/matmul.py; the backend runs convolutions in its convolution_scope),
    so that a batch of one does not run on one core."""
    for image in range(shape.n):
        if shape.pointwise:
            cols = x[image].reshape(shape.c, shape.columns)
        else:
            single = _Shape(1, shape.c, shape.hw, shape.o, 1, shape.k_hw, shape.stride,
                            shape.padding, shape.dilation, shape.dtype)
            single.per_image = True
            cols = _im2col(single, x, image, image + 1, _chunk_scratch(single, {}, 1))[0]
        result = out[image].reshape(shape.o, shape.columns)
        matmul.matmul(w_matrix, cols, out=result)
        if bias_column is not None:
            result += bias_column[:, :, 0]


def _forward_range(shape, x, w_groups, bias_column, out, lo, hi):
    cache = {}
    groups, o, columns = shape.groups, shape.o, shape.columns
    for start, stop in shape.chunks(lo, hi):
        b = stop - start
        cols = _columns(shape, x, start, stop, cache)
        if shape.per_image:
            # One GEMM per image, straight into out's (O, L) planes (NumPy loops in C).
            np.matmul(w_groups, cols.reshape(b, groups, -1, columns),
                      out=out[start:stop].reshape(b, groups, o // groups, columns))
            if bias_column is not None:
                out[start:stop] += bias_column
            continue
        result = _buffer("result", (groups, o // groups, b * columns), x.dtype)
        np.matmul(w_groups, cols.reshape(groups, -1, b * columns), out=result)
        result_nchw = result.reshape((o, b) + shape.out_hw).transpose(1, 0, 2, 3)
        if bias_column is None:
            np.copyto(out[start:stop], result_nchw)
        else:
            np.add(result_nchw, bias_column, out=out[start:stop])


def _gradient_matrix(shape, g, start, stop):
    """g[start:stop] (b, O, OH, OW) as the (O, b*L) matrix whose columns match a chunk-wide
    column matrix's (per_image False)."""
    b = stop - start
    g_t = _buffer("grad", (shape.o, b) + shape.out_hw, g.dtype)
    np.copyto(g_t, g[start:stop].transpose(1, 0, 2, 3))
    return g_t.reshape(shape.o, b * shape.columns)


def _nchw_offset_views(xp, k_hw, out_hw, stride, dilation):
    """For each kernel offset (i, j): the (N, C, OH, OW) view of padded NCHW ``xp`` it meets."""
    (kh, kw), (oh, ow) = k_hw, out_hw
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (oh - 1) + 1, stride[0])
            columns = slice(j * dilation[1], j * dilation[1] + stride[1] * (ow - 1) + 1, stride[1])
            yield i, j, xp[:, :, rows, columns]


def _pad_nchw(x, padding):
    if not any(padding[0]) and not any(padding[1]):
        return x
    return np.pad(x, ((0, 0), (0, 0)) + tuple(padding))


def _depthwise_forward(x, w, bias, shape):
    """One multiply-add over the whole batch per kernel tap, output channels as (C, m)."""
    out = array_cache.empty((shape.n, shape.o) + shape.out_hw, x.dtype)
    multiplier = shape.o // shape.c
    xp = _pad_nchw(x, shape.padding)
    out_5d = out.reshape((shape.n, shape.c, multiplier) + shape.out_hw)
    w_taps = w.reshape(shape.c, multiplier, *shape.k_hw)
    out_5d.fill(0)
    product = np.empty_like(out_5d)
    for i, j, window in _nchw_offset_views(xp, shape.k_hw, shape.out_hw, shape.stride, shape.dilation):
        np.multiply(window[:, :, None], w_taps[None, :, :, i, j, None, None], out=product)
        out_5d += product
    if bias is not None:
        out += bias[None, :, None, None]
    return out


# ----- input gradient (also the transposed convolution) -------------------------------------

def conv2d_backward_input(g, w, input_hw, stride, padding, dilation, groups):
    """The gradient of conv2d_forward with respect to x, for output gradient g (N, O, OH, OW);
    ``input_hw`` is x's (H, W). This is also conv_transpose2d of g with weight w."""
    n, o, _, _ = g.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    shape = backward_input_shape(g, w, input_hw, stride, padding, dilation, groups)
    if _is_depthwise(c, o, groups):
        return _depthwise_backward_input(g, w, shape)
    full_padding = _full_correlation_padding(shape)
    if full_padding is not None:
        return conv2d_forward(np.ascontiguousarray(g), _flipped_transposed(w, groups), None, (1, 1),
                              full_padding, dilation, groups)
    g = np.ascontiguousarray(g)
    grad_input = array_cache.empty((n, c) + tuple(input_hw), g.dtype)
    w_t_groups = w.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1)
    _on_each_core(shape, partial(_backward_input_range, shape, g, w_t_groups, grad_input))
    return grad_input


def _full_correlation_padding(shape):
    """For a stride-1 convolution, the padding under which the input gradient is the forward
    convolution of g with the flipped, transposed kernel; None where that needs a negative pad.

    Why: col2im's kh*kw slice-adds run over rows of OW elements and cost as much as the GEMM;
    the forward pass's one im2col copy of g costs a fraction of that.
    """
    if shape.stride != (1, 1) or shape.o * shape.hw[0] * shape.hw[1] > 3 * shape.c * shape.columns:
        # Where g has many more channels than x (LeNet's conv2: 16 against 6), its column
        # matrix is that much larger than col2im's, and col2im is the faster one.
        return None
    pads = tuple(tuple(d * (k - 1) - p for p in side)
                 for d, k, side in zip(shape.dilation, shape.k_hw, shape.padding))
    if min(min(side) for side in pads) < 0:
        return None
    return pads


def _flipped_transposed(w, groups):
    """w (O, C/groups, kh, kw) as the weight (C, O/groups, kh, kw) of the input gradient's
    convolution: input and output channels swapped within each group, the kernel rotated 180."""
    o, cg, kh, kw = w.shape
    per_group = w.reshape(groups, o // groups, cg, kh, kw)[:, :, :, ::-1, ::-1]
    return np.ascontiguousarray(per_group.transpose(0, 2, 1, 3, 4)).reshape(groups * cg, o // groups, kh, kw)


def _backward_input_range(shape, g, w_t_groups, grad_input, lo, hi):
    cache = {}
    groups, columns = shape.groups, shape.columns
    # In the chunk-wide layout the kernel offset axes come first, the image axis after them.
    offset = (slice(None), slice(None)) if shape.per_image else (slice(None),)
    for start, stop in shape.chunks(lo, hi):
        b = stop - start
        padded, windows, gcols, gcols_6d = _chunk_scratch(shape, cache, b)
        if shape.per_image:
            np.matmul(w_t_groups, g[start:stop].reshape(b, groups, -1, columns),
                      out=gcols.reshape(b, groups, -1, columns))
        else:
            np.matmul(w_t_groups, _gradient_matrix(shape, g, start, stop).reshape(groups, -1, b * columns),
                      out=gcols.reshape(groups, -1, b * columns))
        # col2im: where windows overlap, the adds accumulate.
        padded.fill(0)
        for i in range(shape.k_hw[0]):
            for j in range(shape.k_hw[1]):
                windows[offset + (i, j)] += gcols_6d[offset + (i, j)]
        np.copyto(grad_input[start:stop], shape.interior(padded))


def _depthwise_backward_input(g, w, shape):
    """Each kernel tap's products added into a zero-padded gradient over the whole batch."""
    grad_input = array_cache.empty((shape.n, shape.c) + shape.hw, g.dtype)
    multiplier = shape.o // shape.c
    g_5d = g.reshape((shape.n, shape.c, multiplier) + shape.out_hw)
    w_taps = w.reshape(shape.c, multiplier, *shape.k_hw)
    gxp = np.zeros((shape.n, shape.c) + shape.padded_hw, g.dtype)
    for i, j, window in _nchw_offset_views(gxp, shape.k_hw, shape.out_hw, shape.stride, shape.dilation):
        if multiplier == 1:
            window += g_5d[:, :, 0] * w_taps[None, :, 0, i, j, None, None]
        else:
            window += np.einsum("ncmhw,cm->nchw", g_5d, w_taps[:, :, i, j])
    np.copyto(grad_input, shape.interior(gxp))
    return grad_input


# ----- weight gradient ----------------------------------------------------------------------

def conv2d_backward_weight(x, g, kernel_hw, stride, padding, dilation, groups):
    """The gradient of conv2d_forward with respect to w (O, C/groups, kh, kw)."""
    c = x.shape[1]
    o = g.shape[1]
    kh, kw = kernel_hw
    cg = c // groups
    shape = backward_weight_shape(x, g, kernel_hw, stride, padding, dilation, groups)
    if _is_depthwise(c, o, groups):
        return _depthwise_backward_weight(x, g, shape)
    g = np.ascontiguousarray(g)
    partial_sums = _on_each_core(shape, partial(_backward_weight_range, shape, x, g))
    gw_t = partial_sums[0]
    for other in partial_sums[1:]:
        gw_t += other
    return np.ascontiguousarray(gw_t.transpose(0, 2, 1)).reshape(o, cg, kh, kw)


def _backward_weight_range(shape, x, g, lo, hi):
    """dW^T (groups, C/groups*kh*kw, O/groups) summed over images [lo, hi)."""
    cache = {}
    groups, columns = shape.groups, shape.columns
    total = np.zeros((groups, shape.rows // groups, shape.o // groups), x.dtype)
    # dW^T = cols @ g^T rather than dW = g @ cols^T: OpenBLAS runs this long-K product faster
    # with the column matrix as the left operand; transposing the small result is free.
    for start, stop in shape.chunks(lo, hi):
        b = stop - start
        cols = _columns(shape, x, start, stop, cache)
        if shape.per_image:
            # cols[n] @ g[n]^T for each image, then summed: as fast as one GEMM over the chunk
            # on wide layers and 2-4x faster on LeNet's 6-output first layer, with no
            # transposed copy of g.
            product = _buffer("product", (b,) + total.shape, x.dtype)
            np.matmul(cols.reshape(b, groups, -1, columns),
                      g[start:stop].reshape(b, groups, -1, columns).transpose(0, 1, 3, 2), out=product)
            total += product[0] if b == 1 else product.sum(axis=0)
        else:
            product = _buffer("product", total.shape, x.dtype)
            g_matrix = _gradient_matrix(shape, g, start, stop).reshape(groups, -1, b * columns)
            np.matmul(cols.reshape(groups, -1, b * columns), g_matrix.transpose(0, 2, 1), out=product)
            total += product
    return total


def _depthwise_backward_weight(x, g, shape):
    """One einsum over the batch per kernel tap."""
    multiplier = shape.o // shape.c
    xp = _pad_nchw(x, shape.padding)
    g_5d = g.reshape((shape.n, shape.c, multiplier) + shape.out_hw)
    grad_weight = np.empty((shape.c, multiplier) + shape.k_hw, x.dtype)
    for i, j, window in _nchw_offset_views(xp, shape.k_hw, shape.out_hw, shape.stride, shape.dilation):
        grad_weight[:, :, i, j] = np.einsum("nchw,ncmhw->cm", window, g_5d)
    return grad_weight.reshape((shape.o, 1) + shape.k_hw)
