"""Arrays across frameworks: ``ganglion.from_dlpack`` and the export side of the DLPack protocol.

The reference is the Python array API standard's data interchange section and DLPack's Python
specification (https://dmlc.github.io/dlpack/latest/python_spec.html), as PyTorch implements them
(``torch.from_dlpack``, ``Tensor.__dlpack__``). A ganglion tensor's value is a NumPy array (the
private slot ``_data``), and NumPy >= 2 implements both sides of the protocol, so ganglion
delegates: ``Tensor.__dlpack__`` hands out the array's own capsule (NumPy negotiates the DLPack
version, the ``copy`` request and the read-only flag) and ``from_dlpack`` wraps
``numpy.from_dlpack``'s array. Nothing is copied unless ``copy=True`` is asked for, or an
exported view has a negative stride (see ``export_negative_strides``).

Read-only memory: ``from_dlpack`` of an exporter that marks its memory read-only (a read-only
NumPy array, or a ganglion tensor over one) gives a tensor over that memory that raises on every
write, as ``from_numpy`` of a read-only array does. PyTorch, which has no read-only tensors,
shares such memory with a warning (``torch.from_numpy``) or silently (``torch.from_dlpack``) and
then writes into it; ganglion can refuse the writes, so it needs no warning. A read-only tensor
exported to a consumer that ignores DLPack's read-only flag (PyTorch does) is writable there, as
with NumPy's own read-only arrays.
"""
import numpy as np

from ganglion.core.dtypes import from_numpy_dtype
from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["from_dlpack", "read_only_error"]

_Capsule = type(np.arange(1).__dlpack__())
_KDL_CPU = 1  # DLDeviceType.kDLCPU


class _CapsuleSource:
    """A bare DLPack capsule (what the legacy ``torch.utils.dlpack.to_dlpack`` returns) dressed
    as an exporter, so that ``numpy.from_dlpack`` takes it: NumPy asks for ``__dlpack__`` and
    accepts the capsule's own DLPack version whatever it asked for."""

    __slots__ = ("capsule",)

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        return self.capsule

    def __dlpack_device__(self):
        return (_KDL_CPU, 0)  # NumPy reads the real device from the capsule and refuses others


def export_negative_strides(data, stream, max_version, dl_device, copy):
    """The DLPack capsule of an array with a negative stride (a view made by ``flip``), for
    ``Tensor.__dlpack__``: a contiguous copy's, since PyTorch's importer aborts the process on
    negative strides (DLPack's ``copy=None`` lets the producer copy; ``copy=False`` refuses)."""
    if copy is False:
        raise BufferError("__dlpack__: this tensor is a view with a negative stride (such as "
                          f"flip's; strides {data.strides} in bytes), which DLPack consumers do "
                          "not all accept, so it can only be exported as a copy; copy=False was "
                          "given")
    return np.ascontiguousarray(data).__dlpack__(stream=stream, max_version=max_version,
                                                 dl_device=dl_device)


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A tensor sharing the memory of ``ext_tensor``: any object with ``__dlpack__`` and
    ``__dlpack_device__`` on the CPU (a NumPy array, a PyTorch tensor, a JAX array, another
    ganglion tensor) or a bare DLPack capsule. Writes through either side are seen by the other.
    ``copy=True`` copies; ``copy=False`` refuses to copy (BufferError if the exporter would);
    ``device`` may only be the CPU. The dtype is kept (float64 stays float64).

    Memory the exporter marks read-only stays read-only: writes to the tensor raise (see the
    module docstring). So does a bare capsule of DLPack 0.x, which cannot say whether its memory
    may be written (NumPy's rule; PyTorch writes): pass the tensor itself instead. As in PyTorch,
    a tensor that requires grad is refused by its exporter: pass ``x.detach()``.
    """
    if device is not None:
        from ganglion.core.device import check_available
        check_available(device, "from_dlpack")
    if isinstance(ext_tensor, Tensor):
        data = ext_tensor._data
        if data is None:
            raise BufferError(f"from_dlpack: {ext_tensor._describe()} is symbolic and has no "
                              "memory to share; compile it with ganglion.function")
        if ext_tensor.requires_grad:
            raise BufferError("from_dlpack: Can't export tensors that require gradient, use "
                              "tensor.detach()")
        return make_tensor(data.copy() if copy else data)
    if type(ext_tensor) is _Capsule:
        if copy is not None:
            raise ValueError("from_dlpack: copy is not supported when the argument is already a "
                             "DLPack capsule (as in PyTorch): pass the tensor itself")
        source = _CapsuleSource(ext_tensor)
    elif hasattr(ext_tensor, "__dlpack__"):
        source = ext_tensor
    else:
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a NumPy array, a "
                        f"PyTorch or JAX tensor) or a DLPack capsule, got "
                        f"{type(ext_tensor).__module__}.{type(ext_tensor).__qualname__}")
    try:
        array = np.from_dlpack(source, copy=copy)
    except BufferError as error:
        raise BufferError(f"from_dlpack: {error} (ganglion runs on the CPU: move a GPU tensor "
                          "there first, e.g. x.cpu())") from None
    except RuntimeError as error:  # NumPy's "Unsupported dtype in DLTensor." (bfloat16, ...)
        raise TypeError(f"from_dlpack: {error} (NumPy, which holds ganglion's values, has no "
                        f"such dtype; convert it first, e.g. x.float())") from None
    try:
        from_numpy_dtype(array.dtype)
    except TypeError as error:
        raise TypeError(f"from_dlpack: {error}") from None
    return make_tensor(array)


def read_only_error(what):
    """The error for a write into read-only memory (NumPy's bare "assignment destination is
    read-only" names neither the op nor where the memory came from)."""
    return ValueError(f"{what}: this tensor's memory is read-only (it shares a read-only array, "
                      "through ganglion.from_numpy, from_dlpack or as_tensor), and ganglion keeps "
                      "read-only memory read-only; write to a copy instead (t = t.clone())")
