"""Winograd F(2x2, 3x3) kernels for 3x3, stride-1, undilated, ungrouped convolutions.

Each 2x2 block of outputs is computed from a 4x4 input tile with 16 multiplications per channel
pair instead of 36 (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2015):

    Y = A^T [ (G w G^T) * (B^T d B) ] A

The transforms are a handful of vectorized additions over the whole batch; the channel
contraction is one batched GEMM of 16 matrices (O, C) @ (C, tiles). That is 2.25x fewer GEMM
flops than im2col, and the transformed input (16 values per 4 input pixels) is smaller than an
im2col matrix (9 values per pixel). The weight gradient is the exact adjoint of the same formula:

    dw = G^T [ sum over tiles of (A dY A^T) * (B^T d B) ] G

and the input gradient is the forward pass with the flipped, channel-transposed kernel.
Errors stay at the level of float32 rounding (the transforms have small integer coefficients).
"""
import numpy as np

__all__ = ["winograd_applies", "winograd_conv3x3", "winograd_conv3x3_backward_weight"]

_MIN_CHANNELS = 128
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def winograd_applies(k_hw, stride, dilation, groups, padding, in_channels, out_channels):
    """Whether the F(2x2, 3x3) kernels fit this convolution and pay off. The transforms are
    memory-bound passes whose cost grows with the channels while the GEMM saving grows with
    their product: measured against im2col, they win from 128 channels on both sides (ResNet
    stages 2-4) and lose at 32-64."""
    return (tuple(k_hw) == (3, 3) and stride == (1, 1) and dilation == (1, 1) and groups == 1
            and max(max(padding[0]), max(padding[1])) <= 2
            and min(in_channels, out_channels) >= _MIN_CHANNELS)


def _tiles(out_hw):
    return (out_hw[0] + 1) // 2, (out_hw[1] + 1) // 2


def _input_transform(x, padding, tiles_hw, buffer):
    """B^T d B for every 4x4 tile (stride 2) of the padded input: (16, C, N * th * tw)."""
    n, c, h, w = x.shape
    th, tw = tiles_hw
    (top, _), (left, _) = padding
    # Zero beyond the padded input too: tiles of an odd output size reach one row past it.
    xp = buffer("winograd_padded", (c, n, 2 * th + 2, 2 * tw + 2), x.dtype)
    xp.fill(0)
    xp[:, :, top:top + h, left:left + w] = x.transpose(1, 0, 2, 3)
    d = [xp[:, :, k:k + 2 * th:2] for k in range(4)]
    r = buffer("winograd_rows", (4, c, n, th, 2 * tw + 2), x.dtype)
    _transform_bt(d, r)
    v = buffer("winograd_input", (4, 4, c, n, th, tw), x.dtype)
    for k in range(4):
        _transform_bt([r[k, ..., l:l + 2 * tw:2] for l in range(4)], v[k])
    return v.reshape(16, c, n * th * tw)


def _transform_bt(d, out):
    """out[0..3] = B^T applied along the list d of four strided views."""
    np.subtract(d[0], d[2], out=out[0])
    np.add(d[1], d[2], out=out[1])
    np.subtract(d[2], d[1], out=out[2])
    np.subtract(d[1], d[3], out=out[3])


def winograd_conv3x3(x, w, bias, padding, out_hw, buffer):
    """conv2d of x (N, C, H, W) with a 3x3 weight (O, C, 3, 3), stride 1, into a new NCHW array."""
    n, c = x.shape[:2]
    o = w.shape[0]
    th, tw = _tiles(out_hw)
    v = _input_transform(x, padding, (th, tw), buffer)
    g_matrix = _G.astype(x.dtype)
    u = np.ascontiguousarray((g_matrix @ w @ g_matrix.T).reshape(o, c, 16).transpose(2, 0, 1))
    m = buffer("winograd_product", (16, o, n * th * tw), x.dtype)
    np.matmul(u, v, out=m)
    m = m.reshape(4, 4, o, n, th, tw)
    # A^T along the first tile axis, then along the second, straight into the output blocks.
    s = buffer("winograd_rows_out", (2, 4, o, n, th, tw), x.dtype)
    np.add(m[0], m[1], out=s[0])
    s[0] += m[2]
    np.subtract(m[1], m[2], out=s[1])
    s[1] -= m[3]
    oh, ow = out_hw
    even = oh == 2 * th and ow == 2 * tw
    y = np.empty((n, o, 2 * th, 2 * tw), x.dtype) if even else buffer("winograd_out", (n, o, 2 * th, 2 * tw), x.dtype)
    blocks = y.reshape(n, o, th, 2, tw, 2).transpose(3, 5, 1, 0, 2, 4)  # (a, b, O, N, th, tw)
    for a in range(2):
        np.add(s[a, 0], s[a, 1], out=blocks[a, 0])
        blocks[a, 0] += s[a, 2]
        np.subtract(s[a, 1], s[a, 2], out=blocks[a, 1])
        blocks[a, 1] -= s[a, 3]
    if not even:
        y = y[:, :, :oh, :ow].copy()  # never a view of the scratch buffer, even when contiguous
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def winograd_conv3x3_backward_weight(x, g, padding, buffer):
    """The weight gradient (O, C, 3, 3) of winograd_conv3x3 for output gradient g (N, O, OH, OW)."""
    n, c = x.shape[:2]
    o, oh, ow = g.shape[1:]
    th, tw = _tiles((oh, ow))
    v = _input_transform(x, padding, (th, tw), buffer)
    # A dY A^T per 2x2 block of the output gradient (zero-extended to whole tiles).
    gp = buffer("winograd_grad", (o, n, 2 * th, 2 * tw), g.dtype)
    if (oh, ow) != (2 * th, 2 * tw):
        gp.fill(0)
    gp[:, :, :oh, :ow] = g.transpose(1, 0, 2, 3)
    q = buffer("winograd_grad_rows", (4, o, n, th, 2 * tw), g.dtype)
    _transform_a([gp[:, :, a::2] for a in range(2)], q)
    gt = buffer("winograd_product", (4, 4, o, n, th, tw), g.dtype)
    for k in range(4):
        _transform_a([q[k, ..., b::2] for b in range(2)], gt[k])
    gu = np.matmul(gt.reshape(16, o, n * th * tw), v.transpose(0, 2, 1))
    g_matrix = _G.astype(x.dtype)
    return g_matrix.T @ gu.reshape(4, 4, o, c).transpose(2, 3, 0, 1) @ g_matrix


def _transform_a(g, out):
    """out[0..3] = A applied to the pair g of strided views: (g0, g0 + g1, g0 - g1, -g1)."""
    out[0] = g[0]
    np.add(g[0], g[1], out=out[1])
    np.subtract(g[0], g[1], out=out[2])
    np.negative(g[1], out=out[3])
