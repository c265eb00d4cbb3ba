"""``pp`` and ``debugprint``, and the compiled schedule: slots freed after their last use,
buffers reused only when nothing else reads them, one kernel call per node and no graph walk."""
import sys

import numpy as np

import ganglion as gn
from ganglion.symbolic.schedule import Schedule


def test_pp_prints_infix_expressions():
    x, y = gn.dscalars("x", "y")
    assert gn.pp(x + y) == "(x + y)"
    assert gn.pp(gn.exp(x) * 2 - y / x) == "((exp(x) * 2.0) - (y / x))"
    w = gn.shared(np.zeros((3, 2)), name="W")
    m = gn.dmatrix("m")
    assert gn.pp(gn.dot(m, w)) == "dot(m, W)"
    assert gn.pp(-x) == "-x" and gn.pp(x > y) == "(x > y)"
    assert gn.pp(gn.sigmoid(m).sum()) == "sum(sigmoid(m))"


def test_debugprint_lists_one_node_a_line(capsys):
    x = gn.dmatrix("x")
    w = gn.shared(np.ones((2, 2)), name="w")
    f = gn.function([x], gn.tanh(x @ w) + 1)
    text = gn.debugprint(f)
    lines = text.splitlines()
    assert lines[0].startswith("v") and "shared w" in lines[0]
    assert any("MatMul" in line for line in lines) and any("Tanh" in line for line in lines)
    assert len(lines) == 1 + len(f.schedule.instructions)
    assert capsys.readouterr().out.strip() == text
    expression = gn.debugprint(gn.exp(x) + x)
    assert "Add" in expression.splitlines()[0] and "x" in expression


def test_slots_are_freed_after_their_last_use():
    x = gn.placeholder(gn.float64, (100, 100), name="x")
    y = gn.exp(x) + 1
    z = gn.tanh(y) * y
    f = gn.function([x], [z.sum()])
    schedule = f.schedule
    kept = set(f.output_slots)
    freed = [slot for instruction in schedule.instructions for slot in instruction.free]
    assert len(freed) == len(set(freed))
    every_slot = set(schedule.slot.values())
    assert set(freed) == every_slot - kept
    for index, instruction in enumerate(schedule.instructions):
        for slot in instruction.free:
            later = schedule.instructions[index + 1:]
            assert all(slot not in i.args for i in later)


def test_buffers_are_reused_only_when_nothing_else_reads_them(monkeypatch):
    monkeypatch.setattr(gn.config, "fusion", False)  # the buffer reuse of unfused elementwise ops
    x = gn.placeholder(gn.float64, (64, 64), name="x")
    a = gn.exp(x)
    b = a * 2          # a is read again below: a's buffer must survive
    c = b + a          # b dies here: c may write into b's buffer
    d = gn.tanh(c)     # c dies here
    f = gn.function([x], [d, a.sum()])
    in_place = [i for i in f.schedule.instructions if i.in_place is not None]
    assert in_place, "elementwise ops of dying buffers should write in place"
    data = np.random.default_rng(0).standard_normal((64, 64))
    expected = np.tanh(np.exp(data) * 2 + np.exp(data))
    out, total = f(data)
    np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(total, np.exp(data).sum())
    out_again, _ = f(data)
    np.testing.assert_allclose(out_again, expected)
    assert out is not out_again and np.shares_memory(out, out_again) is False


def test_inputs_and_shared_values_are_never_overwritten():
    x = gn.placeholder(gn.float64, (50, 50), name="x")
    w = gn.shared(np.ones((50, 50)), name="w")
    f = gn.function([x], gn.exp(x) + gn.exp(w))
    data = np.zeros((50, 50))
    f(data)
    f(data)
    assert (data == 0).all() and (w.get_value() == 1).all()


def test_calls_run_the_flat_program_without_walking_the_graph(monkeypatch):
    x = gn.dvector("x")
    f = gn.function([x], gn.exp(x) * 2)
    for module in ("ganglion.symbolic.function", "ganglion.symbolic.schedule", "ganglion.symbolic.graph"):
        monkeypatch.setattr(sys.modules[module], "toposort", None)
    np.testing.assert_allclose(f([0.0, 1.0]), [2.0, 2 * np.e])
    assert isinstance(f.schedule, Schedule) and len(f.schedule.program) == 2
