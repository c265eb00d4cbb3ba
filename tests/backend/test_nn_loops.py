"""The compiled NN loops (``backend/nn_loops.py``) against the NumPy form they replace, and ReLU's
backward op (first and second derivatives) against PyTorch."""
import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.backend import fused_loops

needs_numba = pytest.mark.skipif(not fused_loops.available(),
                                 reason="the compiled loops need numba: pip install 'ganglion[jit]'")

@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_matches_the_numpy_form(dtype):
    from ganglion.backend import nn_loops
    rng = np.random.default_rng(2)
    out = np.maximum(rng.standard_normal((5, 7, 3)), 0).astype(dtype)
    grad = rng.standard_normal((5, 7, 3)).astype(dtype)
    result = nn_loops.relu_backward(grad, out.transpose(0, 1, 2))
    assert result.dtype == dtype and result.shape == out.shape
    np.testing.assert_array_equal(result, grad * (out > 0))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_forward_matches_pytorch_and_runs_on_the_numba_loop(dtype):
    """NaN stays NaN, infinities and signed zeros as torch.relu; in place and into ``out``;
    large arrays split over the cores; strided or small arrays stay NumPy's."""
    from ganglion.backend import current, providers
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 700)).astype(dtype)  # split over the cores (2^19 elements)
    x.reshape(-1)[:6] = [np.nan, -np.inf, np.inf, -0.0, 0.0, -1e-30]
    want = torch.relu(torch.from_numpy(x)).numpy()
    with gn.config(kernels="numba"):  # (the suite also runs under GANGLION_KERNELS=numpy)
        assert providers.kernel_for("relu", x) == "numba"
        np.testing.assert_array_equal(current.relu(x), want)
        out = np.full_like(x, 7)
        assert current.relu(x, out=out) is out
        np.testing.assert_array_equal(out, want)
        inplace = x.copy()
        current.relu(inplace, out=inplace)
        np.testing.assert_array_equal(inplace, want)
        assert providers.kernel_for("relu", x[:, ::2]) == "numpy"
        assert providers.kernel_for("relu", x[:2, :2].copy()) == "numpy"
        np.testing.assert_array_equal(current.relu(x[:, ::2]), want[:, ::2])
    with gn.config(kernels="numpy"):
        assert providers.kernel_for("relu", x) == "numpy"
        np.testing.assert_array_equal(current.relu(x), want)


@pytest.mark.parametrize("kernels", ["numba", "numpy"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_nan_free_says_whether_the_input_held_nan(kernels, dtype):
    """``relu_nan_free(x, out)``: ReLU's values, in place or into ``out`` (over the cores for
    large arrays), and True exactly when x held no NaN (infinities do not count)."""
    from ganglion.backend import current, providers
    if kernels == "numba" and not fused_loops.available():
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((300, 700)).astype(dtype)
    x.reshape(-1)[:4] = [-np.inf, np.inf, -0.0, 0.0]
    with gn.config(kernels=kernels):
        assert providers.kernel_for("relu_nan_free", x, x) == kernels
        for nan_at in (None, 0, x.size - 1):
            values = x.copy()
            if nan_at is not None:
                values.reshape(-1)[nan_at] = np.nan
            want = torch.relu(torch.from_numpy(values)).numpy()
            out = np.empty_like(values)
            assert current.relu_nan_free(values, out) is (nan_at is None)
            np.testing.assert_array_equal(out, want)
            assert current.relu_nan_free(values, values) is (nan_at is None)
            np.testing.assert_array_equal(values, want)


def test_relu_second_derivative_matches_pytorch():
    rng = np.random.default_rng(3)
    data = rng.standard_normal((4, 6))
    weights = rng.standard_normal((4, 6))
    x = gn.tensor(data, dtype=gn.float64, requires_grad=True)
    w = gn.tensor(weights, dtype=gn.float64)
    (g,) = gn.grad((gn.relu(x) ** 2 * w).sum(), [x], create_graph=True)
    (gg,) = gn.grad((g * g).sum(), [x])
    xt = torch.tensor(data, requires_grad=True)
    (gt,) = torch.autograd.grad((torch.relu(xt) ** 2 * torch.tensor(weights)).sum(), [xt],
                                create_graph=True)
    (ggt,) = torch.autograd.grad((gt * gt).sum(), [xt])
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gg.numpy(), ggt.numpy(), rtol=1e-12)


@needs_numba
def test_fast_tanh_is_within_3e_7_of_the_exact_value_and_keeps_special_values():
    from ganglion.backend import nn_loops
    grid = np.linspace(-20, 20, 400_001, dtype=np.float32)
    special = np.float32([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -3e-4, 4e-4, 7.9, -7.91])
    x = np.concatenate([grid, special])
    result = nn_loops.tanh(x)
    exact = np.tanh(x.astype(np.float64))
    finite = np.isfinite(x)
    assert result.dtype == np.float32
    assert np.abs(result[finite] - exact[finite]).max() < 3e-7
    # odd, bounded by 1, and x itself near 0
    np.testing.assert_array_equal(nn_loops.tanh(-grid), -result[:grid.size])
    assert np.abs(result[finite]).max() <= 1
    np.testing.assert_array_equal(result[-10:-5], np.float32([np.nan, 1, -1, 0, 0]))
    assert np.signbit(result[-6]) and result[-5] == np.float32(1e-30)


@needs_numba
def test_backend_tanh_writes_into_strided_rows_and_splits_large_arrays():
    from ganglion.backend import matmul, numpy_backend
    backend = numpy_backend.NumpyBackend
    rng = np.random.default_rng(5)
    block = rng.standard_normal((6, 40)).astype(np.float32)
    expected = block.copy()
    expected[:, 10:30] = np.tanh(expected[:, 10:30].astype(np.float64))
    backend.tanh(block[:, 10:30], out=block[:, 10:30])   # the GRU loop's in-place form
    np.testing.assert_allclose(block, expected, atol=3e-7, rtol=0)
    large = rng.standard_normal((3, matmul.SPLIT_ELEMENTS)).astype(np.float32) * 4
    np.testing.assert_allclose(backend.tanh(large), np.tanh(large.astype(np.float64)),
                               atol=3e-7, rtol=0)
    doubles = rng.standard_normal(5000)
    np.testing.assert_array_equal(backend.tanh(doubles), np.tanh(doubles))
