"""Theano's ``theano.sandbox``: ``rng_mrg.MRG_RandomStreams``."""
from ganglion.compat.theano.sandbox import rng_mrg

__all__ = ["rng_mrg"]
