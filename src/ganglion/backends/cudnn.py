"""``ganglion.backends.cudnn``: cuDNN is not part of this build. The flags PyTorch scripts set
(``benchmark``, ``deterministic``, ``enabled``, ``allow_tf32``) are plain module attributes with
PyTorch's defaults; setting them changes nothing."""
__all__ = ["is_available", "version", "enabled", "benchmark", "deterministic", "allow_tf32"]

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available():
    """False: ganglion does not use cuDNN."""
    return False


def version():
    """None: no cuDNN library is loaded (as PyTorch says without one)."""
    return None
