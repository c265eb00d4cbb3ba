"""``SyncBatchNorm``: batch normalization whose training statistics are those of the whole
global batch, over every rank of ``ganglion.distributed`` (PyTorch's ``nn.SyncBatchNorm``).

With ``DistributedDataParallel`` each rank sees only its share of a batch; plain BatchNorm then
normalizes with the share's mean and variance, which differ from rank to rank and are noisy for
small shares. Here the per-channel sums are all-reduced (``all_reduce_mean``, an op whose
gradient is the same average, so backward sums the statistics' gradients over the ranks too):
the mean first, then the mean squared deviation from it (two passes, as stable as one
process's BatchNorm). The result, the running statistics and, after DDP's averaging, the
gradients equal one process's BatchNorm on the concatenated batch. Outside training, or with
no process group of several ranks, it is BatchNorm. Shares may differ in size (the counts are
summed).
"""
import numpy as np

from ganglion.core.grad_mode import no_grad
from ganglion.nn.layers.normalization import _BatchNorm
from ganglion.nn.module import Module

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over the global batch of all ranks; input (N, C, ...)."""
    ranks = (2, 3, 4, 5)
    expected = "(N, {C}, ...)"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias)
        self.process_group = process_group

    def forward(self, input):
        from ganglion import distributed
        if not (self.training and distributed.is_initialized()
                and distributed.get_world_size() > 1):
            return super().forward(input)
        self._check_input(input)
        size = distributed.get_world_size()
        dims = (0,) + tuple(range(2, input.ndim))
        shape = (1, self.num_features) + (1,) * (input.ndim - 2)
        counts = np.array([input.numel() // self.num_features], np.float64)
        distributed.all_reduce(counts)
        total = float(counts[0])  # examples x positions over all ranks
        # sum over ranks = mean over ranks x size
        mean = distributed.all_reduce_mean(input.sum(dim=dims)) * (size / total)
        centered = input - mean.reshape(shape)
        var = distributed.all_reduce_mean((centered * centered).sum(dim=dims)) * (size / total)
        out = centered / (var.reshape(shape) + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight.reshape(shape)
        if self.bias is not None:
            out = out + self.bias.reshape(shape)
        if self.track_running_stats:
            self._update_running_statistics(mean, var, total)
        return out

    @no_grad()
    def _update_running_statistics(self, mean, var, total):
        self.num_batches_tracked.add_(1)
        momentum = self.momentum
        if momentum is None:  # a cumulative average, as BatchNorm
            momentum = 1.0 / float(self.num_batches_tracked.item())
        unbiased = var * (total / max(total - 1, 1))
        dtype = self.running_mean.dtype
        self.running_mean.mul_(1 - momentum).add_(mean.to(dtype) * momentum)
        self.running_var.mul_(1 - momentum).add_(unbiased.to(dtype) * momentum)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d (not InstanceNorm) replaced by a SyncBatchNorm
        holding the same parameters and buffers (PyTorch's classmethod)."""
        from ganglion.nn.layers.normalization import BatchNorm1d, BatchNorm2d
        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group,
                            bias=module.bias is not None)
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(converted, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                converted.register_buffer(name, getattr(module, name))
            converted.train(module.training)
            return converted
        if isinstance(module, Module):
            for name, child in list(module._modules.items()):
                if child is not None:
                    setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module
