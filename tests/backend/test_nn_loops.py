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
