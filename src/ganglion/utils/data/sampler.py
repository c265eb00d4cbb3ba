"""``torch.utils.data.sampler``: the samplers of ``ganglion.data`` under their module path, for
``from torch.utils.data.sampler import SubsetRandomSampler`` style imports."""
from ganglion.data.samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                                    SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]
