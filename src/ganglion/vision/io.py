"""``torchvision.io``: ``read_image`` decodes an image file into a uint8 (C, H, W) tensor, and
``write_png`` writes one; both by Pillow."""
import enum
import os

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["ImageReadMode", "read_image", "decode_image", "write_png"]


class ImageReadMode(enum.Enum):
    """The channels ``read_image`` returns (torchvision's values)."""
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4  # torchvision's alias of RGB_ALPHA


_PIL_MODE_OF = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
                ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}
# Pillow modes that hold uint8 channels as they are; other modes are converted for
# UNCHANGED: palettes expanded (to RGBA where they have transparency), 1-bit to 0/255.
_KEPT_MODES = ("L", "LA", "RGB", "RGBA")


def _read_mode(mode):
    if isinstance(mode, ImageReadMode):
        return mode
    if isinstance(mode, str) and mode.upper() in ImageReadMode.__members__:
        return ImageReadMode[mode.upper()]
    raise TypeError(f"read_image: mode must be an ImageReadMode (UNCHANGED, GRAY, GRAY_ALPHA, "
                    f"RGB, RGB_ALPHA) or its name, got {mode!r}")


def _to_uint8_array(image, mode):
    if mode is not ImageReadMode.UNCHANGED:
        return np.asarray(image.convert(_PIL_MODE_OF[mode]))
    if image.mode in _KEPT_MODES:
        return np.asarray(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit (or 32-bit) samples: the high byte of each 16-bit value.
        wide = np.asarray(image).astype(np.int64)
        return np.clip(wide >> 8, 0, 255).astype(np.uint8)
    if image.mode == "P" and "transparency" in image.info:
        return np.asarray(image.convert("RGBA"))
    if image.mode in ("1", "L;16"):
        return np.asarray(image.convert("L"))
    return np.asarray(image.convert("RGBA" if "A" in image.getbands() else "RGB"))


def decode_image(source, mode=ImageReadMode.UNCHANGED, what="decode_image"):
    """A uint8 (C, H, W) tensor from an open Pillow-readable file or path (see read_image)."""
    from PIL import Image
    mode = _read_mode(mode)
    try:
        with Image.open(source) as image:
            array = _to_uint8_array(image, mode)
    except Image.DecompressionBombError as error:
        raise ValueError(f"{what}: {source}: refused to decode the image: {error} (the "
                         "limit is PIL.Image.MAX_IMAGE_PIXELS)") from None
    except FileNotFoundError:
        raise
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"{what}: {source} is not a readable image ({error})") from None
    array = array[:, :, None] if array.ndim == 2 else array
    return make_tensor(np.ascontiguousarray(array.transpose(2, 0, 1)))


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation=False):
    """The image file at ``path`` as a uint8 (C, H, W) tensor: its own channels (UNCHANGED:
    1 gray, 2 gray+alpha, 3 RGB, 4 RGBA), or converted to GRAY, GRAY_ALPHA, RGB or RGB_ALPHA
    (Pillow's conversions; gray is Pillow's ITU-R 601-2 luma). ``apply_exif_orientation``
    turns the image as its EXIF orientation tag says."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_image: no such file: {path}")
    if not apply_exif_orientation:
        return decode_image(path, mode, "read_image")
    from PIL import Image, ImageOps
    with Image.open(path) as image:
        turned = ImageOps.exif_transpose(image)
        # Re-encoding is not needed: decode the turned image through the same conversions.
        array = _to_uint8_array(turned, _read_mode(mode))
    array = array[:, :, None] if array.ndim == 2 else array
    return make_tensor(np.ascontiguousarray(array.transpose(2, 0, 1)))


def write_png(input, filename, compression_level=6):
    """Write a uint8 (C, H, W) tensor with 1 (gray), 2, 3 (RGB) or 4 (RGBA) channels as a PNG."""
    from PIL import Image
    if not isinstance(input, Tensor) or input.dtype.name != "uint8" or input.ndim != 3 \
            or input.shape[0] not in (1, 2, 3, 4):
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        dtype = input.dtype if isinstance(input, Tensor) else ""
        raise ValueError(f"write_png: expected a uint8 (C, H, W) tensor with 1 to 4 channels, "
                         f"got {dtype} {shape}")
    if isinstance(compression_level, bool) or compression_level not in range(10):
        raise ValueError(f"write_png: compression_level must be an int in [0, 9], got "
                         f"{compression_level!r}")
    pixels = input._data.transpose(1, 2, 0)
    pixels = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
    Image.fromarray(np.ascontiguousarray(pixels)).save(filename, format="PNG",
                                                       compress_level=compression_level)
