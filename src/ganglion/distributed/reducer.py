"""The gradient reducer behind DistributedDataParallel: bucketed, non-blocking all-reduces that
start while backward is still running (PyTorch's ``torch/csrc/distributed/c10d/reducer.cpp``).

Parameters are grouped into buckets of at most ``bucket_cap_mb`` (the first one of at most 1 MiB,
as PyTorch, so that communication starts early), in reverse registration order: backward
produces the last layers' gradients first. Each parameter has a post-accumulate-grad hook in
the autograd engine. When it fires, the parameter's complete gradient is divided by the world
size and copied into its bucket's flat buffer; when a bucket is full, its ``Iallreduce`` starts
at once (buckets start in index order on every rank, as MPI requires collectives to be called
in the same order everywhere). At the end of backward (an engine callback) every request is
waited on and the averaged gradients are copied back into ``.grad``, so ``optimizer.step()``
after ``backward()`` reads reduced gradients, exactly as with PyTorch.

MPI progresses a non-blocking collective only while some MPI call runs, so every hook also
tests the requests in flight (a cheap ``Testall``) to move them on between layers.
"""
import time

import numpy as np

from ganglion.core import autograd
from ganglion.core.tensor import make_tensor
from ganglion.core.versions import bump_storage

__all__ = ["GradientReducer"]

_FIRST_BUCKET_BYTES = 1 << 20


class _Bucket:
    __slots__ = ("index", "params", "offsets", "buffer", "pending", "request", "ready")

    def __init__(self, index, params, dtype):
        self.index = index
        self.params = params
        self.offsets = np.cumsum([0] + [p._data.size for p in params]).tolist()
        self.buffer = np.zeros(self.offsets[-1], dtype)
        self.pending = len(params)
        self.request = None
        self.ready = False


class GradientReducer:
    """Averages the gradients of ``named_params`` over the ranks of ``group`` during backward."""

    def __init__(self, named_params, group, bucket_cap_mb=25, find_unused_parameters=False,
                 owner="DistributedDataParallel"):
        self.group = group
        self.owner = owner
        self.find_unused_parameters = find_unused_parameters
        self.names = {id(p): name for name, p in named_params}
        self.params = [p for _, p in named_params]
        self.buckets = _make_buckets([p for _, p in reversed(named_params)],
                                     int(bucket_cap_mb * (1 << 20)))
        self.slot = {id(p): (bucket, k) for bucket in self.buckets
                     for k, p in enumerate(bucket.params)}
        self.armed = False        # forward ran with grad sync on: the next backward reduces
        self.in_backward = False  # a hook of this backward fired (the end callback is queued)
        self.next_to_launch = 0
        self.used = set()
        #: When a list: (event, bucket index, time.perf_counter()) for the overlap benchmark.
        self.timeline = None
        self.handles = [p.register_post_accumulate_grad_hook(self._on_grad_ready)
                        for _, p in named_params]

    def remove(self):
        for handle in self.handles:
            handle.remove()

    def prepare_for_backward(self):
        """Called by forward when grad sync is on: the next backward averages gradients."""
        self.armed = True
        self.in_backward = False
        self.next_to_launch = 0
        self.used = set()
        for bucket in self.buckets:
            bucket.pending = len(bucket.params)
            bucket.ready = False
            bucket.request = None

    # ----- during backward --------------------------------------------------------------------
    def _on_grad_ready(self, param):
        if not self.armed:
            return
        if not self.in_backward:
            self.in_backward = True
            autograd.queue_backward_end_callback(self._finish_backward)
        key = id(param)
        if key in self.used:
            return
        self.used.add(key)
        bucket, k = self.slot[key]
        part = bucket.buffer[bucket.offsets[k]:bucket.offsets[k + 1]]
        part[...] = param._grad._data.reshape(-1)
        bucket.pending -= 1
        if bucket.pending == 0:
            bucket.ready = True
            self._launch_ready_buckets()
        self._progress()

    def _launch_ready_buckets(self):
        buckets = self.buckets
        while self.next_to_launch < len(buckets) and buckets[self.next_to_launch].ready:
            self._launch(buckets[self.next_to_launch])
            self.next_to_launch += 1

    def _launch(self, bucket):
        size = self.group.size
        if self.timeline is not None:
            self.timeline.append(("start", bucket.index, time.perf_counter()))
        if size > 1:
            # Divided before the sum, as PyTorch does (no overflow of large sums); with every
            # rank adding the same terms, the result is the same bits on every rank.
            np.multiply(bucket.buffer, 1.0 / size, out=bucket.buffer)
            from mpi4py import MPI
            bucket.request = self.group.comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, op=MPI.SUM)

    def _progress(self):
        """Let MPI move the requests in flight on (and note when they finish)."""
        for bucket in self.buckets[:self.next_to_launch]:
            request = bucket.request
            if request is not None and request.Test():
                bucket.request = None
                if self.timeline is not None:
                    self.timeline.append(("done", bucket.index, time.perf_counter()))

    def _finish_backward(self):
        """End of backward: launch what is left, wait for everything, write .grad back."""
        self.armed = False
        self.in_backward = False
        if self.timeline is not None:
            self.timeline.append(("backward_end", -1, time.perf_counter()))
        missing = [p for p in self.params if id(p) not in self.used]
        if missing and not self.find_unused_parameters:
            names = ", ".join(self.names[id(p)] for p in missing)
            raise RuntimeError(
                f"{self.owner}: parameters that received no gradient in this backward pass on "
                f"rank {self.group.rank}: {names}. Every parameter must take part in computing "
                "the loss; pass find_unused_parameters=True to DistributedDataParallel if some "
                "do not (their gradients then count as zero), or set requires_grad=False on them")
        for p in missing:  # find_unused_parameters: they contribute zeros
            bucket, k = self.slot[id(p)]
            bucket.buffer[bucket.offsets[k]:bucket.offsets[k + 1]] = 0
            bucket.ready = True
        self._launch_ready_buckets()
        used_anywhere = self._used_anywhere(missing) if missing else None
        for bucket in self.buckets:
            if bucket.request is not None:
                bucket.request.Wait()
                bucket.request = None
                if self.timeline is not None:
                    self.timeline.append(("done", bucket.index, time.perf_counter()))
            for k, p in enumerate(bucket.params):
                if used_anywhere is not None and not used_anywhere[id(p)]:
                    continue  # unused on every rank: its .grad stays as it was (None), as PyTorch
                averaged = bucket.buffer[bucket.offsets[k]:bucket.offsets[k + 1]].reshape(
                    p._data.shape)
                grad = p._grad
                if grad is None or grad._data is None or not grad._data.flags.writeable:
                    p._grad = make_tensor(averaged.copy())
                else:
                    grad._data[...] = averaged
                    bump_storage(grad._data)

    def _used_anywhere(self, missing):
        """{id(param): whether some rank gave it a gradient} (one small all-reduce)."""
        params = [p for bucket in self.buckets for p in bucket.params]
        missing_ids = {id(p) for p in missing}
        used = np.array([id(p) not in missing_ids for p in params], np.uint8)
        if self.group.size > 1:
            from mpi4py import MPI
            self.group.comm.Allreduce(MPI.IN_PLACE, used, op=MPI.MAX)
        return {id(p): bool(u) for p, u in zip(params, used)}


def _make_buckets(params, cap_bytes):
    """Consecutive parameters of one dtype, at most ``cap_bytes`` a bucket (a bigger parameter
    gets a bucket of its own); the first bucket holds at most 1 MiB."""
    buckets = []
    current, current_bytes, dtype = [], 0, None
    for p in params:
        nbytes = p._data.nbytes
        cap = min(cap_bytes, _FIRST_BUCKET_BYTES) if not buckets else cap_bytes
        if current and (p._data.dtype != dtype or current_bytes + nbytes > cap):
            buckets.append(_Bucket(len(buckets), current, dtype))
            current, current_bytes = [], 0
        current.append(p)
        current_bytes += nbytes
        dtype = p._data.dtype
    if current:
        buckets.append(_Bucket(len(buckets), current, dtype))
    return buckets
