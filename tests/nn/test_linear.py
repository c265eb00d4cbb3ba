"""Oracle tests of Linear, Bilinear, Identity, Flatten and Unflatten (module and functional
form): forward and backward against PyTorch with copied weights, float64 gradient checks,
second derivatives, symbolic inputs, and the errors that name the layer and expected shape."""
import re

import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion import nn
from tests.oracle import check_op

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("x_shape", [(5, 4), (4,), (2, 3, 4), (2, 1, 3, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_functional_linear(x_shape, bias):
    arrays = [randn(*x_shape), randn(3, 4)] + ([randn(3)] if bias else [])
    check_op(F.linear, torch.nn.functional.linear, arrays, second_order=True)


@pytest.mark.parametrize("x_shape", [(5, 3), (2, 5, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_functional_bilinear(x_shape, bias):
    x2_shape = x_shape[:-1] + (4,)
    arrays = [randn(*x_shape), randn(*x2_shape), randn(2, 3, 4)] + ([randn(2)] if bias else [])
    check_op(F.bilinear, torch.nn.functional.bilinear, arrays)


def copy_weights(module, torch_module):
    module.load_state_dict(torch_module.state_dict())


def module_pair(make):
    torch.manual_seed(0)
    g, t = make(nn), make(torch.nn)
    copy_weights(g, t)
    return g, t


def assert_forward_backward(g, t, *arrays, atol=1e-5):
    """Same output and same gradients of inputs and parameters for the weighted sum of outputs."""
    g_in = [gn.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    g_out, t_out = g(*g_in), t(*t_in)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), atol=atol, rtol=1e-5)
    weights = rng.standard_normal(tuple(t_out.shape)).astype(np.float32)
    (g_out * gn.tensor(weights)).sum().backward()
    (t_out * torch.tensor(weights)).sum().backward()
    for gi, ti in zip(g_in, t_in):
        np.testing.assert_allclose(gi.grad.numpy(), ti.grad.numpy(), atol=atol, rtol=1e-5)
    for (name, gp), (_, tp) in zip(g.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(gp.grad.numpy(), tp.grad.numpy(), atol=atol, rtol=1e-5,
                                   err_msg=name)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape", [(8, 6), (2, 3, 6), (6,)])
def test_linear_module_matches_pytorch(bias, x_shape):
    g, t = module_pair(lambda lib: lib.Linear(6, 4, bias=bias))
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert g.weight.shape == (4, 6) and repr(g) == repr(t)
    assert_forward_backward(g, t, randn(*x_shape).astype(np.float32))


def test_bilinear_module_matches_pytorch():
    g, t = module_pair(lambda lib: lib.Bilinear(3, 5, 2))
    assert repr(g) == repr(t)
    assert_forward_backward(g, t, randn(4, 3).astype(np.float32), randn(4, 5).astype(np.float32))


@pytest.mark.parametrize("start_dim,end_dim", [(1, -1), (0, -1), (1, 2), (-3, -2), (2, 3)])
def test_flatten_matches_pytorch(start_dim, end_dim):
    g, t = module_pair(lambda lib: lib.Flatten(start_dim, end_dim))
    assert repr(g) == repr(t)
    assert_forward_backward(g, t, randn(2, 3, 4, 5).astype(np.float32))


@pytest.mark.parametrize("dim,sizes,x_shape", [(1, (3, 4), (2, 12)), (-1, (2, -1), (5, 2, 6)),
                                               (0, (2, 3), (6, 5))])
def test_unflatten_matches_pytorch(dim, sizes, x_shape):
    g, t = module_pair(lambda lib: lib.Unflatten(dim, sizes))
    assert repr(g) == repr(t)
    assert_forward_backward(g, t, randn(*x_shape).astype(np.float32))


def test_identity_passes_input_and_ignores_arguments():
    x = gn.randn(3, 2)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity()) == repr(torch.nn.Identity())


def test_linear_float64_gradcheck():
    g = nn.Linear(4, 3).double()
    x = gn.from_numpy(randn(2, 4)).requires_grad_()
    assert gn.autograd.gradcheck(lambda x, w, b: g(x), [x, g.weight, g.bias])
    b = nn.Bilinear(2, 3, 2).double()
    x1, x2 = gn.from_numpy(randn(3, 2)).requires_grad_(), gn.from_numpy(randn(3, 3)).requires_grad_()
    assert gn.autograd.gradcheck(lambda x1, x2, w, bias: b(x1, x2), [x1, x2, b.weight, b.bias])


def test_linear_without_bias_registers_none():
    g = nn.Linear(3, 2, bias=False)
    assert g.bias is None and list(g.state_dict()) == ["weight"]
    assert g(gn.randn(1, 3)).shape == (1, 2)


def test_dtype_argument():
    g = nn.Linear(3, 2, dtype=gn.float64)
    assert g.weight.dtype is gn.float64 and g.bias.dtype is gn.float64


# ----- errors ---------------------------------------------------------------------------------

def test_linear_bad_input_names_the_layer_and_expected_shape():
    with pytest.raises(ValueError, match=re.escape(
            "Linear(784, 10): expected input with last dimension 784, got shape (128, 100)")):
        nn.Linear(784, 10)(gn.randn(128, 100))
    with pytest.raises(RuntimeError, match=re.escape("got shape ()")):
        nn.Linear(3, 1)(gn.tensor(1.0))


def test_linear_dtype_mismatch_is_explained():
    with pytest.raises(TypeError, match="the input is float64 but the parameters are float32"):
        nn.Linear(3, 2)(gn.tensor(randn(2, 3), dtype=gn.float64))


def test_functional_linear_shape_errors():
    with pytest.raises(ValueError, match=re.escape("linear: input of shape (2, 5) does not fit weight "
                                                   "of shape (3, 4)")):
        F.linear(gn.randn(2, 5), gn.randn(3, 4))
    with pytest.raises(ValueError, match=re.escape("bias must have shape (3,), got (4,)")):
        F.linear(gn.randn(2, 4), gn.randn(3, 4), gn.randn(4))


def test_bilinear_errors():
    layer = nn.Bilinear(3, 5, 2)
    with pytest.raises(ValueError, match=re.escape(
            "Bilinear(3, 5, 2): expected input with last dimension 5, got shape (4, 3)")):
        layer(gn.randn(4, 3), gn.randn(4, 3))
    with pytest.raises(ValueError, match="same leading dimensions"):
        layer(gn.randn(4, 3), gn.randn(2, 5))


def test_flatten_and_unflatten_errors():
    with pytest.raises(ValueError, match=re.escape(
            "Flatten(start_dim=1, end_dim=-1): expected input with at least 2 dimensions, got shape (5,)")):
        nn.Flatten()(gn.randn(5))
    with pytest.raises(ValueError, match=re.escape(
            "Unflatten(dim=1, unflattened_size=(3, 5)): dimension 1 of size 12 (input shape (2, 12)) "
            "cannot be split into (3, 5): expected size 15")):
        nn.Unflatten(1, (3, 5))(gn.randn(2, 12))
    with pytest.raises(ValueError, match="only one entry"):
        nn.Unflatten(1, (-1, -1))


# ----- symbolic inputs ------------------------------------------------------------------------

def test_layers_on_placeholders():
    x = gn.placeholder(gn.float32, (None, 2, 6))
    model = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 4)), nn.Flatten(), nn.Linear(12, 5))
    y = model(x)
    assert y.shape == (None, 5)
    data = randn(7, 2, 6).astype(np.float32)
    np.testing.assert_allclose(gn.function([x], y)(data), model(gn.tensor(data)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=re.escape(
            "Linear(12, 5): expected input with last dimension 12, got shape (?, 2, 6)")):
        nn.Linear(12, 5)(x)


def test_symbolic_gradient_of_linear_matches_eager():
    layer = nn.Linear(4, 3)
    x = gn.placeholder(gn.float32, (None, 4))
    loss = (layer(x) ** 2).sum()
    grads = gn.grad(loss, [layer.weight, layer.bias])
    f = gn.function([x], list(grads))
    data = randn(5, 4).astype(np.float32)
    (layer(gn.tensor(data)) ** 2).sum().backward()
    for compiled, eager in zip(f(data), [layer.weight.grad, layer.bias.grad]):
        np.testing.assert_allclose(compiled, eager.numpy(), rtol=1e-5, atol=1e-5)
