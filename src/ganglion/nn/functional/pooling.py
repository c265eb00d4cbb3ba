"""Functional pooling and resampling, with PyTorch's names and signatures: max and average
pooling, adaptive pooling and ``interpolate`` (nearest, linear, bilinear).

Regular pooling runs the kernels of ``backend/pool.py`` through the ops in ``core/ops/pool.py``.
Adaptive pooling reduces to a regular pool when the output size divides the input size; other
sizes, and interpolation, are separable linear maps along H and W, computed as two matrix
products with small constant matrices (so their gradients are matrix products too).
"""
from ganglion.backend import current as backend
from ganglion.core.op import ShapeError, format_shape, refuse_non_tensor
from ganglion.core.ops.indexing import take_along_axis
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.pool import (adaptive_max_pool2d_indices, avg_pool2d_values,
                                    max_pool2d_indices, max_pool2d_values)
from ganglion.core.ops.reduce import argmax, mean
from ganglion.core.ops.shape import flatten, reshape, squeeze, transpose, unsqueeze
from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["max_pool1d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d",
           "adaptive_max_pool2d", "interpolate", "upsample", "upsample_nearest",
           "upsample_bilinear"]

_SHAPES = {1: "2-D or 3-D input (C, L) or (N, C, L)", 2: "3-D or 4-D input (C, H, W) or (N, C, H, W)"}


def expect_spatial_input(name, input, spatial_dims):
    """Raise the error a user sees for a wrong rank or dtype, naming the layer or function."""
    if not isinstance(input, Tensor):
        refuse_non_tensor(name, (input,))
    ndim = input.ndim
    if ndim not in (spatial_dims + 1, spatial_dims + 2):
        raise ShapeError(f"{name}: expected a {_SHAPES[spatial_dims]}, got shape "
                         f"{format_shape(input.shape)}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating-point input, got {input.dtype}")


def expect_non_empty(name, input, spatial_dims, empty_channels=False):
    """As in PyTorch, an empty batch (N = 0) pools to an empty result, but a zero-size spatial
    dim is refused, and so are zero channels unless ``empty_channels`` (adaptive average
    pooling takes them). O(1): only the shape is read."""
    shape = input.shape
    non_batch = shape[1:] if input.ndim == spatial_dims + 2 else shape
    if 0 in (non_batch[1:] if empty_channels else non_batch):
        what, may = (("spatial sizes", "the batch and channel dimensions") if empty_channels
                     else ("channels and spatial sizes", "the batch dimension"))
        raise ShapeError(f"{name}: expected an input whose {what} are not zero (only {may} "
                         f"may be empty), got shape {format_shape(shape)}")


def _pair(name, what, value):
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) == 1:
        pair = pair * 2
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        raise ValueError(f"{name}: {what} must be an int or a pair of ints, got {value!r}")
    return tuple(int(v) for v in pair)


def _pool_args(name, kernel_size, stride, padding, dilation=1):
    kernel = _pair(name, "kernel_size", kernel_size)
    stride = kernel if stride is None or stride == () or stride == [] else _pair(name, "stride", stride)
    padding, dilation = _pair(name, "padding", padding), _pair(name, "dilation", dilation)
    if min(kernel) <= 0 or min(stride) <= 0 or min(dilation) <= 0 or min(padding) < 0:
        raise ValueError(f"{name}: kernel_size {kernel}, stride {stride} and dilation {dilation} "
                         f"must be positive and padding {padding} not negative")
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(2 * p > e for p, e in zip(padding, effective)):
        raise ValueError(f"{name}: padding should be at most half of the effective kernel size, "
                         f"got padding {padding} for kernel {kernel} with dilation {dilation}")
    return kernel, stride, padding, dilation


def _to_batch(input, spatial_dims):
    """(input as a batch, whether a batch dimension was added)."""
    if input.ndim == spatial_dims + 1:
        return unsqueeze(input, 0), True
    return input, False


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling over (N, C, H, W) or (C, H, W). Ties go to the first maximum in row-major
    window order, as in PyTorch; ``return_indices`` gives flat positions in each H*W plane."""
    expect_spatial_input("max_pool2d", input, 2)
    expect_non_empty("max_pool2d", input, 2)
    geometry = _pool_args("max_pool2d", kernel_size, stride, padding, dilation) + (bool(ceil_mode),)
    x, added = _to_batch(input, 2)
    out = max_pool2d_values(x, *geometry)
    indices = max_pool2d_indices(x, out, *geometry) if return_indices else None
    if added:
        out = squeeze(out, 0)
        indices = None if indices is None else squeeze(indices, 0)
    return (out, indices) if return_indices else out


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max pooling over (N, C, L) or (C, L), as a 2-D pool over a height of one."""
    expect_spatial_input("max_pool1d", input, 1)
    expect_non_empty("max_pool1d", input, 1)
    kernel, stride, padding, dilation = (
        _pool_args("max_pool1d", (1, _single(kernel_size)), None if stride is None else
                   (1, _single(stride)), (0, _single(padding)), (1, _single(dilation))))
    result = max_pool2d(unsqueeze(input, -2), kernel, stride, padding, dilation, ceil_mode,
                        return_indices)
    if return_indices:
        return squeeze(result[0], -2), squeeze(result[1], -2)
    return squeeze(result, -2)


def _single(value):
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"max_pool1d: expected one int, got {value!r}")
        return int(value[0])
    return int(value)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Average pooling over (N, C, H, W) or (C, H, W). Each window's sum is divided by
    ``divisor_override`` if given, else by its size counting padding (``count_include_pad``)
    or not; windows that ceil mode adds past the padding count only what they cover."""
    expect_spatial_input("avg_pool2d", input, 2)
    expect_non_empty("avg_pool2d", input, 2)
    kernel, stride, padding, _ = _pool_args("avg_pool2d", kernel_size, stride, padding)
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("avg_pool2d: divisor_override must not be zero")
    x, added = _to_batch(input, 2)
    out = avg_pool2d_values(x, kernel, stride, padding, bool(ceil_mode), bool(count_include_pad),
                            divisor_override)
    return squeeze(out, 0) if added else out


def _output_pair(name, output_size, in_hw):
    size = (output_size, output_size) if isinstance(output_size, int) or output_size is None \
        else tuple(output_size)
    if len(size) != 2:
        raise ValueError(f"{name}: output_size must be an int or a pair, got {output_size!r}")
    size = tuple(n if s is None else int(s) for s, n in zip(size, in_hw))
    if None in size or min(size) <= 0:
        raise ValueError(f"{name}: output_size must be positive (None keeps a known input size), "
                         f"got {output_size!r} for an input of spatial size {in_hw}")
    return size


def _constant(array):
    return make_tensor(array)


def _separable(x, rows, cols):
    """rows @ x @ cols^T over the last two axes of a 4-D ``x``, as two single GEMMs."""
    n, c, h, w = x.shape
    out_h, out_w = rows.shape[0], cols.shape[0]
    y = matmul(reshape(x, (n * c * h, w)), _constant(cols.T))
    y = reshape(transpose(reshape(y, (n, c, h, out_w)), -1, -2), (n * c * out_w, h))
    y = matmul(y, _constant(rows.T))
    return transpose(reshape(y, (n, c, out_w, out_h)), -1, -2)


def adaptive_avg_pool2d(input, output_size):
    """Average over PyTorch's adaptive windows [floor(i*H/OH), ceil((i+1)*H/OH))."""
    expect_spatial_input("adaptive_avg_pool2d", input, 2)
    expect_non_empty("adaptive_avg_pool2d", input, 2, empty_channels=True)
    x, added = _to_batch(input, 2)
    h, w = x.shape[2:]
    out_hw = _output_pair("adaptive_avg_pool2d", output_size, (h, w))
    if out_hw == (1, 1):
        out = mean(x, axis=(2, 3), keepdims=True)
    elif h % out_hw[0] == 0 and w % out_hw[1] == 0:
        kernel = (h // out_hw[0], w // out_hw[1])
        out = avg_pool2d_values(x, kernel, kernel, (0, 0), False, True, None)
    else:
        dtype = x.dtype.np
        out = _separable(x, backend.adaptive_avg_matrix(h, out_hw[0], dtype),
                         backend.adaptive_avg_matrix(w, out_hw[1], dtype))
    return squeeze(out, 0) if added else out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows; ties go to the first maximum (row-major)."""
    expect_spatial_input("adaptive_max_pool2d", input, 2)
    expect_non_empty("adaptive_max_pool2d", input, 2)
    x, added = _to_batch(input, 2)
    n, c, h, w = x.shape
    out_hw = _output_pair("adaptive_max_pool2d", output_size, (h, w))
    if h % out_hw[0] == 0 and w % out_hw[1] == 0 and out_hw != (1, 1):
        kernel = (h // out_hw[0], w // out_hw[1])
        result = max_pool2d(x, kernel, kernel, 0, 1, False, return_indices)
        out, indices = result if return_indices else (result, None)
    else:
        plane = flatten(x, 2)
        if out_hw == (1, 1):
            indices = reshape(argmax(plane, axis=2, keepdims=True), (n, c, 1, 1))
        else:
            indices = adaptive_max_pool2d_indices(x, out_hw)
        out = reshape(take_along_axis(plane, flatten(indices, 2), axis=2), (n, c) + out_hw)
    if added:
        out = squeeze(out, 0)
        indices = None if indices is None else squeeze(indices, 0)
    return (out, indices) if return_indices else out


_MODES = {"nearest": (1, 2), "linear": (1,), "bilinear": (2,)}


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, L) or (N, C, H, W) by ``size`` or ``scale_factor``: 'nearest' (PyTorch's
    floor rule), 'linear' (3-D) or 'bilinear' (4-D), ``align_corners`` False or True."""
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode {mode!r} is not supported; use one of "
                         f"{', '.join(map(repr, _MODES))}")
    spatial = input.ndim - 2
    if spatial not in _MODES[mode]:
        raise ShapeError(f"interpolate: mode {mode!r} expects a "
                         + " or ".join(f"{d + 2}-D" for d in _MODES[mode])
                         + f" input (N, C, ...), got shape {format_shape(input.shape)}")
    if align_corners is not None and mode == "nearest":
        raise ValueError("interpolate: align_corners can only be set with the interpolating "
                         "modes 'linear' and 'bilinear'")
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    in_sizes = tuple(input.shape[2:])
    if size is not None:
        out_sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,) * spatial
        scales = (None,) * spatial
    else:
        scales = (tuple(float(s) for s in scale_factor) if isinstance(scale_factor, (tuple, list))
                  else (float(scale_factor),) * spatial)
        out_sizes = tuple(int(n * s // 1) for n, s in zip(in_sizes, scales))
        if recompute_scale_factor:
            scales = (None,) * spatial
    if len(out_sizes) != spatial or len(scales) != spatial:
        raise ValueError(f"interpolate: size or scale_factor must have {spatial} entries for an "
                         f"input of shape {format_shape(input.shape)}")
    if min(out_sizes) <= 0:
        raise ValueError(f"interpolate: output size {out_sizes} must be positive")
    dtype = input.dtype.np
    matrices = [backend.interpolation_matrix(n, o, mode, bool(align_corners), s, dtype)
                for n, o, s in zip(in_sizes, out_sizes, scales)]
    if spatial == 1:
        ones = backend.xp.ones((1, 1), dtype)
        return squeeze(_separable(unsqueeze(input, 2), ones, matrices[0]), 2)
    return _separable(input, matrices[0], matrices[1])


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """PyTorch's older name for ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Bilinear upsampling with align_corners=True, as PyTorch's ``upsample_bilinear``."""
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)
