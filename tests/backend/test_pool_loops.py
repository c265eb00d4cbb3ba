"""The compiled 2x2 max-pooling loops (``backend/nn_loops.py``) and the backend's other split or
re-routed passes (ReLU over the cores, sums through a matrix-vector product), against PyTorch
and NumPy: ties, NaN windows, both float dtypes, arrays large enough to be split over the cores,
and the geometries that must keep the per-tap NumPy kernels."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion.backend import current as backend, numba_provider, providers

needs_numba = pytest.mark.skipif(not providers.provider("numba").available(),
                                 reason="the compiled loops need numba: pip install 'ganglion[jit]'")
rng = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def numba_kernels():
    """The numba provider's loops where they apply (not oneDNN's pooling), else NumPy's."""
    with gn.config(kernels="numba"):
        yield


def torch_max_pool(x, g, **options):
    xt = torch.tensor(x, requires_grad=True)
    out, indices = torch.nn.functional.max_pool2d(xt, 2, return_indices=True, **options)
    out.backward(torch.tensor(g))
    return out.detach().numpy(), indices.numpy(), xt.grad.numpy()


def ganglion_max_pool(x, g, **options):
    xt = gn.from_numpy(x).requires_grad_()
    out, indices = F.max_pool2d(xt, 2, return_indices=True, **options)
    out.backward(gn.from_numpy(g))
    return out.detach().numpy(), indices.numpy(), xt.grad.numpy()


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (64, 32, 32, 32)])  # the second is split over cores
def test_2x2_pooling_matches_pytorch_with_ties(monkeypatch, dtype, shape):
    monkeypatch.setattr(gn.config, "num_threads", 2)
    x = rng.integers(-2, 3, shape).astype(dtype)  # many ties: the first maximum must win
    out_shape = shape[:2] + (shape[2] // 2, shape[3] // 2)
    g = rng.standard_normal(out_shape).astype(dtype)
    assert numba_provider.tiles_2x2(shape, (2, 2), (2, 2), (0, 0), (1, 1))
    expected = torch_max_pool(x, g)
    for got, want in zip(ganglion_max_pool(x, g), expected):
        np.testing.assert_array_equal(got, want)


@needs_numba
def test_2x2_pooling_nan_windows_follow_pytorch():
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    x[0, 0, 0, 1] = np.nan                       # one NaN: it is the max and gets the gradient
    x[0, 1, 2, 2] = x[0, 1, 3, 3] = np.nan      # two NaNs in one window: PyTorch picks the last
    x[0, 1, 0, 0] = np.nan                       # a NaN in the first tap
    g = rng.standard_normal((1, 2, 2, 2)).astype(np.float32)
    expected = torch_max_pool(x, g)
    for got, want in zip(ganglion_max_pool(x, g), expected):
        np.testing.assert_array_equal(got, want)


@needs_numba
def test_2x2_scatter_writes_exact_zeros_beside_infinite_gradients():
    x = rng.standard_normal((1, 1, 2, 4))
    g = np.array([[[[np.inf, -np.inf]]]])
    expected = torch_max_pool(x, g)[2]
    np.testing.assert_array_equal(ganglion_max_pool(x, g)[2], expected)
    assert np.count_nonzero(expected == 0) == 6


@pytest.mark.parametrize("shape, options", [
    ((2, 3, 7, 8), {}),                           # odd height: the last row is never read
    ((2, 3, 7, 7), {"ceil_mode": True}),          # partial windows at the border
    ((2, 3, 6, 6), {"padding": 1}),
    ((2, 3, 6, 6), {"stride": 1}),
])
def test_other_geometries_keep_the_numpy_kernels(shape, options):
    x = rng.standard_normal(shape)
    kernel = (2, 2)
    stride = (options.get("stride", 2),) * 2
    padding = (options.get("padding", 0),) * 2
    assert not numba_provider.tiles_2x2(shape, kernel, stride, padding, (1, 1))
    out_t = torch.nn.functional.max_pool2d(torch.tensor(x), 2, **options)
    g = rng.standard_normal(tuple(out_t.shape))
    expected = torch_max_pool(x, g, **options)
    for got, want in zip(ganglion_max_pool(x, g, **options), expected):
        # overlapping windows add their gradients in another order than PyTorch
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_integer_pooling_is_not_compiled():
    x = np.arange(16).reshape(1, 1, 4, 4)
    assert providers.kernel_for("max_pool2d", x, (2, 2), (2, 2), (0, 0), (1, 1), False) == "numpy"
    np.testing.assert_array_equal(backend.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), False),
                                  [[[[5, 7], [13, 15]]]])


@pytest.mark.parametrize("size", [1000, 3 << 19])  # the second is split over the cores
def test_relu_forward_on_every_core_matches_numpy(monkeypatch, size):
    monkeypatch.setattr(gn.config, "num_threads", 2)
    x = rng.standard_normal(size).astype(np.float32).reshape(-1, 8) if size % 8 == 0 else \
        rng.standard_normal(size).astype(np.float32)
    np.testing.assert_array_equal(backend.relu(x), np.maximum(x, 0))
    strided = x[..., ::2] if x.ndim == 2 else x[::2]
    np.testing.assert_array_equal(backend.relu(strided), np.maximum(strided, 0))


@pytest.mark.parametrize("axes, keepdims", [((0, 2, 3), False), ((0, 2, 3), True), ((2, 3), False),
                                            ((3,), True), ((1, 2, 3), False), ((0,), False),
                                            (None, False), ((-1, -2), False)])
@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_sum_through_a_product_matches_numpy(axes, keepdims, dtype, rtol):
    x = rng.standard_normal((16, 8, 32, 32)).astype(dtype)
    got = backend.sum(x, axes, keepdims)
    want = x.sum(axis=axes, keepdims=keepdims)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


def test_conv_bias_gradient_matches_pytorch():
    x = rng.standard_normal((8, 3, 16, 16))
    w = rng.standard_normal((5, 3, 3, 3))
    b = rng.standard_normal(5)
    bias = gn.from_numpy(b).requires_grad_()
    (F.conv2d(gn.from_numpy(x), gn.from_numpy(w), bias, padding=1) ** 2).sum().backward()
    bias_t = torch.tensor(b, requires_grad=True)
    (torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), bias_t, padding=1) ** 2).sum().backward()
    np.testing.assert_allclose(bias.grad.numpy(), bias_t.grad.numpy(), rtol=1e-10)
