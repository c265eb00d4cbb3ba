"""Symbolic shapes (issue 16 item 3): ``x.shape`` of a placeholder holds ints for known dims and
symbolic int64 scalars for unknown ones; the ops that take sizes accept those, and compiled
functions compute them at run time. Each idiom is compiled with an unknown batch and run at two
batch sizes against the same code run eagerly (and NumPy where it says what is right)."""
import numpy as np
import pytest

import ganglion as gn
import ganglion.nn as nn
from ganglion.core.symbolic_shape import SymbolicDim, SymbolicShape

from bad_inputs import BadInput, bad_input_test

BATCHES = (3, 7)


def _compiled_equals_eager(build, example_shapes, dtype=gn.float64, inputs_dtype=None):
    """``build(*tensors)`` compiled on placeholders with an unknown first dim equals ``build``
    run eagerly on the same data, for each batch size; returns the compiled outputs."""
    placeholders = [gn.placeholder(dtype, (None,) + tuple(shape[1:]), name=f"x{k}")
                    for k, shape in enumerate(example_shapes)]
    outputs = build(*placeholders)
    single = not isinstance(outputs, (list, tuple))
    f = gn.function(placeholders, outputs)
    rng = np.random.default_rng(0)
    results = []
    for batch in BATCHES:
        arrays = [rng.standard_normal((batch,) + tuple(s[1:])).astype(dtype.np)
                  for s in example_shapes]
        got = f(*arrays)
        want = build(*[gn.tensor(a, dtype=dtype) for a in arrays])
        got, want = ([got], [want]) if single else (got, want)
        for g, w in zip(got, want):
            w = w.numpy() if isinstance(w, gn.Tensor) else np.asarray(w)  # an int size eagerly
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
            assert g.dtype == w.dtype
        results.append(got)
    return results


# ----- the rule ----------------------------------------------------------------------------

def test_known_dims_are_ints_and_unknown_dims_are_symbolic_int64_scalars():
    x = gn.placeholder(gn.float32, (None, 784), name="x")
    shape = x.shape
    assert isinstance(shape, SymbolicShape) and isinstance(shape, gn.Size) and len(shape) == 2
    assert type(shape[1]) is int and shape[1] == 784
    n = shape[0]
    assert isinstance(n, SymbolicDim) and n.is_symbolic
    assert n.dtype is gn.int64 and n.ndim == 0 and n.axis == 0 and n.source is x
    assert x.size(0).source is x and x.size(1) == 784 and x.size() == (None, 784)
    # An unknown dim equals None and other unknown dims, and no int: the static checks of
    # shapes that held None keep their meaning.
    assert shape == (None, 784) and None in shape and n != 5 and n == gn.fmatrix().shape[1]
    assert repr(shape) == "ganglion.Size([None, 784])" and repr(n) == "x.shape[0]"
    # Eager tensors keep plain Sizes of ints.
    eager = gn.zeros(2, 3).shape
    assert type(eager) is gn.Size and all(type(d) is int for d in eager)
    # A layer sized from a placeholder's known feature count.
    layer = nn.Linear(x.shape[1], 10)
    assert layer.weight.shape == (10, 784) and layer(x).shape == (None, 10)


def test_fully_known_symbolic_shapes_and_prod():
    x = gn.placeholder(gn.float64, (4, 5))
    assert x.shape == (4, 5) and x.shape.prod() == 20 and x.shape.numel() == 20
    y = gn.placeholder(gn.float64, (None, 5, 2), name="y")
    with pytest.raises(TypeError, match="prod"):
        y.shape.numel()
    as_vector, as_floats = gn.as_tensor(y.shape), gn.tensor(y.shape, dtype=gn.float32)
    assert as_vector.shape == (3,) and as_vector.dtype is gn.int64 and as_floats.dtype is gn.float32
    f = gn.function([y], [y.shape.prod(), y.shape.to_tensor(), as_vector, as_floats.sum()])
    count, vector, same, total = f(np.zeros((3, 5, 2)))
    assert count == 30 and count.dtype == np.int64 and total == 10
    np.testing.assert_array_equal(vector, [3, 5, 2])
    np.testing.assert_array_equal(same, [3, 5, 2])
    np.testing.assert_array_equal(gn.as_tensor(x.shape).numpy(), [4, 5])  # all known: a value


def test_a_shape_as_the_output_of_a_function():
    x = gn.placeholder(gn.float32, (None, 3, None), name="x")
    f = gn.function([x], x.shape)
    for batch in BATCHES:
        shape = f(np.zeros((batch, 3, 2), np.float32))
        assert shape.dtype == np.int64 and shape.tolist() == [batch, 3, 2]


def test_arithmetic_on_symbolic_sizes():
    def build(x):
        n, d = x.shape[0], x.shape[1]
        assert type(d) is int
        # Theano's T.cast(n, 'float32'); n is an int when x holds values.
        return [n * d, n // 2, x.shape[0] - 1, gn.as_tensor(n, dtype=gn.float32), (n + 1) % 3,
                x.sum() / gn.as_tensor(n, dtype=gn.float64), x.shape.prod()]
    for batch, got in zip(BATCHES, _compiled_equals_eager(build, [(2, 4)])):
        n = batch
        assert [int(v) for v in got[:2]] == [n * 4, n // 2]
        assert int(got[2]) == n - 1 and got[3].dtype == np.float32 and float(got[3]) == n
        assert int(got[4]) == (n + 1) % 3 and int(got[6]) == n * 4


# ----- the ops that take sizes ---------------------------------------------------------------

def test_arange_of_a_symbolic_length():
    def build(x):
        n = x.shape[0]
        return [gn.arange(n), gn.arange(1, n), gn.arange(0, 2 * n, 2),
                gn.arange(n, dtype=gn.float32), gn.arange(0.5, n)]
    symbolic = build(gn.placeholder(gn.float64, (None, 2)))
    assert [t.shape for t in symbolic] == [(None,)] * 5
    assert [t.dtype for t in symbolic] == [gn.int64, gn.int64, gn.int64, gn.float32, gn.float32]
    for batch, got in zip(BATCHES, _compiled_equals_eager(build, [(2, 2)])):
        np.testing.assert_array_equal(got[0], np.arange(batch))
        np.testing.assert_array_equal(got[2], np.arange(0, 2 * batch, 2))


def test_reshape_and_view_with_a_symbolic_batch():
    def build(x):
        flat = x.reshape((x.shape[0], -1))
        if x.is_symbolic:
            assert flat.shape == (None, 12) and flat.shape[1] == 12  # the -1 is known: 3 * 4
        viewed = x.view(x.size(0), -1)
        halves = x.reshape(x.shape[0], 2, 6)
        back = flat.reshape(x.shape)
        return [flat, viewed, halves, back, flat.reshape(-1, x.shape[0])]
    for batch, got in zip(BATCHES, _compiled_equals_eager(build, [(2, 3, 4)])):
        assert got[0].shape == (batch, 12) and got[4].shape == (12, batch)


def test_reshape_gradient_through_a_symbolic_size():
    x = gn.placeholder(gn.float64, (None, 3, 2), name="x")
    flat = x.reshape((x.shape[0], -1))
    cost = (flat * flat).sum() / x.shape[0].to(gn.float64)
    (g,) = gn.grad(cost, [x])
    f = gn.function([x], [cost, g])
    for batch in BATCHES:
        data = np.random.default_rng(batch).standard_normal((batch, 3, 2))
        c, grad = f(data)
        np.testing.assert_allclose(c, (data ** 2).sum() / batch, rtol=1e-12)
        np.testing.assert_allclose(grad, 2 * data / batch, rtol=1e-12)


def test_expand_and_tile_gradients_through_symbolic_counts():
    x = gn.placeholder(gn.float64, (None, 3), name="x")
    row = gn.shared(np.array([[1.0, -2.0, 0.5]]), name="row")
    n = x.shape[0]
    cost = (row.expand(n, 3) * x).sum() + (gn.tile(row, (n, 1)) ** 2 * x).sum()
    (g,) = gn.grad(cost, [row])
    f = gn.function([x], g)
    for batch in BATCHES:
        data = np.random.default_rng(batch).standard_normal((batch, 3))
        want = data.sum(0, keepdims=True) * (1 + 2 * row.get_value())
        np.testing.assert_allclose(f(data), want, rtol=1e-12)


def test_filled_tensors_of_symbolic_sizes():
    def build(x):
        n = x.shape[0]
        made = [gn.zeros((n, 3)), gn.ones(n, 2, dtype=gn.float64), gn.full((2, n), 1.5),
                gn.empty(n), gn.zeros(x.shape), gn.ones_like(x), gn.full_like(x, 7.0),
                gn.empty_like(x), x.new_zeros((n, 4))]
        if x.is_symbolic:
            assert made[0].shape == (None, 3) and made[2].shape == (2, None)
        assert made[0].dtype is gn.float32 and made[2].dtype is gn.float32
        # empty's values are whatever the memory held in eager mode: only its shape is compared.
        made[3], made[7] = made[3] * 0, made[7] * 0
        return made[:4] + [m + 0 * x.sum() for m in made[4:]]
    for batch, got in zip(BATCHES, _compiled_equals_eager(build, [(2, 3)])):
        np.testing.assert_array_equal(got[0], np.zeros((batch, 3), np.float32))
        np.testing.assert_array_equal(got[2], np.full((2, batch), 1.5, np.float32))
        assert got[3].shape == (batch,)


def test_expand_repeat_and_tile_with_symbolic_counts():
    row = gn.tensor([[1.0, 2.0, 3.0]], dtype=gn.float64)

    def build(x):
        n = x.shape[0]
        return [row.expand(n, 3), row.expand(n, -1) * x, gn.tile(row, (n, 1)),
                row.repeat(n, 2), x.repeat(2, 1), gn.tile(x, (1, 2))]
    for batch, got in zip(BATCHES, _compiled_equals_eager(build, [(2, 3)])):
        np.testing.assert_array_equal(got[0], np.tile([[1.0, 2.0, 3.0]], (batch, 1)))
        assert got[3].shape == (batch, 6) and got[4].shape == (2 * batch, 3)


def test_random_constructors_of_symbolic_sizes():
    x = gn.placeholder(gn.float32, (None, 4), name="x")
    n = x.shape[0]
    draws = [gn.rand(n, 4), gn.randn(n, dtype=gn.float64), gn.randint(0, 5, (n, 2)),
             gn.rand_like(x), gn.rand((n, 2), dtype=gn.float16)]
    assert [d.shape for d in draws] == [(None, 4), (None,), (None, 2), (None, 4), (None, 2)]
    assert [d.dtype for d in draws] == [gn.float32, gn.float64, gn.int64, gn.float32, gn.float16]
    f = gn.function([x], draws)
    gn.manual_seed(0)
    first = f(np.zeros((500, 4), np.float32))
    assert [a.shape for a in first] == [(500, 4), (500,), (500, 2), (500, 4), (500, 2)]
    assert 0 <= first[0].min() and first[0].max() < 1 and abs(first[0].mean() - 0.5) < 0.05
    assert abs(first[1].std() - 1) < 0.1 and set(np.unique(first[2])) <= set(range(5))
    again = f(np.zeros((500, 4), np.float32))
    assert not np.array_equal(first[0], again[0])  # a fresh draw per call
    gn.manual_seed(0)
    np.testing.assert_array_equal(f(np.zeros((500, 4), np.float32))[0], first[0])
    assert f(np.zeros((2, 4), np.float32))[2].shape == (2, 2)
    # Two draws of one size in one graph are two draws, never merged into one.
    twice = gn.function([x], [gn.rand(n, 4), gn.rand(n, 4)])(np.zeros((50, 4), np.float32))
    assert not np.array_equal(twice[0], twice[1])


def test_symbolic_random_streams_take_a_symbolic_size():
    from ganglion.symbolic.random import random_tensor
    x = gn.placeholder(gn.float64, (None, 6), name="x")
    mask = random_tensor("binomial", x.shape, (1, 0.9), "int64", np.random.default_rng(3))
    assert mask.shape == (None, 6) and mask.dtype is gn.int64
    f = gn.function([x], [x * mask, mask])
    dropped, drawn = f(np.ones((2000, 6)))
    assert drawn.shape == (2000, 6) and set(np.unique(drawn)) <= {0, 1}
    assert abs(drawn.mean() - 0.9) < 0.02
    np.testing.assert_array_equal(dropped, drawn)
    assert f(np.ones((2, 6)))[1].shape == (2, 6)


def test_negative_log_likelihood_line_of_every_theano_classifier():
    scores = gn.placeholder(gn.float64, (None, 5), name="scores")
    y = gn.placeholder(gn.int64, (None,), name="y")

    def nll(p_y_given_x, labels):
        return -gn.mean(gn.log(p_y_given_x)[gn.arange(labels.shape[0]), labels])
    cost = nll(gn.softmax(scores, 1), y)
    (g,) = gn.grad(cost, [scores])
    f = gn.function([scores, y], [cost, g])
    rng = np.random.default_rng(1)
    for batch in BATCHES:
        s, labels = rng.standard_normal((batch, 5)), rng.integers(0, 5, batch)
        got_cost, got_grad = f(s, labels)
        eager_scores = gn.tensor(s, dtype=gn.float64, requires_grad=True)
        eager = nll(gn.softmax(eager_scores, 1), gn.tensor(labels))
        eager.backward()
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        picked = p[np.arange(batch), labels]
        np.testing.assert_allclose(got_cost, -np.log(picked).mean(), rtol=1e-12)
        np.testing.assert_allclose(got_cost, eager.item(), rtol=1e-12)
        np.testing.assert_allclose(got_grad, eager_scores.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_theano_logistic_sgd_through_the_compat_layer():
    """DeepLearningTutorials' logistic_sgd.py LogisticRegression, import line changed: its
    negative_log_likelihood and errors, trained by SGD on separable data."""
    import ganglion.compat.theano as theano
    import ganglion.compat.theano.tensor as T
    if not hasattr(T, "arange"):
        pytest.fail("ganglion.compat.theano.tensor has no arange")

    class LogisticRegression:
        def __init__(self, input, n_in, n_out):
            self.W = theano.shared(np.zeros((n_in, n_out), dtype=theano.config.floatX), name="W",
                                   borrow=True)
            self.b = theano.shared(np.zeros((n_out,), dtype=theano.config.floatX), name="b",
                                   borrow=True)
            self.p_y_given_x = T.nnet.softmax(T.dot(input, self.W) + self.b)
            self.y_pred = T.argmax(self.p_y_given_x, axis=1)
            self.params = [self.W, self.b]

        def negative_log_likelihood(self, y):
            return -T.mean(T.log(self.p_y_given_x)[T.arange(y.shape[0]), y])

        def errors(self, y):
            return T.mean(T.neq(self.y_pred, y))

    x, y = T.matrix("x"), T.ivector("y")
    classifier = LogisticRegression(input=x, n_in=2, n_out=3)
    cost = classifier.negative_log_likelihood(y)
    g_W, g_b = T.grad(cost=cost, wrt=classifier.W), T.grad(cost=cost, wrt=classifier.b)
    train = theano.function([x, y], cost, updates=[(classifier.W, classifier.W - 0.5 * g_W),
                                                   (classifier.b, classifier.b - 0.5 * g_b)])
    test = theano.function([x, y], classifier.errors(y))
    rng = np.random.default_rng(0)
    centres = np.array([[3.0, 0.0], [-3.0, 3.0], [-3.0, -3.0]])
    labels = rng.integers(0, 3, 300).astype(np.int32)
    data = centres[labels] + rng.standard_normal((300, 2)) * 0.5
    first = float(train(data[:50], labels[:50]))
    np.testing.assert_allclose(first, np.log(3), rtol=1e-12)  # zero weights: uniform p
    for step in range(30):
        batch = slice((step % 6) * 50, (step % 6 + 1) * 50)
        train(data[batch], labels[batch])
    assert float(test(data, labels)) == 0.0 and float(test(data[:7], labels[:7])) == 0.0


def test_compat_shape_zeros_ones_and_binomial_size():
    import ganglion.compat.theano as theano
    import ganglion.compat.theano.tensor as T
    from ganglion.compat.theano.tensor.shared_randomstreams import RandomStreams
    x = T.matrix("x")
    srng = RandomStreams(seed=234)
    corrupted = srng.binomial(size=x.shape, n=1, p=0.9, dtype=theano.config.floatX) * x
    f = theano.function([x], [corrupted, T.zeros((x.shape[0], 2)), T.ones((x.shape[0],)),
                              T.arange(x.shape[0] * x.shape[1])])
    for batch in BATCHES:
        noisy, zeros, ones, steps = f(np.ones((batch, 4)))
        assert noisy.shape == (batch, 4) and set(np.unique(noisy)) <= {0.0, 1.0}
        np.testing.assert_array_equal(zeros, np.zeros((batch, 2)))
        np.testing.assert_array_equal(ones, np.ones(batch))
        np.testing.assert_array_equal(steps, np.arange(batch * 4))


def test_update_whose_type_has_an_unknown_dim():
    """An update computed through a symbolic size has an unknown dim in its type: accepted, and
    checked against the shared variable when it runs."""
    x = gn.placeholder(gn.float64, (None, 3), name="x")
    total = gn.shared(np.zeros(6), name="total")
    flat = x.reshape(x.shape[0] * 3)
    assert flat.shape == (None,)
    f = gn.function([x], [], updates=[(total, total + flat)])
    f(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(total.get_value(), np.arange(6.0))


def test_unflatten_with_an_unknown_batch_and_an_unknown_split_dim():
    batch_unknown = gn.placeholder(gn.float64, (None, 12), name="x")
    split_unknown = gn.placeholder(gn.float64, (4, None), name="y")
    layer = nn.Unflatten(1, (3, -1))
    x_out, y_out = layer(batch_unknown), layer(split_unknown)
    assert x_out.shape == (None, 3, 4) and y_out.shape == (4, 3, None)
    f = gn.function([batch_unknown, split_unknown], [x_out, y_out])
    data = np.arange(24.0)
    got_x, got_y = f(data.reshape(2, 12), data.reshape(4, 6))
    np.testing.assert_array_equal(got_x, data.reshape(2, 3, 4))
    np.testing.assert_array_equal(got_y, data.reshape(4, 3, 2))


def test_slices_of_an_unknown_dim_are_unknown_in_the_type():
    """x[1:] of an unknown batch was typed with the stand-in size minus one (7918), a known int
    that nn layers would have been built from."""
    x = gn.placeholder(gn.float32, (None, 6, 3), name="x")
    assert x[1:].shape == (None, 6, 3) and x[:-1].shape == (None, 6, 3)
    assert x[::2].shape == (None, 6, 3) and x[:, 1:].shape == (None, 5, 3)
    assert x[0].shape == (6, 3) and x[:, gn.tensor([0, 1])].shape == (None, 2, 3)
    assert all(d is None or d < 7 for d in nn.LSTM(3, 4, batch_first=True)(x)[0].tensor_type.shape)
    f = gn.function([x], [x[1:], x[::2]])
    data = np.arange(5 * 6 * 3, dtype=np.float32).reshape(5, 6, 3)
    got = f(data)
    np.testing.assert_array_equal(got[0], data[1:])
    np.testing.assert_array_equal(got[1], data[::2])


def test_rnn_without_an_initial_state_on_an_unknown_batch():
    rnn = nn.RNN(3, 4, batch_first=True)
    x = gn.placeholder(gn.float32, (None, 5, 3), name="x")
    out, h = rnn(x)
    f = gn.function([x], [out, h])
    data = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    got_out, got_h = f(data)
    want_out, want_h = rnn(gn.tensor(data))
    np.testing.assert_allclose(got_out, want_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_h, want_h.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_printing_shows_the_symbolic_sizes():
    x = gn.placeholder(gn.float64, (None, 3), name="x")
    assert gn.pp(gn.arange(x.shape[0] * 2)) == "arange(0, (x.shape[0] * 2), 1)"
    assert gn.pp(x.reshape((x.shape[0], -1))) == "reshape(x, (x.shape[0], -1))"
    assert gn.pp(gn.zeros((x.shape[0], 2))) == "zeros((x.shape[0], 2), 0)"
    assert gn.pp(gn.randn(x.shape[0])) == "randn((x.shape[0],))"
    assert gn.pp(x.shape.to_tensor()) == "x.shape"


# ----- errors ------------------------------------------------------------------------------

def _x():
    return gn.placeholder(gn.float64, (None, 4), name="x")


def _run_with_negative_size():
    x = _x()
    f = gn.function([x], gn.zeros((x.shape[0] - 5, 2)))
    return f(np.ones((2, 4)))


def _run_reshape_that_does_not_fit():
    x = _x()
    f = gn.function([x], x.reshape((x.shape[0] + 2, -1)))
    return f(np.ones((3, 4)))


CASES = [
    BadInput("arange of None", lambda: gn.arange(None), TypeError, ["arange", "None", "shape[0]"]),
    BadInput("arange of a symbolic float matrix", lambda: gn.arange(_x()), TypeError,
             ["arange", "0-d"]),
    BadInput("zeros with a None dim", lambda: gn.zeros(None, 3), TypeError,
             ["zeros", "None", "x.shape[0]"]),
    BadInput("ones with a None dim in a tuple", lambda: gn.ones((2, None)), TypeError,
             ["ones", "entry 1", "None"]),
    BadInput("rand with a None dim", lambda: gn.rand(None), TypeError, ["rand", "None"]),
    BadInput("reshape with a None dim", lambda: _x().reshape((None, 2)), TypeError,
             ["reshape", "None", "shape[0]"]),
    BadInput("reshape with a float symbolic size", lambda: _x().reshape(_x().shape[0] * 1.5, -1),
             TypeError, ["reshape", "integer scalar", "float"]),
    BadInput("view with a vector as a size", lambda: _x().view(_x()[0].long(), -1), TypeError,
             ["view", "integer scalar", "1 dimensions"]),
    BadInput("reshape with two -1", lambda: _x().reshape(_x().shape[0], -1, -1), RuntimeError,
             ["reshape", "-1"]),
    BadInput("zeros negative at run time", _run_with_negative_size, ValueError,
             ["zeros", "negative", "-3"]),
    BadInput("reshape that does not fit at run time", _run_reshape_that_does_not_fit, RuntimeError,
             ["reshape", "(3, 4)", "(5, -1)"]),
    BadInput("len of an unknown first dim", lambda: len(_x()), TypeError,
             ["len()", "'x'", "x.shape[0]"]),
    BadInput("iteration over an unknown first dim", lambda: list(_x()), TypeError,
             ["iteration", "x.shape[0]"]),
    BadInput("numel of an unknown shape", lambda: _x().numel(), TypeError, ["numel", "prod()"]),
]
test_bad_input = bad_input_test(CASES)
