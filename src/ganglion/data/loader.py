"""DataLoader: batches from a dataset, in a seeded order, optionally prefetched by threads.

Order and randomness are fixed by the seed alone: each epoch draws one epoch seed from the
loader's generator, the epoch's permutation comes from that seed, and batch ``b`` gets its own
generator seeded by ``(epoch seed, b)`` for the random transforms that build it (see
``ganglion.data.rng``). So the batches are the same with 0, 1 or 8 worker threads.

With ``num_workers > 0`` a thread pool builds up to ``prefetch_factor * num_workers`` batches
ahead while the training step runs. Threads (not processes) suffice because the heavy parts of
loading (NumPy indexing and copies, JPEG decoding, gzip) release the GIL.
"""
import math
import numbers
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ganglion.core.random import generator as global_generator
from ganglion.data.collate import default_collate
from ganglion.data.rng import using_generator

__all__ = ["DataLoader"]


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    ``shuffle`` draws a new order each epoch; ``seed`` (or a NumPy ``generator``) makes the
    sequence of orders reproducible, else ganglion's global generator is used, so
    ``ganglion.manual_seed`` does the same. ``drop_last`` drops a final short batch.
    ``collate_fn`` turns a list of samples into a batch (``default_collate`` by default).
    ``batch_transform`` is applied to each finished batch in the loading thread (for example the
    batch augmentations of ``ganglion.data.transforms``), so that it overlaps the training step.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 seed=None, generator=None, num_workers=0, prefetch_factor=2,
                 batch_transform=None):
        # int() would turn 1.5 into 1 and True into 1; PyTorch rejects both with ValueError.
        if not _is_integer(batch_size) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if not _is_integer(num_workers):
            raise TypeError(f"DataLoader: num_workers must be an integer, got {num_workers!r}")
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        if not _is_integer(prefetch_factor) or prefetch_factor < 1:
            raise ValueError(f"DataLoader: prefetch_factor must be a positive integer, got "
                             f"{prefetch_factor!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.prefetch_factor = int(prefetch_factor)
        self.batch_transform = batch_transform
        self.generator = np.random.default_rng(seed) if seed is not None else generator

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _batch_indices(self, epoch_seed):
        n = len(self.dataset)
        order = np.random.default_rng(epoch_seed).permutation(n) if self.shuffle else np.arange(n)
        size = self.batch_size
        return [order[start:start + size] for start in range(0, len(self) * size, size)]

    def _make_batch(self, indices, epoch_seed, position):
        with using_generator(np.random.default_rng((epoch_seed, position))):
            # The fast path skips per-sample __getitem__ and collate; a custom collate_fn must
            # still see individual samples.
            get_batch = getattr(self.dataset, "get_batch", None) if self.collate_fn is None else None
            if get_batch is not None:
                batch = get_batch(indices)
            else:
                collate = self.collate_fn or default_collate
                batch = collate([self.dataset[int(i)] for i in indices])
            if self.batch_transform is not None:
                batch = self.batch_transform(batch)
        return batch

    def __iter__(self):
        # One draw per epoch even without shuffling (as PyTorch does): random transforms need
        # the epoch seed too.
        source = self.generator if self.generator is not None else global_generator()
        epoch_seed = int(source.integers(2**63))
        batches = self._batch_indices(epoch_seed)
        if self.num_workers == 0:
            return (self._make_batch(idx, epoch_seed, b) for b, idx in enumerate(batches))
        return self._prefetching(batches, epoch_seed)

    def _prefetching(self, batches, epoch_seed):
        lookahead = self.prefetch_factor * self.num_workers
        pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="ganglion-data")
        pending = deque()
        try:
            submitted = 0
            for position in range(len(batches)):
                while submitted < len(batches) and submitted < position + lookahead:
                    pending.append(pool.submit(self._make_batch, batches[submitted], epoch_seed,
                                               submitted))
                    submitted += 1
                # Results come back in submission order, so the order is the seed's, not the
                # threads' finishing order; a worker's exception is raised here, at its batch.
                yield pending.popleft().result()
        finally:
            # Reached on exhaustion, on error, and when the consumer stops early (generator
            # closed): queued batches are cancelled rather than built for nobody.
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, num_workers={self.num_workers})")
