"""Transforms: per-sample preprocessing and augmentation, and their vectorised batch versions.

Per-sample transforms take one image: a PIL image, a NumPy array in HWC (or HW) layout, or a
ganglion Tensor in CHW layout (what ``ToTensor`` returns). They are torchvision's transforms
(``ganglion.vision.transforms`` re-exports them): a PIL image is transformed with Pillow exactly
as torchvision does (same crop boxes, ``Image.resize`` filters, modes kept), a tensor with NumPy
following torchvision's tensor formulas (antialiased bilinear resize as
``torch.nn.functional.interpolate(..., antialias=True)``). Batch transforms take an (N, C, H, W)
array or tensor, or an ``(images, labels, ...)`` batch whose first field they transform, and
work on the whole batch with a few NumPy calls, which is what keeps augmentation from
dominating a CIFAR training step. Random transforms draw from ``rng.current_generator()``, so
they are reproducible under a seeded DataLoader.
"""
import math
import numbers

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor
from ganglion.data import color_ops
from ganglion.data.autoaugment import (AutoAugment, AutoAugmentPolicy, RandAugment,
                                       TrivialAugmentWide)
from ganglion.data.image_ops import (PADDING_MODES, InterpolationMode, crop, flip, image_size,
                                     interpolation_mode, is_pil, pad, padding_ltrb, resize,
                                     resize_array, resized_size, rotate, size_arg)
from ganglion.data.image_ops import affine as affine_map  # RandomAffine's map
from ganglion.data.rng import current_generator

__all__ = ["Compose", "Lambda", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize",
           "CenterCrop", "Pad", "Grayscale", "RandomGrayscale", "ColorJitter", "RandomApply",
           "RandomChoice", "RandomOrder", "RandomCrop", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomResizedCrop", "RandomRotation", "RandomAffine",
           "RandomErasing", "GaussianBlur", "RandomInvert", "RandomPosterize", "RandomSolarize",
           "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize", "AutoAugment",
           "AutoAugmentPolicy", "RandAugment", "TrivialAugmentWide", "InterpolationMode",
           "BatchToTensor", "BatchNormalize", "BatchRandomCrop", "BatchRandomHorizontalFlip",
           "BatchRandomErasing", "MixUp", "CutMix"]


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self):
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class Lambda:
    """Wrap a function as a transform."""

    def __init__(self, fn):
        if not callable(fn):
            raise TypeError(f"Lambda: expected a callable, got {type(fn).__name__}")
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


def _pair(size, what):
    pair = (size, size) if isinstance(size, numbers.Integral) else tuple(size)
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                 and v > 0 for v in pair):
        raise ValueError(f"{what}: size must be a positive int or (height, width) of positive "
                         f"ints, got {size!r}")
    return int(pair[0]), int(pair[1])


def _padding(padding, what):
    if not isinstance(padding, numbers.Integral) or isinstance(padding, bool) or padding < 0:
        raise ValueError(f"{what}: padding must be a non-negative int, got {padding!r}")
    return int(padding)


def _probability(p, what):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"{what}: p must be a probability in [0, 1], got {p!r}")
    return p


class ToTensor:
    """HWC (or HW) uint8 image or PIL image -> CHW float32 tensor in [0, 1]; other dtypes are
    converted to float32 without scaling."""

    def __call__(self, image):
        if isinstance(image, Tensor):
            # A tensor is already CHW: reading it as HWC would scramble the axes silently.
            raise TypeError("ToTensor: expected a PIL image or an HWC NumPy array, got a Tensor "
                            f"of shape {tuple(image.shape)} (it is already converted)")
        array = np.asarray(image)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ValueError(f"ToTensor: expected an HWC or HW image, got shape {array.shape}")
        chw = array.transpose(2, 0, 1)
        if array.dtype == np.uint8:
            return make_tensor(chw.astype(np.float32) * np.float32(1 / 255))
        return make_tensor(np.ascontiguousarray(chw, dtype=np.float32))

    def __repr__(self):
        return "ToTensor()"


def _channel_stats(mean, std, channels, what):
    mean = np.asarray(mean, np.float32).reshape(-1)
    std = np.asarray(std, np.float32).reshape(-1)
    if mean.size not in (1, channels) or std.size not in (1, channels):
        raise ValueError(f"{what}: {mean.size} means and {std.size} stds for {channels} channels")
    if np.any(std == 0) or not np.isfinite(std).all() or not np.isfinite(mean).all():
        raise ValueError(f"{what}: std must be finite and non-zero (after conversion to "
                         f"float32) and mean finite, got mean {mean.tolist()}, std "
                         f"{std.tolist()}")
    return mean, std


class Normalize:
    """(x - mean) / std per channel of a float (..., C, H, W) tensor or CHW array.
    ``inplace=True`` writes the result into the tensor, as torchvision's."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = mean, std, inplace
        self._stats = {}  # channels -> checked (mean, std): checked once, not per sample

    def _checked_stats(self, channels):
        stats = self._stats.get(channels)
        if stats is None:
            stats = self._stats[channels] = _channel_stats(self.mean, self.std, channels,
                                                           "Normalize")
        return stats

    def __call__(self, image):
        if is_pil(image):
            # np.asarray would read the HWC pixels as CHW: a silently wrong result.
            raise TypeError(f"Normalize: expected a (C, H, W) tensor, got a PIL image of size "
                            f"{image.size}; apply ToTensor() first")
        array = image._data if isinstance(image, Tensor) else np.asarray(image, np.float32)
        if array.dtype.kind != "f":
            # torchvision refuses integer images: (uint8 - mean) / std is not what was meant.
            raise TypeError(f"Normalize: input tensor should be a float tensor, got "
                            f"{array.dtype}; use ToTensor() or convert to float first")
        if array.ndim < 3:
            raise ValueError(f"Normalize: expected a (C, H, W) image, got shape {array.shape}")
        mean, std = self._checked_stats(array.shape[-3])
        if isinstance(image, Tensor) and image.requires_grad and not self.inplace:
            # Differentiable, for models that normalise their input (adversarial examples).
            mean, std = (make_tensor(v.astype(array.dtype)[:, None, None]) for v in (mean, std))
            return (image - mean) / std
        out = ((array - mean[:, None, None]) / std[:, None, None]).astype(array.dtype, copy=False)
        if not isinstance(image, Tensor):
            return out
        if self.inplace:
            image.copy_(make_tensor(out))
            return image
        return make_tensor(out)

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class RandomCrop:
    """Crop a random ``size`` window, after padding the borders by ``padding`` (an int, or
    torchvision's 2- or 4-tuple) with ``fill`` or ``padding_mode``; ``pad_if_needed`` pads an
    image smaller than ``size`` up to it first."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair(size, "RandomCrop")
        self.padding = None if padding is None else padding_ltrb(padding, "RandomCrop")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"RandomCrop: padding_mode should be one of "
                             f"{', '.join(PADDING_MODES)}, got {padding_mode!r}")
        self.pad_if_needed, self.fill, self.padding_mode = pad_if_needed, fill, padding_mode

    def __call__(self, image):
        if self.padding is not None and any(self.padding):
            image = pad(image, self.padding, self.fill, self.padding_mode, "RandomCrop")
        height, width = image_size(image)
        crop_h, crop_w = self.size
        if self.pad_if_needed and (height < crop_h or width < crop_w):
            # torchvision pads both sides of a short dimension by the whole shortfall.
            extra_w, extra_h = max(crop_w - width, 0), max(crop_h - height, 0)
            image = pad(image, (extra_w, extra_h, extra_w, extra_h), self.fill,
                         self.padding_mode, "RandomCrop")
            height, width = image_size(image)
        if crop_h > height or crop_w > width:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the (padded) image "
                             f"{(height, width)}")
        rng = current_generator()
        top, left = int(rng.integers(height - crop_h + 1)), int(rng.integers(width - crop_w + 1))
        return crop(image, top, left, crop_h, crop_w)

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = _probability(p, "RandomHorizontalFlip")

    def __call__(self, image):
        if current_generator().random() >= self.p:
            return image
        return flip(image, vertical=False)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class RandomVerticalFlip:
    """Mirror the image top-bottom with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = _probability(p, "RandomVerticalFlip")

    def __call__(self, image):
        if current_generator().random() >= self.p:
            return image
        return flip(image, vertical=True)

    def __repr__(self):
        return f"RandomVerticalFlip(p={self.p})"


def _resize_bilinear(array, size, h_axis, w_axis):
    """Bilinear resize without antialiasing (PyTorch's ``interpolate(mode='bilinear')``)."""
    return resize_array(array, size, h_axis, w_axis, InterpolationMode.BILINEAR, antialias=False)


class RandomResizedCrop:
    """Crop a random region of ``scale`` times the area and ``ratio`` aspect ratio, resized to
    ``size`` with bilinear interpolation (the Inception-style augmentation)."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
        self.size = _pair(size, "RandomResizedCrop")
        self.interpolation = interpolation_mode(interpolation, "RandomResizedCrop")
        self.antialias = antialias
        for name, (low, high) in (("scale", scale), ("ratio", ratio)):
            if not 0 < low <= high:
                # Out of order or non-positive bounds give NaN crop sizes (log, sqrt) later.
                raise ValueError(f"RandomResizedCrop: {name} must be (min, max) with "
                                 f"0 < min <= max, got {(low, high)}")
        self.scale, self.ratio = scale, ratio

    def _region(self, height, width):
        rng = current_generator()
        area = height * width
        log_ratio = np.log(self.ratio)
        for _ in range(10):
            target = area * rng.uniform(*self.scale)
            aspect = np.exp(rng.uniform(*log_ratio))
            w, h = int(round(np.sqrt(target * aspect))), int(round(np.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return int(rng.integers(height - h + 1)), int(rng.integers(width - w + 1)), h, w
        # No sample fitted (an extreme aspect ratio): the largest centred crop within ``ratio``.
        aspect = min(max(width / height, self.ratio[0]), self.ratio[1])
        w, h = (width, int(round(width / aspect))) if width / height < aspect else \
            (int(round(height * aspect)), height)
        w, h = min(w, width), min(h, height)
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, image):
        top, left, h, w = self._region(*image_size(image))
        return resize(crop(image, top, left, h, w), self.size, self.interpolation,
                       self.antialias, "RandomResizedCrop")

    def __repr__(self):
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


class Resize:
    """Resize to ``size``: (h, w), or an int that the smaller edge becomes (the other keeps the
    aspect ratio, truncated; ``max_size`` caps the longer edge). PIL images are resized by
    Pillow with ``interpolation``; tensors and arrays by nearest or bilinear interpolation,
    ``antialias`` (the default, as torchvision's) widening the filter when shrinking."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias=True):
        self.size = size_arg(size, "Resize")
        if max_size is not None and len(self.size) != 1:
            raise ValueError(f"Resize: max_size should only be passed if size specifies the "
                             f"length of the smaller edge (an int), got size={size!r}")
        self.interpolation = interpolation_mode(interpolation, "Resize")
        self.max_size, self.antialias = max_size, antialias

    def __call__(self, image):
        height, width = image_size(image)
        target = resized_size(height, width, self.size, self.max_size, "Resize")
        return resize(image, target, self.interpolation, self.antialias, "Resize")

    def __repr__(self):
        return (f"Resize(size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class CenterCrop:
    """The central ``size`` window (rounded as torchvision rounds, Python's round of half the
    margin); an image smaller than ``size`` is zero-padded to it first."""

    def __init__(self, size):
        self.size = _pair(size[0] if isinstance(size, (tuple, list)) and len(size) == 1
                          else size, "CenterCrop")

    def __call__(self, image):
        height, width = image_size(image)
        crop_h, crop_w = self.size
        if crop_h > height or crop_w > width:
            pad_w, pad_h = max(crop_w - width, 0), max(crop_h - height, 0)
            image = pad(image, (pad_w // 2, pad_h // 2, (pad_w + 1) // 2, (pad_h + 1) // 2), 0,
                         "constant", "CenterCrop")
            height, width = image_size(image)
            if (height, width) == (crop_h, crop_w):
                return image
        top = int(round((height - crop_h) / 2.0))
        left = int(round((width - crop_w) / 2.0))
        return crop(image, top, left, crop_h, crop_w)

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


class Pad:
    """Add borders: ``padding`` is an int (every border), (left/right, top/bottom) or (left,
    top, right, bottom); ``padding_mode`` is constant (``fill``, a number or one per
    channel), edge, reflect or symmetric."""

    def __init__(self, padding, fill=0, padding_mode="constant"):
        self.padding = padding_ltrb(padding, "Pad")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"Pad: padding_mode should be one of {', '.join(PADDING_MODES)}, "
                             f"got {padding_mode!r}")
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, image):
        return pad(image, self.padding, self.fill, self.padding_mode, "Pad")

    def __repr__(self):
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


class Grayscale:
    """Luma (0.2989 R + 0.587 G + 0.114 B) in 1 or 3 equal channels. A PIL image is converted
    by Pillow (mode 'L'; 3 channels give 'RGB'); a tensor (..., 3, H, W) or (..., 1, H, W)
    with torchvision's formula, cast back to its dtype (truncating, for integers)."""

    def __init__(self, num_output_channels=1):
        if num_output_channels not in (1, 3) or isinstance(num_output_channels, bool):
            raise ValueError(f"Grayscale: num_output_channels should be either 1 or 3, got "
                             f"{num_output_channels!r}")
        self.num_output_channels = num_output_channels

    def __call__(self, image):
        if is_pil(image):
            gray = image.convert("L")
            if self.num_output_channels == 1:
                return gray
            from PIL import Image
            return Image.merge("RGB", (gray, gray, gray))
        tensor = isinstance(image, Tensor)
        array = image._data if tensor else np.asarray(image)
        channel_axis = -3 if tensor else -1
        if array.ndim < 3 or array.shape[channel_axis] not in (1, 3):
            layout = "(..., C, H, W) tensor" if tensor else "(H, W, C) array"
            raise TypeError(f"Grayscale: expected a {layout} with 1 or 3 channels, got shape "
                            f"{array.shape}")
        if array.shape[channel_axis] == 3:
            array = (color_ops.luma(array) if tensor else
                     np.moveaxis(color_ops.luma(np.moveaxis(array, -1, -3)), -3, -1))
        if self.num_output_channels == 3:
            array = np.repeat(array, 3, axis=channel_axis)
        array = np.ascontiguousarray(array)
        return make_tensor(array) if tensor else array

    def __repr__(self):
        return f"Grayscale(num_output_channels={self.num_output_channels})"


class RandomGrayscale:
    """``Grayscale`` with probability ``p``, keeping the image's channel count (3 equal
    channels for an RGB image)."""

    def __init__(self, p=0.1):
        self.p = _probability(p, "RandomGrayscale")

    def __call__(self, image):
        if current_generator().random() >= self.p:
            return image
        return Grayscale(num_output_channels=color_ops.image_channels(image))(image)

    def __repr__(self):
        return f"RandomGrayscale(p={self.p})"


def _jitter_range(value, name, center=1.0, bound=(0.0, float("inf")), clip_at_zero=True):
    """torchvision's ColorJitter ranges: a number v gives [center - v, center + v] (clipped at
    0 for the factors), a pair is (min, max); None where the range is just ``center``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"ColorJitter: if {name} is a single number, it must be "
                             f"non-negative, got {value}")
        low, high = center - float(value), center + float(value)
        if clip_at_zero:
            low = max(low, 0.0)
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        low, high = float(value[0]), float(value[1])
    else:
        raise TypeError(f"ColorJitter: {name} should be a single number or a (min, max) pair, "
                        f"got {value!r}")
    if not bound[0] <= low <= high <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, got "
                         f"{(low, high)}")
    return None if low == high == center else (low, high)


class ColorJitter:
    """Random brightness, contrast, saturation and hue changes, in a random order (torchvision's
    ``ColorJitter``). Each of ``brightness``, ``contrast`` and ``saturation`` is a number v (the
    factor drawn from [max(0, 1 - v), 1 + v]) or a (min, max) pair; ``hue`` is a number v in
    [0, 0.5] (the shift drawn from [-v, v]) or a pair within [-0.5, 0.5]. Zero leaves that
    property alone."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0.0, bound=(-0.5, 0.5), clip_at_zero=False)

    _ADJUST = (color_ops.adjust_brightness, color_ops.adjust_contrast,
               color_ops.adjust_saturation, color_ops.adjust_hue)

    def get_params(self, rng=None):
        """(order of the four adjustments, brightness, contrast, saturation and hue factors;
        None for those left alone), as torchvision's ``ColorJitter.get_params``."""
        rng = rng or current_generator()
        order = rng.permutation(4)
        factors = [None if r is None else float(rng.uniform(r[0], r[1]))
                   for r in (self.brightness, self.contrast, self.saturation, self.hue)]
        return (order, *factors)

    def __call__(self, image):
        order, *factors = self.get_params()
        for index in order:
            if factors[index] is not None:
                image = self._ADJUST[index](image, factors[index])
        return image

    def __repr__(self):
        return (f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


def blur_kernel_size(kernel_size, what):
    """(width, height) of a Gaussian kernel: odd positive ints (one int for both)."""
    sizes = (kernel_size, kernel_size) if isinstance(kernel_size, numbers.Integral) \
        else tuple(kernel_size)
    if len(sizes) != 2 or not all(isinstance(k, numbers.Integral) and not isinstance(k, bool)
                                  and k > 0 and k % 2 for k in sizes):
        raise ValueError(f"{what}: kernel_size should be an odd positive int or a pair of them, "
                         f"got {kernel_size!r}")
    return int(sizes[0]), int(sizes[1])


class GaussianBlur:
    """Blur by a Gaussian of ``kernel_size`` (odd; an int or (width, height)) whose standard
    deviation is drawn from ``sigma = (min, max)`` each call (or fixed, a number), the same
    in x and y (torchvision's ``GaussianBlur``)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = blur_kernel_size(kernel_size, "GaussianBlur")
        if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
            sigma = (float(sigma), float(sigma))
        if not (isinstance(sigma, (tuple, list)) and len(sigma) == 2
                and 0 < sigma[0] <= sigma[1]):
            raise ValueError(f"GaussianBlur: sigma should be a positive number or (min, max) "
                             f"with 0 < min <= max, got {sigma!r}")
        self.sigma = (float(sigma[0]), float(sigma[1]))

    def __call__(self, image):
        sigma = float(current_generator().uniform(*self.sigma))
        return color_ops.gaussian_blur(image, self.kernel_size, (sigma, sigma))

    def __repr__(self):
        return f"GaussianBlur(kernel_size={self.kernel_size}, sigma={self.sigma})"


class _RandomPhotometric:
    """Apply ``self.adjust(image)`` with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = _probability(p, type(self).__name__)

    def __call__(self, image):
        if current_generator().random() >= self.p:
            return image
        return self.adjust(image)

    def __repr__(self):
        return f"{type(self).__name__}(p={self.p})"


class RandomInvert(_RandomPhotometric):
    """The negative of the image with probability ``p``."""

    adjust = staticmethod(color_ops.invert)


class RandomPosterize(_RandomPhotometric):
    """Keep the ``bits`` highest bits of each (uint8) value, with probability ``p``."""

    def __init__(self, bits, p=0.5):
        super().__init__(p)
        if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 0 <= bits <= 8:
            raise ValueError(f"RandomPosterize: bits should be an int in [0, 8], got {bits!r}")
        self.bits = int(bits)

    def adjust(self, image):
        return color_ops.posterize(image, self.bits)


class RandomSolarize(_RandomPhotometric):
    """Invert the values at or above ``threshold``, with probability ``p``."""

    def __init__(self, threshold, p=0.5):
        super().__init__(p)
        self.threshold = threshold

    def adjust(self, image):
        return color_ops.solarize(image, self.threshold)


class RandomAdjustSharpness(_RandomPhotometric):
    """``adjust_sharpness`` by ``sharpness_factor``, with probability ``p``."""

    def __init__(self, sharpness_factor, p=0.5):
        super().__init__(p)
        if isinstance(sharpness_factor, bool) or not isinstance(sharpness_factor, numbers.Real) \
                or sharpness_factor < 0:
            raise ValueError(f"RandomAdjustSharpness: sharpness_factor should be a "
                             f"non-negative number, got {sharpness_factor!r}")
        self.sharpness_factor = float(sharpness_factor)

    def adjust(self, image):
        return color_ops.adjust_sharpness(image, self.sharpness_factor)


class RandomAutocontrast(_RandomPhotometric):
    """Stretch each channel to the full range, with probability ``p``."""

    adjust = staticmethod(color_ops.autocontrast)


class RandomEqualize(_RandomPhotometric):
    """Equalize each channel's histogram (uint8 images), with probability ``p``."""

    adjust = staticmethod(color_ops.equalize)


def _transform_list(transforms, what):
    transforms = list(transforms)
    if not all(callable(t) for t in transforms):
        raise TypeError(f"{what}: expected a sequence of transforms (callables), got "
                        f"{[type(t).__name__ for t in transforms]}")
    return transforms


class RandomApply:
    """Apply all of ``transforms`` in order with probability ``p``, else none."""

    def __init__(self, transforms, p=0.5):
        self.transforms = _transform_list(transforms, "RandomApply")
        self.p = _probability(p, "RandomApply")

    def __call__(self, image):
        if current_generator().random() >= self.p:
            return image
        for transform in self.transforms:
            image = transform(image)
        return image

    def __repr__(self):
        return f"RandomApply({self.transforms}, p={self.p})"


class RandomChoice:
    """Apply one of ``transforms``, drawn with probabilities ``p`` (normalized; equal if
    None)."""

    def __init__(self, transforms, p=None):
        self.transforms = _transform_list(transforms, "RandomChoice")
        if not self.transforms:
            raise ValueError("RandomChoice: expected at least one transform")
        if p is not None:
            p = [float(v) for v in p]
            if len(p) != len(self.transforms) or min(p) < 0 or sum(p) <= 0:
                raise ValueError(f"RandomChoice: p should be {len(self.transforms)} "
                                 f"non-negative weights, not all zero, got {p}")
        self.p = p

    def __call__(self, image):
        weights = None if self.p is None else np.asarray(self.p) / sum(self.p)
        index = int(current_generator().choice(len(self.transforms), p=weights))
        return self.transforms[index](image)

    def __repr__(self):
        return f"RandomChoice({self.transforms}, p={self.p})"


class RandomOrder:
    """Apply all of ``transforms``, in a random order."""

    def __init__(self, transforms):
        self.transforms = _transform_list(transforms, "RandomOrder")

    def __call__(self, image):
        for index in current_generator().permutation(len(self.transforms)):
            image = self.transforms[index](image)
        return image

    def __repr__(self):
        return f"RandomOrder({self.transforms})"


class PILToTensor:
    """PIL image -> (C, H, W) tensor of its own dtype, unscaled (uint8 for 'L', 'RGB', ...)."""

    def __call__(self, pic):
        if not is_pil(pic):
            raise TypeError(f"PILToTensor: pic should be a PIL Image, got {type(pic).__name__}")
        array = np.asarray(pic)
        array = array[:, :, None] if array.ndim == 2 else array
        return make_tensor(np.ascontiguousarray(array.transpose(2, 0, 1)))

    def __repr__(self):
        return "PILToTensor()"


# ToPILImage's modes: by channel count, the modes allowed and the default for uint8 data;
# one channel picks its mode from the dtype.
_MODES_BY_CHANNELS = {2: (("LA",), "LA"), 3: (("RGB", "YCbCr", "HSV"), "RGB"),
                      4: (("RGBA", "CMYK", "RGBX"), "RGBA")}
_SINGLE_CHANNEL_MODES = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                         np.dtype(np.uint16): "I;16", np.dtype(np.int32): "I",
                         np.dtype(np.float32): "F"}


class ToPILImage:
    """A (C, H, W) tensor or (H, W, C) array -> PIL image. Float data other than mode 'F' is
    scaled by 255 and truncated to uint8 (clipped to [0, 255] first); the mode follows the
    channel count and dtype as in torchvision, or is given as ``mode``."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic):
        from PIL import Image
        mode = self.mode
        if isinstance(pic, Tensor):
            array = pic._data
            if array.ndim not in (2, 3):
                raise ValueError(f"ToPILImage: pic should be 2/3 dimensional, got "
                                 f"{array.ndim} dimensions (shape {array.shape})")
            array = array[None] if array.ndim == 2 else array
            if array.dtype.kind == "f" and mode != "F":
                array = np.clip(array * 255, 0, 255).astype(np.uint8)
            array = array.transpose(1, 2, 0)
        elif isinstance(pic, np.ndarray):
            if pic.ndim not in (2, 3):
                raise ValueError(f"ToPILImage: pic should be 2/3 dimensional, got {pic.ndim} "
                                 f"dimensions (shape {pic.shape})")
            array = pic[:, :, None] if pic.ndim == 2 else pic
            if array.dtype.kind == "f" and mode != "F":
                array = np.clip(array * 255, 0, 255).astype(np.uint8)
        else:
            raise TypeError(f"ToPILImage: pic should be a Tensor or ndarray, got "
                            f"{type(pic).__name__}")
        channels = array.shape[2]
        if channels == 1:
            array = array[:, :, 0]
            expected = _SINGLE_CHANNEL_MODES.get(array.dtype)
            if mode is not None and mode != expected:
                raise ValueError(f"ToPILImage: incorrect mode ({mode}) supplied for input type "
                                 f"{array.dtype}; should be {expected}")
            mode = expected
        elif channels in _MODES_BY_CHANNELS:
            allowed, default = _MODES_BY_CHANNELS[channels]
            if mode is not None and mode not in allowed:
                raise ValueError(f"ToPILImage: only modes {list(allowed)} are supported for "
                                 f"{channels}-channel inputs, got {mode!r}")
            if mode is None and array.dtype == np.uint8:
                mode = default
        else:
            raise ValueError(f"ToPILImage: pic should not have more than 4 channels, got "
                             f"{channels} (shape {array.shape})")
        if mode is None or (mode != "F" and mode not in ("I", "I;16") and array.dtype != np.uint8):
            raise TypeError(f"ToPILImage: input type {array.dtype} is not supported for "
                            f"{channels}-channel images")
        if mode == "I;16":
            array = array.astype("<u2")
        elif mode == "I":
            array = array.astype(np.int32)
        elif mode == "F":
            array = array.astype(np.float32)
        array = np.ascontiguousarray(array)
        return Image.frombytes(mode, (array.shape[1], array.shape[0]), array.tobytes())

    def __repr__(self):
        return "ToPILImage()" if self.mode is None else f"ToPILImage(mode={self.mode!r})"


class RandomRotation:
    """Rotate by an angle drawn uniformly from ``degrees`` ((min, max), or a number d for
    (-d, d)), counter-clockwise, about ``center`` (default the image centre); ``expand`` grows
    the output to hold the whole rotated image; uncovered pixels get ``fill``. PIL images are
    rotated by Pillow (as torchvision does); tensors and arrays by nearest or bilinear
    sampling of the inverse rotation, pixel centres at half-integers as in torchvision."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand=False,
                 center=None, fill=0):
        self.degrees = _symmetric_range(degrees, "degrees", "RandomRotation")
        _check_center(center, "RandomRotation")
        self.interpolation = interpolation_mode(interpolation, "RandomRotation")
        self.expand, self.center, self.fill = expand, center, fill

    def __call__(self, image):
        angle = float(current_generator().uniform(*self.degrees))
        return rotate(image, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self):
        return (f"RandomRotation(degrees={self.degrees}, interpolation="
                f"{self.interpolation.value}, expand={self.expand})")


class _ErasingOptions:
    """The options RandomErasing and BatchRandomErasing share, checked as torchvision checks
    them; ``value`` is a number, one number per channel, or 'random' (normal noise)."""

    def __init__(self, p, scale, ratio, value, what):
        self.p = _probability(p, what)
        for name, pair in (("scale", scale), ("ratio", ratio)):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                    and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                            for v in pair)):
                raise TypeError(f"{what}: {name} should be a sequence of 2 numbers, got {pair!r}")
            if not pair[0] <= pair[1]:
                raise ValueError(f"{what}: {name} should be (min, max), got {tuple(pair)}")
        if not 0 <= scale[0] <= scale[1] <= 1:
            raise ValueError(f"{what}: scale should be between 0 and 1, got {tuple(scale)}")
        if not ratio[0] > 0:
            raise ValueError(f"{what}: ratio should be positive, got {tuple(ratio)}")
        if isinstance(value, str):
            if value != "random":
                raise ValueError(f"{what}: value must be a number, a sequence of numbers or "
                                 f"'random', got {value!r}")
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = (float(value),)
        elif (isinstance(value, (tuple, list)) and len(value) > 0
              and all(isinstance(v, numbers.Real) for v in value)):
            value = tuple(float(v) for v in value)
        else:
            raise TypeError(f"{what}: value must be a number, a sequence of numbers or "
                            f"'random', got {value!r}")
        self.scale, self.ratio, self.value = tuple(scale), tuple(ratio), value
        self.what = what

    def fill(self, channels):
        """The per-channel fill as a (C,) float array, or None for normal noise."""
        if self.value == "random":
            return None
        if len(self.value) not in (1, channels):
            raise ValueError(f"{self.what}: value has {len(self.value)} numbers for an image of "
                             f"{channels} channels (expected 1 or {channels})")
        return np.broadcast_to(np.asarray(self.value, np.float32), (channels,))

    def boxes(self, count, height, width, rng):
        """(erase, top, left, box_h, box_w) for ``count`` images: as torchvision, up to ten
        draws of an area fraction in ``scale`` and a log-uniform aspect ratio in ``ratio``,
        keeping the first box strictly smaller than the image; no box, no erasing."""
        attempts = 10
        areas = height * width * rng.uniform(*self.scale, size=(count, attempts))
        aspects = np.exp(rng.uniform(np.log(self.ratio[0]), np.log(self.ratio[1]),
                                     size=(count, attempts)))
        # np.rint rounds halves to even, as Python's round() in torchvision does.
        box_h = np.rint(np.sqrt(areas * aspects)).astype(np.int64)
        box_w = np.rint(np.sqrt(areas / aspects)).astype(np.int64)
        fits = (box_h < height) & (box_w < width)
        first = fits.argmax(axis=1)
        rows = np.arange(count)
        box_h, box_w = box_h[rows, first], box_w[rows, first]
        erase = (rng.random(count) < self.p) & fits[rows, first]
        box_h, box_w = np.where(erase, box_h, 0), np.where(erase, box_w, 0)
        top = rng.integers(height - box_h + 1)
        left = rng.integers(width - box_w + 1)
        return erase, top, left, box_h, box_w

    def __repr__(self):
        value = self.value if self.value == "random" else list(self.value)
        return (f"{type(self).__name__}(p={self.p}, scale={self.scale}, ratio={self.ratio}, "
                f"value={value})")


def _erase(array, erase, top, left, box_h, box_w, fill, rng):
    """A copy of the (N, C, H, W) ``array`` with each image's box set to ``fill`` (or noise)."""
    height, width = array.shape[-2:]
    in_rows = (np.arange(height) >= top[:, None]) & (np.arange(height) < (top + box_h)[:, None])
    in_cols = (np.arange(width) >= left[:, None]) & (np.arange(width) < (left + box_w)[:, None])
    inside = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]        # (N, 1, H, W)
    inside = np.broadcast_to(inside, array.shape)
    out = array.copy()
    if fill is None:
        out[inside] = rng.standard_normal(int(inside.sum()), np.float32).astype(out.dtype)
    else:
        np.copyto(out, np.broadcast_to(fill[:, None, None], array.shape[1:]).astype(out.dtype),
                  where=inside)
    return out


class RandomErasing(_ErasingOptions):
    """Erase a random rectangle of a CHW tensor (or array) with probability ``p`` (Zhong et al.
    2017, "Random Erasing Data Augmentation"; torchvision's ``RandomErasing``): its area is a
    fraction in ``scale`` of the image's, its aspect ratio (height / width) log-uniform in
    ``ratio``, and its pixels become ``value`` (a number, one per channel, or 'random' for
    standard normal noise). Use it after ``ToTensor`` and ``Normalize``, where 0 is the mean
    colour."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        super().__init__(p, scale, ratio, value, "RandomErasing")
        self.inplace = inplace

    def __call__(self, image):
        array = image._data if isinstance(image, Tensor) else np.asarray(image)
        if array.ndim < 3:
            raise ValueError(f"RandomErasing: expected a (..., C, H, W) tensor, got shape "
                             f"{array.shape}")
        rng = current_generator()
        erase, top, left, box_h, box_w = self.boxes(1, *array.shape[-2:], rng)
        if not erase[0]:
            return image
        channels, box_h, box_w = array.shape[-3], int(box_h[0]), int(box_w[0])
        fill = self.fill(channels)
        value = (rng.standard_normal((channels, box_h, box_w), np.float32) if fill is None
                 else fill[:, None, None])
        return erase_box(image, int(top[0]), int(left[0]), box_h, box_w, value, self.inplace)


def erase_box(image, top, left, height, width, value, inplace=False):
    """``image`` (a (..., C, H, W) tensor or array) with the box at (top, left) of the given
    size set to ``value`` (anything that broadcasts to (..., C, height, width)); in place only
    when asked and the image is writable (torchvision's ``functional.erase``)."""
    is_tensor = isinstance(image, Tensor)
    array = image._data if is_tensor else np.asarray(image)
    if isinstance(value, Tensor):
        value = value._data
    out = array if inplace and array.flags.writeable else array.copy()
    out[..., top:top + height, left:left + width] = value
    if out is array:
        return image
    return make_tensor(out) if is_tensor else out


def _symmetric_range(value, name, what, lengths=(2,)):
    """A number v as (-v, v) (v >= 0), or a sequence of one of ``lengths`` numbers, as floats."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{what}: if {name} is a single number, it must be positive, got "
                             f"{value}")
        return (-float(value), float(value))
    if (isinstance(value, (tuple, list)) and len(value) in lengths
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        return tuple(float(v) for v in value)
    raise TypeError(f"{what}: {name} should be a number or a sequence of "
                    f"{' or '.join(map(str, lengths))} numbers, got {value!r}")


def _check_center(center, what):
    if center is not None and not (isinstance(center, (tuple, list)) and len(center) == 2):
        raise ValueError(f"{what}: center should be a sequence of length 2, got {center!r}")


class RandomAffine:
    """A random affine map that keeps the image's size and centre (torchvision's
    ``RandomAffine``): a rotation by an angle from ``degrees`` (a number d for (-d, d)),
    a shift of up to ``translate = (a, b)`` times the width and height (whole pixels), a
    scaling from ``scale = (min, max)``, and shears from ``shear`` (a number s for an x shear
    in (-s, s), 2 numbers for an x range, 4 for x and y ranges), in degrees. Uncovered pixels
    get ``fill``; PIL images are transformed by Pillow, tensors and arrays by nearest or
    bilinear sampling."""

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        self.degrees = _symmetric_range(degrees, "degrees", "RandomAffine")
        if translate is not None:
            translate = tuple(translate) if isinstance(translate, (tuple, list)) else translate
            if not (isinstance(translate, tuple) and len(translate) == 2
                    and all(isinstance(v, numbers.Real) and 0 <= v <= 1 for v in translate)):
                raise ValueError(f"RandomAffine: translate should be (a, b) with fractions in "
                                 f"[0, 1], got {translate!r}")
        if scale is not None:
            scale = tuple(scale) if isinstance(scale, (tuple, list)) else scale
            if not (isinstance(scale, tuple) and len(scale) == 2
                    and all(isinstance(v, numbers.Real) and v > 0 for v in scale)):
                raise ValueError(f"RandomAffine: scale should be (min, max) of positive "
                                 f"numbers, got {scale!r}")
        self.translate, self.scale = translate, scale
        self.shear = None if shear is None else _symmetric_range(shear, "shear", "RandomAffine",
                                                                 (2, 4))
        self.interpolation = interpolation_mode(interpolation, "RandomAffine")
        _check_center(center, "RandomAffine")
        self.fill, self.center = fill, center

    def get_params(self, image_width, image_height, rng=None):
        """(angle, (tx, ty) in whole pixels, scale, (shear x, shear y)), drawn in that order as
        torchvision's ``RandomAffine.get_params``."""
        rng = rng or current_generator()
        angle = float(rng.uniform(*self.degrees))
        shift = (0, 0)
        if self.translate is not None:
            most_x, most_y = self.translate[0] * image_width, self.translate[1] * image_height
            shift = (int(round(float(rng.uniform(-most_x, most_x)))),
                     int(round(float(rng.uniform(-most_y, most_y)))))
        scale = 1.0 if self.scale is None else float(rng.uniform(*self.scale))
        shear = (0.0, 0.0)
        if self.shear is not None:
            shear = (float(rng.uniform(*self.shear[:2])),
                     float(rng.uniform(*self.shear[2:])) if len(self.shear) == 4 else 0.0)
        return angle, shift, scale, shear

    def __call__(self, image):
        height, width = image_size(image)
        angle, shift, scale, shear = self.get_params(width, height)
        return affine_map(image, angle, shift, scale, shear, self.interpolation, self.fill,
                          self.center)

    def __repr__(self):
        return (f"RandomAffine(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale}, shear={self.shear}, "
                f"interpolation={self.interpolation.value})")


# ----- batch transforms: (N, C, H, W) -------------------------------------------------------

def _batch_apply(batch, fn):
    """Apply ``fn`` to the image array of a batch, keeping its kind (array, tensor, or a tuple
    or list whose first field holds the images)."""
    if isinstance(batch, (tuple, list)):
        return type(batch)([_batch_apply(batch[0], fn), *batch[1:]])
    if isinstance(batch, Tensor):
        return make_tensor(fn(batch._data))
    return fn(np.asarray(batch))


def _check_nchw(array, what):
    if array.ndim != 4:
        raise ValueError(f"{what}: expected an (N, C, H, W) batch, got shape {array.shape}")


class BatchToTensor:
    """An (N, H, W, C) or (N, H, W) uint8 batch -> (N, C, H, W) float32 in [0, 1]."""

    def __call__(self, batch):
        return _batch_apply(batch, self._convert)

    @staticmethod
    def _convert(array):
        if array.dtype != np.uint8:
            # Scaling a float batch by 1/255 again (say, one already converted) is silent.
            raise TypeError(f"BatchToTensor: expected a uint8 batch, got {array.dtype} of shape "
                            f"{array.shape}; use BatchNormalize or a Lambda for other dtypes")
        if array.ndim == 3:
            array = array[:, :, :, None]
        if array.ndim != 4:
            raise ValueError(f"BatchToTensor: expected an (N, H, W, C) batch, got shape "
                             f"{array.shape}")
        out = np.empty((array.shape[0], array.shape[3], array.shape[1], array.shape[2]), np.float32)
        # One pass: the transposed view is converted and scaled straight into the output.
        np.multiply(array.transpose(0, 3, 1, 2), np.float32(1 / 255), out=out)
        return out

    def __repr__(self):
        return "BatchToTensor()"


class BatchNormalize:
    """(x - mean) / std per channel of an (N, C, H, W) batch."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, batch):
        return _batch_apply(batch, self._normalize)

    def _normalize(self, array):
        _check_nchw(array, "BatchNormalize")
        mean, std = _channel_stats(self.mean, self.std, array.shape[1], "BatchNormalize")
        return (array - mean[:, None, None]) * (1 / std)[:, None, None]

    def __repr__(self):
        return f"BatchNormalize(mean={self.mean}, std={self.std})"


class BatchRandomCrop:
    """An independent random ``size`` crop of each image of an (N, C, H, W) batch, after
    padding the borders by ``padding`` pixels of ``fill``."""

    def __init__(self, size, padding=0, fill=0):
        self.size = _pair(size, "BatchRandomCrop")
        self.padding = _padding(padding, "BatchRandomCrop")
        self.fill = fill

    def __call__(self, batch):
        return _batch_apply(batch, self._crop)

    def _crop(self, array):
        _check_nchw(array, "BatchRandomCrop")
        n, c, height, width = array.shape
        p = self.padding
        if p:
            padded = np.full((n, c, height + 2 * p, width + 2 * p), self.fill, array.dtype)
            padded[:, :, p:p + height, p:p + width] = array
            array, height, width = padded, height + 2 * p, width + 2 * p
        crop_h, crop_w = self.size
        if crop_h > height or crop_w > width:
            raise ValueError(f"BatchRandomCrop: crop {self.size} is larger than the (padded) "
                             f"images {(height, width)}")
        rng = current_generator()
        tops = rng.integers(height - crop_h + 1, size=n)
        lefts = rng.integers(width - crop_w + 1, size=n)
        # All windows as a strided view (no copy); one gather picks each image's window.
        windows = np.lib.stride_tricks.sliding_window_view(array, (crop_h, crop_w), axis=(2, 3))
        return windows[np.arange(n), :, tops, lefts]

    def __repr__(self):
        return f"BatchRandomCrop(size={self.size}, padding={self.padding})"


class BatchRandomHorizontalFlip:
    """Mirror each image of an (N, C, H, W) batch left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = _probability(p, "BatchRandomHorizontalFlip")

    def __call__(self, batch):
        return _batch_apply(batch, self._flip)

    def _flip(self, array):
        _check_nchw(array, "BatchRandomHorizontalFlip")
        flip = current_generator().random(array.shape[0]) < self.p
        out = array.copy()
        out[flip] = array[flip, :, :, ::-1]
        return out

    def __repr__(self):
        return f"BatchRandomHorizontalFlip(p={self.p})"


class BatchRandomErasing(_ErasingOptions):
    """``RandomErasing`` drawn independently for each image of an (N, C, H, W) batch, in a few
    NumPy calls."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0):
        super().__init__(p, scale, ratio, value, "BatchRandomErasing")

    def __call__(self, batch):
        return _batch_apply(batch, self._erase)

    def _erase(self, array):
        _check_nchw(array, "BatchRandomErasing")
        rng = current_generator()
        fill = self.fill(array.shape[1])
        erase, top, left, box_h, box_w = self.boxes(array.shape[0], *array.shape[2:], rng)
        if not erase.any():
            return array
        return _erase(array, erase, top, left, box_h, box_w, fill, rng)


class _MixBatch:
    """What MixUp and CutMix share: the Beta(alpha, alpha) draw, the (images, labels) batch,
    and the labels mixed with the batch rolled by one (image i is mixed with image i - 1)."""

    def __init__(self, alpha, num_classes):
        name = type(self).__name__
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha > 0:
            raise ValueError(f"{name}: alpha should be a positive number, got {alpha!r}")
        if num_classes is not None and (isinstance(num_classes, bool)
                                        or not isinstance(num_classes, numbers.Integral)
                                        or num_classes < 1):
            raise ValueError(f"{name}: num_classes should be a positive int, got "
                             f"{num_classes!r}")
        self.alpha, self.num_classes = float(alpha), num_classes

    def _split(self, batch):
        """(images array, is a Tensor, labels as (N, C) float32 class probabilities)."""
        name = type(self).__name__
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"{name}: expected an (images, labels) batch, got "
                            f"{type(batch).__name__}")
        images, labels = batch
        is_tensor = isinstance(images, Tensor)
        images = images._data if is_tensor else np.asarray(images)
        labels = labels._data if isinstance(labels, Tensor) else np.asarray(labels)
        _check_nchw(images, name)
        if labels.ndim == 1:
            if self.num_classes is None:
                raise ValueError(f"{name}: num_classes is needed to mix class-index labels")
            if labels.size and not 0 <= labels.min() <= labels.max() < self.num_classes:
                raise ValueError(f"{name}: labels should be in [0, {self.num_classes}), got "
                                 f"{labels.min()}..{labels.max()}")
            labels = np.eye(self.num_classes, dtype=np.float32)[labels]
        elif labels.ndim != 2:
            raise ValueError(f"{name}: labels should be (N,) class indices or (N, C) "
                             f"probabilities, got shape {labels.shape}")
        if len(labels) != len(images):
            raise ValueError(f"{name}: {len(images)} images but {len(labels)} labels")
        return images, is_tensor, labels.astype(np.float32, copy=False)

    @staticmethod
    def _mixed_labels(labels, lam):
        return (lam * labels + (1.0 - lam) * np.roll(labels, 1, axis=0)).astype(np.float32)

    def __call__(self, batch):
        images, is_tensor, labels = self._split(batch)
        images, lam = self._mix(images, float(current_generator().beta(self.alpha, self.alpha)))
        labels = self._mixed_labels(labels, lam)
        if is_tensor:
            return make_tensor(images), make_tensor(labels)
        return images, labels

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


class MixUp(_MixBatch):
    """MixUp (Zhang et al. 2018; torchvision's ``transforms.v2.MixUp``) of an (images, labels)
    batch: each image becomes lam * itself + (1 - lam) * the previous image of the batch, and
    its label the same mixture of the two one-hot labels, lam ~ Beta(alpha, alpha) once per
    batch. Labels come out as (N, num_classes) class probabilities, which ``CrossEntropyLoss``
    takes as targets."""

    def __init__(self, alpha=1.0, num_classes=None):
        super().__init__(alpha, num_classes)

    def _mix(self, images, lam):
        return (lam * images + (1.0 - lam) * np.roll(images, 1, axis=0)).astype(images.dtype), lam


class CutMix(_MixBatch):
    """CutMix (Yun et al. 2019; torchvision's ``transforms.v2.CutMix``) of an (images, labels)
    batch: a box of about (1 - lam) of the area, centred at a random pixel and clipped to the
    image, is pasted from the previous image of the batch, lam ~ Beta(alpha, alpha) once per
    batch; the labels are mixed by the areas actually kept and pasted."""

    def __init__(self, alpha=1.0, num_classes=None):
        super().__init__(alpha, num_classes)

    def _mix(self, images, lam):
        height, width = images.shape[-2:]
        rng = current_generator()
        centre_x, centre_y = int(rng.integers(width)), int(rng.integers(height))
        half = 0.5 * math.sqrt(1.0 - lam)
        half_w, half_h = int(half * width), int(half * height)
        x1, y1 = max(centre_x - half_w, 0), max(centre_y - half_h, 0)
        x2, y2 = min(centre_x + half_w, width), min(centre_y + half_h, height)
        out = images.copy()
        out[..., y1:y2, x1:x2] = np.roll(images, 1, axis=0)[..., y1:y2, x1:x2]
        return out, 1.0 - (x2 - x1) * (y2 - y1) / (width * height)
