"""``torch.nn.parallel`` for this CPU-only build: ``DataParallel`` and ``data_parallel``.

PyTorch's ``DataParallel`` splits a batch over GPUs; with no GPU (``device_ids`` empty, as on a
CPU-only PyTorch) it simply runs the wrapped module, and that is what it does here, so programs
that wrap their model when ``torch.cuda.device_count() > 1`` (or always) run unchanged. Its
``state_dict`` keys carry the ``module.`` prefix, as PyTorch's do. ``DataParallel`` ignores
``device_ids`` as PyTorch's does when no GPU is there; ``data_parallel`` with GPU ids is a
``DeviceUnavailableError`` (PyTorch's fails there too). ``DistributedDataParallel`` trains one
model over several processes (MPI, ``ganglion.distributed``): see docs/distributed.rst.
"""
import contextlib

import numpy as np

from ganglion.core.device import DeviceUnavailableError
from ganglion.core.versions import bump_storage
from ganglion.nn.module import Module

__all__ = ["DataParallel", "data_parallel", "DistributedDataParallel"]


def _check_device_ids(device_ids, who):
    ids = [] if device_ids is None else list(device_ids)
    if ids:
        raise DeviceUnavailableError(f"{who}: device_ids={ids} names GPUs, and this build of "
                                     "ganglion runs on 'cpu' only; leave device_ids unset (the "
                                     "module then runs as it is, as PyTorch's does without GPUs)")
    return ids


class DataParallel(Module):
    """Runs ``module`` on the whole batch (no GPUs to split it over); ``.module`` is the model."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected a Module, got {type(module).__name__}")
        self.module = module
        self.device_ids = []  # as PyTorch's without GPUs, whatever device_ids says
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)


def data_parallel(module, inputs, device_ids=None, output_device=None, dim=0, module_kwargs=None):
    """``module(*inputs, **module_kwargs)``: the functional form of ``DataParallel``."""
    _check_device_ids(device_ids, "data_parallel")
    if not isinstance(inputs, tuple):
        inputs = (inputs,)
    return module(*inputs, **(module_kwargs or {}))


class DistributedDataParallel(Module):
    """Data-parallel training over the processes of ``ganglion.distributed`` (PyTorch's
    ``DistributedDataParallel``, on MPI).

    Every rank runs the same model on its own share of the data. At construction the
    parameters and buffers of rank 0 are copied to every rank; during ``backward()`` the
    gradients are averaged over the ranks in buckets of ``bucket_cap_mb`` megabytes, each
    bucket's non-blocking all-reduce starting as soon as backward has produced its gradients
    (see ``ganglion.distributed.reducer``). They are all waited on when backward ends, so
    ``optimizer.step()`` reads averaged gradients and every rank takes the same step.

    ``broadcast_buffers=True`` copies rank 0's buffers (BatchNorm running statistics) to every
    rank at each forward, as PyTorch's default. ``no_sync()`` skips the averaging (gradient
    accumulation: the next backward outside it averages the sum). A parameter that gets no
    gradient is an error naming it, unless ``find_unused_parameters=True`` (it then counts as
    zero). ``.module`` is the wrapped model; ``state_dict`` keys start with ``module.``.
    ``output_device``, ``dim``, ``process_group`` (there is one group, all ranks),
    ``check_reduction``, ``gradient_as_bucket_view`` and ``static_graph`` are accepted for
    PyTorch's signature and change nothing; ``device_ids`` naming GPUs is refused.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 process_group=None, bucket_cap_mb=25, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        from ganglion import distributed
        from ganglion.distributed.process_group import current_group
        from ganglion.distributed.reducer import GradientReducer
        who = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{who}: expected a Module, got {type(module).__name__}")
        _check_device_ids(device_ids, who)
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) \
                or not bucket_cap_mb > 0:
            raise ValueError(f"{who}: bucket_cap_mb must be a positive number of megabytes, got "
                             f"{bucket_cap_mb!r}")
        group = current_group(who)
        self.module = module
        self.device_ids = []
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        trainable = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        if not trainable:
            raise RuntimeError(f"{who} is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        _check_same_model_everywhere(group, module, who)
        with_values = [t for _, t in module.named_parameters()] + \
                      [t for _, t in module.named_buffers() if t is not None]
        if group.size > 1:
            _broadcast_coalesced(distributed, [t._data for t in with_values])
        object.__setattr__(self, "reducer", GradientReducer(
            trainable, group, bucket_cap_mb, find_unused_parameters, who))
        object.__setattr__(self, "_group", group)

    def forward(self, *inputs, **kwargs):
        from ganglion import distributed
        from ganglion.core.grad_mode import is_grad_enabled
        if self.broadcast_buffers and self.require_forward_param_sync and self._group.size > 1:
            buffers = [t._data for _, t in self.module.named_buffers() if t is not None]
            if buffers:
                _broadcast_coalesced(distributed, buffers)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.prepare_for_backward()
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Within this context backward accumulates gradients locally, without averaging; the
        first backward after it averages the accumulated sum."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous


def _check_same_model_everywhere(group, module, who):
    """Every rank wraps a model with the same parameter names, shapes and dtypes (the one
    mismatch MPI itself could not report)."""
    if group.comm is None:
        return
    mine = [(name, tuple(p.shape), str(p.dtype)) for name, p in module.named_parameters()]
    everyone = group.comm.allgather(mine)
    for rank, theirs in enumerate(everyone):
        if theirs != mine:
            differ = next(((a, b) for a, b in zip(mine, theirs) if a != b),
                          (f"{len(mine)} parameters", f"{len(theirs)} parameters"))
            raise RuntimeError(f"{who}: rank {group.rank} and rank {rank} wrap different models: "
                               f"{differ[0]} here, {differ[1]} there; every rank must build the "
                               "same model")


def _broadcast_coalesced(distributed, arrays):
    """Copy rank 0's ``arrays`` to every rank in place, one broadcast per dtype."""
    by_dtype = {}
    for a in arrays:
        by_dtype.setdefault(a.dtype, []).append(a)
    for dtype, group in by_dtype.items():
        flat = np.concatenate([a.reshape(-1) for a in group]) if group else np.empty(0, dtype)
        distributed.broadcast(flat, src=0)
        offset = 0
        for a in group:
            a[...] = flat[offset:offset + a.size].reshape(a.shape)
            bump_storage(a)
            offset += a.size
