"""``torch.nn.parallel`` for this CPU-only build: ``DataParallel`` and ``data_parallel``.

PyTorch's ``DataParallel`` splits a batch over GPUs; with no GPU (``device_ids`` empty, as on a
CPU-only PyTorch) it simply runs the wrapped module, and that is what it does here, so programs
that wrap their model when ``torch.cuda.device_count() > 1`` (or always) run unchanged. Its
``state_dict`` keys carry the ``module.`` prefix, as PyTorch's do. ``DataParallel`` ignores
``device_ids`` as PyTorch's does when no GPU is there; ``data_parallel`` with GPU ids is a
``DeviceUnavailableError`` (PyTorch's fails there too). ``DistributedDataParallel`` (several processes) belongs to the
data-parallel issue (MPI) and is refused by name until then.
"""
from ganglion.core.device import DeviceUnavailableError
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
    """Not yet: training over several processes comes with ganglion's MPI data-parallel work."""

    def __init__(self, module, *args, **kwargs):
        raise NotImplementedError("DistributedDataParallel: multi-process data-parallel training "
                                  "is not in this version of ganglion (it is planned on MPI); "
                                  "train in one process, or use DataParallel, which runs the "
                                  "module as it is")
