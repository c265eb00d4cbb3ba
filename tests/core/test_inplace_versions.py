"""Nodes made before an in-place change of a tensor they read keep reading the value from before
the change (core/rebinds.py): ``before = y * 5; y.add_(1)`` leaves ``before`` equal to ``10 x``.
Eager values and gradients are checked against PyTorch; compiled graphs (gn.function, gn.grad,
gn.jit) against eager ganglion."""
import gc

import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.core import rebinds

X0 = np.array([1.0, -2.0, 0.5, 3.0])
WEIGHTS = np.array([1.0, 2.0, -1.0, 0.5])

# name -> change(y, lib): an in-place change of y (float64, X0's shape) that PyTorch also makes.
CHANGES = {
    "add_": lambda y, lib: y.add_(1.0),
    "mul_": lambda y, lib: y.mul_(3.0),
    "setitem": lambda y, lib: y.__setitem__(0, 3.0),
    "setitem_mask": lambda y, lib: y.__setitem__(y < 0, 0.25),
    "masked_fill_": lambda y, lib: y.masked_fill_(lib.tensor([True, False, True, False]), -1.0),
    "copy_": lambda y, lib: y.copy_(lib.tensor(X0[::-1].copy(), dtype=lib.float64)),
    "fill_": lambda y, lib: y.fill_(2.0),
    "clamp_": lambda y, lib: y.clamp_(min=-1.0, max=2.0),
    "zero_": lambda y, lib: y.zero_(),
}

# name -> reader(y): an expression of y made before the change. Their backward reads no value
# that the change overwrites in PyTorch (y * 5 saves only the number, exp saves its result).
READERS = {
    "mul": lambda y: y * 5,
    "add": lambda y: y + 5,
    "exp": lambda y: y.exp(),
    "sum": lambda y: y.sum() * 3,
    "slice": lambda y: y[1:3] * 2,
}


def _eager(lib, change, reader):
    """(before, y after, d(before . WEIGHTS)/dt) for y = 2 t, before = reader(y), then change(y)."""
    t = lib.tensor(X0, dtype=lib.float64, requires_grad=True)
    y = t * 2
    before = reader(y)
    CHANGES[change](y, lib)
    weights = lib.tensor(WEIGHTS[:before.shape[0]] if before.ndim else 1.0, dtype=lib.float64)
    (before * weights).sum().backward()
    return before.detach().numpy(), y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_eager_reader_made_before_the_change_matches_pytorch(change, reader):
    # Before the fix the gradient went through the change (y * 3 gave 3 times the gradient,
    # fill_ gave zeros) or backward refused with "modified by an in-place operation".
    got = _eager(gn, change, READERS[reader])
    want = _eager(torch, change, READERS[reader])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


COMPILED_CHANGES = sorted(CHANGES)


@pytest.mark.parametrize("change", COMPILED_CHANGES)
def test_compiled_reader_made_before_the_change_reads_the_old_value(change):
    x = gn.dvector("x", shape=(4,))  # copy_ and masked_fill_ check the length they are given
    y = x * 2
    before = y * 5 + y.exp()
    CHANGES[change](y, gn)
    (g,) = gn.grad((before * gn.tensor(WEIGHTS, dtype=gn.float64)).sum(), [x])
    value, changed, grad = gn.function([x], [before, y, g])(X0)
    want_value, want_changed, want_grad = _eager(gn, change, lambda y: y * 5 + y.exp())
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(changed, want_changed, rtol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12)
    np.testing.assert_allclose(value, 10 * X0 + np.exp(2 * X0), rtol=1e-12)


def _readers_between_changes(lib, x):
    """Readers of y made before, between and after two changes of y; each sees its own value."""
    y = x * 2
    first = y * 5
    y.add_(1.0)
    second = y * 5
    y[0] = 7.0
    third = y * 5
    y.mul_(first + 1)  # an operand made before both changes: reads y's first value
    return [first, second, third, y * 1]


def test_each_reader_sees_the_version_it_was_made_from():
    x = gn.dvector("x")
    outputs = _readers_between_changes(gn, x)
    total = sum((o * gn.tensor(WEIGHTS, dtype=gn.float64)).sum() for o in outputs)
    (g,) = gn.grad(total, [x])
    got = gn.function([x], outputs + [g])(X0)
    np.testing.assert_allclose(got[0], 10 * X0, rtol=1e-12)
    np.testing.assert_allclose(got[1], 10 * X0 + 5, rtol=1e-12)
    third = 10 * X0 + 5
    third[0] = 35.0
    np.testing.assert_allclose(got[2], third, rtol=1e-12)
    # The same code in eager ganglion and in PyTorch (which allows this backward).
    results = []
    for lib in (gn, torch):
        t = lib.tensor(X0, dtype=lib.float64, requires_grad=True)
        outs = _readers_between_changes(lib, t)
        sum((o * lib.tensor(WEIGHTS, dtype=lib.float64)).sum() for o in outs).backward()
        results.append([o.detach().numpy() for o in outs] + [t.grad.numpy()])
    for compiled, eager, pytorch in zip(got, *results):
        np.testing.assert_allclose(eager, pytorch, rtol=1e-12)
        np.testing.assert_allclose(compiled, pytorch, rtol=1e-12)


def test_reader_made_after_the_change_sees_the_new_value():
    x = gn.dvector("x")
    y = x * 2
    before = y * 5
    y.mul_(3.0)
    after = y * 5
    (g,) = gn.grad(after.sum() + before.sum(), [x])
    b, a, grad = gn.function([x], [before, after, g])(X0)
    np.testing.assert_allclose(b, 10 * X0)
    np.testing.assert_allclose(a, 30 * X0)
    np.testing.assert_allclose(grad, np.full(4, 40.0))


def test_gradient_of_the_reader_alone():
    x = gn.dvector("x")
    y = x * x
    before = y * 5
    y.mul_(x)  # y = x**3 now; before is still 5 x**2
    (g,) = gn.grad(before.sum(), [x])
    np.testing.assert_allclose(gn.function([x], g)(X0), 10 * X0, rtol=1e-12)


def test_jit_reader_made_before_the_change():
    def step(x):
        y = x * 2
        before = y * 5
        y.add_(1.0)
        y[0] = 3.0
        return before + y

    compiled = gn.jit(step)
    for _ in range(2):  # the trace, then the compiled function
        got = compiled(gn.tensor(X0, dtype=gn.float64))
        want = 12 * X0 + 1
        want[0] = 10 * X0[0] + 3
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_previous_values_are_dropped_with_the_tensor():
    # The hidden old values live only as long as the tensor that was changed (and its readers).
    x = gn.dvector("x")
    y = x * 2
    before = y * 5
    y.add_(1.0)
    key = id(y)
    assert key in rebinds.rebound
    np.testing.assert_allclose(gn.function([x], before)(X0), 10 * X0)
    del y, before
    gc.collect()
    assert key not in rebinds.rebound
    # Eager, with readers between changes and an operand read from before both: no old value
    # refers back to the tensor that was changed (which would keep it alive from the table).
    t = gn.tensor(X0, dtype=gn.float64, requires_grad=True)
    outputs = _readers_between_changes(gn, t)
    changed = outputs[-1]._inputs[0]  # y, changed three times
    key = id(changed)
    assert len(rebinds.rebound[key][1]) == 3
    del outputs, changed
    gc.collect()
    assert key not in rebinds.rebound


def _custom_function_readers(lib):
    """A custom Function that doubles its input in place (mark_dirty), with a reader of y made
    before it, and a Function output made before an in-place change of its input."""
    class DoubleInPlace(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    class Triple(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3

        @staticmethod
        def backward(ctx, grad):
            return grad * 3

    t = lib.tensor(X0, dtype=lib.float64, requires_grad=True)
    y = t * 3
    before = y + 1
    DoubleInPlace.apply(y)
    tripled = Triple.apply(y)
    y.mul_(5.0)
    weights = lib.tensor(WEIGHTS, dtype=lib.float64)
    ((before + tripled + y) * weights).sum().backward()
    return [before.detach().numpy(), tripled.detach().numpy(), y.detach().numpy(), t.grad.numpy()]


def test_custom_function_readers_match_pytorch():
    # mark_dirty rebinds as the built-in in-place ops do: the reader made before it used to
    # get its gradient through the Function (twice too large), and the Function's output
    # through the later mul_ (five times too large).
    for got, want in zip(_custom_function_readers(gn), _custom_function_readers(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_other_graph_walks_read_the_value_from_before_the_change():
    """pp, Theano's ifelse and grad(consider_constant=), scan's step graph and a TF1 session
    read what the node read, not the changed tensor."""
    from ganglion.compat import tensorflow as tf
    from ganglion.compat import theano
    from ganglion.compat.theano import tensor as T
    from ganglion.compat.theano.ifelse import ifelse

    x = gn.dvector("x")
    y = x * 2
    before = y * 5
    y.add_(1.0)
    assert gn.pp(before) == "((x * 2.0) * 5.0)"

    flag = T.bscalar("flag")
    chosen = theano.function([flag, x], ifelse(flag, before, x))
    np.testing.assert_allclose(chosen(1, X0), 10 * X0)

    c = gn.dvector("c")
    z = x * 2
    cost_before = (z * c).sum()
    z.mul_(3.0)
    g = theano.function([x, c], T.grad(cost_before, x, consider_constant=[c]))
    np.testing.assert_allclose(g(X0, WEIGHTS), 2 * WEIGHTS)

    def step(a, total):
        w = a * 2
        read = w * 5
        w.mul_(3.0)
        return total + read
    sums, _ = theano.scan(step, sequences=[x], outputs_info=[T.constant(0.0, dtype="float64")])
    np.testing.assert_allclose(theano.function([x], sums)(X0), np.cumsum(10 * X0))

    with tf.Graph().as_default():
        p = tf.placeholder(tf.float64, [4])
        v = tf.Variable(np.ones(4))
        q = p * v
        read = q * 5
        q.mul_(3.0)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            np.testing.assert_allclose(session.run(read, {p: X0}), 5 * X0)
