"""ganglion.io: checkpoints (``save`` / ``load``) as safetensors files with JSON metadata."""
from ganglion.io.checkpoint import FORMAT, CheckpointError, load, save

__all__ = ["save", "load", "CheckpointError", "FORMAT"]
