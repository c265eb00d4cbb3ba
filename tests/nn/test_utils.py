"""Tests of nn.utils against PyTorch: clip_grad_norm_ for norm types 2, 1, inf (and p = 3),
below and above the limit, clip_grad_value_, and the parameter <-> vector round trip."""
import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion import nn
from ganglion.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                               vector_to_parameters)

SHAPES = [(3, 4), (5,), (2, 2, 2), (1,)]


def parameter_pair(seed=0, with_none=False):
    """The same parameters and gradients in both libraries (one without a gradient if asked)."""
    rng = np.random.default_rng(seed)
    g_params, t_params = [], []
    for i, shape in enumerate(SHAPES):
        value = rng.standard_normal(shape).astype(np.float32)
        grad = (rng.standard_normal(shape) * 3).astype(np.float32)
        g, t = nn.Parameter(gn.tensor(value)), torch.nn.Parameter(torch.tensor(value))
        if not (with_none and i == 1):
            g.grad, t.grad = gn.tensor(grad), torch.tensor(grad)
        g_params.append(g)
        t_params.append(t)
    return g_params, t_params


def assert_same_grads(g_params, t_params):
    for g, t in zip(g_params, t_params):
        if t.grad is None:
            assert g.grad is None
        else:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm_type", [2, 1, float("inf"), 3.0, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e4])
@pytest.mark.parametrize("with_none", [False, True])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm, with_none):
    g_params, t_params = parameter_pair(with_none=with_none)
    g_total = clip_grad_norm_(g_params, max_norm, norm_type)
    t_total = torch.nn.utils.clip_grad_norm_(t_params, max_norm, float(norm_type))
    assert isinstance(g_total, gn.Tensor) and g_total.shape == ()
    np.testing.assert_allclose(g_total.item(), t_total.item(), rtol=1e-5)
    assert_same_grads(g_params, t_params)


def test_clip_grad_norm_limits_the_norm_and_accepts_one_tensor():
    g_params, _ = parameter_pair()
    clip_grad_norm_(iter(g_params), 1.0)
    total = np.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum() for p in g_params))
    assert total == pytest.approx(1.0, rel=1e-4)
    single = g_params[0]
    before = single.grad.numpy().copy()
    norm = clip_grad_norm_(single, 1e9)
    np.testing.assert_allclose(norm.item(), np.linalg.norm(before), rtol=1e-6)
    np.testing.assert_array_equal(single.grad.numpy(), before)


def test_clip_grad_norm_edge_cases():
    assert clip_grad_norm_([nn.Parameter(gn.zeros(3))], 1.0).item() == 0.0
    p = nn.Parameter(gn.zeros(2))
    p.grad = gn.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is nan"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type must be positive"):
        clip_grad_norm_([p], 1.0, norm_type=0)


def test_clip_grad_norm_keeps_grad_objects():
    g_params, _ = parameter_pair()
    grads = [p.grad for p in g_params]
    clip_grad_norm_(g_params, 0.1)
    assert all(p.grad is g for p, g in zip(g_params, grads))


@pytest.mark.parametrize("clip_value", [0.5, 2.0, 100.0])
def test_clip_grad_value_matches_pytorch(clip_value):
    g_params, t_params = parameter_pair(with_none=True)
    assert clip_grad_value_(g_params, clip_value) is None
    torch.nn.utils.clip_grad_value_(t_params, clip_value)
    assert_same_grads(g_params, t_params)


def test_parameters_to_vector_and_back():
    g_params, t_params = parameter_pair()
    vector = parameters_to_vector(g_params)
    np.testing.assert_array_equal(vector.detach().numpy(),
                                  torch.nn.utils.parameters_to_vector(t_params).detach().numpy())
    # Differentiable, as in PyTorch.
    for p in g_params:
        p.grad = None
    (vector * gn.arange(vector.shape[0], dtype=gn.float32)).sum().backward()
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in SHAPES])
    for p, start, shape in zip(g_params, offsets, SHAPES):
        np.testing.assert_array_equal(p.grad.numpy(),
                                      np.arange(start, start + np.prod(shape)).reshape(shape))
    new = gn.tensor(np.linspace(-1, 1, vector.shape[0]).astype(np.float32))
    vector_to_parameters(new, g_params)
    np.testing.assert_array_equal(parameters_to_vector(g_params).detach().numpy(), new.numpy())
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in g_params)


def test_vector_to_parameters_errors():
    g_params, _ = parameter_pair()
    with pytest.raises(ValueError, match=r"expected a vector of shape \(26,\).*got \(25,\)"):
        vector_to_parameters(gn.zeros(25), g_params)
    with pytest.raises(TypeError, match="expected a Tensor"):
        vector_to_parameters(np.zeros(26), g_params)


def test_round_trip_through_a_model():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    twin = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    vector_to_parameters(parameters_to_vector(model.parameters()), twin.parameters())
    x = gn.randn(5, 4)
    np.testing.assert_array_equal(model(x).detach().numpy(), twin(x).detach().numpy())


def test_clipping_inside_a_jit_traced_train_step_matches_eager():
    def make():
        gn.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))

    def step(model, x, y):
        for p in model.parameters():
            p.grad = None
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        norm = clip_grad_norm_(model.parameters(), 0.5)
        clip_grad_value_(model.parameters(), 0.05)
        with gn.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        return loss, norm

    eager, traced = make(), make()
    compiled = gn.jit(lambda x, y: step(traced, x, y))
    x, y = gn.randn(16, 4), gn.randn(16, 1)
    for _ in range(3):
        eager_out, traced_out = step(eager, x, y), compiled(x, y)
        for a, b in zip(eager_out, traced_out):
            np.testing.assert_allclose(a.item(), b.item(), rtol=1e-5)
    for a, b in zip(eager.parameters(), traced.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
