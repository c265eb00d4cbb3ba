"""``MultivariateNormal(loc, scale_tril=...)``: the Gaussian over vectors, by its Cholesky factor.

The covariance is ``L @ L.T`` for the lower-triangular ``scale_tril`` L with a positive
diagonal. ``log_prob`` needs the Mahalanobis distance ``|L^-1 (x - loc)|^2``: the triangular
solve is an op of its own here (``TriangularSolve``, forward by NumPy's batched solve, vjp by
the standard formulas: for ``X = L^-1 B``, ``dB = L^-T dX`` and ``dL = -tril(dB X^T)``), so
gradients reach ``loc``, ``scale_tril`` and the value. Only ``scale_tril`` is taken as the
parameter: a ``covariance_matrix`` or ``precision_matrix`` needs a differentiable Cholesky
factorisation, which the op library does not have yet.
"""
import math

import numpy as np

from ganglion.backend import current as backend
from ganglion.core.creation import eye
from ganglion.core.op import Op, apply, broadcast_shapes
from ganglion.core.ops import broadcast_to, log, matmul, transpose, where
from ganglion.core.random import generator
from ganglion.core.tensor import Tensor, TensorType, make_tensor
from ganglion.distributions import constraints
from ganglion.distributions.distribution import Distribution

__all__ = ["MultivariateNormal", "solve_triangular"]


class TriangularSolve(Op):
    """``X`` with ``L X = B`` (``L^T X = B`` if ``transpose``) for a lower-triangular ``L`` of
    shape (..., n, n) and ``B`` of shape (..., n, k), the same leading dimensions."""
    __slots__ = ("transpose",)

    def __init__(self, transpose=False):
        self.transpose = transpose

    def infer(self, lower, b):
        return TensorType(b.dtype, b.shape)

    def forward(self, backend, lower, b):
        matrix = np.swapaxes(lower, -1, -2) if self.transpose else lower
        return np.linalg.solve(matrix, b).astype(b.dtype, copy=False)

    def vjp(self, out, grad, needs):
        lower, _ = out._inputs
        grad_b = apply(TriangularSolve(not self.transpose), lower, grad)
        if self.transpose:  # X = L^-T B: dL = -X dB^T
            grad_lower = -matmul(out, transpose(grad_b, -1, -2))
        else:               # X = L^-1 B: dL = -dB X^T
            grad_lower = -matmul(grad_b, transpose(out, -1, -2))
        n = lower.shape[-1]
        below = make_tensor(np.tril(np.ones((n, n), dtype=bool)))
        return (where(below, grad_lower, 0.0) if needs[0] else None,
                grad_b if needs[1] else None)


def solve_triangular(lower, b):
    """``L^-1 B`` for lower-triangular ``lower`` (..., n, n) and ``b`` (..., n, k), broadcast
    over their leading dimensions; differentiable in both."""
    batch = broadcast_shapes("solve_triangular", tuple(lower.shape[:-2]), tuple(b.shape[:-2]))
    lower = broadcast_to(lower, tuple(batch) + tuple(lower.shape[-2:]))
    b = broadcast_to(b, tuple(batch) + tuple(b.shape[-2:]))
    return apply(TriangularSolve(), lower, b)


def _diagonal(matrix):
    """The diagonals of a batch of square matrices (differentiable: a masked sum)."""
    n = matrix.shape[-1]
    return (matrix * eye(n, dtype=matrix.dtype)).sum(-1)


def _mahalanobis(lower, diff):
    """``|L^-1 diff|^2`` over the last dimension, broadcast over the leading ones."""
    solved = solve_triangular(lower, diff.unsqueeze(-1)).squeeze(-1)
    return (solved * solved).sum(-1)


class MultivariateNormal(Distribution):
    """``MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None,
    scale_tril=None, validate_args=None)``: ``loc`` (..., k) and ``scale_tril`` (..., k, k),
    broadcast over their batch dimensions. Only ``scale_tril`` is supported."""

    arg_constraints = {"loc": constraints.real_vector, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if not isinstance(loc, Tensor):
            raise TypeError(f"MultivariateNormal: loc must be a Tensor, got "
                            f"{type(loc).__name__}")
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional. (MultivariateNormal)")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified. (MultivariateNormal)")
        if scale_tril is None:
            raise NotImplementedError("MultivariateNormal: only scale_tril is supported (a "
                                      "covariance_matrix or precision_matrix needs a "
                                      "differentiable Cholesky factorisation); pass "
                                      "scale_tril=L with L @ L.T the covariance")
        if not isinstance(scale_tril, Tensor):
            raise TypeError(f"MultivariateNormal: scale_tril must be a Tensor, got "
                            f"{type(scale_tril).__name__}")
        if scale_tril.ndim < 2:
            raise ValueError("scale_tril matrix must be at least two-dimensional, with optional "
                             f"leading batch dimensions (MultivariateNormal: got shape "
                             f"{tuple(scale_tril.shape)})")
        k = loc.shape[-1]
        if tuple(scale_tril.shape[-2:]) != (k, k):
            raise ValueError(f"MultivariateNormal: scale_tril has shape "
                             f"{tuple(scale_tril.shape)}, but loc has {k} entries, so it must "
                             f"end in ({k}, {k})")
        batch_shape = tuple(broadcast_shapes("MultivariateNormal", tuple(scale_tril.shape[:-2]),
                                             tuple(loc.shape[:-1])))
        self._unbroadcasted_scale_tril = scale_tril
        self.scale_tril = _expanded(scale_tril, batch_shape + (k, k))
        self.loc = _expanded(loc, batch_shape + (k,))
        super().__init__(batch_shape, (k,), validate_args)

    @property
    def covariance_matrix(self):
        return matmul(self.scale_tril, transpose(self.scale_tril, -1, -2))

    @property
    def precision_matrix(self):
        k = self._event_shape[0]
        inverse = solve_triangular(self._unbroadcasted_scale_tril,
                                   eye(k, dtype=self.loc.dtype))  # L^-1
        return _expanded(matmul(transpose(inverse, -1, -2), inverse),
                         self._batch_shape + (k, k))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return _expanded((self._unbroadcasted_scale_tril ** 2).sum(-1),
                         self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()):
        """``loc + L @ eps`` with standard normal ``eps``: differentiable in the parameters."""
        shape = self._extended_shape(sample_shape)
        noise = generator().standard_normal(shape)
        eps = make_tensor(backend.xp.asarray(noise, dtype=self.loc.dtype.np))
        return self.loc + matmul(self._unbroadcasted_scale_tril, eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self._event_shape[0]
        diff = value - self.loc
        distance = _mahalanobis(self._unbroadcasted_scale_tril, diff)
        half_log_det = log(_diagonal(self._unbroadcasted_scale_tril)).sum(-1)
        return -0.5 * (k * math.log(2 * math.pi) + distance) - half_log_det

    def entropy(self):
        k = self._event_shape[0]
        half_log_det = log(_diagonal(self._unbroadcasted_scale_tril)).sum(-1)
        entropy = 0.5 * k * (1.0 + math.log(2 * math.pi)) + half_log_det
        return _expanded(entropy, self._batch_shape)


def _expanded(t, shape):
    return t if tuple(t.shape) == tuple(shape) else broadcast_to(t, tuple(shape))
