"""``save(obj, f)`` / ``load(f)``: checkpoints as one safetensors file, never pickle.

A checkpoint is anything built from dicts, lists, tuples, strings, numbers, booleans, None,
ganglion Tensors and NumPy arrays: a state dict, or a whole training state (model, optimizer,
scheduler, epoch, RNG state, history). The tensors go into the safetensors payload under dotted
keys (``model.0.weight``, ``optimizer.state.3.exp_avg``); everything else, and where each tensor
sits in the structure, goes as JSON into the safetensors header's metadata. Loading therefore
parses JSON and copies bytes: unlike ``torch.load`` it can never run code from the file, so
every load is "weights only" (``load(f, weights_only=...)`` accepts the keyword for code written
for PyTorch; ``False`` does not enable pickle). ``load`` also reads the ``.pt`` / ``.pth`` files
``torch.save`` writes, through ``ganglion.io.torch_format``'s restricted unpickler, which never
calls anything but its own tensor and container builders. ``f`` is a path or an open binary file.

Writes to a path are atomic: the bytes go to a hidden temporary file in the destination's
folder, ``.<name>.<host>.<pid>.<random>.tmp``, are flushed to disk (fsync), and only then
replace the destination (``os.replace``). The new file gets the mode that ``open(path, 'wb')``
would give: that of the file it replaces, else 0666 less the umask (0644 under umask 022).

What a crash (kill -9, power loss) leaves: the previous checkpoint, intact, and possibly one
temporary file of the interrupted write. The next ``save`` to the same path (and ``fit`` when a
``ModelCheckpoint`` starts) deletes this path's stale temporary files: at once those whose
writer, named by the host and pid in the file name, is this host's and no longer running; any
other (another host on a shared folder, a pid reused by a live process, the random-only names
of older versions) once it has not been written to for ``STALE_TEMP_SECONDS``. Only names of
exactly that form for exactly that target are touched.

Every problem found while loading is a ``CheckpointError`` (a ValueError) that names the file.
"""
import io
import json
import os
import re
import secrets
import socket
import stat
import struct
import time
from pathlib import Path

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["save", "load", "CheckpointError", "FORMAT", "remove_stale_temp_files"]

FORMAT = "ganglion.checkpoint/1"
_TENSOR, _ARRAY, _TUPLE, _ITEMS = "__tensor__", "__ndarray__", "__tuple__", "__items__"
_MARKERS = {_TENSOR, _ARRAY, _TUPLE, _ITEMS}
# A header larger than this is not a checkpoint (safetensors itself caps it at 100 MB).
_MAX_HEADER_BYTES = 100_000_000
# save() refuses objects nested deeper than _MAX_SAVE_DEPTH (a training state nests about 5
# levels); load() refuses metadata deeper than _MAX_DEPTH, room for the markers save adds (up to
# 3 JSON levels per level of a dict with non-string keys). Fixed limits, so that neither depends
# on how much of Python's stack the caller already uses.
_MAX_SAVE_DEPTH = 100
_MAX_DEPTH = 3 * _MAX_SAVE_DEPTH + 2
#: A temporary file not written to for this long is stale whoever wrote it (see the docstring).
STALE_TEMP_SECONDS = 3600
# Written in pieces so that a long write keeps refreshing the temporary file's mtime.
_WRITE_CHUNK_BYTES = 64 << 20


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
        if len(path) > _MAX_SAVE_DEPTH:
            raise ValueError(f"save: the object nests more than {_MAX_SAVE_DEPTH} levels deep "
                             f"(at {'.'.join(path[:3])}...); a checkpoint cannot hold that")
        if isinstance(value, Tensor):
            if value._data is None:
                raise TypeError(f"save: {'.'.join(path) or 'the object'} is a symbolic tensor "
                                "with no value")
            key = self._key(path)
            self.arrays[key] = _contiguous(value._data)
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
        if callable(getattr(value, "state_dict", None)):
            # A whole model or optimizer: pickling it would tie the file to the code; its
            # state dict is what PyTorch recommends saving too.
            raise TypeError(f"save: {where} is a {type(value).__name__}, not a state; ganglion "
                            "saves states, not objects: save(model.state_dict(), path) (and "
                            "optimizer.state_dict()), then build the model and call "
                            "model.load_state_dict(load(path))")
        raise TypeError(f"save: {where} is a {type(value).__name__}; a checkpoint holds dicts, "
                        "lists, tuples, strings, numbers, booleans, None, Tensors and arrays")


def _contiguous(array):
    # Not np.ascontiguousarray: it turns a 0-d array (a step count) into shape (1,).
    return array if array.flags.c_contiguous else array.copy(order="C")


def _write_bytes(file, data):
    view = memoryview(data)
    for start in range(0, len(view), _WRITE_CHUNK_BYTES):
        file.write(view[start:start + _WRITE_CHUNK_BYTES])


def save(obj, f):
    """Write ``obj`` (a state dict or nested training state) to ``f``: a path (atomically; the
    folder is created if needed) or a file object opened for binary writing. Returns ``f``
    (as a Path when it is a path)."""
    encoder = _Encoder()
    structure = encoder.encode(obj, [])
    metadata = {"format": FORMAT, "structure": json.dumps(structure)}
    if _is_file_object(f, "write"):
        # Encoded before anything is written, so a refused object leaves the file untouched.
        if isinstance(f, io.TextIOBase):
            raise TypeError("save: the file is open in text mode; open it with 'wb'")
        _write_bytes(f, _safetensors_numpy().save(encoder.arrays, metadata=metadata))
        return f
    path = _as_path("save", f)
    if path.is_dir():
        # Checked first: the temporary file would otherwise go to the folder's parent.
        raise IsADirectoryError(f"save: {path} is a folder; save to a file in it, such as "
                                f"{path / 'model.safetensors'}")
    payload = _safetensors_numpy().save(encoder.arrays, metadata=metadata)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path)
    temp, fd = _create_temp_file(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_bytes(handle, payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)
    return path


def _is_file_object(f, method):
    return not isinstance(f, (str, bytes, os.PathLike)) and callable(getattr(f, method, None))


def _as_path(who, f):
    try:
        return Path(f)
    except TypeError:
        raise TypeError(f"{who}: expected a path (str or os.PathLike) or a binary file object, "
                        f"got {type(f).__name__}") from None


# ----- temporary files -----------------------------------------------------------------------
# Host names go into temp names without dots (the name's fields are dot-separated), at most 32
# characters; the host tells whether the pid in a temp name can be checked on this machine.
_HOST = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:32] or "host"
_TEMP_FIELDS = re.compile(r"(?P<host>[A-Za-z0-9_-]{1,32})\.(?P<pid>[0-9]{1,10})\.[0-9a-f]{8}")
# The names that tempfile.NamedTemporaryFile gave before pid-named temp files.
_OLD_TEMP_FIELDS = re.compile(r"[a-z0-9_]{8}")


def _create_temp_file(path):
    """(temp path, open fd) for a new temporary file next to ``path``, mode as open() gives."""
    try:
        # Replacing a file: keep its mode, as open(path, 'wb') would.
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None
    while True:
        temp = path.parent / f".{path.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            # 0o666 less the umask, as open() does (NamedTemporaryFile would give 0600).
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
        except FileExistsError:  # a 32-bit random collision; draw again
            continue
        break
    if mode is not None:
        try:
            os.chmod(temp, mode)
        except OSError:
            pass
    return temp, fd


def _pid_is_running(pid):
    """True / False for a process of this host, None where that cannot be told (Windows, where
    os.kill(pid, 0) would send Ctrl-C instead of probing)."""
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # running, as another user
        return True
    except OSError:
        return None
    return True


def remove_stale_temp_files(path, stale_seconds=STALE_TEMP_SECONDS):
    """Delete the temporary files that interrupted saves to ``path`` left behind and that no
    running save is writing (see the module docstring); returns the paths deleted."""
    path = Path(path)
    prefix, removed = f".{path.name}.", []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:  # no folder yet, or not readable: nothing to clean
        return removed
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        fields = name[len(prefix):-len(".tmp")]
        ours = _TEMP_FIELDS.fullmatch(fields)
        if ours is None and _OLD_TEMP_FIELDS.fullmatch(fields) is None:
            continue  # not a temp name of this target (perhaps of "name.something")
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:  # removed meanwhile
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        stale = now - info.st_mtime > stale_seconds
        if ours is not None and ours["host"] == _HOST:
            pid = int(ours["pid"])
            if pid == os.getpid():
                continue  # perhaps another thread of this process, writing now
            running = _pid_is_running(pid)
            stale = stale or running is False
        if stale:
            try:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
            except OSError:
                pass
    return removed


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
def _is_safetensors(raw):
    """A file is taken for safetensors when its first 8 bytes (the header's length,
    little-endian) fit in the file and the header starts with '{'; only a file that is not one
    is judged by its first bytes (pickle, zip), since a length's low byte may well be 0x80 (a
    pickle's first byte) or spell 'PK' (a zip's)."""
    size = struct.unpack("<Q", raw[:8])[0] if len(raw) >= 8 else None
    return size is not None and 2 <= size <= min(len(raw) - 8, _MAX_HEADER_BYTES) \
        and raw[8:9] == b"{"


def _read_header(path, raw):
    """The safetensors header as a dict (``raw`` passed ``_is_safetensors``, else an error
    saying what the file is not)."""
    size = struct.unpack("<Q", raw[:8])[0] if len(raw) >= 8 else None
    if _is_safetensors(raw):
        try:
            header = json.loads(raw[8:8 + size])
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise CheckpointError(f"{path}: corrupt safetensors header "
                                  f"({type(error).__name__}: {error})") from None
        if not isinstance(header, dict):
            raise CheckpointError(f"{path}: corrupt safetensors header (not a JSON object)")
        return header
    if size is None:
        raise CheckpointError(f"{path}: truncated: {len(raw)} bytes, too short for a safetensors "
                              "header")
    if size > len(raw) - 8:
        raise CheckpointError(f"{path}: not a safetensors file, or truncated: the header declares "
                              f"{size} bytes but the file has {len(raw)}")
    raise CheckpointError(f"{path}: not a safetensors file: its {size}-byte header is not a JSON "
                          "object")


def _looks_like_torch_file(raw):
    """Whether a file that is not safetensors has a zip's or a pickle's magic bytes: what
    ``torch.save`` writes (zip since PyTorch 1.6, pickles before)."""
    if raw[:2] == b"PK":
        return True
    if raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return True
    return raw.rstrip(b"\r\n")[-1:] == b"."  # every pickle ends with STOP ('.'); protocols 0-1


def _bad(path, message):
    return CheckpointError(f"{path}: corrupt checkpoint metadata: {message}")


def _decode(value, tensors, path, depth=0):
    if depth > _MAX_DEPTH:
        raise _bad(path, f"nested too deeply (more than {_MAX_DEPTH} levels)")
    depth += 1
    if isinstance(value, list):
        return [_decode(v, tensors, path, depth) for v in value]
    if not isinstance(value, dict):
        return value
    markers = _MARKERS.intersection(value)
    if not markers:
        return {k: _decode(v, tensors, path, depth) for k, v in value.items()}
    if len(value) != 1:
        # save() writes a marker alone in its object (a dict with such a key goes as __items__).
        raise _bad(path, f"a {sorted(markers)[0]!r} object with other keys "
                         f"({', '.join(sorted(map(repr, value)))})")
    (marker, content), = value.items()
    if marker in (_TENSOR, _ARRAY):
        if not isinstance(content, str):
            raise _bad(path, f"a {marker!r} reference is a {type(content).__name__}, not the "
                             "name of a tensor")
        if content not in tensors:
            raise CheckpointError(f"{path}: the metadata refers to tensor {content!r}, which the "
                                  "file does not hold")
        array = tensors[content]
        return make_tensor(array) if marker == _TENSOR else array
    if not isinstance(content, list):
        raise _bad(path, f"{marker!r} holds a {type(content).__name__}, not a list")
    if marker == _TUPLE:
        return tuple(_decode(v, tensors, path, depth) for v in content)
    decoded = {}
    for pair in content:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise _bad(path, f"an {_ITEMS!r} entry is {_short(pair)}, not a [key, value] pair")
        key = _hashable(_decode(pair[0], tensors, path, depth))
        try:
            hash(key)
        except TypeError:
            raise _bad(path, f"a dict key is a {type(key).__name__} (unhashable)") from None
        decoded[key] = _decode(pair[1], tensors, path, depth)
    return decoded


def _short(value):
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def _read_raw(f, weights_only):
    """(bytes, name for messages) of the file ``f`` (a path or a binary file object)."""
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    if _is_file_object(f, "read"):
        raw = f.read()
        name = getattr(f, "name", None) or f"<{type(f).__name__}>"
        if isinstance(raw, str):
            raise TypeError(f"load: {name} is open in text mode; open it with 'rb'")
        return bytes(raw), name
    path = _as_path("load", f)
    try:
        return path.read_bytes(), path
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such checkpoint file") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file") from None


def load(f, map_location=None, *, weights_only=None):
    """Read a checkpoint written by ``save`` from ``f`` (a path or a binary file object): the
    same structure, with Tensors (NumPy arrays where arrays were saved). A plain safetensors
    file (from another library) loads as a flat ``{name: Tensor}`` dict, and a file that
    ``torch.save`` wrote (``.pt`` / ``.pth``, zip or legacy) loads through ``load_torch``, whose
    unpickler accepts only tensors, storages, dtypes and plain containers and never calls
    anything else the file names. ``weights_only`` is accepted for code written for
    ``torch.load`` and changes nothing: every load is weights-only. ``map_location`` is
    ``torch.load``'s: tensors load onto the CPU, the only device of this build, so 'cpu', a cpu
    device, a dict of them or a function (``lambda storage, loc: storage``) are accepted and a
    device this build lacks ('cuda') is refused before the file is read."""
    _check_map_location(map_location)
    raw, path = _read_raw(f, weights_only)
    if not _is_safetensors(raw) and _looks_like_torch_file(raw):
        # Weights-only by construction (a restricted unpickler), so safe to load here.
        from ganglion.io.torch_format import load_bytes  # it imports this module
        return load_bytes(raw, path)
    header = _read_header(path, raw)
    tensors = _safetensors_arrays(raw, path)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        return {key: make_tensor(array) for key, array in tensors.items()}
    try:
        structure = json.loads(metadata["structure"])
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: corrupt checkpoint metadata ({error})") from None
    except RecursionError:
        raise _bad(path, "nested too deeply") from None
    try:
        return _decode(structure, tensors, path)
    except RecursionError:
        raise _bad(path, "nested too deeply") from None


# safetensors dtype names -> NumPy (little-endian, as the format stores them). safetensors.numpy
# lacks BF16, which PyTorch writes (safetensors.torch.save_file): it is widened to float32.
_SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
                       "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?", "U16": "<u2",
                       "U32": "<u4", "U64": "<u8", "BF16": "<u2"}


def bfloat16_to_float32(bits):
    """float32 values of bfloat16 numbers given as their uint16 bit patterns: a bfloat16 is the
    upper half of a float32, so the shift is exact (NumPy has no bfloat16 dtype)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _safetensors_arrays(raw, path):
    """{name: array} of the safetensors file ``raw``."""
    safetensors_numpy = _safetensors_numpy()
    try:
        views = safetensors_numpy.deserialize(raw)
    except Exception as error:  # noqa: BLE001  (safetensors raises its own error type)
        raise CheckpointError(f"{path}: corrupt or truncated safetensors data ({error})") from None
    arrays = {}
    for name, view in views:
        stored = _SAFETENSORS_DTYPES.get(view["dtype"])
        if stored is None:
            raise CheckpointError(f"{path}: tensor {name!r} has dtype {view['dtype']}, which "
                                  "ganglion does not read (it reads "
                                  f"{', '.join(_SAFETENSORS_DTYPES)})")
        array = np.frombuffer(view["data"], stored)
        if view["dtype"] == "BF16":
            array = bfloat16_to_float32(array)
        arrays[name] = array.reshape(view["shape"])
    return arrays


def _check_map_location(map_location):
    if map_location is None or (callable(map_location) and not isinstance(map_location, str)
                                and not hasattr(map_location, "type")):
        return
    from ganglion.core.device import check_available
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for target in targets:
        check_available(target, "load(map_location=...)")
