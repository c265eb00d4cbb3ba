"""``save(obj, path)`` / ``load(path)``: checkpoints as one safetensors file, never pickle.

A checkpoint is anything built from dicts, lists, tuples, strings, numbers, booleans, None,
ganglion Tensors and NumPy arrays: a state dict, or a whole training state (model, optimizer,
scheduler, epoch, RNG state, history). The tensors go into the safetensors payload under dotted
keys (``model.0.weight``, ``optimizer.state.3.exp_avg``); everything else, and where each tensor
sits in the structure, goes as JSON into the safetensors header's metadata. Loading therefore
parses JSON and copies bytes: unlike ``torch.load`` it can never run code from the file.

Writes are atomic: the bytes go to a temporary file in the destination's folder, are flushed to
disk (fsync), and only then replace the destination (``os.replace``), so a crash mid-write
leaves the previous checkpoint intact. Every problem found while loading is a
``CheckpointError`` that names the file.
"""
import json
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["save", "load", "CheckpointError", "FORMAT"]

FORMAT = "ganglion.checkpoint/1"
_TENSOR, _ARRAY, _TUPLE, _ITEMS = "__tensor__", "__ndarray__", "__tuple__", "__items__"
_MARKERS = {_TENSOR, _ARRAY, _TUPLE, _ITEMS}
# A header larger than this is not a checkpoint (safetensors itself caps it at 100 MB).
_MAX_HEADER_BYTES = 100_000_000


class CheckpointError(ValueError):
    """A file that is not a readable ganglion checkpoint (the message names the file)."""


def _safetensors_numpy():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("ganglion checkpoints need the safetensors package: "
                          "pip install ganglion[train]") from None
    return safetensors.numpy


# ----- saving --------------------------------------------------------------------------------
class _Encoder:
    """Turns an object into (JSON-able structure, {key: array}) with unique dotted keys."""

    def __init__(self):
        self.arrays = {}

    def _key(self, path):
        key = ".".join(path) or "tensor"
        unique, n = key, 1
        while unique in self.arrays:  # {"a.b": x, "a": {"b": y}} would otherwise collide
            unique, n = f"{key}#{n}", n + 1
        return unique

    def encode(self, value, path):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, Tensor):
            if value.data is None:
                raise TypeError(f"save: {'.'.join(path) or 'the object'} is a symbolic tensor "
                                "with no value")
            key = self._key(path)
            self.arrays[key] = _contiguous(value.data)
            return {_TENSOR: key}
        if isinstance(value, np.ndarray):
            key = self._key(path)
            self.arrays[key] = _contiguous(value)
            return {_ARRAY: key}
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, dict):
            if all(isinstance(k, str) for k in value) and not _MARKERS & set(value):
                return {k: self.encode(v, path + [k]) for k, v in value.items()}
            # Non-string keys (an optimizer's parameter indices) survive as [key, value] pairs.
            return {_ITEMS: [[self.encode(k, path + ["key"]), self.encode(v, path + [str(k)])]
                             for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            items = [self.encode(v, path + [str(i)]) for i, v in enumerate(value)]
            return {_TUPLE: items} if isinstance(value, tuple) else items
        where = ".".join(path) or "the object"
        raise TypeError(f"save: {where} is a {type(value).__name__}; a checkpoint holds dicts, "
                        "lists, tuples, strings, numbers, booleans, None, Tensors and arrays")


def _contiguous(array):
    # Not np.ascontiguousarray: it turns a 0-d array (a step count) into shape (1,).
    return array if array.flags.c_contiguous else array.copy(order="C")


def _write_bytes(file, data):
    file.write(data)


def save(obj, path):
    """Write ``obj`` (a state dict or nested training state) to ``path`` atomically."""
    path = Path(path)
    encoder = _Encoder()
    structure = encoder.encode(obj, [])
    metadata = {"format": FORMAT, "structure": json.dumps(structure)}
    payload = _safetensors_numpy().save(encoder.arrays, metadata=metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False)
    try:
        with handle:
            _write_bytes(handle, payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder):
    # Makes the rename itself durable; not every platform can open a folder (Windows).
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----- loading -------------------------------------------------------------------------------
def _read_header(path, raw):
    if raw[:1] == b"\x80" or raw[:2] == b"PK":
        raise CheckpointError(f"{path}: this looks like a pickle or a PyTorch .pt file; ganglion "
                              "never unpickles (pickle can run code): save it as safetensors")
    if len(raw) < 8:
        raise CheckpointError(f"{path}: truncated: {len(raw)} bytes, too short for a safetensors "
                              "header")
    (size,) = struct.unpack("<Q", raw[:8])
    if size > min(len(raw) - 8, _MAX_HEADER_BYTES):
        raise CheckpointError(f"{path}: not a safetensors file, or truncated: the header declares "
                              f"{size} bytes but the file has {len(raw)}")
    try:
        header = json.loads(raw[8:8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: corrupt safetensors header ({error})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: corrupt safetensors header (not a JSON object)")
    return header


def _decode(value, tensors, path):
    if isinstance(value, list):
        return [_decode(v, tensors, path) for v in value]
    if not isinstance(value, dict):
        return value
    for marker in (_TENSOR, _ARRAY):
        if marker in value:
            key = value[marker]
            if key not in tensors:
                raise CheckpointError(f"{path}: the metadata refers to tensor {key!r}, which the "
                                      "file does not hold")
            array = tensors[key]
            return make_tensor(array) if marker == _TENSOR else array
    if _TUPLE in value:
        return tuple(_decode(v, tensors, path) for v in value[_TUPLE])
    if _ITEMS in value:
        return {_hashable(_decode(k, tensors, path)): _decode(v, tensors, path)
                for k, v in value[_ITEMS]}
    return {k: _decode(v, tensors, path) for k, v in value.items()}


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def load(path):
    """Read a checkpoint written by ``save``: the same structure, with Tensors (NumPy arrays
    where arrays were saved). A plain safetensors file (from another library) loads as a flat
    ``{name: Tensor}`` dict."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such checkpoint file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file") from None
    header = _read_header(path, raw)
    try:
        tensors = _safetensors_numpy().load(raw)
    except Exception as error:  # noqa: BLE001  (safetensors raises its own error type)
        raise CheckpointError(f"{path}: corrupt or truncated safetensors data ({error})") from None
    metadata = header.get("__metadata__") or {}
    if metadata.get("format") != FORMAT:
        return {key: make_tensor(array) for key, array in tensors.items()}
    try:
        structure = json.loads(metadata["structure"])
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: corrupt checkpoint metadata ({error})") from None
    return _decode(structure, tensors, path)
