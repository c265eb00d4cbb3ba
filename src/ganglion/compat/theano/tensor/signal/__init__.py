"""Theano's ``theano.tensor.signal``: pooling (``signal.pool.pool_2d``, and the older
``signal.downsample.max_pool_2d``)."""
from ganglion.compat.theano.tensor.signal import downsample, pool

__all__ = ["pool", "downsample"]
