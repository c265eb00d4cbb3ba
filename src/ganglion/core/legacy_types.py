"""PyTorch's legacy tensor types (``FloatTensor``, ``LongTensor``, ...), ``typename`` and
``is_floating_point``, for code ported from older PyTorch.

The CUDA types (``ganglion.cuda.FloatTensor`` & co.) exist too, so that code choosing between
``torch.cuda.FloatTensor`` and ``torch.FloatTensor`` runs: nothing is an instance of them and
calling one raises ``UnavailableTensorTypeError`` (a TypeError, PyTorch's type, and a
DeviceUnavailableError).

``FloatTensor([1, 2])`` is a float32 tensor of those values and ``FloatTensor(2, 3)`` one of shape
(2, 3) (zeros: PyTorch leaves it uninitialised, so no program can rely on its values). As in
PyTorch these are not Tensor subclasses: the result is a plain Tensor, and
``isinstance(x, FloatTensor)`` asks whether ``x`` is a float32 tensor (a metaclass's
``__instancecheck__``, PyTorch's own way).
"""
import numbers

from ganglion.core import dtypes
from ganglion.core.device import DeviceUnavailableError
from ganglion.core.errors import ShapeError
from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
           "CharTensor", "ByteTensor", "BoolTensor", "LEGACY_TYPES", "typename",
           "is_floating_point", "is_complex", "set_default_tensor_type"]


def _is_size(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _checked_sizes(name, sizes):
    if any(size < 0 for size in sizes):
        raise ShapeError(f"{name}(): sizes must be non-negative, got {tuple(sizes)}")
    return sizes


class LegacyTensorType(type):
    """The metaclass of FloatTensor & co.: calling one makes a Tensor of its dtype; isinstance
    compares dtypes."""

    def __instancecheck__(cls, instance):
        return isinstance(instance, Tensor) and instance.dtype is cls.dtype

    def __call__(cls, *args, device=None):
        name = cls.__name__
        if device is not None:
            from ganglion.core.device import check_available
            check_available(device, name)
        dtype = cls.dtype
        from ganglion.core.creation import tensor, zeros
        if not args:
            return zeros(0, dtype=dtype)
        if all(_is_size(a) for a in args):
            return zeros(*_checked_sizes(name, args), dtype=dtype)
        if len(args) > 1:
            raise TypeError(f"{name}(): expected sizes (integers), one sequence of values or one "
                            f"tensor, got arguments of types "
                            f"({', '.join(type(a).__name__ for a in args)})")
        data = args[0]
        if isinstance(data, tuple) and hasattr(data, "numel"):
            return zeros(*_checked_sizes(name, data), dtype=dtype)  # a Size: FloatTensor(x.shape)
        if isinstance(data, Tensor):
            if data.dtype is not dtype:
                raise TypeError(f"{name}(): expected a tensor of dtype {dtype}, got {data.dtype} "
                                f"(convert it with .to({dtype}) instead)")
            return make_tensor(data._data)  # shares memory, as PyTorch's alias
        if isinstance(data, (str, bytes)) or isinstance(data, numbers.Number):
            raise TypeError(f"{name}(): data must be a sequence of numbers or sizes, got "
                            f"{data!r} of type {type(data).__name__}")
        return tensor(data, dtype=dtype)

    def __repr__(cls):
        return f"<class 'ganglion.{cls.__name__}'>"


class UnavailableTensorTypeError(DeviceUnavailableError, TypeError):
    """A legacy CUDA tensor type called in a build without CUDA (PyTorch's TypeError)."""


class CudaLegacyTensorType(LegacyTensorType):
    """The metaclass of ganglion.cuda.FloatTensor & co.: no tensor is one, none can be made."""

    def __instancecheck__(cls, instance):
        return False

    def __call__(cls, *args, **kwargs):
        raise UnavailableTensorTypeError(
            f"cuda.{cls.__name__}: type torch.cuda.{cls.__name__} is not available: this build of "
            f"ganglion runs on 'cpu' only; use ganglion.{cls.__name__}")

    def __repr__(cls):
        return f"<class 'ganglion.cuda.{cls.__name__}'>"


def cuda_legacy_type(dtype):
    """The CUDA legacy type of ``dtype`` (``ganglion.cuda.FloatTensor`` for float32)."""
    type_name = dtype.legacy_name.rpartition(".")[2]
    return CudaLegacyTensorType(type_name, (), {
        "dtype": dtype, "is_cuda": True, "__module__": "ganglion.cuda",
        "__doc__": f"{type_name} on a GPU: not available in this build (calling it raises)."})


def _legacy_type(dtype):
    type_name = dtype.legacy_name.rpartition(".")[2]
    doc = (f"``{type_name}(*sizes)`` or ``{type_name}(data)``: a {dtype.name} tensor (the legacy "
           f"constructor); ``isinstance(x, {type_name})`` is ``x.dtype is {dtype.name}``.")
    return LegacyTensorType(type_name, (), {"dtype": dtype, "__doc__": doc, "is_cuda": False,
                                            "__module__": "ganglion"})


FloatTensor = _legacy_type(dtypes.float32)
DoubleTensor = _legacy_type(dtypes.float64)
HalfTensor = _legacy_type(dtypes.float16)
LongTensor = _legacy_type(dtypes.int64)
IntTensor = _legacy_type(dtypes.int32)
ShortTensor = _legacy_type(dtypes.int16)
CharTensor = _legacy_type(dtypes.int8)
ByteTensor = _legacy_type(dtypes.uint8)
BoolTensor = _legacy_type(dtypes.bool_)
LEGACY_TYPES = (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor,
                CharTensor, ByteTensor, BoolTensor)


def typename(obj):
    """The type's name as PyTorch prints it: a tensor's legacy type ('torch.FloatTensor'), else
    the object's module and qualified name ('int', 'ganglion.nn.layers.linear.Linear')."""
    if isinstance(obj, Tensor):
        return obj.dtype.legacy_name
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = type(obj).__module__ or ""
        qualname = type(obj).__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def is_floating_point(input):  # noqa: A002  (PyTorch's argument name)
    """True for a tensor of a floating dtype; a TypeError for anything but a tensor, as PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_floating_point(): argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}")
    return input.dtype.is_floating_point


def is_complex(input):  # noqa: A002  (PyTorch's argument name)
    """False for every tensor (ganglion has no complex dtypes); a TypeError for a non-tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_complex(): argument 'input' must be a Tensor, not "
                        f"{type(input).__name__}")
    return False


Tensor.is_complex = lambda self: False


def set_default_tensor_type(t):
    """PyTorch's older ``set_default_dtype``: a floating legacy type (``DoubleTensor``) or its
    name ('torch.DoubleTensor'). Deprecated in PyTorch 2.1, which warns; so does ganglion."""
    import warnings
    if isinstance(t, str):
        dtype = dtypes.from_legacy_name(t)
    elif isinstance(t, CudaLegacyTensorType):
        t()  # raises: no CUDA types in this build
    elif isinstance(t, LegacyTensorType):
        dtype = t.dtype
    else:
        raise TypeError(f"set_default_tensor_type: expected a legacy tensor type such as "
                        f"ganglion.DoubleTensor or its name, got {t!r}")
    if not dtype.is_floating_point:
        raise TypeError(f"set_default_tensor_type: only floating-point types can be the default "
                        f"type, got {t!r} ({dtype})")
    warnings.warn("set_default_tensor_type() is deprecated (as in PyTorch 2.1): use "
                  "set_default_dtype() instead", UserWarning, stacklevel=2)
    dtypes.set_default_dtype(dtype)
