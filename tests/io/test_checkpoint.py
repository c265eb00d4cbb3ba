"""``ganglion.save`` / ``ganglion.load``: safetensors + JSON metadata, atomic, never pickle."""
import functools
import io
import json
import math
import os
import pickle
import stat
import struct
import zipfile

import numpy as np
import pytest

import ganglion as gn
from ganglion import nn
from ganglion.io import CheckpointError, checkpoint, load, save


def _trained(seed=0):
    gn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = gn.optim.Adam(model.parameters(), lr=0.01)
    scheduler = gn.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    x, y = gn.randn(16, 4), gn.randint(0, 3, (16,))
    for _ in range(3):
        _step(model, optimizer, x, y)
        scheduler.step()
    return model, optimizer, scheduler, (x, y)


def _step(model, optimizer, x, y):
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_round_trip_of_model_optimizer_scheduler_and_rng_continues_identically(tmp_path):
    model, optimizer, scheduler, (x, y) = _trained()
    path = save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "rng": gn.get_rng_state(), "epoch": 3},
                tmp_path / "state.safetensors")
    expected_noise = gn.randn(5).numpy()
    _step(model, optimizer, x, y)
    scheduler.step()

    state = load(path)
    copy, copy_optimizer, copy_scheduler, _ = _trained(seed=1)  # different weights and state
    copy.load_state_dict(state["model"])
    copy_optimizer.load_state_dict(state["optimizer"])
    copy_scheduler.load_state_dict(state["scheduler"])
    gn.set_rng_state(state["rng"])
    assert state["epoch"] == 3
    np.testing.assert_array_equal(gn.randn(5).numpy(), expected_noise)
    _step(copy, copy_optimizer, x, y)
    copy_scheduler.step()
    for key, value in _weights(model).items():
        np.testing.assert_array_equal(_weights(copy)[key], value, err_msg=key)
    assert copy_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def test_nested_values_keep_their_types(tmp_path):
    obj = {"t": gn.tensor([1.0, 2.0]), "a": np.arange(6, dtype=np.int16).reshape(2, 3),
           "scalar": gn.tensor(3.5), "pair": (1, "two"), "ints": {0: "zero", 7: [None, True]},
           "inf": math.inf, "nested": {"list": [gn.zeros(2, 2), {"x": 1.5}]},
           "dotted.key": gn.ones(1), "dotted": {"key": gn.zeros(1)}}
    back = load(save(obj, tmp_path / "x.safetensors"))
    assert isinstance(back["t"], gn.Tensor) and back["t"].numpy().tolist() == [1.0, 2.0]
    assert isinstance(back["a"], np.ndarray) and back["a"].dtype == np.int16
    assert back["scalar"].shape == () and back["scalar"].item() == 3.5
    assert back["pair"] == (1, "two") and back["ints"] == {0: "zero", 7: [None, True]}
    assert back["inf"] == math.inf
    assert back["nested"]["list"][0].shape == (2, 2) and back["nested"]["list"][1] == {"x": 1.5}
    assert back["dotted.key"].item() == 1.0 and back["dotted"]["key"].item() == 0.0


def test_the_deepest_object_save_accepts_loads_back(tmp_path):
    # Dicts with int keys nest 3 JSON levels per level: the worst case of load's depth limit.
    obj = functools.reduce(lambda v, _: {1: v}, range(checkpoint._MAX_SAVE_DEPTH), 0)
    assert load(save(obj, tmp_path / "deep.safetensors")) == obj


def test_unsupported_values_are_refused_naming_where_they_are(tmp_path):
    with pytest.raises(TypeError, match=r"model\.fn is a builtin_function_or_method"):
        save({"model": {"fn": len}}, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_a_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = save({"w": gn.ones(1000)}, tmp_path / "ck.safetensors")

    def crash(file, data):
        file.write(data[: len(data) // 2])
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(checkpoint, "_write_bytes", crash)
    with pytest.raises(OSError, match="simulated"):
        save({"w": gn.zeros(1000)}, path)
    assert load(path)["w"].numpy().sum() == 1000
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]  # no temp file left


def test_truncated_and_corrupt_files_give_errors_naming_the_file(tmp_path):
    raw = save({"w": gn.ones(100)}, tmp_path / "good.safetensors").read_bytes()
    cases = {"truncated": raw[:-40], "short": raw[:5], "garbage": b"\x10" * 64,
             "bad_json": struct.pack("<Q", 10) + b"{not json}" + b"\x00" * 8}
    for name, data in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        with pytest.raises(CheckpointError, match=str(path)):
            load(path)
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load(tmp_path / "missing.safetensors")


class _Exploit:
    """Unpickling this would create a file: the proof that the pickle ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_is_never_executed(tmp_path):
    # A pickle loads as a PyTorch file, weights only: the global it names is refused.
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weights": _Exploit(marker)}))
    with pytest.raises(CheckpointError, match="refused the global io.open"):
        load(path)
    assert not marker.exists()


def test_a_pickle_hidden_in_the_metadata_is_only_data(tmp_path):
    payload = pickle.dumps(_Exploit(tmp_path / "pwned")).hex()
    header = json.dumps({"__metadata__": {"format": checkpoint.FORMAT,
                                          "structure": json.dumps({"blob": payload})}}).encode()
    path = tmp_path / "x.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    assert load(path) == {"blob": payload}
    assert not (tmp_path / "pwned").exists()


def test_loading_weights_of_the_wrong_shape_names_the_key_and_both_shapes(tmp_path):
    path = save(nn.Sequential(nn.Linear(4, 8)).state_dict(), tmp_path / "w.safetensors")
    with pytest.raises(RuntimeError, match=r"'0\.weight'.*\(8, 4\).*\(5, 4\)"):
        nn.Sequential(nn.Linear(4, 5)).load_state_dict(load(path))


def test_a_plain_safetensors_file_loads_as_a_flat_dict(tmp_path):
    from safetensors.numpy import save_file
    save_file({"layer.weight": np.ones((2, 2), np.float32)}, str(tmp_path / "plain.safetensors"))
    back = load(tmp_path / "plain.safetensors")
    assert list(back) == ["layer.weight"] and back["layer.weight"].shape == (2, 2)


# ----- the safetensors / pickle sniffing (issue 12, item 1) -----------------------------------
def _header_length(raw):
    return struct.unpack("<Q", raw[:8])[0]


def test_every_header_length_modulo_256_round_trips(tmp_path):
    # A header length whose low byte is 0x80 (a pickle's first byte) or that spells 'PK' (a
    # zip's) was refused as a pickle: about 1 valid checkpoint in 32. The safetensors library
    # pads its headers to a multiple of 8, so each checkpoint is also loaded with its header
    # unpadded (as other writers may leave it): together every residue mod 256 occurs.
    residues, padded_residues, sizes = set(), set(), 0
    path = tmp_path / "c.safetensors"
    for extra in range(320):
        obj = {"w": np.full(3, extra, np.float32), "note": "x" * extra}
        buffer = io.BytesIO()
        save(obj, buffer)
        raw = buffer.getvalue()
        size = _header_length(raw)
        header = raw[8:8 + size].rstrip(b" ")
        unpadded = struct.pack("<Q", len(header)) + header + raw[8 + size:]
        for data in (raw, unpadded):
            path.write_bytes(data)
            back = load(path)
            assert back["note"] == obj["note"] and back["w"].tolist() == [extra] * 3
            residues.add(_header_length(data) % 256)
            sizes += 1
        padded_residues.add(size % 256)
    assert sizes >= 600 and residues == set(range(256))
    assert padded_residues == set(range(0, 256, 8))  # what ganglion.save itself writes


def test_the_issue_repro_with_a_0x80_length_byte_loads(tmp_path):
    path = save({"w": np.ones(3, np.float32), "note": "x" * 208}, tmp_path / "c.safetensors")
    assert path.read_bytes()[:1] == b"\x80"  # the case the old sniffing refused
    assert load(path)["note"] == "x" * 208


class _Marker:
    """Unpickling this would create the file ``path``: the proof that a pickle ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def _random_picklable(rng, depth=0):
    choice = rng.integers(0, 7 if depth < 3 else 4)
    if choice == 0:
        return int(rng.integers(-2**40, 2**40))
    if choice == 1:
        return float(rng.normal())
    if choice == 2:
        return "s" * int(rng.integers(0, 300))
    if choice == 3:
        return bytes(rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8))
    if choice == 4:
        return [_random_picklable(rng, depth + 1) for _ in range(rng.integers(0, 5))]
    if choice == 5:
        return {f"k{i}": _random_picklable(rng, depth + 1) for i in range(rng.integers(0, 5))}
    return np.arange(int(rng.integers(1, 100)), dtype=np.float32)


def test_real_pickles_of_every_protocol_are_refused_and_never_run(tmp_path):
    rng = np.random.default_rng(0)
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    for trial in range(120):
        payload = {"weights": _random_picklable(rng), "exploit": _Marker(marker)}
        protocol = trial % (pickle.HIGHEST_PROTOCOL + 1)
        path.write_bytes(pickle.dumps(payload, protocol=protocol))  # written, never loaded
        with pytest.raises(CheckpointError, match="refused the global") as info:
            load(path)
        assert str(path) in str(info.value)
    assert not marker.exists()


def test_zip_files_and_torch_save_files_with_code_are_refused_without_running_it(tmp_path):
    # torch.save files load weights only (tests/io/test_load_torch.py has the rest).
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    archive = tmp_path / "plain.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("data.pkl", pickle.dumps(_Marker(marker)))
    files = {archive: "a zip file but not one torch.save writes"}
    for legacy in (False, True):
        path = tmp_path / f"torch_{'legacy' if legacy else 'zip'}.pt"
        torch.save({"w": torch.ones(300), "exploit": _Marker(marker)}, path,
                   _use_new_zipfile_serialization=not legacy)
        files[path] = "refused the global io.open"
    assert not marker.exists()
    for path, words in files.items():
        with pytest.raises(CheckpointError, match=f"{path}: {words}"):
            load(path)
    assert not marker.exists()


def test_files_that_are_neither_say_so(tmp_path):
    cases = {"empty": (b"", "too short"), "text": (b"hello world, no checkpoint", "declares"),
             "not_object": (struct.pack("<Q", 4) + b"[1] ", "not a JSON object"),
             "deep_header": (struct.pack("<Q", 100_000) + b"{" + b'"a":[' * 19_999 + b"1"
                             + b"]" * 19_999 + b"}", "corrupt safetensors header")}
    for name, (data, words) in cases.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        with pytest.raises(CheckpointError, match=f"{path}.*{words}"):
            load(path)


# ----- file modes (item 7) ----------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_checkpoint_gets_the_mode_open_gives_under_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        path = save({"w": gn.ones(2)}, tmp_path / "new.safetensors")
        with open(tmp_path / "reference", "wb"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE((tmp_path / "reference")
                                                               .stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_replacing_a_checkpoint_keeps_its_mode_as_open_would(tmp_path):
    path = save({"w": gn.ones(2)}, tmp_path / "c.safetensors")
    os.chmod(path, 0o640)
    save({"w": gn.zeros(2)}, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640 and load(path)["w"].sum().item() == 0


# ----- edited metadata (item 10) ----------------------------------------------------------------
def _with_structure(raw, structure_text):
    """The checkpoint ``raw`` with its metadata's structure replaced (tensors unchanged)."""
    size = _header_length(raw)
    header = json.loads(raw[8:8 + size])
    header["__metadata__"]["structure"] = structure_text
    data = raw[8 + size:]
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + data


def _mutate(rng, value, keys):
    """``value`` with one random edit somewhere inside (type changes, markers, bad pairs)."""
    if isinstance(value, (dict, list)) and value and rng.random() < 0.7:
        if isinstance(value, dict):
            key = list(value)[rng.integers(len(value))]
            return {**value, key: _mutate(rng, value[key], keys)}
        i = int(rng.integers(len(value)))
        return value[:i] + [_mutate(rng, value[i], keys)] + value[i + 1:]
    replacements = [
        None, 3, -1.5, "text", True, [], {}, [1, 2, 3], [[1]], [[1, 2, 3]], [["a", "b"], 4],
        {"__tensor__": ["a", "list"]}, {"__tensor__": 5}, {"__tensor__": "no.such.key"},
        {"__tensor__": keys[0]}, {"__ndarray__": keys[-1]}, {"__tensor__": keys[0], "x": 1},
        {"__tuple__": "abc"}, {"__tuple__": 7}, {"__tuple__": [1, {"__tuple__": []}]},
        {"__items__": 3}, {"__items__": [1, 2]}, {"__items__": [[1, 2, 3]]},
        {"__items__": [[{"a": 1}, 2]]}, {"__items__": [[[1, [2, {}]], 0]]},
        {"__items__": [[[1, 2], "ok"]]}, {"__items__": "pairs"}, {"__ndarray__": None},
        {"__items__": [[{"__tensor__": keys[0]}, 1]]},
    ]
    return replacements[int(rng.integers(len(replacements)))]


def test_fuzzed_metadata_loads_or_raises_checkpoint_error_naming_the_file(tmp_path):
    model, optimizer, scheduler, _ = _trained()
    good = save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "epoch": 3, "pair": (1, 2)},
                tmp_path / "good.safetensors").read_bytes()
    structure = json.loads(json.loads(good[8:8 + _header_length(good)])["__metadata__"]
                           ["structure"])
    keys = sorted(load(io.BytesIO(good)).get("model"))
    keys = [f"model.{k}" for k in keys]
    rng = np.random.default_rng(0)
    path = tmp_path / "edited.safetensors"
    outcomes = {"loaded": 0, "refused": 0}
    texts = [json.dumps(_mutate(rng, structure, keys)) for _ in range(400)]
    texts += ["[" * 50_000 + "]" * 50_000, '{"a":' * 5000 + "1" + "}" * 5000,
              json.dumps(functools.reduce(lambda v, _: [v], range(900), 0)), "not json", "[1,"]
    for text in texts:
        path.write_bytes(_with_structure(good, text))
        try:
            load(path)
            outcomes["loaded"] += 1
        except CheckpointError as error:
            assert str(path) in str(error)
            outcomes["refused"] += 1
    assert outcomes["loaded"] > 50 and outcomes["refused"] > 50, outcomes


# ----- file objects, weights_only, whole modules (issue 13) -----------------------------------
def test_save_to_and_load_from_open_binary_files(tmp_path):
    model, *_ = _trained()
    with open(tmp_path / "m.safetensors", "wb") as f:
        assert save(model.state_dict(), f) is f
    with open(tmp_path / "m.safetensors", "rb") as f:
        back = load(f)
    for key, value in _weights(model).items():
        np.testing.assert_array_equal(back[key].numpy(), value)
    buffer = io.BytesIO()
    save({"x": gn.arange(3)}, buffer)
    buffer.seek(0)
    assert load(buffer, weights_only=True)["x"].numpy().tolist() == [0, 1, 2]
    buffer.seek(0)
    assert load(buffer, weights_only=False)["x"].numpy().tolist() == [0, 1, 2]


def test_weights_only_false_still_never_runs_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps(_Marker(marker)))
    with pytest.raises(CheckpointError, match="refused the global io.open"):
        load(path, weights_only=False)
    assert not marker.exists()
