"""MNIST-family IDX reading: the real files, and every kind of bad file, each named in the error."""
import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from ganglion.data import KMNIST, MNIST, DataLoader, FashionMNIST
from ganglion.data.datasets.download import file_digest

SHARED = Path(os.environ.get("GANGLION_DATA")
              or Path(__file__).resolve().parents[3] / "shared" / "datasets")
REAL = SHARED / "mnist"


def _write_idx(path, magic, array, compress=True, header_shape=None):
    shape = header_shape or array.shape
    raw = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in shape) + array.tobytes()
    if compress:
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def _fake_mnist(folder, n=6, compress=True, labels=None):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    images = np.arange(n * 28 * 28, dtype=np.int64).reshape(n, 28, 28).astype(np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10 if labels is None else labels
    _write_idx(folder / f"train-images-idx3-ubyte{suffix}", 2051, images, compress)
    _write_idx(folder / f"train-labels-idx1-ubyte{suffix}", 2049, labels, compress)
    return images, labels


@pytest.mark.parametrize("compress", [True, False])
def test_reads_gzipped_and_raw_files(tmp_path, compress):
    images, labels = _fake_mnist(tmp_path / "mnist", compress=compress)
    ds = MNIST(root=tmp_path)
    np.testing.assert_array_equal(ds.data, images)
    assert ds.targets.dtype == np.int64 and ds.targets.tolist() == labels.tolist()
    image, label = ds[2]
    assert image.shape == (28, 28) and label == 2


def test_torchvision_layout_and_other_families(tmp_path):
    _fake_mnist(tmp_path / "FashionMNIST" / "raw")
    _fake_mnist(tmp_path / "kmnist")
    assert len(FashionMNIST(root=tmp_path)) == 6
    assert KMNIST(root=tmp_path).classes[0] == "o"


def test_missing_files_say_where_they_were_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte\[\.gz\].*download=True"):
        MNIST(root=tmp_path)


def _expect_error(tmp_path, message, file_name="train-images-idx3-ubyte.gz"):
    with pytest.raises(ValueError, match=message) as error:
        MNIST(root=tmp_path)
    assert file_name in str(error.value)


def test_wrong_magic_number(tmp_path):
    _fake_mnist(tmp_path)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", 2049, np.zeros((6, 28, 28), np.uint8))
    _expect_error(tmp_path, r"wrong magic number 2049 \(0x00000801\); an IDX image file starts "
                            r"with 2051")


def test_truncated_payload_and_trailing_bytes(tmp_path):
    _fake_mnist(tmp_path)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", 2051, np.zeros((6, 28, 28), np.uint8)[:5],
               header_shape=(6, 28, 28))
    _expect_error(tmp_path, r"truncated: the header declares shape \(6, 28, 28\)")
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", 2051, np.zeros((7, 28, 28), np.uint8),
               header_shape=(6, 28, 28))
    _expect_error(tmp_path, "has trailing bytes")


def test_truncated_header_and_corrupt_gzip(tmp_path):
    _fake_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(struct.pack(">II", 2051, 6)))
    _expect_error(tmp_path, "truncated: the header needs 16 bytes")
    whole = gzip.compress(b"\0" * 5000)
    path.write_bytes(whole[: len(whole) // 2])
    _expect_error(tmp_path, "corrupt or truncated gzip data")


def test_label_count_mismatch_names_both_files(tmp_path):
    _fake_mnist(tmp_path, labels=np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz holds 6 images but .*"
                                         r"train-labels-idx1-ubyte\.gz holds 5 labels"):
        MNIST(root=tmp_path)


def test_label_out_of_range(tmp_path):
    _fake_mnist(tmp_path, labels=np.array([0, 1, 2, 3, 4, 12], np.uint8))
    _expect_error(tmp_path, "label 12 is out of range for 10 classes", "train-labels-idx1-ubyte.gz")


def test_download_fetches_and_verifies_from_a_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    _fake_mnist(mirror)
    checksums = {p.name: file_digest(p, "md5") for p in mirror.iterdir()}
    monkeypatch.setattr(MNIST, "mirrors", ("file://" + str(mirror) + "/",))
    monkeypatch.setattr(MNIST, "checksums", checksums)
    ds = MNIST(root=tmp_path / "root", download=True)
    assert len(ds) == 6 and (tmp_path / "root" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


@pytest.mark.skipif(not REAL.is_dir(), reason=f"the shared MNIST files are not at {REAL}")
def test_real_mnist():
    train, test = MNIST(root=SHARED), MNIST(root=SHARED, train=False)
    assert train.data.shape == (60000, 28, 28) and test.data.shape == (10000, 28, 28)
    assert np.bincount(train.targets).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                                   5851, 5949]
    assert train.targets[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    images, labels = next(iter(DataLoader(test, batch_size=256)))
    assert images.shape == (256, 28, 28) and labels.tolist()[:3] == [7, 2, 1]
