"""Bad inputs to ``ganglion.save`` / ``ganglion.load`` and ``Module.load_state_dict``: each is
refused with the exception PyTorch raises (TypeError for a wrong kind of argument, RuntimeError
for a state dict that does not fit) or a CheckpointError naming the file, and changes nothing."""
import functools
import json
import pickle
import struct
import tempfile
from pathlib import Path

import numpy as np
from bad_inputs import BadInput, bad_input_test

import ganglion as gn
from ganglion import nn
from ganglion.io import CheckpointError, load, save

_tempdir = tempfile.TemporaryDirectory(prefix="ganglion-io-bad-")  # removed at exit
_folder = Path(_tempdir.name)
_good = {}


def _good_bytes():
    if "raw" not in _good:
        path = save({"w": gn.ones(3), "pair": (1, 2), "ints": {0: "a"}}, _folder / "good.st")
        _good["raw"] = path.read_bytes()
    return _good["raw"]


def _edited(name, structure_text):
    """A copy of a good checkpoint whose metadata structure is ``structure_text``."""
    raw = _good_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    header["__metadata__"]["structure"] = structure_text
    encoded = json.dumps(header).encode()
    path = _folder / f"{name}.safetensors"
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + raw[8 + size:])
    return path


def _load_edited(name, structure):
    text = structure if isinstance(structure, str) else json.dumps(structure)
    return lambda: load(_edited(name, text))


def _files():
    return sorted(p.name for p in _folder.iterdir())


def _save_to_text_file():
    with open(_folder / "text.out", "w") as f:
        save({"w": gn.ones(2)}, f)


def _load_from_text_file():
    (_folder / "text.in").write_bytes(b"{}")
    with open(_folder / "text.in") as f:
        load(f)


def _write(name, data):
    path = _folder / name
    path.write_bytes(data)
    return path


_linear = nn.Linear(3, 2)


def _weights():
    return {k: v.numpy().copy() for k, v in _linear.state_dict().items()}


CASES = [
    # saving
    BadInput("save a whole module", lambda: save(nn.Linear(2, 2), _folder / "m.st"), TypeError,
             ["Linear", "save(model.state_dict(), path)", "load_state_dict"], unchanged=_files),
    BadInput("save a module inside a dict", lambda: save({"net": nn.Linear(2, 2)},
                                                         _folder / "m.st"),
             TypeError, ["net is a Linear", "state_dict()"], unchanged=_files),
    BadInput("save an optimizer", lambda: save(gn.optim.SGD(_linear.parameters(), lr=0.1),
                                               _folder / "o.st"),
             TypeError, ["SGD", "optimizer.state_dict()"], unchanged=_files),
    BadInput("save a function", lambda: save({"f": len}, _folder / "f.st"), TypeError,
             ["f is a builtin_function_or_method", "Tensors and arrays"], unchanged=_files),
    BadInput("save nested too deeply",
             lambda: save(functools.reduce(lambda v, _: {1: [v]}, range(60), 0), _folder / "d.st"),
             ValueError, ["save", "more than 100 levels"], unchanged=_files),
    BadInput("save to a number", lambda: save({"w": gn.ones(1)}, 3), TypeError,
             ["save", "path", "binary file object", "int"], unchanged=_files),
    BadInput("save to a folder", lambda: save({"w": gn.ones(1)}, _folder), IsADirectoryError,
             [str(_folder), "is a folder", "model.safetensors"], unchanged=_files),
    BadInput("save to a text file", _save_to_text_file, TypeError, ["save", "text mode", "'wb'"]),
    # loading: arguments and files
    BadInput("load weights_only not a bool", lambda: load(_folder / "good.st", weights_only="yes"),
             TypeError, ["weights_only", "'yes'"]),
    BadInput("load from a number", lambda: load(7), TypeError, ["load", "path", "int"]),
    BadInput("load from a text file", _load_from_text_file, TypeError, ["text mode", "'rb'"]),
    BadInput("load a missing file", lambda: load(_folder / "missing.st"), FileNotFoundError,
             ["missing.st", "no such checkpoint"]),
    BadInput("load a folder", lambda: load(_folder), CheckpointError, [str(_folder), "folder"]),
    # A pickle or a zip is read as a PyTorch file (weights only): these are not PyTorch files.
    BadInput("load a pickle protocol 0",
             lambda: load(_write("p0.pkl", pickle.dumps({"a": 1}, protocol=0))), CheckpointError,
             ["p0.pkl", "PyTorch file", "magic number"]),
    BadInput("load a pickle protocol 5",
             lambda: load(_write("p5.pkl", pickle.dumps({"a": 1}, protocol=5))), CheckpointError,
             ["p5.pkl", "PyTorch file", "magic number"]),
    BadInput("load a zip", lambda: load(_write("z.pt", b"PK\x03\x04" + b"\x00" * 60)),
             CheckpointError, ["z.pt", "not a readable zip file", "truncated"]),
    BadInput("load a short file", lambda: load(_write("short.st", b"\x01\x00")), CheckpointError,
             ["short.st", "too short"]),
    BadInput("load a header of a list", lambda: load(_write("list.st", struct.pack("<Q", 2)
                                                            + b"[]")),
             CheckpointError, ["list.st", "not a JSON object"]),
    # loading: edited metadata (item 10)
    BadInput("metadata nested too deeply",
             _load_edited("deep", "[" * 100_000 + "]" * 100_000), CheckpointError,
             ["deep.safetensors", "nested too deeply"]),
    BadInput("metadata nested deeper than a checkpoint is",
             _load_edited("deep2", "[" * 400 + "]" * 400), CheckpointError,
             ["deep2.safetensors", "nested too deeply"]),
    BadInput("metadata tensor key is a list", _load_edited("tlist", {"w": {"__tensor__": [1]}}),
             CheckpointError, ["tlist.safetensors", "'__tensor__' reference is a list"]),
    BadInput("metadata tensor key unknown", _load_edited("tmiss", {"w": {"__tensor__": "nope"}}),
             CheckpointError, ["tmiss.safetensors", "'nope'", "does not hold"]),
    BadInput("metadata marker with other keys",
             _load_edited("extra", {"w": {"__tensor__": "w", "x": 1}}), CheckpointError,
             ["extra.safetensors", "'__tensor__'", "other keys"]),
    BadInput("metadata items not a list", _load_edited("inl", {"d": {"__items__": 5}}),
             CheckpointError, ["inl.safetensors", "'__items__' holds a int"]),
    BadInput("metadata items not pairs", _load_edited("inp", {"d": {"__items__": [[1, 2, 3]]}}),
             CheckpointError, ["inp.safetensors", "[1, 2, 3]", "not a [key, value] pair"]),
    BadInput("metadata items unhashable key",
             _load_edited("iuk", {"d": {"__items__": [[{"a": 1}, 2]]}}), CheckpointError,
             ["iuk.safetensors", "dict key is a dict", "unhashable"]),
    BadInput("metadata tuple not a list", _load_edited("tnl", {"t": {"__tuple__": "abc"}}),
             CheckpointError, ["tnl.safetensors", "'__tuple__' holds a str"]),
    BadInput("metadata structure not json", _load_edited("nj", "{oops"), CheckpointError,
             ["nj.safetensors", "corrupt checkpoint metadata"]),
    # Module.load_state_dict (PyTorch: TypeError for a non-dict, RuntimeError for misfits)
    BadInput("load_state_dict of a list", lambda: _linear.load_state_dict([1, 2]), TypeError,
             ["Linear.load_state_dict", "dict-like", "list"], unchanged=_weights),
    BadInput("load_state_dict string value",
             lambda: _linear.load_state_dict({"weight": np.zeros((2, 3)), "bias": "zeros"}),
             RuntimeError, ["Linear", "'bias' is a str", "expected a tensor"], unchanged=_weights),
    BadInput("load_state_dict symbolic value",
             lambda: _linear.load_state_dict({"weight": np.zeros((2, 3)),
                                              "bias": gn.placeholder(gn.float32, (2,))}),
             RuntimeError, ["'bias' is a symbolic Tensor with no value"], unchanged=_weights),
    BadInput("load_state_dict one fits one does not",
             lambda: _linear.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.zeros(5)}),
             RuntimeError, ["size mismatch for 'bias'", "(5,)", "(2,)"], unchanged=_weights),
    BadInput("load_state_dict every problem at once",
             lambda: _linear.load_state_dict({"weight": "w", "bias": np.zeros(5), "extra": 1}),
             RuntimeError, ["unexpected keys: 'extra'", "'weight' is a str",
                            "size mismatch for 'bias'"], unchanged=_weights),
]
test_bad_input = bad_input_test(CASES)
