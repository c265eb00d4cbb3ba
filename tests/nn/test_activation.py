"""Oracle tests of the activation functions and layers (nn/functional/activation.py,
nn/layers/activation.py): forward and backward against PyTorch in float64 and float32, float64
gradient checks, second derivatives, PyTorch's reprs, symbolic inputs, and the Step neuron,
which has no gradient."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ganglion as gn
import ganglion.nn.functional as F
from ganglion import nn
from tests.oracle import check_op

rng = np.random.default_rng(0)
# Values away from the kinks (0, +-1, 6) so that central differences are exact enough.
X = rng.choice([-1, 1], (3, 5)) * rng.uniform(0.05, 0.9, (3, 5)) * rng.choice([1, 3, 9], (3, 5))

# name: (ganglion function, torch function, ganglion module, torch module)
CASES = {
    "relu": (F.relu, TF.relu, nn.ReLU(), torch.nn.ReLU()),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda t: TF.leaky_relu(t, 0.2),
                   nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
    "elu": (lambda t: F.elu(t, 0.7), lambda t: TF.elu(t, 0.7), nn.ELU(0.7), torch.nn.ELU(0.7)),
    "selu": (F.selu, TF.selu, nn.SELU(), torch.nn.SELU()),
    "gelu": (F.gelu, TF.gelu, nn.GELU(), torch.nn.GELU()),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), lambda t: TF.gelu(t, approximate="tanh"),
                  nn.GELU("tanh"), torch.nn.GELU("tanh")),
    "sigmoid": (F.sigmoid, torch.sigmoid, nn.Sigmoid(), torch.nn.Sigmoid()),
    "tanh": (F.tanh, torch.tanh, nn.Tanh(), torch.nn.Tanh()),
    "softmax": (lambda t: F.softmax(t, dim=1), lambda t: TF.softmax(t, dim=1), nn.Softmax(dim=1),
                torch.nn.Softmax(dim=1)),
    "log_softmax": (lambda t: F.log_softmax(t, dim=0), lambda t: TF.log_softmax(t, dim=0),
                    nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0)),
    "softplus": (lambda t: F.softplus(t, 2.0, 5.0), lambda t: TF.softplus(t, 2.0, 5.0),
                 nn.Softplus(2.0, 5.0), torch.nn.Softplus(2.0, 5.0)),
    "hardtanh": (lambda t: F.hardtanh(t, -2.0, 2.5), lambda t: TF.hardtanh(t, -2.0, 2.5),
                 nn.Hardtanh(-2.0, 2.5), torch.nn.Hardtanh(-2.0, 2.5)),
    "relu6": (F.relu6, TF.relu6, nn.ReLU6(), torch.nn.ReLU6()),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, None, None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_function_against_torch_with_gradcheck(name):
    gn_fn, torch_fn, _, _ = CASES[name]
    piecewise_linear = name in ("relu", "relu6", "hardtanh", "leaky_relu")
    check_op(gn_fn, torch_fn, [X], second_order=not piecewise_linear)


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n][2] is not None])
def test_module_against_torch_and_repr(name):
    _, _, gn_module, torch_module = CASES[name]
    assert repr(gn_module) == repr(torch_module)
    check_op(gn_module, torch_module, [X], gradcheck=False)


def test_reprs_with_inplace_and_defaults():
    for gn_module, torch_module in [(nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
                                    (nn.LeakyReLU(), torch.nn.LeakyReLU()),
                                    (nn.ELU(inplace=True), torch.nn.ELU(inplace=True)),
                                    (nn.Hardtanh(), torch.nn.Hardtanh()),
                                    (nn.ReLU6(inplace=True), torch.nn.ReLU6(inplace=True)),
                                    (nn.Softplus(), torch.nn.Softplus()),
                                    (nn.Softmax(), torch.nn.Softmax())]:
        assert repr(gn_module) == repr(torch_module)


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4), (2, 3, 2, 2)])
def test_softmax_without_dim_follows_torch_legacy_choice(shape):
    x = rng.standard_normal(shape)
    with pytest.warns(UserWarning):
        expected = TF.softmax(torch.from_numpy(x), dim=None).numpy()
    np.testing.assert_allclose(nn.Softmax()(gn.from_numpy(x)).numpy(), expected, rtol=1e-12)


def test_inplace_flag_leaves_the_input_unchanged():
    x = gn.from_numpy(X.copy())
    nn.ReLU(inplace=True)(x)
    np.testing.assert_array_equal(x.numpy(), X)


def test_step_is_a_threshold_without_gradient():
    x = gn.from_numpy(np.array([-1.0, 0.0, 0.4, 0.5, 2.0])).requires_grad_()
    out = nn.Step(0.5)(x)
    np.testing.assert_array_equal(out.numpy(), [0, 0, 0, 1, 1])
    assert out.dtype is gn.float64 and not out.requires_grad
    np.testing.assert_array_equal(F.step(gn.tensor([-3, 0, 2])).numpy(), [0, 1, 1])
    assert repr(nn.Step(0.5)) == "Step(threshold=0.5)"
    np.testing.assert_array_equal(F.sign(gn.tensor([-2.0, 0.0, 3.0])).numpy(), [-1, 0, 1])


def test_activation_layers_on_placeholders_compile():
    x = gn.placeholder(gn.float64, (None, 5))
    model = nn.Sequential(nn.Softplus(), nn.LeakyReLU(0.1), nn.Softmax(dim=1))
    run = gn.function([x], model(x))
    expected = torch.nn.Sequential(torch.nn.Softplus(), torch.nn.LeakyReLU(0.1),
                                   torch.nn.Softmax(dim=1))(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(run(X), expected, rtol=1e-12)
