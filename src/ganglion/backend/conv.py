"""Convolution kernels for the NumPy backend: im2col through strided views and one GEMM per pass.

Inside these kernels activations are stored channels first, as (C, N, H, W), or as (C, H, W, N)
when the output rows are narrow (see _batch_last). Then the column matrix of a convolution is
(C*kh*kw, N*OH*OW), so the forward pass, the input gradient and the weight gradient are each ONE
large GEMM (one per group), and the transposes into and out of the caller's NCHW layout happen
on the small side of each GEMM (the input, the output, the gradient), never on the
kh*kw-times-larger column matrix:

- forward:          out (O, N*L)        = W (O, C*k*k) @ cols (C*k*k, N*L)
- weight gradient:  dW^T (C*k*k, O)     = cols @ g^T, with g as (O, N*L)
- input gradient:   gcols (C*k*k, N*L)  = W^T @ g, then col2im: one strided slice-add per kernel
  offset (kh*kw vectorized adds, no np.add.at).

The column matrix is one copy of a strided view of the (padded) input. Large temporaries (the
padded input, the column matrix, the GEMM result) come from per-thread scratch buffers that are
reused across calls: allocating hundreds of megabytes per call would pay page faults every time.
Scratch buffers never leave this module; every returned array is freshly allocated.

Depthwise convolutions (one input and one output channel per group) skip the GEMM, which would
be 1 x kh*kw per channel: they loop over kernel offsets with broadcast multiply-adds. 1x1
convolutions need no special case: their column matrix is the input transposed to CNHW, one
copy the size of the input.

Tried and measured against this design on the benchmark shapes, and dropped: Winograd F(2x2,
3x3) for 3x3 stride-1 layers (2.25x fewer flops, but its sixteen thin GEMMs run at lower BLAS
efficiency and its transforms cost memory passes: at best 15% faster single-threaded, slower
with two threads, slower below 128 channels), and computing stride-1 rows over the full padded
width so that im2col copies long contiguous runs (the wasted GEMM columns cost as much).

One large GEMM per pass, rather than a batch of per-image GEMMs, also matters for threading:
each BLAS call synchronizes its threads, and on a busy machine that costs more than the math.
The memory-bound passes around the GEMMs (padding, im2col, col2im, transposes) are split over
the cores by channel, so they scale with the core count as BLAS does.

Padding is ((top, bottom), (left, right)); 'same' with an even kernel pads unevenly.
"""
import threading
from functools import partial

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ganglion.backend import array_cache, threads

__all__ = ["conv2d_output_size", "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight"]

_scratch = threading.local()
# Below this many elements, handing a copy to other threads costs more than it saves.
_PARALLEL_ELEMENTS = 1 << 20


def _in_parallel(function, *arrays):
    """Run ``function`` on slices of ``arrays`` along axis 0 (arrays whose axis 0 has another
    length, such as a broadcast bias, go whole), one slice per core (see backend/threads.py)."""
    length = arrays[0].shape[0]
    cores = threads.CORES
    if cores == 1 or length < 2 or max(a.size for a in arrays) < _PARALLEL_ELEMENTS:
        function(*arrays)
        return
    bounds = [length * k // cores for k in range(cores + 1)]
    threads.run_all([partial(function, *[a[lo:hi] if a.shape[0] == length else a for a in arrays])
                     for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo])


def _buffer(slot, shape, dtype):
    """A reusable uninitialized array of ``shape`` for temporaries; one buffer per slot name."""
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


def _geometry(x_hw, k_hw, stride, padding, dilation):
    out_hw = tuple(conv2d_output_size(x_hw[a], k_hw[a], stride[a], padding[a], dilation[a]) for a in (0, 1))
    if min(out_hw) < 1:
        raise ValueError(f"conv2d: the kernel does not fit the input (output size {out_hw})")
    return out_hw


def _batch_last(out_w):
    """Whether to store the batch axis last (CHWN) rather than second (CNHW). im2col and col2im
    move runs along the innermost axis; with narrow outputs (LeNet's conv2, ResNet's last
    stages) rows of OW elements are short runs, and runs of N are faster. Measured: CHWN wins
    below 12 output columns and loses clearly at 16 and more."""
    return out_w < 12


def _scratch_cnhw(slot, lead, n, hw, dtype, batch_last):
    """A scratch array stored as lead + (N, A, B) or, batch last, as lead + (A, B, N): returns
    (the stored array, a view of it with the logical axes lead + (N, A, B))."""
    if batch_last:
        stored = _buffer(slot, lead + hw + (n,), dtype)
        return stored, np.moveaxis(stored, -1, len(lead))
    stored = _buffer(slot, lead + (n,) + hw, dtype)
    return stored, stored


def _logical(matrix, lead, n, hw, batch_last):
    """A GEMM result stored as (prod(lead), columns) seen with the logical axes lead + (N, A, B)."""
    if batch_last:
        return np.moveaxis(matrix.reshape(lead + hw + (n,)), -1, len(lead))
    return matrix.reshape(lead + (n,) + hw)


def _padded_cnhw(x, padding, batch_last):
    """x (N, C, H, W) as a zero-bordered scratch array with logical axes (C, N, H+pads, W+pads)."""
    n, c, h, w = x.shape
    (top, bottom), (left, right) = padding
    _, xp = _scratch_cnhw("padded", (c,), n, (h + top + bottom, w + left + right), x.dtype, batch_last)
    xp[:, :, :top] = 0
    xp[:, :, top + h:] = 0
    xp[:, :, top:top + h, :left] = 0
    xp[:, :, top:top + h, left + w:] = 0
    _in_parallel(np.copyto, xp[:, :, top:top + h, left:left + w], x.transpose(1, 0, 2, 3))
    return xp


def _offset_windows(xp, k_hw, out_hw, stride, dilation):
    """A (C, kh, kw, N, OH, OW) strided view of a padded (C, N, Hp, Wp) array (any storage
    order): the input element that each kernel offset (i, j) meets at each output position."""
    s_c, s_n, s_h, s_w = xp.strides
    return as_strided(xp, shape=(xp.shape[0],) + tuple(k_hw) + (xp.shape[1],) + tuple(out_hw),
                      strides=(s_c, dilation[0] * s_h, dilation[1] * s_w, s_n,
                               stride[0] * s_h, stride[1] * s_w))


def _im2col(x, k_hw, out_hw, stride, padding, dilation, batch_last):
    """The column matrix of x (N, C, H, W): a (C*kh*kw, N*OH*OW) scratch array whose columns
    are ordered (N, OH, OW), or (OH, OW, N) with the batch last."""
    n, c = x.shape[:2]
    windows = _offset_windows(_padded_cnhw(x, padding, batch_last), k_hw, out_hw, stride, dilation)
    cols, cols_cnhw = _scratch_cnhw("cols", (c,) + tuple(k_hw), n, out_hw, x.dtype, batch_last)
    _in_parallel(np.copyto, cols_cnhw, windows)
    return cols.reshape(c * k_hw[0] * k_hw[1], n * out_hw[0] * out_hw[1])


def _to_onl(g, batch_last):
    """A gradient (N, O, OH, OW) as an (O, N*OH*OW) scratch array, columns ordered as im2col's."""
    n, o, oh, ow = g.shape
    g_onl, g_cnhw = _scratch_cnhw("grad", (o,), n, (oh, ow), g.dtype, batch_last)
    _in_parallel(np.copyto, g_cnhw, g.transpose(1, 0, 2, 3))
    return g_onl.reshape(o, n * oh * ow)


def _grouped_matmul(a, b, out):
    """out[k] = a[k] @ b[k] for each group k, as separate 2-D GEMMs: NumPy's stacked matmul
    threads its BLAS calls poorly (measured 2x slower with two threads)."""
    for k in range(a.shape[0]):
        np.matmul(a[k], b[k], out=out[k])


def _is_depthwise(c, o, groups):
    """One input and one output channel per group: a GEMM per channel would be 1 x kh*kw."""
    return groups > 1 and groups == c == o


# ----- forward -----------------------------------------------------------------------------

def conv2d_forward(x, w, bias, stride, padding, dilation, groups):
    """out[n, o] = sum over c, i, j of w[o, c, i, j] * x_padded[n, c, s*y + d*i, s*x + d*j] (+ bias)."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh, ow = _geometry((h, wd), (kh, kw), stride, padding, dilation)
    if _is_depthwise(c, o, groups):
        return _depthwise_forward(x, w, bias, (oh, ow), stride, padding, dilation)
    batch_last = _batch_last(ow)
    cols = _im2col(x, (kh, kw), (oh, ow), stride, padding, dilation, batch_last)
    result = _buffer("gemm", (o, n * oh * ow), x.dtype)
    _grouped_matmul(w.reshape(groups, o // groups, cg * kh * kw),
                    cols.reshape(groups, cg * kh * kw, n * oh * ow),
                    result.reshape(groups, o // groups, n * oh * ow))
    out = array_cache.empty((n, o, oh, ow), x.dtype)
    # The transpose back to NCHW is a copy anyway: the bias add rides along for free.
    result_nchw = _logical(result, (o,), n, (oh, ow), batch_last).transpose(1, 0, 2, 3)
    if bias is None:
        _in_parallel(np.copyto, out, result_nchw)
    else:
        _in_parallel(_add_into, out, result_nchw, bias[None, :, None, None])
    return out


def _add_into(out, a, b):
    np.add(a, b, out=out)


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


def _depthwise_forward(x, w, bias, out_hw, stride, padding, dilation):
    xp = _pad_nchw(x, padding)
    out = np.zeros((x.shape[0], x.shape[1]) + out_hw, x.dtype)
    product = np.empty_like(out)
    for i, j, window in _nchw_offset_views(xp, w.shape[2:], out_hw, stride, dilation):
        np.multiply(window, w[None, :, 0, i, j, None, None], out=product)
        out += product
    if bias is not None:
        out += bias[None, :, None, None]
    return out


# ----- input gradient (also the transposed convolution) -------------------------------------

def conv2d_backward_input(g, w, input_hw, stride, padding, dilation, groups):
    """The gradient of conv2d_forward with respect to x, for output gradient g (N, O, OH, OW);
    ``input_hw`` is x's (H, W). This is also conv_transpose2d of g with weight w."""
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    h, wd = input_hw
    (top, bottom), (left, right) = padding
    hp, wp = h + top + bottom, wd + left + right
    if _is_depthwise(c, o, groups):
        gxp = np.zeros((n, c, hp, wp), g.dtype)
        for i, j, window in _nchw_offset_views(gxp, (kh, kw), (oh, ow), stride, dilation):
            window += g * w[None, :, 0, i, j, None, None]
        return np.ascontiguousarray(gxp[:, :, top:top + h, left:left + wd])
    batch_last = _batch_last(ow)
    g_onl = _to_onl(g, batch_last)
    gcols, gcols_cnhw = _scratch_cnhw("cols", (c, kh, kw), n, (oh, ow), g.dtype, batch_last)
    _grouped_matmul(w.reshape(groups, o // groups, cg * kh * kw).transpose(0, 2, 1),
                    g_onl.reshape(groups, o // groups, n * oh * ow),
                    gcols.reshape(groups, cg * kh * kw, n * oh * ow))
    _, gxp = _scratch_cnhw("padded", (c,), n, (hp, wp), g.dtype, batch_last)
    _in_parallel(_col2im, gxp, _offset_windows(gxp, (kh, kw), (oh, ow), stride, dilation), gcols_cnhw)
    # Copied out, even when the view happens to be contiguous: scratch must not leave.
    grad_input = array_cache.empty((n, c, h, wd), g.dtype)
    np.copyto(grad_input, gxp[:, :, top:top + h, left:left + wd].transpose(1, 0, 2, 3))
    return grad_input


def _col2im(gxp, windows, gcols):
    """Sum the column-matrix gradient back into the padded input gradient, one strided
    slice-add per kernel offset (where windows overlap, the adds accumulate)."""
    gxp.fill(0)
    for i in range(windows.shape[1]):
        for j in range(windows.shape[2]):
            windows[:, i, j] += gcols[:, i, j]


# ----- weight gradient ----------------------------------------------------------------------

def conv2d_backward_weight(x, g, kernel_hw, stride, padding, dilation, groups):
    """The gradient of conv2d_forward with respect to w (O, C/groups, kh, kw)."""
    n, c = x.shape[:2]
    o, oh, ow = g.shape[1:]
    kh, kw = kernel_hw
    cg = c // groups
    if _is_depthwise(c, o, groups):
        return _depthwise_backward_weight(x, g, kernel_hw, stride, padding, dilation)
    batch_last = _batch_last(ow)
    cols = _im2col(x, kernel_hw, (oh, ow), stride, padding, dilation, batch_last)
    g_onl = _to_onl(g, batch_last)
    # dW^T = cols @ g^T rather than dW = g @ cols^T: OpenBLAS runs this long-K product 20-50%
    # faster with the column matrix as the left operand; transposing the small result is free.
    gw_t = np.empty((groups, cg * kh * kw, o // groups), x.dtype)
    _grouped_matmul(cols.reshape(groups, cg * kh * kw, n * oh * ow),
                    g_onl.reshape(groups, o // groups, n * oh * ow).transpose(0, 2, 1), gw_t)
    return np.ascontiguousarray(gw_t.transpose(0, 2, 1)).reshape(o, cg, kh, kw)


def _depthwise_backward_weight(x, g, kernel_hw, stride, padding, dilation):
    xp = _pad_nchw(x, padding)
    gw = np.empty((x.shape[1], 1) + tuple(kernel_hw), x.dtype)
    for i, j, window in _nchw_offset_views(xp, kernel_hw, g.shape[2:], stride, dilation):
        gw[:, 0, i, j] = np.einsum("nchw,nchw->c", window, g)
    return gw
