"""``torchvision.transforms.functional``: the transforms as functions of an image (PIL image,
(C, H, W) tensor, or (H, W, C) array), each the same code as its transform class in
``ganglion.data.transforms``."""
import numbers

from ganglion.data import image_ops as _ops
from ganglion.data.color_ops import (adjust_brightness, adjust_contrast, adjust_hue,
                                     adjust_saturation, adjust_sharpness, autocontrast, equalize,
                                     invert, posterize, solarize)
from ganglion.data import color_ops as _color
from ganglion.data import transforms as _t
from ganglion.data.transforms import InterpolationMode

__all__ = ["to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "crop",
           "center_crop", "resized_crop", "pad", "hflip", "vflip", "rotate", "affine",
           "rgb_to_grayscale", "to_grayscale", "erase", "adjust_brightness", "adjust_contrast",
           "adjust_saturation", "adjust_hue", "adjust_sharpness", "invert", "posterize",
           "solarize", "autocontrast", "equalize", "gaussian_blur", "InterpolationMode"]


def to_tensor(pic):
    """PIL image or HWC array -> (C, H, W) float32 tensor (uint8 scaled to [0, 1])."""
    return _t.ToTensor()(pic)


def pil_to_tensor(pic):
    """PIL image -> (C, H, W) tensor of its own dtype, unscaled."""
    return _t.PILToTensor()(pic)


def to_pil_image(pic, mode=None):
    """(C, H, W) tensor or (H, W, C) array -> PIL image (see ToPILImage)."""
    return _t.ToPILImage(mode)(pic)


def normalize(tensor, mean, std, inplace=False):
    """(x - mean) / std per channel of a float (..., C, H, W) tensor."""
    return _t.Normalize(mean, std, inplace)(tensor)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    """Resize to (h, w) ``size``, or the smaller edge to an int ``size`` (see Resize)."""
    return _t.Resize(size, interpolation, max_size, antialias)(img)


def crop(img, top, left, height, width):
    """The ``height`` x ``width`` window at (top, left); parts outside the image are zeros."""
    image_h, image_w = _ops.image_size(img)
    bottom, right = top + height, left + width
    if top < 0 or left < 0 or bottom > image_h or right > image_w:
        # torchvision pads with zeros where the box leaves the image.
        padding = (max(-left, 0), max(-top, 0), max(right - image_w, 0),
                   max(bottom - image_h, 0))
        img = _ops.pad(img, padding, 0, "constant", "crop")
        top, left = top + padding[1], left + padding[0]
    return _ops.crop(img, top, left, height, width)


def center_crop(img, output_size):
    """The central ``output_size`` window (see CenterCrop)."""
    return _t.CenterCrop(output_size)(img)


def resized_crop(img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR,
                 antialias=True):
    """``crop`` then ``resize`` to (h, w) ``size``."""
    size = _t._pair(size, "resized_crop")
    return _ops.resize(crop(img, top, left, height, width), size,
                      _ops.interpolation_mode(interpolation, "resized_crop"), antialias,
                      "resized_crop")


def pad(img, padding, fill=0, padding_mode="constant"):
    """Add borders (see Pad)."""
    return _t.Pad(padding, fill, padding_mode)(img)


def hflip(img):
    """Mirror left-right."""
    return _ops.flip(img, vertical=False)


def vflip(img):
    """Mirror top-bottom."""
    return _ops.flip(img, vertical=True)


def rotate(img, angle, interpolation=InterpolationMode.NEAREST, expand=False, center=None,
           fill=None):
    """Rotate ``angle`` degrees counter-clockwise (see RandomRotation)."""
    return _ops.rotate(img, float(angle), _ops.interpolation_mode(interpolation, "rotate"), expand,
                      center, 0 if fill is None else fill)


def affine(img, angle, translate, scale, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center=None):
    """Rotate by ``angle`` degrees (clockwise), shift by ``translate`` = (tx, ty) pixels,
    scale by ``scale`` and shear by ``shear`` degrees (a number for x, or (x, y)), about
    ``center`` (default the image centre); see RandomAffine."""
    if isinstance(angle, bool) or not isinstance(angle, numbers.Real):
        raise TypeError(f"affine: angle should be a number, got {angle!r}")
    if not (isinstance(translate, (tuple, list)) and len(translate) == 2):
        raise TypeError(f"affine: translate should be a sequence of two numbers, got "
                        f"{translate!r}")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0:
        raise ValueError(f"affine: scale should be a positive number, got {scale!r}")
    if isinstance(shear, numbers.Real):
        shear = (float(shear), 0.0)
    elif isinstance(shear, (tuple, list)) and len(shear) == 1:
        shear = (float(shear[0]), float(shear[0]))
    if not (isinstance(shear, (tuple, list)) and len(shear) == 2):
        raise ValueError(f"affine: shear should be a number or a sequence of two numbers, got "
                         f"{shear!r}")
    return _ops.affine(img, float(angle), tuple(float(t) for t in translate), float(scale),
                       tuple(float(v) for v in shear),
                       _ops.interpolation_mode(interpolation, "affine"),
                       0 if fill is None else fill, center)


def rgb_to_grayscale(img, num_output_channels=1):
    """Luma of an RGB image in 1 or 3 channels (see Grayscale)."""
    return _t.Grayscale(num_output_channels)(img)


def to_grayscale(img, num_output_channels=1):
    """Luma of a PIL image in 1 or 3 channels."""
    if not _ops.is_pil(img):
        raise TypeError(f"to_grayscale: input should be a PIL Image, got {type(img).__name__}")
    return _t.Grayscale(num_output_channels)(img)


def erase(img, i, j, h, w, v, inplace=False):
    """Set the (h, w) box at row i, column j of a (..., C, H, W) tensor to ``v`` (see
    RandomErasing)."""
    return _t.erase_box(img, i, j, h, w, v, inplace)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur by a Gaussian of ``kernel_size`` (odd; an int or [width, height]) and ``sigma``
    ([x, y], one number for both; default torchvision's 0.3 * ((size - 1) / 2 - 1) + 0.8 per
    axis), borders reflected."""
    sizes = _t.blur_kernel_size(kernel_size, "gaussian_blur")
    if sigma is None:
        sigma = [0.3 * ((k - 1) * 0.5 - 1) + 0.8 for k in sizes]
    elif isinstance(sigma, numbers.Real):
        sigma = [float(sigma)] * 2
    elif isinstance(sigma, (tuple, list)) and len(sigma) == 1:
        sigma = [float(sigma[0])] * 2
    if not (isinstance(sigma, (tuple, list)) and len(sigma) == 2 and min(sigma) > 0):
        raise ValueError(f"gaussian_blur: sigma should be positive numbers (one, or x and y), "
                         f"got {sigma!r}")
    return _color.gaussian_blur(img, sizes, tuple(float(s) for s in sigma))
