"""What ``fit`` does differently when it runs in a process group of several ranks
(``mpiexec -n N``; see docs/distributed.rst).

- The model is wrapped in ``DistributedDataParallel`` (unless it already is): rank 0's weights
  go to every rank, gradients are averaged during backward, every rank takes the same step.
  Checkpoints hold the bare model's weights, so they load in a single process too.
- A ganglion ``DataLoader`` for training is rebuilt around a ``DistributedSampler`` (same batch
  size per rank, so the global batch is ``batch_size x world_size``; shuffled with the loader's
  seed and the epoch, as ``set_epoch`` does). Validation is split into interleaved, unpadded
  shares (every example counted once).
- Losses and metrics are averaged over the ranks, weighted by example counts, so every rank
  sees the same logs (and callbacks such as EarlyStopping decide the same everywhere). This is
  exact for means (loss, accuracy, mse, mae); a metric that is not a mean (r2) becomes the
  count-weighted mean of the ranks' values.
- Only rank 0 shows progress and runs the callbacks that write files (ModelCheckpoint,
  CSVLogger, TensorBoardLogger); every rank resumes from the same checkpoint file.
- ``compile=True`` compiles the step with ``ganglion.distributed.averaged_updates``.
"""
import numpy as np

from ganglion import distributed
from ganglion.data.dataset import IterableDataset, Subset
from ganglion.data.distributed_sampler import DistributedSampler
from ganglion.data.loader import DataLoader
from ganglion.nn.parallel import DistributedDataParallel, _broadcast_coalesced
from ganglion.train.callbacks import CSVLogger, ModelCheckpoint, TensorBoardLogger
from ganglion.train.steps import CompiledTrainStep

__all__ = ["DataParallelRun", "data_parallel_run"]

#: Callbacks that write files: run on rank 0 only.
_RANK_ZERO_ONLY = (ModelCheckpoint, CSVLogger, TensorBoardLogger)


def data_parallel_run(model, train_loader, val_loader):
    """A DataParallelRun when a process group of several ranks is initialised, else None."""
    if not distributed.is_initialized() or distributed.get_world_size() < 2:
        return None
    return DataParallelRun(model, train_loader, val_loader)


class DataParallelRun:
    """The wrapped model, the sharded loaders and the averaging of logs for one ``fit``."""

    def __init__(self, model, train_loader, val_loader):
        self.rank = distributed.get_rank()
        self.size = distributed.get_world_size()
        if isinstance(model, DistributedDataParallel):
            self.ddp, self.model = model, model.module
        else:
            self.ddp, self.model = DistributedDataParallel(model), model
        self.train_loader, self.sampler = self._shard_train(train_loader)
        self.val_loader, self.val_count = self._shard_val(val_loader)

    def _shard_train(self, loader):
        if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset):
            return loader, None  # already the rank's own data: used as it is
        sampler = loader.sampler
        if isinstance(sampler, DistributedSampler):
            return loader, sampler
        if loader._user_sampler is not None:
            raise ValueError(f"fit: the training loader has its own {loader._user_sampler} and "
                             f"this process is one of {self.size} ranks; give it a "
                             "DistributedSampler (or no sampler, and fit adds one)")
        sampler = DistributedSampler(loader.dataset, self.size, self.rank,
                                     shuffle=loader.shuffle, seed=_seed_of(loader))
        return _rebuilt(loader, sampler), sampler

    def _shard_val(self, loader):
        if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset) \
                or loader._user_sampler is not None:
            return loader, None
        share = Subset(loader.dataset, range(self.rank, len(loader.dataset), self.size))
        return _rebuilt(loader, None, share), len(share)

    def keeps(self, callback):
        """Whether this rank runs ``callback``."""
        return self.rank == 0 or not isinstance(callback, _RANK_ZERO_ONLY)

    def start_epoch(self, epoch):
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def average(self, means, count):
        """{name: mean over all ranks' examples} from this rank's means over ``count``."""
        names = list(means)
        sums = np.array([count] + [means[k] * count for k in names], np.float64)
        distributed.all_reduce(sums)
        return {name: total / max(sums[0], 1) for name, total in zip(names, sums[1:])}

    def end_epoch(self):
        """Give every rank rank 0's buffers (BatchNorm statistics drift apart during the
        epoch), so that evaluation and checkpoints agree on every rank."""
        buffers = [b._data for _, b in self.model.named_buffers() if b is not None]
        if buffers:
            _broadcast_coalesced(distributed, buffers)


class DataParallelCompiledStep(CompiledTrainStep):
    """The compiled step with gradients averaged over the ranks."""

    def _build(self, x, y):
        from ganglion.symbolic.function import function
        from ganglion.symbolic.placeholders import tensor as placeholder
        xs = placeholder(x.dtype, (None,) + tuple(x.shape[1:]), name="inputs")
        ys = placeholder(y.dtype, (None,) + tuple(y.shape[1:]), name="targets")
        output = self.model(xs)
        cost = self.loss_fn(output, ys)
        return function([xs, ys], [cost, output],
                        updates=distributed.averaged_updates(self.optimizer, cost))


def _seed_of(loader):
    """The integer seed of the loader's shuffle (``DataLoader(seed=...)``), else 0; every rank
    must shuffle with the same one."""
    generator = getattr(loader, "generator", None)
    entropy = getattr(getattr(getattr(generator, "bit_generator", None), "seed_seq", None),
                      "entropy", None)
    return int(entropy) if isinstance(entropy, (int, np.integer)) else 0


def _rebuilt(loader, sampler, dataset=None):
    """``loader`` with another sampler (or dataset), everything else kept."""
    return DataLoader(loader.dataset if dataset is None else dataset, loader.batch_size,
                      sampler=sampler, num_workers=loader.num_workers,
                      collate_fn=loader.collate_fn, drop_last=loader.drop_last,
                      prefetch_factor=loader.prefetch_factor,
                      batch_transform=loader.batch_transform)
