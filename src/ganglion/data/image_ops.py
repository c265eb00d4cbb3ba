"""The geometry of one image in any of its three forms: a PIL image (transformed by Pillow
itself, as torchvision does, its mode and palette kept), a (..., C, H, W) tensor, or an (H, W[, C])
NumPy array (both transformed with NumPy, following torchvision's tensor formulas): size, crop,
pad, flip, resize, rotate and affine maps. ``ganglion.data.transforms`` builds its transforms on
these, and ``ganglion.vision.transforms.functional`` exposes them under torchvision's names.
"""
import enum
import math
import numbers

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["InterpolationMode", "PADDING_MODES", "is_pil", "interpolation_mode", "spatial",
           "image_size", "crop", "padding_ltrb", "pad", "size_arg", "resized_size",
           "resize_array", "resize", "flip", "rotate", "affine", "inverse_affine_matrix",
           "pil_from_array"]


def is_pil(image):
    return type(image).__module__.startswith("PIL.")


class InterpolationMode(enum.Enum):
    """How resizing and rotating fill in pixels (torchvision's names and values)."""
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


# Pillow's filter numbers (Image.Resampling), so that a PIL image is resized by Pillow itself.
_PIL_FILTERS = {InterpolationMode.NEAREST: 0, InterpolationMode.NEAREST_EXACT: 0,
                InterpolationMode.BILINEAR: 2, InterpolationMode.BICUBIC: 3,
                InterpolationMode.BOX: 4, InterpolationMode.HAMMING: 5,
                InterpolationMode.LANCZOS: 1}
_MODES_OF_PIL_FILTERS = {number: mode for mode, number in reversed(_PIL_FILTERS.items())}


def interpolation_mode(mode, what):
    """``mode`` as an InterpolationMode: one, its value ('bilinear'), or a Pillow filter
    number (which torchvision also takes)."""
    if isinstance(mode, InterpolationMode):
        return mode
    if isinstance(mode, str):
        try:
            return InterpolationMode(mode)
        except ValueError:
            pass
    elif isinstance(mode, numbers.Integral) and not isinstance(mode, bool) \
            and int(mode) in _MODES_OF_PIL_FILTERS:
        return _MODES_OF_PIL_FILTERS[int(mode)]
    names = ", ".join(m.name for m in InterpolationMode)
    raise TypeError(f"{what}: interpolation must be an InterpolationMode ({names}), got {mode!r}")


def pil_from_array(array, like):
    """A PIL image of ``like``'s mode (and palette) holding ``array`` (HW or HWC)."""
    from PIL import Image
    array = np.ascontiguousarray(array)
    image = Image.fromarray(array)
    if like.mode == "P":
        image.putpalette(like.getpalette())
    elif image.mode != like.mode:
        # Modes NumPy cannot name (CMYK, YCbCr, I;16, ...): the bytes are laid out the same.
        image = Image.frombytes(like.mode, (array.shape[1], array.shape[0]), array.tobytes())
    return image


def spatial(image):
    """(array, height axis, width axis, a function that turns an array back into the input's
    kind): a PIL image is HWC (its mode is kept), a Tensor CHW, an array HWC."""
    if is_pil(image):
        return np.asarray(image), 0, 1, lambda a: pil_from_array(a, image)
    if isinstance(image, Tensor):
        return image._data, -2, -1, make_tensor
    array = np.asarray(image)
    if array.ndim < 2:
        raise ValueError(f"expected an image (H, W[, C]), got an array of shape {array.shape}")
    return array, 0, 1, lambda a: a


def image_size(image):
    """(height, width) of a PIL image, CHW tensor or HWC array."""
    if is_pil(image):
        return image.height, image.width
    if isinstance(image, Tensor):
        if image.ndim < 2:
            raise ValueError(f"expected an image tensor (..., H, W), got shape "
                             f"{tuple(image.shape)}")
        return tuple(image.shape[-2:])
    return tuple(np.shape(image)[:2])


def crop(image, top, left, height, width):
    """The ``height`` x ``width`` window at (top, left), which lies inside the image."""
    if is_pil(image):
        return image.crop((left, top, left + width, top + height))
    array, h_axis, w_axis, restore = spatial(image)
    index = [slice(None)] * array.ndim
    index[h_axis], index[w_axis] = slice(top, top + height), slice(left, left + width)
    return restore(np.ascontiguousarray(array[tuple(index)]))


def padding_ltrb(padding, what):
    """torchvision's padding forms as (left, top, right, bottom): one int for every border,
    (left/right, top/bottom), or (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        values = (padding,) * 4
    elif isinstance(padding, (tuple, list)):
        if len(padding) not in (1, 2, 4):
            raise ValueError(f"{what}: padding must be an int or a 1, 2, or 4 element tuple, "
                             f"not a {len(padding)} element tuple")
        values = tuple(padding) * (4 // len(padding))
    else:
        raise TypeError(f"{what}: padding must be an int or a tuple of ints, got {padding!r}")
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0
               for v in values):
        raise ValueError(f"{what}: padding must be non-negative ints, got {padding!r}")
    return tuple(int(v) for v in values)


PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


def pad(image, ltrb, fill, padding_mode, what):
    """``image`` with (left, top, right, bottom) borders added: ``fill`` (a number, or one
    per channel) in constant mode, else NumPy's edge / reflect / symmetric padding, which are
    torchvision's."""
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"{what}: padding_mode should be one of {', '.join(PADDING_MODES)}, "
                         f"got {padding_mode!r}")
    left, top, right, bottom = ltrb
    array, h_axis, w_axis, restore = spatial(image)
    widths = [(0, 0)] * array.ndim
    widths[h_axis], widths[w_axis] = (top, bottom), (left, right)
    if padding_mode != "constant":
        return restore(np.pad(array, widths, mode=padding_mode))
    fill = np.asarray(fill)
    if fill.dtype.kind not in "biuf":
        raise TypeError(f"{what}: fill must be a number or a tuple of numbers, got {fill!r}")
    fill = fill.reshape(-1)
    channel_axis = -3 if isinstance(image, Tensor) else 2
    channels = array.shape[channel_axis] if array.ndim == 3 else 1
    if fill.size not in (1, channels):
        raise ValueError(f"{what}: the number of elements in fill ({fill.size}) does not match "
                         f"the number of channels of the image ({channels})")
    shape = [n + a + b for n, (a, b) in zip(array.shape, widths)]
    out = np.empty(shape, array.dtype)
    # A per-channel fill broadcasts along the channel axis (last for HWC, -3 for CHW).
    out[...] = fill[:, None, None] if fill.size > 1 and channel_axis == -3 else \
        (fill if fill.size > 1 else fill[0])
    inner = [slice(a, n - b) for n, (a, b) in zip(shape, widths)]
    out[tuple(inner)] = array
    return restore(out)


def size_arg(size, what):
    """Resize's size: an int (the smaller edge) or (h, w) of positive ints, as a list."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = [size]
    elif not isinstance(size, (tuple, list)):
        raise TypeError(f"{what}: size should be an int or a sequence of 1 or 2 ints, got "
                        f"{size!r}")
    if len(size) not in (1, 2):
        raise ValueError(f"{what}: if size is a sequence, it should have 1 or 2 values, got "
                         f"{size!r}")
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
               for v in size):
        raise ValueError(f"{what}: size must hold positive ints, got {size!r}")
    return [int(v) for v in size]


def resized_size(height, width, size, max_size, what):
    """torchvision's output size: (h, w) as given, or the smaller edge set to ``size[0]`` and
    the longer one scaled (truncated), then capped at ``max_size``."""
    if len(size) == 2:
        return size[0], size[1]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"{what}: max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {size[0]}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if width <= height else (new_short, new_long)


def _filter_weights(n_in, n_out, antialias):
    """(n_out, n_in) weights of the triangle (bilinear) filter at half-pixel centres; with
    ``antialias`` the filter widens by the downscaling factor, as Pillow and PyTorch's
    ``interpolate(..., antialias=True)`` do. Rows sum to 1 (edge pixels renormalised, which
    is what clamping the source coordinate amounts to without antialiasing)."""
    scale = n_in / n_out
    support = max(scale, 1.0) if antialias else 1.0
    centres = (np.arange(n_out) + 0.5) * scale
    distance = (np.arange(n_in)[None, :] + 0.5 - centres[:, None]) / support
    weights = np.clip(1 - np.abs(distance), 0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def _nearest_indices(n_in, n_out, exact):
    # PyTorch computes the source index in float32: floor(dst * in / out), or with
    # nearest-exact floor((dst + 0.5) * in / out), clamped to the last pixel.
    scale = np.float32(n_in / n_out)
    positions = np.arange(n_out, dtype=np.float32) + (np.float32(0.5) if exact else 0)
    return np.minimum(np.floor(positions * scale).astype(np.int64), n_in - 1)


def resize_array(array, size, h_axis, w_axis, interpolation=InterpolationMode.BILINEAR,
                  antialias=True, what="Resize"):
    """Resize the two spatial axes of ``array`` to ``size`` (h, w), keeping its dtype
    (integers rounded and clipped): nearest, nearest-exact or bilinear, as PyTorch's
    ``interpolate`` with ``align_corners=False``."""
    out_h, out_w = size
    moved = np.moveaxis(array, (h_axis, w_axis), (-2, -1))
    in_h, in_w = moved.shape[-2:]
    if interpolation in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        exact = interpolation is InterpolationMode.NEAREST_EXACT
        out = moved[..., _nearest_indices(in_h, out_h, exact), :][
            ..., _nearest_indices(in_w, out_w, exact)]
        return np.ascontiguousarray(np.moveaxis(out, (-2, -1), (h_axis, w_axis)))
    if interpolation is not InterpolationMode.BILINEAR:
        raise NotImplementedError(f"{what}: {interpolation.value} interpolation is implemented "
                                  "for PIL images only; use NEAREST or BILINEAR for tensors "
                                  "and arrays")
    compute = moved.dtype if moved.dtype in (np.float32, np.float64) else np.float32
    rows = _filter_weights(in_h, out_h, antialias).astype(compute)
    cols = _filter_weights(in_w, out_w, antialias).astype(compute)
    out = rows @ moved.astype(compute, copy=False) @ cols.T
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return np.ascontiguousarray(np.moveaxis(out.astype(array.dtype), (-2, -1),
                                            (h_axis, w_axis)))


def resize(image, size, interpolation, antialias, what):
    """``image`` resized to (h, w) ``size``: by Pillow for a PIL image, else ``resize_array``.
    The image itself comes back when it already has that size, as in torchvision."""
    if tuple(size) == image_size(image):
        return image
    if is_pil(image):
        return image.resize((size[1], size[0]), _PIL_FILTERS[interpolation])
    array, h_axis, w_axis, restore = spatial(image)
    return restore(resize_array(array, size, h_axis, w_axis, interpolation, antialias, what))


def flip(image, vertical):
    if is_pil(image):
        from PIL import Image
        return image.transpose(Image.Transpose.FLIP_TOP_BOTTOM if vertical
                               else Image.Transpose.FLIP_LEFT_RIGHT)
    array, h_axis, w_axis, restore = spatial(image)
    return restore(np.ascontiguousarray(np.flip(array, axis=h_axis if vertical else w_axis)))


def _pil_fill(image, fill):
    """``fill`` as Pillow's ``fillcolor`` for ``image``: a number repeated for each band."""
    fill = tuple(fill) if isinstance(fill, (tuple, list)) else fill
    if isinstance(fill, numbers.Number) and len(image.getbands()) > 1:
        fill = (fill,) * len(image.getbands())
    return fill


def _check_sampling(interpolation, what):
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise NotImplementedError(f"{what}: {interpolation.value} interpolation is "
                                  "implemented for PIL images only; use NEAREST or BILINEAR "
                                  "for tensors and arrays")


def rotate(image, angle, interpolation, expand, center, fill):
    """``image`` rotated ``angle`` degrees counter-clockwise (see RandomRotation)."""
    if is_pil(image):
        return image.rotate(angle, _PIL_FILTERS[interpolation], expand, center,
                            fillcolor=_pil_fill(image, fill))
    _check_sampling(interpolation, "RandomRotation")
    height, width = image_size(image)
    # torchvision's inverse affine matrix for a rotation about ``center`` (relative to the
    # image centre): output point (x, y) samples input point ``inverse @ (x, y, 1)``, in
    # coordinates whose origin is the centre of the image (the output's, for the output).
    cx, cy = (0.0, 0.0) if center is None else (center[0] - width * 0.5, center[1] - height * 0.5)
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    inverse = np.array([[cos, -sin, cx - cos * cx + sin * cy],
                        [sin, cos, cy - sin * cx - cos * cy]])
    out_h, out_w = height, width
    if expand:
        # In float32, as torchvision computes it: the sizes must agree to the pixel.
        corners = np.array([[-0.5 * width, -0.5 * height, 1], [-0.5 * width, 0.5 * height, 1],
                            [0.5 * width, 0.5 * height, 1], [0.5 * width, -0.5 * height, 1]],
                           np.float32)
        moved_corners = corners @ inverse.astype(np.float32).T
        half = np.array([width * 0.5, height * 0.5], np.float32)
        tol = np.float32(1e-4)
        # Truncated to 1e-4 before ceil / floor, as torchvision does, against float noise.
        high = np.ceil(np.trunc((moved_corners.max(axis=0) + half) / tol) * tol)
        low = np.floor(np.trunc((moved_corners.min(axis=0) + half) / tol) * tol)
        out_w, out_h = (int(v) for v in high - low)
    return _sample(image, inverse, out_h, out_w, interpolation, fill, "RandomRotation")


def inverse_affine_matrix(center, angle, translate, scale, shear):
    """The 2x3 matrix that maps an output point to the input point it samples, for the affine
    map ``translate`` after a rotation by ``angle`` degrees (clockwise in image coordinates),
    a scaling by ``scale`` and shears by ``shear = (x degrees, y degrees)``, all about
    ``center`` (torchvision's ``RandomAffine`` convention: linear part
    scale * R(angle) @ SHy(shear y) @ SHx(shear x), SHx(s) = [[1, -tan s], [0, 1]],
    SHy(s) = [[1, 0], [-tan s, 1]])."""
    a, shear_x, shear_y = (math.radians(v) for v in (angle, shear[0], shear[1]))
    # The linear part without the scale, R(a) @ SHy @ SHx, in closed form.
    p = math.cos(a - shear_y) / math.cos(shear_y)
    r = math.sin(a - shear_y) / math.cos(shear_y)
    q = -p * math.tan(shear_x) - math.sin(a)
    t = -r * math.tan(shear_x) + math.cos(a)
    # Its determinant is 1 (rotations and shears keep areas): the inverse is the adjugate.
    m00, m01, m10, m11 = t / scale, -q / scale, -r / scale, p / scale
    # Output point o samples centre + M (o - centre - translate).
    dx, dy = -center[0] - translate[0], -center[1] - translate[1]
    return np.array([[m00, m01, center[0] + m00 * dx + m01 * dy],
                     [m10, m11, center[1] + m10 * dx + m11 * dy]])


def affine(image, angle, translate, scale, shear, interpolation, fill, center):
    """``image`` under the affine map of ``inverse_affine_matrix`` (see RandomAffine), about
    ``center`` (pixel coordinates; default the image centre), same size, uncovered pixels
    ``fill``."""
    height, width = image_size(image)
    if is_pil(image):
        from PIL import Image
        pivot = (width * 0.5, height * 0.5) if center is None else center
        matrix = inverse_affine_matrix(pivot, angle, translate, scale, shear)
        return image.transform((width, height), Image.Transform.AFFINE,
                               tuple(matrix.reshape(-1)), _PIL_FILTERS[interpolation],
                               fillcolor=_pil_fill(image, fill))
    _check_sampling(interpolation, "affine")
    # Tensors sample in coordinates centred on the image, as torchvision's affine grid.
    pivot = (0.0, 0.0) if center is None else (center[0] - width * 0.5, center[1] - height * 0.5)
    inverse = inverse_affine_matrix(pivot, angle, translate, scale, shear)
    return _sample(image, inverse, height, width, interpolation, fill, "affine")


def _sample(image, inverse, out_h, out_w, interpolation, fill, what):
    """An (out_h, out_w) image whose pixel (x, y), in coordinates centred on the output, takes
    the input at ``inverse @ (x, y, 1)`` (centred on the input) by nearest or bilinear
    sampling; pixels that see outside the input blend in ``fill`` as torchvision does."""
    array, h_axis, w_axis, restore = spatial(image)
    # (C, H, W) for a CHW tensor and for an HWC array alike.
    moved = np.moveaxis(array, (h_axis, w_axis), (-2, -1))
    height, width = moved.shape[-2:]
    oy, ox = np.meshgrid(np.arange(out_h) + 0.5 - out_h * 0.5,
                         np.arange(out_w) + 0.5 - out_w * 0.5, indexing="ij")
    # Input pixel coordinates (pixel centres at integers) that each output pixel samples.
    sx = inverse[0, 0] * ox + inverse[0, 1] * oy + inverse[0, 2] + width * 0.5 - 0.5
    sy = inverse[1, 0] * ox + inverse[1, 1] * oy + inverse[1, 2] + height * 0.5 - 0.5
    compute = moved.dtype if moved.dtype.kind == "f" else np.float32
    source = moved.astype(compute, copy=False)
    if interpolation is InterpolationMode.NEAREST:
        # grid_sample's nearest rounds half to even, as np.rint.
        ix, iy = np.rint(sx).astype(np.int64), np.rint(sy).astype(np.int64)
        covered = ((ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)).astype(compute)
        out = source[..., np.clip(iy, 0, height - 1), np.clip(ix, 0, width - 1)]
    else:
        x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
        out = np.zeros(moved.shape[:-2] + (out_h, out_w), compute)
        covered = np.zeros((out_h, out_w), compute)
        for yi in (y0, y0 + 1):
            for xi in (x0, x0 + 1):
                inside = (xi >= 0) & (xi < width) & (yi >= 0) & (yi < height)
                weight = np.where(inside, (1 - np.abs(sx - xi)) * (1 - np.abs(sy - yi)), 0)
                weight = weight.astype(compute)
                out += source[..., np.clip(yi, 0, height - 1), np.clip(xi, 0, width - 1)] * weight
                covered += weight
    # torchvision samples a mask of ones alongside the image and blends the fill in by it
    # (the zero-padded bilinear samples near the border are multiplied by it once more).
    fill = np.asarray(fill, compute).reshape(-1)
    channels = moved.shape[-3] if moved.ndim >= 3 else 1
    if fill.size not in (1, channels):
        raise ValueError(f"{what}: the number of elements in fill ({fill.size}) does "
                         f"not match the number of channels of the image ({channels})")
    fill = fill[:, None, None] if fill.size > 1 else fill[0]
    out = out * covered + (1 - covered) * fill
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    out = np.moveaxis(out.astype(array.dtype), (-2, -1), (h_axis, w_axis))
    return restore(np.ascontiguousarray(out))
