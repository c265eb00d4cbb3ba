"""Theano's ``RandomStreams``: symbolic random variables that draw new values on every call
of the compiled function that uses them."""
import numpy as np

from ganglion.symbolic.random import random_tensor

__all__ = ["RandomStreams"]


class RandomStreams:
    def __init__(self, seed=None):
        self.generator = np.random.default_rng(seed)

    def seed(self, seed):
        """Restart the stream (it affects every random variable made from it)."""
        self.generator.bit_generator.state = np.random.default_rng(seed).bit_generator.state

    def uniform(self, size=(), low=0.0, high=1.0, dtype="float64"):
        return random_tensor("uniform", size, (low, high), dtype, self.generator)

    def normal(self, size=(), avg=0.0, std=1.0, dtype="float64"):
        return random_tensor("normal", size, (avg, std), dtype, self.generator)

    def binomial(self, size=(), n=1, p=0.5, dtype="int64"):
        return random_tensor("binomial", size, (n, p), dtype, self.generator)
