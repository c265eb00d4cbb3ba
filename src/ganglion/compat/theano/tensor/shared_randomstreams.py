"""Theano's ``RandomStreams``: symbolic random variables that draw new values on every call
of the compiled function that uses them.

Reference: Theano 1.0's ``theano/tensor/shared_randomstreams.py``. As there, every random
variable has its own NumPy ``RandomState``, seeded from the stream's seed generator, and
``rv.rng`` is a shared-variable-like handle on it: ``rv.rng.get_value(borrow=True)`` is the
RandomState (``get_state()`` / ``set_state()`` save and restore where the draws are), and
``rv.rng.set_value(random_state)`` replaces it. ``seed(s)`` reseeds every variable of the
stream. The numbers are NumPy's, not the ones Theano's own generator would give.
"""
import copy

import numpy as np

from ganglion.compat.theano.tensor.var import as_variable
from ganglion.symbolic.random import random_tensor

__all__ = ["RandomStreams", "RandomStateVariable"]


def _float_dtype(dtype):
    if dtype is not None:
        return dtype
    from ganglion.compat.theano.tensor import config
    return config.floatX


class RandomStreams:
    def __init__(self, seed=None):
        self.default_instance_seed = seed
        self.seed_generator = np.random.RandomState(seed)
        self.state_updates = []  # the RandomOp of each variable made, in order

    def seed(self, seed=None):
        """Restart the stream: every random variable made from it is reseeded, in the order
        they were made, from a seed generator started at ``seed``."""
        seed = self.default_instance_seed if seed is None else seed
        self.seed_generator = np.random.RandomState(seed)
        for op in self.state_updates:
            op.generator = np.random.RandomState(self._next_seed())

    def _next_seed(self):
        return int(self.seed_generator.randint(2 ** 30))

    def _draw(self, distribution, size, params, dtype):
        variable = as_variable(random_tensor(distribution, size, params, dtype,
                                             np.random.RandomState(self._next_seed())))
        self.state_updates.append(variable._op)
        return variable

    # Parameters given as symbolic tensors (SdA.py's ``p=1 - corruption_level`` with a scalar
    # input) cannot go to NumPy's draw, which runs with constants: the variable is then a
    # standard draw (uniform on [0, 1), standard normal) transformed by the symbolic parameters.
    def uniform(self, size=(), low=0.0, high=1.0, ndim=None, dtype=None):
        dtype = _float_dtype(dtype)
        if _any_tensor(low, high):
            unit = self._draw("uniform", size, (0.0, 1.0), dtype)
            return as_variable((low + (high - low) * unit).type_as(unit))
        return self._draw("uniform", size, (low, high), dtype)

    def normal(self, size=(), avg=0.0, std=1.0, ndim=None, dtype=None):
        dtype = _float_dtype(dtype)
        if _any_tensor(avg, std):
            unit = self._draw("normal", size, (0.0, 1.0), dtype)
            return as_variable((avg + std * unit).type_as(unit))
        return self._draw("normal", size, (avg, std), dtype)

    def binomial(self, size=(), n=1, p=0.5, ndim=None, dtype="int64"):
        if _any_tensor(n):
            raise TypeError("binomial: n must be a Python int (the number of trials), got a "
                            "symbolic tensor; only p may be symbolic")
        if _any_tensor(p):
            # A sum of n Bernoulli(p) draws, each one a uniform draw compared with p.
            unit = self._draw("uniform", size, (0.0, 1.0), _float_dtype(None))
            successes = (unit < p).to(dtype=_as_ganglion_dtype(dtype))
            for _ in range(int(n) - 1):
                successes = successes + (self._draw("uniform", size, (0.0, 1.0),
                                                    _float_dtype(None)) < p).to(
                    dtype=_as_ganglion_dtype(dtype))
            return as_variable(successes)
        return self._draw("binomial", size, (n, p), dtype)


def _any_tensor(*values):
    from ganglion.core.tensor import Tensor
    return any(isinstance(value, Tensor) for value in values)


def _as_ganglion_dtype(dtype):
    from ganglion.core import dtypes
    return dtypes.as_dtype(dtype)


class RandomStateVariable:
    """``rv.rng``: the RandomState a random variable draws from, as a shared variable holds a
    value (``get_value`` / ``set_value``)."""

    def __init__(self, op):
        self.op = op

    @property
    def name(self):
        return f"rng of {self.op.name}"

    def get_value(self, borrow=False):
        """The RandomState (a copy unless ``borrow``: changing the copy changes nothing)."""
        return self.op.generator if borrow else copy.deepcopy(self.op.generator)

    def set_value(self, value, borrow=False):
        """Draw from ``value`` (a RandomState, or a state tuple from ``get_state()``) from now on."""
        if isinstance(value, tuple):
            state = np.random.RandomState()
            state.set_state(value)
            value = state
        if not isinstance(value, (np.random.RandomState, np.random.Generator)):
            raise TypeError(f"set_value: a random variable's rng takes a numpy RandomState, got "
                            f"{type(value).__name__}")
        self.op.generator = value if borrow else copy.deepcopy(value)
