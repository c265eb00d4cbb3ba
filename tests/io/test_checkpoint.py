"""``ganglion.save`` / ``ganglion.load``: safetensors + JSON metadata, atomic, never pickle."""
import json
import math
import pickle
import struct

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
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"weights": _Exploit(marker)}))
    with pytest.raises(CheckpointError, match="never unpickles"):
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
