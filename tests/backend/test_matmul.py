"""Matrix products (``backend/matmul.py``): on BLAS's threads normally, split over ganglion's
pool inside a convolution and for a fixed number of products after one or after a kernel split
its work over the pool (never by the clock), with the same results either way."""
import numpy as np
import pytest

import ganglion as gn
from ganglion.backend import NumpyBackend, blas_threads, matmul

rng = np.random.default_rng(3)


@pytest.fixture
def sharing(monkeypatch):
    if not blas_threads.available():
        pytest.skip("NumPy's BLAS here is not an OpenBLAS whose thread count can be set")
    monkeypatch.setattr(matmul, "_PARALLEL_MULTIPLY_ADDS", 1000)
    with gn.config(num_threads=2), matmul.convolution_scope():
        yield


@pytest.mark.parametrize("shape_a, shape_b", [
    ((130, 70), (70, 50)),      # split by rows
    ((40, 70), (70, 200)),      # too few rows: split by columns
    ((40, 70), (70, 40)),       # neither: one call
    ((3, 40, 70), (70, 50)),    # batched: one call
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_products_equal_numpy(sharing, shape_a, shape_b, dtype):
    a = rng.standard_normal(shape_a).astype(dtype)
    b = rng.standard_normal(shape_b).astype(dtype)
    got = matmul.matmul(a, b)
    assert got.dtype == dtype and got.shape == np.matmul(a, b).shape
    # float32 sums may round differently in a thinner GEMM: compare at the scale of the terms.
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, np.matmul(a, b), rtol=tolerance, atol=tolerance * np.sqrt(shape_b[0]))


def test_split_products_write_into_out_and_take_transposed_views(sharing):
    a = rng.standard_normal((70, 130)).T          # a transposed view
    b = rng.standard_normal((90, 70)).T
    out = np.empty((130, 90))
    assert matmul.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-12)
    target = np.zeros((40, 300))
    matmul.matmul(rng.standard_normal((40, 20)), rng.standard_normal((20, 200)), out=target[:, 50:250])
    assert (target[:, :50] == 0).all() and (target[:, 250:] == 0).all() and (target[:, 50:250] != 0).all()


def test_integer_products_are_left_to_numpy(sharing):
    a = rng.integers(-5, 5, (100, 60))
    b = rng.integers(-5, 5, (60, 80))
    np.testing.assert_array_equal(matmul.matmul(a, b), a @ b)


@pytest.fixture
def pool_calls(monkeypatch):
    """The number of jobs of each product split over the pool; no products left from before."""
    calls = []
    monkeypatch.setattr(matmul.threads, "run_all", lambda jobs: calls.append(len(jobs)))
    monkeypatch.setattr(matmul, "_PARALLEL_MULTIPLY_ADDS", 1000)
    monkeypatch.setattr(matmul, "_scope", [0, 0])
    with gn.config(num_threads=2):
        yield calls


def test_sharing_ends_after_a_fixed_number_of_products(pool_calls):
    a, b = np.ones((100, 100)), np.ones((100, 100))
    np.testing.assert_array_equal(matmul.matmul(a, b), a @ b)
    assert pool_calls == []                               # no convolution yet: BLAS's own threads
    if not blas_threads.available():
        return
    with matmul.convolution_scope():
        matmul.matmul(a, b)
        assert pool_calls == [2]
    for _ in range(matmul.PRODUCTS_AFTER_CONVOLUTION):
        matmul.matmul(a, b)
    assert pool_calls == [2] * (1 + matmul.PRODUCTS_AFTER_CONVOLUTION)
    matmul.matmul(a, b)                                   # the next one is BLAS's again
    assert len(pool_calls) == 1 + matmul.PRODUCTS_AFTER_CONVOLUTION and not matmul.on_pool()


def test_a_convolution_or_a_split_kernel_opens_the_scope_and_a_small_kernel_does_not(pool_calls):
    x = rng.standard_normal((4, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    small = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    NumpyBackend.batch_normalize(small, np.ones(3, np.float32), np.zeros(3, np.float32))
    assert not matmul.on_pool()                 # too small to split: BLAS keeps the products
    for kernels in ("numpy", "auto"):
        matmul._scope[1] = 0
        with gn.config(kernels=kernels):
            NumpyBackend.conv2d_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
        assert matmul.on_pool() and matmul._scope == [0, matmul.PRODUCTS_AFTER_CONVOLUTION]
    if blas_threads.available():
        matmul._scope[1] = 0
        matmul.on_each_core(4, lambda lo, hi: None)  # a kernel's work split over two threads
        assert matmul._scope == [0, matmul.PRODUCTS_AFTER_CONVOLUTION]
