"""Digits: scikit-learn's bundled 8x8 digits with a fixed split."""
import builtins

import numpy as np
import pytest

import ganglion as gn
from ganglion.data import DataLoader, Digits
from ganglion.data.datasets.digits import _load_digits


def test_split_shapes_and_values():
    train, test = Digits(), Digits("test")
    assert len(train) + len(test) == 1797 and len(test) == 359
    x, y = train[0]
    assert x.shape == (1, 8, 8) and x.dtype == gn.float32 and y.dtype == gn.int64
    images = train.tensors[0].numpy()
    assert images.min() == 0 and images.max() == 1
    assert Digits(flatten=True)[0][0].shape == (64,)
    again = Digits()
    np.testing.assert_array_equal(train.tensors[1].numpy(), again.tensors[1].numpy())
    train_rows = {r.tobytes() for r in train.tensors[0].numpy()}
    assert not any(r.tobytes() in train_rows for r in test.tensors[0].numpy()[:50])
    xb, yb = next(iter(DataLoader(train, batch_size=32, shuffle=True, seed=0)))
    assert xb.shape == (32, 1, 8, 8)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def without_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_sklearn)
    _load_digits.cache_clear()  # an earlier test may have loaded the images already
    with pytest.raises(ImportError, match=r"pip install ganglion\[data\]"):
        Digits()
