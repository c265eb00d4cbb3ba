"""Each graph rewrite: the rewritten graph equals the expected one, and where it exists for
numerical reasons, the compiled result is finite and exact where the naive form is not."""
import numpy as np
import pytest

import ganglion as gn
from ganglion.core.ops import elementwise as ew
from ganglion.core.ops import unary
from ganglion.core.op import _apply_symbolic
from ganglion.core.ops.shape import Permute, Reshape
from symbolic_graphs import compiled_graph, count_ops, raw_graph, same_graph


def rewritten(expr, inputs, rewrite):
    return compiled_graph([expr], inputs, {rewrite, "cse"})[0]


def expected(expr, inputs):
    return raw_graph([expr], inputs)[0]


def test_constant_folding_computes_constant_subexpressions_once():
    # Eager arithmetic on constants already folds them while the graph is built; nodes whose
    # inputs are all constants come from rewrites and recorded graphs, as this hand-made one.
    x = gn.dvector("x")
    three = ew.constant(3.0, gn.float64)
    six = _apply_symbolic(ew.Add(), (three, three))
    folded = compiled_graph([x * six], [x], {"constant_folding"})[0]
    assert isinstance(folded.op, ew.Mul)
    constant = folded.inputs[1]
    assert constant.kind == "constant" and float(constant.value) == 6.0
    # a tensor holding a value that is not a Constant is read at call time, never folded
    two = gn.tensor(2.0, dtype=gn.float64)
    not_folded = compiled_graph([x * _apply_symbolic(ew.Add(), (two, three))], [x], {"constant_folding"})[0]
    assert not_folded.inputs[1].kind == "apply"


def test_constant_folding_never_folds_random_ops():
    from ganglion.compat.theano.tensor.shared_randomstreams import RandomStreams
    draw = RandomStreams(0).uniform((3,))
    f = gn.function([], draw * 2)
    assert not np.array_equal(f(), f())


def test_cse_merges_equal_subexpressions():
    x = gn.dmatrix("x")
    a, b = gn.exp(x) + 1, gn.exp(x) + 1
    graph = compiled_graph([a * b], [x], {"cse"})[0]
    assert graph.inputs[0] is graph.inputs[1]
    assert count_ops(graph, unary.Exp) == 1
    assert count_ops(raw_graph([a * b], [x])[0], unary.Exp) == 2


def test_cse_keeps_different_attributes_apart():
    x = gn.dmatrix("x")
    graph = compiled_graph([x.sum(0) + x.sum(1).sum()], [x], {"cse"})[0]
    assert count_ops(graph, type(x.sum(0)._op)) == 3


def test_log_softmax_rewrite_graph_and_benefit():
    x = gn.dmatrix("x")
    assert same_graph(rewritten(gn.log(gn.softmax(x, 1)), [x], "log_softmax"),
                      expected(gn.log_softmax(x, 1), [x]))
    data = np.array([[0.0, 1000.0, -1000.0]])
    naive = np.log(np.exp(data - data.max()) / np.exp(data - data.max()).sum())
    assert np.isinf(naive).any()
    np.testing.assert_allclose(gn.function([x], gn.log(gn.softmax(x, 1)))(data), [[-1000.0, 0.0, -2000.0]])


@pytest.mark.parametrize("form", [lambda x: gn.log(1 + gn.exp(x)), lambda x: gn.log(gn.exp(x) + 1),
                                  lambda x: gn.log1p(gn.exp(x))])
def test_softplus_rewrite_graph(form):
    x = gn.dvector("x")
    assert same_graph(rewritten(form(x), [x], "softplus"), expected(gn.softplus(x), [x]))


def test_softplus_rewrite_benefit():
    x = gn.dscalar("x")
    expr = gn.log(1 + gn.exp(x))
    with np.errstate(over="ignore"):
        naive = gn.log(1 + gn.exp(gn.tensor(1000.0, dtype=gn.float64))).item()
    assert naive == np.inf
    assert gn.function([x], expr)(1000.0) == 1000.0
    assert gn.function([x], expr, optimize_graph=False)(1.0) == pytest.approx(np.log1p(np.e))


def test_logistic_to_sigmoid_rewrite_graph():
    x, w = gn.dmatrix("x"), gn.dvector("w")
    assert same_graph(rewritten(1 / (1 + gn.exp(-x)), [x], "sigmoid"), expected(gn.sigmoid(x), [x]))
    b = gn.dscalar("b")
    assert same_graph(rewritten(1 / (1 + gn.exp(-gn.dot(x, w) - b)), [x, w, b], "sigmoid"),
                      expected(gn.sigmoid(gn.dot(x, w) + b), [x, w, b]))


def test_log_sigmoid_rewrite_graph_and_benefit():
    x = gn.dvector("x")
    assert same_graph(rewritten(gn.log(gn.sigmoid(x)), [x], "log_sigmoid"),
                      expected(-gn.softplus(-x), [x]))
    assert gn.function([x], gn.log(gn.sigmoid(x)))([-800.0])[0] == -800.0


def test_log_one_minus_sigmoid_rewrite_graph():
    x = gn.dvector("x")
    assert same_graph(rewritten(gn.log(1 - gn.sigmoid(x)), [x], "log_one_minus_sigmoid"),
                      expected(-gn.softplus(x), [x]))


def test_sigmoid_binary_crossentropy_becomes_stable():
    import ganglion.compat.theano.tensor as T
    x, t = gn.dvector("x"), gn.dvector("t")
    loss = T.nnet.binary_crossentropy(T.nnet.sigmoid(x), t)
    graph = compiled_graph([loss], [x, t])[0]
    assert count_ops(graph, unary.Log) == 0 and count_ops(graph, unary.Softplus) == 2
    data, target = np.array([40.0, -800.0, 0.5]), np.array([0.0, 1.0, 1.0])
    eager = T.nnet.binary_crossentropy(gn.sigmoid(gn.tensor(data, dtype=gn.float64)),
                                       gn.tensor(target, dtype=gn.float64))
    assert np.isinf(eager.detach().numpy()[:2]).all()
    stable = gn.function([x, t], loss)(data, target)
    np.testing.assert_allclose(stable, [40.0, 800.0, np.log1p(np.exp(-0.5))], rtol=1e-12)


def test_noop_reshape_and_chains_are_removed():
    x = gn.placeholder(gn.float64, (2, 3, 4), name="x")
    assert rewritten(gn.reshape(gn.reshape(x, 6, 4), 2, 3, 4), [x], "remove_noop_reshape").kind == "input"
    two_reshapes = rewritten(gn.reshape(gn.reshape(x, 6, 4), 24), [x], "remove_noop_reshape")
    assert isinstance(two_reshapes.op, Reshape) and two_reshapes.inputs[0].kind == "input"


def test_noop_transposes_are_removed_and_chains_composed():
    x = gn.placeholder(gn.float64, (2, 3, 4), name="x")
    back = rewritten(gn.permute(gn.permute(x, 1, 2, 0), 2, 0, 1), [x], "remove_noop_transpose")
    assert back.kind == "input"
    composed = rewritten(gn.permute(gn.permute(x, 1, 2, 0), 1, 0, 2), [x], "remove_noop_transpose")
    assert same_graph(composed, expected(gn.permute(x, 2, 1, 0), [x]))
    assert count_ops(composed, Permute) == 1


def test_noop_cast_is_removed():
    x = gn.dvector("x")
    cast = gn.core.ops.elementwise.apply(ew.Cast(gn.float64), x)
    assert rewritten(cast, [x], "remove_noop_cast").kind == "input"


def test_gradient_graph_loses_its_noop_broadcasts():
    x = gn.placeholder(gn.float64, (5, 3), name="x")
    w = gn.shared(np.ones((3, 2)), name="w")
    g, = gn.grad((x @ w).sum(), [w])
    from ganglion.core.ops.shape import ExpandAs, SumTo
    raw = raw_graph([g], [x])[0]
    assert count_ops(raw, SumTo) + count_ops(raw, ExpandAs) > 0
    final = compiled_graph([g], [x])[0]
    assert count_ops(final, SumTo) == 0
