"""CIFAR pickle batches: reading, the restricted unpickler, bad files, the real JPEG tree."""
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import ganglion as gn
from ganglion.data import CIFAR10, CIFAR100, UnsafePickleError
from ganglion.data.datasets.cifar import CIFAR10_CLASSES, load_batch

SHARED = Path(os.environ.get("GANGLION_DATA")
              or Path(__file__).resolve().parents[3] / "shared" / "datasets")


def _batch(n, seed, labels_key=b"labels", classes=10):
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"training batch",
            labels_key: [int(v) for v in rng.integers(0, classes, n)],
            b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
            b"filenames": [f"img{i}.png".encode() for i in range(n)]}


def _dump(path, obj, protocol=4):
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=protocol)


def _fake_cifar10(root, n=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    batches = [_batch(n, seed) for seed in range(6)]
    for i, batch in enumerate(batches[:5]):
        _dump(folder / f"data_batch_{i + 1}", batch, protocol=2 + i % 4)
    _dump(folder / "test_batch", batches[5])
    _dump(folder / "batches.meta", {b"label_names": [c.encode() for c in CIFAR10_CLASSES]})
    return folder, batches


def test_reads_batches_in_channel_last_layout(tmp_path):
    folder, batches = _fake_cifar10(tmp_path)
    train = CIFAR10(root=tmp_path)
    assert train.data.shape == (20, 32, 32, 3) and train.classes == CIFAR10_CLASSES
    row = batches[0][b"data"][1]
    np.testing.assert_array_equal(train.data[1, :, :, 0], row[:1024].reshape(32, 32))
    np.testing.assert_array_equal(train.data[1, :, :, 2], row[2048:].reshape(32, 32))
    assert train.targets[:4].tolist() == batches[0][b"labels"]
    test = CIFAR10(root=tmp_path, train=False)
    assert len(test) == 4 and test.targets.tolist() == batches[5][b"labels"]


def test_cifar100_fine_and_coarse_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    batch = _batch(5, 0, b"fine_labels", 100)
    batch[b"coarse_labels"] = [3, 1, 4, 1, 5]
    _dump(folder / "train", batch)
    _dump(folder / "meta", {b"fine_label_names": [b"c%d" % i for i in range(100)],
                            b"coarse_label_names": [b"s%d" % i for i in range(20)]})
    ds = CIFAR100(root=tmp_path)
    assert ds.targets.tolist() == batch[b"fine_labels"] and ds.classes[2] == "c2"
    assert ds.coarse_targets.tolist() == [3, 1, 4, 1, 5]


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_without_running_anything(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    batch = _batch(2, 0)
    batch[b"extra"] = _RunsCode(marker)
    _dump(path, batch)
    with pytest.raises(UnsafePickleError, match=r"data_batch_1: refused to load the pickle: it "
                                                r"asks for (posix|nt|os)\.system"):
        load_batch(path)
    assert not marker.exists()
    _dump(path, {b"data": np.array([_RunsCode(marker)], dtype=object), b"labels": [0]})
    with pytest.raises(UnsafePickleError, match="system"):
        load_batch(path)
    _dump(path, {b"data": eval, b"labels": []})
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        load_batch(path)
    # _codecs.encode is admitted for latin1 bytes only, not as a door to other codecs.
    path.write_bytes(b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(UnsafePickleError, match=r"data_batch_1: .*codec 'rot13'"):
        load_batch(path)
    assert not marker.exists()


def test_truncated_and_malformed_batches_name_the_file(tmp_path):
    path = tmp_path / "data_batch_1"
    _dump(path, _batch(3, 0))
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ValueError, match="data_batch_1: corrupt or truncated pickle"):
        load_batch(path)
    batch = _batch(3, 0)
    batch[b"labels"] = batch[b"labels"][:2]
    _dump(path, batch)
    with pytest.raises(ValueError, match=r"data_batch_1: 3 images but 2 labels"):
        load_batch(path)
    batch = _batch(3, 0)
    batch[b"data"] = batch[b"data"].astype(np.float32)
    _dump(path, batch)
    with pytest.raises(ValueError, match=r"data_batch_1: b'data' must be a uint8 array of shape "
                                         r"\(N, 3072\), found a float32 array"):
        load_batch(path)
    _dump(path, [1, 2, 3])
    with pytest.raises(ValueError, match="data_batch_1: expected a dict, found list"):
        load_batch(path)


def test_missing_folder_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py not found"):
        CIFAR10(root=tmp_path)


def test_falls_back_to_the_jpeg_tree(tmp_path, monkeypatch):
    from PIL import Image
    monkeypatch.setattr(gn.config, "dataset_cache_dir", tmp_path / "cache")
    for c, name in enumerate(CIFAR10_CLASSES):
        folder = tmp_path / "cifar10-jpg" / "test" / name
        folder.mkdir(parents=True)
        Image.fromarray(np.full((32, 32, 3), c * 20, np.uint8)).save(folder / "0000.png")
    ds = CIFAR10(root=tmp_path, train=False)
    assert ds.data.shape == (10, 32, 32, 3) and ds.targets.tolist() == list(range(10))
    assert ds.data[3, 0, 0, 0] == 60


@pytest.mark.skipif(not (SHARED / "cifar10-jpg").is_dir(),
                    reason=f"the shared CIFAR-10 JPEG tree is not at {SHARED / 'cifar10-jpg'}")
def test_real_cifar_tree_classes_match_canonical_order():
    assert sorted(os.listdir(SHARED / "cifar10-jpg" / "test")) == CIFAR10_CLASSES
