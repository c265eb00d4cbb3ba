"""Embedding against PyTorch: lookup values, gradients with repeated indices, padding_idx (a zero
row at init that never receives gradient), from_pretrained (shared, frozen by default), the
functional form, a jit-compiled train step, and errors that name the layer."""
import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion import nn
from ganglion.nn import functional as F

INDICES = np.array([[1, 3, 3, 0], [4, 3, 1, 1]])


def _pair(padding_idx=None):
    reference = torch.nn.Embedding(6, 5, padding_idx=padding_idx).double()
    layer = nn.Embedding(6, 5, padding_idx=padding_idx).double()
    layer.load_state_dict({"weight": reference.weight.detach().numpy()})
    return reference, layer


@pytest.mark.parametrize("padding_idx", [None, 3, -3, 0])
def test_matches_torch_forward_and_backward(padding_idx):
    reference, layer = _pair(padding_idx)
    weight = np.random.default_rng(0).standard_normal(INDICES.shape + (5,))
    expected = reference(torch.from_numpy(INDICES))
    out = layer(gn.from_numpy(INDICES))
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
    (expected * torch.from_numpy(weight)).sum().backward()
    (out * gn.from_numpy(weight)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad.numpy(), reference.weight.grad.numpy(), atol=1e-12)


def test_padding_row_starts_at_zero_and_gets_no_gradient():
    gn.manual_seed(0)
    layer = nn.Embedding(6, 5, padding_idx=2)
    assert np.all(layer.weight.detach().numpy()[2] == 0)
    assert np.abs(layer.weight.detach().numpy()[[0, 1, 3]]).max() > 0.1  # N(0, 1) elsewhere
    layer(gn.tensor([[2, 2, 1]])).sum().backward()
    grad = layer.weight.grad.numpy()
    assert np.all(grad[2] == 0) and np.all(grad[1] == 1)
    assert layer.padding_idx == 2 and "padding_idx=2" in repr(layer)


def test_from_pretrained_shares_and_freezes():
    table = gn.from_numpy(np.arange(12, dtype=np.float32).reshape(4, 3))
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(gn.tensor([2, 0])).numpy(), [[6, 7, 8], [0, 1, 2]])
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    trainable(gn.tensor([1, 2, 2])).sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad.numpy()[:, 0], [0, 0, 2, 0])
    np.testing.assert_array_equal(trainable(gn.tensor([1])).detach().numpy(), [[3, 4, 5]])


def test_functional_form_and_gradcheck():
    weight = gn.from_numpy(np.random.default_rng(1).standard_normal((5, 3))).requires_grad_()
    indices = gn.tensor([[0, 4], [4, 4]])
    assert gn.autograd.gradcheck(lambda w: F.embedding(indices, w), [weight])
    # With padding_idx the gradient of that row is zero by design, not the true derivative.
    F.embedding(indices, weight, padding_idx=4).sum().backward()
    np.testing.assert_array_equal(weight.grad.numpy()[:, 0], [1, 0, 0, 0, 0])


def test_state_dict_keys_equal_torch():
    assert list(nn.Embedding(6, 5).state_dict()) == list(torch.nn.Embedding(6, 5).state_dict())


def test_errors_name_the_layer():
    with pytest.raises(TypeError, match=r"Embedding\(6, 5\): expected integer indices"):
        nn.Embedding(6, 5)(gn.zeros(2))
    with pytest.raises(ValueError, match=r"Embedding\(6, 5\): padding_idx"):
        nn.Embedding(6, 5, padding_idx=6)
    with pytest.raises(ValueError, match=r"from_pretrained: expected a 2-D tensor"):
        nn.Embedding.from_pretrained(gn.zeros(3))


def test_jit_train_step_with_padding_matches_eager():
    gn.manual_seed(0)
    table, lstm = nn.Embedding(20, 4, padding_idx=0), nn.LSTM(4, 6)
    params = list(table.parameters()) + list(lstm.parameters())
    tokens = gn.from_numpy(np.array([[0, 3, 5], [7, 0, 0]]))

    def step(tokens):
        output, _ = lstm(table(tokens))
        loss = (output * output).mean()
        loss.backward()
        with gn.no_grad():
            for p in params:
                p -= 0.5 * p.grad
                p.grad = None
        return loss
    start = [p.detach().numpy().copy() for p in params]
    compiled = gn.jit(step)
    traced = [float(compiled(tokens)) for _ in range(3)]
    for p, value in zip(params, start):
        p.data[...] = gn.from_numpy(value)
    eager = [float(step(tokens)) for _ in range(3)]
    np.testing.assert_allclose(traced, eager, rtol=1e-5)
    assert np.all(table.weight.detach().numpy()[0] == 0)
