"""Learned and random augmentation policies: AutoAugment (Cubuk et al. 2019, the policies
learned on ImageNet, CIFAR-10 and SVHN), RandAugment (Cubuk et al. 2020) and TrivialAugment
Wide (Müller and Hutter 2021), as torchvision implements them: the same operations, magnitude
tables and random draws (ganglion's generator instead of PyTorch's).

They take a PIL image (mode L or RGB), a uint8 (..., C, H, W) tensor or a uint8 (H, W[, C])
array, before ``ToTensor``: each operation is one of ``color_ops`` / ``image_ops``.
"""
import enum
import functools
import math

import numpy as np

from ganglion.core.tensor import Tensor
from ganglion.data import color_ops, image_ops
from ganglion.data.image_ops import InterpolationMode, interpolation_mode, is_pil
from ganglion.data.rng import current_generator

__all__ = ["AutoAugmentPolicy", "AutoAugment", "RandAugment", "TrivialAugmentWide", "apply_op",
           "linspace32"]


class AutoAugmentPolicy(enum.Enum):
    """The datasets AutoAugment's policies were learned on."""
    IMAGENET = "imagenet"
    CIFAR10 = "cifar10"
    SVHN = "svhn"


# Each policy: 25 sub-policies of two (operation, probability, magnitude bin or None).
_POLICIES = {
    AutoAugmentPolicy.IMAGENET: (
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
        (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)),
        (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)),
        (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)),
        (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)),
        (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)),
        (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)),
        (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ),
    AutoAugmentPolicy.CIFAR10: (
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)),
        (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
        (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)),
        (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
        (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)),
        (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
        (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
        (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)),
        (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)),
        (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)),
        (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)),
        (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)),
        (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ),
    AutoAugmentPolicy.SVHN: (
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)),
        (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)),
        (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)),
        (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)),
        (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)),
        (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)),
        (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)),
        (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)),
        (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ),
}


def linspace32(start, end, steps):
    """``steps`` evenly spaced float32 values from ``start`` to ``end``, computed as PyTorch's
    ``linspace`` computes them (the first half from ``start``, the second back from ``end``),
    so that magnitudes truncated to ints (translations, posterize bits) agree with
    torchvision's."""
    start, end = np.float32(start), np.float32(end)
    if steps == 1:
        return np.array([start], np.float32)
    step = np.float64((end - start) / np.float32(steps - 1))
    index = np.arange(steps)
    # One rounding of start + step * i (PyTorch's kernel uses fused multiply-adds).
    first = np.float64(start) + step * index
    second = np.float64(end) - step * (steps - 1 - index)
    return np.where(index < steps // 2, first, second).astype(np.float32)


def _posterize_bits(bins, levels):
    """8 down to 8 - levels over ``bins`` (rounded half to even, as PyTorch's round)."""
    return 8 - np.round(np.arange(bins, dtype=np.float32) / np.float32((bins - 1) / levels))


@functools.lru_cache(maxsize=64)
def _space(bins, width, height, wide=False, identity=True, invert=False):
    """{operation: (magnitudes or None, signed)}: torchvision's augmentation space (its
    TrivialAugment Wide ranges with ``wide``), in torchvision's order; one per image size,
    built once (callers only read it)."""
    shear, translate_x, translate_y, rotate, enhance, levels = (
        (0.99, 32.0, 32.0, 135.0, 0.99, 6) if wide else
        (0.3, 150.0 / 331.0 * width, 150.0 / 331.0 * height, 30.0, 0.9, 4))
    space = {"Identity": (None, False)} if identity else {}
    space.update({
        "ShearX": (linspace32(0.0, shear, bins), True),
        "ShearY": (linspace32(0.0, shear, bins), True),
        "TranslateX": (linspace32(0.0, translate_x, bins), True),
        "TranslateY": (linspace32(0.0, translate_y, bins), True),
        "Rotate": (linspace32(0.0, rotate, bins), True),
        "Brightness": (linspace32(0.0, enhance, bins), True),
        "Color": (linspace32(0.0, enhance, bins), True),
        "Contrast": (linspace32(0.0, enhance, bins), True),
        "Sharpness": (linspace32(0.0, enhance, bins), True),
        "Posterize": (_posterize_bits(bins, levels), False),
        "Solarize": (linspace32(255.0, 0.0, bins), False),
        "AutoContrast": (None, False),
        "Equalize": (None, False),
    })
    if invert:
        space["Invert"] = (None, False)
    return space


def apply_op(image, name, magnitude, interpolation=InterpolationMode.NEAREST, fill=None):
    """One augmentation operation, as torchvision's ``_apply_op``: shears about the top-left
    corner by atan(magnitude), whole-pixel translations, rotations (counter-clockwise, degrees),
    enhancements by 1 + magnitude, posterize to int(magnitude) bits, solarize at magnitude."""
    fill = 0 if fill is None else fill
    if name in ("ShearX", "ShearY"):
        degrees = math.degrees(math.atan(magnitude))
        shear = (degrees, 0.0) if name == "ShearX" else (0.0, degrees)
        return image_ops.affine(image, 0.0, (0, 0), 1.0, shear, interpolation, fill, (0, 0))
    if name in ("TranslateX", "TranslateY"):
        shift = (int(magnitude), 0) if name == "TranslateX" else (0, int(magnitude))
        return image_ops.affine(image, 0.0, shift, 1.0, (0.0, 0.0), interpolation, fill, None)
    if name == "Rotate":
        return image_ops.rotate(image, magnitude, interpolation, False, None, fill)
    enhance = {"Brightness": color_ops.adjust_brightness, "Color": color_ops.adjust_saturation,
               "Contrast": color_ops.adjust_contrast, "Sharpness": color_ops.adjust_sharpness}
    if name in enhance:
        return enhance[name](image, 1.0 + magnitude)
    if name == "Posterize":
        return color_ops.posterize(image, int(magnitude))
    if name == "Solarize":
        return color_ops.solarize(image, magnitude)
    plain = {"AutoContrast": color_ops.autocontrast, "Equalize": color_ops.equalize,
             "Invert": color_ops.invert, "Identity": lambda x: x}
    if name in plain:
        return plain[name](image)
    raise ValueError(f"apply_op: unknown operation {name!r}; known: ShearX, ShearY, TranslateX, "
                     f"TranslateY, Rotate, {', '.join(enhance)}, Posterize, Solarize, "
                     f"{', '.join(plain)}")


class _Augment:
    """What the three policies share: the image checks, the options and the fill."""

    def __init__(self, interpolation, fill):
        self.interpolation = interpolation_mode(interpolation, type(self).__name__)
        self.fill = fill

    def _checked(self, image):
        """(width, height) of a PIL image or a uint8 tensor or array."""
        if not is_pil(image):
            array = image._data if isinstance(image, Tensor) else np.asarray(image)
            if array.dtype != np.uint8:
                raise TypeError(f"{type(self).__name__}: expected a PIL image or a uint8 image "
                                f"(its operations are defined on 0-255 values), got "
                                f"{array.dtype}; apply it before ToTensor, or use PILToTensor")
        height, width = image_ops.image_size(image)
        return width, height

    def _apply(self, image, name, magnitude):
        return apply_op(image, name, magnitude, self.interpolation, self.fill)


class AutoAugment(_Augment):
    """One of the ``policy``'s 25 sub-policies, drawn per image; each of its two operations
    runs with its probability, at its magnitude bin of 10, its sign drawn (torchvision's
    ``AutoAugment``)."""

    def __init__(self, policy=AutoAugmentPolicy.IMAGENET, interpolation=InterpolationMode.NEAREST,
                 fill=None):
        super().__init__(interpolation, fill)
        try:
            self.policy = AutoAugmentPolicy(policy)
        except ValueError:
            raise ValueError(f"AutoAugment: unknown policy {policy!r}; known: "
                             f"{', '.join(p.value for p in AutoAugmentPolicy)}") from None
        self.policies = _POLICIES[self.policy]

    def __call__(self, image):
        width, height = self._checked(image)
        rng = current_generator()
        chosen = self.policies[int(rng.integers(len(self.policies)))]
        draws, signs = rng.random(2), rng.integers(2, size=2)
        space = _space(10, width, height, identity=False, invert=True)
        for (name, probability, bin_), draw, sign in zip(chosen, draws, signs):
            if draw <= probability:
                magnitudes, signed = space[name]
                magnitude = 0.0 if bin_ is None else float(magnitudes[bin_])
                if signed and sign == 0:
                    magnitude = -magnitude
                image = self._apply(image, name, magnitude)
        return image

    def __repr__(self):
        return f"AutoAugment(policy={self.policy}, fill={self.fill})"


class RandAugment(_Augment):
    """``num_ops`` operations drawn uniformly (with replacement) from the 14, each at bin
    ``magnitude`` of ``num_magnitude_bins``, its sign drawn (torchvision's ``RandAugment``)."""

    def __init__(self, num_ops=2, magnitude=9, num_magnitude_bins=31,
                 interpolation=InterpolationMode.NEAREST, fill=None):
        super().__init__(interpolation, fill)
        if not 0 <= magnitude < num_magnitude_bins:
            raise ValueError(f"RandAugment: magnitude should be a bin in [0, "
                             f"{num_magnitude_bins}), got {magnitude}")
        self.num_ops, self.magnitude = num_ops, magnitude
        self.num_magnitude_bins = num_magnitude_bins

    def __call__(self, image):
        width, height = self._checked(image)
        rng = current_generator()
        space = _space(self.num_magnitude_bins, width, height)
        names = list(space)
        for _ in range(self.num_ops):
            name = names[int(rng.integers(len(names)))]
            magnitudes, signed = space[name]
            magnitude = 0.0 if magnitudes is None else float(magnitudes[self.magnitude])
            if signed and rng.integers(2):
                magnitude = -magnitude
            image = self._apply(image, name, magnitude)
        return image

    def __repr__(self):
        return (f"RandAugment(num_ops={self.num_ops}, magnitude={self.magnitude}, "
                f"num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation.value}, fill={self.fill})")


class TrivialAugmentWide(_Augment):
    """One operation drawn uniformly from the 14, at a magnitude bin drawn uniformly from the
    wide ranges, its sign drawn (torchvision's ``TrivialAugmentWide``)."""

    def __init__(self, num_magnitude_bins=31, interpolation=InterpolationMode.NEAREST, fill=None):
        super().__init__(interpolation, fill)
        self.num_magnitude_bins = num_magnitude_bins

    def __call__(self, image):
        width, height = self._checked(image)
        rng = current_generator()
        space = _space(self.num_magnitude_bins, width, height, wide=True)
        names = list(space)
        name = names[int(rng.integers(len(names)))]
        magnitudes, signed = space[name]
        magnitude = (0.0 if magnitudes is None
                     else float(magnitudes[int(rng.integers(len(magnitudes)))]))
        if signed and rng.integers(2):
            magnitude = -magnitude
        return self._apply(image, name, magnitude)

    def __repr__(self):
        return (f"TrivialAugmentWide(num_magnitude_bins={self.num_magnitude_bins}, "
                f"interpolation={self.interpolation.value}, fill={self.fill})")
