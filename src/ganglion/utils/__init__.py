"""ganglion.utils: PyTorch's ``torch.utils`` names, so that ``torch.utils.data`` code runs with its
imports changed. ``ganglion.utils.data`` re-exports ``ganglion.data`` (the same objects)."""
from ganglion.utils import data

__all__ = ["data"]
