"""Where batch normalization's fused ops used to live: they are ``ganglion.core.ops.nn.batch_norm``
now, and this module re-exports them so that existing imports keep working."""
from ganglion.core.ops.nn.batch_norm import (BatchNormalize, BatchStatistics, ChannelSum,
                                             batch_normalize, batch_statistics, channel_sum,
                                             element_count)

__all__ = ["BatchNormalize", "BatchStatistics", "ChannelSum", "batch_normalize",
           "batch_statistics", "channel_sum", "element_count"]
