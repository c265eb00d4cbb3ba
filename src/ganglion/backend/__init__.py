"""Array backends: the only layer that knows which array library runs the computation.

Everything above this package reaches arrays through ``get_backend()`` (or the ``current``
shortcut): its ``xp`` attribute is the array namespace (NumPy here, CuPy for a GPU backend) and
its methods are the numerical kernels that are more than one namespace call. A GPU backend is a
second module with the same attributes.
"""
from ganglion.backend.numpy_backend import NumpyBackend

__all__ = ["NumpyBackend", "get_backend", "current"]

current = NumpyBackend()


def get_backend(device="cpu"):
    """The backend for a device name. Only 'cpu' exists so far."""
    if device != "cpu":
        raise ValueError(f"unknown device {device!r}: this build of ganglion supports only 'cpu'")
    return current
