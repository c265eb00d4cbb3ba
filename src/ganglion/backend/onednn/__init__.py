"""oneDNN as an optional CPU kernel provider: a ctypes binding over oneDNN 3.x's C API (no
compiler needed), loading the ``libdnnl.so.3`` of the ``onednn-cpu-gomp`` wheel (ganglion's
``onednn`` extra). Importing this package loads nothing; the library is loaded on the first
``available()`` or kernel call.

Interface for the backend's provider registry (every kernel takes and returns NumPy arrays,
float32 only; results are new C-contiguous float32 arrays; the caller checks the matching
``supports_*`` predicate first and runs the NumPy kernels when it is False, or when
``library.available()`` is False):

library (ganglion.backend.onednn.library)
    available() -> bool                 never raises; False when libdnnl.so.3 (3.x) cannot be
                                        loaded, or in a child forked after oneDNN ran
    unavailable_reason() -> str | None  why not (names the extra and DNNL_LIBRARY)
    set_num_threads(n), num_threads()   OpenMP threads of oneDNN's primitives; None (default)
                                        follows backend/threads.py count() at each call
                                        (ganglion.config.num_threads, else the cores)
    version() -> (major, minor, patch)
    Loading sets OMP_WAIT_POLICY=PASSIVE unless the user set it or OpenMP is already loaded.
    In a child forked after a primitive ran (GNU OpenMP hangs there) every supports_* is
    False and a direct kernel call raises RuntimeError.

conv (ganglion.backend.onednn.conv): the NumPy backend's signatures (backend/conv.py);
padding is ((top, bottom), (left, right)), stride / dilation pairs, groups an int.
    supports_conv2d(x_shape, w_shape, dtype, stride, padding, dilation, groups) -> bool
        float32, N >= 1, C == w.shape[1] * groups, O % groups == 0, output >= 1 pixel;
        covers all the kernels below (conv2d_backward_input: pass x's shape (N, C, *input_hw)).
    conv2d_forward(x, w, bias, stride, padding, dilation, groups) -> (N, O, OH, OW)
    frozen_weights()                     context manager: the caller promises that the weight
        arrays passed to conv2d_forward inside it are not written (inference); each one's
        blocked copy is made once and reused while the same array object comes back, and all
        are freed when the outermost block exits. (No safe key exists without the promise: an
        in-place update changes neither an ndarray's identity, address nor flags.)
    conv2d_backward_input(g, w, input_hw, stride, padding, dilation, groups) -> (N, C, *input_hw)
        (also conv_transpose2d of g with w)
    conv2d_backward_weight(x, g, kernel_hw, stride, padding, dilation, groups) -> (O, C/groups, kh, kw)
    conv2d_backward_weight_bias(x, g, kernel_hw, stride, padding, dilation, groups, bias=True)
        -> (weight gradient, bias gradient (O,) or None): both from one primitive

pool (ganglion.backend.onednn.pool): backend/pool.py's signatures; kernel, stride, padding,
dilation are pairs, padding symmetric per axis as in PyTorch.
    supports_max_pool2d(shape, dtype, kernel, stride, padding, dilation, ceil_mode) -> bool
        float32 (N, C, H, W), N >= 1, at most 127 taps, padding <= kernel / 2, output non-empty
    max_pool2d(x, kernel, stride, padding, dilation, ceil_mode) -> (N, C, OH, OW)
    max_pool2d_argmax(x, out, kernel, stride, padding, dilation, ceil_mode) -> int8 tap numbers
        (row-major in the window, padding taps counted, first maximum: ganglion's and PyTorch's
        rule; equal to backend/pool.py's); recomputes the maxima, ``out`` is unused
    max_pool2d_with_argmax(x, kernel, stride, padding, dilation, ceil_mode) -> (out, argmax)
        both in one pass (for a forward op that keeps the argmax for its vjp)
    max_pool2d_scatter(grad, arg, in_shape, kernel, stride, padding, dilation, ceil_mode) -> in_shape
    prefers_max_pool2d_scatter(in_shape, kernel, stride, padding, dilation, ceil_mode) -> bool
        False where windows do not overlap (2x2 stride 2): the NumPy backend's scatter (numba's
        2x2 loops) is faster there; the argmax formats are the same, so they mix freely
    supports_avg_pool2d(shape, dtype, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override) -> bool
        as above, and no divisor_override, and not (count_include_pad with padding and
        ceil_mode adding a window)
    avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    avg_pool2d_backward(grad, in_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override)

batchnorm (ganglion.backend.onednn.batchnorm): x (N, C, ...) normalized over all axes but 1.
    supports_batch_norm(shape, dtype) -> bool   float32, 2 to 5 dims, no empty axis
    batch_statistics(x) -> (2, C) float32 [mean, biased variance]
    batch_normalize(x, scale, shift) -> x * scale[c] + shift[c]
    batch_norm_gradient_sums(g, x, mean) -> (sum g, sum g * (x - mean)) per channel, float64
    (no batch_norm_input_gradient: oneDNN has no a*g + b*(x-mean) + d primitive; keep NumPy's)
    batch_norm_forward_training(x, weight, bias, eps) -> (y, mean, biased var), one pass
    batch_norm_backward(g, x, mean, var, weight, eps, batch_statistics)
        -> (grad_x, grad_weight, grad_bias), one pass; batch_statistics=True is training mode
    On plain NCHW data oneDNN's batch norm is a generic implementation (ncsp_bnorm), slower
    than the numba loops on every measured shape (2-3x on the forward kernels) and than the
    NumPy forms on the forward kernels: leave the batch norm methods to numba / NumPy; the
    fused kernels are for a layer that keeps oneDNN's blocked layout.

matmul (ganglion.backend.onednn.matmul): float32 2-D products; row-major, transposed and
row-sliced operands and ``out`` are bound where they lie (others are copied)
    supports_matmul(a_shape, b_shape, dtype) -> bool   float32 2-D (M, K) @ (K, N), none empty
    matmul(a, b, out=None) -> (M, N), into ``out`` when given; empty sizes allowed
    linear(x, weight, bias=None) -> x @ weight.T + bias in one primitive
    fixed_right(b, rows) -> product(a, b, out=None) for a loop's products by one ``b`` (copied
        once into oneDNN's blocked layout; another b or row count runs ``matmul``)
    SMALLEST_PRODUCT: the routing rule, products of at least this many multiply-adds (the
        provider registry routes matmul, linear_forward and fixed_right_product by it)

Routing advice (benchmarks/onednn_kernels.py, 1 thread, this project's Xeon with AVX-512):
convolutions always where supported (0.56-0.88 of PyTorch's time over the four networks'
layers, against 1.05-4.2 for the NumPy kernels); max pooling forward and argmax and average
pooling always; max scatter where ``prefers_max_pool2d_scatter``; batch norm never on NCHW;
products of at least ``matmul.SMALLEST_PRODUCT`` multiply-adds (benchmarks/gemm_routing.py).
The backend should run the oneDNN convolutions inside its convolution scope (backend/matmul.py),
as the NumPy ones: a 2-thread OpenBLAS product right before a oneDNN convolution slowed it by
1.4x (its spinning threads hold the cores).

The kernels cache one plan (primitives, reorders, blocked buffers) per shape, options and
thread count (oneDNN fixes a primitive's thread count when it is made) in a
bounded LRU (``_runtime.CACHE_SIZE``); ``_runtime.clear_cache()`` frees them.
"""
from ganglion.backend.onednn import library
from ganglion.backend.onednn.library import available, unavailable_reason

__all__ = ["library", "available", "unavailable_reason"]
