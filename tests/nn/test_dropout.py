"""Tests of Dropout and Dropout2d (nn/functional/dropout.py, nn/layers/dropout.py): the
fraction zeroed and the 1 / (1 - p) scaling, identity in eval mode, whole channels zeroed by
Dropout2d, gradients through the same mask, reproducibility under ganglion.manual_seed, fresh
masks on each call of a compiled function, reprs and argument errors."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion import nn


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_scales_the_rest(p):
    gn.manual_seed(0)
    out = nn.Dropout(p)(gn.ones(200, 500)).numpy()
    zeroed = out == 0
    assert abs(zeroed.mean() - p) < 0.01
    np.testing.assert_allclose(out[~zeroed], 1 / (1 - p), rtol=1e-6)
    assert out.dtype == np.float32


def test_dropout_gradient_is_the_same_mask():
    x = gn.from_numpy(np.random.default_rng(0).standard_normal((50, 40))).requires_grad_()
    out = F.dropout(x, 0.3)
    out.sum().backward()
    kept = out.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7, rtol=1e-12)

    def reseeded_dropout(t):  # the same mask on every call, for central differences
        gn.manual_seed(5)
        return F.dropout(t, 0.3)
    small = gn.from_numpy(np.random.default_rng(1).standard_normal((4, 5))).requires_grad_()
    assert gn.autograd.gradcheck(reseeded_dropout, [small])


def test_eval_mode_and_zero_p_are_the_identity():
    x = gn.randn(4, 3, 5, 5)
    for module in (nn.Dropout(0.5), nn.Dropout2d(0.5)):
        module.eval()
        assert module(x) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.5, training=False) is x


def test_p_one_zeroes_everything_with_zero_gradient():
    x = gn.randn(3, 4).requires_grad_()
    out = F.dropout(x, 1.0)
    np.testing.assert_array_equal(out.detach().numpy(), 0)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


@pytest.mark.parametrize("shape", [(16, 32, 4, 3)])
def test_dropout2d_zeroes_whole_channels(shape):
    # 3-D input is (N, C, L) in PyTorch, with a warning: see tests/nn/test_layers_torch_surface.py
    gn.manual_seed(1)
    out = nn.Dropout2d(0.4)(gn.ones(*shape)).numpy()
    channels = out.reshape(shape[:-2] + (-1,))
    assert (channels.min(axis=-1) == channels.max(axis=-1)).all()
    assert abs((channels[..., 0] == 0).mean() - 0.4) < 0.1
    np.testing.assert_allclose(channels[channels != 0], 1 / 0.6, rtol=1e-6)


def test_masks_are_reproducible_with_manual_seed():
    x = gn.ones(10, 10)
    gn.manual_seed(7)
    first = [F.dropout(x).numpy(), F.dropout2d(gn.ones(4, 3, 2, 2)).numpy()]
    gn.manual_seed(7)
    second = [F.dropout(x).numpy(), F.dropout2d(gn.ones(4, 3, 2, 2)).numpy()]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(F.dropout(x).numpy(), first[0])


def test_compiled_function_draws_a_fresh_mask_each_call():
    x = gn.placeholder(gn.float32, (None, 100))
    run = gn.function([x], nn.Dropout(0.5)(x))
    data = np.ones((20, 100), np.float32)
    gn.manual_seed(3)
    first, second = run(data), run(data)
    assert not np.array_equal(first, second)
    assert abs((first == 0).mean() - 0.5) < 0.05
    gn.manual_seed(3)
    np.testing.assert_array_equal(run(data), first)


def test_reprs_and_errors():
    assert repr(nn.Dropout()) == repr(torch.nn.Dropout())
    assert repr(nn.Dropout2d(0.2)) == repr(torch.nn.Dropout2d(0.2))
    with pytest.raises(ValueError, match=r"Dropout: dropout probability has to be between 0 and 1, "
                                         r"but got 1.5"):
        nn.Dropout(1.5)
    with pytest.warns(UserWarning, match=r"dropout2d: Received a 2-D input to dropout2d, which is "
                                         r"deprecated"):
        nn.Dropout2d()(gn.ones(4, 5))  # a warning, as in PyTorch (it was refused before)
