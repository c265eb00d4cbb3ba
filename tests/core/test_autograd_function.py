"""Custom autograd Functions (``ganglion.autograd.Function``) against PyTorch running the same
Function code: each Function is written once, parameterised by the framework module, as
benchmarks/models.py writes its models. Also ``ganglion.autograd.grad``/``backward``, the grad
modes, ``Variable`` and the bad-input rows of the autograd namespace."""
import math

import numpy as np
import pytest
import torch

import ganglion as gn
from bad_inputs import BadInput, bad_input_test

LIBS = {"gn": gn, "torch": torch}


def functions(lib):
    """The PyTorch documentation's example Functions, written against ``lib``."""
    Function = lib.autograd.Function

    class LegendrePolynomial3(Function):
        # "Learning PyTorch with examples": P3(x) = 1/2 (5x^3 - 3x)
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    class Exp(Function):
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class MyReLU(Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    class LinearFunction(Function):
        # "Extending PyTorch": save_for_backward of input, weight, bias; needs_input_grad.
        @staticmethod
        def forward(ctx, input, weight, bias=None):
            ctx.save_for_backward(input, weight, bias)
            output = input.mm(weight.t())
            if bias is not None:
                output += bias.unsqueeze(0).expand_as(output)
            return output

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output.mm(weight)
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.t().mm(input)
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    class MulConstant(Function):
        # A non-Tensor argument kept as an attribute of ctx; its gradient is None.
        @staticmethod
        def forward(ctx, tensor, constant):
            ctx.constant = constant
            return tensor * constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    class SplitScale(Function):
        # Two outputs: backward runs once with both gradients.
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y, x + 2 * y

        @staticmethod
        def backward(ctx, grad_product, grad_sum):
            x, y = ctx.saved_tensors
            return grad_product * y + grad_sum, grad_product * x + 2 * grad_sum

    class MaxWithIndex(Function):
        # A non-differentiable integer output (mark_non_differentiable) beside a float one.
        @staticmethod
        def forward(ctx, x):
            values, indices = x.max(1)
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(x, indices)
            return values, indices

        @staticmethod
        def backward(ctx, grad_values, grad_indices):
            x, indices = ctx.saved_tensors
            grad = lib.zeros_like(x)
            return grad.scatter_add(1, indices.unsqueeze(1), grad_values.unsqueeze(1))

    class Cube(Function):
        # backward written with Tensor ops: differentiable again (double backward).
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x ** 2

    return {cls.__name__: cls for cls in (LegendrePolynomial3, Exp, MyReLU, LinearFunction,
                                          MulConstant, SplitScale, MaxWithIndex, Cube)}


GN = functions(gn)
TORCH = functions(torch)


def _pair(array, requires_grad=True):
    a = gn.from_numpy(np.array(array, copy=True))
    t = torch.from_numpy(np.array(array, copy=True))
    if requires_grad:
        a.requires_grad_(True)
        t.requires_grad_(True)
    return a, t


def _value(t):
    return np.asarray(t.detach())


def _run_both(name, arrays, call=None, seed_index=0):
    """Run Function ``name`` in both frameworks; compare outputs and input gradients."""
    rng = np.random.default_rng(seed_index)
    gn_in, torch_in = zip(*[_pair(a) for a in arrays])
    call = call or (lambda cls, *xs: cls.apply(*xs))
    gn_out, torch_out = call(GN[name], *gn_in), call(TORCH[name], *torch_in)
    gn_outs = gn_out if isinstance(gn_out, tuple) else (gn_out,)
    torch_outs = torch_out if isinstance(torch_out, tuple) else (torch_out,)
    assert len(gn_outs) == len(torch_outs)
    for a, t in zip(gn_outs, torch_outs):
        np.testing.assert_allclose(_value(a), t.detach().numpy(), rtol=1e-10, atol=1e-12)
    float_pairs = [(a, t) for a, t in zip(gn_outs, torch_outs) if t.is_floating_point()]
    seeds = [rng.standard_normal(tuple(t.shape)) for _, t in float_pairs]
    gn_grads = gn.autograd.grad([a for a, _ in float_pairs], list(gn_in),
                                [gn.from_numpy(s) for s in seeds])
    torch_grads = torch.autograd.grad([t for _, t in float_pairs], list(torch_in),
                                      [torch.from_numpy(s) for s in seeds])
    for a, t in zip(gn_grads, torch_grads):
        np.testing.assert_allclose(_value(a), t.numpy(), rtol=1e-10, atol=1e-12)
    return gn_outs, torch_outs


def test_legendre_polynomial_values_and_gradients_match_pytorch():
    _run_both("LegendrePolynomial3", [np.linspace(-1.2, 1.3, 7)])


def test_exp_values_and_gradients_match_pytorch():
    gn_outs, _ = _run_both("Exp", [np.array([[-1.0, 0.0, 0.5], [1.5, 2.0, -0.25]])])
    assert repr(gn_outs[0].grad_fn) == "<ExpBackward>"


def test_relu_values_and_gradients_match_pytorch():
    _run_both("MyReLU", [np.array([-2.0, -0.5, 0.25, 3.0, -1e-3, 7.0])])


def test_linear_function_with_and_without_bias_matches_pytorch():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 3)), rng.standard_normal(5)
    _run_both("LinearFunction", [x, w, b])
    _run_both("LinearFunction", [x, w])


def test_linear_function_needs_input_grad_skips_frozen_inputs():
    rng = np.random.default_rng(2)
    x = gn.from_numpy(rng.standard_normal((4, 3)))  # does not require grad
    w = gn.from_numpy(rng.standard_normal((5, 3))).requires_grad_()
    b = gn.from_numpy(rng.standard_normal(5))
    seen = []

    class Recording(GN["LinearFunction"]):
        @staticmethod
        def backward(ctx, grad_output):
            seen.append(ctx.needs_input_grad)
            return GN["LinearFunction"].backward(ctx, grad_output)

    Recording.apply(x, w, b).sum().backward()
    assert seen == [(False, True, False)]
    tw = torch.from_numpy(np.asarray(w.detach()).copy()).requires_grad_()
    TORCH["LinearFunction"].apply(torch.from_numpy(np.asarray(x)), tw,
                                  torch.from_numpy(np.asarray(b))).sum().backward()
    np.testing.assert_allclose(_value(w.grad), tw.grad.numpy(), rtol=1e-12)
    assert x.grad is None


def test_non_tensor_argument_and_ctx_attribute():
    _run_both("MulConstant", [np.array([1.0, -2.0, 3.0])],
              call=lambda cls, x: cls.apply(x, 2.5))


def test_two_outputs_backward_runs_once_with_both_gradients():
    calls = []

    class Counted(GN["SplitScale"]):
        @staticmethod
        def backward(ctx, grad_product, grad_sum):
            calls.append(1)
            return GN["SplitScale"].backward(ctx, grad_product, grad_sum)

    x, y = _pair(np.array([1.0, 2.0]))[0], _pair(np.array([3.0, -1.0]))[0]
    p, s = Counted.apply(x, y)
    (p * s).sum().backward()
    assert calls == [1]
    tx, ty = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True), \
        torch.tensor([3.0, -1.0], dtype=torch.float64, requires_grad=True)
    tp, ts = TORCH["SplitScale"].apply(tx, ty)
    (tp * ts).sum().backward()
    np.testing.assert_allclose(_value(x.grad), tx.grad.numpy())
    np.testing.assert_allclose(_value(y.grad), ty.grad.numpy())
    _run_both("SplitScale", [np.array([0.5, 1.5, -2.0]), np.array([1.0, 2.0, 3.0])])


def test_unused_output_gets_zeros_or_none_without_materialize_grads():
    received = {}

    def make(materialize):
        class Two(gn.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(materialize)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, ga, gb):
                received[materialize] = gb
                return ga * 2 if gb is None else ga * 2 + gb * 3
        return Two

    x = gn.tensor([1.0, 2.0], requires_grad=True)
    make(True).apply(x)[0].sum().backward()
    np.testing.assert_array_equal(_value(received[True]), [0.0, 0.0])
    make(False).apply(x)[0].sum().backward()
    assert received[False] is None
    np.testing.assert_array_equal(_value(x.grad), [4.0, 4.0])


def test_mark_non_differentiable_integer_output():
    gn_outs, torch_outs = _run_both("MaxWithIndex", [np.array([[1.0, 5.0, 2.0], [7.0, -1.0, 0.0]])])
    assert not gn_outs[1].requires_grad and gn_outs[0].requires_grad
    np.testing.assert_array_equal(_value(gn_outs[1]), torch_outs[1].numpy())


def test_double_backward_through_a_function_whose_backward_uses_tensor_ops():
    gx, tx = _pair(np.array([0.5, -1.0, 2.0]))
    (g1,) = gn.autograd.grad(GN["Cube"].apply(gx).sum(), gx, create_graph=True)
    (t1,) = torch.autograd.grad(TORCH["Cube"].apply(tx).sum(), tx, create_graph=True)
    assert g1.requires_grad
    (g2,) = gn.autograd.grad((g1 * g1).sum(), gx)
    (t2,) = torch.autograd.grad((t1 * t1).sum(), tx)
    np.testing.assert_allclose(_value(g1), t1.detach().numpy())
    np.testing.assert_allclose(_value(g2), t2.numpy())  # d/dx (3x^2)^2 = 36 x^3


def test_double_backward_through_a_saved_output():
    gx, tx = _pair(np.array([0.1, 0.7]))
    (g1,) = gn.autograd.grad(GN["Exp"].apply(gx).sum(), gx, create_graph=True)
    (t1,) = torch.autograd.grad(TORCH["Exp"].apply(tx).sum(), tx, create_graph=True)
    (g2,) = gn.autograd.grad(g1.sum(), gx)
    (t2,) = torch.autograd.grad(t1.sum(), tx)
    np.testing.assert_allclose(_value(g2), t2.numpy())


def test_first_order_backward_runs_user_code_without_recording():
    modes = []

    class Probe(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            modes.append(("forward", gn.is_grad_enabled()))
            return x * 2

        @staticmethod
        def backward(ctx, g):
            modes.append(("backward", gn.is_grad_enabled()))
            return g * 2

    x = gn.tensor([1.0], requires_grad=True)
    Probe.apply(x).sum().backward()
    gn.autograd.grad(Probe.apply(x).sum(), x, create_graph=True)
    assert modes == [("forward", False), ("backward", False), ("forward", False), ("backward", True)]


def test_apply_under_no_grad_gives_outputs_without_history():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    with gn.autograd.no_grad():
        y = GN["Exp"].apply(x)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_allclose(_value(y), np.exp([1.0, 2.0]), rtol=1e-6)


def test_returning_an_input_gives_a_new_tensor_sharing_memory():
    class Identity(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and x.is_leaf and np.shares_memory(np.asarray(x.detach()), np.asarray(y.detach()))
    y.sum().backward()
    np.testing.assert_array_equal(_value(x.grad), [3.0, 3.0])


def test_mark_dirty_in_place_forward_matches_pytorch():
    def make(lib):
        class AddOneInPlace(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 2  # deliberately not the true derivative, to see it used
        return AddOneInPlace

    results = []
    for lib in (gn, torch):
        leaf = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        z = leaf * 3
        out = make(lib).apply(z)
        assert out is z
        out.sum().backward()
        results.append((_value(z), _value(leaf.grad)))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_wrong_shape_gradient_that_sums_to_the_input_is_accepted_as_in_pytorch():
    def make(lib):
        class Broad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return lib.ones(1, 2, 3, dtype=lib.float64)
        return Broad

    x = gn.zeros(2, 3, dtype=gn.float64, requires_grad=True)
    tx = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    make(gn).apply(x).sum().backward()
    make(torch).apply(tx).sum().backward()
    np.testing.assert_array_equal(_value(x.grad), tx.grad.numpy())


def test_saved_tensors_are_freed_after_backward_without_retain_graph():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = GN["Exp"].apply(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(_value(x.grad), 2 * np.exp([1.0, 2.0]), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


def test_setup_context_style():
    class Square(gn.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            (x,) = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = gn.tensor([3.0, -1.0], requires_grad=True)
    Square.apply(x).sum().backward()
    np.testing.assert_array_equal(_value(x.grad), [6.0, -2.0])


def test_once_differentiable_refuses_double_backward():
    from ganglion.autograd.function import once_differentiable

    class Sq(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = gn.tensor([3.0], requires_grad=True)
    (g,) = gn.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    assert g.item() == 6.0 and not g.requires_grad  # as in PyTorch: computed without a graph
    with pytest.raises(RuntimeError, match="does not require grad"):
        gn.autograd.grad(g.sum(), x)
    seed = gn.ones(1, requires_grad=True)
    (g,) = gn.autograd.grad(Sq.apply(x), x, seed, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        gn.autograd.grad(g.sum(), seed)


def test_gradcheck_float64_on_custom_functions():
    rng = np.random.default_rng(3)
    x = gn.from_numpy(rng.standard_normal((3, 2))).requires_grad_()
    w = gn.from_numpy(rng.standard_normal((4, 2))).requires_grad_()
    b = gn.from_numpy(rng.standard_normal(4)).requires_grad_()
    assert gn.autograd.gradcheck(GN["LinearFunction"].apply, (x, w, b), eps=1e-6, atol=1e-5)
    assert gn.autograd.gradcheck(GN["LegendrePolynomial3"].apply, (x,))
    assert gn.autograd.gradcheck(lambda u, v: GN["SplitScale"].apply(u, v), (x, x * 0 + 0.5))


def test_gradcheck_catches_a_wrong_backward():
    class WrongExp(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()

        @staticmethod
        def backward(ctx, g):
            return g  # d exp(x)/dx is not 1

    x = gn.tensor([0.3, 0.9], dtype=gn.float64, requires_grad=True)
    assert gn.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False) is False


def test_symbolic_mode_builds_the_users_backward_into_the_graph():
    class StraightThroughRound(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.round()

        @staticmethod
        def backward(ctx, g):
            return g * 1.0  # the straight-through estimator: round's gradient taken as 1

    x = gn.placeholder("float64", (None,), "x")
    y = StraightThroughRound.apply(x * 3)
    (g,) = gn.grad((y * y).sum(), [x])
    f = gn.function([x], [y, g])
    value, gradient = f(np.array([0.2, 0.9]))
    np.testing.assert_array_equal(value, [1.0, 3.0])
    np.testing.assert_array_equal(gradient, [6.0, 18.0])  # 2 y * 1 * 3


def test_symbolic_mode_two_outputs_and_saved_tensors():
    x = gn.placeholder("float64", (None,), "x")
    y = gn.placeholder("float64", (None,), "y")
    p, s = GN["SplitScale"].apply(x, y)
    gx, gy = gn.grad((p * s).sum(), [x, y])
    f = gn.function([x, y], [p, s, gx, gy])
    xv, yv = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    outputs = f(xv, yv)
    tx, ty = torch.tensor(xv, requires_grad=True), torch.tensor(yv, requires_grad=True)
    tp, ts = TORCH["SplitScale"].apply(tx, ty)
    tgx, tgy = torch.autograd.grad((tp * ts).sum(), [tx, ty])
    for ours, theirs in zip(outputs, [tp, ts, tgx, tgy]):
        np.testing.assert_allclose(ours, theirs.detach().numpy())


# ----- grad, backward, grad modes, Variable ---------------------------------------------------

def test_grad_matches_pytorch_signature_and_results():
    for lib in (gn, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        unused = lib.tensor([5.0], dtype=lib.float64, requires_grad=True)
        result = lib.autograd.grad((x * x).sum(), [x, unused], allow_unused=True)
        assert isinstance(result, tuple) and result[1] is None
        np.testing.assert_array_equal(_value(result[0]), [2.0, 4.0])
        zeros = lib.autograd.grad((x * x).sum(), [x, unused], materialize_grads=True)[1]
        np.testing.assert_array_equal(_value(zeros), [0.0])


def test_grad_is_grads_batched_matches_pytorch():
    results = []
    for lib in (gn, torch):
        x = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        seeds = lib.tensor(np.eye(3), dtype=lib.float64)
        (jac,) = lib.autograd.grad(x * x, x, seeds, is_grads_batched=True)
        results.append(_value(jac))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], np.diag([2.0, 4.0, 6.0]))


def test_backward_of_several_tensors_matches_pytorch():
    results = []
    for lib in (gn, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        lib.autograd.backward([x * 3, (x * x).sum()],
                              [lib.tensor([1.0, -1.0], dtype=lib.float64), None])
        results.append(_value(x.grad))
    np.testing.assert_array_equal(results[0], results[1])


def test_backward_inputs_restricts_accumulation():
    x = gn.tensor([1.0], requires_grad=True)
    w = gn.tensor([2.0], requires_grad=True)
    gn.autograd.backward([(x * w).sum()], inputs=[w])
    assert x.grad is None and w.grad.item() == 1.0


def test_grad_modes_and_anomaly_flags_are_exported():
    assert gn.autograd.no_grad is gn.no_grad and gn.autograd.enable_grad is gn.enable_grad
    assert gn.autograd.set_grad_enabled is gn.set_grad_enabled
    assert not gn.autograd.is_anomaly_enabled()
    with gn.autograd.detect_anomaly():
        assert gn.autograd.is_anomaly_enabled()
    with gn.autograd.set_detect_anomaly(True):
        assert gn.autograd.is_anomaly_enabled()
    assert not gn.autograd.is_anomaly_enabled()


def test_variable_is_a_tensor():
    x = gn.tensor([1.0, 2.0])
    v = gn.autograd.Variable(x, requires_grad=True)
    tv = torch.autograd.Variable(torch.tensor([1.0, 2.0]), requires_grad=True)
    assert v.requires_grad and tv.requires_grad
    assert isinstance(v, gn.autograd.Variable) and isinstance(v, gn.Tensor)
    assert not isinstance(np.zeros(2), gn.autograd.Variable)
    assert np.shares_memory(np.asarray(x), np.asarray(v.detach()))
    assert gn.autograd.Variable(x) is x


# ----- in-place changes to saved tensors --------------------------------------------------------

def _saver(lib):
    class Saver(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            return g * w, g * x
    return Saver


def test_in_place_change_of_a_saved_tensor_raises_as_in_pytorch():
    for lib in (gn, torch):
        x = lib.ones(2, 3, requires_grad=True)
        w = lib.ones(2, 3)
        y = _saver(lib).apply(x, w)
        w.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_in_place_change_of_a_saved_leaf_under_no_grad_raises():
    x = gn.ones(2, requires_grad=True)
    y = _saver(gn).apply(x, gn.ones(2))
    with gn.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="saved tensor 0 of Saver"):
        y.sum().backward()


def test_saved_output_changed_in_place_keeps_ganglion_rebinding_semantics():
    # An in-place op on a tensor inside a recorded graph rebinds it (NOTES.md): the Function's
    # node keeps the old value, so the gradient is exp(x), not the new value's.
    x = gn.tensor([0.5], requires_grad=True)
    y = GN["Exp"].apply(x)
    y += 1
    y.sum().backward()
    np.testing.assert_allclose(_value(x.grad), [math.exp(0.5)], rtol=1e-6)


# ----- bad inputs -------------------------------------------------------------------------------

def _bad_backward(result):
    class BadBackward(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return result(g)
    return BadBackward


def _backward_of(cls, *args):
    x = gn.ones(2, 3, requires_grad=True)
    cls.apply(x, *args).sum().backward()


def _symbolic_grad_of(cls):
    x = gn.placeholder("float64", (2, 3), "x")
    return gn.grad(cls.apply(x, 2.0).sum(), [x])


class _OldStyle(gn.autograd.Function):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return g


class _NoBackward(gn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2


CASES = [
    BadInput("function backward too few gradients",
             lambda: _backward_of(_bad_backward(lambda g: g), 2.0), RuntimeError,
             ["BadBackwardBackward", "incorrect number of gradients", "expected 2, got 1"]),
    BadInput("function backward wrong gradient shape",
             lambda: _backward_of(_bad_backward(lambda g: (g.sum(0), None)), 2.0), RuntimeError,
             ["BadBackwardBackward", "index 0", "[3]", "[2, 3]"]),
    BadInput("function backward gradient for a number",
             lambda: _backward_of(_bad_backward(lambda g: (g, g)), 2.0), RuntimeError,
             ["BadBackwardBackward", "position 2", "not a Variable"]),
    BadInput("function symbolic backward wrong gradient shape",
             lambda: _symbolic_grad_of(_bad_backward(lambda g: (g.sum(0), None))),
             RuntimeError, ["BadBackwardBackward", "index 0", "[3]", "[2, 3]"]),
    BadInput("function backward returns a float",
             lambda: _backward_of(_bad_backward(lambda g: (3.0, None)), 2.0), RuntimeError,
             ["BadBackwardBackward", "expected Variable or None", "float"]),
    BadInput("function called on an instance (legacy style)",
             lambda: _OldStyle()(gn.ones(2, requires_grad=True)), RuntimeError,
             ["Legacy autograd function", "static forward", "_OldStyle.apply"]),
    BadInput("function without backward",
             lambda: _backward_of(_NoBackward), NotImplementedError, ["backward"]),
    BadInput("function base class apply",
             lambda: gn.autograd.Function.apply(gn.ones(2)), RuntimeError, ["subclass"]),
    BadInput("function save_for_backward of a number",
             lambda: _backward_of(type("SavesNumber", (gn.autograd.Function,), {
                 "forward": staticmethod(lambda ctx, x: (ctx.save_for_backward(x, 3), x * 2)[1]),
                 "backward": staticmethod(lambda ctx, g: g)})),
             TypeError, ["save_for_backward", "argument 1", "int"]),
    BadInput("function mark_dirty of a leaf",
             lambda: type("DirtyLeaf", (gn.autograd.Function,), {
                 "forward": staticmethod(lambda ctx, x: (ctx.mark_dirty(x), x)[1]),
                 "backward": staticmethod(lambda ctx, g: g)}).apply(gn.ones(2, requires_grad=True)),
             RuntimeError, ["DirtyLeaf", "leaf Variable that requires grad", "in-place"]),
    BadInput("function symbolic forward returns a number",
             lambda: type("Scalar", (gn.autograd.Function,), {
                 "forward": staticmethod(lambda ctx, x: (x, 3)),
                 "backward": staticmethod(lambda ctx, g, h: g)}).apply(gn.placeholder("float64", (2,), "x")),
             TypeError, ["Scalar", "symbolic", "output 1", "int"]),
    BadInput("autograd.backward gradient count",
             lambda: gn.autograd.backward([gn.ones(2, requires_grad=True) * 2],
                                          [gn.ones(2), gn.ones(2)]),
             RuntimeError, ["got 1 tensors and 2 gradients"]),
    BadInput("autograd.backward no grad",
             lambda: gn.autograd.backward([gn.ones(2).sum()]), RuntimeError,
             ["element 0", "does not require grad"]),
    BadInput("autograd.grad materialize with allow_unused False",
             lambda: gn.autograd.grad(gn.ones(1, requires_grad=True).sum(), [],
                                      allow_unused=False, materialize_grads=True),
             ValueError, ["materialize_grads", "allow_unused"]),
    BadInput("autograd.grad unused input",
             lambda: gn.autograd.grad((gn.ones(1, requires_grad=True) * 2).sum(),
                                      [gn.ones(1, requires_grad=True)]),
             RuntimeError, ["input 0", "allow_unused=True"]),
    BadInput("autograd.grad empty inputs",
             lambda: gn.autograd.grad((gn.ones(1, requires_grad=True) * 2).sum(), []),
             RuntimeError, ["`inputs` argument to `grad()` cannot be empty"]),
    BadInput("backward empty inputs",
             lambda: (gn.ones(1, requires_grad=True) * 2).sum().backward(inputs=[]),
             RuntimeError, ["`inputs` argument to `backward()` cannot be empty"]),
    BadInput("autograd.grad number input",
             lambda: gn.autograd.grad((gn.ones(1, requires_grad=True) * 2).sum(), [3.0]),
             RuntimeError, ["grad()", "inputs have to be Tensors", "float", "index 0"]),
    BadInput("backward number input",
             lambda: (gn.ones(1, requires_grad=True) * 2).sum().backward(inputs=[3.0]),
             RuntimeError, ["backward()", "inputs have to be Tensors", "float", "index 0"]),
    BadInput("autograd.grad number output",
             lambda: gn.autograd.grad([3.0], [gn.ones(1, requires_grad=True)]), TypeError,
             ["grad()", "outputs must be Tensors", "float", "index 0"]),
    BadInput("gradcheck without an input requiring grad",
             lambda: gn.autograd.gradcheck(lambda u: u * 2, (gn.ones(2, dtype=gn.float64),)),
             ValueError, ["gradcheck", "at least one input", "requires_grad=True"]),
    BadInput("autograd.grad fewer grad_outputs than outputs",
             lambda: gn.autograd.grad([gn.ones(2, requires_grad=True) * 2] * 2,
                                      [gn.ones(1, requires_grad=True)], [gn.ones(2)]),
             RuntimeError, ["grad()", "2 outputs but 1 grad_outputs"]),
    BadInput("Variable of a list", lambda: gn.autograd.Variable([1.0]), TypeError,
             ["Variable", "tensor", "list"]),
]

test_bad_input = bad_input_test(CASES)


def test_bad_input_rows_agree_with_pytorch_on_error_types():
    # The same wrong backward in PyTorch raises the same exception type.
    class TorchBad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g.sum(0), None

    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        TorchBad.apply(torch.ones(2, 3, requires_grad=True), 2.0).sum().backward()


def test_the_same_tensor_returned_twice_gives_two_outputs():
    class Twice(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            return y, y

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2 + gb * 20

    x = gn.tensor([1.0], requires_grad=True)
    a, b = Twice.apply(x)
    assert a is not b
    (a + b * 0.5).sum().backward()
    assert x.grad.item() == 12.0


def test_symbolic_printing_names_the_function():
    x = gn.placeholder("float64", (2,), "x")
    y = GN["Exp"].apply(x)
    assert "Exp.apply" in gn.pp(y)


def test_grad_and_backward_take_any_iterable_of_inputs_as_pytorch_does():
    # model.parameters() is a generator: backward(inputs=...) used to capture nothing silently,
    # and grad() failed with an AttributeError.
    model = gn.nn.Linear(2, 1)
    x = gn.ones(3, 2)
    grads = gn.autograd.grad(model(x).sum(), model.parameters())
    assert len(grads) == 2 and grads[1].item() == 3.0
    grads = gn.grad(model(x).sum(), model.parameters(), allow_unused=True)
    np.testing.assert_array_equal(_value(grads[0]), [[3.0, 3.0]])
    grads = gn.autograd.grad(model(x).sum(), model.parameters(), materialize_grads=True)
    assert len(grads) == 2
    model(x).sum().backward(inputs=model.parameters())
    np.testing.assert_array_equal(_value(model.weight.grad), [[3.0, 3.0]])
    gn.autograd.backward(model(x).sum(), inputs=(p for p in [model.bias]))
    assert model.bias.grad.item() == 6.0


def test_gradcheck_outputs_without_a_graph_and_errors_match_pytorch():
    x = gn.tensor([1.0, 2.0], dtype=gn.float64, requires_grad=True)
    tx = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    # A constant output has a zero Jacobian both ways (it used to raise "does not require grad").
    assert gn.autograd.gradcheck(lambda u: gn.ones(2, dtype=gn.float64), (x,))
    assert torch.autograd.gradcheck(lambda u: torch.ones(2, dtype=torch.float64), (tx,))
    assert gn.autograd.gradcheck(lambda u: (u * 2, gn.ones(2, dtype=gn.float64)), (x,))

    class WrongGrad(gn.autograd.Function):
        @staticmethod
        def forward(ctx, u):
            return u * 2

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="input 0") as info:
        gn.autograd.gradcheck(WrongGrad.apply, (x,))
    assert isinstance(info.value, gn.autograd.GradcheckError)
    assert isinstance(info.value, AssertionError)  # what ganglion raised before


def test_function_inside_a_jit_compiled_train_step_matches_eager():
    def train(compiled):
        gn.manual_seed(0)
        layer = gn.nn.Linear(4, 3)
        optimizer = gn.optim.SGD(layer.parameters(), lr=0.1)

        def step(x, y):
            optimizer.zero_grad()
            loss = ((GN["MyReLU"].apply(layer(x)) - y) ** 2).mean()
            loss.backward()
            optimizer.step()
            return loss

        run = gn.jit(step) if compiled else step
        x = gn.from_numpy(np.linspace(-1, 1, 20, dtype=np.float32).reshape(5, 4))
        y = gn.from_numpy(np.linspace(1, -0.5, 15, dtype=np.float32).reshape(5, 3))
        return [float(run(x, y)) for _ in range(3)]

    eager, compiled = train(False), train(True)
    np.testing.assert_allclose(compiled, eager, rtol=1e-6)
    assert eager[2] < eager[0]


def test_hooks_and_retain_grad_on_function_outputs():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    p, s = GN["SplitScale"].apply(x, x * 1)
    p.retain_grad()
    s.register_hook(lambda g: g * 10)
    (p + s).sum().backward()
    np.testing.assert_array_equal(_value(p.grad), [1.0, 1.0])
    # d/dx of x*y + 10 (x + 2y) with y = x: 2x + 30
    np.testing.assert_array_equal(_value(x.grad), [32.0, 34.0])


def test_symbolic_relu_from_the_docs_whose_backward_assigns_in_place():
    # MyReLU's backward does grad_input[input < 0] = 0: on a symbolic value that rebinds it, and
    # rebind lost the old value's type, so compiling failed inside the fusion pass.
    x = gn.placeholder("float64", (None,), "x")
    y = GN["MyReLU"].apply(x)
    (g,) = gn.grad((y * 3).sum(), [x])
    value, gradient = gn.function([x], [y, g])(np.array([-1.0, 2.0, 0.5]))
    np.testing.assert_array_equal(value, [0.0, 2.0, 0.5])
    np.testing.assert_array_equal(gradient, [0.0, 3.0, 3.0])
    masked = x.clone()
    masked[x < 0] = 0
    (result,) = gn.function([x], [masked * 1])(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(result, [0.0, 2.0])


def _cube_with_detached_backward(lib):
    class DetachedCube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x.detach() ** 2  # right once, not differentiable again
    return DetachedCube


def test_gradgradcheck_passes_a_differentiable_backward_and_catches_a_detached_one():
    results = []
    for lib, cube in ((gn, GN["Cube"]), (torch, TORCH["Cube"])):
        x = lib.tensor([0.5, -1.5, 2.0], dtype=lib.float64, requires_grad=True)
        good = lib.autograd.gradgradcheck(cube.apply, (x,))
        bad = lib.autograd.gradgradcheck(_cube_with_detached_backward(lib).apply, (x,),
                                         raise_exception=False)
        results.append((good, bad))
    assert results == [(True, False), (True, False)]
    x = gn.tensor([0.5, 1.0], dtype=gn.float64, requires_grad=True)
    seed = gn.tensor([1.0, -2.0], dtype=gn.float64, requires_grad=True)
    assert gn.autograd.gradgradcheck(lambda u: (u * u).sin(), (x,), (seed,))


def test_symbolic_gradient_that_sums_to_the_input_is_summed():
    class Broad(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.unsqueeze(0) * gn.ones(4, 1, 1, dtype=gn.float64)  # (4, 2, 3) for (2, 3)

    x = gn.placeholder("float64", (2, 3), "x")
    (g,) = gn.grad(Broad.apply(x).sum(), [x])
    assert tuple(g.shape) == (2, 3)
    (value,) = gn.function([x], [g])(np.zeros((2, 3)))
    np.testing.assert_array_equal(value, np.full((2, 3), 4.0))


def test_seed_of_another_dtype_is_cast_to_the_outputs_as_in_pytorch():
    dtypes = []
    for lib in (gn, torch):
        x = lib.ones(2, requires_grad=True)  # float32
        (g,) = lib.autograd.grad((x * 2).sum(), [x], lib.ones((), dtype=lib.float64))
        dtypes.append(str(g.dtype).split(".")[-1])
        y = lib.ones(2, requires_grad=True)
        (y * 2).backward(lib.ones(2, dtype=lib.float64))
        dtypes.append(str(y.grad.dtype).split(".")[-1])
    assert dtypes == ["float32"] * 4
