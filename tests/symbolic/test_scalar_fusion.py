"""Scalar fusion (symbolic/scalar_fusion.py): connected 0-d float ops run as one generated
function, with the unfused schedule's numbers bit for bit. The case it is for: the per-parameter
bias-correction arithmetic of ``Adam(...).updates(cost)`` (14 scalar ops per parameter)."""
import sys

import numpy as np
import pytest

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from ganglion.symbolic.scalar_fusion import FusedScalars

# The modules (ganglion.symbolic's ``function`` attribute is the function of that name).
function_module = sys.modules["ganglion.symbolic.function"]
scan_module = sys.modules["ganglion.symbolic.scan"]


@pytest.fixture
def unfused_scalars(monkeypatch):
    """A compile() that leaves 0-d ops unfused, to compare with."""
    def compile_(*args, **kwargs):
        with monkeypatch.context() as m:
            m.setattr(function_module, "fuse_scalars", lambda roots: roots)
            m.setattr(scan_module, "fuse_scalars", lambda roots: roots)
            return gn.function(*args, **kwargs)
    return compile_


def scalar_instructions(f):
    return [i.node for i in f.schedule.instructions if i.node.type.shape == ()]


def test_scalar_chain_with_a_detour_outside_the_group(unfused_scalars):
    # b leaves the group (exp does not join) and comes back into it: the fused node must not
    # read its own output, so the ops after the detour form a second group.
    x = gn.placeholder(gn.float64, (), name="x")
    y = gn.placeholder(gn.float32, (), name="y")
    n = gn.placeholder(gn.int64, (), name="n")
    a = x * 3 - n.to(gn.float64) ** 0.5
    b = gn.exp(a)
    c = (a + b) / (x - 2.0)          # x = 2 divides by zero: inf, as unfused
    d = -gn.sqrt(c.to(gn.float32) * y + 1)
    outputs = [a, c, d, d.to(gn.float64) * a]
    fused = gn.function([x, y, n], outputs)
    unfused = unfused_scalars([x, y, n], outputs)
    assert any(isinstance(node.op, FusedScalars) for node in scalar_instructions(fused))
    assert len(fused.schedule.instructions) < len(unfused.schedule.instructions)
    for args in [(0.7, np.float32(1.3), 5), (2.0, np.float32(0.5), 2), (-1e3, np.float32(2), 0)]:
        with np.errstate(all="ignore"):
            got, expected = fused(*args), unfused(*args)
        for g, e in zip(got, expected):
            assert g.dtype == e.dtype and g.shape == ()
            np.testing.assert_array_equal(g, e)
    with np.errstate(all="ignore"):
        a_ = 0.7 * 3 - np.float64(5) ** 0.5
        c_ = (a_ + np.exp(a_)) / (0.7 - 2.0)
        d_ = -np.sqrt(np.float32(c_) * np.float32(1.3) + np.float32(1))
    np.testing.assert_array_equal(fused(0.7, np.float32(1.3), 5)[2], d_)


def _model_and_cost():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    x = gn.placeholder(gn.float32, (None, 6), name="x")
    y = gn.placeholder(gn.int64, (None,), name="y")
    return model, x, y, F.cross_entropy(model(x), y)


def test_adam_updates_bias_corrections_are_one_op_per_parameter(unfused_scalars):
    rng = np.random.default_rng(0)
    data = rng.standard_normal((32, 6)).astype(np.float32)
    labels = rng.integers(0, 3, 32)
    results = []
    for compile_ in (gn.function, unfused_scalars):
        model, x, y, cost = _model_and_cost()
        optimizer = gn.optim.Adam(model.parameters(), lr=0.01)
        step = compile_([x, y], cost, updates=optimizer.updates(cost))
        losses = [float(step(data, labels)) for _ in range(5)]
        results.append((step, losses, [p.detach().numpy().copy() for p in model.parameters()]))
    (fused, fused_losses, fused_params), (unfused, unfused_losses, unfused_params) = results
    # One fused scalar op per parameter (step count, step size, eps term: 14 ops, three of them
    # powers), and one in the loss's gradient.
    fused_scalar_ops = [n for n in scalar_instructions(fused) if isinstance(n.op, FusedScalars)]
    assert len(fused_scalar_ops) == 5
    assert sum(n.op.names.count("pow") == 3 and len(n.op.names) == 14 for n in fused_scalar_ops) == 4
    assert all(type(n.op).__name__ != "Pow" for n in scalar_instructions(fused))
    assert len(scalar_instructions(unfused)) - len(scalar_instructions(fused)) >= 4 * 9
    assert fused_losses == unfused_losses
    for a, b in zip(fused_params, unfused_params):
        np.testing.assert_array_equal(a, b)
    assert unfused_losses[-1] < unfused_losses[0]
