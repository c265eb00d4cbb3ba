"""The oneDNN provider's batch normalization kernels (backend/onednn/batchnorm.py): the NumPy
backend's kernel signatures (statistics, normalization, gradient sums) against those kernels,
and the fused training forward and the backward pass (training: batch statistics; eval:
running statistics) against PyTorch's batch_norm and its autograd gradients, on 2-D to 5-D
inputs, batch 1 included; float64 and empty inputs are turned away."""
import numpy as np
import pytest
import torch

from ganglion.backend import batchnorm as numpy_batchnorm
from ganglion.backend.onednn import library

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")

if library.available():
    from ganglion.backend.onednn import batchnorm

SHAPES = [(16, 5), (4, 3, 9), (4, 3, 7, 5), (1, 6, 5, 5), (2, 3, 3, 4, 5), (8, 32, 4, 4)]


def data(shape, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[1]
    offsets = rng.standard_normal((1, c) + (1,) * (len(shape) - 2))
    x = (rng.standard_normal(shape) * 3 + offsets).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    weight, bias = (rng.standard_normal(c).astype(np.float32) for _ in range(2))
    return x, g, weight, bias


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_numpy_kernel_signatures_match_numpy_kernels(shape):
    x, g, scale, shift = data(shape)
    assert batchnorm.supports_batch_norm(shape, np.float32)
    stats = batchnorm.batch_statistics(x)
    assert stats.shape == (2, shape[1]) and stats.dtype == np.float32
    close(stats, numpy_batchnorm.batch_statistics(x))
    close(batchnorm.batch_normalize(x, scale, shift), numpy_batchnorm.batch_normalize(x, scale, shift))
    sums = batchnorm.batch_norm_gradient_sums(g, x, stats[0])
    expected = numpy_batchnorm.batch_norm_gradient_sums(g, x, stats[0])
    for actual, wanted in zip(sums, expected):
        assert actual.dtype == np.float64
        np.testing.assert_allclose(actual, wanted, rtol=1e-4, atol=1e-4 * np.sqrt(x.size / shape[1]))


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_training_forward_and_backward_match_pytorch(shape, affine):
    x, g, weight, bias = data(shape, 1)
    if not affine:
        weight = bias = None
    eps = 1e-5
    y, mean, var = batchnorm.batch_norm_forward_training(x, weight, bias, eps)
    xt = torch.tensor(x, requires_grad=True)
    wt = None if weight is None else torch.tensor(weight, requires_grad=True)
    bt = None if bias is None else torch.tensor(bias, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, None, None, wt, bt, True, 0.1, eps)
    yt.backward(torch.tensor(g))
    axes = (0,) + tuple(range(2, len(shape)))
    close(y, yt.detach().numpy())
    close(mean, x.mean(axis=axes, dtype=np.float64))
    close(var, x.var(axis=axes, dtype=np.float64))
    grad_x, grad_weight, grad_bias = batchnorm.batch_norm_backward(g, x, mean, var, weight, eps, True)
    close(grad_x, xt.grad.numpy())
    if affine:
        close(grad_weight, wt.grad.numpy())
        close(grad_bias, bt.grad.numpy())
    else:   # the gradients that a weight of ones and a bias of zeros would get
        xhat = (x - mean.reshape((1, -1) + (1,) * (len(shape) - 2))) / np.sqrt(
            var.reshape((1, -1) + (1,) * (len(shape) - 2)) + eps)
        close(grad_weight, (g * xhat).sum(axis=axes))
        close(grad_bias, g.sum(axis=axes))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_eval_backward_matches_pytorch(shape):
    """Running statistics are constants: the input gradient is g * weight / sqrt(var + eps)."""
    x, g, weight, bias = data(shape, 2)
    c = shape[1]
    running_mean = np.linspace(-1, 1, c).astype(np.float32)
    running_var = np.linspace(0.5, 2, c).astype(np.float32)
    eps = 1e-3
    xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, weight, bias))
    yt = torch.nn.functional.batch_norm(xt, torch.tensor(running_mean), torch.tensor(running_var),
                                        wt, bt, False, 0.1, eps)
    yt.backward(torch.tensor(g))
    scale = weight / np.sqrt(running_var + eps)
    close(batchnorm.batch_normalize(x, scale, bias - running_mean * scale), yt.detach().numpy())
    grad_x, grad_weight, grad_bias = batchnorm.batch_norm_backward(g, x, running_mean, running_var,
                                                                   weight, eps, False)
    close(grad_x, xt.grad.numpy())
    close(grad_weight, wt.grad.numpy())
    close(grad_bias, bt.grad.numpy())


def test_unsupported_inputs_are_refused():
    assert not batchnorm.supports_batch_norm((4, 3, 5, 5), np.float64)
    assert not batchnorm.supports_batch_norm((0, 3, 5, 5), np.float32)
    assert not batchnorm.supports_batch_norm((4,), np.float32)
    assert not batchnorm.supports_batch_norm((2, 3, 2, 2, 2, 2), np.float32)
    with pytest.raises(ValueError, match=r"onednn.batch_statistics: unsupported input of shape "
                                         r"\(4, 3, 5, 5\) and dtype float64"):
        batchnorm.batch_statistics(np.zeros((4, 3, 5, 5)))
