"""``DistributedSampler``: the share of a dataset that one process of a data-parallel job reads
(PyTorch's ``torch.utils.data.distributed.DistributedSampler``: same arguments, padding and
partition).

Every epoch the indices (shuffled with ``seed + epoch``, or in order) are padded by repeating
them from the start until the count divides by ``num_replicas`` (or cut to the largest multiple
with ``drop_last``), and replica ``rank`` takes every ``num_replicas``-th index from position
``rank``. So each index goes to exactly one replica per epoch, apart from the repeated padding,
and every replica gets the same number of samples (needed: each rank must run the same number
of steps, or the gradient all-reduces would not match). The shuffle is NumPy's permutation, not
torch.Generator's: the same seed gives another (equally random) order than PyTorch's.

``num_replicas`` and ``rank`` default to the process group's (``ganglion.distributed``); with
no process group they default to a world of one process (PyTorch raises there).
"""
import math

import numpy as np

from ganglion.data.samplers import Sampler, _check_positive_count, _is_int

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Indices of ``dataset`` for replica ``rank`` of ``num_replicas``; call ``set_epoch(epoch)``
    at the start of each epoch (on every rank) so that the shuffle changes."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from ganglion import distributed
            initialized = distributed.is_initialized()
            if num_replicas is None:
                num_replicas = distributed.get_world_size() if initialized else 1
            if rank is None:
                rank = distributed.get_rank() if initialized else 0
        _check_positive_count(num_replicas, "num_replicas", "DistributedSampler")
        if not _is_int(rank) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the "
                             f"interval [0, {num_replicas - 1}]")
        if not _is_int(seed):
            raise TypeError(f"DistributedSampler: seed must be an integer, got {seed!r}")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        if self.drop_last:
            indices = indices[:self.total_size]
        elif self.total_size > n:
            # Repeat from the start (several times over when the dataset is smaller than the
            # number of replicas), as PyTorch pads.
            indices = np.resize(indices, self.total_size) if n else indices
        return iter(indices[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use ``epoch`` for the next shuffle (every replica must pass the same one)."""
        self.epoch = epoch
