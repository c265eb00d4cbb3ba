"""``torch.utils.data.distributed``: DistributedSampler of ``ganglion.data``."""
from ganglion.data.distributed_sampler import DistributedSampler

__all__ = ["DistributedSampler"]
