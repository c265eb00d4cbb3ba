"""The colour of one image in any of its three forms: a PIL image (adjusted by Pillow's
``ImageEnhance`` and HSV conversion, as torchvision does), a (..., C, H, W) tensor, or an
(H, W[, C]) NumPy array (both with NumPy, following torchvision's tensor formulas): luma,
brightness, contrast, saturation and hue. ``ganglion.data.transforms`` builds ``ColorJitter``
and the grayscale transforms on these; ``ganglion.vision.transforms.functional`` exposes them
under torchvision's names.

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
           "image_channels"]


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
    value = _factor(value, name)
    if not value >= 0:
        raise ValueError(f"adjust_{name.split('_')[0]}: {name} ({value}) is not non-negative")
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
    factor = _factor(hue_factor, "hue_factor")
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
