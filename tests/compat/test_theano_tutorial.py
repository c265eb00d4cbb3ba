"""Classic Theano tutorial code, with only its import lines changed, gives Theano's results."""
import numpy as np
import pytest

import ganglion as gn
import ganglion.compat.theano as theano
import ganglion.compat.theano.tensor as T
from ganglion.compat.theano import In, function, pp, shared
from ganglion.compat.theano.tensor.shared_randomstreams import RandomStreams


def test_adding_two_scalars():
    x = T.dscalar("x")
    y = T.dscalar("y")
    z = x + y
    f = function([x, y], z)
    assert f(2, 3) == 5.0 and str(f(2, 3)) == "5.0"
    assert np.allclose(f(16.3, 12.1), 28.4)
    assert pp(z) == "(x + y)"


def test_adding_two_matrices_and_dot():
    x = T.dmatrix("x")
    y = T.dmatrix("y")
    f = function([x, y], x + y)
    np.testing.assert_array_equal(f([[1, 2], [3, 4]], [[10, 20], [30, 40]]), [[11, 22], [33, 44]])
    a, b = np.arange(12.0).reshape(3, 4), np.ones((3, 4))
    np.testing.assert_array_equal(f(a, b), a + b)
    g = function([x, y], T.dot(x, y.T))
    np.testing.assert_allclose(g(a, b), a @ b.T)
    assert pp(T.dot(x, y)) == "dot(x, y)"


def test_logistic_function():
    x = T.dmatrix("x")
    s = 1 / (1 + T.exp(-x))
    logistic = theano.function([x], s)
    np.testing.assert_allclose(logistic([[0, 1], [-1, -2]]),
                               [[0.5, 0.73105858], [0.26894142, 0.11920292]], rtol=1e-7)
    np.testing.assert_allclose(logistic([[0, 1], [2, 3]]),
                               [[0.5, 0.73105858], [0.88079708, 0.95257413]], rtol=1e-7)
    s2 = (1 + T.tanh(x / 2)) / 2
    np.testing.assert_allclose(theano.function([x], s2)([[0, 1], [-1, -2]]),
                               logistic([[0, 1], [-1, -2]]))


def test_several_outputs():
    a, b = T.dmatrices("a", "b")
    diff = a - b
    abs_diff = abs(diff)
    diff_squared = diff ** 2
    f = theano.function([a, b], [diff, abs_diff, diff_squared])
    d, ad, d2 = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(d, [[1.0, 0.0], [-1.0, -2.0]])
    np.testing.assert_array_equal(ad, [[1.0, 0.0], [1.0, 2.0]])
    np.testing.assert_array_equal(d2, [[1.0, 0.0], [1.0, 4.0]])


def test_default_values_and_keywords():
    x, y, w = T.dscalars("x", "y", "w")
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name="weight")], z)
    assert f(23, 2) == 50.0
    assert f(23, 2, weight=4) == 100.0
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, weight=1) == 34.0
    assert f(33, weight=1, y=0) == 33.0


def test_shared_accumulator_and_givens():
    state = shared(0)
    inc = T.iscalar("inc")
    accumulator = function([inc], state, updates=[(state, state + inc)])
    assert state.get_value() == 0
    accumulator(1)
    assert state.get_value() == 1
    accumulator(300)
    assert state.get_value() == 301
    state.set_value(-1)
    accumulator(3)
    assert state.get_value() == 2
    decrementor = function([inc], state, updates=[(state, state - inc)])
    decrementor(2)
    assert state.get_value() == 0
    fn_of_state = state * 2 + inc
    foo = T.scalar(dtype=state.dtype)
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip_shared(1, 3) == 7
    assert state.get_value() == 0


def test_derivatives():
    x = T.dscalar("x")
    y = x ** 2
    gy = T.grad(y, x)
    f = theano.function([x], gy)
    assert f(4) == 8.0 and f(94.2) == pytest.approx(188.4)
    x = T.dmatrix("x")
    s = T.sum(1 / (1 + T.exp(-x)))
    gs = T.grad(s, x)
    dlogistic = theano.function([x], gs)
    np.testing.assert_allclose(dlogistic([[0, 1], [-1, -2]]),
                               [[0.25, 0.19661193], [0.19661193, 0.10499359]], rtol=1e-7)


def test_random_streams_draw_fresh_values_every_call():
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    rv_n = srng.normal((2, 2))
    f = function([], rv_u)
    g = function([], rv_n)
    nearly_zeros = function([], rv_u + rv_u - 2 * rv_u)
    f_val0, f_val1 = f(), f()
    assert f_val0.shape == (2, 2) and not np.array_equal(f_val0, f_val1)
    assert ((0 <= f_val0) & (f_val0 < 1)).all()
    assert g().shape == (2, 2)
    np.testing.assert_allclose(nearly_zeros(), np.zeros((2, 2)), atol=1e-15)
    flips = function([], srng.binomial((1000,), p=0.25))()
    assert flips.dtype == np.int64 and set(np.unique(flips)) <= {0, 1} and 150 < flips.sum() < 350
    two = function([], [srng.uniform((3,)), srng.uniform((3,))])()
    assert not np.array_equal(*two)  # two random variables are never merged


def test_switch_neq_argmax_and_nnet():
    a, b = T.dvectors("a", "b")
    f = function([a, b], [T.switch(T.lt(a, b), a, b), T.neq(a, b), T.eq(a, b), T.argmax(a),
                          T.nnet.relu(a), T.mean(a), T.sum(b)])
    low, ne, eq, arg, relu, mean, total = f([1, 5, -3], [2, 2, -3])
    np.testing.assert_array_equal(low, [1, 2, -3])
    np.testing.assert_array_equal(ne, [True, True, False])
    np.testing.assert_array_equal(eq, [False, False, True])
    assert arg == 1 and mean == 1.0 and total == 1.0
    np.testing.assert_array_equal(relu, [1, 5, 0])
    x = T.dmatrix("x")
    labels = T.lvector("labels")
    probs = T.nnet.softmax(x)
    xent = T.nnet.categorical_crossentropy(probs, labels)
    data = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    expected = -np.log(np.exp(data) / np.exp(data).sum(1, keepdims=True))[[0, 1], [2, 0]]
    np.testing.assert_allclose(function([x, labels], xent)(data, [2, 0]), expected)
    onehot = T.dmatrix("onehot")
    np.testing.assert_allclose(
        function([x, onehot], T.nnet.categorical_crossentropy(probs, onehot))(data, np.eye(3)[[2, 0]]),
        expected)
    assert theano.config.floatX == "float64" and T.matrix("m").dtype is gn.float64


def _logistic_regression_data(rng, n=40, feats=8):
    points = rng.standard_normal((n, feats))
    return points, (points @ rng.standard_normal(feats) > 0).astype(np.float64)


def test_logistic_regression_matches_the_eager_loop():
    rng = np.random.default_rng(0)
    features = 8
    data = _logistic_regression_data(rng, feats=features)
    initial_w = rng.standard_normal(features)
    x = T.dmatrix("x")
    y = T.dvector("y")
    w = theano.shared(initial_w, name="w")
    b = theano.shared(0.0, name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function(inputs=[x, y], outputs=[prediction, xent],
                            updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    predict = theano.function(inputs=[x], outputs=prediction)
    for _ in range(100):
        pred, err = train(data[0], data[1])
    # the same loop written eagerly in ganglion
    we = gn.tensor(initial_w, dtype=gn.float64, requires_grad=True)
    be = gn.tensor(0.0, dtype=gn.float64, requires_grad=True)
    xe, ye = gn.tensor(data[0], dtype=gn.float64), gn.tensor(data[1], dtype=gn.float64)
    for _ in range(100):
        p = 1 / (1 + gn.exp(-(xe @ we) - be))
        loss = (-ye * gn.log(p) - (1 - ye) * gn.log(1 - p)).mean() + 0.01 * (we ** 2).sum()
        loss.backward()
        with gn.no_grad():
            we -= 0.1 * we.grad
            be -= 0.1 * be.grad
        we.grad = None
        be.grad = None
    np.testing.assert_allclose(w.get_value(), we.detach().numpy(), rtol=0, atol=1e-10)
    assert abs(float(b.get_value()) - be.item()) < 1e-10
    assert (predict(data[0]) == pred).all()
    assert (predict(data[0]) == data[1]).mean() > 0.9


def test_regression_network_fits_noisy_quadratic():
    rng = np.random.default_rng(1)
    inputs = np.linspace(-1, 1, 64).reshape(-1, 1)
    targets = inputs ** 2 + 0.05 * rng.standard_normal(inputs.shape)
    x, y = T.dmatrix("x"), T.dmatrix("y")
    w1 = shared(rng.standard_normal((1, 16)) * 0.5, name="w1")
    b1 = shared(np.zeros(16), name="b1")
    w2 = shared(rng.standard_normal((16, 1)) * 0.5, name="w2")
    b2 = shared(np.zeros(1), name="b2")
    hidden = T.tanh(T.dot(x, w1) + b1)
    output = T.dot(hidden, w2) + b2
    cost = T.mean((output - y) ** 2)
    params = [w1, b1, w2, b2]
    grads = T.grad(cost, params)
    train = function([x, y], cost, updates=[(p, p - 0.2 * g) for p, g in zip(params, grads)])
    first = train(inputs, targets)
    for _ in range(1500):
        last = train(inputs, targets)
    assert last < 0.2 * first and last < 0.01


def test_classification_network_learns_two_moons_like_data():
    rng = np.random.default_rng(2)
    n = 200
    angle = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    points = np.stack([np.cos(angle) + label, np.sin(angle) * (1 - 2 * label) + 0.5 * label], 1)
    points += 0.1 * rng.standard_normal(points.shape)
    x, y = T.dmatrix("x"), T.lvector("y")
    w1 = shared(rng.standard_normal((2, 32)) * 0.5, name="w1")
    b1 = shared(np.zeros(32), name="b1")
    w2 = shared(rng.standard_normal((32, 2)) * 0.5, name="w2")
    b2 = shared(np.zeros(2), name="b2")
    probs = T.nnet.softmax(T.dot(T.nnet.relu(T.dot(x, w1) + b1), w2) + b2)
    cost = T.mean(T.nnet.categorical_crossentropy(probs, y))
    params = [w1, b1, w2, b2]
    grads = T.grad(cost, params)
    train = function([x, y], cost, updates=[(p, p - 0.5 * g) for p, g in zip(params, grads)])
    accuracy = function([x, y], T.mean(T.eq(T.argmax(probs, axis=1), y)))
    for _ in range(500):
        train(points, label)
    assert accuracy(points, label) > 0.95
