"""Fusion where known and unknown dimensions meet (issue 16, defect 1).

A fused group's shape is known, but an input's may not be: the gradient of a weight computed
from an ``fmatrix`` is (64, ?) while the weight is (64, 784). The compiler used to multiply the
unknown dimension (TypeError); now such an input is read whole and broadcast at run time when
it turns out smaller. Checked on the issue's minimal case (an MLP trained with Adam, against
PyTorch), a denoising autoencoder written as in the DeepLearningTutorials (against PyTorch),
and random elementwise graphs over placeholders with random known and unknown dimensions
(against eager ganglion).
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from ganglion.backend import fused_loops
from ganglion.symbolic import fusion
from ganglion.symbolic.fusion import FusedElementwise, FusedElementwiseOutputs

pytestmark = pytest.mark.skipif(not fused_loops.available(),
                                reason="fusion needs numba: pip install 'ganglion[jit]'")


def fused_ops(f):
    return [i.node.op for i in f.schedule.instructions
            if isinstance(i.node.op, (FusedElementwise, FusedElementwiseOutputs))]


def test_mlp_on_an_fmatrix_trained_with_adam_compiles_and_matches_pytorch():
    # The minimal case: Linear's weight gradient is (32, ?) with x an fmatrix.
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    twin = torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    with torch.no_grad():
        for p, q in zip(model.parameters(), twin.parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy()))
    x, y = gn.fmatrix("x"), gn.lvector("y")
    cost = F.cross_entropy(model(x), y)
    step = gn.function([x, y], cost, updates=gn.optim.Adam(model.parameters(), 1e-2).updates(cost))
    assert any(op.expand for op in fused_ops(step))   # an update reads the (32, ?) gradient
    optimizer = torch.optim.Adam(twin.parameters(), 1e-2)
    rng = np.random.default_rng(0)
    for batch in (16, 7, 16):
        data = rng.random((batch, 784), dtype=np.float32)
        labels = rng.integers(0, 10, batch)
        loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(data)), torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        np.testing.assert_allclose(step(data, labels), loss.item(), rtol=1e-5)
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_denoising_autoencoder_with_tied_weights_matches_pytorch():
    # dA.py of the DeepLearningTutorials: T.matrix input, W' = W.T, cross-entropy
    # reconstruction cost, SGD updates from T.grad. The corruption mask is an input here.
    import ganglion.compat.theano as theano
    import ganglion.compat.theano.tensor as T
    rng = np.random.RandomState(123)
    n_visible, n_hidden, lr = 64, 24, 0.1
    bound = 4 * np.sqrt(6.0 / (n_hidden + n_visible))
    initial_w = rng.uniform(-bound, bound, (n_visible, n_hidden))
    W = theano.shared(initial_w.copy(), name="W")
    bhid = theano.shared(np.zeros(n_hidden), name="bhid")
    bvis = theano.shared(np.zeros(n_visible), name="bvis")
    x, mask = T.matrix("x"), T.matrix("mask")
    y = T.nnet.sigmoid(T.dot(mask * x, W) + bhid)
    z = T.nnet.sigmoid(T.dot(y, W.T) + bvis)
    cost = T.mean(-T.sum(x * T.log(z) + (1 - x) * T.log(1 - z), axis=1))
    params = [W, bhid, bvis]
    updates = [(p, p - lr * g) for p, g in zip(params, T.grad(cost, params))]
    train = theano.function([x, mask], cost, updates=updates)

    tw = torch.tensor(initial_w, requires_grad=True)
    tbh = torch.zeros(n_hidden, dtype=torch.float64, requires_grad=True)
    tbv = torch.zeros(n_visible, dtype=torch.float64, requires_grad=True)
    for batch in (20, 20, 9):
        data = (rng.rand(batch, n_visible) > 0.5).astype(np.float64)
        keep = (rng.rand(batch, n_visible) > 0.3).astype(np.float64)
        tx = torch.from_numpy(data)
        tz = torch.sigmoid(torch.sigmoid((torch.from_numpy(keep) * tx) @ tw + tbh) @ tw.T + tbv)
        expected = torch.nn.functional.binary_cross_entropy(tz, tx, reduction="sum") / batch
        grads = torch.autograd.grad(expected, [tw, tbh, tbv])
        with torch.no_grad():
            for p, g in zip((tw, tbh, tbv), grads):
                p -= lr * g
        np.testing.assert_allclose(train(data, keep), expected.item(), rtol=1e-10)
    np.testing.assert_allclose(W.get_value(), tw.detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(fusion, "MIN_SIZE", 1)


def test_an_unknown_dimension_is_broadcast_when_it_is_one_at_run_time(small):
    x = gn.placeholder(gn.float64, (4, 6), name="x")
    v = gn.placeholder(gn.float64, (None, 6), name="v")
    w = gn.placeholder(gn.float64, (None,), name="w")
    f = gn.function([x, v, w], gn.relu(x * 2 + v) * w - x)
    [op] = fused_ops(f)
    assert len(op.expand) == 2   # v and w
    data = np.arange(24.0).reshape(4, 6) - 10
    for rows, length in ((4, 6), (1, 6), (4, 1), (1, 1)):
        vv = np.linspace(-3, 3, rows * 6).reshape(rows, 6)
        ww = np.linspace(0.5, 2, length)
        np.testing.assert_allclose(f(data, vv, ww), np.maximum(data * 2 + vv, 0) * ww - data)
    with pytest.raises(ValueError, match="broadcast"):
        f(data, np.zeros((3, 6)), np.ones(6))


def test_an_input_whose_known_dimension_differs_is_not_read_whole():
    # (?, 1) against a (4, 6) group: neither 'full' nor a row; the op stays out of the group.
    assert fusion._read_kind((None, 1), (4, 6)) is None
    assert fusion._read_kind((None, 6), (4, 6)) == ("full", None)
    assert fusion._read_kind((None, None, 6), (4, 6)) is None
    assert fusion._size((3, None)) is None and fusion._size((3, 2)) == 6


# ----- property: random elementwise graphs over placeholders with random known/unknown dims -----

UNARY = ["neg", "abs", "relu", "tanh"]   # tanh is never fused: it splits groups
BINARY = ["add", "sub", "mul", "maximum", "minimum"]
# How each dimension of an input is declared and what it is at run time.
DIM_KINDS = ["known", "unknown", "unknown_one", "one"]


@st.composite
def graphs(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(2, 4)) for _ in range(ndim))
    operands = []
    for k in range(draw(st.integers(1, 3))):
        # Operand 0 has the output's full shape; the others may broadcast (fewer dims, ones).
        rank = ndim if k == 0 else draw(st.integers(0, ndim))
        kinds = draw(st.lists(st.sampled_from(DIM_KINDS[:2] if k == 0 else DIM_KINDS),
                              min_size=rank, max_size=rank))
        operands.append(list(zip(kinds, shape[ndim - rank:])))
    steps = draw(st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 2)),
                          min_size=1, max_size=6))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return operands, steps, dtype


def build(steps, operands):
    value = operands[0]
    for name, pick in steps:
        if name in UNARY:
            value = getattr(gn, name)(value)
        else:
            other = operands[pick % len(operands)]
            value = {"add": lambda: value + other, "sub": lambda: value - other,
                     "mul": lambda: value * other, "maximum": lambda: gn.maximum(value, other),
                     "minimum": lambda: gn.minimum(value, other)}[name]()
    return value


@settings(max_examples=25, deadline=None)
@given(graphs())
def test_random_graphs_with_unknown_dims_compile_and_equal_eager(graph):
    operands, steps, dtype = graph
    declared = [tuple(None if kind.startswith("unknown") else (1 if kind == "one" else d)
                      for kind, d in dims) for dims in operands]
    runtime = [tuple(1 if kind.endswith("one") else d for kind, d in dims) for dims in operands]
    placeholders = [gn.placeholder(gn.float32 if dtype == np.float32 else gn.float64, shape, name=f"p{k}")
                    for k, shape in enumerate(declared)]
    fusion.MIN_SIZE, saved = 1, fusion.MIN_SIZE
    try:
        f = gn.function(placeholders, build(steps, placeholders), on_unused_input="ignore")
    finally:
        fusion.MIN_SIZE = saved
    rng = np.random.default_rng(len(steps))
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in runtime]
    eager = build(steps, [gn.from_numpy(a) for a in arrays]).numpy()
    got = f(*arrays)
    assert got.shape == eager.shape and got.dtype == eager.dtype
    tolerance = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, eager, rtol=tolerance, atol=tolerance)
