"""``scan`` (Theano's loop): every code block of Theano's loop tutorial (doc/tutorial/loop.txt)
and scan guide (doc/library/scan.txt) against NumPy, the Jacobian and Hessian of the gradients
page (doc/tutorial/gradients.txt) against the analytic values, gradients through time against
central differences and PyTorch's autograd of the same unrolled loop (taps, several outputs,
truncate_gradient, go_backwards, until, nested scans), a scan RNN trained against the same RNN
written eagerly, eager scans, the one-op schedule, and bad input."""
import io

import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.compat.theano as theano
import ganglion.compat.theano.tensor as T
from ganglion.symbolic.scan import ScanGradOp, ScanOp, until
from bad_inputs import BadInput, bad_input_test

torch.set_num_threads(1)


def f64(value):
    return gn.from_numpy(np.array(value, dtype=np.float64))


# ----- doc/tutorial/loop.txt ------------------------------------------------------------------

def test_loop_elementwise_tanh_of_x_w_plus_b():
    X, W, b_sym = T.matrix("X"), T.matrix("W"), T.vector("b_sym")
    results, updates = theano.scan(lambda v: T.tanh(T.dot(v, W) + b_sym), sequences=X)
    compute_elementwise = theano.function(inputs=[X, W, b_sym], outputs=results)
    x, w, b = np.eye(2), np.ones((2, 2)), np.array([1.0, 2.0])
    np.testing.assert_allclose(compute_elementwise(x, w, b), np.tanh(x.dot(w) + b), rtol=1e-12)
    np.testing.assert_allclose(compute_elementwise(x, w, b)[0], [0.96402758, 0.99505475], atol=1e-8)
    assert updates == {}


def test_loop_recurrence_with_a_reversed_sequence():
    X, W, U, Y, V, P = (T.vector("X"), T.matrix("W"), T.matrix("U"), T.matrix("Y"), T.matrix("V"),
                        T.matrix("P"))
    results, updates = theano.scan(
        lambda y, p, x_tm1: T.tanh(T.dot(x_tm1, W) + T.dot(y, U) + T.dot(p, V)),
        sequences=[Y, P[::-1]], outputs_info=[X])
    compute_seq = theano.function(inputs=[X, W, Y, U, P, V], outputs=results)
    x = np.array([0.0, 1.0])
    w, u, v = np.ones((2, 2)), np.ones((2, 2)), np.ones((2, 2))
    y, p = np.ones((5, 2)), np.ones((5, 2))
    y[0, :] = -3
    p[0, :] = 3
    expected = np.zeros((5, 2))
    expected[0] = np.tanh(x.dot(w) + y[0].dot(u) + p[4].dot(v))
    for i in range(1, 5):
        expected[i] = np.tanh(expected[i - 1].dot(w) + y[i].dot(u) + p[4 - i].dot(v))
    np.testing.assert_allclose(compute_seq(x, w, y, u, p, v), expected, rtol=1e-12)
    np.testing.assert_allclose(expected[:2, 0], [-0.99505475, 0.96471973], atol=1e-8)


def test_loop_norms_of_rows_and_of_columns():
    X = T.matrix("X")
    rows, _ = theano.scan(lambda x_i: T.sqrt((x_i ** 2).sum()), sequences=[X])
    cols, _ = theano.scan(lambda x_i: T.sqrt((x_i ** 2).sum()), sequences=[X.T])
    f = theano.function([X], [rows, cols])
    x = np.diag(np.arange(1, 6, dtype=np.float64), 1)
    got_rows, got_cols = f(x)
    np.testing.assert_allclose(got_rows, [1, 2, 3, 4, 5, 0])
    np.testing.assert_allclose(got_cols, [0, 1, 2, 3, 4, 5])


def test_loop_trace_by_indices():
    X = T.matrix("X")
    results, _ = theano.scan(lambda i, j, t_f: T.cast(X[i, j] + t_f, "float32"),
                             sequences=[T.arange(X.shape[0]), T.arange(X.shape[1])],
                             outputs_info=np.asarray(0.0, dtype="float32"))
    compute_trace = theano.function(inputs=[X], outputs=results[-1])
    x = np.eye(5)
    x[0] = np.arange(5)
    assert compute_trace(x) == pytest.approx(np.diagonal(x).sum()) == 4.0


def test_loop_two_taps_recurrence():
    X, W, b_sym, U, V = T.matrix("X"), T.matrix("W"), T.vector("b_sym"), T.matrix("U"), T.matrix("V")
    n_sym = T.iscalar("n_sym")
    results, _ = theano.scan(
        lambda x_tm2, x_tm1: T.dot(x_tm2, U) + T.dot(x_tm1, V) + T.tanh(T.dot(x_tm1, W) + b_sym),
        n_steps=n_sym, outputs_info=[dict(initial=X, taps=[-2, -1])])
    compute_seq2 = theano.function(inputs=[X, U, V, W, b_sym, n_sym], outputs=results)
    x = np.zeros((2, 2))
    x[1, 1] = 1
    w = 0.5 * np.ones((2, 2))
    u = 0.5 * (np.ones((2, 2)) - np.eye(2))
    v = 0.5 * np.ones((2, 2))
    b = np.ones(2)
    expected = np.zeros((10, 2))
    expected[0] = x[0].dot(u) + x[1].dot(v) + np.tanh(x[1].dot(w) + b)
    expected[1] = x[1].dot(u) + expected[0].dot(v) + np.tanh(expected[0].dot(w) + b)
    for i in range(2, 10):
        expected[i] = (expected[i - 2].dot(u) + expected[i - 1].dot(v)
                       + np.tanh(expected[i - 1].dot(w) + b))
    got = compute_seq2(x, u, v, w, b, 10)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(got[-1], [54.28407732, 54.25282732], atol=1e-7)


def test_loop_jacobian_by_scan():
    v, A = T.vector(), T.matrix()
    y = T.tanh(T.dot(v, A))
    results, _ = theano.scan(lambda i: T.grad(y[i], v), sequences=[T.arange(y.shape[0])])
    compute_jac_t = theano.function([A, v], results, allow_input_downcast=True)
    x = np.eye(5)[0]
    w = np.eye(5, 3)
    w[2] = np.ones(3)
    np.testing.assert_allclose(compute_jac_t(w, x), ((1 - np.tanh(x.dot(w)) ** 2) * w).T,
                               rtol=1e-12)


def test_loop_accumulator_counts_the_steps_through_updates():
    k = theano.shared(0)
    n_sym = T.iscalar("n_sym")
    results, updates = theano.scan(lambda: {k: (k + 1)}, n_steps=n_sym)
    accumulator = theano.function([n_sym], [], updates=updates, allow_input_downcast=True)
    assert results is None and list(updates) == [k]
    assert k.get_value() == 0
    accumulator(5)
    assert k.get_value() == 5
    accumulator(3)
    assert k.get_value() == 8


def test_loop_random_draws_inside_fn_are_new_each_step_unless_passed_as_non_sequence():
    X, W, b_sym = T.matrix("X"), T.matrix("W"), T.vector("b_sym")
    trng = T.shared_randomstreams.RandomStreams(1234)
    d = trng.binomial(size=(2,))
    drawn, updates = theano.scan(lambda v: T.tanh(T.dot(v, W) + b_sym) * d, sequences=X)
    fixed, _ = theano.scan(lambda v, d: T.tanh(T.dot(v, W) + b_sym) * d, sequences=X,
                           non_sequences=d)
    x, w, b = np.eye(10, 2), np.ones((2, 2)), np.ones(2)
    clean = np.tanh(x.dot(w) + b)
    for outputs, per_step in ((drawn, True), (fixed, False)):
        got = theano.function([X, W, b_sym], outputs, updates=updates)(x, w, b)
        masks = got / clean
        assert set(np.unique(np.round(masks, 12))) <= {0.0, 1.0}
        distinct = {tuple(m) for m in masks}
        assert (len(distinct) > 1) == per_step


def test_loop_power_by_iteration():
    k, A = T.iscalar("k"), T.vector("A")
    result, updates = theano.scan(fn=lambda prior_result, B: prior_result * B,
                                  outputs_info=T.ones_like(A), non_sequences=A, n_steps=k)
    power = theano.function(inputs=[A, k], outputs=result[-1], updates=updates)
    np.testing.assert_array_equal(power(range(10), 2), np.arange(10.0) ** 2)
    np.testing.assert_array_equal(power(range(10), 4), np.arange(10.0) ** 4)
    assert theano.function([A, k], result)(range(3), 3).shape == (3, 3)


def test_loop_polynomial_over_a_long_arange():
    coefficients, x = T.vector("coefficients"), T.scalar("x")
    components, _ = theano.scan(fn=lambda coeff, power, free_var: coeff * (free_var ** power),
                                outputs_info=None, sequences=[coefficients, T.arange(10000)],
                                non_sequences=x)
    calculate_polynomial = theano.function(inputs=[coefficients, x], outputs=components.sum())
    assert calculate_polynomial(np.asarray([1, 0, 2], dtype=np.float32), 3) == 19.0


def test_loop_exercise_polynomial_reduced_by_scan():
    coefficients, x = T.vector("coefficients"), T.scalar("x")
    total, _ = theano.scan(lambda coeff, power, acc, free_var: acc + coeff * free_var ** power,
                           sequences=[coefficients, T.arange(10000)],
                           outputs_info=f64(0.0), non_sequences=x)
    f = theano.function([coefficients, x], total[-1])
    assert f([1.0, 0.0, 2.0], 3.0) == 19.0


# ----- doc/library/scan.txt -------------------------------------------------------------------

def test_guide_sum_of_a_sequence_triangular_numbers():
    up_to = T.iscalar("up_to")
    seq = T.arange(up_to)
    outputs_info = gn.tensor(np.asarray(0, seq.dtype.name))
    scan_result, _ = theano.scan(fn=lambda arange_val, sum_to_date: sum_to_date + arange_val,
                                 outputs_info=outputs_info, sequences=seq)
    triangular_sequence = theano.function(inputs=[up_to], outputs=scan_result)
    np.testing.assert_array_equal(triangular_sequence(15), [n * (n + 1) // 2 for n in range(15)])


def test_guide_set_value_at_position():
    location, values, output_model = T.imatrix("location"), T.vector("values"), T.matrix("output_model")

    def set_value_at_position(a_location, a_value, output_model):
        zeros = T.zeros_like(output_model)
        zeros_subtensor = zeros[a_location[0], a_location[1]]
        return T.set_subtensor(zeros_subtensor, a_value)

    result, _ = theano.scan(fn=set_value_at_position, outputs_info=None,
                            sequences=[location, values], non_sequences=output_model)
    f = theano.function(inputs=[location, values, output_model], outputs=result)
    got = f(np.asarray([[1, 1], [2, 3]], dtype=np.int32), np.asarray([42, 50.0]), np.zeros((5, 5)))
    expected = np.zeros((2, 5, 5))
    expected[0, 1, 1] = 42
    expected[1, 2, 3] = 50
    np.testing.assert_array_equal(got, expected)


def _rnn_with_taps():
    u, x0, y0 = T.matrix("u"), T.matrix("x0"), T.vector("y0")
    W, W_in_1, W_in_2, W_feedback, W_out = (T.matrix(n) for n in
                                            ("W", "W_in_1", "W_in_2", "W_feedback", "W_out"))

    def one_step(u_tm4, u_t, x_tm3, x_tm1, y_tm1, W, W_in_1, W_in_2, W_feedback, W_out):
        x_t = T.tanh(theano.tensor.dot(x_tm1, W) + theano.tensor.dot(u_t, W_in_1)
                     + theano.tensor.dot(u_tm4, W_in_2) + theano.tensor.dot(y_tm1, W_feedback))
        y_t = theano.tensor.dot(x_tm3, W_out)
        return [x_t, y_t]

    (x_vals, y_vals), updates = theano.scan(
        fn=one_step, sequences=dict(input=u, taps=[-4, -0]),
        outputs_info=[dict(initial=x0, taps=[-3, -1]), y0],
        non_sequences=[W, W_in_1, W_in_2, W_feedback, W_out])
    return [u, x0, y0, W, W_in_1, W_in_2, W_feedback, W_out], x_vals, y_vals


def _rnn_with_taps_values(seed=0):
    rng = np.random.default_rng(seed)
    n_in, n_x, n_y, steps = 2, 3, 2, 9
    return [rng.normal(size=(steps, n_in)), rng.normal(size=(3, n_x)), rng.normal(size=n_y),
            0.5 * rng.normal(size=(n_x, n_x)), rng.normal(size=(n_in, n_x)),
            rng.normal(size=(n_in, n_x)), rng.normal(size=(n_y, n_x)), rng.normal(size=(n_x, n_y))]


def _rnn_with_taps_numpy(u, x0, y0, W, W_in_1, W_in_2, W_feedback, W_out, lib=np):
    xs, ys = [x0[0], x0[1], x0[2]], [y0]
    for t in range(4, len(u)):
        x_t = lib.tanh(xs[-1] @ W + u[t] @ W_in_1 + u[t - 4] @ W_in_2 + ys[-1] @ W_feedback)
        ys.append(xs[-3] @ W_out)
        xs.append(x_t)
    return lib.stack(xs[3:]), lib.stack(ys[1:])


def test_guide_rnn_with_several_taps_and_outputs():
    inputs, x_vals, y_vals = _rnn_with_taps()
    values = _rnn_with_taps_values()
    got_x, got_y = theano.function(inputs, [x_vals, y_vals])(*values)
    want_x, want_y = _rnn_with_taps_numpy(*values)
    assert got_x.shape == (5, 3) and got_y.shape == (5, 2)
    np.testing.assert_allclose(got_x, want_x, rtol=1e-12)
    np.testing.assert_allclose(got_y, want_y, rtol=1e-12)


def test_guide_gibbs_chain_with_shared_variables_found_on_their_own():
    rng = np.random.default_rng(1)
    W = theano.shared(rng.normal(size=(4, 3)))
    bvis, bhid = theano.shared(np.zeros(4)), theano.shared(np.zeros(3))
    trng = T.shared_randomstreams.RandomStreams(1234)

    # The guide draws trng.binomial(n=1, p=hmean); the symbolic streams take numbers as
    # parameters only, so the same Bernoulli draw is written as uniform < p.
    def one_step(vsample):
        hmean = T.nnet.sigmoid(theano.tensor.dot(vsample, W) + bhid)
        hsample = T.cast(trng.uniform(size=(3,)) < hmean, theano.config.floatX)
        vmean = T.nnet.sigmoid(theano.tensor.dot(hsample, W.T) + bvis)
        return T.cast(trng.uniform(size=(4,)) < vmean, theano.config.floatX)

    sample = T.vector()
    values, updates = theano.scan(one_step, outputs_info=sample, n_steps=10)
    gibbs10 = theano.function([sample], values[-1], updates=updates)
    chains = np.array([gibbs10(np.ones(4)) for _ in range(20)])
    assert chains.shape == (20, 4) and set(np.unique(chains)) <= {0.0, 1.0}
    assert len({tuple(c) for c in chains}) > 1  # each call draws anew


def test_guide_updates_dictionary_after_the_loop():
    a = theano.shared(1)
    values, updates = theano.scan(lambda: {a: a + 1}, n_steps=10)
    b = a + 1
    c = updates[a] + 1
    f = theano.function([], [b, c], updates=updates)
    assert [int(v) for v in f()] == [2, 12] and a.get_value() == 11
    assert [int(v) for v in f()] == [12, 22] and a.get_value() == 21
    g = theano.function([], [b, c])  # without the updates nothing changes
    assert [int(v) for v in g()] == [22, 32] and a.get_value() == 21


def test_guide_until_powers_of_two():
    def power_of_2(previous_power, max_value):
        return previous_power * 2, theano.scan_module.until(previous_power * 2 > max_value)

    max_value = T.scalar()
    values, _ = theano.scan(power_of_2, outputs_info=T.constant(1.0), non_sequences=max_value,
                            n_steps=1024)
    f = theano.function([max_value], values)
    np.testing.assert_array_equal(f(45), [2, 4, 8, 16, 32, 64])
    np.testing.assert_array_equal(f(0.5), [2])


def test_fibonacci_with_two_taps_and_the_shortcuts():
    n = T.iscalar("n")
    fib, _ = theano.scan(lambda a, b: a + b, n_steps=n,
                         outputs_info=[dict(initial=gn.tensor([0, 1]), taps=[-2, -1])])
    np.testing.assert_array_equal(theano.function([n], fib)(10), [1, 2, 3, 5, 8, 13, 21, 34, 55, 89])
    assert theano.function([n], fib)(0).shape == (0,)
    v = T.dvector("v")
    total, _ = theano.reduce(lambda x, acc: acc + x, sequences=v, outputs_info=f64(0.0))
    squares, _ = theano.map(lambda x: x * x, sequences=v)
    last_first, _ = theano.foldr(lambda x, acc: acc * 10 + x, sequences=v, outputs_info=f64(0.0))
    f = theano.function([v], [total, squares, last_first])
    got = f([1.0, 2.0, 3.0])
    assert got[0] == 6.0 and list(got[1]) == [1, 4, 9] and got[2] == 321.0


# ----- doc/tutorial/gradients.txt: Jacobian and Hessian ---------------------------------------

def test_gradients_page_jacobian_by_scan_and_T_jacobian():
    x = T.dvector("x")
    y = x ** 2
    J, updates = theano.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]),
                             non_sequences=[y, x])
    f = theano.function([x], J, updates=updates)
    np.testing.assert_array_equal(f([4, 4]), [[8, 0], [0, 8]])
    g = theano.function([x], T.jacobian(y, x))
    np.testing.assert_array_equal(g([4, 4]), [[8, 0], [0, 8]])
    values = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(g(values), np.diag(2 * values))


def test_gradients_page_hessian_by_scan_and_T_hessian():
    x = T.dvector("x")
    y = x ** 2
    cost = y.sum()
    gy = T.grad(cost, x)
    H, updates = theano.scan(lambda i, gy, x: T.grad(gy[i], x), sequences=T.arange(gy.shape[0]),
                             non_sequences=[gy, x])
    f = theano.function([x], H, updates=updates)
    np.testing.assert_array_equal(f([4, 4]), [[2, 0], [0, 2]])
    np.testing.assert_array_equal(theano.function([x], T.hessian(cost, x))([4, 4]), [[2, 0], [0, 2]])


def test_jacobian_and_hessian_of_a_nonlinear_function_are_analytic():
    x, A = T.dvector("x"), T.dmatrix("A")
    y = T.tanh(T.dot(A, x))
    cost = (x ** 3).sum() + (x[0] * x[1])
    jac_x, jac_A = T.jacobian(y, [x, A])
    f = theano.function([x, A], [jac_x, jac_A, T.hessian(cost, x)])
    xv = np.array([0.3, -0.2, 0.5])
    Av = np.arange(6.0).reshape(2, 3) / 10
    got_x, got_A, got_H = f(xv, Av)
    s = 1 - np.tanh(Av @ xv) ** 2
    np.testing.assert_allclose(got_x, s[:, None] * Av, rtol=1e-12)
    want_A = np.zeros((2, 2, 3))
    want_A[0, 0], want_A[1, 1] = s[0] * xv, s[1] * xv
    np.testing.assert_allclose(got_A, want_A, rtol=1e-12)
    want_H = np.diag(6 * xv)
    want_H[0, 1] = want_H[1, 0] = 1
    np.testing.assert_allclose(got_H, want_H, rtol=1e-12)
    scalar_grad = theano.function([x], T.jacobian(cost, x))(xv)  # a scalar: its gradient
    np.testing.assert_allclose(scalar_grad, 3 * xv ** 2 + [xv[1], xv[0], 0], rtol=1e-12)


# ----- gradients through time -----------------------------------------------------------------

def _central_differences(f, arrays, eps=1e-6):
    grads = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for index in np.ndindex(a.shape):
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[k][index] += eps
            minus[k][index] -= eps
            g[index] = (f(*plus) - f(*minus)) / (2 * eps)
        grads.append(g)
    return grads


def test_gradients_through_taps_and_several_outputs_match_central_differences_and_pytorch():
    inputs, x_vals, y_vals = _rnn_with_taps()
    projection_x = np.random.default_rng(5).normal(size=(5, 3))
    projection_y = np.random.default_rng(6).normal(size=(5, 2))
    cost = (x_vals * f64(projection_x)).sum() + (y_vals * f64(projection_y)).sum()
    f_cost = theano.function(inputs, cost)
    f_grads = theano.function(inputs, T.grad(cost, inputs))
    values = _rnn_with_taps_values(3)
    got = f_grads(*values)
    for g, want in zip(got, _central_differences(f_cost, values)):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)
    leaves = [torch.tensor(v, requires_grad=True) for v in values]
    tx, ty = _rnn_with_taps_numpy(*leaves, lib=torch)
    ((tx * torch.tensor(projection_x)).sum() + (ty * torch.tensor(projection_y)).sum()).backward()
    for g, leaf in zip(got, leaves):
        np.testing.assert_allclose(g, leaf.grad.numpy(), rtol=1e-10, atol=1e-12)


def _elman(x, h0, W_x, W_h, b, lib):
    h, hs = h0, []
    for t in range(len(x)):
        h = lib.tanh(x[t] @ W_x + h @ W_h + b)
        hs.append(h)
    return lib.stack(hs)


@pytest.mark.parametrize("truncate", [-1, 2])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_elman_gradient_matches_pytorch_with_truncation_and_reversal(truncate, go_backwards):
    x, h0, W_x, W_h, b = T.dmatrix("x"), T.dvector("h0"), T.dmatrix("W_x"), T.dmatrix("W_h"), T.dvector("b")
    hs, _ = theano.scan(lambda x_t, h, W_x, W_h, b: T.tanh(T.dot(x_t, W_x) + T.dot(h, W_h) + b),
                        sequences=x, outputs_info=h0, non_sequences=[W_x, W_h, b],
                        truncate_gradient=truncate, go_backwards=go_backwards)
    cost = (hs ** 2).sum() + hs[-1].sum()
    inputs = [x, h0, W_x, W_h, b]
    f = theano.function(inputs, [hs] + T.grad(cost, inputs))
    rng = np.random.default_rng(2)
    values = [rng.normal(size=(6, 3)), rng.normal(size=4), rng.normal(size=(3, 4)),
              0.5 * rng.normal(size=(4, 4)), rng.normal(size=4)]
    got = f(*values)
    leaves = [torch.tensor(v, requires_grad=True) for v in values]
    sequence = leaves[0].flip(0) if go_backwards else leaves[0]
    if truncate < 0:
        th = _elman(sequence, *leaves[1:], lib=torch)
    else:  # Theano's truncation: only the last `truncate` steps are differentiated
        early = _elman(sequence[:-truncate], *leaves[1:], lib=torch).detach()
        late = _elman(sequence[-truncate:], early[-1], *leaves[2:], lib=torch)
        th = torch.cat([early, late])
    ((th ** 2).sum() + th[-1].sum()).backward()
    np.testing.assert_allclose(got[0], th.detach().numpy(), rtol=1e-12)
    for g, leaf in zip(got[1:], leaves):
        want = leaf.grad.numpy() if leaf.grad is not None else np.zeros_like(g)
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-12)


def test_gradient_through_until_covers_the_steps_run():
    x, limit = T.dscalar("x"), T.dscalar("limit")
    values, _ = theano.scan(lambda p, x, limit: [p * x, theano.scan_module.until(p * x > limit)],
                            outputs_info=f64(1.0), non_sequences=[x, limit], n_steps=50)
    f = theano.function([x, limit], [values, T.grad(values.sum(), x)])
    got, grad = f(1.5, 5.0)  # 1.5, 2.25, 3.375, 5.0625: four steps
    np.testing.assert_allclose(got, 1.5 ** np.arange(1, 5))
    assert grad == pytest.approx(sum(k * 1.5 ** (k - 1) for k in range(1, 5)))


def test_nested_scan_gradient_matches_pytorch():
    M, w = T.dmatrix("M"), T.dvector("w")

    def row_step(row, acc, w):
        inner, _ = theano.scan(lambda v, wj, a: T.tanh(a * wj + v), sequences=[row, w],
                               outputs_info=acc)
        return inner[-1]

    out, _ = theano.scan(row_step, sequences=M, outputs_info=f64(0.1), non_sequences=w)
    cost = (out ** 2).sum()
    f = theano.function([M, w], [out] + T.grad(cost, [M, w]))
    rng = np.random.default_rng(4)
    mv, wv = rng.normal(size=(3, 4)), rng.normal(size=4)
    tm, tw = torch.tensor(mv, requires_grad=True), torch.tensor(wv, requires_grad=True)
    acc, outs = torch.tensor(0.1, dtype=torch.float64), []
    for i in range(3):
        for j in range(4):
            acc = torch.tanh(acc * tw[j] + tm[i, j])
        outs.append(acc)
    (torch.stack(outs) ** 2).sum().backward()
    got = f(mv, wv)
    np.testing.assert_allclose(got[0], torch.stack(outs).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(got[1], tm.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(got[2], tw.grad.numpy(), rtol=1e-10)
    scan_ops = [i.node.op for i in f.schedule.instructions if isinstance(i.node.op, ScanOp)]
    assert len(scan_ops) == 1  # the inner scan lives inside the outer one's step


def test_second_derivative_through_a_scan_gradient_raises():
    x = T.dvector("x")
    h, _ = theano.scan(lambda xt, h: h * xt, sequences=x, outputs_info=f64(1.0))
    gx = T.grad(h[-1], x)
    with pytest.raises(NotImplementedError, match="second derivatives"):
        T.grad(gx.sum(), x)


def test_gradient_through_random_draws_in_fn_is_refused():
    trng = T.shared_randomstreams.RandomStreams(0)
    x = T.dvector("x")
    h, _ = theano.scan(lambda xt, h: h * xt + trng.normal(size=()), sequences=x,
                       outputs_info=f64(1.0))
    with pytest.raises(NotImplementedError, match="random"):
        T.grad(h[-1], x)


# ----- an RNN trained with scan equals the eager RNN ----------------------------------------

def test_scan_rnn_training_equals_the_eager_python_loop():
    rng = np.random.default_rng(7)
    steps, batch, n_in, n_hidden = 5, 4, 3, 6
    data = [(rng.normal(size=(steps, batch, n_in)), rng.normal(size=(batch, 1)))] * 5
    init = [0.4 * rng.normal(size=(n_in, n_hidden)), 0.4 * rng.normal(size=(n_hidden, n_hidden)),
            np.zeros(n_hidden), 0.4 * rng.normal(size=(n_hidden, 1))]
    lr = 0.1

    params = [theano.shared(v.copy()) for v in init]
    W_x, W_h, b, W_o = params
    x, target = T.dtensor3("x"), T.dmatrix("target")
    hs, _ = theano.scan(lambda x_t, h: T.tanh(T.dot(x_t, W_x) + T.dot(h, W_h) + b), sequences=x,
                        outputs_info=T.zeros((batch, n_hidden)))
    loss = ((T.dot(hs[-1], W_o) - target) ** 2).mean()
    grads = T.grad(loss, params)
    train = theano.function([x, target], loss,
                            updates=[(p, p - lr * g) for p, g in zip(params, grads)])
    symbolic_losses = [float(train(xv, yv)) for xv, yv in data]

    eager = [f64(v).requires_grad_(True) for v in init]
    eager_losses = []
    for xv, yv in data:
        h = gn.zeros((batch, n_hidden), dtype=gn.float64)
        for t in range(steps):
            h = gn.tanh(f64(xv[t]) @ eager[0] + h @ eager[1] + eager[2])
        loss_value = ((h @ eager[3] - f64(yv)) ** 2).mean()
        loss_value.backward()
        eager_losses.append(float(loss_value))
        with gn.no_grad():
            for p in eager:
                p -= lr * p.grad
                p.grad = None
    np.testing.assert_allclose(symbolic_losses, eager_losses, rtol=1e-12)
    assert symbolic_losses[-1] < symbolic_losses[0]
    for shared, tensor in zip(params, eager):
        np.testing.assert_allclose(shared.get_value(), tensor.detach().numpy(), rtol=1e-12)


# ----- eager scans, one op, bad input ---------------------------------------------------------

def test_eager_scan_runs_at_once_and_backward_matches_pytorch():
    values = np.array([0.5, -1.5, 2.0])
    A = gn.tensor(values, requires_grad=True)
    result, updates = gn.scan(lambda p, B: p * B + 1, outputs_info=gn.ones(3, dtype=gn.float64),
                              non_sequences=A, n_steps=4)
    assert not result.is_symbolic and updates == {}
    result.sum().backward()
    ta = torch.tensor(values, requires_grad=True)
    p, rows = torch.ones(3, dtype=torch.float64), []
    for _ in range(4):
        p = p * ta + 1
        rows.append(p)
    torch.stack(rows).sum().backward()
    np.testing.assert_allclose(result.detach().numpy(), torch.stack(rows).detach().numpy())
    np.testing.assert_allclose(A.grad.numpy(), ta.grad.numpy(), rtol=1e-12)


def test_a_compiled_scan_is_one_loop_op_whatever_the_number_of_steps():
    x = T.dvector("x")
    h, _ = theano.scan(lambda xt, h: h * 0.5 + xt, sequences=x, outputs_info=f64(0.0))
    f = theano.function([x], [h, T.grad(h.sum(), x)])
    ops = [type(i.node.op) for i in f.schedule.instructions]
    assert ops.count(ScanOp) == 1 and ops.count(ScanGradOp) == 1
    for n in (1, 7, 300):
        hv, gv = f(np.ones(n))
        np.testing.assert_allclose(hv, 2 * (1 - 0.5 ** np.arange(1, n + 1)))
        np.testing.assert_allclose(gv, 2 * (1 - 0.5 ** np.arange(n, 0, -1)))


CASES = [
    BadInput("no steps", lambda: gn.scan(lambda: f64(1.0), outputs_info=None), ValueError,
             ["scan", "n_steps"]),
    BadInput("fn not callable", lambda: gn.scan(3, n_steps=2), TypeError, ["scan", "callable"]),
    BadInput("negative n_steps", lambda: gn.scan(lambda p: p, outputs_info=f64(1.0), n_steps=-2),
             ValueError, ["scan", "-2", "go_backwards"]),
    BadInput("float n_steps", lambda: gn.scan(lambda p: p, outputs_info=f64(1.0), n_steps=2.5),
             TypeError, ["scan", "n_steps", "2.5"]),
    BadInput("dtype of output and initial", lambda: gn.scan(
        lambda p: p * 1.5, outputs_info=gn.tensor(np.int64(1)), n_steps=3), TypeError,
        ["scan", "int64", "float", "outputs_info"]),
    BadInput("shape of output and initial", lambda: gn.scan(
        lambda p: gn.concatenate([p, p]), outputs_info=gn.zeros(2, dtype=gn.float64), n_steps=3),
        ValueError, ["scan", "(4,)", "(2,)"]),
    BadInput("outputs_info length", lambda: gn.scan(
        lambda p: [p, p], outputs_info=[f64(1.0)], n_steps=3), ValueError,
        ["scan", "2 outputs", "1 entries", "None"]),
    BadInput("positive output tap", lambda: gn.scan(
        lambda p: p, outputs_info=[dict(initial=f64([1.0]), taps=[1])], n_steps=3), ValueError,
        ["scan", "taps", "negative"]),
    BadInput("initial too short for taps", lambda: gn.scan(
        lambda a, b: a + b, outputs_info=[dict(initial=f64([1.0]), taps=[-2, -1])], n_steps=3),
        ValueError, ["scan", "[-2, -1]", "2 rows", "(1,)"]),
    BadInput("until not last", lambda: gn.scan(lambda p: [until(p > 1), p], outputs_info=f64(1.0),
                                               n_steps=3), ValueError, ["until", "last"]),
    BadInput("scalar sequence", lambda: gn.scan(lambda s: s, sequences=f64(1.0)), ValueError,
             ["scan", "sequence 0", "scalar"]),
    BadInput("sequence too short for n_steps", lambda: gn.scan(
        lambda s: s * 2, sequences=f64([1.0, 2.0]), n_steps=5), ValueError,
        ["scan", "n_steps is 5", "2 rows"]),
    BadInput("update of a non-shared tensor", lambda: gn.scan(
        lambda: {T.dscalar("v"): f64(1.0)}, n_steps=2), TypeError, ["scan", "not a shared"]),
    BadInput("strict with a free variable", lambda: gn.scan(
        lambda x_t: x_t * theano.shared(2.0, name="scale"), sequences=T.dvector("x"), strict=True),
        ValueError, ["strict", "scale", "non_sequences"]),
    BadInput("jacobian of a matrix", lambda: T.jacobian(T.dmatrix("m") * 2, T.dmatrix("w")),
             TypeError, ["jacobian", "vector", "(?, ?)"]),
    BadInput("hessian of a vector", lambda: T.hessian(T.dvector("c") * 2, T.dvector("w")),
             TypeError, ["hessian", "scalar"]),
]
test_bad_input = bad_input_test(CASES)


def test_run_time_shape_errors_name_scan_and_the_shapes():
    x = T.dvector("x")
    h0 = T.dvector("h0")
    hs, _ = theano.scan(lambda xt, h: h[:1] * xt, sequences=x, outputs_info=h0, name="shrink")
    f = theano.function([x, h0], hs)
    with pytest.raises(ValueError, match=r"scan 'shrink'.*\(3,\).*\(1,\)"):
        f([1.0, 2.0], [1.0, 2.0, 3.0])
    seq, n = T.dvector("seq"), T.iscalar("n")
    ys, _ = theano.scan(lambda s: s * 2, sequences=seq, n_steps=n)
    g = theano.function([seq, n], ys)
    np.testing.assert_array_equal(g([1.0, 2.0, 3.0], 2), [2.0, 4.0])
    with pytest.raises(ValueError, match="n_steps is 4 but sequence 0 has 2 rows"):
        g([1.0, 2.0], 4)


def test_printed_graphs_name_the_scan():
    x = T.dvector("x")
    h, _ = theano.scan(lambda xt, h: h * 0.5 + xt, sequences=x, outputs_info=T.constant(0.0),
                       name="leaky")
    assert "ScanOp(scan 'leaky')" in gn.debugprint(h, file=io.StringIO())
    np.testing.assert_allclose(h.eval({x: np.ones(3)}), [1.0, 1.5, 1.75])


def test_shared_weight_used_twice_and_unknown_dims_in_the_step():
    X, W = T.dtensor3("X"), T.dmatrix("W")
    hs, _ = theano.scan(lambda x_t, h: T.tanh(T.dot(x_t, W) + T.dot(h, W)), sequences=X,
                        outputs_info=T.zeros((2, 3)))  # the step's output is (2, ?) statically
    f = theano.function([X, W], [hs, T.grad((hs ** 2).sum(), W)])
    rng = np.random.default_rng(8)
    xv, wv = rng.normal(size=(4, 2, 3)), 0.3 * rng.normal(size=(3, 3))
    tw = torch.tensor(wv, requires_grad=True)
    h, rows = torch.zeros(2, 3, dtype=torch.float64), []
    for t in range(4):
        h = torch.tanh(torch.tensor(xv[t]) @ tw + h @ tw)
        rows.append(h)
    (torch.stack(rows) ** 2).sum().backward()
    got_h, got_w = f(xv, wv)
    np.testing.assert_allclose(got_h, torch.stack(rows).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(got_w, tw.grad.numpy(), rtol=1e-10)


def test_scan_lstm_training_equals_the_fused_nn_lstm():
    import ganglion.nn as nn
    import ganglion.nn.functional as F
    from ganglion.optim import SGD
    rng = np.random.default_rng(0)
    steps, batch, n_in, n_hidden, lr = 6, 4, 3, 5, 0.5
    gn.manual_seed(0)
    lstm, fc = nn.LSTM(n_in, n_hidden).double(), nn.Linear(n_hidden, 2).double()
    weights = {k: v.detach().numpy().copy() for k, v in lstm.state_dict().items()}
    weights.update({"fc_" + k: v.detach().numpy().copy() for k, v in fc.state_dict().items()})
    xv, yv = rng.normal(size=(steps, batch, n_in)), rng.integers(0, 2, batch)
    optimizer = SGD(list(lstm.parameters()) + list(fc.parameters()), lr=lr)
    fused_losses = []
    for _ in range(3):
        _, (h_n, _) = lstm(f64(xv))
        loss = F.cross_entropy(fc(h_n[0]), gn.from_numpy(yv))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        fused_losses.append(float(loss))

    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "fc_weight", "fc_bias"]
    params = [gn.shared(weights[n], name=n) for n in names]
    W_ih, W_hh, b_ih, b_hh, W_fc, b_fc = params

    def lstm_step(x_t, h, c):  # PyTorch's gate order: input, forget, cell, output
        gates = x_t @ W_ih.T + h @ W_hh.T + b_ih + b_hh
        i, f, g, o = (gates[:, k * n_hidden:(k + 1) * n_hidden] for k in range(4))
        c = gn.sigmoid(f) * c + gn.sigmoid(i) * gn.tanh(g)
        return gn.sigmoid(o) * gn.tanh(c), c

    x, y = gn.dtensor3("x"), gn.lvector("y")
    zeros = gn.zeros((batch, n_hidden), dtype=gn.float64)
    (hs, _), _ = gn.scan(lstm_step, sequences=x, outputs_info=[zeros, zeros])
    cost = F.cross_entropy(hs[-1] @ W_fc.T + b_fc, y)
    train = gn.function([x, y], cost, updates=[(p, p - lr * g)
                                               for p, g in zip(params, gn.grad(cost, params))])
    scan_losses = [float(train(xv, yv)) for _ in range(3)]
    np.testing.assert_allclose(scan_losses, fused_losses, rtol=1e-12)
    assert scan_losses[-1] < scan_losses[0]
    np.testing.assert_allclose(W_hh.get_value(), lstm.weight_hh_l0.detach().numpy(), rtol=1e-10)


def _tutorial_lstm_layer(tparams, state_below, dim_proj, mask):
    """lstm_layer of the DeepLearningTutorials' lstm.py, as written there (Theano's API)."""
    nsteps = state_below.shape[0]
    n_samples = state_below.shape[1]

    def _slice(_x, n, dim):
        return _x[:, n * dim:(n + 1) * dim]

    def _step(m_, x_, h_, c_):
        preact = T.dot(h_, tparams["lstm_U"])
        preact += x_
        i = T.nnet.sigmoid(_slice(preact, 0, dim_proj))
        f = T.nnet.sigmoid(_slice(preact, 1, dim_proj))
        o = T.nnet.sigmoid(_slice(preact, 2, dim_proj))
        c = T.tanh(_slice(preact, 3, dim_proj))
        c = f * c_ + i * c
        c = m_[:, None] * c + (1. - m_)[:, None] * c_
        h = o * T.tanh(c)
        h = m_[:, None] * h + (1. - m_)[:, None] * h_
        return h, c

    state_below = T.dot(state_below, tparams["lstm_W"]) + tparams["lstm_b"]
    zero = np.asarray(0.0, dtype=theano.config.floatX)
    rval, updates = theano.scan(_step, sequences=[mask, state_below],
                                outputs_info=[T.alloc(zero, n_samples, dim_proj),
                                              T.alloc(zero, n_samples, dim_proj)],
                                name="lstm__layers", n_steps=nsteps)
    return rval[0]


def test_the_lstm_tutorials_layer_with_a_mask_and_symbolic_sizes_matches_pytorch():
    rng = np.random.default_rng(9)
    dim, words = 4, 10
    values = {"lstm_W": 0.3 * rng.normal(size=(dim, 4 * dim)),
              "lstm_U": 0.3 * rng.normal(size=(dim, 4 * dim)),
              "lstm_b": 0.1 * rng.normal(size=4 * dim), "Wemb": rng.normal(size=(words, dim))}
    tparams = {k: theano.shared(v, name=k) for k, v in values.items()}
    x, mask = T.matrix("x", dtype="int64"), T.matrix("mask")
    n_timesteps, n_samples = x.shape[0], x.shape[1]
    emb = tparams["Wemb"][x.flatten()].reshape([n_timesteps, n_samples, dim])
    proj = _tutorial_lstm_layer(tparams, emb, dim, mask)
    proj = (proj * mask[:, :, None]).sum(axis=0) / mask.sum(axis=0)[:, None]
    cost = (proj ** 2).sum()
    names = list(values)
    f = theano.function([x, mask], [cost] + T.grad(cost, [tparams[n] for n in names]))
    xv = rng.integers(0, words, (5, 3))
    mv = np.ones((5, 3))
    mv[3:, 0] = 0  # the first sentence is two words shorter
    got = f(xv, mv)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in values.items()}
    tm = torch.tensor(mv)
    state_below = t["Wemb"][torch.tensor(xv)] @ t["lstm_W"] + t["lstm_b"]
    h = c = torch.zeros(3, dim, dtype=torch.float64)
    hs = []
    for step in range(5):
        pre = h @ t["lstm_U"] + state_below[step]
        i, f_, o, g = (pre[:, k * dim:(k + 1) * dim] for k in range(4))
        m = tm[step][:, None]
        c_new = torch.sigmoid(f_) * c + torch.sigmoid(i) * torch.tanh(g)
        c = m * c_new + (1 - m) * c
        h = m * (torch.sigmoid(o) * torch.tanh(c)) + (1 - m) * h
        hs.append(h)
    tproj = (torch.stack(hs) * tm[:, :, None]).sum(0) / tm.sum(0)[:, None]
    tcost = (tproj ** 2).sum()
    tcost.backward()
    assert got[0] == pytest.approx(tcost.item(), rel=1e-12)
    for g, name in zip(got[1:], names):
        np.testing.assert_allclose(g, t[name].grad.numpy(), rtol=1e-9, atol=1e-12)


def test_scan_inside_a_jit_compiled_eager_style_train_step():
    W = gn.nn.Parameter(f64(np.full((3, 3), 0.1)))
    optimizer = gn.optim.SGD([W], lr=0.1)

    @gn.jit
    def train_step(x):
        hs, _ = gn.scan(lambda x_t, h: gn.tanh(x_t @ W + h @ W), sequences=x,
                        outputs_info=gn.zeros((2, 3), dtype=gn.float64))
        loss = (hs ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    x = f64(np.linspace(-1, 1, 24).reshape(4, 2, 3))
    jitted = [float(train_step(x)) for _ in range(3)]
    w = f64(np.full((3, 3), 0.1)).requires_grad_(True)
    eager = []
    for _ in range(3):
        h, total = gn.zeros((2, 3), dtype=gn.float64), 0
        for t in range(4):
            h = gn.tanh(x[t] @ w + h @ w)
            total = total + (h ** 2).sum()
        total.backward()
        eager.append(float(total))
        with gn.no_grad():
            w -= 0.1 * w.grad
            w.grad = None
    np.testing.assert_allclose(jitted, eager, rtol=1e-12)
