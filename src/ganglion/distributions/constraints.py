"""Constraints: the sets that a distribution's parameters and values must lie in.

They are PyTorch's (``torch.distributions.constraints``) under the same names and reprs, so that
error messages read the same. ``check(array)`` runs on a NumPy array and returns a boolean array
of the batch shape (one vectorised pass: ``validate_args`` must stay cheap); ``event_dim`` is the
number of rightmost dimensions that one check covers (1 for a probability vector).
"""
import numpy as np

__all__ = ["Constraint", "real", "positive", "unit_interval", "simplex", "boolean",
           "integer_interval", "interval", "less_than", "greater_than", "independent",
           "real_vector", "lower_cholesky"]


class Constraint:
    """A set of values; ``check`` says which elements (or events) belong to it."""
    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError(f"{type(self).__name__}.check")

    def __repr__(self):
        return type(self).__name__[1:] + "()"


class _Real(Constraint):
    def check(self, value):
        return value == value  # every number but nan (inf is a real here, as in PyTorch)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return self.lower_bound < value

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self):
        return f"LessThan(upper_bound={_short(self.upper_bound)})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self):
        return (f"Interval(lower_bound={_short(self.lower_bound)}, "
                f"upper_bound={_short(self.upper_bound)})")


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (value % 1 == 0) & (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self):
        return (f"IntegerInterval(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return np.all(value >= 0, axis=-1) & (np.abs(value.sum(-1) - 1) < 1e-6)


class _Independent(Constraint):
    """``base`` with ``reinterpreted_batch_ndims`` more dimensions checked as one event."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.event_dim = base_constraint.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        result = self.base_constraint.check(value)
        if self.reinterpreted_batch_ndims:
            result = result.reshape(result.shape[:result.ndim - self.reinterpreted_batch_ndims]
                                    + (-1,)).all(-1)
        return result

    def __repr__(self):
        return (f"IndependentConstraint({self.base_constraint!r}, "
                f"{self.reinterpreted_batch_ndims})")


class _LowerCholesky(Constraint):
    """Lower-triangular square matrices with a positive diagonal."""
    event_dim = 2

    def check(self, value):
        lower = (np.triu(value, 1) == 0).reshape(value.shape[:-2] + (-1,)).all(-1)
        positive = (np.diagonal(value, axis1=-2, axis2=-1) > 0).all(-1)
        return lower & positive


def _short(bound):
    """A bound as a repr shows it: a number, or the shape of an array of bounds."""
    if isinstance(bound, np.ndarray):
        return float(bound) if bound.size == 1 else f"array of shape {bound.shape}"
    return bound


real = _Real()
positive = _GreaterThan(0.0)
unit_interval = _Interval(0.0, 1.0)
simplex = _Simplex()
boolean = _Boolean()
real_vector = _Independent(real, 1)
lower_cholesky = _LowerCholesky()
integer_interval = _IntegerInterval
interval = _Interval
less_than = _LessThan
greater_than = _GreaterThan
independent = _Independent
