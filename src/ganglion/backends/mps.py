"""``ganglion.backends.mps``: Apple's Metal backend is neither built nor available."""
__all__ = ["is_available", "is_built"]


def is_available():
    """False: no MPS backend."""
    return False


def is_built():
    """False: this build was not made with MPS."""
    return False
