"""CIFAR-10 and CIFAR-100 from the canonical "python version" pickle batches.

Pickle can run arbitrary code, so batches are read with a restricted unpickler: the only globals
it admits are NumPy's array-reconstruction functions and the ndarray and dtype types, which is
all a batch needs for its ``data`` array, and a latin-1-only stand-in for ``_codecs.encode``,
which Python 3 uses for bytes in old pickle protocols; dicts, lists, bytes, strings and ints
need no globals.
Anything else (``os.system``, ``builtins.eval``, any class) is refused with a ValueError naming
the file and the global, before it is called. The loaded structure is then checked (a uint8
array of N x 3072 values, N labels in range).

Where the pickles are absent but the JPEG tree ``cifar10-jpg/{train,test}/<class>/*.jpg`` is
present (the form the shared data folder has), CIFAR10 reads that through ImageFolder with its
``.npy`` cache instead.
"""
import os
import pickle
import tarfile

import numpy as np
from numpy._core.multiarray import _reconstruct
from numpy._core.numeric import _frombuffer

from ganglion.data.datasets.arrays import ImageArrayDataset
from ganglion.data.datasets.download import download_file
from ganglion.data.datasets.image_folder import ImageFolder
from ganglion.data.paths import data_root

__all__ = ["CIFAR10", "CIFAR100", "load_batch", "UnsafePickleError", "CIFAR10_CLASSES"]

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                   "truck"]


class UnsafePickleError(ValueError):
    """A pickle asked for something a dataset file never needs; it was not loaded."""


def _latin1_bytes(text, encoding):
    # Python 3 writes bytes into protocol 0-2 pickles as _codecs.encode(text, "latin1"); no
    # other codec is needed, so no other is admitted.
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"it asks for _codecs.encode with codec {encoding!r}; only latin1 "
                                "is admitted")
    return text.encode("latin1")


# Pickles written by NumPy 1 name numpy.core; NumPy 2 writes numpy._core. Both map to the
# same harmless functions, imported here rather than by name from the file.
_ALLOWED_GLOBALS = {
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"it asks for {module}.{name}, but a CIFAR batch may only "
                                    "hold dicts, lists, bytes, strings, ints and a NumPy "
                                    "array") from None

    def persistent_load(self, pid):
        raise UnsafePickleError("it uses persistent ids")


def _read_pickle(path):
    with open(path, "rb") as f:
        try:
            content = _RestrictedUnpickler(f, encoding="bytes").load()
        except UnsafePickleError as error:
            raise UnsafePickleError(f"{path}: refused to load the pickle: {error}") from None
        except Exception as error:  # noqa: BLE001  (any failure of a corrupt file names the file)
            raise ValueError(f"{path}: corrupt or truncated pickle ({type(error).__name__}: "
                             f"{error})") from None
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a dict, found {type(content).__name__}")
    # Batches written by Python 3 may use str keys; the originals use bytes.
    return {k.encode() if isinstance(k, str) else k: v for k, v in content.items()}


def _images(batch, path):
    data = batch.get(b"data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        what = (f"a {data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                else type(data).__name__)
        raise ValueError(f"{path}: b'data' must be a uint8 array of shape (N, 3072), found {what}")
    # Each row is 1024 red, 1024 green, then 1024 blue values: to (N, 32, 32, 3) like ImageFolder.
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _labels(batch, key, num_classes, count, path):
    labels = batch.get(key)
    if not isinstance(labels, list) or not all(type(v) is int for v in labels):
        raise ValueError(f"{path}: {key!r} must be a list of ints (found {sorted(batch)})")
    if len(labels) != count:
        raise ValueError(f"{path}: {count} images but {len(labels)} labels in {key!r}")
    labels = np.array(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{path}: labels must lie in [0, {num_classes}), found "
                         f"[{labels.min()}, {labels.max()}]")
    return labels


def load_batch(path, label_key=b"labels", num_classes=10):
    """(images (N, 32, 32, 3) uint8, labels (N,) int64) from one pickle batch, validated."""
    batch = _read_pickle(path)
    images = _images(batch, path)
    return images, _labels(batch, label_key, num_classes, len(images), path)


def _label_names(path, key):
    meta = _read_pickle(path)
    names = meta.get(key)
    if not isinstance(names, list):
        raise ValueError(f"{path}: no {key!r} list")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


class CIFAR10(ImageArrayDataset):
    """CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in ten classes.

    Reads ``root/cifar-10-batches-py`` (``root`` defaults to ``data_root()``); without it, the
    JPEG tree ``root/cifar10-jpg``. ``data`` is (N, 32, 32, 3) uint8, ``targets`` (N,) int64.
    ``download=True`` fetches and checks the official archive when neither is present.
    """

    folder = "cifar-10-batches-py"
    archive = ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
               "c58f30108f718f92721af3b95e74349a")
    train_files = [f"data_batch_{i}" for i in range(1, 6)]
    test_files = ["test_batch"]
    meta_file, names_key, label_key, num_classes = "batches.meta", b"label_names", b"labels", 10
    jpeg_folder = "cifar10-jpg"

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        self.root = data_root(root)
        self.train = train
        folder = self.root / self.folder
        jpeg_split = self.root / self.jpeg_folder / ("train" if train else "test") \
            if self.jpeg_folder else None
        if not folder.is_dir() and jpeg_split is not None and jpeg_split.is_dir():
            images, labels, classes = self._from_jpeg(jpeg_split)
        else:
            if not folder.is_dir():
                if not download:
                    raise FileNotFoundError(f"{type(self).__name__}: {folder} not found; pass "
                                            "root=, set $GANGLION_DATA, or use download=True")
                self._download()
            images, labels, classes = self._from_pickles(folder)
        super().__init__(images, labels, classes, transform, target_transform)

    def _from_pickles(self, folder):
        parts = [self._load_part(folder / name)
                 for name in (self.train_files if self.train else self.test_files)]
        classes = _label_names(folder / self.meta_file, self.names_key)
        if len(classes) != self.num_classes:
            raise ValueError(f"{folder / self.meta_file}: {len(classes)} class names, expected "
                             f"{self.num_classes}")
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                classes)

    def _load_part(self, path):
        return load_batch(path, self.label_key, self.num_classes)

    def _from_jpeg(self, split_folder):
        tree = ImageFolder(split_folder, in_memory=True)
        if tree.classes != CIFAR10_CLASSES:
            raise ValueError(f"{split_folder}: class folders {tree.classes} are not CIFAR-10's "
                             f"{CIFAR10_CLASSES}")
        return tree.data, tree.targets, tree.classes

    def _download(self):
        url, md5 = self.archive
        archive = self.root / os.path.basename(url)
        if not archive.is_file():
            download_file([url], archive, md5)
        with tarfile.open(archive, "r:gz") as tar:
            # The "data" filter refuses absolute paths, links out of root and device files.
            tar.extractall(self.root, filter="data")


class CIFAR100(CIFAR10):
    """CIFAR-100: 50,000 training and 10,000 test 32x32 colour images in 100 fine classes
    (``coarse_targets`` holds the 20 superclasses)."""

    folder = "cifar-100-python"
    archive = ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
               "eb9058c3a382ffc7106e4002c42a8d85")
    train_files, test_files = ["train"], ["test"]
    meta_file, names_key, label_key, num_classes = "meta", b"fine_label_names", b"fine_labels", 100
    jpeg_folder = None

    def _load_part(self, path):
        batch = _read_pickle(path)
        images = _images(batch, path)
        # One split is one file, so the superclasses can be kept as the file is read.
        self.coarse_targets = _labels(batch, b"coarse_labels", 20, len(images), path)
        return images, _labels(batch, self.label_key, self.num_classes, len(images), path)
