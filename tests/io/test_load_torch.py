"""``ganglion.load_torch`` and ``ganglion.load`` on the files ``torch.save`` writes (issue 14):
PyTorch writes them here (it is the oracle) and ganglion reads them without PyTorch's code.

Round trips of every dtype in the zip and the legacy format, big-endian storages, shared
storages and views, nested checkpoints, Parameters; torchvision-architecture ResNet-18 and
MobileNetV2 state dicts loaded into ganglion's models (eval outputs equal); malicious pickles
(os.system, exec, subprocess, an arbitrary class) refused without running; corrupt files named.
"""
import importlib
import io
import os
import pickle
import re
import subprocess
import sys
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import ganglion as gn
import ganglion.nn as nn
from ganglion.core.device import DeviceUnavailableError
from ganglion.io import CheckpointError, RefusedGlobalError, load_torch
from ganglion.io import torch_format

torch = pytest.importorskip("torch")
from bad_inputs import BadInput, bad_input_test  # noqa: E402

FORMATS = ["zip", "legacy"]


def _save(obj, path, fmt="zip"):
    torch.save(obj, path, _use_new_zipfile_serialization=fmt == "zip")
    return path


def _assert_same(ours, theirs, where="root"):
    """Recursive equality of a loaded structure and the PyTorch object saved."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gn.Tensor), where
        expected = (theirs.detach().float() if theirs.dtype == torch.bfloat16
                    else theirs.detach()).numpy()
        assert ours.shape == tuple(theirs.shape), where
        assert ours.numpy().dtype == expected.dtype, where
        np.testing.assert_array_equal(ours.numpy(), expected, err_msg=where)
        assert ours.requires_grad == theirs.requires_grad, where
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) or (isinstance(theirs, OrderedDict)
                                              and type(ours) is OrderedDict), where
        assert list(ours) == list(theirs), where
        for key in theirs:
            _assert_same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) or isinstance(theirs, torch.Size), where
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _assert_same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs and type(ours) is type(theirs), where


# ----- dtypes, byte order, views ----------------------------------------------------------------
DTYPES = {
    "float32": (torch.float32, np.float32), "float16": (torch.float16, np.float16),
    "bfloat16": (torch.bfloat16, np.float32), "float64": (torch.float64, np.float64),
    "int64": (torch.int64, np.int64), "int32": (torch.int32, np.int32),
    "int16": (torch.int16, np.int16), "int8": (torch.int8, np.int8),
    "uint8": (torch.uint8, np.uint8), "bool": (torch.bool, np.bool_),
}


def _sample(torch_dtype, shape=(3, 5)):
    g = torch.Generator().manual_seed(0)
    if torch_dtype == torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    if torch_dtype.is_floating_point:
        # Values a bfloat16 / float16 holds exactly and negative zero, infinities, NaN.
        values = (torch.randn(shape, generator=g) * 100).to(torch_dtype)
        specials = torch.tensor([-0.0, float("inf"), -float("inf"), float("nan")])
        values.view(-1)[:4] = specials[:values.numel()]
        return values
    info = torch.iinfo(torch_dtype)
    values = torch.randint(info.min, info.max, shape, generator=g, dtype=torch.int64)
    values.view(-1)[:2] = torch.tensor([info.min, info.max])[:values.numel()]
    return values.to(torch_dtype)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(DTYPES))
def test_every_dtype_round_trips(tmp_path, name, fmt):
    torch_dtype, numpy_dtype = DTYPES[name]
    saved = {"t": _sample(torch_dtype), "scalar": _sample(torch_dtype, ()),
             "empty": torch.zeros((0, 4), dtype=torch_dtype)}
    back = load_torch(_save(saved, tmp_path / f"{name}.pt", fmt))
    for key, value in saved.items():
        expected = (value.float() if torch_dtype == torch.bfloat16 else value).numpy()
        assert back[key].numpy().dtype == numpy_dtype and back[key].shape == tuple(value.shape)
        np.testing.assert_array_equal(back[key].numpy(), expected)  # NaN == NaN here
    assert back["t"].dtype == getattr(gn, "bool" if name == "bool" else
                                      ("float32" if name == "bfloat16" else name))


def test_bfloat16_widening_is_exact_for_every_bit_pattern(tmp_path):
    bits = torch.arange(-2 ** 15, 2 ** 15, dtype=torch.int32).to(torch.int16)
    values = bits.view(torch.bfloat16)
    back = load_torch(_save({"all": values}, tmp_path / "bf16.pt"))["all"].numpy()
    expected = values.float().numpy()
    assert np.array_equal(back.view(np.uint32), expected.view(np.uint32))  # NaN payloads too


def _to_big_endian(src, dst, element_sizes):
    """A copy of the zip ``src`` as a big-endian machine's torch.save writes it: every storage
    byte-swapped by its element size (``element_sizes[i]`` for storage key ``str(i)``: torch
    numbers storages in the order it meets them), and byteorder 'big'."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as out:
        prefix = z.namelist()[0].split("/")[0]
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename.startswith(f"{prefix}/data/"):
                size = element_sizes[int(info.filename[len(f"{prefix}/data/"):])]
                if size > 1:
                    data = np.frombuffer(data, f"<u{size}").byteswap().tobytes()
            elif info.filename == f"{prefix}/byteorder":
                data = b"big"
            out.writestr(info, data)
    return dst


def test_big_endian_storages_are_swapped(tmp_path):
    saved = {name: _sample(torch_dtype) for name, (torch_dtype, _) in DTYPES.items()}
    src = _save(saved, tmp_path / "little.pt")
    big = _to_big_endian(src, tmp_path / "big.pt", [t.element_size() for t in saved.values()])
    with zipfile.ZipFile(big) as z:
        assert z.read("little/byteorder") == b"big"
        assert z.read("little/data/0") != zipfile.ZipFile(src).read("little/data/0")
    _assert_same(load_torch(big), saved)
    _assert_same(load_torch(src), saved)


@pytest.mark.parametrize("fmt", FORMATS)
def test_views_of_one_storage(tmp_path, fmt, monkeypatch):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    saved = {"base": base, "rows": base[1:3], "row": base[2], "transposed": base.t(),
             "column": base[:, 4], "strided": base[::2, 1::2], "flat": base.view(-1)[5:17],
             "expanded": base[0].expand(3, 6), "element": base[3, 5]}
    path = _save(saved, tmp_path / "views.pt", fmt)
    reads = []
    original = torch_format._read_storage
    monkeypatch.setattr(torch_format, "_read_storage",
                        lambda archive, file, info, path: reads.append(info.filename)
                        or original(archive, file, info, path))
    back = load_torch(path)
    _assert_same(back, saved)
    if fmt == "zip":
        assert reads == ["views/data/0"]  # read once
    arrays = {k: v.numpy() for k, v in back.items()}
    # Contiguous views share the storage's memory as after torch.load ...
    for key in ("rows", "row", "flat", "element"):
        assert np.shares_memory(arrays[key], arrays["base"]), key
    back["rows"].numpy()[0, 0] = -1.0
    assert back["base"].numpy()[1, 0] == -1.0
    # ... non-contiguous ones are contiguous copies of their own.
    for key in ("transposed", "column", "strided", "expanded"):
        assert arrays[key].flags.c_contiguous and not np.shares_memory(arrays[key],
                                                                       arrays["base"]), key


def test_a_recompressed_zip_loads_the_same(tmp_path):
    # torch.save stores records uncompressed (read straight into arrays); a file re-zipped with
    # deflate goes through zipfile instead.
    saved = {"w": torch.randn(50, 40), "i": torch.arange(7)}
    src = _save(saved, tmp_path / "stored.pt")
    deflated = tmp_path / "deflated.pt"
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(deflated, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, z.read(info.filename))
    assert zipfile.ZipFile(deflated).getinfo("stored/data/0").compress_type == zipfile.ZIP_DEFLATED
    _assert_same(load_torch(deflated), saved)


def test_two_dtypes_in_one_file_and_storage_offsets(tmp_path):
    big = torch.randn(1000)
    saved = {"tail": big[900:], "ints": torch.arange(10)[3:7], "half": big.half()[10:20]}
    _assert_same(load_torch(_save(saved, tmp_path / "offsets.pt")), saved)


# ----- structures -----------------------------------------------------------------------------
def _training_checkpoint():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                                torch.nn.Linear(3, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 7,
            "best": 0.25, "history": [0.5, 0.375, (1, "two")], "name": "run-7",
            "flags": {"amp": False, "note": None, "blob": b"\x00\xff", "ratio": 1 + 2j},
            "tags": {"a", "b"}, "size": torch.Size([2, 3]), "dtype": torch.float16}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_nested_training_checkpoint(tmp_path, fmt):
    saved = _training_checkpoint()
    back = load_torch(_save(saved, tmp_path / "ckpt.pt", fmt))
    assert back["size"] == (2, 3) and type(back["size"]) is tuple
    assert back["dtype"] is gn.float16 and back["tags"] == {"a", "b"}
    assert back["flags"] == {"amp": False, "note": None, "blob": b"\x00\xff", "ratio": 1 + 2j}
    _assert_same({k: v for k, v in back.items() if k not in ("size", "dtype")},
                 {k: v for k, v in saved.items() if k not in ("size", "dtype")})
    assert type(back["model"]) is OrderedDict
    assert back["model"]._metadata == saved["model"]._metadata  # module versions kept
    state = back["optimizer"]["state"]
    assert sorted(state) == [0, 1, 2, 3, 4, 5] and int(state[0]["step"].item()) == 1


def test_a_state_dict_loads_into_a_ganglion_model(tmp_path):
    torch.manual_seed(0)
    twin = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model.load_state_dict(gn.load(_save(twin.state_dict(), tmp_path / "mlp.pth")))
    x = torch.randn(3, 4)
    np.testing.assert_allclose(model(gn.from_numpy(x.numpy())).detach().numpy(),
                               twin(x).detach().numpy(), atol=1e-6)


def test_parameters_and_requires_grad_come_back_as_saved(tmp_path):
    layer = torch.nn.Linear(2, 3)
    frozen = torch.nn.Parameter(torch.ones(2), requires_grad=False)
    leaf = torch.zeros(3, requires_grad=True)
    saved = {"params": list(layer.parameters()), "frozen": frozen, "leaf": leaf,
             "plain": torch.ones(2)}
    back = load_torch(_save(saved, tmp_path / "params.pt"))
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in back["params"])
    np.testing.assert_array_equal(back["params"][0].detach().numpy(),
                                  layer.weight.detach().numpy())
    assert isinstance(back["frozen"], nn.Parameter) and not back["frozen"].requires_grad
    assert not isinstance(back["leaf"], nn.Parameter) and back["leaf"].requires_grad
    assert not back["plain"].requires_grad


def test_one_object_saved_twice_loads_as_one(tmp_path):
    shared = torch.randn(3)
    same = [1, 2]
    back = load_torch(_save({"a": shared, "b": shared, "x": same, "y": same},
                            tmp_path / "same.pt"))
    assert back["a"] is back["b"] and back["x"] is back["y"]


def test_file_objects_paths_and_map_location(tmp_path):
    saved = {"w": torch.randn(4)}
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    _assert_same(load_torch(io.BytesIO(buffer.getvalue())), saved)
    path = _save(saved, tmp_path / "m.pt")
    with open(path, "rb") as f:
        _assert_same(gn.load(f, map_location="cpu", weights_only=False), saved)
    _assert_same(load_torch(str(path), map_location=lambda storage, loc: storage), saved)
    with pytest.raises(DeviceUnavailableError):
        load_torch(path, map_location="cuda")


def test_loading_needs_no_pytorch(tmp_path):
    # A fresh interpreter where importing torch fails: nothing in the loader may need it.
    saved = {"w": torch.arange(6.0).reshape(2, 3), "p": torch.nn.Parameter(torch.ones(2))}
    paths = [_save(saved, tmp_path / f"{fmt}.pt", fmt) for fmt in FORMATS]
    script = ("import sys; sys.modules['torch'] = None\n"
              "import ganglion\n"
              "for path in sys.argv[1:]:\n"
              "    back = ganglion.load(path)\n"
              "    print(back['w'].numpy().sum(), type(back['p']).__name__)\n"
              "assert 'torch' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n")
    result = subprocess.run([sys.executable, "-c", script, *map(str, paths)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["15.0 Parameter"] * 2


def test_safetensors_written_by_pytorch_load_with_ganglion_load(tmp_path):
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(0)
    saved = {"w": torch.randn(3, 4, generator=g), "half": torch.randn(5, generator=g).half(),
             "bf16": torch.randn(2, 3, generator=g).bfloat16(),
             "ints": torch.arange(6).reshape(2, 3), "mask": torch.tensor([True, False])}
    save_file(saved, str(tmp_path / "m.safetensors"))
    back = gn.load(tmp_path / "m.safetensors")
    assert set(back) == set(saved)
    for key, value in saved.items():
        _assert_same(back[key], value, key)
    assert back["half"].dtype == gn.float16 and back["bf16"].dtype == gn.float32


# ----- real architectures --------------------------------------------------------------------
def _twin_module(name):
    """The test module in tests/models holding the PyTorch twins (imported, not copied)."""
    folder = str(Path(__file__).resolve().parents[1] / "models")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(name)


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v2"])
def test_torchvision_architecture_state_dicts_give_the_same_outputs(tmp_path, arch):
    x = torch.randn(8, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    if arch == "resnet18":
        twins = _twin_module("test_resnet")
        twin = twins._TWINS["resnet18"]()
        twins._randomise_bn(twin)
        model = gn.models.resnet18()
    else:
        twins = _twin_module("test_mobilenet")
        twin = twins.TMobileNetV2()
        twins._realistic_stats(twin, x)
        model = gn.models.mobilenet_v2()
    twin.eval()
    path = _save(twin.state_dict(), tmp_path / f"{arch}.pth")
    state = gn.load(path)
    assert list(state) == list(twin.state_dict())
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        expected = twin(x[:2]).numpy()
    with gn.no_grad():
        out = model(gn.from_numpy(x[:2].numpy().copy())).numpy()
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-4)


# ----- malicious files -------------------------------------------------------------------------
class _Payload:
    """Pickles as ``call(*args)``: what unpickling would run."""

    def __init__(self, call, *args):
        self.call, self.args = call, args

    def __reduce__(self):
        return (self.call, self.args)


class _MarkerMaker:
    """A class of an unexpected module (this test's): constructing it creates the marker."""

    def __init__(self, marker):
        Path(marker).write_text("ran")

    def __reduce__(self):
        raise AssertionError("pickled through _Payload only")


def _exploits(marker):
    """(payload, the global the loader must name) for each way a pickle can run code."""
    quoted = str(marker)
    return [
        (_Payload(os.system, f"touch {quoted}"), ("posix", "system")),
        (_Payload(exec, f"open({quoted!r}, 'w').close()"), ("builtins", "exec")),
        (_Payload(subprocess.call, ["touch", quoted]), ("subprocess", "call")),
        (_Payload(_MarkerMaker, quoted), (__name__, "_MarkerMaker")),
        (_Payload(getattr, _MarkerMaker, "__init__"), ("builtins", "getattr")),
    ]


@pytest.mark.parametrize("container", ["torch zip", "torch legacy", "bare pickle", "protocol 0"])
def test_malicious_pickles_are_refused_and_never_run(tmp_path, container):
    marker = tmp_path / "pwned"
    for i, (payload, (module, name)) in enumerate(_exploits(marker)):
        path = tmp_path / f"evil{i}.pth"
        obj = {"weight": torch.ones(3), "exploit": payload}
        if container.startswith("torch"):
            _save(obj, path, container.split()[1])
        else:
            path.write_bytes(pickle.dumps(payload, protocol=0 if container == "protocol 0" else 4))
        assert not marker.exists()
        for loader in (load_torch, gn.load):
            with pytest.raises(RefusedGlobalError) as info:
                loader(path)
            error = info.value
            assert (error.module, error.name) == (module, name)
            assert isinstance(error, pickle.UnpicklingError) and isinstance(error, CheckpointError)
            assert str(path) in str(error) and f"{module}.{name}" in str(error)
            assert "weights-only" in str(error)
        assert not marker.exists(), f"{container}: {module}.{name} ran"


def test_a_whole_module_saved_with_torch_save_is_refused_naming_its_class(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(RefusedGlobalError, match=r"torch\.nn\.modules\.linear\.Linear.*"
                                                 r"state_dict"):
        gn.load(path)


class _SetsAttributes:
    """Pickles as an OrderedDict with BUILD state ``state`` (setting attributes on it)."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return (OrderedDict, (), self.state)


class _TensorWithState:
    """Pickles as a rebuilt tensor with BUILD state (setting attributes on the tensor)."""

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (torch.ones(2)._typed_storage(), 0, (2,), (1,), False, OrderedDict()),
                {"_data": "replaced"})


def test_build_is_refused_except_for_a_state_dicts_metadata(tmp_path):
    fine = _save({"sd": _SetsAttributes({"_metadata": {"": {"version": 1}}})},
                 tmp_path / "fine.pt")
    assert load_torch(fine)["sd"]._metadata == {"": {"version": 1}}
    for name, obj, words in [("shadow", _SetsAttributes({"items": "not a method"}), "'items'"),
                             ("tensor", _TensorWithState(), "on a tensor")]:
        path = tmp_path / f"{name}.pt"
        torch.save({"x": obj}, path)
        with pytest.raises(CheckpointError, match=f"{re.escape(str(path))}: cannot load: "
                                                  f"BUILD.*{words}"):
            load_torch(path)


# ----- bad files ---------------------------------------------------------------------------------
def _rewrite_zip(src, dst, drop=(), replace=None):
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w") as out:
        for info in z.infolist():
            if info.filename.split("/", 1)[1] in drop:
                continue
            data = z.read(info.filename)
            if replace and info.filename.split("/", 1)[1] in replace:
                data = replace[info.filename.split("/", 1)[1]]
            out.writestr(info.filename, data)
    return dst


_BAD = Path("/nonexistent")  # the folder the bad-input rows write to: each test's tmp_path


@pytest.fixture(autouse=True)
def _bad_folder(tmp_path):
    global _BAD
    _BAD = tmp_path


def _good(name="good.pt", fmt="zip"):
    return _save({"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2)}, _BAD / name, fmt)


def _write(name, data):
    (_BAD / name).write_bytes(data)
    return _BAD / name


class _OutOfBounds:
    """A tensor whose size reaches past its 4-element storage."""

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (torch.ones(4)._typed_storage(), 2, (5,), (1,), False, OrderedDict()))


def _load_text_mode(path):
    with open(path, encoding="latin1") as f:
        return load_torch(f)


def _legacy_with_magic(magic):
    raw = _good("l.pt", "legacy").read_bytes()
    first = pickle.dumps(torch_format.MAGIC_NUMBER, protocol=2)
    assert raw.startswith(first)
    return _write("magic.pt", pickle.dumps(magic, protocol=2) + raw[len(first):])


CASES = [
    BadInput("truncated zip", lambda: load_torch(_write(
        "cut.pt", _good().read_bytes()[:300])), CheckpointError, ["cut.pt", "zip", "truncated"]),
    BadInput("zip magic only", lambda: gn.load(_write("z.pt", b"PK\x03\x04" + b"\x00" * 60)),
             CheckpointError, ["z.pt", "not a readable zip"]),
    BadInput("missing storage record", lambda: load_torch(_rewrite_zip(
        _good(), _BAD / "nodata.pt", drop={"data/0"})), CheckpointError,
        ["nodata.pt", "storage '0'", "no record"]),
    BadInput("short storage record", lambda: load_torch(_rewrite_zip(
        _good(), _BAD / "short.pt", replace={"data/0": b"\x00" * 8})), CheckpointError,
        ["short.pt", "storage '0'", "24 bytes", "has 8"]),
    BadInput("unknown byte order", lambda: load_torch(_rewrite_zip(
        _good(), _BAD / "order.pt", replace={"byteorder": b"middle"})), CheckpointError,
        ["order.pt", "byte order", "middle"]),
    BadInput("zip without data.pkl", lambda: load_torch(_rewrite_zip(
        _good(), _BAD / "nopkl.pt", drop={"data.pkl"})), CheckpointError,
        ["nopkl.pt", "data.pkl", "torch.save"]),
    BadInput("corrupt data.pkl", lambda: load_torch(_rewrite_zip(
        _good(), _BAD / "pkl.pt", replace={"data.pkl": b"\x80\x02}q\x00(X"})), CheckpointError,
        ["pkl.pt", "corrupt"]),
    BadInput("nested 100000 lists deep", lambda: load_torch(_rewrite_zip(
        _good(), _BAD / "deep.pt", replace={"data.pkl": b"\x80\x02" + b"]" * 100_000
                                            + b"a" * 99_999 + b"."})), CheckpointError,
        ["deep.pt", "nested too deeply"]),
    BadInput("a numpy scalar", lambda: load_torch(_save({"best": np.float64(0.5)},
                                                        _BAD / "np.pt")),
             RefusedGlobalError, ["np.pt", "numpy", "scalar", "weights-only"]),
    BadInput("wrong magic number", lambda: gn.load(_legacy_with_magic(12345)),
             CheckpointError, ["magic.pt", "magic number", "12345"]),
    BadInput("a plain pickle", lambda: gn.load(_write("p5.pkl", pickle.dumps({"a": 1}, 5))),
             CheckpointError, ["p5.pkl", "PyTorch file", "magic number"]),
    BadInput("truncated legacy storages", lambda: load_torch(_write(
        "cutl.pt", _good("l2.pt", "legacy").read_bytes()[:-10])), CheckpointError,
        ["cutl.pt", "truncated", "storage"]),
    BadInput("a tensor past its storage", lambda: load_torch(_save(
        {"t": _OutOfBounds()}, _BAD / "oob.pt")), CheckpointError,
        ["oob.pt", "size (5,)", "offset 2", "holds 4"]),
    BadInput("complex tensor", lambda: load_torch(_save(
        {"c": torch.ones(2, dtype=torch.complex64)}, _BAD / "complex.pt")), CheckpointError,
        ["complex.pt", "complex64", "float32"]),
    BadInput("uint16 tensor", lambda: load_torch(_save(
        {"u": torch.ones(2, dtype=torch.uint16)}, _BAD / "u16.pt")), CheckpointError,
        ["u16.pt", "torch.uint16", "float32"]),
    BadInput("a safetensors file", lambda: load_torch(gn.save({"w": gn.ones(2)},
                                                              _BAD / "w.safetensors")),
             CheckpointError, ["w.safetensors", "a safetensors file", "ganglion.load"]),
    BadInput("empty file", lambda: load_torch(_write("empty.pt", b"")), CheckpointError,
             ["empty.pt", "empty"]),
    BadInput("missing file", lambda: load_torch(_BAD / "absent.pt"), FileNotFoundError,
             ["absent.pt"]),
    BadInput("text-mode file", lambda: _load_text_mode(_good()),
             TypeError, ["load_torch", "text mode", "'rb'"]),
    BadInput("cuda map_location", lambda: load_torch(_good(), map_location="cuda"),
             DeviceUnavailableError, ["cuda"]),
]
test_bad_input = bad_input_test(CASES)
