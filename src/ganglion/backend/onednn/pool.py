"""2-D max and average pooling on oneDNN's pooling primitives, with the signatures and results
of the NumPy backend's kernels (backend/pool.py, as numpy_backend.py calls them).

Max pooling's training primitive writes, per window, the number of the tap holding the maximum
(row-major in the window, padding taps counted, the first of equal maxima) into its workspace:
for plain NCHW data that workspace is an (N, C, OH, OW) uint8 array with exactly the values of
ganglion's argmax (``max_pool2d_argmax``, int8), so the backward primitive scatters through
either. PyTorch's ceil_mode is expressed as extra right/bottom padding that makes oneDNN's
output size PyTorch's; oneDNN ignores padded taps in max pooling and in average pooling that
excludes padding, as PyTorch does. Average pooling that counts padding divides by kh*kw
everywhere in oneDNN, which is PyTorch's rule only without ceil_mode's extra padding, and a
``divisor_override`` has no oneDNN form: ``supports_avg_pool2d`` is False for both.

Data stays in NCHW (oneDNN's pooling runs on plain layouts directly): no reorders.
"""
import numpy as np

from ganglion.backend import array_cache
from ganglion.backend.onednn import _capi, _runtime, library

__all__ = ["outside_max_pooling", "supports_max_pool2d", "supports_avg_pool2d",
           "prefers_max_pool2d_scatter", "max_pool2d", "max_pool2d_argmax", "max_pool2d_with_argmax",
           "max_pool2d_scatter", "avg_pool2d", "avg_pool2d_backward"]

# oneDNN's workspace holds uint8 tap numbers below 256 taps; ganglion's argmax is int8 up to
# 127 taps (int32 above), so larger windows stay with the NumPy kernels.
_MAX_TAPS = 127


def _output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output length (backend/pool.py's pool_output_size)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = (span + stride - 1) // stride + 1
        if out > 0 and (out - 1) * stride >= size + padding:
            out -= 1
        return max(out, 0)
    return span // stride + 1 if span >= 0 else 0


class _Geometry:
    """oneDNN's dims of one pooling: PyTorch's output size, with the right/bottom padding that
    gives oneDNN the same size (larger than the left/top one only under ceil_mode)."""

    def __init__(self, in_shape, kernel, stride, padding, dilation, ceil_mode):
        self.in_shape = tuple(int(d) for d in in_shape)
        sizes = self.in_shape[2:]
        self.out_hw = tuple(_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                            zip(sizes, kernel, stride, padding, dilation))
        self.out_shape = self.in_shape[:2] + self.out_hw
        right = []
        for n, k, s, p, d, out in zip(sizes, kernel, stride, padding, dilation, self.out_hw):
            extent = d * (k - 1) + 1
            right.append(p if (n + 2 * p - extent) // s + 1 == out else (out - 1) * s + extent - n - p)
        self.extra_padding = any(r != p for r, p in zip(right, padding))
        self.strides, self.kernel = _capi.dims(stride), _capi.dims(kernel)
        self.dilation = _capi.dims(d - 1 for d in dilation)
        self.padding_l, self.padding_r = _capi.dims(padding), _capi.dims(right)

    def args(self):
        return self.strides, self.kernel, self.dilation, self.padding_l, self.padding_r

    def describe(self):
        return f"input {self.in_shape}, output {self.out_shape}"


def _valid(shape, dtype, kernel, stride, padding, dilation, ceil_mode):
    if not library.usable():
        return False
    if np.dtype(dtype) != np.float32 or len(shape) != 4 or shape[0] < 1 or shape[1] < 1:
        return False
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        return False
    # PyTorch's rule: padding at most half the kernel (a window then always meets the input).
    if any(2 * p > k for p, k in zip(padding, kernel)):
        return False
    return all(_output_size(n, k, s, p, d, ceil_mode) >= 1 for n, k, s, p, d in
               zip(shape[2:], kernel, stride, padding, dilation))


def supports_max_pool2d(shape, dtype, kernel, stride, padding, dilation, ceil_mode):
    """Whether the oneDNN kernels run this max pooling (all of max_pool2d, max_pool2d_argmax,
    max_pool2d_scatter): float32 (N, C, H, W) input with N >= 1, at most 127 taps, padding at
    most half the kernel, a non-empty output."""
    return (kernel[0] * kernel[1] <= _MAX_TAPS
            and _valid(shape, dtype, kernel, stride, padding, dilation, ceil_mode))


def supports_avg_pool2d(shape, dtype, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    """Whether the oneDNN kernels run this average pooling (forward and backward): as for max
    pooling, without divisor_override, and where padding is counted, without ceil_mode's
    extra padding (oneDNN would count it too)."""
    if divisor_override or not _valid(shape, dtype, kernel, stride, padding, (1, 1), ceil_mode):
        return False
    if count_include_pad and any(padding):
        return not _Geometry(shape, kernel, stride, padding, (1, 1), ceil_mode).extra_padding
    return True


def prefers_max_pool2d_scatter(in_shape, kernel, stride, padding, dilation, ceil_mode):
    """Whether oneDNN's scatter is the faster one, given that it applies: only where windows
    overlap. Where they do not (2x2 stride 2), each input gets at most one gradient and the
    NumPy backend's scatter (numba's 2x2 loops) was faster: 0.17 ms against 0.53 on LeNet's
    pool, 1.6 against 3.0 on the CIFAR CNN's first (1 thread); with 3x3 stride-2 windows
    oneDNN took 3.6 ms against 30."""
    return any(s <= d * (k - 1) for s, d, k in zip(stride, dilation, kernel))


def _forward_pd(geometry, algorithm, training):
    src = _runtime.MemoryDesc(geometry.in_shape)
    dst = _runtime.MemoryDesc(geometry.out_shape)
    pd = _runtime.PrimitiveDesc(
        "dnnl_pooling_forward_primitive_desc_create",
        _capi.FORWARD_TRAINING if training else _capi.FORWARD_INFERENCE, algorithm,
        src.handle, dst.handle, *geometry.args(), None, detail=geometry.describe())
    return pd, src, dst


def _forward_plan(geometry, algorithm, argmax):
    pd, src, dst = _forward_pd(geometry, algorithm, training=argmax)
    bindings = [(_capi.ARG_SRC, "x", src, False), (_capi.ARG_DST, "y", dst, True)]
    if argmax:
        workspace = _runtime.MemoryDesc(geometry.out_shape, np.uint8)
        bindings.append((_capi.ARG_WORKSPACE, "arg", workspace, True))
    return _runtime.Plan(pd, bindings)


def _backward_plan(geometry, algorithm):
    hint = _forward_pd(geometry, algorithm, training=True)[0]
    diff_src = _runtime.MemoryDesc(geometry.in_shape)
    diff_dst = _runtime.MemoryDesc(geometry.out_shape)
    pd = _runtime.PrimitiveDesc(
        "dnnl_pooling_backward_primitive_desc_create", algorithm, diff_src.handle,
        diff_dst.handle, *geometry.args(), hint.handle, None, detail=geometry.describe())
    bindings = [(_capi.ARG_DIFF_DST, "g", diff_dst, False), (_capi.ARG_DIFF_SRC, "gx", diff_src, True)]
    if algorithm == _capi.POOLING_MAX:
        workspace = _runtime.MemoryDesc(geometry.out_shape, np.uint8)
        bindings.append((_capi.ARG_WORKSPACE, "arg", workspace, False))
    return _runtime.Plan(pd, bindings, keep=[hint])


def _plan(kind, in_shape, geometry_args, algorithm):
    key = (kind, tuple(in_shape), algorithm) + tuple(tuple(a) if isinstance(a, (tuple, list)) else a
                                                      for a in geometry_args)

    def build():
        geometry = _Geometry(in_shape, *geometry_args)
        if kind == "backward":
            return _backward_plan(geometry, algorithm)
        return _forward_plan(geometry, algorithm, argmax=kind == "forward_argmax")
    return _runtime.cached_plan(key, build)


def _out_shape(in_shape, kernel, stride, padding, dilation, ceil_mode):
    return tuple(in_shape[:2]) + tuple(_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
                                       zip(in_shape[2:], kernel, stride, padding, dilation))


def _expect_shape(name, what, actual, expected):
    """oneDNN reads as many elements as the plan's shapes say: check the arrays it does not
    take its shapes from (a wrong-sized one would be read past its end)."""
    if tuple(actual) != tuple(expected):
        raise ValueError(f"onednn.{name}: {what} has shape {tuple(actual)}, expected {tuple(expected)}")


def _check(name, supported, description):
    library.check_usable()
    if not supported:
        raise ValueError(f"onednn.{name}: unsupported pooling ({description}); check the "
                         f"supports_* predicate first")


def outside_max_pooling(values):
    """Whether float array ``values`` holds NaN or -inf, found in one vectorized pass (a minimum
    is NaN if any value is). oneDNN's max pooling skips NaN and starts each window at -FLT_MAX,
    so a window holding NaN does not give NaN and one of only -inf gives -FLT_MAX, where
    PyTorch and the NumPy kernels give NaN and -inf: such inputs are not for it."""
    if values.size == 0:
        return False
    low = np.min(values)
    return bool(np.isnan(low)) or low == -np.inf


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """The maximum of each window of x (N, C, H, W) (for x without NaN or -inf:
    ``outside_max_pooling``)."""
    geometry = (kernel, stride, padding, dilation, ceil_mode)
    _check("max_pool2d", supports_max_pool2d(x.shape, x.dtype, *geometry),
           f"input {x.shape} {x.dtype}, kernel {kernel}, stride {stride}, padding {padding}")
    plan = _plan("forward", x.shape, geometry, _capi.POOLING_MAX)
    out = array_cache.empty(_out_shape(x.shape, *geometry), np.float32)
    plan.run(x=np.ascontiguousarray(x), y=out)
    return out


def max_pool2d_with_argmax(x, kernel, stride, padding, dilation, ceil_mode):
    """(maximum of each window, its argmax as max_pool2d_argmax gives it) in one pass."""
    geometry = (kernel, stride, padding, dilation, ceil_mode)
    _check("max_pool2d_with_argmax", supports_max_pool2d(x.shape, x.dtype, *geometry),
           f"input {x.shape} {x.dtype}, kernel {kernel}, stride {stride}, padding {padding}")
    plan = _plan("forward_argmax", x.shape, geometry, _capi.POOLING_MAX)
    out_shape = _out_shape(x.shape, *geometry)
    out = array_cache.empty(out_shape, np.float32)
    arg = np.empty(out_shape, np.uint8)
    plan.run(x=np.ascontiguousarray(x), y=out, arg=arg)
    return out, arg.view(np.int8)


def max_pool2d_argmax(x, out, kernel, stride, padding, dilation, ceil_mode):
    """Per window, the number (int8, row-major in the window) of the first tap holding the
    window's maximum; ``out`` (the pooled values) is not needed: the pass recomputes it."""
    return max_pool2d_with_argmax(x, kernel, stride, padding, dilation, ceil_mode)[1]


def max_pool2d_scatter(grad, arg, in_shape, kernel, stride, padding, dilation, ceil_mode):
    """The input gradient of max pooling: each window's gradient added at its argmax."""
    geometry = (kernel, stride, padding, dilation, ceil_mode)
    _check("max_pool2d_scatter", supports_max_pool2d(in_shape, grad.dtype, *geometry),
           f"input {tuple(in_shape)} {grad.dtype}, kernel {kernel}, stride {stride}, padding {padding}")
    out_shape = _out_shape(in_shape, *geometry)
    _expect_shape("max_pool2d_scatter", "gradient", grad.shape, out_shape)
    _expect_shape("max_pool2d_scatter", "argmax", arg.shape, out_shape)
    if arg.dtype.itemsize != 1 or arg.dtype.kind not in "iu":
        raise ValueError(f"onednn.max_pool2d_scatter: argmax has dtype {arg.dtype}, expected int8 "
                         f"tap numbers (max_pool2d_argmax's)")
    plan = _plan("backward", in_shape, geometry, _capi.POOLING_MAX)
    grad_input = array_cache.empty(tuple(in_shape), np.float32)
    plan.run(g=np.ascontiguousarray(grad), arg=np.ascontiguousarray(arg).view(np.uint8), gx=grad_input)
    return grad_input


def _avg_algorithm(count_include_pad, padding):
    """oneDNN's algorithm for PyTorch's divisor rule. Without padding, counting it changes
    nothing but under ceil_mode, where PyTorch does not count the extra padding either: both
    are then oneDNN's exclude-padding rule."""
    if count_include_pad and any(padding):
        return _capi.POOLING_AVG_INCLUDE_PADDING
    return _capi.POOLING_AVG_EXCLUDE_PADDING


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """The mean of each window, PyTorch's divisor rule (count_include_pad)."""
    _check("avg_pool2d", supports_avg_pool2d(x.shape, x.dtype, kernel, stride, padding, ceil_mode,
                                             count_include_pad, divisor_override),
           f"input {x.shape} {x.dtype}, kernel {kernel}, stride {stride}, padding {padding}, "
           f"ceil_mode {ceil_mode}, count_include_pad {count_include_pad}, divisor_override "
           f"{divisor_override}")
    geometry = (kernel, stride, padding, (1, 1), ceil_mode)
    plan = _plan("forward", x.shape, geometry, _avg_algorithm(count_include_pad, padding))
    out = array_cache.empty(_out_shape(x.shape, *geometry), np.float32)
    plan.run(x=np.ascontiguousarray(x), y=out)
    return out


def avg_pool2d_backward(grad, in_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    """Each window's gradient, divided as in the forward pass, spread over its inputs."""
    _check("avg_pool2d_backward", supports_avg_pool2d(in_shape, grad.dtype, kernel, stride, padding,
                                                      ceil_mode, count_include_pad, divisor_override),
           f"input {tuple(in_shape)} {grad.dtype}, kernel {kernel}, stride {stride}, padding "
           f"{padding}, ceil_mode {ceil_mode}, count_include_pad {count_include_pad}")
    geometry = (kernel, stride, padding, (1, 1), ceil_mode)
    _expect_shape("avg_pool2d_backward", "gradient", grad.shape, _out_shape(in_shape, *geometry))
    plan = _plan("backward", in_shape, geometry, _avg_algorithm(count_include_pad, padding))
    grad_input = array_cache.empty(tuple(in_shape), np.float32)
    plan.run(g=np.ascontiguousarray(grad), gx=grad_input)
    return grad_input
