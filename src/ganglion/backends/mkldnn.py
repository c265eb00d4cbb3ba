"""``ganglion.backends.mkldnn``: oneDNN (MKL-DNN) is not used by ganglion. ``enabled`` is a
settable flag with PyTorch's default that changes nothing here."""
__all__ = ["is_available", "enabled"]

enabled = True


def is_available():
    """False: ganglion's CPU kernels are NumPy and its own compiled loops, not oneDNN."""
    return False
