"""Stable cross-entropy gradients (issue 16, defect 2).

The compiler computes log(sigmoid), log(1 - sigmoid), log(1 + exp) and log(softmax) in stable
forms; ``ganglion.grad`` on a symbolic graph differentiates those forms, so the gradients are
finite and exact where the forms as written give inf * 0 = NaN. Checked on Theano's
documentation example "A real example: logistic regression" (NaN weights before; 100% training
accuracy now, equal step by step to PyTorch's stable BCE-with-logits), on every usual way of
writing each expression at z = +-40 and +-1000 in float64 and float32 against the analytic
gradient, and on eager mode, which keeps PyTorch's behaviour (the expression as written).
"""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.compat.theano as theano
import ganglion.compat.theano.tensor as T
from ganglion.core.ops import unary
from ganglion.symbolic.graph import toposort
from ganglion.symbolic.rewrites import is_constant
from ganglion.symbolic.rewrites.stable_grad import stable_roots
from symbolic_graphs import compiled_graph, count_ops

Z = np.array([-1000.0, -40.0, -1.5, 0.0, 2.0, 40.0, 1000.0])


def sigmoid(z):
    """The logistic function without overflow, in float64."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softplus(z):
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def logistic(z):
    return 1 / (1 + T.exp(-z))


# name -> (expression of the symbolic z, its value, its derivative), elementwise.
FORMS = {
    "log(sigmoid(z))": (lambda z: gn.log(gn.sigmoid(z)), lambda z: -softplus(-z), lambda z: sigmoid(-z)),
    "log(T.nnet.sigmoid(z))": (lambda z: T.log(T.nnet.sigmoid(z)), lambda z: -softplus(-z),
                               lambda z: sigmoid(-z)),
    "log(1/(1+exp(-z)))": (lambda z: T.log(logistic(z)), lambda z: -softplus(-z), lambda z: sigmoid(-z)),
    "log(1 - sigmoid(z))": (lambda z: gn.log(1 - gn.sigmoid(z)), lambda z: -softplus(z),
                            lambda z: -sigmoid(z)),
    "log(-sigmoid(z) + 1)": (lambda z: gn.log(-gn.sigmoid(z) + 1), lambda z: -softplus(z),
                             lambda z: -sigmoid(z)),
    "q = 1 - 1/(1+exp(-z)); log(q)": (lambda z: T.log(1.0 - logistic(z)), lambda z: -softplus(z),
                                      lambda z: -sigmoid(z)),
    "log(1 + exp(z))": (lambda z: gn.log(1 + gn.exp(z)), softplus, sigmoid),
    "log(exp(z) + 1)": (lambda z: gn.log(gn.exp(z) + 1), softplus, sigmoid),
    "log1p(exp(z))": (lambda z: gn.log1p(gn.exp(z)), softplus, sigmoid),
    "log(1 + exp(-z))": (lambda z: gn.log(1 + gn.exp(-z)), lambda z: softplus(-z), lambda z: -sigmoid(-z)),
    "log(exp(z)/(1+exp(z)))": (lambda z: gn.log(gn.exp(z) / (1 + gn.exp(z))), lambda z: -softplus(-z),
                               lambda z: sigmoid(-z)),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # exp(1000) while building eager parts
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(FORMS))
def test_each_form_has_the_analytic_value_and_gradient(name, dtype):
    expression, value, derivative = FORMS[name]
    z = T.vector("z", dtype=dtype)
    out = expression(z)
    [dz] = gn.grad(out.sum(), [z])
    f = gn.function([z], [out, dz])
    got_value, got_grad = f(Z.astype(dtype))
    assert got_grad.dtype == np.dtype(dtype)
    tolerance = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(got_value, value(Z), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(got_grad, derivative(Z), rtol=tolerance, atol=1e-300)


BCE_FORMS = {
    "T.nnet.binary_crossentropy(T.nnet.sigmoid(z), t)":
        lambda z, t: T.nnet.binary_crossentropy(T.nnet.sigmoid(z), t),
    "-t log(p) - (1-t) log(1-p), p = 1/(1+exp(-z))":
        lambda z, t: -t * T.log(logistic(z)) - (1 - t) * T.log(1 - logistic(z)),
    "q = 1 - p first":
        lambda z, t: (lambda p: (lambda q: -(t * T.log(p) + (1 - t) * T.log(q)))(1 - p))(gn.sigmoid(z)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(BCE_FORMS))
def test_binary_crossentropy_gradient_is_sigmoid_minus_target(name, dtype):
    z, t = T.vector("z", dtype=dtype), T.vector("t", dtype=dtype)
    loss = BCE_FORMS[name](z, t)
    [dz] = gn.grad(loss.sum(), [z])
    f = gn.function([z, t], [loss, dz])
    for target in (0.0, 1.0, 0.25):
        targets = np.full_like(Z, target)
        got_loss, got_grad = f(Z.astype(dtype), targets.astype(dtype))
        tolerance = 1e-12 if dtype == "float64" else 2e-6
        expected = softplus(Z) - targets * Z   # BCE with logits, PyTorch's stable form
        np.testing.assert_allclose(got_loss, expected, rtol=tolerance, atol=tolerance)
        # sigmoid(z) - t, written so that it keeps its precision at t = 1 (-sigmoid(-z)).
        exact = (1 - targets) * sigmoid(Z) - targets * sigmoid(-Z)
        np.testing.assert_allclose(got_grad, exact, rtol=tolerance, atol=1e-300)


LOGITS = np.array([[40.0, -40.0, 0.0], [1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 3.0],
                   [0.5, -0.25, 1.0]])
LABELS = np.array([1, 1, 0, 2])
N = len(LABELS)


def log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# name -> the per-row negative log-likelihood of the symbolic logits x, integer labels y and
# one-hot targets t.
NLL_FORMS = {
    "T.nnet.categorical_crossentropy(softmax(x), y)":
        lambda x, y, t: T.nnet.categorical_crossentropy(T.nnet.softmax(x), y),
    "T.nnet.categorical_crossentropy(softmax(x), one-hot)":
        lambda x, y, t: T.nnet.categorical_crossentropy(T.nnet.softmax(x), t),
    "-log(softmax(x))[arange(n), y]":
        lambda x, y, t: -T.log(T.nnet.softmax(x))[gn.arange(N), y],
    "-log(softmax(x)[arange(n), y])":
        lambda x, y, t: -T.log(T.nnet.softmax(x)[gn.arange(N), y]),
    "-sum(t * log(softmax(x)), axis=1)":
        lambda x, y, t: -T.sum(t * T.log(gn.softmax(x, 1)), axis=1),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(NLL_FORMS))
def test_categorical_crossentropy_gradient_is_softmax_minus_target(name, dtype):
    x = gn.placeholder(getattr(gn, dtype), (N, 3), name="x")
    y = gn.placeholder(gn.int64, (N,), name="y")
    t = gn.placeholder(getattr(gn, dtype), (N, 3), name="t")
    nll = NLL_FORMS[name](x, y, t)
    [dx] = gn.grad(nll.sum(), [x])
    f = gn.function([x, y, t], [nll, dx], on_unused_input="ignore")
    one_hot = np.eye(3)[LABELS]
    got_nll, got_grad = f(LOGITS.astype(dtype), LABELS, one_hot.astype(dtype))
    tolerance = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(got_nll, -log_softmax(LOGITS)[np.arange(N), LABELS], rtol=tolerance)
    np.testing.assert_allclose(got_grad, np.exp(log_softmax(LOGITS)) - one_hot, rtol=tolerance,
                               atol=1e-300)


def test_the_gradient_graph_has_no_log_of_a_saturating_value():
    z = T.dvector("z")
    p = 1 / (1 + T.exp(-z))
    [dz] = gn.grad((-T.log(p) - T.log(1 - p)).sum(), [z])
    graph = compiled_graph([dz], [z])[0]
    assert count_ops(graph, unary.Log) == 0 and count_ops(graph, unary.Sigmoid) >= 1


def test_softplus_gradient_has_no_product_with_one():
    # softplus's vjp scales by beta = 1; the compiler drops x * 1 and x / 1 (exact), but not
    # a product whose one changes the dtype.
    from ganglion.core.ops import elementwise as ew
    z = T.dvector("z")
    [dz] = gn.grad(gn.log(1 + gn.exp(z)).sum(), [z])
    nodes = toposort(compiled_graph([dz], [z]))
    products = [n for n in nodes if n.kind == "apply" and isinstance(n.op, ew.Mul)]
    assert products and not any(is_constant(i, 1) for n in products for i in n.inputs)
    assert compiled_graph([z * 1.0 / 1], [z])[0].kind == "input"
    n = gn.placeholder(gn.int64, (3,), name="n")
    widened = compiled_graph([n * 1.0], [n])[0]
    assert widened.kind == "apply" and widened.type.dtype is gn.float32


def test_graphs_without_unstable_forms_are_differentiated_as_they_are():
    x = T.dvector("x")
    cost = (gn.tanh(x) * 3 + gn.log(x * x + 1)).sum()
    assert stable_roots([cost], set())[0] is cost


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_tensor_the_gradient_is_asked_for_keeps_its_form():
    # d log(p) / dp is 1 / p: p is not rewritten away when its own gradient is requested.
    z = T.dvector("z")
    p = gn.sigmoid(z)
    dp, dz = gn.grad(gn.log(p).sum(), [p, z])
    got_dp, got_dz = gn.function([z], [dp, dz])(np.array([0.0, 2.0]))
    np.testing.assert_allclose(got_dp, 1 / sigmoid(np.array([0.0, 2.0])), rtol=1e-14)
    np.testing.assert_allclose(got_dz, sigmoid(-np.array([0.0, 2.0])), rtol=1e-14)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_eager_gradients_are_those_of_the_expression_as_written_as_in_pytorch():
    values = np.array([-40.0, 0.5, 40.0])
    z = gn.tensor(values, dtype=gn.float64, requires_grad=True)
    (gn.log(1 - gn.sigmoid(z)) + gn.log(gn.sigmoid(z))).sum().backward()
    tz = torch.tensor(values, requires_grad=True)
    (torch.log(1 - torch.sigmoid(tz)) + torch.log(torch.sigmoid(tz))).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), rtol=1e-14, equal_nan=True)
    assert np.isnan(z.grad.numpy()[2])   # inf * 0, as in PyTorch: eager does not rewrite


def test_optimizer_updates_use_the_stable_gradient():
    # A sigmoid unit trained through nn.Linear and optimizer.updates, its logits at +-40.
    layer = gn.nn.Linear(2, 1).double()
    with gn.no_grad():
        layer.weight.copy_(gn.tensor([[20.0, -20.0]], dtype=gn.float64))
        layer.bias.zero_()
    x, y = gn.dmatrix("x"), gn.dvector("y")
    p = gn.sigmoid(layer(x)).reshape(-1)
    cost = (-y * gn.log(p) - (1 - y) * gn.log(1 - p)).mean()
    step = gn.function([x, y], cost, updates=gn.optim.SGD(layer.parameters(), lr=0.5).updates(cost))
    data, labels = np.array([[1.0, -1.0], [-1.0, 1.0]]), np.array([0.0, 1.0])   # logits 40, -40
    twin = torch.nn.Linear(2, 1).double()
    with torch.no_grad():
        twin.weight.copy_(torch.tensor([[20.0, -20.0]]))
        twin.bias.zero_()
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.5)
    for _ in range(3):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            twin(torch.from_numpy(data)).reshape(-1), torch.from_numpy(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        np.testing.assert_allclose(step(data, labels), loss.item(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.detach().numpy(), twin.weight.detach().numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_theano_documentation_logistic_regression_reaches_full_training_accuracy():
    # Theano's doc/tutorial/examples.txt, "A Real Example: Logistic Regression", with only the
    # imports changed, a fixed seed and 400 of its 10,000 steps (it is at 100% from about 300).
    rng = np.random.RandomState(0)
    N, feats = 400, 784
    D = (rng.randn(N, feats), rng.randint(size=N, low=0, high=2))
    training_steps = 400
    x = T.dmatrix("x")
    y = T.dvector("y")
    w = theano.shared(rng.randn(feats), name="w")
    b = theano.shared(0., name="b")
    initial_w = w.get_value().copy()
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = theano.function(inputs=[x, y], outputs=[prediction, xent],
                            updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    predict = theano.function(inputs=[x], outputs=prediction)

    # The first steps equal PyTorch's with its stable BCE-with-logits (the first step already
    # has logits beyond +-40, where the gradient as written is NaN).
    tw = torch.tensor(initial_w, requires_grad=True)
    tb = torch.zeros((), dtype=torch.float64, requires_grad=True)
    data, labels = torch.from_numpy(D[0]), torch.from_numpy(D[1]).double()
    assert (data @ tw).abs().max() > 40
    for _ in range(10):
        pred, err = train(D[0], D[1])
        logits = data @ tw + tb
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels) + 0.01 * (tw ** 2).sum()
        grads = torch.autograd.grad(loss, [tw, tb])
        with torch.no_grad():
            tw -= 0.1 * grads[0]
            tb -= 0.1 * grads[1]
    np.testing.assert_allclose(w.get_value(), tw.detach().numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(b.get_value(), tb.item(), rtol=1e-9, atol=1e-10)

    for i in range(10, training_steps):
        pred, err = train(D[0], D[1])
    assert np.isfinite(w.get_value()).all() and np.isfinite(err).all()
    assert (predict(D[0]) == D[1]).mean() == 1.0
