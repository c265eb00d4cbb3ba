"""DataLoader: batches from a dataset, in a seeded order, optionally prefetched by threads.

Order and randomness are fixed by the seed alone: each epoch draws one epoch seed from the
loader's generator, the epoch's permutation comes from that seed, and batch ``b`` gets its own
generator seeded by ``(epoch seed, b)`` for the random transforms that build it (see
``ganglion.data.rng``). So the batches are the same with 0, 1 or 8 worker threads.

With ``num_workers > 0`` a thread pool builds up to ``prefetch_factor * num_workers`` batches
ahead while the training step runs. Threads (not processes) suffice because the heavy parts of
loading (NumPy indexing and copies, JPEG decoding, gzip) release the GIL.
"""
import itertools
import math
import numbers
import threading
from collections import deque, namedtuple
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ganglion.core.random import numpy_generator
from ganglion.data.collate import default_collate, default_convert
from ganglion.data.dataset import IterableDataset
from ganglion.data.rng import using_generator
from ganglion.data.samplers import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]

WorkerInfo = namedtuple("WorkerInfo", "id num_workers seed dataset")
WorkerInfo.__doc__ = "What a loading thread knows about itself (see get_worker_info)."

_worker = threading.local()


def get_worker_info():
    """In a DataLoader's loading thread: its WorkerInfo (id, num_workers, seed, dataset); in
    any other thread (the main one, or a loader with num_workers=0): None, as in PyTorch."""
    return getattr(_worker, "info", None)


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

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True, seed=None, batch_transform=None):
        # int() would turn 1.5 into 1 and True into 1; PyTorch rejects both with ValueError.
        # batch_size=None turns batching off (each sample comes as it is, arrays as tensors).
        if batch_size is not None and (not _is_integer(batch_size) or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if not _is_integer(num_workers):
            raise TypeError(f"DataLoader: num_workers must be an integer, got {num_workers!r}")
        if num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be >= 0, got {num_workers}")
        prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        if not _is_integer(prefetch_factor) or prefetch_factor < 1:
            raise ValueError(f"DataLoader: prefetch_factor must be a positive integer, got "
                             f"{prefetch_factor!r}")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        numpy_generator(generator, "DataLoader")  # a wrong generator is refused here, not at iter()
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got "
                            f"{type(worker_init_fn).__name__}")
        self._check_sampling(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last)
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.num_workers = num_workers
        self.prefetch_factor = int(prefetch_factor)
        self.batch_transform = batch_transform
        # Accepted for PyTorch's signature; without devices or processes they change nothing
        # (workers are threads, which need no context, start cheaply and share the dataset).
        self.pin_memory, self.pin_memory_device = pin_memory, pin_memory_device
        self.timeout, self.persistent_workers, self.in_order = timeout, persistent_workers, in_order
        self.multiprocessing_context = multiprocessing_context
        self.worker_init_fn = worker_init_fn
        self.generator = np.random.default_rng(seed) if seed is not None else generator
        # Which argument the user's indices come from (for the loader and its error messages).
        self._user_sampler = ("batch_sampler" if batch_sampler is not None else
                              "sampler" if sampler is not None else None)
        if isinstance(dataset, IterableDataset):
            self.sampler = self.batch_sampler = None
        else:
            # What PyTorch exposes; the default order (shuffle) is drawn from the epoch seed by
            # _batch_indices, so that it depends on the loader's seed alone.
            if sampler is None:
                sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
            if batch_sampler is None and batch_size is not None:
                batch_sampler = BatchSampler(sampler, self.batch_size, bool(drop_last))
            self.sampler, self.batch_sampler = sampler, batch_sampler

    @staticmethod
    def _check_sampling(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last):
        """PyTorch's rules for combining shuffle, sampler, batch_sampler and an IterableDataset
        (each a ValueError with PyTorch's wording, prefixed with the loader's name)."""
        if isinstance(dataset, IterableDataset):
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value!r}")
            return
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")

    def __len__(self):
        if self._user_sampler:
            return len(self.batch_sampler) if self.batch_sampler is not None else len(self.sampler)
        n = len(self.dataset)  # an IterableDataset without __len__: TypeError, as PyTorch
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _batch_indices(self, epoch_seed):
        if self._user_sampler:
            return self._sampled_indices()
        n = len(self.dataset)
        if self.batch_size is None:
            order = np.random.default_rng(epoch_seed).permutation(n) if self.shuffle else range(n)
            return [int(i) for i in order]
        order = np.random.default_rng(epoch_seed).permutation(n) if self.shuffle else np.arange(n)
        size = self.batch_size
        return [order[start:start + size] for start in range(0, len(self) * size, size)]

    def _sampled_indices(self):
        """This epoch's batches of indices from the user's sampler or batch_sampler, checked
        against the dataset's length with one vectorised comparison per epoch (the batch fast
        path indexes arrays directly, where -1 would wrap around silently)."""
        source = self._user_sampler
        if source == "batch_sampler":
            batches = [np.asarray(b).reshape(-1) for b in self.batch_sampler]
            flat = np.concatenate(batches) if batches else np.zeros(0, np.int64)
        else:
            flat = np.asarray(list(self.sampler)).reshape(-1)
            batches = None
        if flat.size and flat.dtype.kind not in "iu":
            # A cast would serve sample 1 for 1.5 and samples 0/1 for a boolean mask.
            wrong = [v for v in flat.tolist() if not _is_integer(v)]
            bad = next((v for v in wrong if isinstance(v, float) and not v.is_integer()), wrong[0])
            raise IndexError(f"DataLoader: the {source} gave index {bad!r} of type "
                             f"{type(bad).__name__}; indices must be integers")
        n = len(self.dataset)
        if flat.size and (flat.min() < 0 or flat.max() >= n):
            bad = flat[(flat < 0) | (flat >= n)][0]
            raise IndexError(f"DataLoader: the {source} gave index {bad}, out of range for a "
                             f"dataset of {n} samples (indices must lie in [0, {n}))")
        if batches is not None:
            return batches
        if self.batch_size is None:
            return flat.tolist()
        size = self.batch_size
        stop = len(flat) - len(flat) % size if self.drop_last else len(flat)
        return [flat[start:start + size] for start in range(0, stop, size)]

    def _make_batch(self, indices, epoch_seed, position):
        with using_generator(np.random.default_rng((epoch_seed, position))):
            if self.batch_size is None and self.batch_sampler is None:
                # No batching: one sample, its arrays as tensors (PyTorch's default_convert).
                sample = self.dataset[indices]
                return (self.collate_fn or default_convert)(sample)
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
        source = numpy_generator(self.generator, "DataLoader")
        epoch_seed = int(source.integers(2**63))
        if isinstance(self.dataset, IterableDataset):
            return self._iterable_batches(epoch_seed)
        batches = self._batch_indices(epoch_seed)
        if self.num_workers == 0:
            return (self._make_batch(idx, epoch_seed, b) for b, idx in enumerate(batches))
        return self._prefetching(batches, epoch_seed)

    def _prefetching(self, batches, epoch_seed):
        lookahead = self.prefetch_factor * self.num_workers
        worker_ids = itertools.count()

        def start_worker():
            # Each thread learns its id and seed (get_worker_info) and runs worker_init_fn once,
            # as each of PyTorch's worker processes does.
            worker_id = next(worker_ids)
            _worker.info = WorkerInfo(id=worker_id, num_workers=self.num_workers,
                                      seed=(epoch_seed + worker_id) % 2**64, dataset=self.dataset)
            if self.worker_init_fn is not None:
                self.worker_init_fn(worker_id)

        pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="ganglion-data",
                                  initializer=start_worker)
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

    def _iterable_batches(self, epoch_seed):
        """Batches of an IterableDataset, read in order in the calling thread (one stream: with
        threads there is no per-worker copy of the dataset to shard, so nothing is repeated)."""
        samples = iter(self.dataset)
        for position in itertools.count():
            with using_generator(np.random.default_rng((epoch_seed, position))):
                if self.batch_size is None:
                    try:
                        sample = next(samples)
                    except StopIteration:
                        return
                    yield (self.collate_fn or default_convert)(sample)
                    continue
                chunk = list(itertools.islice(samples, self.batch_size))
                if not chunk or (self.drop_last and len(chunk) < self.batch_size):
                    return
                batch = (self.collate_fn or default_collate)(chunk)
                if self.batch_transform is not None:
                    batch = self.batch_transform(batch)
            yield batch

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, num_workers={self.num_workers})")
