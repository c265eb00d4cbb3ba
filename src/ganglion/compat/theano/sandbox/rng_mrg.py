"""Theano's ``theano.sandbox.rng_mrg.MRG_RandomStreams``, the random streams most Theano code
uses (dropout, denoising autoencoders).

Reference: Theano 1.0's ``theano/sandbox/rng_mrg.py``. The API is Theano's (``uniform``,
``normal``, ``binomial``, ``seed``; ``dtype`` defaults to config.floatX except for binomial,
whose int64 default Theano code overrides with ``dtype=theano.config.floatX`` for masks); the
draws come from NumPy's generator as in ``shared_randomstreams.RandomStreams``, not from
Theano's MRG31k3p, so the numbers differ from Theano's while their distribution is the same.
"""
from ganglion.compat.theano.tensor.shared_randomstreams import RandomStreams

__all__ = ["MRG_RandomStreams"]


class MRG_RandomStreams(RandomStreams):
    """``MRG_RandomStreams(seed=12345)``: Theano's default seed."""

    def __init__(self, seed=12345):
        super().__init__(seed)

    def uniform(self, size, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None, **kwargs):
        return super().uniform(size, low, high, ndim, dtype)

    def normal(self, size, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None,
               truncate=False, **kwargs):
        if truncate:
            raise NotImplementedError("MRG_RandomStreams.normal: truncate=True is not supported")
        return super().normal(size, avg, std, ndim, dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None, **kwargs):
        if size is None:
            raise ValueError("MRG_RandomStreams.binomial: give size=")
        return super().binomial(size, n, p, ndim, dtype)
