"""``torchvision.utils``: ``make_grid`` tiles a batch of images into one image tensor, and
``save_image`` writes it as an image file, with torchvision's layout (implemented from its
documented behaviour): ``padding`` pixels of ``pad_value`` before every image and after the
last row and column, rows of ``nrow`` images, single-channel images repeated into RGB."""
import math
import numbers

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["make_grid", "save_image"]


def _images(tensor):
    """The (N, C, H, W) array of a tensor or a list of same-shaped tensors, as torchvision
    shapes them: (H, W) and (C, H, W) are one image, one channel becomes three."""
    if isinstance(tensor, Tensor):
        array = tensor._data
    elif isinstance(tensor, (list, tuple)) and tensor and all(isinstance(t, Tensor)
                                                              for t in tensor):
        shapes = {tuple(t.shape) for t in tensor}
        if len(shapes) > 1:
            raise ValueError(f"make_grid: the images in the list must share one shape, got "
                             f"{sorted(shapes)}")
        array = np.stack([t._data for t in tensor])
    else:
        raise TypeError(f"make_grid: tensor or list of tensors expected, got "
                        f"{type(tensor).__name__}")
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        if array.shape[0] == 1:
            array = np.concatenate([array] * 3, axis=0)
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected an image (H, W) or (C, H, W) or a batch "
                         f"(N, C, H, W), got shape {array.shape}")
    if array.shape[1] == 1:
        array = np.concatenate([array] * 3, axis=1)
    return array


def _normalized(images, value_range, scale_each):
    """Clamp to (low, high) and map it to [0, 1]: ``value_range``, else the min and max of
    the batch (or of each image with ``scale_each``)."""
    images = images.astype(images.dtype if images.dtype.kind == "f" else np.float32)
    if value_range is not None:
        if not isinstance(value_range, tuple) or len(value_range) != 2:
            raise TypeError(f"make_grid: value_range has to be a tuple (min, max) if "
                            f"specified, got {value_range!r}")
        low = np.full((len(images), 1, 1, 1), value_range[0], images.dtype)
        high = np.full((len(images), 1, 1, 1), value_range[1], images.dtype)
    elif scale_each:
        low = images.min(axis=(1, 2, 3), keepdims=True)
        high = images.max(axis=(1, 2, 3), keepdims=True)
    else:
        low, high = images.min(keepdims=True), images.max(keepdims=True)
    # The 1e-5 floor keeps a constant image from dividing by zero (torchvision's).
    span = np.maximum(high - low, 1e-5).astype(images.dtype)
    return (np.clip(images, low, high) - low) / span


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0):
    """Tile ``tensor`` (N, C, H, W) (or a list of (C, H, W) images) into one (C, H', W')
    image: ``min(nrow, N)`` images a row, ``padding`` pixels of ``pad_value`` around each.
    ``normalize`` maps ``value_range`` (default: the data's min and max; per image with
    ``scale_each``) to [0, 1]. A batch of one image is returned without padding."""
    if isinstance(nrow, bool) or not isinstance(nrow, numbers.Integral) or nrow < 1:
        raise ValueError(f"make_grid: nrow must be a positive integer, got {nrow!r}")
    if isinstance(padding, bool) or not isinstance(padding, numbers.Integral) or padding < 0:
        raise ValueError(f"make_grid: padding must be a non-negative integer, got {padding!r}")
    images = _images(tensor)
    if normalize:
        images = _normalized(images, value_range, scale_each)
    if images.shape[0] == 1:
        return make_tensor(np.ascontiguousarray(images[0]))
    count, channels, height, width = images.shape
    columns = min(nrow, count)
    rows = int(math.ceil(count / columns))
    cell_h, cell_w = height + padding, width + padding
    # Each image with its leading padding is one cell; empty cells of the last row are all
    # pad_value. Cells are laid out by one reshape, then the trailing padding is added.
    cells = np.full((rows * columns, channels, cell_h, cell_w), pad_value, images.dtype)
    cells[:count, :, padding:, padding:] = images
    grid = cells.reshape(rows, columns, channels, cell_h, cell_w).transpose(2, 0, 3, 1, 4)
    grid = grid.reshape(channels, rows * cell_h, columns * cell_w)
    grid = np.pad(grid, ((0, 0), (0, padding), (0, padding)), constant_values=pad_value)
    return make_tensor(grid)


def save_image(tensor, fp, format=None, **grid_kwargs):
    """Write ``make_grid(tensor, **grid_kwargs)`` to ``fp`` (a path or a binary file object)
    as an image: values in [0, 1] become uint8 by ``x * 255 + 0.5`` clamped to [0, 255] and
    truncated, as in torchvision; ``format`` (e.g. 'PNG') is needed for a file object."""
    from PIL import Image
    grid = make_grid(tensor, **grid_kwargs)._data
    pixels = np.clip(grid.astype(np.float32) * 255 + 0.5, 0, 255).astype(np.uint8)
    pixels = pixels.transpose(1, 2, 0)
    if pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    Image.fromarray(np.ascontiguousarray(pixels)).save(fp, format=format)
