"""``Uniform(low, high)``: the uniform distribution on [low, high), reparameterisable."""
import numpy as np

from ganglion.backend import current as backend
from ganglion.core.creation import full
from ganglion.core.ops import log, where
from ganglion.core.random import generator
from ganglion.core.tensor import make_tensor
from ganglion.distributions import constraints
from ganglion.distributions.distribution import Distribution, broadcast_all

__all__ = ["Uniform"]


class Uniform(Distribution):
    """``Uniform(low, high, validate_args=None)``: numbers or tensors, broadcast together;
    ``low < high`` everywhere."""

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all("Uniform", low, high)
        super().__init__(tuple(self.low.shape), (), validate_args)

    @property
    def arg_constraints(self):
        # Each bound is constrained by the other, as in PyTorch (low is checked first).
        return {"low": constraints.less_than(self.high._data),
                "high": constraints.greater_than(self.low._data)}

    @property
    def support(self):
        return constraints.interval(self.low._data, self.high._data)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return full(self._batch_shape, float("nan"), dtype=self.low.dtype)

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()):
        """``low + u * (high - low)`` with ``u`` uniform in [0, 1): differentiable in the
        bounds."""
        shape = self._extended_shape(sample_shape)
        u = make_tensor(backend.xp.asarray(generator().random(shape), dtype=self.low.dtype.np))
        return self.low + u * (self.high - self.low)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = (self.low <= value).logical_and(self.high > value)
        return where(inside, -log(self.high - self.low), -np.inf)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return log(self.high - self.low)
