"""``torch.utils.data.distributed``: DistributedSampler of ``ganglion.data``."""
from ganglion.data.samplers import DistributedSampler

__all__ = ["DistributedSampler"]
