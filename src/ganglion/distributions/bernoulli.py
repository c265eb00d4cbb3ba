"""``Bernoulli(probs=None, logits=None)``: 1 with probability ``probs``, else 0.

``log_prob`` and ``entropy`` are written as PyTorch's (a binary cross entropy with logits),
through ``softplus`` so that their gradients are right everywhere, the logit 0 included.
"""
import numpy as np

from ganglion.core.creation import tensor
from ganglion.core.ops import softplus, where
from ganglion.core.random import generator
from ganglion.core.tensor import make_tensor
from ganglion.distributions import constraints
from ganglion.distributions.categorical import logits_to_probs, probs_to_logits
from ganglion.distributions.distribution import Distribution, broadcast_all, lazy_property

__all__ = ["Bernoulli"]


def _bce_with_logits(logits, target):
    """-(target * log(sigmoid(x)) + (1 - target) * log(1 - sigmoid(x))), elementwise."""
    return softplus(logits) - logits * target


class Bernoulli(Distribution):
    """``Bernoulli(probs=None, logits=None, validate_args=None)``: exactly one of ``probs``
    (in [0, 1]) or ``logits`` (log odds), numbers or tensors."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both. "
                             "(Bernoulli)")
        if probs is not None:
            (self.probs,) = broadcast_all("Bernoulli", probs)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all("Bernoulli", logits)
            self._param = self.logits
        super().__init__(tuple(self._param.shape), (), validate_args)

    @lazy_property
    def logits(self):
        """Log odds: ``log(p) - log(1 - p)``."""
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        """The probability of 1: ``sigmoid(logits)``."""
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return tuple(self._param.shape)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return where(self.probs == 0.5, float("nan"), mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        """0s and 1s of the parameters' dtype, shaped ``sample_shape + batch_shape``."""
        shape = self._extended_shape(sample_shape)
        probs = self.probs._data
        if probs is None:
            raise RuntimeError("Bernoulli.sample: the probabilities are symbolic; sampling "
                               "needs values")
        uniform = generator().random(shape)
        return make_tensor((uniform < probs).astype(probs.dtype))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all("Bernoulli.log_prob", self.logits, value)
        return -_bce_with_logits(logits, value)

    def entropy(self):
        return _bce_with_logits(self.logits, self.probs)

    def enumerate_support(self, expand=True):
        """The values 0 and 1 along a new first dimension."""
        values = tensor(np.array([0.0, 1.0]), dtype=self._param.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((2,) + self._batch_shape)
        return values
