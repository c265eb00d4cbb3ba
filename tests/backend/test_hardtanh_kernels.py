"""hardtanh / ReLU6 as backend kernels (``NumpyBackend.hardtanh`` split over the cores, and
``hardtanh_backward``: a compiled loop with numba, one NumPy mask without) against PyTorch:
values at and beyond the bounds (the gradient is zero at the bounds themselves), NaN, both float
dtypes, arrays large enough to be split, integers, and second derivatives."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion.backend import NumpyBackend, providers

rng = np.random.default_rng(13)
needs_numba = pytest.mark.skipif(not providers.provider("numba").available(),
                                 reason="the compiled loops need numba: pip install 'ganglion[jit]'")


@pytest.fixture(params=[pytest.param("numba", marks=needs_numba), "numpy"])
def path(request):
    with gn.config(kernels=request.param):
        assert providers.kernel_for("hardtanh_backward", np.ones(3), np.ones(3), 0, 1) == request.param
        yield request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [50, 1 << 20])          # the second is split over two cores
@pytest.mark.parametrize("function, bounds", [("relu6", (0.0, 6.0)), ("hardtanh", (-1.0, 1.0)),
                                              ("hardtanh", (-0.5, 2.5))])
def test_forward_and_backward_match_pytorch(monkeypatch, path, dtype, size, function, bounds):
    monkeypatch.setattr(gn.config, "num_threads", 2)
    x = (rng.standard_normal(size) * 4).astype(dtype)
    x[:6] = [bounds[0], bounds[1], np.nan, -np.inf, np.inf, 0.0]   # the bounds get zero gradient
    g = rng.standard_normal(size).astype(dtype)
    results = []
    for lib, module in ((gn, F), (torch, torch.nn.functional)):
        xt = lib.from_numpy(x.copy()).requires_grad_()
        out = module.relu6(xt) if function == "relu6" else module.hardtanh(xt, *bounds)
        out.backward(lib.from_numpy(g.copy()))
        results.append((out.detach().numpy(), xt.grad.numpy()))
    for got, want in zip(*results):
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, want)


def test_integer_and_non_contiguous_inputs():
    x = np.arange(-4, 12).reshape(4, 4)
    np.testing.assert_array_equal(F.relu6(gn.from_numpy(x)).numpy(), np.clip(x, 0, 6))
    y = rng.standard_normal((6, 5)).T * 3
    np.testing.assert_array_equal(F.hardtanh(gn.from_numpy(y)).numpy(), np.clip(y, -1, 1))


def test_backward_runs_one_kernel(monkeypatch):
    calls = []
    original = NumpyBackend.hardtanh_backward
    monkeypatch.setattr(NumpyBackend, "hardtanh_backward",
                        staticmethod(lambda *a: calls.append(1) or original(*a)))
    x = gn.from_numpy(rng.standard_normal(20) * 4).requires_grad_()
    F.relu6(x).sum().backward()
    assert calls == [1]
    np.testing.assert_array_equal(x.grad.numpy(), ((x.detach().numpy() > 0)
                                                    & (x.detach().numpy() < 6)).astype(float))


def test_second_derivative_as_pytorch():
    x = rng.standard_normal(30) * 3
    values = []
    for lib, module in ((gn, F), (torch, torch.nn.functional)):
        xt = lib.from_numpy(x.copy()).requires_grad_()
        (gx,) = lib.autograd.grad((module.relu6(xt) ** 2).sum(), xt, create_graph=True)
        (ggx,) = lib.autograd.grad((gx * xt).sum(), xt)
        values.append((gx.detach().numpy(), ggx.numpy()))
    for got, want in zip(*values):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_first_derivative_records_only_through_the_incoming_gradient():
    """The mask is flat in x: with create_graph, relu6's derivative for a constant incoming
    gradient records nothing (hardsigmoid's second derivative is PyTorch's 'not implemented')."""
    x = gn.from_numpy(rng.standard_normal(8) * 4).requires_grad_()
    (gx,) = gn.autograd.grad(F.relu6(x), x, gn.ones(8, dtype=gn.float64), create_graph=True)
    assert not gx.requires_grad
