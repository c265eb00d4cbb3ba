"""Digits: scikit-learn's bundled handwritten digits, for demos that need no network or data folder.

1,797 real 8x8 grayscale images (UCI ML optical digits, 16 grey levels) ship inside
scikit-learn. A fixed seeded split makes train and test the same on every machine.
"""
from functools import lru_cache

import numpy as np

from ganglion.data.collate import tensor_from_array
from ganglion.data.dataset import TensorDataset

__all__ = ["Digits"]


@lru_cache(maxsize=1)
def _load_digits():
    # Cached: importing scikit-learn takes seconds, and the bundled images never change.
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("Digits needs scikit-learn, which ships the images: "
                          "pip install ganglion[data]") from None
    return load_digits()


class Digits(TensorDataset):
    """Samples are (image float32 (1, 8, 8) in [0, 1], label int64); ``flatten=True`` gives
    (64,) vectors instead. ``split`` is 'train' or 'test' (``test_fraction`` of the images,
    chosen by a permutation seeded with ``seed``)."""

    classes = [str(d) for d in range(10)]

    def __init__(self, split="train", test_fraction=0.2, seed=0, flatten=False):
        if split not in ("train", "test"):
            raise ValueError(f"Digits: split must be 'train' or 'test', got {split!r}")
        bunch = _load_digits()
        images = bunch.images.astype(np.float32) / 16  # grey levels 0..16
        labels = bunch.target.astype(np.int64)
        order = np.random.default_rng(seed).permutation(len(labels))
        n_test = int(round(len(labels) * test_fraction))
        rows = order[n_test:] if split == "train" else order[:n_test]
        images = images[rows].reshape(len(rows), 64) if flatten else images[rows, None]
        super().__init__(tensor_from_array(np.ascontiguousarray(images)),
                         tensor_from_array(labels[rows]))
