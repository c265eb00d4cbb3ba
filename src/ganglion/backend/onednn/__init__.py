"""oneDNN as an optional CPU kernel provider: a ctypes binding over oneDNN 3.x's C API (no
compiler needed), loading the ``libdnnl.so.3`` of the ``onednn-cpu-gomp`` wheel (ganglion's
``onednn`` extra). Importing this package loads nothing; the library is loaded on the first
``available()`` or kernel call.

Interface for the backend's provider registry (every kernel takes and returns NumPy arrays,
float32 only; results are new C-contiguous float32 arrays; the caller checks the matching
``supports_*`` predicate first and runs the NumPy kernels when it is False, or when
``library.available()`` is False):

library (ganglion.backend.onednn.library)
    available() -> bool                 never raises; False when libdnnl.so.3 (3.x) cannot be loaded
    unavailable_reason() -> str | None  why not (names the extra and DNNL_LIBRARY)
    set_num_threads(n), num_threads()   OpenMP threads of oneDNN's primitives (default: all cores)
    version() -> (major, minor, patch)

conv (ganglion.backend.onednn.conv): the NumPy backend's signatures (backend/conv.py);
padding is ((top, bottom), (left, right)), stride / dilation pairs, groups an int.
    supports_conv2d(x_shape, w_shape, dtype, stride, padding, dilation, groups) -> bool
        float32, N >= 1, C == w.shape[1] * groups, O % groups == 0, output >= 1 pixel;
        covers all the kernels below (conv2d_backward_input: pass x's shape (N, C, *input_hw)).
    conv2d_forward(x, w, bias, stride, padding, dilation, groups) -> (N, O, OH, OW)
    conv2d_backward_input(g, w, input_hw, stride, padding, dilation, groups) -> (N, C, *input_hw)
        (also conv_transpose2d of g with w)
    conv2d_backward_weight(x, g, kernel_hw, stride, padding, dilation, groups) -> (O, C/groups, kh, kw)
    conv2d_backward_weight_bias(x, g, kernel_hw, stride, padding, dilation, groups, bias=True)
        -> (weight gradient, bias gradient (O,) or None): both from one primitive

The kernels cache one plan (primitives, reorders, blocked buffers) per shape and options in a
bounded LRU (``_runtime.CACHE_SIZE``); ``_runtime.clear_cache()`` frees them.
"""
from ganglion.backend.onednn import library
from ganglion.backend.onednn.library import available, unavailable_reason

__all__ = ["library", "available", "unavailable_reason"]
