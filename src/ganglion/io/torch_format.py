"""``load_torch(f)``: the ``.pt`` / ``.pth`` files that ``torch.save`` writes, read without
PyTorch and without running code from the file.

Two layouts are read, as ``torch/serialization.py`` writes them:

* the zip format (``torch.save``'s default since PyTorch 1.6): ``<name>/data.pkl`` (the pickled
  object, tensors in it referring to storages by key), ``<name>/data/<key>`` (each storage's raw
  bytes), ``<name>/byteorder`` ("little" or "big"; absent in old files, which are little-endian);
* the legacy format (``_use_new_zipfile_serialization=False``): five pickles in a row, the magic
  number, the protocol version (1001), a sys_info dict, the object, the list of storage keys,
  then each storage as an int64 element count and its bytes, little-endian.

The pickles go through a restricted unpickler that follows the rules of PyTorch's own
``torch.load(weights_only=True)`` (``torch/_weights_only_unpickler.py``), written anew: a
pickle can name a global (a function or class, which pickle then calls) only from a fixed
table of the names ``torch.save`` writes for state dicts and checkpoints:

* the tensor rebuilders ``torch._utils._rebuild_tensor`` / ``_rebuild_tensor_v2`` /
  ``_rebuild_tensor_v3`` / ``_rebuild_parameter`` / ``_rebuild_parameter_with_state``,
* the storage types (``torch.FloatStorage`` ..., ``torch.storage.UntypedStorage``) as they
  appear in storage references, and the dtypes (``torch.float32`` ...) as values,
* ``collections.OrderedDict`` and ``Counter``, ``torch.Size`` (a tuple here), ``torch.device``
  (its string here), and the builtins pickle protocol 2 uses for sets, bytes and complex numbers.

What the table maps them to is ganglion's own code, never PyTorch's (PyTorch need not be
installed) nor the module the pickle names: any other global, ``os.system`` or a model's class
alike, is refused before anything is called, with a ``RefusedGlobalError`` naming the file and
the global. Pickle's other opcodes only build numbers, strings, bytes, tuples, lists, dicts and
sets, and its BUILD opcode (set attributes) is refused on everything but an OrderedDict's
``_metadata`` (the module versions a state dict carries). NumPy arrays and scalars in a
checkpoint are refused too (their globals are NumPy's), as ``torch.load(weights_only=True)``
refuses them. The file's numbers are checked before use: a storage's record must hold exactly
the bytes its reference declares, and a tensor's offset, size and stride must stay inside its
storage, so a crafted file cannot make the strided view read outside its buffer.

Each storage is read once: a stored (uncompressed) zip record, as ``torch.save`` writes them,
straight from the file into its array (sizes checked, no CRC pass); a compressed one (a file
re-zipped) through ``zipfile``.

What comes back: the saved structure with dicts, lists and tuples rebuilt, an OrderedDict
where one was saved (a state dict keeps its ``_metadata``), and ganglion Tensors for tensors:

* dtypes float32, float64, float16, int64, int32, int16, int8, uint8 and bool keep their dtype;
  **bfloat16 becomes float32** (NumPy has no bfloat16; a bfloat16 is the upper half of a float32,
  so shifting its 16 bits left by 16 gives the exact value). Other dtypes (complex, uint16,
  float8, quantized) are refused with an error naming the dtype.
* big-endian storages are byte-swapped to the machine's order.
* Tensors that share a storage share memory, as after ``torch.load``, where their layout is
  contiguous (a tensor, its slices along the first dimension, a flattened view); a
  non-contiguous tensor (a transpose, a column slice, an ``expand``) is copied to a contiguous
  array of its own.
* a tensor saved with ``requires_grad=True`` has it again; a ``Parameter`` (saved from
  ``model.parameters()``, not from a state dict, which holds plain tensors) comes back as a
  ``ganglion.nn.Parameter`` so that ``isinstance(p, nn.Parameter)`` answers as under PyTorch.
  Python attributes a Parameter carried (``_rebuild_parameter_with_state``) are dropped, and
  backward hooks (which would be code) are refused.

Every problem is a ``CheckpointError`` (a ValueError) naming the file; a refused global is its
subclass ``RefusedGlobalError``, also a ``pickle.UnpicklingError`` as PyTorch raises.
"""
import _compat_pickle
import io
import math
import os
import pickle
import struct
import zipfile
from collections import Counter, OrderedDict

import numpy as np

from ganglion.core import dtypes
from ganglion.core.tensor import make_tensor
from ganglion.io.checkpoint import (CheckpointError, _as_path, _check_map_location, _is_file_object,
                                    bfloat16_to_float32)

__all__ = ["load_torch", "RefusedGlobalError", "MAGIC_NUMBER"]

#: The first pickle of a legacy PyTorch file (torch/serialization.py MAGIC_NUMBER).
MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
_LEGACY_PROTOCOL_VERSION = 1001


class RefusedGlobalError(CheckpointError, pickle.UnpicklingError):
    """A pickle named a global outside the weights-only table; it was never imported or called.
    ``path``, ``module`` and ``name`` say which file and which global."""

    def __init__(self, path, module, name):
        self.path, self.module, self.name = path, module, name
        super().__init__(
            f"{path}: refused the global {module}.{name}: the file's pickle asks to call it, and "
            "ganglion loads PyTorch files weights-only (as torch.load(weights_only=True)): "
            "tensors, storages, dtypes, OrderedDict and plain containers, nothing that runs "
            "code. A whole model saved with torch.save(model) (or a TorchScript archive) needs "
            "its code: load it with PyTorch and save model.state_dict() instead")


class _Refusal(pickle.UnpicklingError):
    """Raised by the loader's own functions while a pickle runs: content that is understood and
    refused, or malformed; reported as ``<file>: cannot load: <message>``."""


# ----- what storages and tensors are made of ---------------------------------------------------
class _ElementType:
    """One dtype of a torch storage: how its bytes read in NumPy (little-endian) and the ganglion
    dtype its tensors get. ``bfloat16`` is read as uint16 and widened to float32."""

    __slots__ = ("torch_name", "stored", "ganglion")

    def __init__(self, torch_name, stored, ganglion):
        self.torch_name, self.stored, self.ganglion = torch_name, np.dtype(stored), ganglion

    @property
    def itemsize(self):
        return self.stored.itemsize


_ELEMENT_TYPES = {t.torch_name: t for t in (
    _ElementType("float32", "<f4", dtypes.float32),
    _ElementType("float64", "<f8", dtypes.float64),
    _ElementType("float16", "<f2", dtypes.float16),
    _ElementType("bfloat16", "<u2", dtypes.float32),
    _ElementType("int64", "<i8", dtypes.int64),
    _ElementType("int32", "<i4", dtypes.int32),
    _ElementType("int16", "<i2", dtypes.int16),
    _ElementType("int8", "i1", dtypes.int8),
    _ElementType("uint8", "u1", dtypes.uint8),
    _ElementType("bool", "?", dtypes.bool_),
)}
# torch.<Name>Storage, the legacy typed storage classes that torch.save names in storage
# references, and the element type each holds.
_STORAGE_TYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8", "BoolStorage": "bool",
}
# Dtypes and storages PyTorch has and ganglion does not: named in a clear refusal instead.
_MISSING_DTYPES = {"complex32", "complex64", "complex128", "uint16", "uint32", "uint64",
                   "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                   "float8_e8m0fnu", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
                   "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2"}
_MISSING_STORAGES = {"ComplexFloatStorage": "complex64", "ComplexDoubleStorage": "complex128",
                     "QInt8Storage": "qint8", "QUInt8Storage": "quint8", "QInt32Storage": "qint32",
                     "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4"}
_SUPPORTED = ", ".join(_ELEMENT_TYPES)


class _StorageType:
    """What a storage class name (``torch.FloatStorage``) unpickles to: only a marker that
    persistent_load reads; not callable, so a pickle cannot call it."""

    __slots__ = ("name", "element")

    def __init__(self, name, element):
        self.name, self.element = name, element  # element None: untyped (bytes)

    def __setstate__(self, state):
        raise _Refusal("BUILD on a storage type")


class _TorchDtype:
    """A torch dtype that ganglion lacks, kept as a value (a config entry ``'dtype':
    torch.complex64`` loads); a tensor of that dtype is refused."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __eq__(self, other):
        return type(other) is _TorchDtype and other.name == self.name

    def __hash__(self):
        return hash(("torch dtype", self.name))

    def __setstate__(self, state):
        raise _Refusal("BUILD on a dtype")


class _Storage:
    """One storage of the file: its key, element type and element count as the reference
    declares them; ``data`` (its bytes as a writable uint8 array) once read."""

    __slots__ = ("key", "element", "numel", "data", "_typed")

    def __init__(self, key, element, numel):
        self.key, self.element, self.numel = key, element, numel
        self.data = None
        self._typed = {}

    @property
    def nbytes(self):
        return self.numel * (self.element.itemsize if self.element is not None else 1)

    def typed(self, element, big_endian):
        """The bytes as a native array of ``element`` (cached: every tensor of this storage and
        element type views the same array, so tensors sharing a storage share memory)."""
        array = self._typed.get(element.torch_name)
        if array is None:
            stored = element.stored.newbyteorder(">") if big_endian else element.stored
            array = self.data[:self.data.size - self.data.size % element.itemsize].view(stored)
            if not array.dtype.isnative:  # one byte swap per storage, not per tensor
                array = array.astype(stored.newbyteorder("="))
            if element.torch_name == "bfloat16":
                array = bfloat16_to_float32(array)
            self._typed[element.torch_name] = array
        return array

    def __setstate__(self, state):
        raise _Refusal("BUILD on a storage")


class _PendingTensor:
    """A tensor as a rebuild call describes it; turned into a ganglion Tensor once every
    storage has been read (the legacy format stores them after the pickle)."""

    __slots__ = ("storage", "element", "offset", "size", "stride", "requires_grad", "parameter")

    def __init__(self, storage, element, offset, size, stride, requires_grad):
        self.storage, self.element, self.offset = storage, element, offset
        self.size, self.stride, self.requires_grad = size, stride, requires_grad
        self.parameter = False

    def __setstate__(self, state):
        # torch allows BUILD on tensors for subclass state; ganglion tensors take none.
        raise _Refusal("BUILD (setting attributes) on a tensor")


class _StateDict(OrderedDict):
    """What ``collections.OrderedDict`` unpickles to: an OrderedDict whose BUILD (setting
    attributes) accepts only ``_metadata``, the per-module versions a state dict carries, so
    that a pickle cannot shadow its methods (``sd.items = ...``)."""

    def __setstate__(self, state):
        if not (isinstance(state, dict) and set(state) <= {"_metadata"}):
            names = sorted(map(repr, state)) if isinstance(state, dict) else [type(state).__name__]
            raise _Refusal(f"BUILD on an OrderedDict sets {', '.join(names)}; only "
                           "a state dict's _metadata is accepted")
        self.__dict__.update(state)


# ----- the functions the table hands to the pickle ---------------------------------------------
def _int(value, what):
    if type(value) is not int:
        raise _Refusal(f"{what} is {type(value).__name__} {value!r}, not an int")
    return value


def _ints(value, what):
    if not isinstance(value, tuple) and type(value) is not list:
        raise _Refusal(f"{what} is {type(value).__name__}, not a tuple of ints")
    return tuple(_int(v, what) for v in value)


def _check_hooks(backward_hooks):
    if backward_hooks is not None and (not isinstance(backward_hooks, dict) or backward_hooks):
        raise _Refusal("the tensor was saved with backward hooks (code); ganglion "
                       "loads none")


def _pending(storage, storage_offset, size, stride, requires_grad=False, element=None):
    if not isinstance(storage, _Storage):
        raise _Refusal(f"a tensor's storage is a {type(storage).__name__}, not a "
                       "storage reference")
    element = element or storage.element
    if element is None:
        raise _Refusal("a tensor of an untyped storage without a dtype")
    if type(requires_grad) is not bool:
        raise _Refusal(f"requires_grad is {requires_grad!r}, not a bool")
    size, stride = _ints(size, "a tensor's size"), _ints(stride, "a tensor's stride")
    if len(size) != len(stride):
        raise _Refusal(f"a tensor's size {size} and stride {stride} differ in length")
    return _PendingTensor(storage, element, _int(storage_offset, "a tensor's storage offset"),
                          size, stride, requires_grad)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _pending(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    # metadata: PyTorch's C-level tensor flags (get_tensor_metadata), none of which ganglion has.
    _check_hooks(backward_hooks)
    return _pending(storage, storage_offset, size, stride, requires_grad)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    # The layout PyTorch uses for dtypes without a typed storage class: untyped bytes + dtype.
    _check_hooks(backward_hooks)
    return _pending(storage, storage_offset, size, stride, requires_grad, _element_of(dtype))


def _rebuild_parameter(data, requires_grad, backward_hooks):
    if not isinstance(data, _PendingTensor):
        raise _Refusal(f"a Parameter of a {type(data).__name__}, not a tensor")
    if type(requires_grad) is not bool:
        raise _Refusal(f"requires_grad is {requires_grad!r}, not a bool")
    _check_hooks(backward_hooks)
    parameter = _PendingTensor(data.storage, data.element, data.offset, data.size, data.stride,
                               requires_grad)
    parameter.parameter = True
    return parameter


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    # state: the Parameter's Python attributes; ganglion Parameters have no room for them.
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _element_of(dtype):
    if isinstance(dtype, _TorchDtype):
        raise _Refusal(f"a tensor of dtype torch.{dtype.name}, which ganglion does "
                       f"not have (it loads {_SUPPORTED})")
    if isinstance(dtype, dtypes.DType):
        return _ELEMENT_TYPES[dtype.name]
    raise _Refusal(f"a tensor's dtype is a {type(dtype).__name__}, not a dtype")


def _size(sizes=()):
    return _ints(sizes, "torch.Size")


def _device(kind, index=None):
    if not isinstance(kind, str) or (index is not None and type(index) is not int):
        raise _Refusal(f"torch.device({kind!r}, {index!r})")
    return kind if index is None else f"{kind}:{index}"


def _encode(text, encoding="utf-8"):
    # Protocol 2 pickles bytes as _codecs.encode(str, 'latin1'); nothing else is needed.
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refusal(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _complex(real=0.0, imag=0.0):
    if not all(type(v) in (int, float) for v in (real, imag)):
        raise _Refusal("complex() of other than numbers")
    return complex(real, imag)


def _set(items=()):
    return set(_items(items, "set"))


def _bytearray(data=b""):
    if not isinstance(data, (bytes, list)):
        raise _Refusal(f"bytearray() of a {type(data).__name__}")
    return bytearray(data)


def _items(items, what):
    if type(items) not in (list, tuple):
        raise _Refusal(f"{what}() of a {type(items).__name__}, not a list")
    return items


def _counter(items=()):
    if not isinstance(items, dict):
        raise _Refusal(f"Counter() of a {type(items).__name__}, not a dict")
    return Counter(items)


_ALLOWED_GLOBALS = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("collections", "OrderedDict"): _StateDict,
    ("collections", "Counter"): _counter,
    ("torch", "Size"): _size,
    ("torch", "device"): _device,
    ("_codecs", "encode"): _encode,
    ("builtins", "set"): _set,
    ("builtins", "bytearray"): _bytearray,
    ("builtins", "complex"): _complex,
}
for _name, _element in _STORAGE_TYPES.items():
    _ALLOWED_GLOBALS[("torch", _name)] = _StorageType(_name, _ELEMENT_TYPES[_element])
for _module in ("torch", "torch.storage"):
    _ALLOWED_GLOBALS[(_module, "UntypedStorage")] = _StorageType("UntypedStorage", None)
for _name, _element in _ELEMENT_TYPES.items():
    # torch.bfloat16 as a value is float32, the dtype its tensors load as.
    _ALLOWED_GLOBALS[("torch", _name)] = _element.ganglion
for _name in _MISSING_DTYPES:
    _ALLOWED_GLOBALS[("torch", _name)] = _TorchDtype(_name)


# ----- the restricted unpickler ----------------------------------------------------------------
class _WeightsOnlyUnpickler(pickle.Unpickler):
    """pickle.Unpickler whose globals come only from ``_ALLOWED_GLOBALS`` and whose persistent
    ids are only storage references (``storage_for`` turns them into ``_Storage`` objects)."""

    def __init__(self, file, path, storage_for):
        super().__init__(file, encoding="utf-8")
        self._path, self._storage_for = path, storage_for

    def find_class(self, module, name):
        # Protocol 2 pickles written by Python 3 name Python 2's modules (__builtin__,
        # copy_reg); the stock find_class maps them back, as this one must.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        allowed = _ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            if module == "torch" and name in _MISSING_STORAGES:
                raise CheckpointError(f"{self._path}: holds a tensor of dtype "
                                      f"torch.{_MISSING_STORAGES[name]}, which ganglion does not "
                                      f"have (it loads {_SUPPORTED})")
            raise RefusedGlobalError(self._path, module, name)
        return allowed

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            if isinstance(pid, tuple) and pid and pid[0] == "module":
                raise _Refusal("a whole nn.Module with its source code "
                               "(torch.save(model)); save model.state_dict()")
            raise _Refusal(f"a persistent id {_short(pid)} that is not a storage "
                           "reference")
        storage_type, key, location, numel = pid[1:5]
        if not isinstance(storage_type, _StorageType):
            raise _Refusal(f"a storage reference of type {_short(storage_type)}")
        if not isinstance(key, str) or not isinstance(location, str):
            raise _Refusal(f"a storage reference with key {_short(key)} and "
                           f"location {_short(location)}")
        if len(pid) == 6 and pid[5] is not None:
            raise _Refusal("a storage view (a PyTorch 0.3 file); load it with "
                           "PyTorch and save it again")
        return self._storage_for(key, storage_type.element, _int(numel, "a storage's size"))


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unpickle(data, path, storage_for):
    """The object pickled in ``data`` (bytes or a binary file positioned at it)."""
    file = io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data
    try:
        return _WeightsOnlyUnpickler(file, path, storage_for).load()
    except CheckpointError:
        raise
    except _Refusal as error:
        raise CheckpointError(f"{path}: cannot load: {error}") from None
    except RecursionError:
        raise CheckpointError(f"{path}: the pickle is nested too deeply") from None
    except MemoryError:
        raise CheckpointError(f"{path}: the pickle declares more data than fits in memory "
                              "(corrupt?)") from None
    except Exception as error:  # noqa: BLE001  (pickle raises many types on corrupt input)
        raise CheckpointError(f"{path}: corrupt or unsupported pickle data "
                              f"({type(error).__name__}: {error})") from None


# ----- turning pending tensors into ganglion Tensors -------------------------------------------
def _materialize(pending, big_endian, path):
    storage, element = pending.storage, pending.element
    if storage.data is None:
        raise CheckpointError(f"{path}: storage {storage.key!r} is referred to but its data was "
                              "never read (corrupt file?)")
    base = storage.typed(element, big_endian)
    size, stride, offset = pending.size, pending.stride, pending.offset
    if any(s < 0 for s in size) or any(s < 0 for s in stride) or offset < 0:
        raise CheckpointError(f"{path}: a tensor with size {size}, stride {stride} and offset "
                              f"{offset}: negative values")
    numel = math.prod(size)  # Python ints: a corrupt size cannot overflow
    last = offset + sum((n - 1) * s for n, s in zip(size, stride)) if numel else offset - 1
    if last >= base.size:
        raise CheckpointError(f"{path}: a tensor with size {size}, stride {stride} and offset "
                              f"{offset} reaches element {last} of storage {storage.key!r}, which "
                              f"holds {base.size} {element.torch_name} elements")
    if _is_contiguous(size, stride):
        array = base[offset:offset + numel].reshape(size)  # a view: shares memory, as torch's
    else:
        itemsize = base.itemsize
        array = np.lib.stride_tricks.as_strided(
            base[offset:], shape=size, strides=[s * itemsize for s in stride],
            writeable=False).copy()
    if pending.parameter:
        from ganglion.nn.module import Parameter  # nn imports ganglion.io indirectly
        return Parameter(make_tensor(array), requires_grad=pending.requires_grad)
    return make_tensor(array, requires_grad=pending.requires_grad)


def _is_contiguous(size, stride):
    expected = 1
    for n, s in zip(reversed(size), reversed(stride)):
        if n != 1 and s != expected:
            return False
        expected *= n
    return True


def _resolve(value, big_endian, path):
    """``value`` with every pending tensor made a Tensor: containers are rebuilt (shared and
    recursive ones stay shared), an OrderedDict keeps its ``_metadata``."""
    done = {}

    def walk(v):
        kind = type(v)
        if kind in (str, int, float, bool, bytes, complex) or v is None:
            return v
        known = done.get(id(v))
        if known is not None:
            return known
        if kind is _PendingTensor:
            result = done[id(v)] = _materialize(v, big_endian, path)
        elif kind is list:
            result = done[id(v)] = []
            result.extend(walk(x) for x in v)
        elif kind is dict or kind is _StateDict or kind is Counter:
            result = done[id(v)] = (OrderedDict() if kind is _StateDict else kind())
            for k, x in v.items():
                result[walk(k)] = walk(x)
            if kind is _StateDict and "_metadata" in v.__dict__:
                result._metadata = walk(v.__dict__["_metadata"])
        elif kind is tuple:
            result = done[id(v)] = tuple(walk(x) for x in v)
        elif kind is set or kind is frozenset:
            result = done[id(v)] = kind(walk(x) for x in v)
        else:  # dtypes, bytearrays, device strings: values as they are
            result = v
        return result

    try:
        return walk(value)
    except RecursionError:
        raise CheckpointError(f"{path}: the object is nested too deeply") from None
    except MemoryError:
        raise CheckpointError(f"{path}: a tensor's size is larger than fits in memory "
                              "(corrupt?)") from None


# ----- the two file layouts --------------------------------------------------------------------
def _load_zip(file, path):
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable zip file (truncated or corrupt?): "
                              f"{error}") from None
    with archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            found = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") or "nothing"
            raise CheckpointError(
                f"{path}: a zip file but not one torch.save writes: expected one "
                f"'<name>/data.pkl' record, found {len(pickles)} (the zip holds {found})")
        prefix = pickles[0][:-len("data.pkl")]
        big_endian = False
        if prefix + "byteorder" in names:
            order = _read_record(archive, prefix + "byteorder", path)
            if order not in (b"little", b"big"):
                raise CheckpointError(f"{path}: unknown byte order {order[:20]!r} in its "
                                      "byteorder record (expected 'little' or 'big')")
            big_endian = order == b"big"
        storages = {}

        def storage_for(key, element, numel):
            storage = storages.get(key)
            if storage is None:
                storage = storages[key] = _Storage(key, element, numel)
                name = f"{prefix}data/{key}"
                try:
                    info = archive.getinfo(name)
                except KeyError:
                    raise CheckpointError(f"{path}: the pickle refers to storage {key!r} but the "
                                          f"zip has no record {name!r} (truncated?)") from None
                if info.file_size != storage.nbytes:
                    raise CheckpointError(f"{path}: storage {key!r} should hold {storage.nbytes} "
                                          f"bytes ({numel} elements) but its record has "
                                          f"{info.file_size}")
                storage.data = _read_storage(archive, file, info, path)
            elif (storage.element is not element and element is not None
                  and storage.element is not None):
                raise CheckpointError(f"{path}: storage {key!r} is referred to as "
                                      f"{storage.element.torch_name} and as {element.torch_name}")
            return storage

        data = _read_record(archive, pickles[0], path)
        return _resolve(_unpickle(data, path, storage_for), big_endian, path)


def _read_storage(archive, file, info, path):
    """A storage record's bytes as a new writable uint8 array. torch.save stores records
    uncompressed: those are read straight from the file into the array (one copy, no CRC pass:
    the sizes are checked instead); a compressed one (a re-zipped file) goes through zipfile."""
    if info.compress_type != zipfile.ZIP_STORED:
        return np.frombuffer(bytearray(_read_record(archive, info.filename, path)), np.uint8)
    file.seek(info.header_offset)
    header = file.read(30)  # the local file header: signature ... name and extra lengths
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise CheckpointError(f"{path}: record {info.filename!r} has no local header at offset "
                              f"{info.header_offset} (truncated or corrupt?)")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    file.seek(info.header_offset + 30 + name_length + extra_length)
    data = np.empty(info.file_size, np.uint8)
    if file.readinto(memoryview(data)) != info.file_size:
        raise CheckpointError(f"{path}: record {info.filename!r} is cut short (truncated?)")
    return data


def _read_record(archive, name, path):
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, zipfile.LargeZipFile) as error:
        raise CheckpointError(f"{path}: record {name!r} is unreadable (truncated or corrupt?): "
                              f"{error}") from None


def _load_legacy(file, path):
    def no_storages(key, element, numel):
        raise _Refusal("a storage reference in a file header")

    magic = _unpickle(file, path, no_storages)
    if type(magic) is not int or magic != MAGIC_NUMBER:
        raise CheckpointError(f"{path}: neither a safetensors checkpoint nor a PyTorch file: its "
                              f"first pickle is {_short(magic)}, not PyTorch's magic number "
                              f"{MAGIC_NUMBER:#x}")
    version = _unpickle(file, path, no_storages)
    if version != _LEGACY_PROTOCOL_VERSION:
        raise CheckpointError(f"{path}: legacy PyTorch file of protocol version "
                              f"{_short(version)}; expected {_LEGACY_PROTOCOL_VERSION}")
    _unpickle(file, path, no_storages)  # sys_info: the writer's sizes, not needed to read
    storages = {}

    def storage_for(key, element, numel):
        storage = storages.get(key)
        if storage is None:
            storage = storages[key] = _Storage(key, element, numel)
        return storage

    result = _unpickle(file, path, storage_for)
    keys = _unpickle(file, path, no_storages)
    if type(keys) is not list or not all(isinstance(k, str) for k in keys):
        raise CheckpointError(f"{path}: the storage key list is {_short(keys)}, not a list of "
                              "strings")
    start = file.tell()
    end = file.seek(0, io.SEEK_END)
    file.seek(start)
    for key in keys:
        storage = storages.get(key)
        if storage is None:
            raise CheckpointError(f"{path}: storage {key!r} is listed but nothing refers to it")
        count = file.read(8)
        if len(count) < 8:
            raise CheckpointError(f"{path}: truncated: the file ends before storage {key!r}")
        (numel,) = struct.unpack("<q", count)
        if numel != storage.numel:
            raise CheckpointError(f"{path}: storage {key!r} should hold {storage.numel} elements "
                                  f"but the file says {numel}")
        if storage.nbytes > end - file.tell():  # checked before allocating what it declares
            raise CheckpointError(f"{path}: truncated: storage {key!r} should have "
                                  f"{storage.nbytes} bytes, the file has {end - file.tell()} left")
        data = np.empty(storage.nbytes, np.uint8)
        if file.readinto(memoryview(data)) != storage.nbytes:
            raise CheckpointError(f"{path}: truncated: storage {key!r} should have "
                                  f"{storage.nbytes} bytes")
        storage.data = data
    # PyTorch writes legacy storages little-endian on every machine (THPStorage_writeFileRaw).
    return _resolve(result, False, path)


def load_bytes(raw, path):
    """``load_torch`` of a file's contents ``raw``, ``path`` naming it in errors."""
    return _load(io.BytesIO(raw), path)


def _load(file, path):
    head = file.read(9)
    total = file.seek(0, io.SEEK_END)
    file.seek(0)
    if head[:2] == b"PK":
        return _load_zip(file, path)
    # safetensors: an 8-byte little-endian header length that fits in the file, then '{' (the
    # first bytes of a pickle read as a length are far larger than the file).
    if len(head) == 9 and head[8:9] == b"{" and 2 <= struct.unpack("<Q", head[:8])[0] <= total:
        raise CheckpointError(f"{path}: a safetensors file, not one torch.save writes: load it "
                              "with ganglion.load")
    return _load_legacy(file, path)


def load_torch(f, map_location=None):
    """Read a file written by ``torch.save`` (zip or legacy format) without PyTorch and without
    running code from it; returns the saved structure with ganglion Tensors (see the module
    docstring for what is accepted). ``f`` is a path or a binary file object; ``map_location``
    is ``torch.load``'s and accepts the CPU only (the one device of this build)."""
    _check_map_location(map_location)
    if _is_file_object(f, "read"):
        name = getattr(f, "name", None) or f"<{type(f).__name__}>"
        raw = f.read()
        if isinstance(raw, str):
            raise TypeError(f"load_torch: {name} is open in text mode; open it with 'rb'")
        return load_bytes(bytes(raw), name)
    path = _as_path("load_torch", f)
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, not a PyTorch file") from None
    with file:
        if os.fstat(file.fileno()).st_size == 0:
            raise CheckpointError(f"{path}: empty file, not a PyTorch file")
        return _load(file, path)
