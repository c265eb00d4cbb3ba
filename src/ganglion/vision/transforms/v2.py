"""``torchvision.transforms.v2`` under ganglion: the transforms of ``ganglion.vision.transforms``
(the same objects), the batch mixers ``MixUp`` and ``CutMix``, and v2's conversions ``ToImage``
and ``ToDtype``, so that a v2 pipeline ports with its import changed::

    from ganglion.vision.transforms import v2
    pipeline = v2.Compose([v2.ToImage(), v2.RandomHorizontalFlip(),
                           v2.ToDtype(ganglion.float32, scale=True),
                           v2.Normalize((0.5,), (0.5,))])

Transforms take one image (PIL, (C, H, W) tensor or (H, W, C) array) as in v1; v2's
tv_tensors (boxes, masks, videos carried along with the image) are not modelled.
"""
import numpy as np

from ganglion.core import dtypes
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.data.image_ops import is_pil
from ganglion.data.transforms import CutMix, MixUp
from ganglion.vision.transforms import *  # noqa: F401,F403 (the v1 names, the same objects)
from ganglion.vision.transforms import __all__ as _v1_names
from ganglion.vision.transforms import functional  # noqa: F401

__all__ = [*_v1_names, "MixUp", "CutMix", "ToImage", "ToDtype", "ToPureTensor"]


class ToImage:
    """A PIL image, an (H, W[, C]) array or a tensor -> a (C, H, W) tensor of the same dtype
    (unscaled: uint8 stays 0-255)."""

    def __call__(self, image):
        if isinstance(image, Tensor):
            return image
        array = np.asarray(image)
        if not is_pil(image) and array.ndim not in (2, 3):
            raise TypeError(f"ToImage: expected a PIL image or an (H, W[, C]) array, got shape "
                            f"{array.shape}")
        array = array[:, :, None] if array.ndim == 2 else array
        return make_tensor(np.ascontiguousarray(array.transpose(2, 0, 1)))

    def __repr__(self):
        return "ToImage()"


def _integer_max(dtype):
    return float(np.iinfo(dtype).max) if dtype.kind in "iu" else None


class ToDtype:
    """Cast an image tensor to ``dtype``; with ``scale=True`` its value range too, as
    torchvision: integers -> floats times 1 / the integer type's maximum (uint8: 255), floats ->
    integers multiply by maximum + 1 - 1e-3 and truncate, integers -> integers shift bits."""

    def __init__(self, dtype, scale=False):
        self.dtype, self.scale = dtypes.as_dtype(dtype), scale

    def __call__(self, image):
        if not isinstance(image, Tensor):
            raise TypeError(f"ToDtype: expected a Tensor (use ToImage first), got "
                            f"{type(image).__name__}")
        array, target = image._data, self.dtype.np
        if not self.scale or array.dtype == target:
            return make_tensor(array.astype(target))
        source_max, target_max = _integer_max(array.dtype), _integer_max(target)
        if source_max is None and target_max is None:
            return make_tensor(array.astype(target))
        if target_max is None:
            # times the reciprocal in the target dtype, as torchvision (not a division)
            return make_tensor(array.astype(target) * target.type(1.0 / source_max))
        if source_max is None:
            return make_tensor((array * (target_max + 1.0 - 1e-3)).astype(target))
        shift = int(np.log2(source_max + 1) - np.log2(target_max + 1))
        shifted = array >> shift if shift > 0 else array.astype(target) << -shift
        return make_tensor(shifted.astype(target))

    def __repr__(self):
        return f"ToDtype(dtype={self.dtype}, scale={self.scale})"


class ToPureTensor:
    """The identity: v2 uses it to strip tv_tensor subclasses, which ganglion does not have."""

    def __call__(self, inputs):
        return inputs

    def __repr__(self):
        return "ToPureTensor()"
