"""ganglion.utils.data is torch.utils.data: the same objects as ganglion.data, samplers and the
DataLoader's sampler / batch_sampler / IterableDataset / batch_size=None paths checked against
PyTorch, and the bad-input rows for them."""
import threading

import numpy as np
import pytest
import torch
import torch.utils.data as tud
from bad_inputs import BadInput, bad_input_test

import ganglion as gn
import ganglion.data as gdata
import ganglion.utils.data as gud

TORCH_NAMES = ["DataLoader", "Dataset", "IterableDataset", "ChainDataset", "TensorDataset",
               "Subset", "ConcatDataset", "random_split", "default_collate", "default_convert",
               "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
               "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "get_worker_info"]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_same_objects_under_both_names(name):
    assert hasattr(tud, name), f"{name} is not a torch.utils.data name"
    assert getattr(gud, name) is getattr(gdata, name)
    assert gn.utils.data is gud  # torch.utils.data.X works after a bare `import torch`


def test_submodule_paths_and_generic_subscription():
    from ganglion.utils.data.dataloader import DataLoader, default_collate
    from ganglion.utils.data.dataset import Dataset
    from ganglion.utils.data.distributed import DistributedSampler
    from ganglion.utils.data.sampler import SubsetRandomSampler
    assert (DataLoader, default_collate, Dataset) == (gdata.DataLoader, gdata.default_collate,
                                                      gdata.Dataset)
    assert (DistributedSampler, SubsetRandomSampler) == (gdata.DistributedSampler,
                                                         gdata.SubsetRandomSampler)

    class Pairs(gud.Dataset[tuple]):  # typed as in PyTorch code
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return index, index * 2

    assert gud.Sampler[int] is gud.Sampler and isinstance(Pairs(), gud.Dataset)
    assert _values(next(iter(gud.DataLoader(Pairs(), batch_size=2)))) == [[0, 1], [0, 2]]


def _values(batches):
    """Batches (tensors, or tuples/lists of them) of either library as nested lists."""
    if isinstance(batches, (list, tuple)):
        return [_values(b) for b in batches]
    if isinstance(batches, dict):
        return {k: _values(v) for k, v in batches.items()}
    if isinstance(batches, (torch.Tensor, gn.Tensor)):
        return np.asarray(batches.detach()).tolist()
    return batches


def _both(make):
    """``make(lib)`` for PyTorch's and ganglion's torch.utils.data, as values."""
    t_out = make(tud, torch)
    g_out = make(gud, gn)
    return _values(t_out), _values(g_out)


@pytest.mark.parametrize("make", [
    lambda d, m: list(d.SequentialSampler(range(7))),
    lambda d, m: list(d.BatchSampler(d.SequentialSampler(range(7)), 3, False)),
    lambda d, m: list(d.BatchSampler(d.SequentialSampler(range(7)), 3, True)),
    lambda d, m: len(d.BatchSampler(range(7), 3, False)),
    lambda d, m: len(d.BatchSampler(range(7), 3, True)),
    lambda d, m: [list(d.DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False))
                  for r in range(3)],
    lambda d, m: [list(d.DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False,
                                            drop_last=True)) for r in range(3)],
    lambda d, m: len(d.DistributedSampler(range(10), num_replicas=4, rank=1)),
    lambda d, m: list(d.DataLoader(d.TensorDataset(m.arange(10)), batch_sampler=[[0, 3], [9]])),
    lambda d, m: list(d.DataLoader(d.TensorDataset(m.arange(10)), batch_size=3,
                                   sampler=[9, 8, 1, 2, 5])),
    lambda d, m: list(d.DataLoader(d.TensorDataset(m.arange(10)), batch_size=3,
                                   sampler=[9, 8, 1, 2, 5], drop_last=True)),
    lambda d, m: len(d.DataLoader(range(10), batch_size=4, sampler=[1, 2, 3, 4, 5])),
    lambda d, m: list(d.DataLoader(d.TensorDataset(m.arange(4)), batch_size=None)),
    lambda d, m: list(d.DataLoader([1, 2, 3], batch_size=None)),
    lambda d, m: list(d.DataLoader(_Stream(d)(7), batch_size=3)),
    lambda d, m: list(d.DataLoader(_Stream(d)(7), batch_size=3, drop_last=True)),
    lambda d, m: list(d.DataLoader(_Stream(d)(3), batch_size=None)),
    lambda d, m: list(d.ChainDataset([_Stream(d)(2), _Stream(d)(3)])),
    lambda d, m: list(_Stream(d)(2) + _Stream(d)(1)),
    lambda d, m: len(d.DataLoader(_Stream(d, with_len=True)(7), batch_size=3)),
    lambda d, m: d.get_worker_info(),
    lambda d, m: d.default_convert({"a": np.arange(3), "b": [np.float32(2.5), "s"], "c": 1}),
], ids=lambda _: "")
def test_matches_pytorch(make):
    expected, got = _both(make)
    assert got == expected


def _Stream(d, with_len=False):
    """An IterableDataset class of ``d`` yielding 0..n-1 (with __len__ if ``with_len``)."""
    class Stream(d.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    if with_len:
        Stream.__len__ = lambda self: self.n
    return Stream


def test_iterable_dataset_without_len_has_no_len():
    loader = gud.DataLoader(_Stream(gud)(5), batch_size=2)
    with pytest.raises(TypeError, match="has no len"):
        len(loader)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]  # list() needs no length


def test_random_sampler_is_a_seeded_permutation():
    data = range(10)
    first = list(gud.RandomSampler(data, generator=np.random.default_rng(3)))
    assert sorted(first) == list(range(10))
    assert first == list(gud.RandomSampler(data, generator=np.random.default_rng(3)))
    # A ganglion.Generator is an independent seeded stream, as torch.Generator.
    seeded = [list(gud.RandomSampler(data, generator=gn.Generator().manual_seed(3)))
              for _ in range(2)]
    assert seeded[0] == seeded[1] and sorted(seeded[0]) == list(range(10))
    gn.manual_seed(5)
    a = list(gud.RandomSampler(data))
    gn.manual_seed(5)
    assert list(gud.RandomSampler(data)) == a
    # num_samples beyond the length: whole permutations, then part of one (as PyTorch).
    longer = list(gud.RandomSampler(data, num_samples=25, generator=np.random.default_rng(0)))
    assert len(longer) == 25 and sorted(longer[:10]) == sorted(longer[10:20]) == list(range(10))
    assert len(set(longer[20:])) == 5
    drawn = list(gud.RandomSampler(data, replacement=True, num_samples=500,
                                   generator=np.random.default_rng(0)))
    assert len(drawn) == 500 and set(drawn) == set(range(10))


def test_subset_random_sampler():
    order = list(gud.SubsetRandomSampler([5, 6, 7, 9], generator=np.random.default_rng(1)))
    assert sorted(order) == [5, 6, 7, 9]
    assert len(gud.SubsetRandomSampler([5, 6, 7])) == 3


def test_weighted_random_sampler_frequencies():
    weights = [0.1, 0.0, 0.6, 0.3]
    drawn = np.array(list(gud.WeightedRandomSampler(weights, 20000,
                                                    generator=np.random.default_rng(0))))
    frequencies = np.bincount(drawn, minlength=4) / drawn.size
    np.testing.assert_allclose(frequencies, weights, atol=0.015)
    without = list(gud.WeightedRandomSampler(weights, 3, replacement=False,
                                             generator=np.random.default_rng(0)))
    assert sorted(without) == [0, 2, 3]


def test_distributed_sampler_shuffles_per_epoch_and_partitions():
    samplers = [gud.DistributedSampler(range(11), num_replicas=3, rank=r, seed=4)
                for r in range(3)]
    shards = [list(s) for s in samplers]
    assert all(len(s) == 4 for s in shards)
    assert set(sum(shards, [])) == set(range(11))  # 12 slots: one index repeated as padding
    for s in samplers:
        s.set_epoch(1)
    assert [list(s) for s in samplers] != shards
    alone = gud.DistributedSampler(range(5), shuffle=False)  # a world of one process
    assert (alone.num_replicas, alone.rank, list(alone)) == (1, 0, [0, 1, 2, 3, 4])


def test_loader_exposes_its_sampler_and_batch_sampler():
    data = gud.TensorDataset(gn.arange(10))
    assert isinstance(gud.DataLoader(data).sampler, gud.SequentialSampler)
    shuffled = gud.DataLoader(data, batch_size=4, shuffle=True, drop_last=True)
    assert isinstance(shuffled.sampler, gud.RandomSampler)
    assert isinstance(shuffled.batch_sampler, gud.BatchSampler)
    assert len(shuffled.batch_sampler) == len(shuffled) == 2
    assert gud.DataLoader(data, batch_size=None).batch_sampler is None


def test_loader_with_random_sampler_visits_every_sample_once():
    data = gud.TensorDataset(gn.arange(10) * 10)
    sampler = gud.RandomSampler(data, generator=np.random.default_rng(0))
    values = sum((b[0].tolist() for b in gud.DataLoader(data, batch_size=3, sampler=sampler)), [])
    assert sorted(values) == list(range(0, 100, 10))


def test_worker_threads_get_worker_info_and_init_fn():
    seen = {}
    lock = threading.Lock()

    def init(worker_id):
        info = gud.get_worker_info()
        with lock:
            seen[worker_id] = (info.id, info.num_workers)

    class Probe(gud.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, index):
            info = gud.get_worker_info()
            return index, -1 if info is None else info.id

    loader = gud.DataLoader(Probe(), batch_size=2, num_workers=2, worker_init_fn=init)
    batches = list(loader)
    assert [b[0].tolist() for b in batches] == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert {w for b in batches for w in b[1].tolist()} <= {0, 1}
    assert seen and all(seen[k] == (k, 2) for k in seen)
    assert gud.get_worker_info() is None  # the main thread is not a worker
    assert [b[1].tolist() for b in gud.DataLoader(Probe(), batch_size=4)] == [[-1] * 4] * 2


def test_torch_style_arguments_are_accepted():
    data = gud.TensorDataset(gn.arange(6))
    loader = gud.DataLoader(data, batch_size=2, shuffle=True, num_workers=1, pin_memory=True,
                            timeout=5, persistent_workers=True, prefetch_factor=2,
                            multiprocessing_context="spawn")
    assert sorted(sum((b[0].tolist() for b in loader), [])) == list(range(6))


_TEN = gud.TensorDataset(gn.arange(10))


class _Stream3(gud.IterableDataset):
    def __iter__(self):
        return iter(range(3))


CASES = [
    BadInput("random sampler replacement int", lambda: gud.RandomSampler(_TEN, replacement=1),
             TypeError, ["RandomSampler", "replacement", "boolean", "1"]),
    BadInput("random sampler num_samples 0", lambda: gud.RandomSampler(_TEN, num_samples=0),
             ValueError, ["RandomSampler", "num_samples", "positive integer", "0"]),
    BadInput("random sampler num_samples float",
             lambda: gud.RandomSampler(_TEN, num_samples=1.5),
             ValueError, ["RandomSampler", "num_samples", "1.5"]),
    BadInput("random sampler bad generator", lambda: gud.RandomSampler(_TEN, generator=3),
             TypeError, ["RandomSampler", "generator", "int"]),
    BadInput("batch sampler size 0", lambda: gud.BatchSampler(range(3), 0, False),
             ValueError, ["BatchSampler", "batch_size", "positive integer", "0"]),
    BadInput("batch sampler size True", lambda: gud.BatchSampler(range(3), True, False),
             ValueError, ["BatchSampler", "batch_size", "True"]),
    BadInput("batch sampler drop_last int", lambda: gud.BatchSampler(range(3), 2, 1),
             ValueError, ["BatchSampler", "drop_last", "boolean", "1"]),
    BadInput("weighted num_samples 0", lambda: gud.WeightedRandomSampler([1, 2], 0),
             ValueError, ["WeightedRandomSampler", "num_samples", "0"]),
    BadInput("weighted 2-d weights", lambda: gud.WeightedRandomSampler([[1, 2]], 2),
             ValueError, ["WeightedRandomSampler", "1d", "(1, 2)"]),
    BadInput("weighted replacement int", lambda: gud.WeightedRandomSampler([1, 2], 2, 1),
             ValueError, ["WeightedRandomSampler", "replacement", "boolean"]),
    BadInput("weighted negative", lambda: gud.WeightedRandomSampler([-1, 2], 2),
             RuntimeError, ["WeightedRandomSampler", "invalid multinomial", "< 0"]),
    BadInput("weighted nan", lambda: gud.WeightedRandomSampler([1, float("nan")], 2),
             RuntimeError, ["WeightedRandomSampler", "nan"]),
    BadInput("weighted all zero", lambda: gud.WeightedRandomSampler([0, 0], 2),
             RuntimeError, ["WeightedRandomSampler", "sum of probabilities <= 0"]),
    BadInput("weighted too many without replacement",
             lambda: gud.WeightedRandomSampler([1, 0, 1], 3, replacement=False),
             RuntimeError, ["WeightedRandomSampler", "cannot sample 3", "2 non-zero"]),
    BadInput("distributed rank too big",
             lambda: gud.DistributedSampler(_TEN, num_replicas=2, rank=2),
             ValueError, ["DistributedSampler", "invalid rank 2", "[0, 1]"]),
    BadInput("distributed rank negative",
             lambda: gud.DistributedSampler(_TEN, num_replicas=2, rank=-1),
             ValueError, ["DistributedSampler", "invalid rank -1"]),
    BadInput("distributed num_replicas 0",
             lambda: gud.DistributedSampler(_TEN, num_replicas=0, rank=0),
             ValueError, ["DistributedSampler", "num_replicas", "0"]),
    BadInput("loader sampler and shuffle",
             lambda: gud.DataLoader(_TEN, shuffle=True, sampler=gud.SequentialSampler(_TEN)),
             ValueError, ["DataLoader", "sampler", "mutually exclusive with shuffle"]),
    BadInput("loader batch_sampler and batch_size",
             lambda: gud.DataLoader(_TEN, batch_size=2, batch_sampler=[[0]]),
             ValueError, ["DataLoader", "batch_sampler", "mutually exclusive", "batch_size"]),
    BadInput("loader batch_sampler and drop_last",
             lambda: gud.DataLoader(_TEN, drop_last=True, batch_sampler=[[0]]),
             ValueError, ["DataLoader", "batch_sampler", "drop_last"]),
    BadInput("loader batch_size None and drop_last",
             lambda: gud.DataLoader(_TEN, batch_size=None, drop_last=True),
             ValueError, ["DataLoader", "batch_size=None", "drop_last"]),
    BadInput("loader negative timeout", lambda: gud.DataLoader(_TEN, timeout=-1),
             ValueError, ["DataLoader", "timeout", "non-negative", "-1"]),
    BadInput("loader persistent without workers",
             lambda: gud.DataLoader(_TEN, persistent_workers=True),
             ValueError, ["DataLoader", "persistent_workers", "num_workers > 0"]),
    BadInput("loader worker_init_fn not callable",
             lambda: gud.DataLoader(_TEN, num_workers=1, worker_init_fn=3),
             TypeError, ["DataLoader", "worker_init_fn", "callable", "int"]),
    BadInput("loader iterable with shuffle", lambda: gud.DataLoader(_Stream3(), shuffle=True),
             ValueError, ["IterableDataset", "shuffle", "shuffle=True"]),
    BadInput("loader iterable with sampler", lambda: gud.DataLoader(_Stream3(), sampler=[0]),
             ValueError, ["IterableDataset", "sampler", "[0]"]),
    BadInput("loader iterable with batch_sampler",
             lambda: gud.DataLoader(_Stream3(), batch_sampler=[[0]]),
             ValueError, ["IterableDataset", "batch_sampler"]),
    BadInput("loader sampler out of range",
             lambda: list(gud.DataLoader(_TEN, batch_size=2, sampler=[0, 12])),
             IndexError, ["DataLoader", "sampler", "12", "10 samples", "[0, 10)"]),
    BadInput("loader sampler negative",
             lambda: list(gud.DataLoader(_TEN, batch_size=2, sampler=[-1])),
             IndexError, ["DataLoader", "sampler", "-1"]),
    BadInput("loader batch_sampler out of range",
             lambda: list(gud.DataLoader(_TEN, batch_sampler=[[1], [10]])),
             IndexError, ["DataLoader", "batch_sampler", "10"]),
    BadInput("loader sampler float index",
             lambda: list(gud.DataLoader(_TEN, sampler=[0, 1.5])),
             IndexError, ["DataLoader", "sampler", "1.5", "float", "integers"]),
    BadInput("chain of a map-style dataset", lambda: list(gud.ChainDataset([_TEN])),
             TypeError, ["ChainDataset", "IterableDataset", "TensorDataset"]),
]
test_bad_input = bad_input_test(CASES)
