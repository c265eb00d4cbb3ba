"""NumPy kernels for pooling and resampling over the last two axes of an array.

Every pooling window holds the same kh*kw taps shifted by the stride, so the kernels loop over
the taps, never over pixels: tap (i, j) of all windows at once is one strided view of the
input, with (a block of) the output's shape. Max pooling keeps, per window, the index of the first
tap that holds the maximum (the "argmax", in row-major window order, which is PyTorch's tie
rule); its backward writes the gradient through that argmax one tap at a time. When windows do
not overlap, no input receives two gradients and each tap's view is written, not added to;
when they overlap, each tap's view is added to: nothing like ``np.add.at`` is needed. Padding
is never copied: a tap reads only the windows in which it falls inside the input.

Adaptive pooling and interpolation that do not reduce to a regular pool are separable linear
maps (or, for adaptive max, a gather): their kernels build the small per-axis tables.

These are the NumPy reference kernels. The numba provider (backend/numba_provider.py) runs max
pooling's maximum, argmax and scatter of float32 and float64 arrays as compiled loops over one
image plane at a time instead (backend/pool_loops.py: the same per-tap passes, each in the L1
cache), and 2x2 stride-2 windows in backend/nn_loops.py.
"""
import numpy as np

from ganglion.backend import array_cache

__all__ = ["pool_output_size", "max_pool2d", "max_pool2d_argmax", "max_pool2d_scatter",
           "max_pool2d_gather", "max_pool2d_indices", "avg_pool2d", "avg_pool2d_backward",
           "adaptive_max_pool2d_indices", "adaptive_avg_matrix", "interpolation_matrix"]


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's output length of a pooling axis (ceil mode drops a last window that would
    start inside the right padding)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        # PyTorch: floor((span + stride - 1) / stride) + 1, so a window longer than the padded
        # input still gives one output when it starts inside (a 2x2 map, 3x3 kernel, stride 2)
        out = (span + stride - 1) // stride + 1
        if out > 0 and (out - 1) * stride >= size + padding:
            out -= 1
        return max(out, 0)
    if span < 0:
        return 0
    return span // stride + 1


def _tap_range(size, out, stride, padding, offset):
    """The windows whose tap at ``offset`` lands inside the input (not in padding), as an output
    slice, and the input positions they read, as a strided input slice."""
    first = max(0, -(-(padding - offset) // stride))
    last = min(out - 1, (size - 1 + padding - offset) // stride)
    if last < first:
        return None
    start = first * stride - padding + offset
    return slice(first, last + 1), slice(start, start + (last - first) * stride + 1, stride)


class _Geometry:
    """Sizes shared by a pooling kernel's passes, and each tap's output block and input view.

    Padding is never materialized: each tap reads only the windows for which it lands inside
    the input, so no padded copy of the input (or of its gradient) is made.

    When windows overlap with a stride above one (ResNet's 3x3 stride-2 pool), the input is
    first split into its stride phases (rows a, a + sh, ...; columns b, b + sw, ...), each
    copied once into a contiguous plane: every tap is then a unit-stride slice of one plane,
    and a gradient is summed per plane and written into the input once (faster than strided
    views: each tap's rows are then contiguous).
    """

    __slots__ = ("in_hw", "out_hw", "kernel", "stride", "padding", "dilation", "blocks", "phased")

    def __init__(self, in_hw, kernel, stride, padding, dilation, ceil_mode):
        self.in_hw = in_hw
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.out_hw = tuple(pool_output_size(n, k, s, p, d, ceil_mode)
                            for n, k, s, p, d in zip(in_hw, kernel, stride, padding, dilation))
        if 0 in self.out_hw:
            raise ValueError("pooling: empty output")  # the op's infer() names the sizes
        self.phased = not self.disjoint() and max(stride) > 1
        (kh, kw), (dh, dw) = kernel, dilation
        # (tap number in row-major window order, output block, source key, source block): the
        # source is the input itself (key None) or, phased, the plane of phase key = (a, b).
        self.blocks = []
        for i in range(kh):
            rows = _tap_range(in_hw[0], self.out_hw[0], stride[0], padding[0], i * dh)
            for j in range(kw):
                cols = _tap_range(in_hw[1], self.out_hw[1], stride[1], padding[1], j * dw)
                if rows is None or cols is None:
                    continue
                out_block = (Ellipsis, rows[0], cols[0])
                if self.phased:
                    (a, row_block), (b, col_block) = _phase(rows), _phase(cols)
                    self.blocks.append((i * kw + j, out_block, (a, b),
                                        (Ellipsis, row_block, col_block)))
                else:
                    self.blocks.append((i * kw + j, out_block, None, (Ellipsis, rows[1], cols[1])))

    def sources(self, x):
        """What the source keys of ``blocks`` name: the input, or its contiguous phase planes."""
        if not self.phased:
            return {None: x}
        sh, sw = self.stride
        return {key: np.ascontiguousarray(x[..., key[0]::sh, key[1]::sw])
                for key in {block[2] for block in self.blocks}}

    def full_block(self):
        """Index in ``blocks`` of a tap that every window reads inside the input, or None."""
        full = (Ellipsis, slice(0, self.out_hw[0]), slice(0, self.out_hw[1]))
        for k, block in enumerate(self.blocks):
            if block[1] == full:
                return k
        return None

    def first_pass(self, x, sources, fill):
        """The output initialized from a tap that covers every window (a copy), or ``fill``;
        and the blocks still to combine into it."""
        k = self.full_block()
        out = array_cache.empty(x.shape[:-2] + self.out_hw, x.dtype)
        if k is None:
            out.fill(fill)
            return out, self.blocks
        _, _, key, block = self.blocks[k]
        np.copyto(out, sources[key][block])
        return out, self.blocks[:k] + self.blocks[k + 1:]

    def disjoint(self):
        """True when no two windows share an input: each input then gets at most one gradient."""
        return all(s > d * (k - 1) for s, d, k in zip(self.stride, self.dilation, self.kernel))

    def tiles(self):
        """True when the windows cover every input exactly once (kernel == stride, no padding)."""
        return self.disjoint() and self.padding == (0, 0) and all(
            o * k == n and s == k and d == 1 for o, k, n, s, d in
            zip(self.out_hw, self.kernel, self.in_hw, self.stride, self.dilation))

    def input_buffer(self, shape, dtype):
        """Where a gradient w.r.t. the input is written: zeros unless every input is written."""
        return array_cache.empty(shape, dtype) if self.tiles() else array_cache.zeros(shape, dtype)

    def spread(self, parts, in_shape, dtype, add):
        """The input gradient from each tap's output-shaped part: ``parts`` yields (block,
        part); a part is written (or added, when windows overlap) where its tap reads."""
        if not self.phased:
            grad_input = self.input_buffer(in_shape, dtype)
            for (_, _, _, block), part in parts:
                if add:
                    grad_input[block] += part
                else:
                    grad_input[block] = part
            return grad_input
        # Sum into contiguous phase planes first; each input is then written exactly once.
        (sh, sw), (h, w) = self.stride, self.in_hw
        planes = {}
        for (_, _, key, block), part in parts:
            if key not in planes:
                planes[key] = np.zeros(tuple(in_shape[:-2]) + (-(-(h - key[0]) // sh),
                                                               -(-(w - key[1]) // sw)), dtype)
            planes[key][block] += part
        grad_input = (array_cache.empty if len(planes) == sh * sw else array_cache.zeros)(in_shape, dtype)
        for (a, b), plane in planes.items():
            grad_input[..., a::sh, b::sw] = plane
        return grad_input


def _phase(tap_range):
    """A tap's strided input slice as (phase, contiguous slice of that phase's plane)."""
    step = tap_range[1].step
    start, count = tap_range[1].start, tap_range[0].stop - tap_range[0].start
    return start % step, slice(start // step, start // step + count)


def _geometry(x_shape, kernel, stride, padding, dilation=(1, 1), ceil_mode=False):
    return _Geometry(tuple(x_shape[-2:]), kernel, stride, padding, dilation, ceil_mode)


geometry = _geometry

# The numba provider splits planes over the cores only where each gets at least this many
# input elements (below it the hand-off to a pool thread costs more than it saves).
SPLIT_ELEMENTS = 1 << 15


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """The maximum of each window (NaN propagates, as in PyTorch)."""
    g = _geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    sources = g.sources(x)
    out, blocks = g.first_pass(x, sources, -np.inf)
    for _, out_block, key, block in blocks:
        target = out[out_block]
        np.maximum(target, sources[key][block], out=target)
    return out


def argmax_dtype(kernel):
    return np.int8 if kernel[0] * kernel[1] <= 127 else np.int32


def max_pool2d_argmax(x, out, kernel, stride, padding, dilation, ceil_mode):
    """Per window, the number of the first tap (row-major) whose value equals the window's max.

    A window whose max is NaN matches no tap and reports the last one (PyTorch would point at
    the NaN): its gradient is then lost, a case not worth a slower comparison on every tap.
    """
    g = _geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    dtype = argmax_dtype(kernel)
    sources = g.sources(x)
    arg = np.full(out.shape, kernel[0] * kernel[1] - 1, dtype)
    hit = np.empty(out.shape, bool)
    step = np.empty(out.shape, dtype)
    # Walking the taps backwards, each hit moves the argmax down to that tap: the first hit wins.
    # (Every window's max lies inside the input, so a tap in the padding never has to win.)
    # Integer arithmetic, arg -= (arg - tap) * hit, is much faster than a masked copy.
    for tap, out_block, key, block in reversed(g.blocks):
        block_hit, block_step, block_arg = hit[out_block], step[out_block], arg[out_block]
        np.equal(sources[key][block], out[out_block], out=block_hit)
        np.subtract(block_arg, tap, out=block_step)
        block_step *= block_hit.view(np.int8) if dtype == np.int8 else block_hit
        block_arg -= block_step
    return arg


def max_pool2d_scatter(grad, arg, in_shape, kernel, stride, padding, dilation, ceil_mode):
    """The input gradient of max pooling: each window's gradient goes to its argmax."""
    g = _geometry(in_shape, kernel, stride, padding, dilation, ceil_mode)
    hit = np.empty(arg.shape, bool)
    share = np.empty(grad.shape, grad.dtype)  # reused: a fresh temporary per tap page-faults

    def parts():
        for tap_block in g.blocks:
            tap, out_block = tap_block[:2]
            block_hit, block_share = hit[out_block], share[out_block]
            np.equal(arg[out_block], tap, out=block_hit)
            np.multiply(grad[out_block], block_hit, out=block_share)
            yield tap_block, block_share
    return g.spread(parts(), in_shape, grad.dtype, add=not g.disjoint())


def max_pool2d_gather(values, arg, kernel, stride, padding, dilation, ceil_mode):
    """``values`` (input-shaped) read at each window's argmax: the adjoint of the scatter."""
    g = _geometry(values.shape, kernel, stride, padding, dilation, ceil_mode)
    sources = g.sources(values)
    out = np.zeros(arg.shape, values.dtype)
    for tap, out_block, key, block in g.blocks:
        np.copyto(out[out_block], sources[key][block], where=arg[out_block] == tap)
    return out


def max_pool2d_indices(arg, in_shape, kernel, stride, padding, dilation, ceil_mode):
    """The argmax as PyTorch's ``return_indices`` gives it: flat positions in the H*W plane."""
    g = _geometry(in_shape, kernel, stride, padding, dilation, ceil_mode)
    (oh, ow), (sh, sw), (ph, pw) = g.out_hw, g.stride, g.padding
    (kw, (dh, dw)), w = (g.kernel[1], g.dilation), g.in_hw[1]
    arg = arg.astype(np.int64)
    rows = (np.arange(oh) * sh - ph)[:, None] + (arg // kw) * dh
    cols = (np.arange(ow) * sw - pw) + (arg % kw) * dw
    return rows * w + cols


def _avg_scale(g, count_include_pad, divisor_override, dtype):
    """What each window's sum is multiplied by: a number, or an (OH, OW) array near borders."""
    if divisor_override:
        return dtype.type(1.0 / divisor_override)
    sizes = []
    for n, o, k, s, p in zip(g.in_hw, g.out_hw, g.kernel, g.stride, g.padding):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)
        if count_include_pad:
            sizes.append(end - start)
        else:
            sizes.append(np.minimum(end, n) - np.maximum(start, 0))
    divisor = sizes[0][:, None] * sizes[1][None, :]
    if (divisor == divisor.flat[0]).all():
        return dtype.type(1.0 / divisor.flat[0])
    return (1.0 / divisor).astype(dtype)


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    g = _geometry(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    sources = g.sources(x)
    out, blocks = g.first_pass(x, sources, 0)
    for _, out_block, key, block in blocks:
        out[out_block] += sources[key][block]
    out *= _avg_scale(g, count_include_pad, divisor_override, x.dtype)
    return out


def avg_pool2d_backward(grad, in_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    """Each window's gradient, scaled as in the forward pass, spread over the window's inputs."""
    g = _geometry(in_shape, kernel, stride, padding, (1, 1), ceil_mode)
    share = grad * _avg_scale(g, count_include_pad, divisor_override, grad.dtype)
    parts = ((tap_block, share[tap_block[1]]) for tap_block in g.blocks)
    return g.spread(parts, in_shape, grad.dtype, add=not g.disjoint())


def _adaptive_bounds(size, out):
    """PyTorch's adaptive windows: [floor(i*size/out), ceil((i+1)*size/out)) for each output i."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def adaptive_max_pool2d_indices(x, out_hw):
    """Flat H*W positions of each adaptive window's first maximum (row-major, as PyTorch).

    Windows differ in size; each tap position past a window's end repeats its last element,
    which never beats the first occurrence under the strict comparison.
    """
    h, w = x.shape[-2:]
    (h0, h1), (w0, w1) = _adaptive_bounds(h, out_hw[0]), _adaptive_bounds(w, out_hw[1])
    best, index = None, None
    for i in range(int((h1 - h0).max())):
        rows = np.minimum(h0 + i, h1 - 1)[:, None]
        for j in range(int((w1 - w0).max())):
            cols = np.minimum(w0 + j, w1 - 1)[None, :]
            values = x[..., rows, cols]
            flat = np.broadcast_to(rows * w + cols, values.shape)
            if best is None:
                best, index = values.copy(), flat.copy()
                continue
            better = values > best
            np.copyto(best, values, where=better)
            np.copyto(index, flat, where=better)
    return index


def adaptive_avg_matrix(size, out, dtype):
    """(out, size) matrix whose row i averages adaptive window i: pooling along one axis."""
    start, end = _adaptive_bounds(size, out)
    columns = np.arange(size)
    inside = (columns >= start[:, None]) & (columns < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def interpolation_matrix(size, out, mode, align_corners, scale, dtype):
    """(out, size) matrix of PyTorch's 1-D interpolation along one axis.

    ``scale`` is the user's scale factor (None when an output size was given); like PyTorch,
    source coordinates use it rather than size/out when it is given.
    """
    if out == size and mode != "nearest":  # PyTorch copies the input, whatever the scale
        return np.eye(size, dtype=dtype)
    matrix = np.zeros((out, size), np.float64)
    rows = np.arange(out)
    ratio = (1.0 / scale) if scale else size / out
    if mode == "nearest":
        # PyTorch's sources, bit for bit: floor(i * float32(1 / scale)) for a scale factor,
        # exactly floor(i * size / out) for a size (checked against it over many sizes).
        if scale:
            source = np.floor(rows.astype(np.float32) * np.float32(ratio)).astype(np.int64)
        else:
            source = rows * size // out
        source = np.minimum(source, size - 1)
        matrix[rows, source] = 1.0
        return matrix.astype(dtype)
    if align_corners:
        position = rows * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    else:
        position = np.maximum((rows + 0.5) * ratio - 0.5, 0.0)
    low = np.minimum(np.floor(position).astype(np.int64), size - 1)
    high = np.minimum(low + 1, size - 1)
    weight = position - low
    np.add.at(matrix, (rows, low), 1.0 - weight)
    np.add.at(matrix, (rows, high), weight)
    return matrix.astype(dtype)
