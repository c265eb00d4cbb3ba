"""Tests of the initializers: each one's samples have the bounds and spread its formula gives
(std within sampling tolerance), fans and gains equal PyTorch's, orthogonal_ gives orthonormal
rows or columns, default Linear init matches PyTorch's distribution, and seeding reproduces."""
import math

import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion import nn
from ganglion.nn import init

# 120,000 samples: the sample std is then within about 0.2% of the true std (1 sigma), so a
# 2% tolerance never fails by chance yet catches a wrong formula.
BIG = (300, 400)
RTOL = 0.02


def fresh(*shape, dtype=gn.float32):
    return nn.Parameter(gn.zeros(*shape, dtype=dtype))


def values(t):
    return t.detach().numpy().astype(np.float64)


def assert_uniform(t, low, high):
    v = values(t)
    assert v.min() >= low and v.max() <= high
    width = high - low
    assert v.min() - low < 0.01 * width and high - v.max() < 0.01 * width
    np.testing.assert_allclose(v.std(), width / math.sqrt(12), rtol=RTOL)
    np.testing.assert_allclose(v.mean(), (low + high) / 2, atol=0.02 * width)


def assert_normal(t, mean, std):
    v = values(t)
    np.testing.assert_allclose(v.std(), std, rtol=RTOL)
    np.testing.assert_allclose(v.mean(), mean, atol=0.02 * std)


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None),
    ("conv_transpose2d", None)])
def test_calculate_gain_matches_pytorch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(
        torch.nn.init.calculate_gain(nonlinearity, param))


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("shape", [(10, 5), (16, 3, 5, 5), (8, 4, 3), (6, 2, 3, 3, 3), (4, 1)])
def test_fans_match_pytorch(shape):
    assert init._calculate_fan_in_and_fan_out(fresh(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(fresh(5))


def test_uniform_normal_constant():
    assert_uniform(init.uniform_(fresh(*BIG), -0.5, 2.0), -0.5, 2.0)
    assert_normal(init.normal_(fresh(*BIG), 1.5, 0.3), 1.5, 0.3)
    for fn, expected in ((lambda t: init.constant_(t, 0.25), 0.25), (init.zeros_, 0), (init.ones_, 1)):
        t = fresh(3, 4) + 0
        assert fn(t) is t and (values(t) == expected).all()
    np.testing.assert_array_equal(values(init.eye_(fresh(3, 5))), np.eye(3, 5))


def test_float64_and_float16_tensors_keep_their_dtype():
    t = init.normal_(fresh(*BIG, dtype=gn.float64), 0, 2)
    assert t.dtype is gn.float64
    assert_normal(t, 0, 2)
    assert init.uniform_(fresh(10, dtype=gn.float16)).dtype is gn.float16


def test_trunc_normal_stays_in_bounds_with_the_truncated_spread():
    t = init.trunc_normal_(fresh(*BIG), mean=0.0, std=1.0, a=-1.0, b=1.5)
    v = values(t)
    assert v.min() >= -1.0 and v.max() <= 1.5
    # Mean and variance of N(0, 1) truncated to [a, b].
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
    mass = cdf(1.5) - cdf(-1.0)
    mean = (pdf(-1.0) - pdf(1.5)) / mass
    std = math.sqrt(1 + (-1.0 * pdf(-1.0) - 1.5 * pdf(1.5)) / mass - mean ** 2)
    np.testing.assert_allclose(v.std(), std, rtol=RTOL)
    np.testing.assert_allclose(v.mean(), mean, atol=0.01)


@pytest.mark.parametrize("shape", [BIG, (64, 32, 5, 5)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier(shape, gain):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    assert_uniform(init.xavier_uniform_(fresh(*shape), gain), -std * math.sqrt(3), std * math.sqrt(3))
    assert_normal(init.xavier_normal_(fresh(*shape), gain), 0.0, std)


@pytest.mark.parametrize("a,mode,nonlinearity", [
    (0, "fan_in", "leaky_relu"), (0, "fan_out", "relu"), (0.2, "fan_in", "leaky_relu"),
    (math.sqrt(5), "fan_in", "leaky_relu"), (0, "fan_out", "tanh"), (0, "fan_in", "linear")])
@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 5, 5)])
def test_kaiming(a, mode, nonlinearity, shape):
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    fan = fan_in if mode == "fan_in" else fan_out
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3) * std
    assert_uniform(init.kaiming_uniform_(fresh(*shape), a, mode, nonlinearity), -bound, bound)
    assert_normal(init.kaiming_normal_(fresh(*shape), a, mode, nonlinearity), 0.0, std)
    # Same spread as PyTorch's own samples.
    reference = torch.nn.init.kaiming_normal_(torch.empty(shape), a, mode, nonlinearity)
    np.testing.assert_allclose(values(init.kaiming_normal_(fresh(*shape), a, mode, nonlinearity)).std(),
                               reference.std().item(), rtol=2 * RTOL)


def test_kaiming_rejects_bad_mode_and_ignores_empty_tensors():
    with pytest.raises(ValueError, match="'fan_avg' is not supported"):
        init.kaiming_uniform_(fresh(3, 3), mode="fan_avg")
    assert init.kaiming_normal_(fresh(0, 3)).shape == (0, 3)


@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (30, 30), (16, 3, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal(shape, gain):
    w = values(init.orthogonal_(fresh(*shape), gain)).reshape(shape[0], -1) / gain
    rows, cols = w.shape
    product = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(product, np.eye(min(rows, cols)), atol=1e-5)


def test_initializers_refuse_symbolic_and_integer_tensors():
    with pytest.raises(TypeError, match="symbolic"):
        init.normal_(gn.placeholder(gn.float32, (None, 3)))
    with pytest.raises(TypeError, match="floating-point"):
        init.uniform_(gn.zeros(3, dtype=gn.int64))


def test_manual_seed_reproduces_and_init_is_outside_the_graph():
    gn.manual_seed(3)
    a = values(init.kaiming_uniform_(fresh(10, 10)))
    gn.manual_seed(3)
    w = fresh(10, 10)
    b = values(init.kaiming_uniform_(w))
    np.testing.assert_array_equal(a, b)
    assert w.is_leaf and w.grad is None
    gn.manual_seed(3)
    expected = values(init.kaiming_uniform_(fresh(10, 10), a=math.sqrt(5)))
    gn.manual_seed(3)
    np.testing.assert_array_equal(values(nn.Linear(10, 10).weight), expected)


@pytest.mark.parametrize("in_features", [5, 300])
def test_default_linear_init_matches_pytorch(in_features):
    out_features = 120_000 // in_features
    bound = 1 / math.sqrt(in_features)
    layer = nn.Linear(in_features, out_features)
    assert_uniform(layer.weight, -bound, bound)
    reference = torch.nn.Linear(in_features, out_features).weight.detach().numpy()
    np.testing.assert_allclose(values(layer.weight).std(), reference.std(), rtol=RTOL)
    if out_features >= 10_000:
        assert_uniform(layer.bias, -bound, bound)
    assert np.abs(values(layer.bias)).max() <= bound


def test_default_bilinear_init_matches_pytorch():
    layer = nn.Bilinear(40, 30, 100)
    bound = 1 / math.sqrt(40)
    assert_uniform(layer.weight, -bound, bound)
    reference = torch.nn.Bilinear(40, 30, 100).weight.detach().numpy()
    np.testing.assert_allclose(values(layer.weight).std(), reference.std(), rtol=RTOL)
