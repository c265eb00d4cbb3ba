"""Oracle tests of softmax and log_softmax (core/ops/softmax.py) against PyTorch.

Every axis of a 3-D tensor, ``dim=`` and ``axis=`` spellings, first and second derivatives,
overflow-prone inputs (1e4), rows holding -inf, and the normalisation of the result.
"""
import numpy as np
import pytest
import torch

import ganglion as gn
from oracle import check_forward, check_op

RNG = np.random.default_rng(0)
FUNCTIONS = {"softmax": (gn.softmax, torch.softmax),
             "log_softmax": (gn.log_softmax, torch.log_softmax)}


@pytest.mark.parametrize("name", list(FUNCTIONS))
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_every_axis_of_a_3d_tensor(name, axis):
    gn_fn, torch_fn = FUNCTIONS[name]
    x = RNG.standard_normal((2, 3, 4))
    check_op(lambda t: gn_fn(t, dim=axis), lambda t: torch_fn(t, dim=axis), [x],
             second_order=True)
    check_op(lambda t: gn_fn(t, axis=axis), lambda t: torch_fn(t, dim=axis), [x], gradcheck=False)
    check_op(lambda t: gn_fn(t, axis), lambda t: torch_fn(t, axis), [x], gradcheck=False)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_default_axis_is_the_last_and_methods(name):
    gn_fn, torch_fn = FUNCTIONS[name]
    x = RNG.standard_normal((3, 5))
    check_op(gn_fn, lambda t: torch_fn(t, dim=-1), [x], gradcheck=False)
    check_op(lambda t: getattr(t, name)(dim=0), lambda t: getattr(t, name)(dim=0), [x],
             gradcheck=False)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_huge_inputs_stay_finite(name):
    gn_fn, torch_fn = FUNCTIONS[name]
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4 - 1.0, 1e4 - 2.0], [-1e4, -1e4, -1e4 + 3.0]])
    for dtype in (np.float64, np.float32):
        out = gn_fn(gn.from_numpy(x.astype(dtype)), dim=1).numpy()
        assert np.isfinite(out).all()
    check_op(lambda t: gn_fn(t, dim=1), lambda t: torch_fn(t, dim=1), [x], gradcheck=False,
             second_order=True)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_rows_with_minus_infinity(name):
    gn_fn, torch_fn = FUNCTIONS[name]
    x = np.array([[0.5, -np.inf, 1.0, -0.3], [-np.inf, 2.0, -np.inf, 0.0]])
    check_op(lambda t: gn_fn(t, dim=1), lambda t: torch_fn(t, dim=1), [x], gradcheck=False)
    out = gn_fn(gn.from_numpy(x), dim=1).numpy()
    masked = np.isinf(x)
    if name == "softmax":
        np.testing.assert_array_equal(out[masked], 0.0)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-15)
    else:
        assert (out[masked] == -np.inf).all()
        assert np.isfinite(out[~masked]).all()


def test_softmax_gradient_with_minus_infinity_is_finite():
    x = gn.from_numpy(np.array([[0.5, -np.inf, 1.0]])).requires_grad_()
    gn.log_softmax(x, dim=1)[0, 0].backward()
    assert np.isfinite(x.grad.numpy()).all()
    xt = torch.tensor([[0.5, -np.inf, 1.0]], dtype=torch.float64, requires_grad=True)
    torch.log_softmax(xt, dim=1)[0, 0].backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_log_softmax_exp_sums_to_one(axis):
    x = 5 * RNG.standard_normal((3, 4, 5))
    total = gn.log_softmax(gn.from_numpy(x), dim=axis).exp().sum(axis=axis).numpy()
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)
    total32 = gn.softmax(gn.from_numpy(x.astype(np.float32)), dim=axis).sum(axis=axis).numpy()
    np.testing.assert_allclose(total32, 1.0, rtol=1e-5)


def test_softmax_of_log_softmax_composition_second_order():
    x = RNG.standard_normal((3, 4))
    w = RNG.standard_normal((3, 4))
    check_op(lambda t, v: (gn.softmax(t, dim=1) * gn.log_softmax(v, dim=0)).sum(dim=1),
             lambda t, v: (torch.softmax(t, 1) * torch.log_softmax(v, 0)).sum(dim=1), [x, w],
             second_order=True)


def test_integer_input_gives_float32():
    x = np.array([[1, 2, 3], [0, 0, 5]])
    for gn_fn in (gn.softmax, gn.log_softmax):
        out = gn_fn(gn.from_numpy(x), dim=1)
        assert out.dtype is gn.float32
    check_forward(lambda t: gn.softmax(t, dim=1), lambda t: torch.softmax(t, 1, dtype=torch.float32),
                  [x])


def test_zero_dim_and_single_element_axes():
    check_op(lambda t: gn.softmax(t, dim=0), lambda t: torch.softmax(t, 0), [np.array(2.5)],
             gradcheck=False)
    check_op(lambda t: gn.log_softmax(t, dim=1), lambda t: torch.log_softmax(t, 1),
             [RNG.standard_normal((3, 1))])


def test_bad_axis_names_the_op():
    with pytest.raises(IndexError, match="softmax"):
        gn.softmax(gn.zeros(2, 3), dim=2)
