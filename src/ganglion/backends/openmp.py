"""``ganglion.backends.openmp``: ganglion does not use an OpenMP runtime."""
__all__ = ["is_available"]


def is_available():
    """False: ganglion's compiled loops do not use OpenMP."""
    return False
