"""Activations kept in oneDNN's own (blocked) layouts between oneDNN primitives, for layout
propagation, eager (``core/blocked_tensor.py``) and in compiled functions
(``symbolic/rewrites/onednn_layout.py``).

Reference: oneDNN's "Memory Format Propagation" example and developer guide (3.x): primitives
created with format tag ``any`` choose their layouts; data stays in them between primitives and
is reordered only where a primitive wants another layout or a user needs plain data.

``BlockedArray`` is one activation in oneDNN's layout: a 64-byte-aligned buffer (from the array
cache, so steps reuse their memory) and the memory descriptor that says how its (N, C, H, W)
elements lie in it. The kernels below take a BlockedArray or a plain C-contiguous NCHW float32
ndarray for each activation argument, reorder it only when its layout is not the one the
primitive chose (``dnnl_memory_desc_equal``), and return their activation results as
BlockedArrays; ``to_plain`` / ``from_plain`` are the explicit reorders. Weights and their
gradients stay plain NumPy arrays (OIHW), reordered inside the call as in ``conv.py``.

- ``conv2d_forward(x, w, b, stride, padding, dilation, groups)``: forward_training. (Not with
  ReLU as its eltwise post-op: that maps NaN to 0, where ReLU keeps NaN; a ReLU after it runs
  over the buffer, ``relu``);
- ``conv2d_backward_input(g, w, x_shape, ...)``, ``conv2d_backward_weight_bias(x, g, ...)``;
- ``max_pool2d(x, ...)``: forward_training, whose workspace (the argmax in the layout of the
  output) is kept on the result (``BlockedArray.workspace``) for ``max_pool2d_backward``;
- ``relu_backward(g, y)``: oneDNN's eltwise backward of ReLU computed from its output y;
- ``relu(x, kernel)``: ReLU of a BlockedArray by an elementwise kernel over its buffer;
  ``add(a, b)`` of two in one layout (``same_layout``), over their buffers; ``hardtanh`` and
  ``hardtanh_backward`` (ReLU6) the same way;
- ``batch_statistics(x)``, ``batch_normalize(x, scale, shift)``, ``batch_norm_backward(g, x,
  mean, var, weight, eps)``: training-mode batch norm on oneDNN's primitive in x's layout
  (on these layouts it is oneDNN's fast implementation; on NCHW a generic one);
- ``supports_conv2d`` / ``supports_max_pool2d``: whether a convolution or pooling runs here.

Eager ops use them through ``core/blocked_tensor.py``, compiled graphs through the rewrite.

Each kernel is built once per shapes, options and thread count (``_runtime.cached_plan``;
primitives fix their thread count when made) and keeps, per incoming layout, the reorder it
needs. A BlockedArray references the kernel that made it, which owns its descriptor. Calls run
under ``_runtime``'s lock, like the plain kernels. float32 only.
"""
import ctypes
from ctypes import POINTER, c_float, c_int, c_void_p

import numpy as np

from ganglion.backend import array_cache
from ganglion.backend.onednn import _capi, _runtime, library
from ganglion.backend.onednn.conv import _Geometry as _ConvGeometry
from ganglion.backend.onednn import pool as _pool_module
from ganglion.backend.onednn.pool import _Geometry as _PoolGeometry

__all__ = ["BlockedArray", "from_plain", "to_plain", "supports_conv2d", "supports_max_pool2d",
           "conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight_bias", "max_pool2d",
           "max_pool2d_backward", "relu", "relu_backward", "same_layout", "add", "in_layout_of", "hardtanh", "hardtanh_backward",
           "batch_statistics", "batch_normalize",
           "batch_norm_backward"]

# dnnl_alg_kind_t values of oneDNN 3.x (dnnl_types.h)
ELTWISE_RELU_USE_DST_FOR_BWD = 0x100

_ALIGNMENT = 64

# Functions of the C API that _capi does not declare: name -> argument types (status result).
_EXTRA_FUNCTIONS = {
    "dnnl_eltwise_forward_primitive_desc_create": (
        POINTER(c_void_p), c_void_p, c_int, c_int, c_void_p, c_void_p, c_float, c_float, c_void_p),
    "dnnl_eltwise_backward_primitive_desc_create": (
        POINTER(c_void_p), c_void_p, c_int, c_void_p, c_void_p, c_void_p, c_float, c_float,
        c_void_p, c_void_p),
}
_extra = {}


def _call(name, *args, detail=""):
    """Call one of ``_EXTRA_FUNCTIONS``, raising OneDNNError on a failing status."""
    if not _extra:
        lib = library.load()
        for function_name, argtypes in _EXTRA_FUNCTIONS.items():
            function = getattr(lib, function_name)
            function.argtypes, function.restype = list(argtypes), c_int
            _extra[function_name] = function
    status = _extra[name](*args)
    if status:
        raise _capi.OneDNNError(name, status, detail)


def _pd(create, *args, detail=""):
    """A PrimitiveDesc made by ``create``, a function of ``_EXTRA_FUNCTIONS``."""
    api, engine, _ = _runtime.context()
    pd = _runtime.PrimitiveDesc.__new__(_runtime.PrimitiveDesc)
    pd._api = api
    pd.handle = c_void_p()
    _call(create, ctypes.byref(pd.handle), engine, *args, detail=detail)
    return pd


def _size(md):
    return _runtime.context()[0].dnnl_memory_desc_get_size(md)


def _equal(a, b):
    return bool(_runtime.context()[0].dnnl_memory_desc_equal(a, b))


def _aligned(size):
    """A 64-byte-aligned uint8 array of ``size`` bytes from the array cache."""
    raw = array_cache.empty((size + _ALIGNMENT,), np.uint8)
    start = -raw.ctypes.data % _ALIGNMENT
    return raw[start:start + size]


class BlockedArray:
    """An (N, C, H, W) float32 activation in a oneDNN layout: ``buffer`` (uint8) holds the
    elements as ``md`` (a memory descriptor owned by ``owner``, kept alive here) lays them out.
    ``workspace`` is max pooling's (in the output's layout), with ``pool`` its kernel.
    ``nan_free`` is True when the elements are known to hold neither NaN nor -inf (a ReLU that
    found no NaN made them), so that max pooling need not look (``max_pool2d``)."""
    __slots__ = ("buffer", "md", "owner", "shape", "workspace", "pool", "nan_free")
    dtype = np.dtype(np.float32)

    def __init__(self, md, owner, shape):
        self.md, self.owner, self.shape = md, owner, tuple(shape)
        self.buffer = _aligned(_size(md))
        self.workspace = self.pool = None
        self.nan_free = False

    @classmethod
    def around(cls, buffer, like):
        """A BlockedArray in ``like``'s layout whose elements are ``buffer`` (an array of its
        size, as an elementwise kernel over ``like``'s buffer returns it)."""
        self = cls.__new__(cls)
        self.md, self.owner, self.shape = like.md, like.owner, like.shape
        self.buffer = buffer.reshape(-1).view(np.uint8)
        self.workspace = self.pool = None
        self.nan_free = False
        return self

    def elements(self):
        """The buffer as float32 elements, padding included."""
        return self.buffer.view(np.float32)

    @property
    def padded(self):
        """Whether the layout pads the channels (20 channels in blocks of 16 take 32)."""
        return self.buffer.size != 4 * int(np.prod(self.shape))

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def address(self):
        return self.buffer.ctypes.data

    def __repr__(self):
        return f"BlockedArray(shape={self.shape}, {self.buffer.size} bytes)"


class _Step:
    """A primitive and one memory object per argument, pointed at buffers on each run."""

    def __init__(self, pd, arguments):
        """``arguments``: (argument number, memory descriptor) in the order ``run`` takes
        their addresses."""
        self.pd = pd
        self.primitive = _runtime._Primitive(pd)
        self.memories = [_runtime._Memory(md) for _, md in arguments]
        self.count, self.args = _runtime.Plan._arguments(
            [(argument, memory.handle) for (argument, _), memory in zip(arguments, self.memories)])

    def run(self, *addresses):
        raw = _runtime.context()[0].raw
        set_handle = raw["dnnl_memory_set_data_handle"]
        _, _, stream = _runtime.context()
        with _runtime._lock:
            if not library._ran[0] or library._forked_after_use[0]:
                library.mark_ran()
            library.apply_num_threads()
            for memory, address in zip(self.memories, addresses):
                status = set_handle(memory.handle, address)
                if status:
                    raise _capi.OneDNNError("dnnl_memory_set_data_handle", status)
            status = raw["dnnl_primitive_execute"](self.primitive.handle, stream, self.count, self.args)
            if status:
                raise _capi.OneDNNError("dnnl_primitive_execute", status, self.pd.implementation())
            status = raw["dnnl_stream_wait"](stream)
            if status:
                raise _capi.OneDNNError("dnnl_stream_wait", status)


def _reorder_step(source_md, dest_md):
    return _Step(_runtime.PrimitiveDesc.reorder(source_md, dest_md),
                 [(_capi.ARG_SRC, source_md), (_capi.ARG_DST, dest_md)])


class _Input:
    """One activation argument of a kernel: the layout ``wanted`` by its primitive, and the
    reorders into it from each layout met so far (compared by ``dnnl_memory_desc_equal``)."""

    def __init__(self, wanted, shape):
        self.wanted = wanted
        self.plain = _runtime.MemoryDesc(shape)
        self.plain_is_wanted = _equal(self.plain.handle, wanted)
        self.reorders = []          # (source md owned by the step's pd, step)
        self.size = _size(wanted)

    def _reorder_from(self, md):
        for source, step in self.reorders:
            if _equal(source, md):
                return step
        step = _reorder_step(md, self.wanted)
        self.reorders.append((_source_md(step), step))
        return step

    def address(self, value, keep):
        """The address of ``value``'s elements in the wanted layout; a converted copy is
        appended to ``keep`` (the caller holds it for the call)."""
        if isinstance(value, BlockedArray):
            if _equal(value.md, self.wanted):
                return value.address
            step, source = self._reorder_from(value.md), value.address
        else:
            value = np.ascontiguousarray(value, dtype=np.float32)
            keep.append(value)
            if self.plain_is_wanted:
                return value.ctypes.data
            step, source = self._reorder_from(self.plain.handle), value.ctypes.data
        converted = _aligned(self.size)
        keep.append(converted)
        step.run(source, converted.ctypes.data)
        return converted.ctypes.data


def _source_md(step):
    """The source descriptor of a reorder step (owned by its primitive descriptor)."""
    return step.pd.md(_capi.ARG_SRC)


class _PlainOutput:
    """A plain (C-contiguous) NumPy result of a primitive that writes layout ``chosen``."""

    def __init__(self, chosen, shape):
        self.shape = tuple(shape)
        self.chosen = chosen
        self.plain = _runtime.MemoryDesc(shape)
        self.direct = _equal(self.plain.handle, chosen)
        self.step = None if self.direct else _reorder_step(chosen, self.plain.handle)
        self.size = _size(chosen)

    def buffer(self):
        """(address to give the primitive, finish() -> the plain result array)."""
        out = np.empty(self.shape, np.float32)
        if self.direct:
            return out.ctypes.data, lambda: out
        inner = _aligned(self.size)

        def finish():
            self.step.run(inner.ctypes.data, out.ctypes.data)
            return out
        return inner.ctypes.data, finish


# ----- what runs blocked -------------------------------------------------------------------

def supports_conv2d(x_shape, w_shape, stride, padding, dilation, groups):
    """Whether a float32 convolution runs here: where oneDNN runs it, except pointwise ones
    (1x1, unpadded) while the plain kernels run those on NCHW (``conv.PLAIN_POINTWISE``: its
    GEMM needs no reorders and was 2-4x faster than the blocked kernel with them)."""
    from ganglion.backend.onednn import conv
    pointwise = tuple(w_shape[2:]) == (1, 1) and not any(any(side) for side in padding)
    if pointwise and conv.PLAIN_POINTWISE[0]:
        return False
    return conv.supports_conv2d(x_shape, w_shape, np.float32, stride, padding, dilation, groups)


def supports_max_pool2d(shape, kernel, stride, padding, dilation, ceil_mode):
    """Whether float32 max pooling of this geometry runs here."""
    from ganglion.backend.onednn.pool import supports_max_pool2d as supports
    return supports(shape, np.float32, kernel, stride, padding, dilation, ceil_mode)


def same_layout(a, b):
    """Whether BlockedArrays a and b have one shape and one layout (so that elementwise ops
    between them are elementwise ops between their buffers)."""
    return a.shape == b.shape and _equal(a.md, b.md)


def add(a, b):
    """a + b of two BlockedArrays of one layout (``same_layout``), in it: over the buffers (the
    zeros of a padded layout's padding add to zero)."""
    out = BlockedArray(a.md, a.owner, a.shape)
    np.add(a.buffer.view(np.float32), b.buffer.view(np.float32), out=out.buffer.view(np.float32))
    return out


def in_layout_of(value, like):
    """``value`` (a BlockedArray or a plain NCHW array of ``like``'s shape) in the layout of
    BlockedArray ``like``, reordered where it is not."""
    if isinstance(value, BlockedArray):
        if same_layout(value, like):
            return value
        value = to_plain(value)
    return from_plain(value, like)


def hardtanh(x, min_val, max_val, kernel):
    """x clipped to [min_val, max_val] for a BlockedArray x and bounds around 0 (so the padding
    stays zero), by ``kernel(flat, min_val, max_val)`` over its buffer, in its layout."""
    return BlockedArray.around(kernel(x.elements(), min_val, max_val), x)


def hardtanh_backward(g, x, min_val, max_val, kernel):
    """g where min_val < x < max_val, else 0, for a BlockedArray x and g (BlockedArray or
    plain), by ``kernel(flat_g, flat_x, min_val, max_val)``, in x's layout."""
    g = in_layout_of(g, x)
    return BlockedArray.around(kernel(g.elements(), x.elements(), min_val, max_val), x)


def relu(x, kernel):
    """max(x, 0) of a BlockedArray, in its layout: ``kernel(flat, flat_out)`` over the buffer's
    elements (oneDNN keeps a padded layout's padding at zero, which ReLU keeps), returning
    whether x held no NaN (the backend's ``relu_nan_free``), which the result records."""
    out = BlockedArray(x.md, x.owner, x.shape)
    # (``is True``: a kernel that returns its array instead must not vouch for it)
    out.nan_free = kernel(x.buffer.view(np.float32), out.buffer.view(np.float32)) is True
    return out


# ----- conversions -------------------------------------------------------------------------

class _ToPlain:
    """Reorders of blocked (N, C, H, W) arrays of one shape into plain NCHW."""

    def __init__(self, shape):
        self.shape = shape
        self.plain = _runtime.MemoryDesc(shape)
        self.steps = []

    def run(self, value):
        for source, step in self.steps:
            if _equal(source, value.md):
                break
        else:
            step = _reorder_step(value.md, self.plain.handle)
            self.steps.append((_source_md(step), step))
        out = array_cache.empty(self.shape, np.float32)
        step.run(value.address, out.ctypes.data)
        return out


def to_plain(value):
    """``value`` as a C-contiguous NCHW float32 ndarray (a new one for a BlockedArray; an
    ndarray is returned as it is)."""
    if not isinstance(value, BlockedArray):
        return value
    converter = _runtime.cached_plan(("layout.to_plain", value.shape), lambda: _ToPlain(value.shape))
    return converter.run(value)


class _FromPlain:
    """Reorders of plain NCHW arrays of one shape into blocked layouts."""

    def __init__(self, shape):
        self.plain = _runtime.MemoryDesc(shape)
        self.steps = []

    def run(self, array, out):
        for dest, step in self.steps:
            if _equal(dest, out.md):
                break
        else:
            step = _reorder_step(self.plain.handle, out.md)
            self.steps.append((step.pd.md(_capi.ARG_DST), step))
        step.run(array.ctypes.data, out.address)
        return out


def from_plain(array, like):
    """Plain NCHW float32 ``array`` reordered into the layout of BlockedArray ``like`` (a new
    BlockedArray)."""
    if tuple(array.shape) != like.shape:
        raise ValueError(f"onednn.layout.from_plain: array of shape {tuple(array.shape)} for a "
                         f"layout of shape {like.shape}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    out = BlockedArray(like.md, like.owner, like.shape)
    converter = _runtime.cached_plan(("layout.from_plain", like.shape), lambda: _FromPlain(like.shape))
    return converter.run(array, out)


# ----- convolution -------------------------------------------------------------------------

def _conv_forward_pd(geometry, bias):
    any_ = _runtime.MemoryDesc
    x, y = any_(geometry.x_shape, any_layout=True), any_(geometry.y_shape, any_layout=True)
    w = any_(geometry.w_shape, any_layout=True)
    b = any_((geometry.o,), any_layout=True) if bias else None
    keep = [x, y, w, b]
    api, engine, _ = _runtime.context()
    pd = _runtime.PrimitiveDesc.__new__(_runtime.PrimitiveDesc)
    pd._api = api
    pd.handle = c_void_p()
    api.dnnl_convolution_forward_primitive_desc_create(
        ctypes.byref(pd.handle), engine, _capi.FORWARD_TRAINING, _capi.CONVOLUTION_DIRECT,
        x.handle, w.handle, None if b is None else b.handle, y.handle, *geometry.geometry(),
        None, detail=geometry.describe())
    return pd, keep


class _ConvForward:
    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, bias):
        g = self.geometry = _ConvGeometry(x_shape, w_shape, stride, padding, dilation, groups)
        self.pd, self._keep = _conv_forward_pd(g, bias)
        pd = self.pd
        self.x = _Input(pd.md(_capi.ARG_SRC), g.x_shape)
        self.w = _Input(pd.md(_capi.ARG_WEIGHTS), g.w_shape)
        self.b = _Input(pd.md(_capi.ARG_BIAS), (g.o,)) if bias else None
        self.y_md = pd.md(_capi.ARG_DST)
        arguments = [(_capi.ARG_SRC, self.x.wanted), (_capi.ARG_WEIGHTS, self.w.wanted),
                     (_capi.ARG_DST, self.y_md)]
        if bias:
            arguments.append((_capi.ARG_BIAS, self.b.wanted))
        self.step = _Step(pd, arguments)

    def run(self, x, w, b):
        keep = []
        out = BlockedArray(self.y_md, self, self.geometry.y_shape)
        addresses = [self.x.address(x, keep), self.w.address(w.reshape(self.geometry.w_shape), keep),
                     out.address]
        if self.b is not None:
            addresses.append(self.b.address(b, keep))
        self.step.run(*addresses)
        return out


def _conv_key(kind, x_shape, w_shape, stride, padding, dilation, groups, *extra):
    return (("layout", kind), tuple(x_shape), tuple(w_shape), tuple(stride),
            tuple(tuple(side) for side in padding), tuple(dilation), groups) + extra


def conv2d_forward(x, w, b, stride, padding, dilation, groups):
    """conv.conv2d_forward on a BlockedArray or plain x; returns a
    BlockedArray. Supported cases: ``conv.supports_conv2d``."""
    has_bias = b is not None
    key = _conv_key("conv_forward", x.shape, w.shape, stride, padding, dilation, groups, has_bias)
    kernel = _runtime.cached_plan(key, lambda: _ConvForward(x.shape, w.shape, stride, padding,
                                                            dilation, groups, has_bias))
    return kernel.run(x, w, b)


class _ConvBackwardInput:
    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups):
        g = self.geometry = _ConvGeometry(x_shape, w_shape, stride, padding, dilation, groups)
        self.hint, self._keep = _conv_forward_pd(g, False)
        any_ = _runtime.MemoryDesc
        x, y = any_(g.x_shape, any_layout=True), any_(g.y_shape, any_layout=True)
        w = any_(g.w_shape, any_layout=True)
        self._keep += [x, y, w]
        pd = self.pd = _runtime.PrimitiveDesc(
            "dnnl_convolution_backward_data_primitive_desc_create", _capi.CONVOLUTION_DIRECT,
            x.handle, w.handle, y.handle, *g.geometry(), self.hint.handle, None,
            detail=g.describe())
        self.g = _Input(pd.md(_capi.ARG_DIFF_DST), g.y_shape)
        self.w = _Input(pd.md(_capi.ARG_WEIGHTS), g.w_shape)
        self.gx_md = pd.md(_capi.ARG_DIFF_SRC)
        self.step = _Step(pd, [(_capi.ARG_DIFF_DST, self.g.wanted), (_capi.ARG_WEIGHTS, self.w.wanted),
                               (_capi.ARG_DIFF_SRC, self.gx_md)])

    def run(self, g, w):
        keep = []
        out = BlockedArray(self.gx_md, self, self.geometry.x_shape)
        self.step.run(self.g.address(g, keep), self.w.address(w.reshape(self.geometry.w_shape), keep),
                      out.address)
        return out


def conv2d_backward_input(g, w, x_shape, stride, padding, dilation, groups):
    """conv.conv2d_backward_input for an input of shape ``x_shape``; g a BlockedArray or
    plain; returns a BlockedArray."""
    key = _conv_key("conv_backward_input", x_shape, w.shape, stride, padding, dilation, groups)
    kernel = _runtime.cached_plan(key, lambda: _ConvBackwardInput(x_shape, w.shape, stride, padding,
                                                                  dilation, groups))
    return kernel.run(g, w)


class _ConvBackwardWeight:
    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, bias):
        g = self.geometry = _ConvGeometry(x_shape, w_shape, stride, padding, dilation, groups)
        self.hint, self._keep = _conv_forward_pd(g, bias)
        any_ = _runtime.MemoryDesc
        x, y = any_(g.x_shape, any_layout=True), any_(g.y_shape, any_layout=True)
        w = any_(g.w_shape, any_layout=True)
        b = any_((g.o,), any_layout=True) if bias else None
        self._keep += [x, y, w, b]
        pd = self.pd = _runtime.PrimitiveDesc(
            "dnnl_convolution_backward_weights_primitive_desc_create", _capi.CONVOLUTION_DIRECT,
            x.handle, w.handle, None if b is None else b.handle, y.handle, *g.geometry(),
            self.hint.handle, None, detail=g.describe())
        self.x = _Input(pd.md(_capi.ARG_SRC), g.x_shape)
        self.g = _Input(pd.md(_capi.ARG_DIFF_DST), g.y_shape)
        # (the plain weight gradient has the caller's (O, C/groups, kh, kw) shape)
        self.w_shape = tuple(w_shape)
        self.gw = _PlainOutput(pd.md(_capi.ARG_DIFF_WEIGHTS), g.w_shape)
        self.gb = _PlainOutput(pd.md(_capi.ARG_DIFF_BIAS), (g.o,)) if bias else None
        arguments = [(_capi.ARG_SRC, self.x.wanted), (_capi.ARG_DIFF_DST, self.g.wanted),
                     (_capi.ARG_DIFF_WEIGHTS, self.gw.chosen)]
        if bias:
            arguments.append((_capi.ARG_DIFF_BIAS, self.gb.chosen))
        self.step = _Step(pd, arguments)

    def run(self, x, g):
        keep = []
        gw_address, gw_finish = self.gw.buffer()
        addresses = [self.x.address(x, keep), self.g.address(g, keep), gw_address]
        if self.gb is not None:
            gb_address, gb_finish = self.gb.buffer()
            addresses.append(gb_address)
        self.step.run(*addresses)
        gw = gw_finish().reshape(self.w_shape)
        return gw, (gb_finish() if self.gb is not None else None)


def conv2d_backward_weight_bias(x, g, kernel_hw, stride, padding, dilation, groups, bias=True):
    """conv.conv2d_backward_weight_bias on BlockedArray or plain x and g: (plain weight
    gradient, plain bias gradient or None)."""
    o = g.shape[1]
    w_shape = (o, x.shape[1] // groups) + tuple(kernel_hw)
    key = _conv_key("conv_backward_weight", x.shape, w_shape, stride, padding, dilation, groups, bias)
    kernel = _runtime.cached_plan(key, lambda: _ConvBackwardWeight(x.shape, w_shape, stride, padding,
                                                                   dilation, groups, bias))
    return kernel.run(x, g)


# ----- max pooling -------------------------------------------------------------------------

class _MaxPoolVariant:
    """Forward (and, made on first use, backward) max pooling for one input layout."""

    def __init__(self, geometry, source_md):
        self.geometry = geometry
        any_ = _runtime.MemoryDesc
        y = any_(geometry.out_shape, any_layout=True)
        self._keep = [y]
        pd = self.pd = _runtime.PrimitiveDesc(
            "dnnl_pooling_forward_primitive_desc_create", _capi.FORWARD_TRAINING, _capi.POOLING_MAX,
            source_md, y.handle, *geometry.args(), None, detail=geometry.describe())
        self.x_md = pd.md(_capi.ARG_SRC)
        self.y_md = pd.md(_capi.ARG_DST)
        self.workspace_md = pd.md(_capi.ARG_WORKSPACE)
        self.workspace_size = _size(self.workspace_md)
        self.step = _Step(pd, [(_capi.ARG_SRC, self.x_md), (_capi.ARG_DST, self.y_md),
                               (_capi.ARG_WORKSPACE, self.workspace_md)])
        self._backward = None

    def backward(self):
        if self._backward is None:
            geometry = self.geometry
            any_ = _runtime.MemoryDesc
            gx = any_(geometry.in_shape, any_layout=True)
            self._keep.append(gx)
            pd = _runtime.PrimitiveDesc(
                "dnnl_pooling_backward_primitive_desc_create", _capi.POOLING_MAX, gx.handle,
                self.y_md, *geometry.args(), self.pd.handle, None, detail=geometry.describe())
            g = _Input(pd.md(_capi.ARG_DIFF_DST), geometry.out_shape)
            gx_md = pd.md(_capi.ARG_DIFF_SRC)
            step = _Step(pd, [(_capi.ARG_DIFF_DST, g.wanted), (_capi.ARG_WORKSPACE, self.workspace_md),
                              (_capi.ARG_DIFF_SRC, gx_md)])
            self._backward = (pd, g, gx_md, step)
        return self._backward


class _MaxPool:
    def __init__(self, in_shape, geometry_args):
        self.geometry = _PoolGeometry(in_shape, *geometry_args)
        self.plain = _runtime.MemoryDesc(self.geometry.in_shape)
        self.variants = []

    def variant(self, md):
        for variant in self.variants:
            if _equal(variant.x_md, md):
                return variant
        variant = _MaxPoolVariant(self.geometry, md)
        self.variants.append(variant)
        return variant

    def run(self, x):
        keep = []
        if isinstance(x, BlockedArray):
            variant, address = self.variant(x.md), x.address
        else:
            x = np.ascontiguousarray(x, dtype=np.float32)
            keep.append(x)
            variant, address = self.variant(self.plain.handle), x.ctypes.data
        out = BlockedArray(variant.y_md, variant, self.geometry.out_shape)
        out.workspace = _aligned(variant.workspace_size)
        out.pool = variant
        variant.step.run(address, out.address, out.workspace.ctypes.data)
        return out


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """pool.max_pool2d on a BlockedArray or plain x, forward_training: a BlockedArray in the
    input's layout that carries the workspace for ``max_pool2d_backward``.

    A window that holds NaN gives NaN and one of only -inf gives -inf, as in PyTorch (where x
    holds either, ``pool.outside_max_pooling``, the values are recomputed by the NumPy
    reference). The gradient of a window with NaN still goes to its largest other element,
    which the workspace records; with NaN in the forward pass the loss is NaN anyway."""
    geometry = (tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), bool(ceil_mode))
    key = (("layout", "max_pool"), tuple(x.shape)) + geometry
    out = _runtime.cached_plan(key, lambda: _MaxPool(x.shape, geometry)).run(x)
    blocked = isinstance(x, BlockedArray)
    if blocked and x.nan_free:
        out.nan_free = True
    # (a blocked layout's padding holds zeros, never NaN)
    elif _pool_module.outside_max_pooling(x.buffer.view(np.float32) if blocked else x):
        from ganglion.backend import pool as reference
        values = from_plain(reference.max_pool2d(to_plain(x), *geometry), out)
        out.buffer[...] = values.buffer
    return out


def max_pool2d_backward(g, pooled):
    """The input gradient of the max pooling that made ``pooled`` (a BlockedArray from
    ``max_pool2d``), for output gradient g (BlockedArray or plain): a BlockedArray."""
    pd, g_input, gx_md, step = pooled.pool.backward()
    keep = []
    out = BlockedArray(gx_md, pooled.pool, pooled.pool.geometry.in_shape)
    step.run(g_input.address(g, keep), pooled.workspace.ctypes.data, out.address)
    return out


# ----- batch normalization -----------------------------------------------------------------

class _BatchNormVariant:
    """The batch norm primitives of one kind on activations in layout ``md``:
    - "statistics": forward_training without scale and shift (eps 0), for the batch's mean and
      biased variance (its normalized output is written to a scratch buffer and dropped);
    - "normalize": forward_inference with mean 0, variance 1 and eps 0: x * scale + shift;
    - "backward": the fused backward (with scale and shift gradients) of training-mode batch
      norm (statistics from the batch, so the input gradient includes the paths through them).
    """

    def __init__(self, kind, md, shape, eps):
        c = _capi
        self.shape, self.kind = tuple(shape), kind
        channel = self.channel = _runtime.MemoryDesc((shape[1],))
        create = "dnnl_batch_normalization_forward_primitive_desc_create"
        if kind == "statistics":
            pd = _runtime.PrimitiveDesc(create, c.FORWARD_TRAINING, md, md, 0.0, 0, None)
            arguments = [(c.ARG_SRC, md), (c.ARG_DST, md), (c.ARG_MEAN, channel.handle),
                         (c.ARG_VARIANCE, channel.handle)]
        elif kind == "normalize":
            pd = _runtime.PrimitiveDesc(create, c.FORWARD_INFERENCE, md, md, 0.0,
                                        c.USE_GLOBAL_STATS | c.USE_SCALE | c.USE_SHIFT, None)
            arguments = [(c.ARG_SRC, md), (c.ARG_DST, md), (c.ARG_MEAN, channel.handle),
                         (c.ARG_VARIANCE, channel.handle), (c.ARG_SCALE, channel.handle),
                         (c.ARG_SHIFT, channel.handle)]
        else:
            flags = c.USE_SCALE | c.USE_SHIFT
            self.hint = _runtime.PrimitiveDesc(create, c.FORWARD_TRAINING, md, md, float(eps),
                                               flags, None)
            pd = _runtime.PrimitiveDesc("dnnl_batch_normalization_backward_primitive_desc_create",
                                        c.BACKWARD, md, md, md, float(eps), flags,
                                        self.hint.handle, None)
            self.g = _Input(pd.md(c.ARG_DIFF_DST), shape)
            self.gx_md = pd.md(c.ARG_DIFF_SRC)
            arguments = [(c.ARG_SRC, md), (c.ARG_DIFF_DST, self.g.wanted),
                         (c.ARG_MEAN, channel.handle), (c.ARG_VARIANCE, channel.handle),
                         (c.ARG_SCALE, channel.handle), (c.ARG_DIFF_SRC, self.gx_md),
                         (c.ARG_DIFF_SCALE, channel.handle), (c.ARG_DIFF_SHIFT, channel.handle)]
        self.pd = pd
        self.size = _size(md)
        self.step = _Step(pd, arguments)


class _BatchNorm:
    def __init__(self, kind, shape, eps):
        self.kind, self.shape, self.eps = kind, tuple(shape), eps
        self.variants = []

    def variant(self, md):
        for variant in self.variants:
            if _equal(variant.md, md):
                return variant
        variant = _BatchNormVariant(self.kind, md, self.shape, self.eps)
        variant.md = variant.pd.md(_capi.ARG_SRC)
        self.variants.append(variant)
        return variant


def _batch_norm(kind, x, eps=0.0):
    key = (("layout", "batch_norm", kind), tuple(x.shape), float(eps))
    kernel = _runtime.cached_plan(key, lambda: _BatchNorm(kind, x.shape, eps))
    return kernel.variant(x.md)


def _channel_vector(v, channels):
    return np.ascontiguousarray(np.broadcast_to(np.asarray(v, np.float32), (channels,)))


def batch_statistics(x):
    """The (2, C) float32 stack of per-channel mean and biased variance of BlockedArray x.

    Batch norm here is for unpadded layouts only (``BlockedArray.padded`` False): oneDNN's
    batch norm leaves garbage (0/0 = NaN) in a padded layout's padding, which every other
    kernel keeps at zero and the next convolution reads."""
    variant = _batch_norm("statistics", x)
    stats = np.empty((2, x.shape[1]), np.float32)
    discarded = _aligned(variant.size)
    variant.step.run(x.address, discarded.ctypes.data, stats[0].ctypes.data, stats[1].ctypes.data)
    return stats


def batch_normalize(x, scale, shift):
    """x * scale[c] + shift[c] of BlockedArray x: a BlockedArray in x's layout."""
    variant = _batch_norm("normalize", x)
    channels = x.shape[1]
    zeros, ones = np.zeros(channels, np.float32), np.ones(channels, np.float32)
    scale, shift = _channel_vector(scale, channels), _channel_vector(shift, channels)
    out = BlockedArray(variant.md, variant, x.shape)
    variant.step.run(x.address, out.address, zeros.ctypes.data, ones.ctypes.data,
                     scale.ctypes.data, shift.ctypes.data)
    return out


def batch_norm_backward(g, x, mean, var, weight, eps):
    """(grad_x as a BlockedArray in x's layout, grad_weight, grad_bias) of training-mode batch
    norm y = (x - mean) / sqrt(var + eps) * weight + bias of BlockedArray x (mean and var its
    batch statistics), for output gradient g (BlockedArray or plain), as
    ``onednn.batchnorm.batch_norm_backward(..., batch_statistics=True)``."""
    variant = _batch_norm("backward", x, eps)
    channels = x.shape[1]
    mean, var = _channel_vector(mean, channels), _channel_vector(var, channels)
    scale = _channel_vector(1.0 if weight is None else weight, channels)
    grad_weight, grad_bias = np.empty(channels, np.float32), np.empty(channels, np.float32)
    keep = []
    out = BlockedArray(variant.gx_md, variant, x.shape)
    variant.step.run(x.address, variant.g.address(g, keep), mean.ctypes.data, var.ctypes.data,
                     scale.ctypes.data, out.address, grad_weight.ctypes.data,
                     grad_bias.ctypes.data)
    return out, grad_weight, grad_bias


# ----- ReLU backward -----------------------------------------------------------------------

class _ReluBackward:
    """g * (y > 0) for one layout of y (the ReLU's output)."""

    def __init__(self, y_md, shape):
        hint = _pd("dnnl_eltwise_forward_primitive_desc_create", _capi.FORWARD_TRAINING,
                   ELTWISE_RELU_USE_DST_FOR_BWD, y_md, y_md, 0.0, 0.0, None)
        pd = _pd("dnnl_eltwise_backward_primitive_desc_create", ELTWISE_RELU_USE_DST_FOR_BWD,
                 y_md, y_md, y_md, 0.0, 0.0, hint.handle, None)
        self.hint, self.pd = hint, pd
        self.y_md = pd.md(_capi.ARG_DST)
        self.g = _Input(pd.md(_capi.ARG_DIFF_DST), shape)
        self.gx_md = pd.md(_capi.ARG_DIFF_SRC)
        self.shape = tuple(shape)
        self.step = _Step(pd, [(_capi.ARG_DST, self.y_md), (_capi.ARG_DIFF_DST, self.g.wanted),
                               (_capi.ARG_DIFF_SRC, self.gx_md)])


class _ReluBackwardKernels:
    def __init__(self, shape):
        self.shape = shape
        self.variants = []

    def run(self, g, y):
        for variant in self.variants:
            if _equal(variant.y_md, y.md):
                break
        else:
            variant = _ReluBackward(y.md, self.shape)
            self.variants.append(variant)
        keep = []
        out = BlockedArray(variant.gx_md, variant, self.shape)
        variant.step.run(y.address, variant.g.address(g, keep), out.address)
        return out


def relu_backward(g, y):
    """g where y > 0, else 0 (ReLU's input gradient from its output y, a BlockedArray; g a
    BlockedArray or plain): a BlockedArray in y's layout."""
    key = (("layout", "relu_backward"), tuple(y.shape))
    return _runtime.cached_plan(key, lambda: _ReluBackwardKernels(tuple(y.shape))).run(g, y)
