"""Batch normalization's backend kernels (``backend/batchnorm.py``, with numba
``backend/batchnorm_loops.py``) and the array form of its backward pass
(``BatchNormalize._vjp_arrays``) against PyTorch: training and eval mode, 2-D to 5-D inputs,
affine or not, float64 to 1e-10 and float32, planes split over two cores (a batch of one
included), on the compiled loops and on the NumPy forms; create_graph keeps the Tensor-op form
(second derivatives as PyTorch's)."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion.backend import NumpyBackend, batchnorm, providers

rng = np.random.default_rng(3)
needs_numba = pytest.mark.skipif(not providers.provider("numba").available(),
                                 reason="the compiled loops need numba: pip install 'ganglion[jit]'")
PATHS = [pytest.param("numba", marks=needs_numba), "numpy"]


@pytest.fixture
def path(request):
    """The kernels setting the test runs under: the numba provider's loops or the NumPy forms."""
    with gn.config(kernels=request.param):
        yield request.param


def run_both(shape, training, affine, dtype, momentum=0.1):
    """Outputs, input/weight/bias gradients and running statistics of ganglion and PyTorch."""
    channels = shape[1]
    x = rng.standard_normal(shape).astype(dtype) * 3 + 1
    g = rng.standard_normal(shape).astype(dtype)
    weight = (rng.random(channels) + 0.5).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype)
    mean = rng.standard_normal(channels).astype(dtype)
    var = (rng.random(channels) + 0.5).astype(dtype)
    results = []
    for lib, make in ((gn, gn.from_numpy), (torch, torch.tensor)):
        xt = make(x.copy()).requires_grad_()
        params = [make(a.copy()).requires_grad_() for a in (weight, bias)] if affine else [None, None]
        stats = [make(a.copy()) for a in (mean, var)]
        functional = F if lib is gn else torch.nn.functional
        out = functional.batch_norm(xt, *stats, *params, training=training, momentum=momentum, eps=1e-5)
        out.backward(make(g.copy()))
        grads = [xt.grad] + [p.grad for p in params if p is not None]
        results.append([np.asarray(t.detach().numpy()) for t in [out] + grads + stats])
    return results


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (6, 5), (3, 4, 7), (2, 3, 2, 3, 4), (1, 5, 4, 4)])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_pytorch_in_float64(path, shape, training, affine):
    ours, theirs = run_both(shape, training, affine, np.float64)
    for got, want in zip(ours, theirs):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("shape", [(16, 24, 16, 16), (1, 96, 14, 14)])
def test_float32_planes_split_over_two_cores(monkeypatch, path, shape):
    monkeypatch.setattr(batchnorm, "SPLIT_ELEMENTS", 1)
    with gn.config(num_threads=2):
            ours, theirs = run_both(shape, True, True, np.float32)
    for got, want in zip(ours, theirs):
        assert got.dtype == np.float32
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * scale)


def test_backward_without_create_graph_runs_the_array_kernels(monkeypatch):
    """Plain backward computes the gradients with the backend's two kernels (sums, then the
    input gradient), not with the Tensor ops that create_graph needs."""
    calls = []
    for name in ("batch_norm_gradient_sums", "batch_norm_input_gradient"):
        original = getattr(NumpyBackend, name)
        monkeypatch.setattr(NumpyBackend, name, staticmethod(
            lambda *a, _original=original, _name=name: calls.append(_name) or _original(*a)))
    x = gn.from_numpy(rng.standard_normal((4, 3, 5, 5))).requires_grad_()
    F.batch_norm(x, None, None, gn.ones(3), gn.zeros(3), training=True).sum().backward()
    assert calls == ["batch_norm_gradient_sums", "batch_norm_input_gradient"]


def test_second_derivatives_keep_the_tensor_form():
    x = rng.standard_normal((4, 3, 3, 3))
    w, b = rng.random(3) + 0.5, rng.standard_normal(3)
    values = []
    for lib, make, functional in ((gn, gn.from_numpy, F), (torch, torch.tensor, torch.nn.functional)):
        xt = make(x.copy()).requires_grad_()
        wt = make(w.copy()).requires_grad_()
        out = functional.batch_norm(xt, None, None, wt, make(b.copy()), training=True)
        (gx,) = lib.autograd.grad((out ** 3).sum(), xt, create_graph=True)
        (gw,) = lib.autograd.grad((gx ** 2).sum(), wt)
        values.append((gx.detach().numpy(), gw.numpy()))
    for got, want in zip(*values):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


@needs_numba
def test_other_dtypes_use_the_numpy_form():
    with gn.config(kernels="numba"):
        assert providers.kernel_for("batch_statistics", np.ones((2, 2), np.float32)) == "numba"
        assert providers.kernel_for("batch_statistics", np.ones((2, 2), np.float16)) == "numpy"
        assert providers.kernel_for("batch_statistics", np.ones((0, 2), np.float32)) == "numpy"
        assert providers.kernel_for("batch_norm_gradient_sums", np.ones((2, 2), np.float32),
                                    np.ones((2, 2)), np.zeros(2)) == "numpy"
    x = rng.standard_normal((3, 2, 4)).astype(np.float16)
    stats = NumpyBackend.batch_statistics(x)
    assert stats.dtype == np.float16
    np.testing.assert_allclose(stats, [x.astype(np.float64).mean(axis=(0, 2)),
                                       x.astype(np.float64).var(axis=(0, 2))], rtol=2e-3, atol=2e-3)
