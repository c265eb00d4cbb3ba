"""The Theano names real code uses (issue 16 item 5), each against NumPy, SciPy-style references
written here, PyTorch or hand-computed values."""
import importlib
import io
import math
import pickle
import warnings

import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.compat.theano as theano
import ganglion.compat.theano.tensor as T
from bad_inputs import BadInput, bad_input_test
from ganglion.compat.theano.gradient import grad_clip
from ganglion.compat.theano.ifelse import ifelse
from ganglion.compat.theano.sandbox.rng_mrg import MRG_RandomStreams
from ganglion.compat.theano.tensor.nnet import bn
from ganglion.compat.theano.tensor.shared_randomstreams import RandomStreams
from ganglion.compat.theano.tensor.signal import pool

RNG = np.random.default_rng(16)


def _randn(*shape):
    return RNG.standard_normal(shape)


# ----- variables: dtype, type, dimshuffle, flatten, eval ------------------------------------

def test_dtype_compares_with_strings_and_type_prints_theanos_way():
    x, f = T.dmatrix("x"), T.fvector("f")
    assert x.dtype == "float64" and f.dtype == "float32" and x.dtype != "float32"
    # The tutorials' errors(): y.dtype.startswith('int'); NumPy takes the dtype too.
    assert T.ivector("y").dtype.startswith("int") and not x.dtype.startswith("int")
    assert x.dtype.endswith("64") and np.zeros(2, dtype=f.dtype).dtype == np.float32
    assert str(x.type) == "TensorType(float64, matrix)" and repr(f.type) == "TensorType(float32, vector)"
    assert str(T.dscalar().type) == "TensorType(float64, scalar)"
    assert str(T.dtensor3().type) == "TensorType(float64, 3D)"
    assert str(T.drow().type) == "TensorType(float64, row)" and str(T.dcol().type) == "TensorType(float64, col)"
    assert str(T.lvector().type) == "TensorType(int64, vector)"
    w = theano.shared(np.zeros((1, 3)), name="w")  # Theano's shared variables broadcast nowhere
    assert str(w.type) == "TensorType(float64, matrix)" and w.dtype == "float64"
    # Results of ops on Theano variables are Theano variables too.
    y = (x * 2 + w).sum(axis=1)
    assert isinstance(y, T.TensorVariable) and str(y.type) == "TensorType(float64, vector)"
    # x.type() makes a new variable of the type, as in Theano; types compare by value.
    z = x.type("z")
    assert z.type == x.type and z.name == "z" and z is not x
    assert T.TensorType("float64", (False,) * 3)().ndim == 3
    # T.tensor takes Theano's broadcastable pattern second, as a shape of bools.
    assert str(T.tensor("float64", (False, True)).type) == "TensorType(float64, col)"
    assert T.tensor("float64", broadcastable=(True, False, False)).shape[0] == 1
    # A NumPy operand keeps its dtype (ganglion.tensor would make a float64 array float32).
    assert theano.function([x], x * np.array([[0.1]]))(np.ones((1, 1)))[0, 0] == 0.1
    assert theano.function([x], np.array([[0.1]]) - x)(np.zeros((1, 1)))[0, 0] == 0.1
    # A NumPy scalar (numpy.sqrt(6. / n), a learning rate read from a config) is a number.
    assert theano.function([x], x * np.sqrt(6.0 / 5))(np.ones((1, 1)))[0, 0] == np.sqrt(6.0 / 5)
    assert (gn.ones(2) * np.float64(2.0)).tolist() == [2.0, 2.0]
    # ganglion's own tensors keep PyTorch's type() method.
    assert gn.ones(2).type() == "torch.FloatTensor"


def test_dimshuffle_on_variables_and_shared_variables():
    x = T.dmatrix("x")
    w = theano.shared(np.arange(6.0).reshape(2, 3), name="w")
    value = _randn(2, 3)
    f = theano.function([x], [x.dimshuffle(1, 0), x.dimshuffle("x", 0, 1), x.dimshuffle(0, "x", 1),
                              w.dimshuffle(1, "x", 0), T.dimshuffle(x, [1, 0])])
    t, row, middle, shared_t, listed = f(value)
    np.testing.assert_array_equal(t, value.T)
    np.testing.assert_array_equal(row, value[None])
    np.testing.assert_array_equal(middle, value[:, None])
    np.testing.assert_array_equal(shared_t, np.arange(6.0).reshape(2, 3).T[:, None])
    np.testing.assert_array_equal(listed, value.T)
    assert str(x.dimshuffle(1, "x", 0).type) == "TensorType(float64, (False, True, False))"
    # A size-1 dim can be dropped; a bias vector broadcast as (1, n, 1, 1), as in LeNet.
    b = theano.shared(np.array([1.0, 2.0]), name="b")
    conv_out = T.dtensor4("c")
    out = theano.function([conv_out], conv_out + b.dimshuffle("x", 0, "x", "x"))(np.zeros((1, 2, 2, 2)))
    np.testing.assert_array_equal(out[0, :, 0, 0], [1.0, 2.0])
    r = T.dtensor3("r")
    g = theano.function([r], T.dimshuffle(r[:, :1, :], 0, 2))
    np.testing.assert_array_equal(g(np.arange(12.0).reshape(2, 2, 3)), [[0, 1, 2], [6, 7, 8]])
    # The gradient flows back through the permutation.
    grad = theano.function([x], T.grad(T.sum(x.dimshuffle(1, 0) * np.arange(6.0).reshape(3, 2)), x))
    np.testing.assert_array_equal(grad(value), np.arange(6.0).reshape(3, 2).T)


def test_flatten_follows_theano_ndim_not_start_dim():
    x = T.dtensor4("x")
    value = _randn(2, 3, 4, 5)
    f = theano.function([x], [x.flatten(2), T.flatten(x, ndim=3), x.flatten(), (x * 1).flatten(2),
                              T.flatten(x, outdim=2)])
    two, three, one, derived, old_name = f(value)
    assert two.shape == (2, 60) and three.shape == (2, 3, 20) and one.shape == (120,)
    np.testing.assert_array_equal(two, value.reshape(2, -1))
    np.testing.assert_array_equal(three, value.reshape(2, 3, 20))
    np.testing.assert_array_equal(derived, two)
    np.testing.assert_array_equal(old_name, two)
    # Static shapes are kept where known.
    assert T.tensor("float64", (None, 3, 4, 5)).flatten(2).shape == (None, 60)
    # The gradient has x's shape.
    grad = theano.function([x], T.grad(T.sum(x.flatten(2) * 2), x))(value)
    np.testing.assert_array_equal(grad, np.full(value.shape, 2.0))
    # ganglion's own tensors keep PyTorch's flatten(start_dim).
    assert gn.zeros(2, 3, 4, 5).flatten(2).shape == (2, 3, 20)


def test_methods_follow_theano_and_pytorch_keywords_keep_pytorchs_meaning():
    x = T.dmatrix("x")
    value = _randn(3, 4)
    f = theano.function([x], [x.var(), x.std(axis=0), x.var(axis=1, ddof=1), x.max(1), x.min(axis=0),
                              x.transpose(), x.transpose(1, 0), x.dot(x.T),
                              x.var(dim=0), x.max(dim=1).values, x.flatten(start_dim=0), x.flatten(0, 1)])
    got = f(value)
    expected = [value.var(), value.std(axis=0), value.var(axis=1, ddof=1), value.max(1), value.min(0),
                value.T, value.T, value @ value.T,
                value.var(axis=0, ddof=1), value.max(1), value.reshape(-1), value.reshape(-1)]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12)
    t3 = T.dtensor3("t3")
    np.testing.assert_array_equal(
        theano.function([t3], t3.transpose(1, 2, 0))(np.zeros((2, 3, 4))).shape, (3, 4, 2))


def test_join_and_specify_shape():
    x, y = T.dmatrices("x", "y")
    np.testing.assert_array_equal(theano.function([x, y], T.join(1, x, y))(np.ones((2, 1)), np.zeros((2, 2))),
                                  [[1, 0, 0], [1, 0, 0]])
    partly = T.specify_shape(x, (None, 3))
    assert partly.shape[1] == 3 and str(partly.type) == "TensorType(float64, matrix)"
    f = theano.function([x], partly * 2)
    np.testing.assert_array_equal(f(np.ones((5, 3))), np.full((5, 3), 2.0))
    with pytest.raises(ValueError, match=r"specify_shape: expected a value of shape \(\?, 3\)"):
        f(np.ones((5, 4)))


def test_truth_of_variables_follows_theano():
    W = theano.shared(np.zeros(2), name="W")
    assert bool(W) and bool(T.dmatrix() * 2) and not (not W)  # the tutorials' "if not W:"
    with pytest.raises(TypeError, match="boolean operations"):
        bool(T.dscalar("a") < T.dscalar("b"))


def test_variables_pickle_with_their_graph():
    # The tutorials pickle the trained model and compile its prediction after loading.
    x, a = T.dmatrix("x"), T.dscalar("a")
    W, b = theano.shared(np.ones((3, 2)), name="W"), theano.shared(np.zeros(2), name="b")
    y_pred = T.argmax(T.nnet.softmax(T.dot(x, W) + b), axis=1)
    branch = ifelse(T.gt(a, 0), T.sum(x * 2), T.sum(x.shape[0] * x))
    x2, W2, y2, a2, branch2 = pickle.loads(pickle.dumps((x, W, y_pred, a, branch)))
    assert isinstance(W2, T.TensorSharedVariable) and W2.name == "W" and W2 is not W
    predict = theano.function([x2], y2)
    row = np.array([[1.0, 2.0, 3.0]])
    assert predict(row)[0] == 0
    W2.set_value(np.tile([0.0, 1.0], (3, 1)))  # the loaded graph reads the loaded W
    assert predict(row)[0] == 1 and np.all(W.get_value() == 1.0)
    g = theano.function([a2, x2], branch2)
    assert g(1.0, np.ones((2, 2))) == 8.0 and g(-1.0, np.ones((2, 2))) == 8.0
    assert g(-1.0, np.ones((3, 2))) == 18.0


def test_eval_with_and_without_inputs():
    x, y = T.dscalars("x", "y")
    z = x + 2 * y
    assert z.eval({x: 1.0, y: 3.0}) == 7.0
    assert z.eval({y: 1.0, x: 5.0}) == 7.0  # a second function for the other order of keys
    w = theano.shared(np.array([1.0, 2.0]))
    np.testing.assert_array_equal((w * 3).eval(), [3.0, 6.0])
    np.testing.assert_array_equal(T.constant([1, 2]).eval(), [1, 2])
    # eval keeps the latest compiled functions only.
    variables = importlib.import_module("ganglion.compat.theano.tensor.var")  # T.var is a function
    assert [(x * k).eval({x: 1.0}) for k in range(40)] == list(range(40))
    assert len(variables._EVAL_CACHE) == variables._EVAL_CACHE_SIZE


# ----- subtensor assignment -----------------------------------------------------------------

def test_set_and_inc_subtensor_on_slices_and_integer_indices():
    x, y = T.dmatrix("x"), T.dvector("y")
    idx = T.lvector("idx")
    value = np.arange(12.0).reshape(4, 3)
    f = theano.function([x, y, idx], [
        T.set_subtensor(x[1:3], y), T.inc_subtensor(x[1:3], y), T.set_subtensor(x[:, 0], 7.0),
        T.inc_subtensor(x[idx], 1.0), T.set_subtensor(x[idx, 2], -1.0),
        T.set_subtensor(x[idx], y), T.inc_subtensor(x[2], y), T.set_subtensor(x[1][1:], 0.0)])
    got = f(value, [10.0, 20.0, 30.0], [0, 3, 0])
    expected = []
    e = value.copy(); e[1:3] = [10, 20, 30]; expected.append(e)
    e = value.copy(); e[1:3] += [10, 20, 30]; expected.append(e)
    e = value.copy(); e[:, 0] = 7; expected.append(e)
    e = value.copy(); np.add.at(e, [0, 3, 0], 1.0); expected.append(e)  # repeats add twice
    e = value.copy(); e[[0, 3, 0], 2] = -1; expected.append(e)
    e = value.copy(); e[[0, 3, 0]] = [10, 20, 30]; expected.append(e)
    e = value.copy(); e[2] += [10, 20, 30]; expected.append(e)
    e = value.copy(); e[1, 1:] = 0; expected.append(e)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    # Functional: x itself is unchanged, the result is a new variable.
    assert f(value, [1.0, 1.0, 1.0], [0])[0] is not value and value[1, 0] == 3.0


def test_set_and_inc_subtensor_gradients_match_pytorch():
    x, y = T.dmatrix("x"), T.dvector("y")
    xv, yv = _randn(4, 3), _randn(3)
    weights = _randn(4, 3)
    cost = T.sum(T.set_subtensor(x[1:3], y * y) * weights) + T.sum(T.inc_subtensor(x[[0, 0]], y) ** 2)
    gx, gy = theano.function([x, y], T.grad(cost, [x, y]))(xv, yv)
    tx, ty = torch.tensor(xv, requires_grad=True), torch.tensor(yv, requires_grad=True)
    set_part = tx.clone()
    set_part[1:3] = ty * ty
    inc_part = tx.index_put((torch.tensor([0, 0]),), ty.expand(2, 3), accumulate=True)
    (torch.sum(set_part * torch.tensor(weights)) + torch.sum(inc_part ** 2)).backward()
    np.testing.assert_allclose(gx, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gy, ty.grad.numpy(), rtol=1e-12)


# ----- products -----------------------------------------------------------------------------

def test_dot_tensordot_batched_dot_outer_against_numpy():
    a3, m, v = T.dtensor3("a3"), T.dmatrix("m"), T.dvector("v")
    b3 = T.dtensor3("b3")
    av, mv, vv, bv = _randn(2, 3, 4), _randn(4, 5), _randn(4), _randn(2, 4, 6)
    f = theano.function([a3, m, v, b3], [
        T.dot(a3, m), T.dot(a3, v), T.dot(m.T, v), T.dot(a3, b3),
        T.tensordot(a3, m, axes=1), T.tensordot(a3, b3, axes=[[0, 2], [0, 1]]),
        T.batched_dot(a3, b3), T.batched_dot(a3, m.T[:2, :4]), T.batched_dot(m[:2], m[2:4]),
        T.outer(v, m[0]), T.dot(2.0, v)], on_unused_input="ignore")
    got = f(av, mv, vv, bv)
    expected = [np.dot(av, mv), np.dot(av, vv), np.dot(mv.T, vv), np.dot(av, bv),
                np.tensordot(av, mv, axes=1), np.tensordot(av, bv, axes=[[0, 2], [0, 1]]),
                np.einsum("bij,bjk->bik", av, bv), np.einsum("bij,bj->bi", av, mv.T[:2, :4]),
                np.einsum("bi,bi->b", mv[:2], mv[2:4]), np.outer(vv, mv[0]), 2.0 * vv]
    for g, e in zip(got, expected):
        assert g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


# ----- making tensors, reductions -----------------------------------------------------------

def test_alloc_zeros_ones_likes_constant_as_tensor_variable():
    x = T.dmatrix("x")
    s = T.dscalar("s")
    f = theano.function([x, s], [T.alloc(s, 2, 3), T.alloc(x[0], 4, 3), T.zeros((2, 2)),
                                 T.ones((3,), dtype="int32"), T.zeros_like(x), T.ones_like(x, dtype="int64"),
                                 T.constant(2.5) * x, T.as_tensor_variable(np.eye(3)) + x])
    got = f(np.arange(9.0).reshape(3, 3), 1.5)
    np.testing.assert_array_equal(got[0], np.full((2, 3), 1.5))
    np.testing.assert_array_equal(got[1], np.tile([0.0, 1.0, 2.0], (4, 1)))
    assert got[2].dtype == np.float64 and np.all(got[2] == 0)
    assert got[3].dtype == np.int32 and np.all(got[3] == 1)
    assert got[4].shape == (3, 3) and np.all(got[4] == 0)
    assert got[5].dtype == np.int64 and np.all(got[5] == 1)
    np.testing.assert_array_equal(got[6], 2.5 * np.arange(9.0).reshape(3, 3))
    np.testing.assert_array_equal(got[7], np.eye(3) + np.arange(9.0).reshape(3, 3))
    assert T.constant(3).dtype == "int64" and T.constant(1.5).dtype == theano.config.floatX
    assert T.constant([1.0, 2.0], ndim=2).shape == (1, 2) and T.constant(1, name="one").name == "one"
    assert T.as_tensor_variable(x) is x
    # The gradient of alloc sums over the repeats.
    g = theano.function([s], T.grad(T.sum(T.alloc(s, 2, 3)), s))(1.0)
    assert g == 6.0


def test_prod_var_std_use_theanos_defaults():
    x = T.dmatrix("x")
    value = _randn(4, 5)
    f = theano.function([x], [T.prod(x), T.prod(x, axis=0), T.var(x), T.var(x, axis=1),
                              T.std(x, axis=0), T.std(x, axis=0, ddof=1), T.var(x, keepdims=True)])
    got = f(value)
    expected = [np.prod(value), np.prod(value, axis=0), np.var(value), np.var(value, axis=1),
                np.std(value, axis=0), np.std(value, axis=0, ddof=1), np.var(value, keepdims=True)]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_more_tensor_names_against_numpy():
    x, y = T.dmatrices("x", "y")
    b, c = T.bvector("b"), T.bvector("c")
    xv, yv = _randn(3, 4), _randn(3, 4)
    bv, cv = np.array([1, 3, 6], dtype=np.int8), np.array([2, 3, 4], dtype=np.int8)
    f = theano.function([x, y, b, c], [
        T.and_(b, c), T.or_(b, c), T.xor(b, c), T.invert(b), T.and_(T.gt(x, 0), T.gt(y, 0)),
        T.transpose(x), T.transpose(x, (1, 0)), T.shape_padleft(x).shape, T.shape_padright(x, 2).shape,
        T.shape_padaxis(x, 1).shape, T.sort(x), T.sort(x, axis=None), T.argsort(x, axis=0),
        T.cumsum(x), T.cumsum(x, axis=1), T.log2(abs(x)), T.log10(abs(x)), T.inv(x), T.neg(x),
        T.true_div(b, c), T.int_div(b, c), T.mod(x, 0.7), T.eye(3, 4, k=1), T.identity_like(x[:2, :2]),
        T.fill(x, 3.0), T.horizontal_stack(x, y), T.vertical_stack(x, y), T.squeeze(x[:1]),
        T.largest(x, y, 0.0), T.smallest(x, y), T.shape(x), T.any(T.gt(x, 2)), T.all(T.gt(x, -9)),
        T.tile(x[0], (2,)), T.erf(x), T.iround(x * 3, mode="half_away_from_zero"),
        T.round(np.array([0.5, 1.5, -0.5]) + x[0, :3] * 0, mode="half_away_from_zero")])
    got = f(xv, yv, bv, cv)
    expected = [
        bv & cv, bv | cv, bv ^ cv, ~bv, (xv > 0) & (yv > 0), xv.T, xv.T, (1, 3, 4), (3, 4, 1, 1), (3, 1, 4),
        np.sort(xv), np.sort(xv, axis=None), np.argsort(xv, axis=0), np.cumsum(xv), np.cumsum(xv, axis=1),
        np.log2(abs(xv)), np.log10(abs(xv)), 1 / xv, -xv, bv / cv, bv // cv, np.mod(xv, 0.7),
        np.eye(3, 4, 1), np.eye(2), np.full((3, 4), 3.0), np.hstack([xv, yv]), np.vstack([xv, yv]),
        xv[0], np.maximum(np.maximum(xv, yv), 0), np.minimum(xv, yv), [3, 4], (xv > 2).any(), True,
        np.tile(xv[0], 2), np.vectorize(math.erf)(xv), np.sign(xv * 3) * np.floor(np.abs(xv * 3) + 0.5), [1.0, 2.0, -1.0]]
    for k, (g, e) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15, err_msg=f"output {k}")
    # Theano's round warns that its default is half to even unless config.warn.round is False.
    with pytest.warns(UserWarning, match="half_to_even"):
        T.round(x)
    theano.config.warn.round = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            rounded = theano.function([x], T.round(x))(np.array([[0.5, 1.5, 2.5]]))
        np.testing.assert_array_equal(rounded, [[0.0, 2.0, 2.0]])
    finally:
        theano.config.warn.round = True
    # addbroadcast declares size-1 dims (checked at run time), patternbroadcast by a pattern.
    col = T.addbroadcast(x[:, :1], 1)
    assert str(col.type) == "TensorType(float64, col)"
    assert str(T.patternbroadcast(x[:1], (True, False)).type) == "TensorType(float64, row)"
    assert T.unbroadcast(col, 1) is col
    np.testing.assert_array_equal(theano.function([x], x + col)(xv), xv + xv[:, :1])


# ----- conditionals, gradient tools ---------------------------------------------------------

def test_ifelse_chooses_whole_branches_and_routes_the_gradient():
    a, b = T.dscalars("a", "b")
    x, y = T.dmatrices("x", "y")
    f = theano.function([a, b, x, y], ifelse(T.lt(a, b), T.mean(x), T.mean(y)))
    ones, zeros = np.ones((2, 2)), np.zeros((2, 2))
    assert f(1, 2, ones, zeros) == 1.0 and f(3, 2, ones, zeros) == 0.0
    v, w = T.dvectors("v", "w")
    out = ifelse(T.gt(a, 0), v * 2, w[:2])
    g = theano.function([a, v, w], [out, T.grad(T.sum(out * out), v), T.grad(T.sum(out * out), w)])
    value, grad_v, grad_w = g(1.0, [1.0, 2.0], [5.0, 6.0, 7.0])
    np.testing.assert_array_equal(value, [2.0, 4.0])
    np.testing.assert_array_equal(grad_v, [8.0, 16.0])
    np.testing.assert_array_equal(grad_w, [0.0, 0.0, 0.0])
    value, grad_v, grad_w = g(-1.0, [1.0, 2.0], [5.0, 6.0, 7.0])
    np.testing.assert_array_equal(value, [5.0, 6.0])
    np.testing.assert_array_equal(grad_v, [0.0, 0.0])
    np.testing.assert_array_equal(grad_w, [10.0, 12.0, 0.0])
    # Lazy: the branch not taken is never computed (this one fails: index 5 of 2 elements).
    lazy = theano.function([a, v], ifelse(T.gt(a, 0), v * 2, v[5] + v))
    np.testing.assert_array_equal(lazy(1.0, [1.0, 2.0]), [2.0, 4.0])
    with pytest.raises(IndexError):
        lazy(-1.0, [1.0, 2.0])
    # Gradients reach shared variables read inside a branch, and only the taken branch's.
    W = theano.shared(np.array([[1.0, 2.0], [3.0, 4.0]]), name="W")
    cost = ifelse(T.gt(a, 0), T.sum(T.dot(v, W) ** 2), T.sum(W ** 3))
    h = theano.function([a, v], [cost, T.grad(cost, W)])
    value, grad_w = h(1.0, [1.0, -1.0])
    u = np.array([1.0, -1.0]) @ W.get_value()
    assert value == np.sum(u ** 2)
    np.testing.assert_allclose(grad_w, np.outer([1.0, -1.0], 2 * u))
    value, grad_w = h(-1.0, [1.0, -1.0])
    assert value == np.sum(W.get_value() ** 3)
    np.testing.assert_allclose(grad_w, 3 * W.get_value() ** 2)
    # Lists of outputs, and a Python number as a branch.
    first, second = ifelse(T.gt(a, 0), [v, a], [w, 0.0])
    h = theano.function([a, v, w], [first, second])
    np.testing.assert_array_equal(h(2.0, [1.0], [3.0])[0], [1.0])
    assert h(-2.0, [1.0], [3.0])[1] == 0.0


def test_grad_clip_clips_only_the_gradient():
    x = T.dvector("x")
    clipped = grad_clip(x, -1.0, 2.0)
    value, grad = theano.function([x], [clipped * 5, T.grad(T.sum(clipped * 3 * x), x)])([1.0, -1.0, 0.1])
    np.testing.assert_array_equal(value, [5.0, -5.0, 0.5])
    # d/dx of (clip_grad(x) * 3x): 3x through clip_grad (clipped to [-1, 2]) plus 3 clip_grad(x).
    np.testing.assert_allclose(grad, np.clip(3 * np.array([1.0, -1.0, 0.1]), -1, 2)
                               + 3 * np.array([1.0, -1.0, 0.1]))


def test_grad_consider_constant_disconnected_inputs_and_disconnected_grad():
    from ganglion.compat.theano.gradient import disconnected_grad
    x, w = T.dvectors("x", "w")
    h = T.tanh(x * w)  # the RBM tutorial's chain end: a value used as a constant
    cost = T.sum(h * w)
    free, fixed = T.grad(cost, w), T.grad(cost, w, consider_constant=[h])
    detached = T.grad(T.sum(disconnected_grad(h) * w), w)
    xv, wv = np.array([0.5, -1.0]), np.array([2.0, 0.3])
    got_free, got_fixed, got_detached = theano.function([x, w], [free, fixed, detached])(xv, wv)
    hv = np.tanh(xv * wv)
    np.testing.assert_allclose(got_free, hv + wv * (1 - hv ** 2) * xv, rtol=1e-12)
    np.testing.assert_allclose(got_fixed, hv, rtol=1e-12)
    np.testing.assert_allclose(got_detached, hv, rtol=1e-12)
    # A variable the cost does not use: an error by default, zeros with 'ignore' / 'warn'.
    unused = T.dvector("unused")
    with pytest.raises(T.DisconnectedInputError, match=r"wrt variable\(s\) 0 \(unused\).*'ignore'"):
        T.grad(cost, unused)
    zero = T.grad(cost, [w, unused], disconnected_inputs="ignore")[1]
    np.testing.assert_array_equal(theano.function([unused], zero)(np.ones(3)), np.zeros(3))
    with pytest.warns(UserWarning, match="does not depend"):
        T.grad(cost, [unused], disconnected_inputs="warn")


def test_rop_and_lop_against_pytorch_jvp_and_vjp():
    W, V = T.dmatrices("W", "V")
    x = T.dvector("x")
    y = T.tanh(T.dot(x, W))
    rop = T.Rop(y, W, V)
    v = T.dvector("v")
    lop = T.Lop(y, W, v)
    wv, vv, xv, cot = _randn(3, 2), _randn(3, 2), _randn(3), _randn(2)
    r, lo = theano.function([W, V, x, v], [rop, lop])(wv, vv, xv, cot)

    def fn(w):
        return torch.tanh(torch.tensor(xv) @ w)
    _, jvp = torch.autograd.functional.jvp(fn, torch.tensor(wv), torch.tensor(vv))
    _, vjp = torch.autograd.functional.vjp(fn, torch.tensor(wv), torch.tensor(cot))
    np.testing.assert_allclose(r, jvp.numpy(), rtol=1e-12)
    np.testing.assert_allclose(lo, vjp.numpy(), rtol=1e-12)
    # The tutorial's R-operator example: dot(x, W) along V is dot(x, V).
    np.testing.assert_allclose(theano.function([W, V, x], T.Rop(T.dot(x, W), W, V))(wv, vv, xv),
                               xv @ vv, rtol=1e-12)


# ----- convolution, pooling, batch normalization --------------------------------------------

def _theano_conv_reference(x, w, pad, stride):
    """Theano's conv2d by its definition: a true convolution (flipped kernel), with NumPy."""
    flipped = w[:, :, ::-1, ::-1]
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    kh, kw = w.shape[2:]
    rows = (x.shape[2] - kh) // stride[0] + 1
    cols = (x.shape[3] - kw) // stride[1] + 1
    out = np.zeros((x.shape[0], w.shape[0], rows, cols))
    for i in range(rows):
        for j in range(cols):
            patch = x[:, :, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw]
            out[:, :, i, j] = np.einsum("nchw,kchw->nk", patch, flipped)
    return out


@pytest.mark.parametrize("border_mode,pad", [("valid", (0, 0)), ("full", (2, 1)), ("half", (1, 1)),
                                             (1, (1, 1)), ((2, 0), (2, 0))])
def test_conv2d_flips_the_kernel_and_follows_border_modes(border_mode, pad):
    x = T.tensor("float64", (2, 3, 7, 6), name="x")
    w = theano.shared(_randn(4, 3, 3, 2), name="w")
    xv = _randn(2, 3, 7, 6)
    out = T.nnet.conv2d(x, w, input_shape=(None, 3, 7, 6), filter_shape=(4, 3, 3, 2),
                        border_mode=border_mode, subsample=(2, 1))
    got = theano.function([x], out)(xv)
    np.testing.assert_allclose(got, _theano_conv_reference(xv, w.get_value(), pad, (2, 1)),
                               rtol=1e-10, atol=1e-12)


def test_conv2d_filter_flip_false_is_pytorch_correlation_and_gradients_match():
    x = T.dtensor4("x")
    w = theano.shared(_randn(2, 3, 3, 3), name="w")
    xv = _randn(2, 3, 6, 6)
    # input_shape makes the rows and cols known, which the gradient for w needs.
    flipped = T.nnet.conv2d(x, w, input_shape=(None, 3, 6, 6))
    plain = T.nnet.conv2d(x, w, filter_flip=False, border_mode="half")
    got_flipped, got_plain, gw = theano.function(
        [x], [flipped, plain, T.grad(T.sum(flipped ** 2), w)])(xv)
    tx, tw = torch.tensor(xv), torch.tensor(w.get_value(), requires_grad=True)
    reference = torch.nn.functional.conv2d(tx, torch.flip(tw, (2, 3)))
    (reference ** 2).sum().backward()
    np.testing.assert_allclose(got_flipped, reference.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(got_plain, torch.nn.functional.conv2d(tx, tw, padding=1).detach().numpy(),
                               rtol=1e-10)
    np.testing.assert_allclose(gw, tw.grad.numpy(), rtol=1e-10)
    # The older module path, as LeNet's tutorial imports it.
    from ganglion.compat.theano.tensor.nnet import conv
    np.testing.assert_allclose(theano.function([x], conv.conv2d(x, w, filter_shape=(2, 3, 3, 3)))(xv),
                               got_flipped)


def _theano_pool_reference(x, ws, ignore_border, stride, pad, mode):
    """Theano's Pool.perform (theano/tensor/signal/pool.py), written out with NumPy loops."""
    r, c = x.shape[-2] + 2 * pad[0], x.shape[-1] + 2 * pad[1]

    def out_len(size, w, s):
        if ignore_border:
            return (size - w) // s + 1
        return (size - 1) // s + 1 if s >= w else max(0, (size - 1 - w + s) // s) + 1
    rows, cols = out_len(r, ws[0], stride[0]), out_len(c, ws[1], stride[1])
    y = np.zeros(x.shape[:-2] + (r, c))
    y[..., pad[0]:r - pad[0], pad[1]:c - pad[1]] = x
    out = np.zeros(x.shape[:-2] + (rows, cols))
    func = {"max": np.max, "sum": np.sum}.get(mode, np.mean)
    for i in range(rows):
        r0, r1 = i * stride[0], min(i * stride[0] + ws[0], r)
        if mode != "average_inc_pad":
            r0, r1 = max(r0, pad[0]), min(r1, x.shape[-2] + pad[0])
        for j in range(cols):
            c0, c1 = j * stride[1], min(j * stride[1] + ws[1], c)
            if mode != "average_inc_pad":
                c0, c1 = max(c0, pad[1]), min(c1, x.shape[-1] + pad[1])
            out[..., i, j] = func(y[..., r0:r1, c0:c1], axis=(-2, -1))
    return out


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
@pytest.mark.parametrize("ignore_border,stride,pad", [(True, (2, 2), (0, 0)), (False, (2, 2), (0, 0)),
                                                      (False, (1, 3), (0, 0)), (True, (2, 1), (1, 1))])
def test_pool_2d_against_theanos_definition(mode, ignore_border, stride, pad):
    x = T.dtensor4("x")
    xv = _randn(2, 3, 7, 6)
    out = pool.pool_2d(x, ws=(3, 2), ignore_border=ignore_border, stride=stride, pad=pad, mode=mode)
    got = theano.function([x], out)(xv)
    expected = _theano_pool_reference(xv, (3, 2), ignore_border, stride, pad, mode)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_pool_2d_default_border_warns_and_gradient_of_max_matches_pytorch():
    x = T.dtensor4("x")
    xv = _randn(1, 2, 4, 4)
    with pytest.warns(UserWarning, match="ignore_border"):
        out = pool.pool_2d(x, ws=(2, 2))
    got, grad = theano.function([x], [out, T.grad(T.sum(out * out), x)])(xv)
    tx = torch.tensor(xv, requires_grad=True)
    reference = torch.nn.functional.max_pool2d(tx, 2)
    (reference * reference).sum().backward()
    np.testing.assert_allclose(got, reference.detach().numpy())
    np.testing.assert_allclose(grad, tx.grad.numpy())
    # Theano 0.7's module and names (the 2015 tutorials' LeNet).
    from ganglion.compat.theano.tensor.signal import downsample
    np.testing.assert_array_equal(
        theano.function([x], downsample.max_pool_2d(x, (2, 2), ignore_border=True))(xv), got)
    m = T.dmatrix("m")  # a 2-d input pools its only two dims
    np.testing.assert_array_equal(theano.function([m], pool.pool_2d(m, (2, 2), ignore_border=True))(
        np.arange(16.0).reshape(4, 4)), [[5.0, 7.0], [13.0, 15.0]])


def test_batch_normalization_functions_against_numpy():
    x = T.dmatrix("x")
    gamma, beta = theano.shared(np.array([1.0, 2.0, 0.5])), theano.shared(np.array([0.0, 1.0, -1.0]))
    xv = _randn(5, 3)
    mean, std = xv.mean(0), xv.std(0)
    out = bn.batch_normalization(x, gamma, beta, x.mean(axis=0), x.std(axis=0))
    train_out, batch_mean, invstd, run_mean, run_var = bn.batch_normalization_train(
        x, gamma, beta, running_mean=T.zeros((3,)), running_var=T.ones((3,)))
    test_out = bn.batch_normalization_test(x, gamma, beta, T.zeros((3,)), T.ones((3,)))
    got = theano.function([x], [out, train_out, batch_mean, invstd, run_mean, run_var, test_out])(xv)
    g, b = gamma.get_value(), beta.get_value()
    np.testing.assert_allclose(got[0], (xv - mean) * (g / std) + b, rtol=1e-12)
    invstd_ref = 1 / np.sqrt(xv.var(0) + 1e-4)
    np.testing.assert_allclose(got[1], (xv - mean) * invstd_ref * g + b, rtol=1e-12)
    np.testing.assert_allclose(got[2], mean[None], rtol=1e-12)
    np.testing.assert_allclose(got[3], invstd_ref[None], rtol=1e-12)
    np.testing.assert_allclose(got[4], 0.1 * mean[None], rtol=1e-12)
    np.testing.assert_allclose(got[5], 0.9 + 0.1 * xv.var(0, ddof=1)[None], rtol=1e-12)
    np.testing.assert_allclose(got[6], xv * g / np.sqrt(1 + 1e-4) + b, rtol=1e-12)


# ----- random streams -----------------------------------------------------------------------

def test_mrg_random_streams_api_and_distributions():
    srng = MRG_RandomStreams(seed=1234)
    u = srng.uniform((2000,), low=2.0, high=4.0)
    n = srng.normal((2000,), avg=1.0, std=3.0, dtype="float32")
    mask = srng.binomial(size=(2000,), n=1, p=0.25, dtype=theano.config.floatX)
    f = theano.function([], [u, n, mask])
    uv, nv, mv = f()
    assert uv.dtype == np.float64 and 2.0 <= uv.min() and uv.max() < 4.0 and abs(uv.mean() - 3.0) < 0.1
    assert nv.dtype == np.float32 and abs(nv.mean() - 1.0) < 0.3 and abs(nv.std() - 3.0) < 0.3
    assert mv.dtype == np.float64 and set(np.unique(mv)) <= {0.0, 1.0} and abs(mv.mean() - 0.25) < 0.05
    assert not np.array_equal(f()[0], uv)  # fresh draws every call
    # Reseeding restarts every variable: the same first draws again.
    srng.seed(1234)
    np.testing.assert_array_equal(f()[0], uv)


def test_random_variable_rng_state_get_and_set():
    # Theano's "Copying random state" idiom: save a state, draw, restore it, draw the same.
    srng = RandomStreams(seed=234)
    rv_u = srng.uniform((2, 2))
    f = theano.function([], rv_u)
    rng_val = rv_u.rng.get_value(borrow=True)
    rng_val.seed(89234)
    rv_u.rng.set_value(rng_val, borrow=True)
    np.testing.assert_array_equal(f(), np.random.RandomState(89234).uniform(0, 1, (2, 2)))
    state_after_v0 = rv_u.rng.get_value().get_state()
    v1 = f()
    rng = rv_u.rng.get_value(borrow=True)
    rng.set_state(state_after_v0)
    rv_u.rng.set_value(rng, borrow=True)
    v2 = f()
    v3 = f()
    np.testing.assert_array_equal(v1, v2)
    assert not np.array_equal(v2, v3)
    # get_value() without borrow is a copy: drawing from it changes nothing.
    rv_u.rng.get_value().uniform(size=100)
    rv_u.rng.set_value(np.random.RandomState(5).get_state())
    np.testing.assert_array_equal(f(), np.random.RandomState(5).uniform(0, 1, (2, 2)))


# ----- compiled functions: copy, no_default_updates, maker.fgraph, config, mode -------------

def test_function_copy_with_swap_and_delete_updates():
    w, w2 = theano.shared(np.ones(3), name="w"), theano.shared(np.zeros(3), name="w2")
    x = T.dvector("x")
    step = theano.function([x], (w * x).sum(), updates=[(w, w + x)])
    assert step([1.0, 2.0, 3.0]) == 6.0
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0, 4.0])
    swapped = step.copy(swap={w: w2})
    assert swapped([1.0, 2.0, 3.0]) == 0.0
    np.testing.assert_array_equal(w2.get_value(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0, 4.0])
    frozen = step.copy(delete_updates=True)
    assert frozen([1.0, 1.0, 1.0]) == 9.0 and frozen([1.0, 1.0, 1.0]) == 9.0
    np.testing.assert_array_equal(w.get_value(), [2.0, 3.0, 4.0])
    assert step.copy(name="again").name == "again"


def test_no_default_updates_keeps_random_state():
    srng = RandomStreams(seed=7)
    a, b = srng.uniform((3,)), srng.normal((3,))
    same = theano.function([], [a, b], no_default_updates=True)
    np.testing.assert_array_equal(same()[0], same()[0])
    only_a = theano.function([], [a, b], no_default_updates=[a.rng])
    first, second = only_a(), only_a()
    np.testing.assert_array_equal(first[0], second[0])
    assert not np.array_equal(first[1], second[1])
    fresh = theano.function([], a)
    assert not np.array_equal(fresh(), fresh())


def test_maker_fgraph_shows_the_optimised_graph():
    x = T.dvector("x")
    w = theano.shared(np.ones(3), name="w")
    f = theano.function([x], T.exp(x * w).sum() * 2)
    fgraph = f.maker.fgraph
    names = [node.op.name for node in fgraph.toposort()]
    assert names == ["mul", "exp", "sum", "mul"]
    assert len(fgraph.apply_nodes) == len(names)
    assert [v.name for v in fgraph.inputs] == ["x"] and len(fgraph.outputs) == 1
    out = fgraph.outputs[0]
    assert out.owner.op.name == "mul" and str(out.type) == "TensorType(float64, scalar)"
    assert out.owner.inputs[0].owner.op.name == "sum"
    assert all(node.outputs[0].owner is node for node in fgraph.toposort())
    text = theano.printing.debugprint(fgraph.outputs[0], file=io.StringIO())
    assert text.splitlines() == ["mul  TensorType(float64, scalar)", " |sum  TensorType(float64, scalar)",
                                 " | |exp  TensorType(float64, vector)", " | | |mul  TensorType(float64, vector)",
                                 " | | | |x  TensorType(float64, vector)", " | | | |w  TensorType(float64, vector)",
                                 " |constant  TensorType(float64, scalar)"]
    # The rewrites compute the repeated term once; FAST_COMPILE computes it twice.
    twice = T.exp(x * w).sum() + T.exp(x * w).sum()
    fast, slow = theano.function([x], twice), theano.function([x], twice, mode="FAST_COMPILE")
    assert len(fast.maker.fgraph.toposort()) == 4 and len(slow.maker.fgraph.toposort()) == 7
    assert slow([1.0, 2.0, 3.0]) == fast([1.0, 2.0, 3.0])


def test_config_warn_floatx_and_mode():
    assert theano.config.floatX == "float64" and theano.config.mode == "Mode"
    theano.config.warn.round = False  # Theano code sets this flag; it must be accepted
    old = theano.config.floatX
    try:
        theano.config.floatX = "float32"
        assert T.matrix().dtype == "float32" and T.zeros((2,)).dtype == "float32"
        assert theano.shared(np.zeros(2, dtype=theano.config.floatX)).dtype == "float32"
    finally:
        theano.config.floatX = old
    with pytest.raises(ValueError, match="floatX"):
        theano.config.floatX = "float8"
    with pytest.raises(ValueError, match="mode"):
        theano.config.mode = "FAST"


CASES = [
    BadInput("set_subtensor of a tensor that is not a subtensor",
             lambda: T.set_subtensor(T.dmatrix("x") + 1, 0.0), TypeError,
             ["set_subtensor", "subtensor such as x[2:5]", "made by add"]),
    BadInput("dimshuffle dropping a dim of unknown size",
             lambda: T.dmatrix("x").dimshuffle(0), ValueError,
             ["dimshuffle", "drops dim 1", "(?, ?)", "only dims of size 1"]),
    BadInput("dimshuffle listing a dim twice",
             lambda: T.dmatrix("x").dimshuffle(0, 0), ValueError, ["dimshuffle", "twice"]),
    BadInput("dimshuffle with a dim out of range",
             lambda: T.dmatrix("x").dimshuffle(0, 2), ValueError, ["dimshuffle", "0 to 1", "2"]),
    BadInput("flatten to more dims than x has",
             lambda: T.dmatrix("x").flatten(3), ValueError, ["flatten", "from 1 to x.ndim = 2", "3"]),
    BadInput("tensordot axes of different lengths",
             lambda: T.tensordot(T.dmatrix("a"), T.dmatrix("b"), [[0, 1], [0]]), ValueError,
             ["tensordot", "pair 2 dims of a with 1 of b"]),
    BadInput("batched_dot of a vector",
             lambda: T.batched_dot(T.dvector("a"), T.dmatrix("b")), ValueError,
             ["batched_dot", "batch dim"]),
    BadInput("ifelse with a non-scalar condition",
             lambda: ifelse(T.dvector("c"), T.dvector("a"), T.dvector("b")), ValueError,
             ["ifelse", "condition must be a scalar"]),
    BadInput("ifelse with branches of different ranks",
             lambda: ifelse(T.dscalar("c"), T.dvector("a"), T.dmatrix("b")), TypeError,
             ["ifelse", "one type", "1-d", "2-d"]),
    BadInput("grad_clip with bounds the wrong way round",
             lambda: grad_clip(T.dvector("a"), 1.0, -1.0), ValueError, ["grad_clip", "lower_bound"]),
    BadInput("conv2d with an unknown border mode",
             lambda: T.nnet.conv2d(T.dtensor4("x"), theano.shared(np.zeros((1, 1, 2, 2))),
                                   border_mode="same"), ValueError,
             ["conv2d", "border_mode", "'same'"]),
    BadInput("conv2d whose filter_shape contradicts the filters",
             lambda: T.nnet.conv2d(T.dtensor4("x"), theano.shared(np.zeros((1, 1, 2, 2))),
                                   filter_shape=(1, 1, 3, 3)), ValueError,
             ["conv2d", "filter_shape=(1, 1, 3, 3)", "(1, 1, 2, 2)"]),
    BadInput("pool_2d padding without ignore_border",
             lambda: pool.pool_2d(T.dtensor4("x"), (2, 2), ignore_border=False, pad=(1, 1)),
             NotImplementedError, ["pool_2d", "ignore_border=True"]),
    BadInput("pool_2d with an unknown mode",
             lambda: pool.pool_2d(T.dtensor4("x"), (2, 2), ignore_border=True, mode="avg"),
             ValueError, ["pool_2d", "mode", "'avg'"]),
    BadInput("copy swapping a shared variable for one of another rank",
             lambda: theano.function([], theano.shared(np.ones(2)) * 2).copy(
                 swap={theano.shared(np.ones(2)): theano.shared(np.ones((2, 2)))}), TypeError,
             ["copy", "swap", "number of dimensions"]),
    BadInput("no_default_updates listing a non-random variable",
             lambda: theano.function([], RandomStreams(1).uniform((2,)),
                                     no_default_updates=[T.dvector("v")]), TypeError,
             ["no_default_updates", "neither a random variable nor its .rng"]),
    BadInput("rng of a variable that is not random",
             lambda: T.dvector("v").rng, AttributeError, ["rng", "random variable"]),
]
test_bad_input = bad_input_test(CASES)
