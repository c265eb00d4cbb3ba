"""Devices. Only the CPU exists so far; a GPU backend (CuPy) may add 'cuda' later.

As in PyTorch, a ``device`` object is only a name: ``ganglion.device('cuda')`` constructs (so that
code like ``torch.device('cuda' if torch.cuda.is_available() else 'cpu')`` runs), and it is
putting a tensor or a module *on* a device this build lacks that fails, with a
``DeviceUnavailableError`` that says which devices there are. That error is an AssertionError
(PyTorch's type for "Torch not compiled with CUDA enabled"), a RuntimeError (its type for the
other devices, e.g. 'mps') and a ValueError (ganglion's type for it before), so that any of
those ``except`` clauses catches it.

Also here: the default device (``set_default_device`` / ``get_default_device``; only 'cpu' can
be set) and the device-related Tensor attributes ``is_cuda``, ``is_cpu``, ``get_device()`` and
``cuda()``, bound onto Tensor when this module is imported (``ganglion/__init__`` does).
"""
__all__ = ["device", "cpu", "DeviceUnavailableError", "check_available", "get_default_device",
           "set_default_device", "AVAILABLE_TYPES"]

# The device types PyTorch's parser knows (its error for 'foo' lists them); only "cpu" runs here.
KNOWN_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
               "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
               "privateuseone")
AVAILABLE_TYPES = ("cpu",)


class DeviceUnavailableError(AssertionError, RuntimeError, ValueError):
    """A tensor or module put on a device this build of ganglion does not have."""


def _unavailable_message(spec, what=None):
    where = f"{what}: " if what else ""
    return (f"{where}device {str(spec)!r} is not available: this build of ganglion runs on "
            f"{', '.join(repr(t) for t in AVAILABLE_TYPES)} only (a GPU backend may come later); "
            "use device='cpu', or test ganglion.cuda.is_available() first")


class device:
    """A device name, ``device('cpu')``, ``device('cuda:0')`` or ``device('cuda', 0)``.

    Any device type PyTorch knows can be named; only 'cpu' can hold tensors in this build. A
    device compares equal to another device of the same type and index, and (unlike PyTorch,
    kept from earlier ganglion versions) to its name as a string.
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002  (PyTorch's argument name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): give an index with a device type string, not with a "
                                f"device ({type!r})")
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            # PyTorch reads device(0) as "accelerator 0", which does not exist here.
            if isinstance(type, int) and not isinstance(type, bool):
                raise DeviceUnavailableError(_unavailable_message(f"accelerator {type}", "device"))
            raise TypeError(f"device(): expected a device string such as 'cpu' or a device, got "
                            f"{type!r} of type {_type_name(type)}")
        kind, colon, text_index = type.partition(":")
        if kind not in KNOWN_TYPES:
            raise RuntimeError(f"device(): expected one of {', '.join(KNOWN_TYPES)} at the start "
                               f"of the device string, got {type!r}")
        if colon:
            if index is not None:
                raise RuntimeError(f"device(): {type!r} already has an index; give index={index} "
                                   "only with a bare type such as 'cuda'")
            if not text_index.isdigit():
                raise RuntimeError(f"device(): invalid device string {type!r} (the index after "
                                   "':' must be a non-negative integer)")
            index = int(text_index)
        elif index is not None:
            if not isinstance(index, int) or isinstance(index, bool):
                raise TypeError(f"device(): the index must be an integer, got {index!r}")
            if index < 0:
                raise RuntimeError(f"device(): the device index must not be negative, got {index}")
        self.type = kind
        self.index = index

    def __eq__(self, other):
        if isinstance(other, device):
            return self.type == other.type and self.index == other.index
        return isinstance(other, str) and str(self) == other

    def __hash__(self):
        return hash(str(self))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (self.type, self.index))

    def __enter__(self):
        """``with device('cpu'):`` makes it the default device inside the block (refused for a
        device this build lacks, at the ``with``)."""
        check_available(self, "with device")
        _entered.append(_default_device[0])
        _default_device[0] = self
        return self

    def __exit__(self, *exc_info):
        _default_device[0] = _entered.pop()
        return False


def _type_name(value):
    return type(value).__name__


cpu = device("cpu")


def check_available(spec, what=None):
    """``spec`` (a device or a device string) as a device, if this build can put tensors on it;
    else a DeviceUnavailableError naming ``what`` (the function or method) and the devices there
    are. An unknown device string is a RuntimeError, as in PyTorch."""
    dev = spec if isinstance(spec, device) else device(spec)
    if dev.type not in AVAILABLE_TYPES:
        raise DeviceUnavailableError(_unavailable_message(dev, what))
    return dev


_default_device = [cpu]
_entered = []  # the default devices that `with device(...)` blocks will restore


def get_default_device():
    """The device new tensors are made on: always ``device('cpu')`` in this build."""
    return _default_device[0]


def set_default_device(device):  # noqa: F811  (PyTorch's argument name)
    """Set the device new tensors are made on: 'cpu' (or None, the same) only in this build.

    PyTorch accepts 'cuda' here and fails at the next tensor; ganglion refuses it at once, so the
    error points at the line that asked for it."""
    _default_device[0] = cpu if device is None else check_available(device, "set_default_device")


# ----- Tensor's device attributes ---------------------------------------------------------------
def _bind_tensor_attributes():
    from ganglion.core.tensor import Tensor

    def cuda(self, device=None, non_blocking=False):
        """Move to a CUDA device: refused, this build has none (``is_cuda`` is always False)."""
        name = "cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device
        raise DeviceUnavailableError(_unavailable_message(name, "Tensor.cuda"))

    def get_device(self):
        """-1 for a CPU tensor, as in PyTorch (a GPU tensor would give its index)."""
        return -1

    Tensor.is_cuda = property(lambda self: False, doc="False: no tensor is on a GPU in this build")
    Tensor.is_cpu = property(lambda self: True, doc="True: every tensor is on the CPU")
    Tensor.is_mps = property(lambda self: False, doc="False: there is no MPS backend")
    Tensor.is_xpu = property(lambda self: False, doc="False: there is no XPU backend")
    Tensor.is_meta = property(lambda self: False, doc="False: there are no meta tensors")
    Tensor.cuda = cuda
    Tensor.get_device = get_device


_bind_tensor_attributes()
