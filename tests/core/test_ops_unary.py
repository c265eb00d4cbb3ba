"""Oracle tests of the unary math and activation ops (core/ops/unary.py) against PyTorch.

Every op is compared with PyTorch in float64 (forward and backward) and float32 (forward), and
checked against central differences, on inputs inside its domain and away from its kinks; the
kinks themselves are compared with PyTorch's chosen subgradient separately.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ganglion as gn
from oracle import check_forward, check_op

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


def away_from_zero(*shape, low=0.1, high=2.0):
    return RNG.uniform(low, high, shape) * RNG.choice([-1.0, 1.0], shape)


def positive(*shape):
    return RNG.uniform(0.2, 3.0, shape)


# (ganglion function, torch function, input maker, second order)
SMOOTH = {
    "exp": (gn.exp, torch.exp, randn, True),
    "log": (gn.log, torch.log, positive, True),
    "log1p": (gn.log1p, torch.log1p, lambda *s: RNG.uniform(-0.8, 3.0, s), True),
    "expm1": (gn.expm1, torch.expm1, randn, True),
    "sqrt": (gn.sqrt, torch.sqrt, positive, True),
    "rsqrt": (gn.rsqrt, torch.rsqrt, positive, True),
    "square": (gn.square, torch.square, randn, True),
    "sin": (gn.sin, torch.sin, randn, True),
    "cos": (gn.cos, torch.cos, randn, True),
    "tanh": (gn.tanh, torch.tanh, randn, True),
    "sigmoid": (gn.sigmoid, torch.sigmoid, lambda *s: 3 * randn(*s), True),
    "erf": (gn.erf, torch.erf, randn, True),
    "neg": (gn.neg, torch.neg, randn, True),
    # Piecewise linear: the second derivative is 0. PyTorch's first derivative still hangs on
    # x in the graph (a ZeroTensor / threshold_backward node), ganglion's does not, so the
    # oracle has no second-order pair to compare.
    "abs": (gn.abs, torch.abs, away_from_zero, False),
    "relu": (gn.relu, torch.relu, away_from_zero, False),
    "selu": (gn.selu, F.selu, away_from_zero, True),
    "logsigmoid": (gn.logsigmoid, F.logsigmoid, lambda *s: 3 * randn(*s), True),
    "clone": (gn.clone, torch.clone, randn, True),
    "gelu": (gn.gelu, F.gelu, lambda *s: 2 * randn(*s), True),
    "gelu_tanh": (lambda x: gn.gelu(x, approximate="tanh"),
                  lambda x: F.gelu(x, approximate="tanh"), lambda *s: 2 * randn(*s), True),
    "relu6": (gn.relu6, F.relu6, lambda *s: RNG.uniform(-2, 8, s), False),
    "hardtanh": (gn.hardtanh, F.hardtanh, lambda *s: 2 * randn(*s), False),
}


@pytest.mark.parametrize("name", list(SMOOTH))
def test_unary_against_torch(name):
    gn_fn, torch_fn, make, second = SMOOTH[name]
    x = make(3, 5)
    if name in ("relu6", "hardtanh"):
        # Keep inputs off the corners (-1, 1 and 0, 6), where the gradient jumps.
        for kink in (-1.0, 0.0, 1.0, 6.0):
            x = np.where(np.abs(x - kink) < 0.05, x + 0.1, x)
    check_op(gn_fn, torch_fn, [x], second_order=second)


def test_unary_methods():
    x = positive(2, 3)
    for name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "abs", "neg", "sin", "erf"):
        check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x], gradcheck=False,
                 float32=False)


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5])
def test_leaky_relu(slope):
    x = away_from_zero(3, 5)
    check_op(lambda t: gn.leaky_relu(t, slope), lambda t: F.leaky_relu(t, slope), [x])


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu(alpha):
    x = away_from_zero(3, 5)
    check_op(lambda t: gn.elu(t, alpha), lambda t: F.elu(t, alpha), [x], second_order=True)


@pytest.mark.parametrize("beta, threshold", [(1.0, 20.0), (2.0, 20.0), (0.5, 5.0), (1.0, 1.0)])
def test_softplus(beta, threshold):
    x = 3 * randn(3, 5)
    # Keep beta * x off the threshold, where PyTorch switches to the identity.
    x = np.where(np.abs(beta * x - threshold) < 0.1, x + 0.3 / beta, x)
    check_op(lambda t: gn.softplus(t, beta, threshold), lambda t: F.softplus(t, beta, threshold),
             [x], second_order=True)


def test_softplus_large_inputs():
    x = np.array([-1000.0, -50.0, 25.0, 50.0, 100.0, 1000.0])
    check_op(gn.softplus, F.softplus, [x], gradcheck=False)
    check_op(lambda t: gn.softplus(t, 2.0), lambda t: F.softplus(t, 2.0), [x], gradcheck=False)
    y = gn.softplus(gn.from_numpy(x))
    assert np.isfinite(y.numpy()).all()
    np.testing.assert_array_equal(y.numpy()[3:], x[3:])


def test_logsigmoid_tails():
    x = np.array([-800.0, -50.0, -21.0, 21.0, 50.0, 800.0])
    check_op(gn.logsigmoid, F.logsigmoid, [x], gradcheck=False, rtol=1e-9, atol=0)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_large_and_negative_inputs(approximate):
    x = np.array([-30.0, -8.0, -3.0, 3.0, 8.0, 30.0])
    check_op(lambda t: gn.gelu(t, approximate=approximate),
             lambda t: F.gelu(t, approximate=approximate), [x], second_order=True)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu"):
        gn.gelu(gn.zeros(2), approximate="fast")


def test_sigmoid_tails_in_float64():
    x = np.array([-745.0, -40.0, -20.0, 20.0, 40.0, 745.0])
    got = gn.sigmoid(gn.from_numpy(x)).numpy()
    want = torch.sigmoid(torch.from_numpy(x)).numpy()
    # PyTorch computes 1 / (1 + exp(745)) = 0 at -745, ganglion the subnormal exp(-745): both
    # are within one subnormal of the truth, hence the tiny absolute tolerance.
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-300)
    assert got[1] > 0 and abs(got[1] / np.exp(-40.0) - 1) < 1e-15
    check_op(gn.sigmoid, torch.sigmoid, [x], gradcheck=False, second_order=True, atol=1e-300,
             rtol=1e-12)


def test_sigmoid_tails_in_float32():
    x = np.array([-100.0, -30.0, 30.0, 100.0], np.float32)
    out = check_forward(gn.sigmoid, torch.sigmoid, [x], atol=1e-38, rtol=1e-6)[0]
    assert out.dtype is gn.float32
    assert np.isfinite(out.numpy()).all()


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round"])
def test_piecewise_constant_ops_have_zero_gradient(name):
    # Fractional parts in [0.1, 0.4]: away from the jumps at integers (floor, ceil, sign at 0)
    # and at halves (round).
    x = RNG.integers(-3, 4, (3, 5)) + RNG.uniform(0.1, 0.4, (3, 5)) * RNG.choice([-1, 1], (3, 5))
    check_op(getattr(gn, name), getattr(torch, name), [x])
    t = gn.from_numpy(x).requires_grad_()
    getattr(gn, name)(t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.zeros_like(x))


def test_round_is_half_to_even():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49, -0.51])
    out = check_forward(gn.round, torch.round, [x], atol=0, rtol=0)[0]
    np.testing.assert_array_equal(out.numpy(), [-2, -2, -0, 0, 2, 2, 4, 0, -1])


def test_sign_floor_ceil_forward_on_special_values():
    x = np.array([-np.inf, -2.0, -0.0, 0.0, 2.0, np.inf])
    for name in ("sign", "floor", "ceil", "round"):
        check_forward(getattr(gn, name), getattr(torch, name), [x])
        nan = getattr(gn, name)(gn.from_numpy(np.array([np.nan])))
        assert np.isnan(nan.numpy()).all(), name


def test_sign_of_nan_is_nan_unlike_torch():
    # A deliberate difference: NumPy's sign(nan) = nan; PyTorch gives 0.
    x = gn.from_numpy(np.array([np.nan, -3.0]))
    np.testing.assert_array_equal(gn.sign(x).numpy(), [np.nan, -1.0])
    assert torch.sign(torch.tensor([np.nan])).item() == 0.0


KINKS = {
    "relu": (gn.relu, torch.relu, [-1.0, 0.0, 1.0]),
    "abs": (gn.abs, torch.abs, [-1.0, 0.0, 1.0]),
    "leaky_relu": (lambda t: gn.leaky_relu(t, 0.1), lambda t: F.leaky_relu(t, 0.1),
                   [-1.0, 0.0, 1.0]),
    "elu": (lambda t: gn.elu(t, 0.7), lambda t: F.elu(t, 0.7), [-1.0, 0.0, 1.0]),
    "selu": (gn.selu, F.selu, [-1.0, 0.0, 1.0]),
    "hardtanh": (gn.hardtanh, F.hardtanh, [-2.0, -1.0, 0.0, 1.0, 2.0]),
    "hardtanh_range": (lambda t: gn.hardtanh(t, -0.5, 2.0), lambda t: F.hardtanh(t, -0.5, 2.0),
                       [-1.0, -0.5, 0.0, 2.0, 3.0]),
    "relu6": (gn.relu6, F.relu6, [-1.0, 0.0, 3.0, 6.0, 7.0]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_gradient_at_kinks_matches_torch(name):
    gn_fn, torch_fn, values = KINKS[name]
    check_op(gn_fn, torch_fn, [np.array(values)], gradcheck=False)


REAL_FUNCTIONS = ["exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh",
                  "sigmoid", "erf"]


@pytest.mark.parametrize("name", REAL_FUNCTIONS)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_integer_input_gives_float32(name, dtype):
    x = np.array([1, 2, 3, 1]).astype(dtype)
    out = check_forward(getattr(gn, name), getattr(torch, name), [x])[0]
    assert out.dtype is gn.float32


@pytest.mark.parametrize("name", ["abs", "neg", "square", "relu", "sign", "floor", "ceil", "round",
                                  "relu6", "hardtanh", "clone"])
def test_integer_input_keeps_its_dtype(name):
    torch_fn = {"relu6": F.relu6, "hardtanh": F.hardtanh}.get(name) or getattr(torch, name)
    x = np.array([-3, 0, 2, 7, 1])
    out = check_forward(getattr(gn, name), torch_fn, [x])[0]
    assert out.dtype is gn.int64


def test_bool_input():
    x = np.array([True, False, True])
    check_forward(gn.square, torch.square, [x])
    check_forward(gn.sign, torch.sign, [x])
    with pytest.raises(TypeError):
        gn.neg(gn.from_numpy(x))


def test_clone_copies():
    a = gn.from_numpy(np.array([1.0, 2.0]))
    b = gn.clone(a)
    b.data[0] = 5.0
    assert a.numpy()[0] == 1.0


def test_float32_input_stays_float32():
    x = np.array([0.5, 1.5, 2.5], np.float32)
    for name in ("exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "gelu", "softplus",
                 "elu", "selu", "leaky_relu", "logsigmoid", "erf", "hardtanh", "relu6"):
        out = getattr(gn, name)(gn.from_numpy(x))
        assert out.dtype is gn.float32, name
