"""Dataset, TensorDataset, Subset, ConcatDataset and random_split."""
import numpy as np
import pytest

import ganglion as gn
from ganglion.data import ConcatDataset, Dataset, Subset, TensorDataset, random_split


def test_tensor_dataset_items_and_batches():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    ds = TensorDataset(gn.tensor(x), y)
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.numpy(), x[3])
    assert yi.item() == 3 and yi.dtype == gn.int64
    xb, yb = ds.get_batch(np.array([4, 1]))
    np.testing.assert_array_equal(xb.numpy(), x[[4, 1]])
    np.testing.assert_array_equal(yb.numpy(), [4, 1])
    assert ds[-1][1].item() == 9


def test_tensor_dataset_narrows_float64_numpy():
    ds = TensorDataset(np.zeros((3, 2)))
    assert ds[0][0].dtype == gn.float32


def test_tensor_dataset_errors():
    with pytest.raises(ValueError, match=r"same first dimension.*\(3, 2\), \(4,\)"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(IndexError, match="index 5 is out of range for 3 samples"):
        TensorDataset(np.zeros(3))[5]


def test_subset_and_concat():
    a = TensorDataset(np.arange(5))
    b = TensorDataset(np.arange(5, 8))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 8
    assert [both[i][0].item() for i in range(8)] == list(range(8))
    assert both[-1][0].item() == 7
    sub = Subset(both, [7, 0, 3])
    assert [sub[i][0].item() for i in range(3)] == [7, 0, 3]
    # Subset keeps the batch fast path of an array-backed dataset, and only then.
    fast = Subset(a, [4, 2])
    assert fast.get_batch(np.array([1, 0]))[0].tolist() == [2, 4]
    assert not hasattr(sub, "get_batch")


def test_random_split_is_seeded_and_partitions():
    ds = TensorDataset(np.arange(100))
    first = random_split(ds, [70, 30], seed=3)
    again = random_split(ds, [70, 30], seed=3)
    other = random_split(ds, [70, 30], seed=4)
    assert [len(s) for s in first] == [70, 30]
    np.testing.assert_array_equal(first[0].indices, again[0].indices)
    assert not np.array_equal(first[0].indices, other[0].indices)
    assert sorted(np.concatenate([s.indices for s in first]).tolist()) == list(range(100))
    gen = np.random.default_rng(3)
    np.testing.assert_array_equal(random_split(ds, [70, 30], generator=gen)[1].indices,
                                  first[1].indices)


def test_random_split_fractions_and_bad_lengths():
    ds = TensorDataset(np.arange(10))
    assert [len(s) for s in random_split(ds, [0.5, 0.3, 0.2], seed=0)] == [5, 3, 2]
    odd = TensorDataset(np.arange(11))
    assert [len(s) for s in random_split(odd, [0.5, 0.5], seed=0)] == [6, 5]
    with pytest.raises(ValueError, match="sum to 9, but the dataset has 10"):
        random_split(ds, [4, 5], seed=0)


def test_base_dataset_requires_methods():
    class Empty(Dataset):
        pass

    with pytest.raises(NotImplementedError, match="Empty must define __getitem__"):
        Empty()[0]
