"""The perceptron (Rosenblatt's rule learns AND and OR, never XOR) and logistic regression
(equal to a PyTorch twin with copied weights), both registered models."""
import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion import nn
from ganglion.models import get_model, list_models, logistic_regression, model_info, perceptron

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
TARGETS = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0]}


@pytest.mark.parametrize("gate", ["and", "or"])
@pytest.mark.parametrize("output", ["step", "sign"])
def test_perceptron_rule_learns_and_and_or(gate, output):
    y = np.array(TARGETS[gate], dtype=np.float32)
    if output == "sign":
        y = 2 * y - 1
    model = perceptron(output=output)
    history = model.fit_perceptron(gn.tensor(X), gn.tensor(y), lr=1.0, epochs=100)
    assert history[-1] == 0 and len(history) < 20
    np.testing.assert_array_equal(model(gn.tensor(X)).numpy(), y)
    assert model.perceptron_rule_step(gn.tensor(X), gn.tensor(y)) == 0  # nothing left to fix


def test_perceptron_rule_never_converges_on_xor():
    y = np.array(TARGETS["xor"], dtype=np.float32)
    model = perceptron()
    history = model.fit_perceptron(gn.tensor(X), gn.tensor(y), lr=1.0, epochs=200)
    assert len(history) == 200 and min(history) > 0
    assert (model(gn.tensor(X)).numpy() != y).sum() >= 1


def test_one_rule_step_by_hand():
    model = perceptron(in_features=3)
    # from zero weights the first example fires (0 >= 0) with y = 0: w -= x, b -= 1
    mistakes = model.perceptron_rule_step(np.array([[1.0, 2.0, 3.0]]), np.array([0.0]), lr=0.5)
    assert mistakes == 1
    np.testing.assert_allclose(model.linear.weight.detach().numpy(), [[-0.5, -1.0, -1.5]])
    np.testing.assert_allclose(model.linear.bias.detach().numpy(), [-0.5])


def test_perceptron_options_and_registry():
    with pytest.raises(ValueError, match="'step' or 'sign'"):
        perceptron(output="tanh")
    assert {"perceptron", "logistic_regression"} <= set(list_models())
    assert model_info("perceptron").input_shape == (2,)
    assert model_info("logistic_regression").input_shape == (784,)
    assert sorted(get_model("perceptron").state_dict()) == ["linear.bias", "linear.weight"]
    text = nn.summary(get_model("perceptron"), (2,), print_fn=None)
    assert "Total params: 3" in text and "Total MACs: 2 (per example)" in text


@pytest.mark.parametrize("num_classes", [1, 4])
def test_logistic_regression_equals_a_pytorch_twin(num_classes):
    gn.manual_seed(0)
    model = logistic_regression(in_features=6, num_classes=num_classes)
    twin = torch.nn.Linear(6, num_classes)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(model.linear.weight.detach().numpy()))
        twin.bias.copy_(torch.from_numpy(model.linear.bias.detach().numpy()))
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    logits = model(gn.tensor(x))
    expected = twin(torch.from_numpy(x))
    np.testing.assert_allclose(logits.detach().numpy(), expected.detach().numpy(), atol=1e-6)
    link = torch.sigmoid if num_classes == 1 else lambda t: torch.softmax(t, -1)
    np.testing.assert_allclose(model.predict_proba(gn.tensor(x)).detach().numpy(),
                               link(expected).detach().numpy(), atol=1e-6)
    # one gradient step agrees too
    target = np.random.default_rng(1).integers(0, max(num_classes, 2), 5)
    if num_classes == 1:
        loss = nn.BCEWithLogitsLoss()(logits.squeeze(-1), gn.tensor(target.astype(np.float32)))
        twin_loss = torch.nn.BCEWithLogitsLoss()(expected.squeeze(-1),
                                                 torch.from_numpy(target.astype(np.float32)))
    else:
        loss = nn.CrossEntropyLoss()(logits, gn.tensor(target))
        twin_loss = torch.nn.CrossEntropyLoss()(expected, torch.from_numpy(target))
    loss.backward()
    twin_loss.backward()
    np.testing.assert_allclose(model.linear.weight.grad.numpy(), twin.weight.grad.numpy(),
                               atol=1e-6)


def test_logistic_regression_flattens_images():
    model = get_model("logistic_regression")
    assert model(gn.zeros(3, 1, 28, 28)).shape == (3, 10)
