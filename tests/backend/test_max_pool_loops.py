"""Max pooling of any geometry as compiled loops (``backend/pool_loops.py``, the numba
provider's kernels, forced with ``kernels="numba"``) against PyTorch: GoogLeNet's and ResNet's 3x3 pools (stride 1 padded,
stride 2 with ceil_mode), rectangular dilated windows, ties (the first maximum wins), NaN (the
last NaN of a window), -inf inputs beside the padding, both float dtypes, planes split over two
cores; output, return_indices and the input gradient."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion.backend import pool, providers

pytestmark = pytest.mark.skipif(not providers.provider("numba").available(),
                                reason="the compiled loops need numba: pip install 'ganglion[jit]'")
rng = np.random.default_rng(17)


@pytest.fixture(autouse=True)
def numba_kernels():
    with gn.config(kernels="numba"):
        yield

# (N, C, H, W), kernel, stride, padding, dilation, ceil_mode
GEOMETRIES = [
    ((2, 3, 12, 12), (3, 3), (1, 1), (1, 1), (1, 1), False),   # Inception's pool branch
    ((2, 3, 12, 12), (3, 3), (2, 2), (0, 0), (1, 1), True),    # GoogLeNet between stages
    ((2, 3, 11, 13), (3, 3), (2, 2), (1, 1), (1, 1), False),   # ResNet's stem pool
    ((1, 2, 9, 10), (2, 3), (1, 2), (1, 1), (2, 1), False),    # rectangular, dilated
    ((2, 2, 5, 5), (3, 3), (2, 2), (1, 1), (1, 1), True),      # ceil_mode, last window short
    ((3, 2, 2, 2), (3, 3), (2, 2), (0, 0), (1, 1), True),      # window longer than the input
]


def both(x, g, kernel, stride, padding, dilation, ceil_mode):
    results = []
    for lib, module in ((gn, F), (torch, torch.nn.functional)):
        xt = lib.from_numpy(x.copy()).requires_grad_()
        out, indices = module.max_pool2d(xt, kernel, stride, padding, dilation, ceil_mode=ceil_mode,
                                         return_indices=True)
        out.backward(lib.from_numpy(g.copy()))
        results.append((out.detach().numpy(), indices.numpy(), xt.grad.numpy()))
    return results


def assert_same(ours, theirs, dtype):
    """Outputs and indices equal; gradients equal up to the order in which overlapping windows
    add into one input (PyTorch adds window by window, the loops tap by tap)."""
    for got, want in zip(ours[:2], theirs[:2]):
        np.testing.assert_array_equal(got, want)
    tolerance = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(ours[2], theirs[2], rtol=tolerance, atol=tolerance)


def out_shape(shape, kernel, stride, padding, dilation, ceil_mode):
    return shape[:2] + tuple(pool.pool_output_size(shape[2 + a], kernel[a], stride[a], padding[a],
                                                   dilation[a], ceil_mode) for a in (0, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, stride, padding, dilation, ceil_mode", GEOMETRIES)
def test_max_pooling_matches_pytorch_with_ties_nan_and_infinities(monkeypatch, dtype, shape, kernel,
                                                                 stride, padding, dilation, ceil_mode):
    monkeypatch.setattr(gn.config, "num_threads", 2)
    monkeypatch.setattr(pool, "SPLIT_ELEMENTS", 1)      # several planes a core, two ranges
    x = rng.integers(-3, 3, shape).astype(dtype)         # many ties
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, 3, replace=False)] = np.nan
    x[..., 0, :] = -np.inf                               # a row of -inf next to the padding
    g = rng.standard_normal(out_shape(shape, kernel, stride, padding, dilation, ceil_mode)).astype(dtype)
    assert providers.kernel_for("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode) == "numba"
    ours, theirs = both(x, g, kernel, stride, padding, dilation, ceil_mode)
    assert_same(ours, theirs, dtype)


def test_googlenet_sized_pool_split_over_the_cores(monkeypatch):
    monkeypatch.setattr(gn.config, "num_threads", 2)
    x = rng.standard_normal((8, 64, 24, 24)).astype(np.float32)
    g = rng.standard_normal((8, 64, 24, 24)).astype(np.float32)
    assert_same(*both(x, g, (3, 3), (1, 1), (1, 1), (1, 1), False), np.float32)


def test_other_dtypes_and_plain_planes_keep_the_numpy_kernels():
    for plain in (np.zeros((2, 3, 4), np.float16), np.zeros((3, 4), np.float32)):
        assert providers.kernel_for("max_pool2d", plain, (3, 3), (1, 1), (1, 1), (1, 1), False) == "numpy"
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float16)
    out = F.max_pool2d(gn.from_numpy(x), 3, 1, 1).numpy()
    want = torch.nn.functional.max_pool2d(torch.tensor(x, dtype=torch.float32), 3, 1, 1).numpy()
    np.testing.assert_array_equal(out.astype(np.float32), want)
