"""Transforms: per-sample preprocessing and augmentation, and their vectorised batch versions.

Per-sample transforms take one image: a PIL image, a NumPy array in HWC (or HW) layout, or a
ganglion Tensor in CHW layout (what ``ToTensor`` returns). Batch transforms take an (N, C, H, W)
array or tensor, or an ``(images, labels, ...)`` batch whose first field they transform, and
work on the whole batch with a few NumPy calls, which is what keeps augmentation from
dominating a CIFAR training step. Random transforms draw from ``rng.current_generator()``, so
they are reproducible under a seeded DataLoader.
"""
import numbers

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor
from ganglion.data.rng import current_generator

__all__ = ["Compose", "Lambda", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip",
           "RandomResizedCrop", "BatchToTensor", "BatchNormalize", "BatchRandomCrop", "BatchRandomHorizontalFlip"]


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


def _is_pil(image):
    return type(image).__module__.startswith("PIL.")


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
    """(x - mean) / std per channel of a CHW tensor or array."""

    def __init__(self, mean, std):
        self.mean, self.std = mean, std

    def __call__(self, image):
        array = image._data if isinstance(image, Tensor) else np.asarray(image, np.float32)
        if array.ndim < 3:
            raise ValueError(f"Normalize: expected a (C, H, W) image, got shape {array.shape}")
        mean, std = _channel_stats(self.mean, self.std, array.shape[-3], "Normalize")
        out = (array - mean[:, None, None]) / std[:, None, None]
        return make_tensor(out) if isinstance(image, Tensor) else out

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


def _as_hwc(image):
    """(array with H, W on axes -3/-2 or 0/1, a function that restores the input's kind)."""
    if _is_pil(image):
        from PIL import Image
        return np.asarray(image), (0, 1), Image.fromarray
    if isinstance(image, Tensor):
        return image._data, (-2, -1), make_tensor
    array = np.asarray(image)
    return array, (0, 1), lambda a: a


class RandomCrop:
    """Crop a random ``size`` window, after zero-padding each border by ``padding`` pixels."""

    def __init__(self, size, padding=0, fill=0):
        self.size = _pair(size, "RandomCrop")
        self.padding = _padding(padding, "RandomCrop")
        self.fill = fill

    def __call__(self, image):
        array, (h_axis, w_axis), restore = _as_hwc(image)
        if self.padding:
            widths = [(0, 0)] * array.ndim
            widths[h_axis] = widths[w_axis] = (self.padding, self.padding)
            array = np.pad(array, widths, constant_values=self.fill)
        height, width = array.shape[h_axis], array.shape[w_axis]
        crop_h, crop_w = self.size
        if crop_h > height or crop_w > width:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the (padded) image "
                             f"{(height, width)}")
        rng = current_generator()
        top, left = int(rng.integers(height - crop_h + 1)), int(rng.integers(width - crop_w + 1))
        index = [slice(None)] * array.ndim
        index[h_axis], index[w_axis] = slice(top, top + crop_h), slice(left, left + crop_w)
        return restore(np.ascontiguousarray(array[tuple(index)]))

    def __repr__(self):
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = _probability(p, "RandomHorizontalFlip")

    def __call__(self, image):
        if current_generator().random() >= self.p:
            return image
        array, (_, w_axis), restore = _as_hwc(image)
        return restore(np.ascontiguousarray(np.flip(array, axis=w_axis)))

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


def _resize_bilinear(array, size, h_axis, w_axis):
    """Bilinear resize of the two spatial axes (half-pixel centres, as PIL and PyTorch's
    ``align_corners=False``), keeping the dtype (integers are rounded)."""
    out_h, out_w = size
    moved = np.moveaxis(array, (h_axis, w_axis), (-2, -1)).astype(np.float32)
    in_h, in_w = moved.shape[-2:]

    def weights(n_out, n_in):
        coords = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        low = np.floor(coords).astype(np.int64)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, (coords - low).astype(np.float32)

    top, bottom, wy = weights(out_h, in_h)
    left, right, wx = weights(out_w, in_w)
    rows = moved[..., top, :] * (1 - wy)[:, None] + moved[..., bottom, :] * wy[:, None]
    out = rows[..., left] * (1 - wx) + rows[..., right] * wx
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return np.moveaxis(out.astype(array.dtype), (-2, -1), (h_axis, w_axis))


class RandomResizedCrop:
    """Crop a random region of ``scale`` times the area and ``ratio`` aspect ratio, resized to
    ``size`` with bilinear interpolation (the Inception-style augmentation)."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
        self.size = _pair(size, "RandomResizedCrop")
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
        array, (h_axis, w_axis), restore = _as_hwc(image)
        top, left, h, w = self._region(array.shape[h_axis], array.shape[w_axis])
        index = [slice(None)] * array.ndim
        index[h_axis], index[w_axis] = slice(top, top + h), slice(left, left + w)
        return restore(_resize_bilinear(array[tuple(index)], self.size, h_axis, w_axis))

    def __repr__(self):
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"


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
