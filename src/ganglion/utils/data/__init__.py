"""``torch.utils.data`` under ganglion: the same objects as ``ganglion.data`` (one
implementation, two names), so that ``from torch.utils.data import DataLoader, Dataset`` becomes
``from ganglion.utils.data import DataLoader, Dataset``.

Differences from PyTorch, all deliberate: loader workers are threads, not processes (the heavy
parts of loading release the GIL; ``multiprocessing_context``, ``pin_memory`` and ``timeout`` are
accepted and change nothing); ``get_worker_info()`` describes the loading thread; an
IterableDataset is read once, in order, in the calling thread; random samplers and shuffling draw
from NumPy streams (a seed reproduces ganglion's order, not PyTorch's); ``DistributedSampler``
shards indices as PyTorch does, and without ``num_replicas``/``rank`` takes them from
``ganglion.distributed``'s process group, or assumes a world of one process when there is none
(PyTorch raises). The ganglion extras (``seed=``, ``batch_transform=``,
datasets such as ``MNIST``) are in ``ganglion.data``.
"""
from ganglion.data.collate import default_collate, default_convert
from ganglion.data.dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset,
                                   TensorDataset, random_split)
from ganglion.data.loader import DataLoader, WorkerInfo, get_worker_info
from ganglion.data.distributed_sampler import DistributedSampler
from ganglion.data.samplers import (BatchSampler, RandomSampler, Sampler,
                                    SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)
from ganglion.utils.data import dataloader, dataset, distributed, sampler  # noqa: F401,E402

__all__ = ["DataLoader", "Dataset", "IterableDataset", "ChainDataset", "TensorDataset", "Subset",
           "ConcatDataset", "random_split", "default_collate", "default_convert", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "DistributedSampler", "get_worker_info", "WorkerInfo"]
