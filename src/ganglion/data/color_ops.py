"""The colour of one image in any of its three forms: a PIL image (adjusted by Pillow's
``ImageEnhance`` / ``ImageOps`` and HSV conversion, as torchvision does), a (..., C, H, W)
tensor, or an (H, W[, C]) NumPy array (both with NumPy, following torchvision's tensor
formulas): luma, brightness, contrast, saturation, hue, sharpness, inversion, posterizing,
solarizing, autocontrast, histogram equalization and Gaussian blur (colour, and the
photometric rest of torchvision's transforms). ``ganglion.data.transforms`` builds
``ColorJitter``, ``GaussianBlur`` and the grayscale and ``Random*`` photometric transforms on
these; ``ganglion.vision.transforms.functional`` exposes them under torchvision's names.

Tensor and array rules, as torchvision's: float images hold values in [0, 1], integer images
in [0, the dtype's maximum]; a blend of the image with another (black, its mean grey, its
grayscale) is clamped to that range and cast back to the image's dtype (truncating, for
integers); hue rotates the hue channel of an RGB -> HSV -> RGB round trip in float32.
"""
import numbers

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor
from ganglion.data.image_ops import is_pil

__all__ = ["luma", "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "adjust_sharpness", "invert", "posterize", "solarize", "autocontrast", "equalize",
           "gaussian_blur", "image_channels"]


def _channels_first(image, what):
    """(array as (..., C, H, W) with 1 or 3 channels, a function that turns such an array back
    into the input's kind) for a tensor (already CHW) or an HWC / HW array."""
    if isinstance(image, Tensor):
        array = image._data
        if array.ndim < 3:
            raise TypeError(f"{what}: expected a (..., C, H, W) tensor, got shape {array.shape}")
        channels_first, back = array, make_tensor
    else:
        array = np.asarray(image)
        if array.ndim == 2:
            channels_first, back = array[None], lambda a: np.ascontiguousarray(a[0])
        elif array.ndim == 3:
            channels_first = np.moveaxis(array, -1, -3)
            back = lambda a: np.ascontiguousarray(np.moveaxis(a, -3, -1))  # noqa: E731
        else:
            raise TypeError(f"{what}: expected an (H, W) or (H, W, C) array, got shape "
                            f"{array.shape}")
    if channels_first.shape[-3] not in (1, 3):
        raise TypeError(f"{what}: expected an image with 1 or 3 channels, got "
                        f"{channels_first.shape[-3]} (shape {array.shape})")
    return channels_first, back


def image_channels(image):
    """The channel count of a PIL image, a (..., C, H, W) tensor or an (H, W[, C]) array."""
    if is_pil(image):
        return len(image.getbands())
    if isinstance(image, Tensor):
        return image.shape[-3] if image.ndim >= 3 else 1
    shape = np.shape(image)
    return shape[2] if len(shape) == 3 else 1


def _bound(dtype):
    """The largest value of an image of ``dtype``: 1 for floats, the maximum for integers."""
    return 1.0 if dtype.kind == "f" else float(np.iinfo(dtype).max)


def luma(array):
    """The grayscale (..., 1, H, W) of a (..., 3, H, W) array, 0.2989 R + 0.587 G + 0.114 B,
    in the array's dtype (truncated, for integers), as torchvision's ``rgb_to_grayscale``."""
    compute = array.dtype.type if array.dtype.kind == "f" else np.float32
    r, g, b = (array[..., i, :, :].astype(compute, copy=False) for i in range(3))
    gray = (compute(0.2989) * r + compute(0.587) * g) + compute(0.114) * b
    return gray.astype(array.dtype)[..., None, :, :]


def _blend(array, other, ratio):
    """ratio * array + (1 - ratio) * other, clamped to the dtype's range, in array's dtype."""
    compute = array.dtype.type if array.dtype.kind == "f" else np.float32
    mixed = compute(ratio) * array.astype(compute, copy=False) + compute(1.0 - ratio) * \
        np.asarray(other).astype(compute, copy=False)
    return np.clip(mixed, 0, _bound(array.dtype)).astype(array.dtype)


def _factor(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} should be a number, got {value!r}")
    return float(value)


def _non_negative(value, name):
    """A ``<property>_factor`` of ``adjust_<property>`` as a float >= 0."""
    what = f"adjust_{name.split('_')[0]}: {name}"
    value = _factor(value, what)
    if not value >= 0:
        raise ValueError(f"{what} ({value}) is not non-negative")
    return value


def _enhance(image, enhancer, factor):
    from PIL import ImageEnhance
    return getattr(ImageEnhance, enhancer)(image).enhance(factor)


def adjust_brightness(image, brightness_factor):
    """The image times ``brightness_factor`` (0 gives black, 1 the image), clamped."""
    factor = _non_negative(brightness_factor, "brightness_factor")
    if is_pil(image):
        return _enhance(image, "Brightness", factor)
    array, back = _channels_first(image, "adjust_brightness")
    return back(_blend(array, 0.0, factor))


def adjust_contrast(image, contrast_factor):
    """A blend of the image with its mean grey (0 gives the grey, 1 the image), clamped."""
    factor = _non_negative(contrast_factor, "contrast_factor")
    if is_pil(image):
        return _enhance(image, "Contrast", factor)
    array, back = _channels_first(image, "adjust_contrast")
    compute = array.dtype.type if array.dtype.kind == "f" else np.float32
    gray = luma(array) if array.shape[-3] == 3 else array
    mean = gray.astype(compute).mean(axis=(-3, -2, -1), keepdims=True, dtype=compute)
    return back(_blend(array, mean, factor))


def adjust_saturation(image, saturation_factor):
    """A blend of the image with its grayscale (0 gives the grayscale, 1 the image); a
    one-channel image is returned as it is (as Pillow does)."""
    factor = _non_negative(saturation_factor, "saturation_factor")
    if is_pil(image):
        return _enhance(image, "Color", factor)
    array, back = _channels_first(image, "adjust_saturation")
    if array.shape[-3] == 1:
        return image
    return back(_blend(array, luma(array), factor))


def adjust_hue(image, hue_factor):
    """The hue turned by ``hue_factor`` of a full turn (in [-0.5, 0.5]); images without hue
    (one channel; PIL modes L, 1, I, F) are returned as they are."""
    factor = _factor(hue_factor, "adjust_hue: hue_factor")
    if not -0.5 <= factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({factor}) is not in [-0.5, 0.5]")
    if is_pil(image):
        return _adjust_hue_pil(image, factor)
    array, back = _channels_first(image, "adjust_hue")
    if array.shape[-3] == 1:
        return image
    dtype = array.dtype
    if dtype.kind == "f":
        rgb = array.astype(np.float32)
    else:
        rgb = array.astype(np.float32) / np.float32(_bound(dtype))
    h, s, v = _rgb_to_hsv(rgb)
    out = _hsv_to_rgb(np.mod(h + np.float32(factor), np.float32(1.0)), s, v)
    if dtype.kind != "f":
        # torchvision's float -> integer conversion: scale by max + 1 - 1e-3, then truncate.
        out = out * np.float32(_bound(dtype) + 1.0 - 1e-3)
    return back(out.astype(dtype))


def _adjust_hue_pil(image, factor):
    from PIL import Image
    mode = image.mode
    if mode in ("L", "1", "I", "F"):
        return image
    h, s, v = image.convert("HSV").split()
    hue = np.array(h, dtype=np.uint8)
    # Wraps around modulo 256, which is the turn of Pillow's 8-bit hue.
    hue += np.int32(factor * 255).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(hue, "L"), s, v)).convert(mode)


def _rgb_to_hsv(rgb):
    """(h, s, v) in [0, 1] of a float32 (..., 3, H, W) array (Pillow's formulas)."""
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc, minc = rgb.max(axis=-3), rgb.min(axis=-3)
    grey = maxc == minc                     # no hue and no saturation: avoid dividing by 0
    spread = maxc - minc
    one = np.float32(1.0)
    s = spread / np.where(grey, one, maxc)
    divisor = np.where(grey, one, spread)
    rc, gc, bc = (maxc - r) / divisor, (maxc - g) / divisor, (maxc - b) / divisor
    h = ((maxc == r) * (bc - gc) + ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
         + ((maxc != g) & (maxc != r)) * (4.0 + gc - rc))
    h = np.fmod(h / np.float32(6.0) + one, one)
    return h, s, maxc


def _hsv_to_rgb(h, s, v):
    """The float32 (..., 3, H, W) RGB of (h, s, v) in [0, 1]."""
    sector = np.floor(h * np.float32(6.0))
    f = h * np.float32(6.0) - sector
    sector = sector.astype(np.int32) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    r = np.choose(sector, (v, q, p, p, t, v))
    g = np.choose(sector, (t, v, v, q, p, p))
    b = np.choose(sector, (p, p, t, v, v, q))
    return np.stack((r, g, b), axis=-3)


def _pil_ops():
    from PIL import ImageOps
    return ImageOps


def invert(image):
    """The negative: the dtype's maximum (1 for floats) minus each value."""
    if is_pil(image):
        return _pil_ops().invert(image)
    array, back = _channels_first(image, "invert")
    return back((np.asarray(_bound(array.dtype), array.dtype) - array).astype(array.dtype))


def _uint8(array, what):
    if array.dtype != np.uint8:
        raise TypeError(f"{what}: only uint8 images are supported, got {array.dtype}")


def posterize(image, bits):
    """Each uint8 value keeps its ``bits`` highest bits (0-8)."""
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 0 <= bits <= 8:
        raise ValueError(f"posterize: bits should be an int in [0, 8], got {bits!r}")
    if is_pil(image):
        return _pil_ops().posterize(image, int(bits))
    array, back = _channels_first(image, "posterize")
    _uint8(array, "posterize")
    return back(array & np.uint8((0xFF << (8 - int(bits))) & 0xFF))


def solarize(image, threshold):
    """Values at or above ``threshold`` inverted."""
    threshold = _factor(threshold, "solarize: threshold")
    if is_pil(image):
        return _pil_ops().solarize(image, threshold)
    array, back = _channels_first(image, "solarize")
    if threshold > _bound(array.dtype):
        raise ValueError(f"solarize: threshold {threshold} is above the largest value of a "
                         f"{array.dtype} image ({_bound(array.dtype):g})")
    inverted = (np.asarray(_bound(array.dtype), array.dtype) - array).astype(array.dtype)
    return back(np.where(array >= threshold, inverted, array))


def _to_dtype(values, dtype):
    """Float results back to an image dtype: rounded first for integers (torchvision's rule
    after a convolution)."""
    return (np.rint(values) if dtype.kind != "f" else values).astype(dtype)


def _correlate(array, kernel_rows, kernel_columns=None):
    """The 'valid' correlation of the last two axes of a float array with a 2-D kernel
    (``kernel_rows`` alone) or with the separable kernel outer(kernel_rows, kernel_columns)."""
    if kernel_columns is not None:
        height = array.shape[-2] - len(kernel_rows) + 1
        width = array.shape[-1] - len(kernel_columns) + 1
        rows = sum(w * array[..., i:i + height, :] for i, w in enumerate(kernel_rows))
        return sum(w * rows[..., :, j:j + width] for j, w in enumerate(kernel_columns))
    kh, kw = kernel_rows.shape
    height, width = array.shape[-2] - kh + 1, array.shape[-1] - kw + 1
    return sum(kernel_rows[i, j] * array[..., i:i + height, j:j + width]
               for i in range(kh) for j in range(kw))


def adjust_sharpness(image, sharpness_factor):
    """A blend with a smoothed copy (0 gives the smoothed image, 1 the image, 2 a sharper one):
    the 3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 inside, the border pixels kept, as
    Pillow's ``ImageEnhance.Sharpness``."""
    factor = _non_negative(sharpness_factor, "sharpness_factor")
    if is_pil(image):
        return _enhance(image, "Sharpness", factor)
    array, back = _channels_first(image, "adjust_sharpness")
    if array.shape[-1] <= 2 or array.shape[-2] <= 2:
        return image
    compute = array.dtype.type if array.dtype.kind == "f" else np.float32
    kernel = np.ones((3, 3), compute)
    kernel[1, 1] = 5
    kernel /= kernel.sum()
    smooth = array.copy()
    smooth[..., 1:-1, 1:-1] = _to_dtype(_correlate(array.astype(compute), kernel), array.dtype)
    return back(_blend(array, smooth, factor))


def autocontrast(image):
    """Each channel stretched to span [0, the dtype's maximum] (a flat channel is kept)."""
    if is_pil(image):
        return _pil_ops().autocontrast(image)
    array, back = _channels_first(image, "autocontrast")
    bound = _bound(array.dtype)
    compute = array.dtype.type if array.dtype.kind == "f" else np.float32
    low = array.min(axis=(-2, -1), keepdims=True).astype(compute)
    high = array.max(axis=(-2, -1), keepdims=True).astype(compute)
    flat = high == low
    low = np.where(flat, compute(0), low)
    scale = np.where(flat, compute(1), compute(bound) / np.where(flat, compute(1), high - low))
    stretched = (array.astype(compute) - low) * scale
    return back(np.clip(stretched, 0, bound).astype(array.dtype))


def _equalize_channel(channel):
    """Pillow's histogram equalization of one uint8 channel (a lookup table of the cumulative
    histogram, in steps of (pixels less the last level's) / 255)."""
    histogram = np.bincount(channel.reshape(-1), minlength=256)
    step = int(histogram[histogram != 0][:-1].sum()) // 255
    if step == 0:
        return channel
    table = (np.cumsum(histogram) + step // 2) // step
    table = np.clip(np.concatenate(([0], table[:-1])), 0, 255).astype(np.uint8)
    return table[channel]


def equalize(image):
    """Histogram equalization of each channel of a uint8 image."""
    if is_pil(image):
        return _pil_ops().equalize(image)
    array, back = _channels_first(image, "equalize")
    _uint8(array, "equalize")
    flat = array.reshape(-1, *array.shape[-2:])
    out = np.stack([_equalize_channel(channel) for channel in flat]).reshape(array.shape)
    return back(out)


def _gaussian_kernel(size, sigma, dtype):
    half = (size - 1) * 0.5
    x = np.linspace(-half, half, size, dtype=dtype)
    pdf = np.exp(-0.5 * (x / dtype(sigma)) ** 2)
    return pdf / pdf.sum()


def gaussian_blur(image, kernel_size, sigma):
    """Blur by a Gaussian of ``kernel_size`` = (width, height) (odd) and ``sigma`` = (x, y),
    the borders reflected, as torchvision's ``gaussian_blur`` (a PIL image is blurred as an
    array and converted back)."""
    if is_pil(image):
        from ganglion.data.image_ops import pil_from_array
        return pil_from_array(gaussian_blur(np.asarray(image), kernel_size, sigma), image)
    array, back = _channels_first(image, "gaussian_blur")
    (kx, ky), (sx, sy) = kernel_size, sigma
    if ky // 2 >= array.shape[-2] or kx // 2 >= array.shape[-1]:
        raise ValueError(f"gaussian_blur: kernel {tuple(kernel_size)} needs an image larger "
                         f"than half of it to reflect its borders, got shape {array.shape}")
    compute = array.dtype.type if array.dtype.kind == "f" else np.float32
    pad = [(0, 0)] * (array.ndim - 2) + [(ky // 2, ky // 2), (kx // 2, kx // 2)]
    padded = np.pad(array.astype(compute), pad, mode="reflect")
    blurred = _correlate(padded, _gaussian_kernel(ky, sy, compute),
                         _gaussian_kernel(kx, sx, compute))
    return back(_to_dtype(blurred, array.dtype))
