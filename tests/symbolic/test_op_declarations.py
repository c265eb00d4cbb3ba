"""What the compiler reads from an op's declaration (``core/op.py``: ``returns_new_array``,
``is_view``, ``accepts_out`` / ``in_place_kernel``, ``loop_opcode``, ``infix``), checked
through compiled functions: buffer reuse must never write into an array the caller owns, every
declared in-place kernel gives the op's own result, and an op outside ganglion that declares
the properties is scheduled, fused and printed by them alone."""
import numpy as np
import pytest

import ganglion as gn
from ganglion.backend import current as backend, fused_loops
from ganglion.core import ops
from ganglion.core.op import Op, apply
from ganglion.core.ops import elementwise as ew
from ganglion.core.ops import unary
from ganglion.core.tensor import TensorType
from ganglion.symbolic.printing import pp

SHAPE = (64, 64)  # 4096 elements: large enough that the schedule reuses buffers


def _input(seed=0):
    return np.random.default_rng(seed).uniform(0.5, 2.0, SHAPE).astype(np.float32)


def test_detached_input_is_not_overwritten_by_a_compiled_function():
    """detach() in a graph is a StopGradient node whose value is its input's array: the
    schedule must not take it as a dead buffer of its own (it wrote the result over the
    caller's array before StopGradient declared ``is_view``)."""
    x = gn.placeholder("float32", SHAPE)
    f = gn.function([x], (x.detach() + 1.0) * 2.0)
    data = _input()
    kept = data.copy()
    out = f(data)
    np.testing.assert_array_equal(data, kept)
    np.testing.assert_allclose(np.asarray(out), (kept + 1.0) * 2.0, rtol=1e-6)


def test_detached_value_is_copied_when_returned():
    """A function returning x.detach() must not hand back the caller's own array."""
    x = gn.placeholder("float32", SHAPE)
    f = gn.function([x], x.detach())
    data = _input()
    out = np.asarray(f(data))
    np.testing.assert_array_equal(out, data)
    assert not np.shares_memory(out, data)


_IN_PLACE_OPS = [(cls(), 2) for cls in (ew.Add, ew.Sub, ew.Mul, ew.Div, ew.Maximum, ew.Minimum)] + \
    [(cls(), 1) for cls in (unary.Neg, unary.Abs, unary.Exp, unary.Log, unary.Sqrt, unary.Sin,
                            unary.Cos, unary.Tanh, unary.Relu)]


@pytest.mark.parametrize("op, arity", _IN_PLACE_OPS, ids=lambda v: type(v).__name__)
def test_in_place_kernels_give_the_forward_result(op, arity):
    """Every op declaring ``accepts_out`` writes, at each position the schedule may choose
    (each input, and a spare buffer after them), exactly what its plain forward returns."""
    assert op.accepts_out and op.returns_new_array
    arrays = [_input(seed) for seed in range(arity)]
    expected = op.forward(backend, *arrays)
    for position in range(arity + 1):
        args = [a.copy() for a in arrays]
        if position == arity:
            args.append(np.empty_like(expected))
        result = op.in_place_kernel(backend, position, arity)(*args)
        assert result is args[position]
        np.testing.assert_array_equal(result, expected)


def test_ops_without_out_declare_no_in_place_kernel():
    """Only ops that take ``out=`` are handed buffers; sigmoid and the views are not."""
    assert not unary.Sigmoid().accepts_out
    assert not ops.shape.Reshape((4,)).accepts_out


class _Halve(Op):
    """x * 0.5, declared elementwise: a new array that can be written into a given one, and the
    loop template of a multiplication, so the compiler needs nothing else to schedule, fuse or
    print it (an op defined outside ganglion's packages)."""
    __slots__ = ()
    returns_new_array = True
    accepts_out = True
    calls = []

    def forward(self, backend, x, out=None):
        self.calls.append(out is not None)
        return backend.xp.multiply(x, x.dtype.type(0.5), out=out)

    def infer(self, x):
        return TensorType(x.dtype, x.shape)


def test_an_op_is_scheduled_in_place_by_its_declaration():
    _Halve.calls.clear()
    x = gn.placeholder("float32", SHAPE)
    f = gn.function([x], apply(_Halve(), ops.exp(x)))
    data = _input()
    np.testing.assert_allclose(np.asarray(f(data)), np.exp(data) * 0.5, rtol=1e-6)
    # exp's result dies at the op, so the op wrote over it (its forward got out=).
    assert _Halve.calls == [True]


class _Twice(_Halve):
    """2 x as the loop's "add" template of x and x."""
    __slots__ = ()
    loop_opcode = "add"
    infix = "+"

    def forward(self, backend, x, y, out=None):
        return backend.xp.add(x, y, out=out)

    def infer(self, x, y):
        return TensorType(x.dtype, x.shape)


@pytest.mark.skipif(not fused_loops.available(), reason="fusion needs numba (the jit extra)")
def test_an_op_joins_a_fused_loop_by_its_loop_opcode():
    x = gn.placeholder("float32", SHAPE)
    y = apply(_Twice(), x, x) * 3.0
    f = gn.function([x], y)
    names = [repr(i.node.op) for i in f.schedule.instructions]
    assert any(name.startswith("Fused(") and "_twice" in name for name in names), names
    data = _input()
    np.testing.assert_allclose(np.asarray(f(data)), data * 6.0, rtol=1e-6)


def test_printing_reads_the_infix_declaration():
    x = gn.placeholder("float32", SHAPE, name="x")
    assert pp(apply(_Twice(), x, x)) == "(x + x)"
    assert pp(x < 1.0) == "(x < 1.0)"
    assert pp(-x) == "-x"
