"""``ganglion.backends.mkl``: ganglion does not link Intel MKL itself (NumPy's BLAS does the
matrix products, whichever library NumPy was built with)."""
__all__ = ["is_available"]


def is_available():
    """False: ganglion does not use MKL directly."""
    return False
