"""ganglion.io: checkpoints (``save`` / ``load``) as safetensors files with JSON metadata, and
``load_torch`` for the ``.pt`` / ``.pth`` files PyTorch writes (weights only, no code run)."""
from ganglion.io.checkpoint import FORMAT, CheckpointError, load, save
from ganglion.io.torch_format import RefusedGlobalError, load_torch

__all__ = ["save", "load", "load_torch", "CheckpointError", "RefusedGlobalError", "FORMAT"]
