"""pixel_shuffle and pixel_unshuffle: moving channel blocks into space and back (the
sub-pixel convolution of super-resolution networks).

Both are a reshape, a permute and a reshape, so their gradients come from those ops.
"""
from ganglion.core.op import as_integer, format_shape
from ganglion.core.ops.shape import permute, reshape
from ganglion.core.tensor import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _factor(name, what, factor):
    factor = as_integer(name, f"{what} must be an integer", factor)
    if factor <= 0:
        raise RuntimeError(f"{name}: expected a positive {what}, but got {factor}")
    return factor


def _spatial_input(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor as input, got {type(input).__name__}")
    if input.ndim < 3:
        raise RuntimeError(f"{name}: expected input of shape (*, C, H, W) with at least 3 "
                           f"dimensions, got {format_shape(input.shape)}")
    # An unknown (symbolic) batch size is left to reshape as -1.
    batch = tuple(-1 if d is None else d for d in input.shape[:-3])
    return batch, input.shape[-3], input.shape[-2], input.shape[-1]


def pixel_shuffle(input, upscale_factor):
    """(*, C * r**2, H, W) -> (*, C, H * r, W * r), r = ``upscale_factor``."""
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    batch, channels, height, width = _spatial_input("pixel_shuffle", input)
    if channels % (r * r):
        raise RuntimeError(f"pixel_shuffle: the channel dimension of the input of shape "
                           f"{format_shape(input.shape)} must be divisible by the square of "
                           f"upscale_factor={r} ({r * r}), got {channels} channels")
    k = len(batch)
    out_channels = channels // (r * r)
    x = reshape(input, batch + (out_channels, r, r, height, width))
    # (*, C, r, r, H, W) -> (*, C, H, r, W, r): each r x r block lands next to its pixel.
    x = permute(x, tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2))
    return reshape(x, batch + (out_channels, height * r, width * r))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H * r, W * r) -> (*, C * r**2, H, W), r = ``downscale_factor``: the inverse of
    pixel_shuffle."""
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    batch, channels, height, width = _spatial_input("pixel_unshuffle", input)
    for what, size in (("height", height), ("width", width)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle: the {what} of the input of shape "
                               f"{format_shape(input.shape)} must be divisible by "
                               f"downscale_factor={r}, got {size}")
    k = len(batch)
    x = reshape(input, batch + (channels, height // r, r, width // r, r))
    x = permute(x, tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3))
    return reshape(x, batch + (channels * r * r, height // r, width // r))
