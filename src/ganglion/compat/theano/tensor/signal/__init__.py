"""Theano's ``theano.tensor.signal``: pooling (``signal.pool.pool_2d``)."""
from ganglion.compat.theano.tensor.signal import pool

__all__ = ["pool"]
