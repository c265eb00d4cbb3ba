"""``Distribution``: the base class of ganglion's probability distributions (PyTorch's API).

A distribution has a ``batch_shape`` (independent distributions side by side, from its
parameters' shapes) and an ``event_shape`` (the shape of one draw: () for scalars).
``sample(sample_shape)`` returns ``sample_shape + batch_shape + event_shape`` values without a
graph; ``rsample`` (where ``has_rsample``) returns them as a differentiable function of the
parameters (the reparameterisation trick). ``log_prob(value)`` has the shape of ``value``
without its event dimensions.

With ``validate_args`` (on by default, as in PyTorch; ``Distribution.set_default_validate_args``
changes the default) the constructor checks each parameter against its constraint, and
``log_prob``/``cdf`` check that the value fits the shapes and lies in the support, raising
PyTorch's ValueErrors. Each check is one vectorised NumPy pass; symbolic tensors (no value yet)
are not checked.
"""
import numbers

import numpy as np

from ganglion.core.creation import tensor
from ganglion.core.dtypes import get_default_dtype
from ganglion.core.grad_mode import no_grad
from ganglion.core.op import broadcast_shapes
from ganglion.core.ops import (broadcast_to, eq, exp, logical_and, logical_or, ne, sqrt,
                               where)
from ganglion.core.tensor import Tensor

__all__ = ["Distribution", "broadcast_all", "lazy_property", "sum_rightmost", "sample_shape_of"]


class lazy_property:
    """A property computed once, on first use, then kept in the instance's ``__dict__``.
    Categorical(probs=...) computes its ``logits`` only when asked, and the other way round;
    parameter validation skips a parameter not yet computed (as PyTorch's does)."""

    def __init__(self, method):
        self.method = method
        self.__doc__ = method.__doc__
        self.name = method.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.method(instance)
        instance.__dict__[self.name] = value
        return value


class Distribution:
    """Base class: subclasses set ``arg_constraints``, ``support``, ``has_rsample`` and
    implement what they can of ``rsample``/``sample``, ``log_prob``, ``cdf``, ``icdf``,
    ``entropy``, ``mean``, ``mode`` and ``variance``."""

    has_rsample = False
    has_enumerate_support = False
    arg_constraints = {}
    support = None
    _validate_args = __debug__  # PyTorch's default: on, unless Python runs with -O

    @staticmethod
    def set_default_validate_args(value):
        """Turn argument and sample validation on or off for distributions made afterwards
        that do not say ``validate_args=``."""
        if value not in (True, False):
            raise ValueError(f"Distribution.set_default_validate_args: expected True or False, "
                             f"got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = tuple(batch_shape)
        self._event_shape = tuple(event_shape)
        if validate_args is not None:
            self._validate_args = bool(validate_args)
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if isinstance(getattr(type(self), name, None), lazy_property) \
                        and name not in self.__dict__:
                    continue  # not given, so computed from a parameter already checked
                value = getattr(self, name)
                array = value._data if isinstance(value, Tensor) else None
                if array is None:
                    continue  # symbolic: no value to check yet
                if not np.all(constraint.check(array)):
                    raise ValueError(
                        f"Expected parameter {name} ({type(value).__name__} of shape "
                        f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                        f"constraint {constraint!r}, but found invalid values:\n{value}")

    # ----- shapes -----------------------------------------------------------------------------
    @property
    def batch_shape(self):
        """The shape over which parameters are batched."""
        return self._batch_shape

    @property
    def event_shape(self):
        """The shape of a single sample (without batching)."""
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        """``sample_shape + batch_shape + event_shape``: the shape of ``sample(sample_shape)``."""
        return sample_shape_of(type(self).__name__, sample_shape) + self._batch_shape \
            + self._event_shape

    # ----- sampling ---------------------------------------------------------------------------
    def sample(self, sample_shape=()):
        """Draw ``sample_shape`` batches of samples, without a graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """Draw reparameterised samples, differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample: it is not "
                                  "reparameterizable (has_rsample is False); use sample() and "
                                  "a score-function estimator with log_prob()")

    def sample_n(self, n):
        """``sample((n,))``."""
        return self.sample((n,))

    # ----- values -----------------------------------------------------------------------------
    def log_prob(self, value):
        """The log of the density (or mass) at ``value``."""
        raise NotImplementedError(f"{type(self).__name__}.log_prob is not implemented")

    def cdf(self, value):
        """The cumulative distribution function at ``value``."""
        raise NotImplementedError(f"{type(self).__name__}.cdf is not implemented")

    def icdf(self, value):
        """The inverse of the cumulative distribution function at ``value``."""
        raise NotImplementedError(f"{type(self).__name__}.icdf is not implemented")

    def entropy(self):
        """The entropy, one value per batch element."""
        raise NotImplementedError(f"{type(self).__name__}.entropy is not implemented")

    def perplexity(self):
        """``exp(entropy())``."""
        return exp(self.entropy())

    def enumerate_support(self, expand=True):
        """Every value of a discrete distribution, along a new first dimension."""
        raise NotImplementedError(f"{type(self).__name__}.enumerate_support is not implemented")

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__}.mean is not implemented")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__}.mode is not implemented")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__}.variance is not implemented")

    @property
    def stddev(self):
        """The standard deviation: the square root of ``variance``."""
        return sqrt(self.variance)

    # ----- validation -------------------------------------------------------------------------
    def _validate_sample(self, value):
        """PyTorch's checks of a value given to log_prob/cdf: a Tensor, whose rightmost
        dimensions are the event shape, broadcastable with the batch shape, in the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor (got "
                             f"{type(value).__name__}; {type(self).__name__}.log_prob)")
        shape = tuple(value.shape)
        event_start = len(shape) - len(self._event_shape)
        if not _same_sizes(shape[event_start:], self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: {shape} vs "
                             f"{self._event_shape}.")
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j and i is not None and j is not None:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{shape} vs {expected}.")
        array = value._data
        if array is None or self.support is None:
            return
        if not np.all(self.support.check(array)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {shape}) "
                             f"to be within the support ({self.support!r}) of the distribution "
                             f"{self!r}, but found invalid values:\n{value}")

    def __repr__(self):
        shown = []
        for name in self.arg_constraints:
            value = self.__dict__.get(name)
            if isinstance(value, Tensor):
                size = 1
                for n in value.shape:
                    size *= n
                text = (f"{float(value._data.reshape(-1)[0])}"
                        if size == 1 and value._data is not None else f"{tuple(value.shape)}")
                shown.append(f"{name}: {text}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _same_sizes(shape, expected):
    """Whether two shapes agree, a size None (symbolic, unknown until run) matching any."""
    return len(shape) == len(expected) and all(
        a == b or a is None or b is None for a, b in zip(shape, expected))


def sample_shape_of(name, sample_shape):
    """``sample_shape`` as a tuple of non-negative ints; TypeError naming the distribution for
    anything else (PyTorch takes a torch.Size, a tuple or a list)."""
    if isinstance(sample_shape, (tuple, list)) and all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 0
            for n in sample_shape):
        return tuple(int(n) for n in sample_shape)
    hint = f"; pass ({sample_shape},)" if isinstance(sample_shape, numbers.Integral) else ""
    raise TypeError(f"{name}.sample: sample_shape must be a tuple of non-negative ints (a "
                    f"torch.Size), got {sample_shape!r}{hint}")


def broadcast_all(name, *values):
    """The parameters as Tensors of one shape: numbers become tensors of the first float
    tensor's dtype (the default dtype if there is none), as in PyTorch's ``broadcast_all``;
    then every one is broadcast to the common shape (RuntimeError if they do not broadcast)."""
    dtype = None
    for v in values:
        if isinstance(v, Tensor):
            if dtype is None and v.dtype.is_floating_point:
                dtype = v.dtype
        elif not isinstance(v, numbers.Number) or isinstance(v, bool):
            raise ValueError(f"{name}: Input arguments must all be instances of numbers.Number "
                             f"or Tensor, got {type(v).__name__}")
    dtype = dtype or get_default_dtype()
    tensors = [v if isinstance(v, Tensor) else tensor(v, dtype=dtype) for v in values]
    shape = broadcast_shapes(name, *[t.shape for t in tensors])
    if None in shape:
        # Symbolic, with sizes known only when it runs, which broadcast_to cannot take: an
        # all-true mask of the full shape (x == x or x != x, no arithmetic on the values)
        # broadcasts each through where(), whose gradient sums back to the parameter's shape.
        everywhere = None
        for t in tensors:
            true_here = logical_or(eq(t, t), ne(t, t))
            everywhere = true_here if everywhere is None else logical_and(everywhere, true_here)
        return [where(everywhere, t, t) for t in tensors]
    return [t if tuple(t.shape) == tuple(shape) else broadcast_to(t, shape) for t in tensors]


def sum_rightmost(value, dims):
    """``value`` summed over its last ``dims`` dimensions."""
    if dims == 0:
        return value
    return value.reshape(tuple(value.shape[:value.ndim - dims]) + (-1,)).sum(-1)
