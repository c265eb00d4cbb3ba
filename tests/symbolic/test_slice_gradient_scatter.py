"""The sum of gradients of disjoint basic slices of one array is one scatter (rewrites/slices.py):
an LSTM step's four gate slices give one (64, 4H) array per step, not four zero-filled ones added
up. Values against PyTorch; the rewrite must leave overlapping or strided slices alone."""
import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.core.ops.indexing import IndexAdd
from ganglion.symbolic.rewrites.slices import ScatterSlices


def _ops(f):
    return [i.node.op for i in f.schedule.instructions]


def _gradient(pieces, shape, data):
    """d/dx of sum_k w_k * f_k(x[piece_k]), compiled, and PyTorch's."""
    x = gn.placeholder(gn.float64, shape, name="x")
    functions = [gn.tanh, gn.sigmoid, lambda v: v * v, gn.exp]
    cost = sum((k + 1) * functions[k % 4](x[piece]).sum() for k, piece in enumerate(pieces))
    (gradient,) = gn.grad(cost, [x])
    f = gn.function([x], gradient)
    xt = torch.tensor(data, requires_grad=True)
    torch_functions = [torch.tanh, torch.sigmoid, lambda v: v * v, torch.exp]
    torch_cost = sum((k + 1) * torch_functions[k % 4](xt[piece]).sum() for k, piece in enumerate(pieces))
    torch_cost.backward()
    return f, f(data), xt.grad.numpy()


@pytest.mark.parametrize("pieces, covers", [
    ([np.s_[:, 0:3], np.s_[:, 3:6], np.s_[:, 6:9], np.s_[:, 9:12]], True),  # an LSTM's gates
    ([np.s_[:, 9:12], np.s_[:, 0:3], np.s_[:, 6:9]], False),                # a gap stays zero
    ([np.s_[0:2, :5], np.s_[2:, :5], np.s_[:, 5:]], True),                   # boxes in 2-D
])
def test_disjoint_slice_gradients_become_one_scatter(pieces, covers):
    data = np.random.default_rng(0).standard_normal((4, 12))
    f, got, expected = _gradient(pieces, (4, 12), data)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    scatters = [op for op in _ops(f) if isinstance(op, ScatterSlices)]
    assert len(scatters) == 1 and len(scatters[0].specs) == len(pieces)
    assert scatters[0].covers is covers
    assert not any(isinstance(op, IndexAdd) for op in _ops(f))


@pytest.mark.parametrize("pieces", [
    [np.s_[:, 0:6], np.s_[:, 4:12]],       # overlapping: both add at columns 4, 5
    [np.s_[:, 0:12:2], np.s_[:, 1:12:2]],  # strided slices: not rewritten
])
def test_overlapping_or_strided_slices_keep_their_sum(pieces):
    data = np.random.default_rng(1).standard_normal((4, 12))
    f, got, expected = _gradient(pieces, (4, 12), data)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert not any(isinstance(op, ScatterSlices) for op in _ops(f))


def test_scatter_slices_forward_and_its_gradient_are_the_slices():
    from ganglion.core.op import apply
    rng = np.random.default_rng(2)
    a = gn.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = gn.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    like = gn.zeros((3, 6), dtype=gn.float64)
    op = ScatterSlices([np.s_[:, 4:6], np.s_[:, 0:3]], covers=False)
    out = apply(op, a, b, like)
    expected = np.zeros((3, 6))
    expected[:, 4:6], expected[:, 0:3] = a.detach().numpy(), b.detach().numpy()
    np.testing.assert_array_equal(out.detach().numpy(), expected)  # column 3 stays zero
    weights = gn.tensor(rng.standard_normal((3, 6)))
    (out * weights).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), weights.numpy()[:, 4:6])
    np.testing.assert_array_equal(b.grad.numpy(), weights.numpy()[:, 0:3])
