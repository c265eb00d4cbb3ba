"""PixelShuffle and PixelUnshuffle: the module forms of ``F.pixel_shuffle`` / ``pixel_unshuffle``."""
from ganglion.nn.functional.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from ganglion.nn.layers.arguments import count
from ganglion.nn.module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """(*, C * r**2, H, W) -> (*, C, H * r, W * r), r = ``upscale_factor``."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = count(f"PixelShuffle({upscale_factor!r})", "upscale_factor",
                                    upscale_factor, 1)

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H * r, W * r) -> (*, C * r**2, H, W), r = ``downscale_factor``."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = count(f"PixelUnshuffle({downscale_factor!r})",
                                      "downscale_factor", downscale_factor, 1)

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
