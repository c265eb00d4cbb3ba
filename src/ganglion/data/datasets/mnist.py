"""MNIST, Fashion-MNIST and Kuzushiji-MNIST from their IDX files (gzipped or raw).

The IDX header is validated before any pixel is used: the magic number says what the file holds
(2051 = uint8 images, 2049 = uint8 labels), and the sizes it declares must match the bytes that
follow exactly. Every failure is a ValueError that names the file; nothing is half-loaded.
"""
import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ganglion.data.datasets.arrays import ImageArrayDataset
from ganglion.data.datasets.download import download_file
from ganglion.data.paths import data_root

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "read_idx", "IMAGES_MAGIC", "LABELS_MAGIC"]

IMAGES_MAGIC = 2051  # 0x00000803: uint8 data, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: uint8 data, 1 dimension
_KIND = {IMAGES_MAGIC: "image", LABELS_MAGIC: "label"}


def _read_bytes(path):
    raw = Path(path).read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({error})") from None


def read_idx(path, expected_magic):
    """The array in an IDX file of uint8 data, after checking its magic number and sizes."""
    raw = _read_bytes(path)
    kind = _KIND.get(expected_magic, "IDX")
    # For a .gz file the sizes that matter are those of the decompressed data.
    size = f"{len(raw)} bytes" + (" decompressed" if str(path).endswith(".gz") else "")
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated: the file has {size}, too few for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{path}: wrong magic number {magic} (0x{magic:08x}); an IDX {kind} file "
                         f"starts with {expected_magic} (0x{expected_magic:08x}) (file size "
                         f"{size})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated: the header needs {header} bytes, the file has "
                         f"{size}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    # Python integers: a product of four 32-bit sizes overflows int64 (2**31 * 2**31 * 4
    # wraps to 0), which would let a forged header pass the size check.
    expected = math.prod(shape)
    found = len(raw) - header
    if found != expected:
        problem = "truncated" if found < expected else "has trailing bytes"
        raise ValueError(f"{path}: {problem}: the header declares shape {shape}, which needs "
                         f"{header} + {expected} = {header + expected} bytes, but the file has "
                         f"{size} ({found} after the header)")
    # A copy, so that the array is writable and does not pin the decompressed buffer.
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape).copy()


def _find(directory, base):
    for name in (base + ".gz", base):
        if (directory / name).is_file():
            return directory / name
    return None


class MNIST(ImageArrayDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test 28x28 grayscale images.

    Files are looked for in ``root/mnist``, ``root/MNIST/raw`` (torchvision's layout) and
    ``root`` itself, where ``root`` defaults to ``data_root()``. ``data`` is (N, 28, 28) uint8,
    ``targets`` (N,) int64. ``download=True`` fetches missing files from the official mirrors
    and checks their MD5 before use.
    """

    folders = ("mnist", "MNIST")
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "https://storage.googleapis.com/cvdf-datasets/mnist/")
    checksums = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                 "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                 "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                 "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
    classes = [str(d) for d in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        self.root = data_root(root)
        self.train = train
        prefix = "train" if train else "t10k"
        bases = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        files = self._locate(bases)
        if files is None and download:
            files = self._download(bases)
        if files is None:
            searched = ", ".join(str(d) for d in self._search_dirs())
            raise FileNotFoundError(f"{type(self).__name__}: {bases[0]}[.gz] and {bases[1]}[.gz] "
                                    f"not found in {searched}; pass root=, set $GANGLION_DATA, "
                                    "or use download=True")
        images_path, labels_path = files
        images = read_idx(images_path, IMAGES_MAGIC)
        labels = read_idx(labels_path, LABELS_MAGIC)
        if len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: {images_path} holds {len(images)} images but "
                             f"{labels_path} holds {len(labels)} labels")
        if labels.size and labels.max() >= len(self.classes):
            raise ValueError(f"{labels_path}: label {labels.max()} is out of range for "
                             f"{len(self.classes)} classes")
        self.files = files
        super().__init__(images, labels, type(self).classes, transform, target_transform)

    def _search_dirs(self):
        dirs = []
        for folder in self.folders:
            dirs += [self.root / folder, self.root / folder / "raw"]
        return dirs + [self.root]

    def _locate(self, bases):
        for directory in self._search_dirs():
            found = [_find(directory, base) for base in bases]
            if all(found):
                return tuple(found)
        return None

    def _download(self, bases):
        directory = self.root / self.folders[0]
        for base in bases:
            name = base + ".gz"
            if not (directory / name).is_file():
                download_file([m + name for m in self.mirrors], directory / name,
                              self.checksums[name])
        return tuple(directory / (base + ".gz") for base in bases)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grayscale images of ten kinds of clothing, MNIST's layout."""

    folders = ("fashion-mnist", "FashionMNIST")
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    checksums = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                 "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                 "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                 "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28x28 images of ten cursive Japanese characters, MNIST's layout."""

    folders = ("kmnist", "KMNIST")
    mirrors = ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",)
    checksums = {"train-images-idx3-ubyte.gz": "bdb82020997e1d708af4cf47b453dcf7",
                 "train-labels-idx1-ubyte.gz": "e144d726b3acfaa3e44228e80efcd344",
                 "t10k-images-idx3-ubyte.gz": "5c965bf0a639b31b8f53240b1b52f4d7",
                 "t10k-labels-idx1-ubyte.gz": "7320c461ea6c1c855c0b718fb2a4b134"}
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
