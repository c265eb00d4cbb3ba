"""``function``: inputs, defaults and keywords, conversion, outputs, updates, givens, shared
variables, symbolic grad; and every error, each naming the variable concerned."""
import numpy as np
import pytest

import ganglion as gn


def test_placeholders_have_theano_dtypes_and_ranks():
    assert gn.dscalar("x").dtype is gn.float64 and gn.dscalar("x").shape == ()
    assert gn.fmatrix().dtype is gn.float32 and gn.fmatrix().shape == (None, None)
    assert gn.ivector().dtype is gn.int32 and gn.lscalar().dtype is gn.int64
    assert gn.btensor3().dtype is gn.int8 and gn.dtensor4().ndim == 4
    x, y, w = gn.dscalars("x", "y", "w")
    assert (x.name, y.name, w.name) == ("x", "y", "w")
    a, b = gn.dmatrices("a", "b")
    assert a.ndim == b.ndim == 2
    t = gn.placeholder(gn.float32, (None, 784), name="images")
    assert t.shape == (None, 784) and t.is_symbolic and t.requires_grad
    assert not gn.lscalar().requires_grad
    with pytest.raises(ValueError, match="3 dimensions, expected 2"):
        gn.matrix("m", shape=(1, 2, 3))


def test_shape_errors_are_raised_when_the_expression_is_built():
    x = gn.placeholder(gn.float64, (None, 784), name="x")
    w = gn.placeholder(gn.float64, (512, 10), name="w")
    with pytest.raises(ValueError, match="784 != 512"):
        x @ w
    with pytest.raises(ValueError, match="broadcast"):
        gn.placeholder(gn.float64, (3,)) + gn.placeholder(gn.float64, (4,))


def test_scalar_sum_and_zero_d_result():
    x, y = gn.dscalars("x", "y")
    f = gn.function([x, y], x + y)
    result = f(2, 3)
    assert isinstance(result, np.ndarray) and result.shape == () and str(result) == "5.0"
    assert f(16.3, 12.1) == pytest.approx(28.4)


def test_several_outputs_and_list_inputs():
    a, b = gn.dmatrices("a", "b")
    diff = a - b
    f = gn.function([a, b], [diff, abs(diff), diff ** 2])
    d, ad, d2 = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(d, [[1, 0], [-1, -2]])
    np.testing.assert_array_equal(ad, [[1, 0], [1, 2]])
    np.testing.assert_array_equal(d2, [[1, 0], [1, 4]])


def test_defaults_and_keywords():
    x, y, w = gn.dscalars("x", "y", "w")
    f = gn.function([x, gn.In(y, value=1), gn.In(w, value=2, name="weight")], (x + y) * w)
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, weight=1) == 34.0
    assert f(x=33, y=0, weight=1) == 33.0


def test_input_conversion_is_safe_only():
    x = gn.fvector("x")
    f = gn.function([x], x * 2)
    out = f([1, 2, 3])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [2, 4, 6])
    assert f(np.array([1.5], np.float32))[0] == 3.0
    with pytest.raises(TypeError, match="'x'.*float64"):
        f(np.array([1.5, 2.0]))  # float64 data to a float32 input loses precision
    assert gn.function([x], x, allow_input_downcast=True)(np.array([1.5]))[0] == 1.5
    i = gn.lvector("i")
    g = gn.function([i], i + 1)
    np.testing.assert_array_equal(g(np.array([1, 2], np.int32)), [2, 3])
    with pytest.raises(TypeError, match="'i'"):
        g([1.5, 2.5])
    with pytest.raises(TypeError, match="'i'"):
        g(["a"])


def test_errors_name_the_input():
    x, y = gn.dscalars("x", "y")
    m = gn.dmatrix("m")
    with pytest.raises(ValueError, match="'y'.*not in the list of inputs"):
        gn.function([x], x + y)
    with pytest.raises(ValueError, match="'y'.*not used"):
        gn.function([x, y], x * 2)
    with pytest.warns(UserWarning, match="'y'"):
        gn.function([x, y], x * 2, on_unused_input="warn")
    assert gn.function([x, y], x * 2, on_unused_input="ignore")(1, 2) == 2.0
    f = gn.function([x, m], x * m)
    with pytest.raises(TypeError, match="'m'.*2-d"):
        f(1.0, [1.0, 2.0])
    with pytest.raises(TypeError, match="missing input 'm'"):
        f(1.0)
    with pytest.raises(TypeError, match="unknown keyword argument 'n'"):
        f(1.0, [[1.0]], n=3)
    with pytest.raises(TypeError, match="takes 2 inputs, got 3"):
        f(1.0, [[1.0]], 3)
    with pytest.raises(TypeError, match="inputs must be placeholders"):
        gn.function([gn.shared(1.0, name="s")], x)
    fixed = gn.placeholder(gn.float64, (None, 3), name="rows")
    with pytest.raises(TypeError, match="'rows'.*dimension 1 is 2, expected 3"):
        gn.function([fixed], fixed * 1)(np.zeros((4, 2)))


def test_update_errors_name_the_variable():
    x = gn.dscalar("x")
    w = gn.shared(np.zeros(3), name="w")
    with pytest.raises(TypeError, match="'x'.*not a shared variable"):
        gn.function([x], x, updates=[(x, x + 1)])
    with pytest.raises(ValueError, match="'w'.*shape \\(4,\\)"):
        gn.function([x], x, updates=[(w, gn.zeros(4, dtype=gn.float64) * x)])
    with pytest.raises(ValueError, match="'w'.*updated twice"):
        gn.function([x], x, updates=[(w, w + x), (w, w - x)])
    counter = gn.shared(np.int64(0), name="counter")
    with pytest.raises(TypeError, match="'counter'.*float64"):
        gn.function([x], x, updates=[(counter, counter + x)])


def test_updates_use_old_values_and_run_after_outputs():
    state = gn.shared(0, name="state")
    inc = gn.lscalar("inc")
    accumulator = gn.function([inc], state, updates=[(state, state + inc)])
    assert accumulator(1) == 0
    assert state.get_value() == 1
    accumulator(300)
    assert state.get_value() == 301
    state.set_value(-1)
    accumulator(3)
    assert state.get_value() == 2
    a = gn.shared(np.float64(1.0), name="a")
    b = gn.shared(np.float64(2.0), name="b")
    swap = gn.function([], [], updates={a: b, b: a})
    swap()
    assert (a.get_value(), b.get_value()) == (2.0, 1.0)


def test_givens_replace_a_variable():
    state = gn.shared(0, name="state")
    inc = gn.lscalar("inc")
    foo = gn.lscalar("foo")
    fn_of_state = state * 2 + inc
    skip = gn.function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip(1, 3) == 7
    assert state.get_value() == 0
    with pytest.raises(TypeError, match="givens replaces 'state'"):
        gn.function([inc], state + inc, givens=[(state, gn.dscalar("d"))])


def test_givens_feed_a_minibatch_of_a_shared_dataset():
    # Theano's use: the dataset stays in a shared variable, a symbolic index picks the minibatch.
    data = gn.shared(np.arange(12.0).reshape(6, 2), name="data")
    index = gn.lscalar("index")
    x = gn.dmatrix("x")
    batch = data[index * 2:(index + 1) * 2]
    assert batch.shape == (None, 2)
    total = gn.function([index], x.sum(), givens={x: batch})
    assert total(0) == 0 + 1 + 2 + 3 and total(2) == 8 + 9 + 10 + 11
    data.set_value(np.ones((6, 2)))
    assert total(1) == 4.0
    w = gn.shared(np.array([1.0, -1.0]), name="w")
    g, = gn.grad((x @ w).sum(), [w])
    np.testing.assert_array_equal(gn.function([index], g, givens={x: batch})(0), [2.0, 2.0])


def test_symbolic_slice_bounds_and_their_gradient():
    v = gn.dvector("v")
    start, stop = gn.lscalars("start", "stop")
    piece = v[start:stop:2]
    grad, = gn.grad((piece ** 2).sum(), [v])
    values, g = gn.function([v, start, stop], [piece, grad])(np.arange(6.0), 1, 5)
    np.testing.assert_array_equal(values, [1.0, 3.0])
    np.testing.assert_array_equal(g, [0.0, 2.0, 0.0, 6.0, 0.0, 0.0])
    with pytest.raises(TypeError, match="integer scalar"):
        v[gn.dscalar("s"):]


def test_shared_values():
    w = gn.shared(np.array([1.0, 2.0]), name="w")
    assert w.dtype is gn.float64 and w.requires_grad
    value = w.get_value()
    value[0] = 100
    assert w.get_value()[0] == 1.0
    w.set_value([3, 4])
    np.testing.assert_array_equal(w.get_value(), [3.0, 4.0])
    assert gn.shared(0.0).dtype is gn.float64 and gn.shared(0).dtype is gn.int64
    with pytest.raises(TypeError, match="'w'"):
        w.set_value(np.array([1 + 2j, 1j]))


def test_valued_tensors_act_as_shared_variables():
    weight = gn.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=gn.float64, requires_grad=True)
    x = gn.dvector("x")
    f = gn.function([x], x @ weight)
    np.testing.assert_array_equal(f([1, 1]), [4, 6])
    with gn.no_grad():
        weight.mul_(2)
    np.testing.assert_array_equal(f([1, 1]), [8, 12])
    g, = gn.grad((x @ weight).sum(), [weight])
    step = gn.function([x], [], updates=[(weight, weight - g)])
    step([1, 0])
    np.testing.assert_array_equal(weight.detach().numpy(), [[1, 3], [6, 8]])


def test_symbolic_grad_and_second_derivatives():
    x = gn.dscalar("x")
    y = x ** 3
    gy, = gn.grad(y, [x])
    ggy, = gn.grad(gy, [x])
    f = gn.function([x], [gy, ggy])
    assert [float(v) for v in f(2.0)] == [12.0, 12.0]
    m = gn.dmatrix("m")
    g, = gn.grad(gn.sum(1 / (1 + gn.exp(-m))), [m])
    s = 1 / (1 + np.exp(-np.array([[0.0, 1.0], [-1.0, -2.0]])))
    np.testing.assert_allclose(gn.function([m], g)([[0, 1], [-1, -2]]), s * (1 - s))


def test_outputs_may_be_shared_or_valued():
    w = gn.shared(np.array([1.0, 2.0]), name="w")
    f = gn.function([], w)
    np.testing.assert_array_equal(f(), [1.0, 2.0])


def test_compiled_results_do_not_alias_between_calls():
    x = gn.placeholder(gn.float64, (64, 64), name="x")
    f = gn.function([x], [gn.exp(x) * 2 + 1, x])
    first, _ = f(np.zeros((64, 64)))
    second, same = f(np.ones((64, 64)))
    assert first[0, 0] == 3.0 and second[0, 0] == pytest.approx(2 * np.e + 1)


def test_updates_written_in_place_still_see_only_old_values():
    # Large arrays: the schedule writes new values straight into the shared storage, but only
    # once nothing reads the old value any more.
    a = gn.shared(np.full((40, 40), 2.0), name="a")
    b = gn.shared(np.full((40, 40), 3.0), name="b")
    step = gn.function([], (a * b).sum(), updates=[(a, a * 10), (b, a + b)])
    assert step() == 6.0 * 1600
    np.testing.assert_array_equal(a.get_value(), np.full((40, 40), 20.0))
    np.testing.assert_array_equal(b.get_value(), np.full((40, 40), 5.0))
    bump = gn.function([], a, updates=[(a, a + 1)])
    returned = bump()
    bump()
    np.testing.assert_array_equal(returned, np.full((40, 40), 20.0))  # a result is never overwritten
    np.testing.assert_array_equal(a.get_value(), np.full((40, 40), 22.0))
    returned[0, 0] = -1  # nor is a result an alias of the shared storage
    assert a.get_value()[0, 0] == 22.0


def test_results_never_alias_the_inputs():
    x = gn.dmatrix("x")
    data = np.zeros((2, 3))
    same, view = gn.function([x], [x, x.T])(data)
    same[0, 0] = view[0, 1] = 5
    assert (data == 0).all()


def test_backward_of_a_symbolic_loss_leaves_symbolic_grads():
    w = gn.tensor(np.ones(3), dtype=gn.float64, requires_grad=True)
    x = gn.dvector("x")
    loss = (x * w).sum()
    loss.backward()
    assert w.grad.is_symbolic and w.grad.shape == (3,)
    np.testing.assert_array_equal(gn.function([x], w.grad)([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0])
    loss.backward()  # the graph was kept: a second backward accumulates symbolically
    np.testing.assert_array_equal(gn.function([x], w.grad)([1.0, 2.0, 3.0]), [2.0, 4.0, 6.0])
