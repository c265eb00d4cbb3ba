"""2-D convolution kernels on oneDNN's convolution primitives, with the signatures and results
of the NumPy backend's (backend/conv.py): forward, input gradient, weight gradient (and the
bias gradient with it).

Each call runs a cached plan (``_runtime``): the primitive chosen by oneDNN for format tag
``any`` and reorders between NumPy's NCHW / OIHW arrays and its blocked layouts (1x1
convolutions keep NCHW activations: see ``_Geometry.activation_descs``). The forward
primitive is made for ``forward_training`` and also serves as the hint of the backward ones,
as PyTorch does. Grouped weights are (G, O/G, C/G, kh, kw), the same memory as OIHW.
oneDNN counts dilation from 0 (``dilation - 1``) and pads each side separately, so the
NumPy kernels' ((top, bottom), (left, right)) padding, 'same' with even kernels included,
maps onto padding_l / padding_r directly.

Inside ``frozen_weights()`` the forward kernel keeps each weight array's blocked copy and reuses
it while the same array object is passed again, instead of reordering it on every call (the
weight reorder is most of the time of a convolution over few pixels: 0.8 of 1.05 ms for a
512->512 3x3 layer on a 1x1 input). A raw ndarray carries no change stamp that in-place
writes are guaranteed to bump (optimizers and ``Tensor.data`` write through NumPy), so the
copies are only kept where the caller promises that the weights do not change, and all are
dropped when the outermost block exits.

Only float32 (oneDNN's CPU convolutions have no float64), 4-D, non-empty batches and outputs:
``supports_conv2d`` says when these kernels apply; the callers run the NumPy ones otherwise.
"""
import threading
import weakref
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from ganglion.backend import array_cache
from ganglion.backend.onednn import _capi, _runtime, library

__all__ = ["supports_conv2d", "frozen_weights", "frozen_weight_count", "conv2d_forward", "conv2d_backward_input",
           "conv2d_backward_weight", "conv2d_backward_weight_bias"]


# Whether pointwise (1x1, unpadded) convolutions run on plain NCHW (see activation_descs);
# a list so that tests and benchmarks can compare both.
PLAIN_POINTWISE = [True]


# Depth of nested frozen_weights() blocks, and the blocked weight copies kept while it is > 0:
# (plan key, id of the array, its address, strides) -> (weak reference to the array, buffer).
_frozen_depth = [0]
_frozen_lock = threading.Lock()
_frozen = OrderedDict()
# Copies kept at most (least recently used dropped): ResNet-18's convolutions need 20.
FROZEN_CACHE_SIZE = 256


@contextmanager
def frozen_weights():
    """Within the block, the caller promises that no weight array passed to ``conv2d_forward``
    is written (inference): each one's conversion to oneDNN's layout is made once and reused
    while the same array object comes back. Blocks nest; the copies are freed when the
    outermost one exits. Without the promise there is no safe cache key: an in-place update
    of a weight leaves the array's identity, address and every flag as they were."""
    with _frozen_lock:
        _frozen_depth[0] += 1
    try:
        yield
    finally:
        with _frozen_lock:
            _frozen_depth[0] -= 1
            if not _frozen_depth[0]:
                _frozen.clear()


def frozen_weight_count():
    """How many blocked weight copies ``frozen_weights`` holds now."""
    return len(_frozen)


def _frozen_weight(plan, key, w):
    """The blocked copy of weight array ``w`` for ``plan`` (made on first use), or None where
    the primitive reads the plain array."""
    # (the thread count too: plans, and so possibly their weight layouts, are per thread count)
    entry_key = (key, library.num_threads(), id(w), w.ctypes.data, w.strides)
    with _frozen_lock:
        entry = _frozen.get(entry_key)
        if entry is not None and entry[0]() is w:
            _frozen.move_to_end(entry_key)
            return entry[1]
    buffer = plan.prepare("w", w)
    if buffer is None:
        return None
    with _frozen_lock:
        if _frozen_depth[0]:
            # (the reference is weak: a freed array's id may be reused by a new one)
            _frozen[entry_key] = (weakref.ref(w), buffer)
            while len(_frozen) > FROZEN_CACHE_SIZE:
                _frozen.popitem(last=False)
    return buffer


def _output_size(size, kernel, stride, padding, dilation):
    return (size + padding[0] + padding[1] - dilation * (kernel - 1) - 1) // stride + 1


def supports_conv2d(x_shape, w_shape, dtype, stride, padding, dilation, groups):
    """Whether the oneDNN kernels run this convolution: float32, x (N, C, H, W) with N >= 1,
    w (O, C/groups, kh, kw), non-negative padding, positive stride and dilation, and an output
    of at least one pixel. (Applies to all three kernels of the convolution.)"""
    if not library.usable():
        return False
    if np.dtype(dtype) != np.float32 or len(x_shape) != 4 or len(w_shape) != 4:
        return False
    n, c, h, w = x_shape
    o, cg, kh, kw = w_shape
    if n < 1 or groups < 1 or c != cg * groups or o % groups or min(c, o, kh, kw) < 1:
        return False
    if min(stride) < 1 or min(dilation) < 1 or min(min(side) for side in padding) < 0:
        return False
    return all(_output_size(size, k, s, p, d) >= 1 for size, k, s, p, d in
               zip((h, w), (kh, kw), stride, padding, dilation))


class _Geometry:
    """The descriptors' dims of one convolution."""

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups):
        n, c, h, w = x_shape
        o, cg, kh, kw = w_shape
        self.x_shape = (n, c, h, w)
        self.out_hw = tuple(_output_size(size, k, s, p, d) for size, k, s, p, d in
                            zip((h, w), (kh, kw), stride, padding, dilation))
        self.y_shape = (n, o) + self.out_hw
        self.w_shape = (o, cg, kh, kw) if groups == 1 else (groups, o // groups, cg, kh, kw)
        self.o = o
        self.pointwise = (kh, kw) == (1, 1) and not any(padding[0]) and not any(padding[1])
        self.strides = _capi.dims(stride)
        self.dilates = _capi.dims(d - 1 for d in dilation)
        self.padding_l = _capi.dims(side[0] for side in padding)
        self.padding_r = _capi.dims(side[1] for side in padding)

    def geometry(self):
        return self.strides, self.dilates, self.padding_l, self.padding_r

    def describe(self):
        return f"input {self.x_shape}, weight {self.w_shape}, output {self.y_shape}"

    def activation_descs(self):
        """Descriptors of (x, y) for the primitive: oneDNN's choice (format ``any``, blocked
        channels, reordered to and from NCHW), or plain NCHW for pointwise convolutions, whose
        GEMM implementation on NCHW needs no reorders: 2-4x faster than the blocked 1x1 kernel
        with its reorders on MobileNetV2's 1x1 layers, where the reorders cost more than the
        convolution. (3x3 layers are faster blocked, reorders included.)"""
        blocked = not (self.pointwise and PLAIN_POINTWISE[0])
        return (_runtime.MemoryDesc(self.x_shape, any_layout=blocked),
                _runtime.MemoryDesc(self.y_shape, any_layout=blocked))

    def forward_pd(self, bias):
        any_ = _runtime.MemoryDesc
        x, y = self.activation_descs()
        self._keep = [x, any_(self.w_shape, any_layout=True), any_((self.o,)) if bias else None, y]
        x, w, b, y = (None if m is None else m.handle for m in self._keep)
        return _runtime.PrimitiveDesc(
            "dnnl_convolution_forward_primitive_desc_create", _capi.FORWARD_TRAINING,
            _capi.CONVOLUTION_DIRECT, x, w, b, y, *self.geometry(), None, detail=self.describe())


def _key(kind, x_shape, w_shape, stride, padding, dilation, groups, bias):
    return (kind, PLAIN_POINTWISE[0], tuple(x_shape), tuple(w_shape), tuple(stride),
            tuple(tuple(side) for side in padding), tuple(dilation), groups, bias)


def _plain(shape):
    return _runtime.MemoryDesc(shape)


def _forward_plan(x_shape, w_shape, stride, padding, dilation, groups, bias):
    geometry = _Geometry(x_shape, w_shape, stride, padding, dilation, groups)
    pd = geometry.forward_pd(bias)
    bindings = [(_capi.ARG_SRC, "x", _plain(geometry.x_shape), False),
                (_capi.ARG_WEIGHTS, "w", _plain(geometry.w_shape), False),
                (_capi.ARG_DST, "y", _plain(geometry.y_shape), True)]
    if bias:
        bindings.append((_capi.ARG_BIAS, "b", _plain((geometry.o,)), False))
    return _runtime.Plan(pd, bindings)


def _backward_input_plan(x_shape, w_shape, stride, padding, dilation, groups):
    geometry = _Geometry(x_shape, w_shape, stride, padding, dilation, groups)
    hint = geometry.forward_pd(False)
    any_ = _runtime.MemoryDesc
    (x, y), w = geometry.activation_descs(), any_(geometry.w_shape, any_layout=True)
    pd = _runtime.PrimitiveDesc(
        "dnnl_convolution_backward_data_primitive_desc_create", _capi.CONVOLUTION_DIRECT,
        x.handle, w.handle, y.handle, *geometry.geometry(), hint.handle, None,
        detail=geometry.describe())
    return _runtime.Plan(pd, [(_capi.ARG_DIFF_DST, "g", _plain(geometry.y_shape), False),
                              (_capi.ARG_WEIGHTS, "w", _plain(geometry.w_shape), False),
                              (_capi.ARG_DIFF_SRC, "gx", _plain(geometry.x_shape), True)], keep=[hint])


def _backward_weight_plan(x_shape, w_shape, stride, padding, dilation, groups, bias):
    geometry = _Geometry(x_shape, w_shape, stride, padding, dilation, groups)
    hint = geometry.forward_pd(bias)
    any_ = _runtime.MemoryDesc
    (x, y), w = geometry.activation_descs(), any_(geometry.w_shape, any_layout=True)
    b = any_((geometry.o,)) if bias else None
    pd = _runtime.PrimitiveDesc(
        "dnnl_convolution_backward_weights_primitive_desc_create", _capi.CONVOLUTION_DIRECT,
        x.handle, w.handle, None if b is None else b.handle, y.handle, *geometry.geometry(),
        hint.handle, None, detail=geometry.describe())
    bindings = [(_capi.ARG_SRC, "x", _plain(geometry.x_shape), False),
                (_capi.ARG_DIFF_DST, "g", _plain(geometry.y_shape), False),
                (_capi.ARG_DIFF_WEIGHTS, "gw", _plain(geometry.w_shape), True)]
    if bias:
        bindings.append((_capi.ARG_DIFF_BIAS, "gb", _plain((geometry.o,)), True))
    return _runtime.Plan(pd, bindings, keep=[hint])


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def _check(name, x_shape, w_shape, dtype, stride, padding, dilation, groups):
    library.check_usable()
    if not supports_conv2d(x_shape, w_shape, dtype, stride, padding, dilation, groups):
        raise ValueError(f"onednn.{name}: unsupported convolution (input {tuple(x_shape)}, weight "
                         f"{tuple(w_shape)}, {np.dtype(dtype)}, stride {stride}, padding {padding}, "
                         f"dilation {dilation}, groups {groups}); check supports_conv2d first")


def _expect_shape(name, what, actual, expected):
    """oneDNN reads and writes as many elements as the plan's shapes say: a wrong-sized array
    would be read past its end, so the shapes the plan does not come from are checked."""
    if tuple(actual) != tuple(expected):
        raise ValueError(f"onednn.{name}: {what} has shape {tuple(actual)}, expected {tuple(expected)}")


def conv2d_forward(x, w, bias, stride, padding, dilation, groups):
    """out[n, o] = sum over c, i, j of w[o, c, i, j] * x_padded[n, c, s*y + d*i, s*x + d*j] (+ bias),
    x (N, C, H, W), w (O, C/groups, kh, kw), bias (O,) or None; padding ((top, bottom), (left, right))."""
    _check("conv2d_forward", x.shape, w.shape, x.dtype, stride, padding, dilation, groups)
    has_bias = bias is not None
    if has_bias:
        _expect_shape("conv2d_forward", "bias", bias.shape, (w.shape[0],))
    key = _key("forward", x.shape, w.shape, stride, padding, dilation, groups, has_bias)
    plan = _runtime.cached_plan(key, lambda: _forward_plan(x.shape, w.shape, stride, padding,
                                                           dilation, groups, has_bias))
    out_hw = tuple(_output_size(size, k, s, p, d) for size, k, s, p, d in
                   zip(x.shape[2:], w.shape[2:], stride, padding, dilation))
    out = array_cache.empty((x.shape[0], w.shape[0]) + out_hw, np.float32)
    if _frozen_depth[0] and w.dtype == np.float32 and w.flags.c_contiguous:
        # (a converted w would be a new array on each call: nothing to key on)
        blocked = _frozen_weight(plan, key, w)
        if blocked is not None:
            if has_bias:
                plan.run(prepared={"w": blocked}, x=_f32(x), y=out, b=_f32(bias))
            else:
                plan.run(prepared={"w": blocked}, x=_f32(x), y=out)
            return out
    if has_bias:
        plan.run(x=_f32(x), w=_f32(w), y=out, b=_f32(bias))
    else:
        plan.run(x=_f32(x), w=_f32(w), y=out)
    return out


def conv2d_backward_input(g, w, input_hw, stride, padding, dilation, groups):
    """The gradient of conv2d_forward with respect to x (N, C, *input_hw), for output gradient
    g (N, O, OH, OW); also conv_transpose2d of g with weight w."""
    n, o = g.shape[:2]
    x_shape = (n, w.shape[1] * groups) + tuple(input_hw)
    _check("conv2d_backward_input", x_shape, w.shape, g.dtype, stride, padding, dilation, groups)
    out_hw = tuple(_output_size(size, k, s, p, d) for size, k, s, p, d in
                   zip(input_hw, w.shape[2:], stride, padding, dilation))
    if tuple(g.shape) != (n, w.shape[0]) + out_hw:
        raise ValueError(f"onednn.conv2d_backward_input: gradient of shape {tuple(g.shape)} does "
                         f"not match the output size {out_hw} of an input of size {tuple(input_hw)}")
    key = _key("backward_input", x_shape, w.shape, stride, padding, dilation, groups, False)
    plan = _runtime.cached_plan(key, lambda: _backward_input_plan(x_shape, w.shape, stride,
                                                                  padding, dilation, groups))
    grad_input = array_cache.empty(x_shape, np.float32)
    plan.run(g=_f32(g), w=_f32(w), gx=grad_input)
    return grad_input


def conv2d_backward_weight_bias(x, g, kernel_hw, stride, padding, dilation, groups, bias=True):
    """(weight gradient (O, C/groups, kh, kw), bias gradient (O,) or None when ``bias`` is
    False) of conv2d_forward, for input x and output gradient g, in one primitive."""
    o = g.shape[1]
    w_shape = (o, x.shape[1] // groups) + tuple(kernel_hw)
    _check("conv2d_backward_weight", x.shape, w_shape, x.dtype, stride, padding, dilation, groups)
    out_hw = tuple(_output_size(size, k, s, p, d) for size, k, s, p, d in
                   zip(x.shape[2:], kernel_hw, stride, padding, dilation))
    _expect_shape("conv2d_backward_weight", "gradient", g.shape, (x.shape[0], o) + out_hw)
    key = _key("backward_weight", x.shape, w_shape, stride, padding, dilation, groups, bias)
    plan = _runtime.cached_plan(key, lambda: _backward_weight_plan(x.shape, w_shape, stride,
                                                                   padding, dilation, groups, bias))
    grad_weight = np.empty(w_shape, np.float32)
    if bias:
        grad_bias = np.empty((o,), np.float32)
        plan.run(x=_f32(x), g=_f32(g), gw=grad_weight, gb=grad_bias)
        return grad_weight, grad_bias
    plan.run(x=_f32(x), g=_f32(g), gw=grad_weight)
    return grad_weight, None


def conv2d_backward_weight(x, g, kernel_hw, stride, padding, dilation, groups):
    """The gradient of conv2d_forward with respect to w (O, C/groups, kh, kw)."""
    return conv2d_backward_weight_bias(x, g, kernel_hw, stride, padding, dilation, groups,
                                       bias=False)[0]
