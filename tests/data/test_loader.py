"""DataLoader: batching, shuffling by seed, prefetch threads, the fast path, early exit."""
import threading

import numpy as np
import pytest

import ganglion as gn
from ganglion.data import DataLoader, Dataset, TensorDataset, transforms
from ganglion.data.rng import current_generator


class Squares(Dataset):
    """A dataset without get_batch, so the loader goes sample by sample."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.float32(i * i), i


def _labels(loader):
    return [b[1].tolist() for b in loader]


def test_batches_in_order_and_lengths():
    loader = DataLoader(Squares(10), batch_size=4)
    assert len(loader) == 3
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    dropped = DataLoader(Squares(10), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and _labels(dropped) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    x, y = next(iter(loader))
    assert x.dtype == gn.float32 and y.dtype == gn.int64


def test_shuffle_is_deterministic_for_a_seed_and_changes_each_epoch():
    a = DataLoader(Squares(50), batch_size=8, shuffle=True, seed=1)
    b = DataLoader(Squares(50), batch_size=8, shuffle=True, seed=1)
    first, second = _labels(a), _labels(a)
    assert first == _labels(b) and second == _labels(b)
    assert first != second
    assert sorted(sum(first, [])) == list(range(50))
    gn.manual_seed(0)
    global_first = _labels(DataLoader(Squares(50), batch_size=8, shuffle=True))
    gn.manual_seed(0)
    assert global_first == _labels(DataLoader(Squares(50), batch_size=8, shuffle=True))


def test_workers_give_the_same_batches_and_augmentation():
    data = np.random.default_rng(0).integers(0, 255, (64, 3, 8, 8)).astype(np.float32)
    ds = TensorDataset(data, np.arange(64))
    aug = transforms.Compose([transforms.BatchRandomCrop(6, padding=1),
                              transforms.BatchRandomHorizontalFlip()])

    def run(workers):
        loader = DataLoader(ds, batch_size=10, shuffle=True, seed=5, num_workers=workers,
                            batch_transform=aug)
        return [(x.numpy().copy(), y.numpy().copy()) for x, y in loader]

    serial, threaded = run(0), run(3)
    assert len(serial) == len(threaded) == 7
    for (xs, ys), (xt, yt) in zip(serial, threaded):
        np.testing.assert_array_equal(xs, xt)
        np.testing.assert_array_equal(ys, yt)
    assert serial[0][0].shape == (10, 3, 6, 6)


def test_per_sample_random_transforms_are_seeded_per_batch():
    class Noisy(Squares):
        def __getitem__(self, i):
            return current_generator().random(), i

    def run(workers):
        return [x.tolist() for x, _ in DataLoader(Noisy(20), batch_size=4, seed=2,
                                                  num_workers=workers)]

    assert run(0) == run(2)


def test_fast_path_is_used_for_tensor_dataset():
    class Counting(TensorDataset):
        calls = 0

        def __getitem__(self, i):
            Counting.calls += 1
            return super().__getitem__(i)

    ds = Counting(np.arange(100).reshape(50, 2), np.arange(50))
    batches = list(DataLoader(ds, batch_size=16, shuffle=True, seed=0))
    assert Counting.calls == 0
    assert batches[0][0].shape == (16, 2) and batches[-1][0].shape == (2, 2)
    # A custom collate_fn must see samples, so it disables the fast path.
    list(DataLoader(ds, batch_size=16, collate_fn=lambda samples: len(samples)))
    assert Counting.calls == 50


def test_prefetch_builds_later_batches_while_the_consumer_works():
    started = {i: threading.Event() for i in range(8)}

    class Watched(Squares):
        def __getitem__(self, i):
            started[i].set()
            return super().__getitem__(i)

    iterator = iter(DataLoader(Watched(8), batch_size=2, num_workers=2))
    next(iterator)
    # While the consumer still holds batch 0, the threads fetch batches 1 and 2 on their own;
    # without prefetching nothing would fetch sample 4 until the next next().
    assert started[4].wait(timeout=10)
    iterator.close()
    serial = iter(DataLoader(Watched(8), batch_size=2))
    started[4].clear()
    next(serial)
    assert not started[4].wait(timeout=0.2)


def test_worker_error_surfaces_and_early_exit_stops_threads():
    class Broken(Squares):
        def __getitem__(self, i):
            if i == 5:
                raise RuntimeError("bad sample 5")
            return super().__getitem__(i)

    with pytest.raises(RuntimeError, match="bad sample 5"):
        list(DataLoader(Broken(10), batch_size=2, num_workers=2))
    before = threading.active_count()
    iterator = iter(DataLoader(Squares(1000), batch_size=2, num_workers=2))
    next(iterator)
    iterator.close()
    assert threading.active_count() <= before


def test_argument_errors():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(Squares(3), batch_size=0)
    with pytest.raises(ValueError, match="seed or generator, not both"):
        DataLoader(Squares(3), seed=1, generator=np.random.default_rng(1))
