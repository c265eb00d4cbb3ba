"""Matrix products (``backend/matmul.py``): on BLAS's threads normally, split over ganglion's
pool for a while after a kernel shared the cores, with the same results either way."""
import numpy as np
import pytest

from ganglion.backend import blas_threads, matmul, threads

rng = np.random.default_rng(3)


@pytest.fixture
def sharing(monkeypatch):
    if not blas_threads.available():
        pytest.skip("NumPy's BLAS here is not an OpenBLAS whose thread count can be set")
    monkeypatch.setattr(threads, "CORES", 2)
    monkeypatch.setattr(matmul, "_PARALLEL_MULTIPLY_ADDS", 1000)
    monkeypatch.setattr(matmul, "_shared_at", [-1e300])
    matmul.share_cores()


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


def test_sharing_ends_after_its_time(monkeypatch):
    calls = []
    monkeypatch.setattr(matmul.threads, "run_all", lambda jobs: calls.append(len(jobs)))
    monkeypatch.setattr(matmul, "_PARALLEL_MULTIPLY_ADDS", 1000)
    monkeypatch.setattr(matmul.threads, "CORES", 2)
    a, b = np.ones((100, 100)), np.ones((100, 100))
    monkeypatch.setattr(matmul, "_shared_at", [-1e300])
    np.testing.assert_array_equal(matmul.matmul(a, b), a @ b)
    assert calls == []                                   # never shared: BLAS's own threads
    if blas_threads.available():
        matmul.share_cores()
        matmul.matmul(a, b)
        assert calls == [2]
        matmul._shared_at[0] -= matmul._SHARING_SECONDS + 1
        matmul.matmul(a, b)
        assert calls == [2]
