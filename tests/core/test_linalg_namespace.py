"""ganglion.linalg (torch.linalg) and ganglion.norm / Tensor.norm (torch.norm) against PyTorch:
vector and matrix norms with their gradients (0 at a zero vector, as PyTorch), svdvals, inv,
det, slogdet, solve, cholesky and cdist, and the errors for bad calls."""
import math

import numpy as np
import pytest
import torch

import ganglion as gn
from bad_inputs import BadInput, bad_input_test
from oracle import check_forward, check_op

RNG = np.random.default_rng(11)


def randn(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("ord", [2, 1, 3, 0.5, math.inf, -math.inf, 0, -1])
@pytest.mark.parametrize("dim", [None, 1, (0, 2)])
def test_vector_norm(ord, dim):
    x = randn(2, 3, 4)
    grad = ord != 0
    for keepdim in (False, True):
        check_op(lambda t: gn.linalg.vector_norm(t, ord, dim, keepdim),
                 lambda t: torch.linalg.vector_norm(t, ord, dim, keepdim), [x], grad=grad)


def test_vector_norm_gradient_at_zero():
    # PyTorch's subgradient at a zero vector is 0, not the nan of sqrt(sum(x**2)).
    for ord in (2, 3):
        x = gn.zeros(3, requires_grad=True)
        gn.linalg.vector_norm(x, ord).backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
    check_op(lambda t: gn.linalg.vector_norm(t, dim=1), lambda t: torch.linalg.vector_norm(t, dim=1),
             [np.array([[0.0, 0.0], [3.0, 4.0]])], gradcheck=False)
    # A zero entry in a p < 1 norm: 0, not the nan of 0 * inf.
    check_op(lambda t: gn.linalg.vector_norm(t, 0.5), lambda t: torch.linalg.vector_norm(t, 0.5),
             [np.array([1.0, 0.0, 2.0])], gradcheck=False)


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
def test_matrix_norm(ord):
    a = randn(2, 3, 4)
    check_op(lambda t: gn.linalg.matrix_norm(t, ord), lambda t: torch.linalg.matrix_norm(t, ord), [a])
    check_op(lambda t: gn.linalg.matrix_norm(t, ord, dim=(2, 0), keepdim=True),
             lambda t: torch.linalg.matrix_norm(t, ord, dim=(2, 0), keepdim=True), [a])


def test_linalg_norm_dispatch():
    v, m = randn(5), randn(3, 4)
    check_op(gn.linalg.norm, torch.linalg.norm, [randn(2, 3, 4)])
    check_op(lambda t: gn.linalg.norm(t, 3), lambda t: torch.linalg.norm(t, 3), [v])
    for ord in ("fro", "nuc", 1, math.inf, -2):
        check_op(lambda t: gn.linalg.norm(t, ord), lambda t: torch.linalg.norm(t, ord), [m])
    check_op(lambda t: gn.linalg.norm(t, dim=1, keepdim=True),
             lambda t: torch.linalg.norm(t, dim=1, keepdim=True), [m])
    check_op(lambda t: gn.linalg.norm(t, 1, dim=(1, 0)), lambda t: torch.linalg.norm(t, 1, dim=(1, 0)), [m])


def test_torch_norm_and_method():
    x = randn(2, 3, 4)
    check_op(gn.norm, torch.norm, [x])
    check_op(lambda t: t.norm(), lambda t: t.norm(), [x])
    check_op(lambda t: t.norm(p=1, dim=2), lambda t: t.norm(p=1, dim=2), [x])
    check_op(lambda t: gn.norm(t, 2, (0, 1), True), lambda t: torch.norm(t, 2, (0, 1), True), [x])
    check_op(lambda t: gn.norm(t, "fro", (1, 2)), lambda t: torch.norm(t, "fro", (1, 2)), [x])
    check_op(lambda t: gn.norm(t, "nuc"), lambda t: torch.norm(t, "nuc"), [randn(3, 4)])
    check_op(lambda t: t.norm(float("inf"), 1), lambda t: t.norm(float("inf"), 1), [x])
    check_forward(lambda t: gn.norm(t, dtype=gn.float64), lambda t: torch.norm(t, dtype=torch.float64),
                  [randn(3).astype(np.float32)])


def test_cdist():
    a, b = randn(2, 3, 4), randn(2, 5, 4)
    for p in (2.0, 1.0, 3.0):
        check_op(lambda x, y: gn.cdist(x, y, p), lambda x, y: torch.cdist(x, y, p), [a, b])
    check_op(gn.cdist, torch.cdist, [randn(3, 2), randn(4, 2)])


def spd(n):
    a = randn(n, n)
    return a @ a.T + n * np.eye(n)


def test_matrix_functions():
    a = randn(3, 3) + 3 * np.eye(3)
    batch = randn(2, 3, 3) + 3 * np.eye(3)
    check_op(gn.linalg.svdvals, torch.linalg.svdvals, [randn(3, 4)], second_order=False)
    check_op(gn.linalg.inv, torch.linalg.inv, [a], second_order=True)
    check_op(gn.linalg.inv, torch.linalg.inv, [batch])
    check_op(gn.linalg.det, torch.linalg.det, [a], second_order=True)
    check_op(gn.linalg.det, torch.linalg.det, [batch])
    check_op(lambda t: gn.linalg.slogdet(t).logabsdet, lambda t: torch.linalg.slogdet(t).logabsdet, [a])
    assert gn.linalg.slogdet(gn.from_numpy(a)).sign.tolist() == torch.linalg.slogdet(torch.from_numpy(a)).sign.tolist()
    check_op(gn.linalg.solve, torch.linalg.solve, [a, randn(3, 2)])
    check_op(gn.linalg.solve, torch.linalg.solve, [a, randn(3)])
    check_op(gn.linalg.solve, torch.linalg.solve, [batch, randn(2, 3, 1)])
    s = spd(3)
    check_op(lambda t: gn.linalg.cholesky((t + t.mT) / 2), lambda t: torch.linalg.cholesky((t + t.mT) / 2), [s])
    check_op(lambda t: gn.linalg.cholesky((t + t.mT) / 2, upper=True),
             lambda t: torch.linalg.cholesky((t + t.mT) / 2, upper=True), [s])
    check_op(gn.linalg.vecdot, torch.linalg.vecdot, [randn(2, 3), randn(3)])


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4), (2, 3, 2)])
def test_svd(shape):
    a = randn(*shape)
    svd = gn.linalg.svd(gn.from_numpy(a))
    assert type(svd).__name__ == "svd" and svd._fields == ("U", "S", "Vh")
    expected = torch.linalg.svd(torch.from_numpy(a))  # full_matrices=True by default
    assert [tuple(t.shape) for t in svd] == [tuple(t.shape) for t in expected]
    k = min(shape[-2:])
    rebuilt = (svd.U[..., :k] * svd.S.unsqueeze(-2)) @ svd.Vh[..., :k, :]
    np.testing.assert_allclose(values_of(rebuilt), a, atol=1e-10)
    np.testing.assert_allclose(values_of(svd.S), expected.S.numpy(), atol=1e-12)
    # The singular vectors' signs are LAPACK's in both, but only sign-invariant functions of
    # them have gradients that mean anything: U * U, Vh * Vh and U @ Vh.
    check_op(lambda t: gn.linalg.svd(t, full_matrices=False).S,
             lambda t: torch.linalg.svd(t, full_matrices=False).S, [a], second_order=True)
    check_op(lambda t: (lambda r: (r.U * r.U, r.Vh * r.Vh))(gn.linalg.svd(t, full_matrices=False)),
             lambda t: (lambda r: (r.U * r.U, r.Vh * r.Vh))(torch.linalg.svd(t, full_matrices=False)), [a])
    check_op(lambda t: (lambda r: r.U @ r.Vh)(gn.linalg.svd(t, False)),
             lambda t: (lambda r: r.U @ r.Vh)(torch.linalg.svd(t, False)), [a])


def values_of(t):
    return t.detach().numpy()


def test_eigh():
    a = randn(2, 4, 4)
    result = gn.linalg.eigh(gn.from_numpy(a + a.transpose(0, 2, 1)))
    assert type(result).__name__ == "eigh" and result._fields == ("eigenvalues", "eigenvectors")
    check_op(lambda t: gn.linalg.eigh(t + t.mT).eigenvalues,
             lambda t: torch.linalg.eigh(t + t.mT).eigenvalues, [a], second_order=True)
    check_op(lambda t: gn.linalg.eigh(t + t.mT).eigenvectors ** 2,
             lambda t: torch.linalg.eigh(t + t.mT).eigenvectors ** 2, [a])
    # Only one triangle is read (so the gradient is not a symmetric matrix's): PyTorch's.
    check_op(lambda t: gn.linalg.eigh(t, UPLO="U").eigenvectors ** 2,
             lambda t: torch.linalg.eigh(t, UPLO="U").eigenvectors ** 2, [a], gradcheck=False)
    check_op(gn.linalg.eigvalsh, torch.linalg.eigvalsh, [a], gradcheck=False)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4, 3)])
def test_qr(shape):
    a = randn(*shape)
    check_op(lambda t: tuple(gn.linalg.qr(t)), lambda t: tuple(torch.linalg.qr(t)), [a],
             second_order=True)
    for mode in ("complete", "r"):
        ours, theirs = gn.linalg.qr(gn.from_numpy(a), mode), torch.linalg.qr(torch.from_numpy(a), mode)
        assert type(ours).__name__ == "qr" and ours._fields == ("Q", "R")
        assert tuple(ours.R.shape) == tuple(theirs.R.shape)
        np.testing.assert_allclose(ours.R.numpy(), theirs.R.numpy(), atol=1e-12)


X = gn.zeros(3)
M = gn.zeros(2, 3)

CASES = [
    BadInput("vector_norm of integers", lambda: gn.linalg.vector_norm(gn.tensor([1, 2])),
             RuntimeError, ["vector_norm", "floating point", "int64"]),
    BadInput("norm of integers", lambda: gn.tensor([1, 2]).norm(), RuntimeError,
             ["vector_norm", "int64"]),
    BadInput("vector_norm string ord", lambda: gn.linalg.vector_norm(X, "fro"), TypeError,
             ["vector_norm", "ord", "'fro'"]),
    BadInput("vector_norm dim out of range", lambda: gn.linalg.vector_norm(X, 2, 1), IndexError,
             ["vector_norm", "1", "range"]),
    BadInput("vector_norm -inf of empty", lambda: gn.linalg.vector_norm(gn.zeros(0), -math.inf),
             RuntimeError, ["vector_norm", "-inf", "empty"]),
    BadInput("matrix_norm bad ord", lambda: gn.linalg.matrix_norm(M, 3), RuntimeError,
             ["matrix_norm", "Order 3", "not supported"]),
    BadInput("matrix_norm of a vector", lambda: gn.linalg.matrix_norm(X), RuntimeError,
             ["matrix_norm", "matrix", "(3,)"]),
    BadInput("matrix_norm same dims", lambda: gn.linalg.matrix_norm(M, dim=(0, 0)), RuntimeError,
             ["matrix_norm", "different", "(0, 0)"]),
    BadInput("linalg.norm ord without dim on 3-D", lambda: gn.linalg.norm(gn.zeros(2, 2, 2), 2),
             RuntimeError, ["linalg.norm", "1D or 2D", "3D"]),
    BadInput("linalg.norm matrix ord on a vector", lambda: gn.linalg.norm(X, "fro"), RuntimeError,
             ["linalg.norm", "'fro'", "1-D"]),
    BadInput("norm unknown p", lambda: gn.norm(M, "max"), RuntimeError, ["norm", "'max'"]),
    BadInput("cdist columns", lambda: gn.cdist(gn.zeros(2, 3), gn.zeros(2, 4)), RuntimeError,
             ["cdist", "same number of columns", "X1: 3 X2: 4"]),
    BadInput("cdist of a vector", lambda: gn.cdist(X, M), RuntimeError, ["cdist", "2D", "x1", "1D"]),
    BadInput("cdist negative p", lambda: gn.cdist(M, M, -1.0), RuntimeError,
             ["cdist", "non-negative", "-1"]),
    BadInput("inv of a non-square matrix", lambda: gn.linalg.inv(M), RuntimeError,
             ["linalg.inv", "square", "2 by 3"]),
    BadInput("inv of a singular matrix", lambda: gn.linalg.inv(gn.zeros(2, 2)), RuntimeError,
             ["linalg.inv", "singular"]),
    BadInput("det of integers", lambda: gn.linalg.det(gn.zeros(2, 2, dtype=gn.int64)),
             RuntimeError, ["linalg.det", "floating point", "int64"]),
    BadInput("solve shapes", lambda: gn.linalg.solve(gn.eye(3), gn.ones(2, 1)), RuntimeError,
             ["linalg.solve", "incompatible", "(3, 3)", "(2, 1)"]),
    BadInput("solve dtypes", lambda: gn.linalg.solve(gn.eye(2), gn.ones(2, dtype=gn.float64)),
             RuntimeError, ["linalg.solve", "same dtype", "float32", "float64"]),
    BadInput("svd of a vector", lambda: gn.linalg.svd(X), RuntimeError,
             ["linalg.svd", "at least 2 dimensions", "(3,)"]),
    BadInput("svd full_matrices backward", lambda: gn.linalg.svd(
        gn.ones(2, 3, requires_grad=True)).U.sum().backward(), RuntimeError,
             ["svd", "full_matrices=True", "non-square"]),
    BadInput("eigh of a non-square matrix", lambda: gn.linalg.eigh(M), RuntimeError,
             ["linalg.eigh", "square", "2 by 3"]),
    BadInput("eigh UPLO", lambda: gn.linalg.eigh(gn.eye(2), "X"), RuntimeError,
             ["linalg.eigh", "UPLO", "'X'"]),
    BadInput("qr mode", lambda: gn.linalg.qr(M, "full"), RuntimeError,
             ["linalg.qr", "unrecognized mode", "'full'"]),
    BadInput("qr backward of a wide matrix", lambda: gn.linalg.qr(
        gn.ones(2, 3, requires_grad=True)).R.sum().backward(), RuntimeError,
             ["linalg.qr", "derivative", "2x3"]),
    BadInput("cholesky of a non-positive-definite matrix",
             lambda: gn.linalg.cholesky(-gn.eye(2)), RuntimeError,
             ["linalg.cholesky", "positive-definite"]),
]

test_bad_input = bad_input_test(CASES)
