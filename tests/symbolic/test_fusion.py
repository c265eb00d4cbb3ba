"""Elementwise fusion: which chains become one compiled loop, and that a fused function gives
what the same function compiled unfused gives (dtypes, broadcasts, NaN and inf included)."""
import io
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ganglion as gn
from ganglion.backend import fused_loops
from ganglion.symbolic import fusion
from ganglion.symbolic.fusion import FusedElementwise, FusedElementwiseOutputs

pytestmark = pytest.mark.skipif(not fused_loops.available(),
                                reason="fusion needs numba: pip install 'ganglion[jit]'")


@pytest.fixture
def small(monkeypatch):
    """Fuse whatever the size: the graphs here are small."""
    monkeypatch.setattr(fusion, "MIN_SIZE", 1)


def fused_ops(f):
    return [i.node.op for i in f.schedule.instructions
            if isinstance(i.node.op, (FusedElementwise, FusedElementwiseOutputs))]


def compile_unfused(*args, **kwargs):
    with gn.config(fusion=False):
        return gn.function(*args, **kwargs)


def assert_same(fused, unfused, *args, dtype=np.float64, rtol=None):
    expected = unfused(*args)
    got = fused(*args)
    expected, got = (expected, got) if isinstance(got, list) else ([expected], [got])
    for e, g in zip(expected, got):
        assert g.dtype == e.dtype and g.shape == e.shape
        if g.dtype == np.bool_:
            np.testing.assert_array_equal(g, e)
        else:
            if rtol is None:
                rtol = 1e-6 if dtype == np.float32 else 1e-13
            np.testing.assert_allclose(g, e, rtol=rtol, atol=rtol, equal_nan=True)


def test_a_chain_becomes_one_loop(small):
    x = gn.placeholder(gn.float32, (6, 5), name="x")
    f = gn.function([x], gn.relu(gn.sqrt(gn.abs(x * 2 + 1))) - x)
    ops = fused_ops(f)
    assert len(ops) == 1 and len(f.schedule.instructions) == 1
    assert ops[0].names == ("mul", "add", "abs", "sqrt", "relu", "sub")
    assert "Fused(mul, add, abs, sqrt, relu, sub)" in gn.debugprint(f, file=io.StringIO())
    data = np.linspace(-2, 2, 30, dtype=np.float32).reshape(6, 5)
    expected = np.maximum(np.sqrt(np.abs(data * 2 + 1)), 0) - data
    np.testing.assert_allclose(f(data), expected, rtol=1e-6)


def test_transcendental_functions_are_left_to_numpy(small):
    # numba's exp and tanh are scalar C library calls: NumPy's vector loops are faster.
    x = gn.placeholder(gn.float32, (6, 5), name="x")
    f = gn.function([x], gn.tanh(gn.exp(x * 2) + 1) * 3 - x)
    names = [op.names for op in fused_ops(f)]
    assert names == [("mul", "sub")]   # x * 2 and + 1 are single ops between exp and tanh


def test_small_arrays_and_values_read_twice_are_left_alone():
    x = gn.placeholder(gn.float64, (4, 4), name="x")
    assert fused_ops(gn.function([x], gn.exp(x) * 2 + 1)) == []   # below MIN_SIZE
    big = gn.placeholder(gn.float64, (64, 64), name="big")
    shared_value = gn.abs(big)
    f = gn.function([big], [shared_value * 2 + 1, shared_value.sum()])
    # abs(big) is read by the loop and by the sum: it is computed once, outside the loop.
    assert [op.names for op in fused_ops(f)] == [("mul", "add")]


def test_switched_off_by_the_config(small, monkeypatch):
    x = gn.placeholder(gn.float32, (6, 5), name="x")
    monkeypatch.setattr(gn.config, "fusion", False)   # read when a function is compiled
    assert fused_ops(gn.function([x], gn.exp(x) * 2 + 1)) == []
    monkeypatch.setattr(gn.config, "fusion", True)
    assert fused_ops(gn.function([x], gn.exp(x) * 2 + 1)) != []


EXPRESSIONS = {
    "arithmetic": lambda x, y, b, s: gn.exp(x) * y - x / (y + 3),
    "sqrt abs max min": lambda x, y, b, s: gn.sqrt(gn.abs(x)) + gn.maximum(x, y) - gn.minimum(x, 0.5),
    "where": lambda x, y, b, s: gn.where(x > y, x * 2, y - 1),
    "sigmoid": lambda x, y, b, s: gn.sigmoid(x * 30) * (1 - gn.sigmoid(y)),
    "power and cast": lambda x, y, b, s: x ** 2 + (x >= 0).to(x.dtype) * y,
    "log neg": lambda x, y, b, s: -gn.log(gn.abs(x) + 1) * y,
    "row broadcast": lambda x, y, b, s: gn.relu(x + b) * b,
    "scalar": lambda x, y, b, s: (x - s) * s + y,
    "comparison out": lambda x, y, b, s: (x * 2) > (y + b),
    "divide by zero": lambda x, y, b, s: x / (y * 0) + 1,
    "nan through max": lambda x, y, b, s: gn.maximum(gn.log(x), y) * 2,
    "relu backward": lambda x, y, b, s: gn.grad((gn.relu(x * 2) * y).sum(), [x])[0] * 3,
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the unfused run's divide by zero
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_fused_equals_unfused(small, name, dtype):
    gdtype = gn.float32 if dtype == np.float32 else gn.float64
    x = gn.placeholder(gdtype, (7, 33), name="x")
    y = gn.placeholder(gdtype, (7, 33), name="y")
    b = gn.placeholder(gdtype, (33,), name="b")
    s = gn.placeholder(gdtype, (), name="s")
    out = EXPRESSIONS[name](x, y, b, s)
    fused = gn.function([x, y, b, s], out, on_unused_input="ignore")
    assert fused_ops(fused), "the expression should fuse"
    unfused = compile_unfused([x, y, b, s], out, on_unused_input="ignore")
    rng = np.random.default_rng(0)
    args = [rng.standard_normal((7, 33)).astype(dtype), rng.standard_normal((7, 33)).astype(dtype),
            rng.standard_normal(33).astype(dtype), dtype(0.75)]
    assert_same(fused, unfused, *args, dtype=dtype)


def test_strided_and_transposed_inputs(small):
    x = gn.placeholder(gn.float64, (8, 6), name="x")
    f = gn.function([x], gn.exp(x) * 2 + x)
    data = np.random.default_rng(1).standard_normal((6, 8)).T   # not C-contiguous
    np.testing.assert_allclose(f(data), np.exp(data) * 2 + data, rtol=1e-13)


def adam_graph(seed=0):
    rng = np.random.default_rng(seed)
    model = gn.nn.Sequential(gn.nn.Linear(20, 32), gn.nn.ReLU(), gn.nn.Linear(32, 3))
    for p in model.parameters():
        p.data = gn.from_numpy(rng.standard_normal(p.shape).astype(np.float32) * 0.3)
    x = gn.placeholder(gn.float32, (16, 20), name="x")
    y = gn.placeholder(gn.int64, (16,), name="y")
    loss = gn.nn.functional.cross_entropy(model(x), y)
    opt = gn.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.01)
    return model, x, y, loss, opt


def test_adam_updates_fuse_into_one_loop_per_parameter_writing_in_place(small):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((16, 20)).astype(np.float32)
    labels = rng.integers(0, 3, 16)
    results = []
    for fused in (True, False):
        model, x, y, loss, opt = adam_graph()
        compile_ = gn.function if fused else compile_unfused
        train = compile_([x, y], loss, updates=opt.updates(loss))
        if fused:
            multi = [i for i in train.schedule.instructions
                     if isinstance(i.node.op, FusedElementwiseOutputs)]
            assert len(multi) == len(list(model.parameters()))
            # parameter, first and second moment: all three written over their old storage
            assert all(isinstance(i.in_place, tuple) and len(i.in_place) == 3 for i in multi)
            storage = [p.detach().numpy() for p in model.parameters()]
        losses = [float(train(data, labels)) for _ in range(5)]
        if fused:
            assert all(p.detach().numpy() is s for p, s in zip(model.parameters(), storage))
        results.append((losses, [p.detach().numpy().copy() for p in model.parameters()]))
    (fused_losses, fused_params), (losses, params) = results
    np.testing.assert_allclose(fused_losses, losses, rtol=1e-5)
    for a, b in zip(fused_params, params):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_an_update_of_a_strided_shared_value(small):
    w = gn.shared(np.arange(12.0).reshape(3, 4), name="w")
    m = gn.shared(np.ones((3, 4)), name="m")
    f = gn.function([], [], updates=[(m, m * 0.5 + w), (w, w - 0.1 * (m * 0.5 + w))])
    w.set_value(np.asfortranarray(np.arange(12.0).reshape(3, 4)))   # not C-contiguous
    f()
    m_new = np.ones((3, 4)) * 0.5 + np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(m.get_value(), m_new)
    np.testing.assert_allclose(w.get_value(), np.arange(12.0).reshape(3, 4) - 0.1 * m_new)


def test_run_writes_into_a_strided_destination():
    spec = fused_loops.LoopSpec([("full", "float64"), ("scalar", "float64")],
                                [("mul", (("in", 0), ("in", 1)), "float64"),
                                 ("sqrt", (("step", 0),), "float64")])
    x = np.linspace(0, 1, 12).reshape(3, 4)
    target = np.empty((4, 3)).T          # (3, 4), F-ordered
    (result,) = fused_loops.run(spec, (3, 4), (x, np.array(2.0)), (target,))
    assert result is target
    np.testing.assert_allclose(target, np.sqrt(x * 2))


def test_generated_source_writes_through_the_input_it_overwrites():
    spec = fused_loops.LoopSpec([("full", "float32"), ("row", "float32")],
                                [("add", (("in", 0), ("in", 1)), "float32"),
                                 ("relu", (("step", 0),), "float32")])
    assert "def loop(o0, a0, a1):" in spec.source((None,))
    source = spec.source((0,))
    assert "def loop(a0, a1):" in source and "a0[i] = t1" in source and "v1 = a1[j]" in source


def test_loops_are_cached_on_disk_and_a_changed_file_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr(gn.config, "kernel_cache_dir", tmp_path)
    spec = fused_loops.LoopSpec([("full", "float64")] * 7,
                                [("add", (("in", k), ("in", k + 1)), "float64") for k in range(6)])
    source = spec.source((None,))
    loop = fused_loops.compile_loop(spec, (None,))
    files = list(tmp_path.rglob("ganglion_loop_*.py"))
    assert len(files) == 1 and files[0].read_text() == source
    arrays = [np.full(5, float(k)) for k in range(7)]
    out = np.empty(5)
    loop(out, *arrays)
    # The loop stores its last step: in5 + in6.
    np.testing.assert_allclose(out, 11.0)
    files[0].write_text("raise SystemExit('not ours')\n")
    module_name = files[0].stem
    del sys.modules[module_name]
    fused_loops._compiled.pop((spec, (None,)))
    again = fused_loops.compile_loop(spec, (None,))
    assert files[0].read_text() == source
    again(out, *arrays)
    np.testing.assert_allclose(out, 11.0)


UNARY = ["exp", "tanh", "neg", "abs", "relu", "sigmoid"]
BINARY = ["add", "sub", "mul", "maximum", "minimum"]


@st.composite
def chains(draw):
    """A random elementwise expression over x (full), b (row) and s (scalar)."""
    steps = draw(st.lists(st.tuples(st.sampled_from(UNARY + BINARY), st.integers(0, 2)),
                          min_size=2, max_size=6))
    return steps


def build(steps, x, b, s):
    value = x
    others = [x, b, s]
    for name, pick in steps:
        if name in UNARY:
            value = getattr(gn, name)(value)
        else:
            other = others[pick]
            value = getattr(gn, name)(value, other) if name in ("maximum", "minimum") else \
                {"add": value + other, "sub": value - other, "mul": value * other}[name]
    return value


@settings(max_examples=20, deadline=None)
@given(chains())
def test_random_chains_fused_equal_unfused(steps):
    fusion.MIN_SIZE, saved = 1, fusion.MIN_SIZE
    try:
        x = gn.placeholder(gn.float64, (5, 9), name="x")
        b = gn.placeholder(gn.float64, (9,), name="b")
        s = gn.placeholder(gn.float64, (), name="s")
        out = build(steps, x, b, s)
        fused = gn.function([x, b, s], out, on_unused_input="ignore")
        unfused = compile_unfused([x, b, s], out, on_unused_input="ignore")
    finally:
        fusion.MIN_SIZE = saved
    rng = np.random.default_rng(len(steps))
    args = [rng.standard_normal((5, 9)), rng.standard_normal(9), np.float64(0.3)]
    # exp of exp of ... multiplies the last-bit differences of two exp implementations.
    assert_same(fused, unfused, *args, rtol=1e-10)
