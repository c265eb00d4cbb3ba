"""``Categorical(probs=None, logits=None)``: one of ``K`` classes, with given probabilities.

Either parameter may be given (the other is computed when first used): ``probs`` is
normalised to sum to 1 over its last dimension, ``logits`` to ``log_softmax`` form, as PyTorch
does. Sampling inverts the cumulative probabilities with one ``searchsorted`` over all rows
(each row shifted by its index, so that the rows do not overlap), so a class of probability
zero is never drawn.
"""
import numpy as np

from ganglion.core.creation import arange, full
from ganglion.core.op import broadcast_shapes
from ganglion.core.ops import broadcast_to, clamp, gather, log, logsumexp, softmax
from ganglion.core.random import generator
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.distributions import constraints
from ganglion.distributions.distribution import Distribution, lazy_property

__all__ = ["Categorical", "clamp_probs", "probs_to_logits", "logits_to_probs"]


def clamp_probs(probs):
    """``probs`` clamped to [eps, 1 - eps] (eps of its dtype), so that logs stay finite."""
    eps = float(np.finfo(probs.dtype.np).eps)
    return clamp(probs, min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Logits of probabilities: ``log(p)`` (or ``log(p) - log1p(-p)`` for a binary one)."""
    clamped = clamp_probs(probs)
    if is_binary:
        return log(clamped) - log(1 - clamped)
    return log(clamped)


def logits_to_probs(logits, is_binary=False):
    """Probabilities of logits: ``softmax`` over the last dimension (``sigmoid`` if binary)."""
    if is_binary:
        return logits.sigmoid()
    return softmax(logits, -1)


def _parameter(name, value):
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}: the parameter must be a Tensor, got {type(value).__name__}")
    return value


class Categorical(Distribution):
    """``Categorical(probs=None, logits=None, validate_args=None)``: exactly one of ``probs``
    (non-negative, normalised over the last dimension) or ``logits`` (unnormalised log
    probabilities). The last dimension indexes the classes; the others are the batch."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both. "
                             "(Categorical)")
        if probs is not None:
            if _parameter("Categorical", probs).ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional. "
                                 f"(Categorical: got shape {tuple(probs.shape)})")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            if _parameter("Categorical", logits).ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional. "
                                 f"(Categorical: got shape {tuple(logits.shape)})")
            self.logits = logits - logsumexp(logits, dim=-1, keepdim=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(tuple(self._param.shape[:-1]), (), validate_args)

    @lazy_property
    def logits(self):
        """Normalised log probabilities (``log_softmax`` form)."""
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        """Probabilities, summing to 1 over the last dimension."""
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return tuple(self._param.shape)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self):
        return full(self._batch_shape, float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return full(self._batch_shape, float("nan"), dtype=self.probs.dtype)

    def sample(self, sample_shape=()):
        """Class indices (int64) of shape ``sample_shape + batch_shape``."""
        shape = self._extended_shape(sample_shape)
        probs = self.probs._data
        if probs is None:
            raise RuntimeError("Categorical.sample: the probabilities are symbolic; sampling "
                               "needs values")
        n = self._num_events
        rows = probs.reshape(-1, n).astype(np.float64)
        cumulative = np.cumsum(rows, axis=-1)
        cumulative /= cumulative[:, -1:]  # the last entry is then exactly 1
        count = len(rows)
        draws = int(np.prod(shape[:len(shape) - len(self._batch_shape)], dtype=np.int64))
        offsets = np.arange(count, dtype=np.float64)
        uniform = generator().random((draws, count))
        index = np.searchsorted((cumulative + offsets[:, None]).reshape(-1),
                                uniform + offsets, side="right")
        index = np.minimum(index - np.arange(count) * n, n - 1)
        return make_tensor(index.astype(np.int64).reshape(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long().unsqueeze(-1)
        shape = broadcast_shapes("Categorical.log_prob", tuple(value.shape),
                                 tuple(self.logits.shape))
        logits = self.logits
        if None in shape:
            # Symbolic sizes, known only when it runs: the value must have the batch's shape.
            if value.ndim != logits.ndim:
                raise ValueError(f"Categorical.log_prob: in a symbolic graph the value must have "
                                 f"the batch shape {self._batch_shape}, got shape "
                                 f"{tuple(value.shape)[:-1]}")
            return gather(logits, -1, value).squeeze(-1)
        if tuple(logits.shape) != tuple(shape):
            logits = broadcast_to(logits, shape)
        index = broadcast_to(value, tuple(shape[:-1]) + (1,))
        return gather(logits, -1, index).squeeze(-1)

    def entropy(self):
        # A class of probability 0 has logit -inf; clamping it keeps 0 * logit at 0.
        logits = clamp(self.logits, min=float(np.finfo(self.logits.dtype.np).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        """``arange(K)`` along a new first dimension, expanded over the batch if ``expand``."""
        values = arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = broadcast_to(values, (self._num_events,) + self._batch_shape)
        return values
