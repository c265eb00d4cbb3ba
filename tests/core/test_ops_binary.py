"""Oracle tests of the binary elementwise ops (core/ops/elementwise.py) against PyTorch.

Arithmetic (add sub mul div floor_divide remainder pow), maximum/minimum, where, clamp,
comparisons, logical and bitwise operators, reflected and in-place operator forms, broadcasting
over random shape pairs (hypothesis) and PyTorch's type-promotion rules.
"""
import itertools

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import ganglion as gn
from oracle import check_forward, check_op

RNG = np.random.default_rng(0)


def randn(*shape):
    return RNG.standard_normal(shape)


def away_from_zero(*shape, low=0.5, high=2.0):
    """Values in +-[low, high]: safe divisors, and away from the kinks of abs/relu."""
    return RNG.uniform(low, high, shape) * RNG.choice([-1.0, 1.0], shape)


def gn_tensor(array):
    return gn.from_numpy(np.array(array, copy=True))


def torch_tensor(array):
    return torch.from_numpy(np.array(array, copy=True))


def dtype_name(dtype):
    return str(dtype).split(".")[-1]


# ----- arithmetic ----------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)),
                                    ((), (3,)), ((3, 1), ())])
@pytest.mark.parametrize("name", ["add", "sub", "mul"])
def test_add_sub_mul(name, shapes):
    a, b = randn(*shapes[0]), randn(*shapes[1])
    check_op(getattr(gn, name), getattr(torch, name), [a, b], second_order=True)


def test_add_sub_alpha():
    a, b = randn(3, 4), randn(4)
    check_op(lambda x, y: gn.add(x, y, alpha=2.5), lambda x, y: torch.add(x, y, alpha=2.5), [a, b])
    check_op(lambda x, y: gn.sub(x, y, alpha=-3), lambda x, y: torch.sub(x, y, alpha=-3), [a, b])


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1))])
def test_div(shapes):
    a, b = randn(*shapes[0]), away_from_zero(*shapes[1])
    check_op(gn.div, torch.div, [a, b], second_order=True)
    check_op(lambda x, y: x / y, lambda x, y: x / y, [a, b])


@pytest.mark.parametrize("a_dtype, b_dtype", [(np.int64, np.int64), (np.int32, np.int8),
                                              (np.uint8, np.uint8), (np.bool_, np.int64)])
def test_div_of_integers_is_true_division_in_float32(a_dtype, b_dtype):
    a = np.array([7, -3, 0, 5, 9]).astype(a_dtype)
    b = np.array([2, 4, 3, 1, 6]).astype(b_dtype)
    out = check_forward(gn.div, torch.div, [a, b])[0]
    assert out.dtype is gn.float32
    np.testing.assert_allclose(out.numpy(), a.astype(np.float64) / b, rtol=1e-6)
    assert check_forward(lambda x: x / 2, lambda x: x / 2, [a])[0].dtype is gn.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32])
def test_floor_divide_forward(dtype):
    a = np.array([[7, -7, 7, -7, 0, 9], [5, -5, 6, -6, 1, -1]]).astype(dtype)
    b = np.array([[2, 2, -2, -2, 3, 4], [3, 3, -4, -4, 2, 2]]).astype(dtype)
    check_forward(gn.floor_divide, torch.floor_divide, [a, b])
    check_forward(lambda x, y: x // y, lambda x, y: x // y, [a, b])
    check_forward(lambda x, y: gn.div(x, y, rounding_mode="floor"),
                  lambda x, y: torch.div(x, y, rounding_mode="floor"), [a, b])
    check_forward(lambda x: x // 3, lambda x: x // 3, [a])


def test_floor_divide_is_not_differentiable():
    x = gn_tensor(randn(3)).requires_grad_()
    out = gn.floor_divide(x, 2.0)
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.floor(x.detach().numpy() / 2.0))


def test_remainder():
    # a = b * (k + f) with f in [0.1, 0.9]: no jump of a % b lies within the finite-difference step.
    b = away_from_zero(3, 4, low=1.0, high=2.5)
    a = b * (RNG.integers(-3, 4, (3, 4)) + RNG.uniform(0.1, 0.9, (3, 4)))
    check_op(gn.remainder, torch.remainder, [a, b])
    check_op(lambda x, y: x % y, lambda x, y: x % y, [a, b])


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.int32])
def test_remainder_takes_the_divisors_sign(dtype):
    a = np.array([5, -5, 5, -5, 0, 7]).astype(dtype)
    b = np.array([3, 3, -3, -3, 2, 7]).astype(dtype)
    out = check_forward(gn.remainder, torch.remainder, [a, b])[0]
    np.testing.assert_array_equal(out.numpy(), [2, 1, -1, -2, 0, 0])
    check_forward(lambda x: x % -4, lambda x: x % -4, [a])


def test_pow_tensor_tensor_positive_base():
    a, b = RNG.uniform(0.5, 2.0, (3, 4)), RNG.uniform(-1.5, 1.5, (4,))
    check_op(gn.pow, torch.pow, [a, b], second_order=True)
    check_op(lambda x, y: x ** y, lambda x, y: x ** y, [a, b], second_order=True)


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 0])
def test_pow_tensor_scalar(exponent):
    a = RNG.uniform(0.5, 2.0, (3, 4))
    check_op(lambda x: x ** exponent, lambda x: x ** exponent, [a], second_order=True)
    check_op(lambda x: gn.pow(x, exponent), lambda x: torch.pow(x, exponent), [a])


def test_pow_tensor_integer_scalar_on_negative_base():
    a = away_from_zero(3, 4)
    check_op(lambda x: x ** 3, lambda x: x ** 3, [a], second_order=True)


@pytest.mark.parametrize("base", [2, 0.5, 3.7])
def test_pow_scalar_tensor(base):
    b = randn(3, 4)
    check_op(lambda x: base ** x, lambda x: base ** x, [b], second_order=True)
    check_op(lambda x: gn.pow(base, x), lambda x: torch.pow(base, x), [b])


def test_pow_of_integers_stays_integer():
    a = np.array([1, 2, 3, -4])
    out = check_forward(lambda x: x ** 2, lambda x: x ** 2, [a])[0]
    assert out.dtype is gn.int64
    check_forward(lambda x: 2 ** x, lambda x: 2 ** x, [np.array([0, 1, 5])])
    check_forward(lambda x: x ** 0.5, lambda x: x ** 0.5, [np.array([1, 4, 9])])


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_pow_gradients_at_zero_base():
    # d(0**b)/db: PyTorch gives 0 (the limit) for b >= 0, not nan from 0 * log(0), and -inf for
    # b < 0; d(0**0)/da is 0, not 0 * 0**-1 = nan.
    a = np.array([0.0, 0.0, 0.0, 1.5, 0.0, 2.0])
    b = np.array([2.0, 3.0, 0.0, 2.0, -1.0, 0.0])
    check_op(gn.pow, torch.pow, [a, b], gradcheck=False, float32=False)
    check_op(lambda x: x ** 0, lambda x: x ** 0, [a], gradcheck=False)
    check_op(lambda x: x ** 0.0, lambda x: x ** 0.0, [a], gradcheck=False)
    x = gn.from_numpy(a).requires_grad_()
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(6))


# ----- maximum / minimum ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum(name):
    a, b = randn(3, 4), randn(4)
    check_op(getattr(gn, name), getattr(torch, name), [a, b], second_order=True)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_split_the_gradient_on_ties(name):
    a = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])
    b = np.array([[1.0, 1.0, 5.0], [0.5, -1.0, 2.0]])
    # Central differences also give 1/2 at a tie, so the numerical check stays on.
    check_op(getattr(gn, name), getattr(torch, name), [a, b])
    x, y = gn_tensor(a).requires_grad_(), gn_tensor(b).requires_grad_()
    getattr(gn, name)(x, y).sum().backward()
    tie = a == b
    np.testing.assert_array_equal(x.grad.numpy()[tie], 0.5)
    np.testing.assert_array_equal(y.grad.numpy()[tie], 0.5)


def test_maximum_tie_with_broadcast_operand():
    a = np.array([[1.0, 2.0], [3.0, 2.0]])
    b = np.array([2.0])
    check_op(gn.maximum, torch.maximum, [a, b])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_with_scalar(name):
    a = randn(3, 4)
    other = torch.tensor(0.25, dtype=torch.float64)
    check_op(lambda x: getattr(gn, name)(x, 0.25), lambda x: getattr(torch, name)(x, other), [a])


def test_maximum_propagates_nan():
    a = np.array([np.nan, 1.0, 2.0])
    b = np.array([0.0, np.nan, 1.0])
    check_forward(gn.maximum, torch.maximum, [a, b])
    check_forward(gn.minimum, torch.minimum, [a, b])


# ----- where and clamp -----------------------------------------------------------------------

def test_where():
    cond = RNG.random((3, 4)) > 0.5
    a, b = randn(3, 4), randn(3, 4)
    check_op(gn.where, torch.where, [cond, a, b], second_order=True)


def test_where_broadcasts_all_three():
    cond = RNG.random((3, 1)) > 0.5
    a, b = randn(1, 4), randn(4)
    check_op(gn.where, torch.where, [cond, a, b])


def test_where_with_scalars():
    cond = np.array([True, False, True, False])
    a = randn(4)
    check_op(lambda c, x: gn.where(c, x, 0.5), lambda c, x: torch.where(c, x, 0.5), [cond, a])
    check_op(lambda c, x: gn.where(c, -1.0, x), lambda c, x: torch.where(c, -1.0, x), [cond, a])
    out = check_forward(lambda c: gn.where(c, 1, 2.5), lambda c: torch.where(c, 1, 2.5), [cond])[0]
    np.testing.assert_array_equal(out.numpy(), [1.0, 2.5, 1.0, 2.5])


def test_where_promotes_mixed_dtypes():
    cond = np.array([True, False, True])
    ints, floats = np.array([1, 2, 3]), np.array([0.5, 1.5, 2.5], np.float32)
    check_forward(gn.where, torch.where, [cond, ints, floats])
    check_forward(lambda c, x: gn.where(c, x, 2.5), lambda c, x: torch.where(c, x, 2.5), [cond, ints])


@pytest.mark.parametrize("low, high", [(-0.5, 0.7), (-0.5, None), (None, 0.7)])
def test_clamp(low, high):
    # Values are kept 0.05 from the bounds: the kinks are tested separately below.
    x = randn(4, 5)
    x = np.where(np.abs(x - (-0.5)) < 0.05, x + 0.1, x)
    x = np.where(np.abs(x - 0.7) < 0.05, x + 0.1, x)
    check_op(lambda t: gn.clamp(t, low, high), lambda t: torch.clamp(t, low, high), [x])
    check_op(lambda t: t.clamp(min=low, max=high), lambda t: t.clamp(min=low, max=high), [x])


def test_clamp_gradient_passes_at_the_bounds():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    check_op(lambda t: gn.clamp(t, -1.0, 1.0), lambda t: torch.clamp(t, -1.0, 1.0), [x],
             gradcheck=False)
    t = gn_tensor(x).requires_grad_()
    gn.clamp(t, -1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [0, 1, 1, 1, 0])


def test_clamp_with_tensor_bounds():
    x, low, high = randn(3, 4), np.full((4,), -0.3), np.full((3, 1), 0.4)
    x = np.where(np.abs(np.abs(x) - 0.35) < 0.06, x * 2, x)
    check_op(lambda t, lo, hi: gn.clamp(t, lo, hi), lambda t, lo, hi: torch.clamp(t, lo, hi),
             [x, low, high], grad_inputs=[0])


def test_clamp_min_above_max_gives_max():
    x = randn(5)
    check_forward(lambda t: gn.clamp(t, 1.0, -1.0), lambda t: torch.clamp(t, 1.0, -1.0), [x])


def test_clamp_keeps_nan():
    x = np.array([np.nan, -3.0, 3.0])
    check_forward(lambda t: gn.clamp(t, -1.0, 1.0), lambda t: torch.clamp(t, -1.0, 1.0), [x])


def test_clamp_of_integers_with_float_bounds_promotes():
    x = np.array([-2, 0, 1, 3])
    check_forward(lambda t: gn.clamp(t, 0.5, 2.5), lambda t: torch.clamp(t, 0.5, 2.5), [x])
    out = check_forward(lambda t: gn.clamp(t, 0, 2), lambda t: torch.clamp(t, 0, 2), [x])[0]
    assert out.dtype is gn.int64


# ----- comparisons and logic -----------------------------------------------------------------

COMPARISONS = ["eq", "ne", "lt", "le", "gt", "ge"]
OPERATORS = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__", "le": "__le__", "gt": "__gt__",
             "ge": "__ge__"}


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparisons(name):
    a = RNG.integers(-2, 3, (3, 4)).astype(np.float64)
    b = RNG.integers(-2, 3, (4,)).astype(np.float64)
    check_forward(getattr(gn, name), getattr(torch, name), [a, b])
    method = OPERATORS[name]
    check_forward(lambda x, y: getattr(x, method)(y), lambda x, y: getattr(x, method)(y), [a, b])
    check_forward(lambda x: getattr(x, method)(1.0), lambda x: getattr(x, method)(1.0), [a])
    ints = a.astype(np.int64)
    check_forward(lambda x: getattr(x, method)(0.5), lambda x: getattr(x, method)(0.5), [ints])
    check_forward(getattr(gn, name), getattr(torch, name), [ints, b])


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparison_is_bool_without_grad(name):
    x = gn_tensor(randn(3)).requires_grad_()
    out = getattr(gn, name)(x, 0.0)
    assert out.dtype is gn.bool
    assert not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), getattr(np, {"eq": "equal", "ne": "not_equal",
                                                            "lt": "less", "le": "less_equal",
                                                            "gt": "greater",
                                                            "ge": "greater_equal"}[name])(
        x.detach().numpy(), 0.0))


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
def test_logical_binary(name):
    a = RNG.random((3, 4)) > 0.5
    b = RNG.random(4) > 0.5
    out = check_forward(getattr(gn, name), getattr(torch, name), [a, b])[0]
    assert out.dtype is gn.bool
    # Non-bool inputs are read as "nonzero", as in PyTorch.
    check_forward(getattr(gn, name), getattr(torch, name),
                  [np.array([0.0, 1.5, 0.0, -2.0]), np.array([0, 0, 3, 1])])


def test_logical_not():
    a = RNG.random((3, 4)) > 0.5
    check_forward(gn.logical_not, torch.logical_not, [a])
    check_forward(gn.logical_not, torch.logical_not, [np.array([0.0, 2.0, -1.0])])
    check_forward(gn.logical_not, torch.logical_not, [np.array([0, 3, -1])])


@pytest.mark.parametrize("op", ["&", "|", "^"])
def test_bool_operators(op):
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    fn = {"&": lambda x, y: x & y, "|": lambda x, y: x | y, "^": lambda x, y: x ^ y}[op]
    out = check_forward(fn, fn, [a, b])[0]
    assert out.dtype is gn.bool
    check_forward(fn, fn, [a.reshape(4, 1), b])
    check_forward(lambda x: fn(x, True), lambda x: fn(x, True), [a])
    # On integers they are bitwise.
    check_forward(fn, fn, [np.array([3, 5, 12, -1]), np.array([6, 6, 10, 7])])


def test_invert():
    a = np.array([True, False, True])
    out = check_forward(lambda x: ~x, lambda x: ~x, [a])[0]
    np.testing.assert_array_equal(out.numpy(), [False, True, False])
    check_forward(lambda x: ~x, lambda x: ~x, [np.array([0, 3, -4], np.int32)])


def test_bitwise_operators_reject_floats():
    x = gn.tensor([1.0, 2.0])
    with pytest.raises(TypeError):
        x & x
    with pytest.raises(TypeError):
        ~x


# ----- reflected operators and Python scalars ------------------------------------------------

@pytest.mark.parametrize("fn", [lambda x: 2 - x, lambda x: 2 + x, lambda x: 2 * x,
                                lambda x: 2 / x, lambda x: 2 ** x, lambda x: 2.5 - x,
                                lambda x: -1.5 / x, lambda x: 0.5 ** x],
                         ids=["rsub", "radd", "rmul", "rdiv", "rpow", "rsub_float", "rdiv_float",
                              "rpow_float"])
def test_reflected_operators(fn):
    x = away_from_zero(3, 4)
    check_op(fn, fn, [x], second_order=True)


def test_reflected_operators_on_integers():
    x = np.array([1, 2, -3, 4])
    for fn in (lambda t: 2 - t, lambda t: 2 / t, lambda t: 2 ** abs(t), lambda t: 7 // t,
               lambda t: 7 % t, lambda t: 1.5 * t):
        check_forward(fn, fn, [x])


def test_scalar_does_not_widen_float32():
    x = np.array([1.0, 2.0], np.float32)
    for fn in (lambda t: t + 2.5, lambda t: 2.5 * t, lambda t: t / 3, lambda t: t ** 2.0,
               lambda t: 1 - t):
        assert check_forward(fn, fn, [x])[0].dtype is gn.float32


def test_integer_scalar_wraps_like_torch():
    # PyTorch casts a Python int to the tensor's dtype with wrap-around.
    check_forward(lambda t: t + (-1), lambda t: t + (-1), [np.array([1, 2, 200], np.uint8)])
    check_forward(lambda t: t * 300, lambda t: t * 300, [np.array([1, 2, -3], np.int8)])


# ----- in-place operators --------------------------------------------------------------------

INPLACE = {
    "+=": lambda x, y: x.__iadd__(y), "-=": lambda x, y: x.__isub__(y),
    "*=": lambda x, y: x.__imul__(y), "/=": lambda x, y: x.__itruediv__(y),
    "**=": lambda x, y: x.__ipow__(y), "//=": lambda x, y: x.__ifloordiv__(y),
    "%=": lambda x, y: x.__imod__(y),
}


@pytest.mark.parametrize("op", list(INPLACE))
@pytest.mark.parametrize("other_kind", ["tensor", "broadcast", "scalar"])
def test_in_place_operators(op, other_kind):
    a = RNG.uniform(0.5, 2.0, (3, 4))
    b = {"tensor": RNG.uniform(0.5, 2.0, (3, 4)), "broadcast": RNG.uniform(0.5, 2.0, (4,)),
         "scalar": 1.5}[other_kind]
    x, y = gn_tensor(a), b if other_kind == "scalar" else gn_tensor(b)
    xt, yt = torch_tensor(a), b if other_kind == "scalar" else torch_tensor(b)
    result = INPLACE[op](x, y)
    INPLACE[op](xt, yt)
    assert result is x
    assert x.dtype is gn.float64
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12)
    assert x._version == 1


def test_in_place_methods():
    a, b = randn(3, 4), away_from_zero(3, 4)
    for method, arg in (("add_", b), ("sub_", b), ("mul_", b), ("div_", b), ("clamp_", None)):
        x, xt = gn_tensor(a), torch_tensor(a)
        if method == "clamp_":
            getattr(x, method)(-0.5, 0.5)
            getattr(xt, method)(-0.5, 0.5)
        else:
            assert getattr(x, method)(gn_tensor(arg)) is x
            getattr(xt, method)(torch_tensor(arg))
        np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-12, err_msg=method)


def test_in_place_on_integer_and_bool_tensors():
    x, xt = gn_tensor(np.array([1, 2, 3])), torch_tensor(np.array([1, 2, 3]))
    x += 2
    xt += 2
    x *= gn_tensor(np.array([2, 3, 4]))
    xt *= torch_tensor(np.array([2, 3, 4]))
    np.testing.assert_array_equal(x.numpy(), xt.numpy())
    assert x.dtype is gn.int64
    m = gn_tensor(np.array([True, False, True]))
    m &= gn_tensor(np.array([True, True, False]))
    np.testing.assert_array_equal(m.numpy(), [True, False, False])
    m |= gn_tensor(np.array([False, True, False]))
    np.testing.assert_array_equal(m.numpy(), [True, True, False])
    m ^= True
    np.testing.assert_array_equal(m.numpy(), [False, False, True])


def test_in_place_cannot_change_dtype_category():
    # PyTorch refuses float results stored in integer tensors (x /= 2, x += 1.5).
    x = gn_tensor(np.array([1, 2, 3]))
    with pytest.raises((TypeError, RuntimeError)):
        x /= 2
    with pytest.raises((TypeError, RuntimeError)):
        x += 1.5
    np.testing.assert_array_equal(x.numpy(), [1, 2, 3])


def test_in_place_cannot_broadcast_the_target():
    x = gn_tensor(randn(4))
    with pytest.raises(RuntimeError):
        x += gn_tensor(randn(3, 4))


# ----- broadcasting over random shape pairs --------------------------------------------------

@st.composite
def broadcast_pair(draw):
    """Two broadcast-compatible shapes: a base shape, and one with leading dims dropped and
    some dims set to 1; randomly swapped."""
    base = draw(st.lists(st.integers(1, 4), min_size=0, max_size=3))
    drop = draw(st.integers(0, len(base)))
    other = [1 if draw(st.booleans()) else d for d in base[drop:]]
    pair = (tuple(base), tuple(other))
    return pair[::-1] if draw(st.booleans()) else pair


BROADCAST_OPS = {
    "add": (gn.add, torch.add), "sub": (gn.sub, torch.sub), "mul": (gn.mul, torch.mul),
    "div": (gn.div, torch.div), "maximum": (gn.maximum, torch.maximum),
}


@pytest.mark.parametrize("name", list(BROADCAST_OPS))
@given(shapes=broadcast_pair(), seed=st.integers(0, 2**16))
def test_broadcasting_against_torch(name, shapes, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shapes[0])
    b = rng.uniform(0.5, 2.0, shapes[1]) * rng.choice([-1.0, 1.0], shapes[1])
    gn_fn, torch_fn = BROADCAST_OPS[name]
    check_op(gn_fn, torch_fn, [a, b], gradcheck=False, float32=False)


@given(shapes=broadcast_pair(), seed=st.integers(0, 2**16))
def test_where_broadcasting_against_torch(shapes, seed):
    rng = np.random.default_rng(seed)
    cond = rng.random(shapes[1]) > 0.5
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    check_op(gn.where, torch.where, [cond, a, b], gradcheck=False, float32=False)


def test_incompatible_shapes_name_the_op():
    with pytest.raises(ValueError, match="add"):
        gn.add(gn.zeros(3, 4), gn.zeros(5))


# ----- type promotion ------------------------------------------------------------------------

DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


def _pair(dtype, shape):
    values = np.ones(shape) * 2 if shape else np.array(2)
    array = values.astype(np.dtype(dtype) if dtype != "bool" else np.bool_)
    return gn.from_numpy(array.copy()), torch.from_numpy(array.copy())


def _torch_dtype(fn, a, b):
    try:
        return dtype_name(fn(a, b).dtype)
    except RuntimeError:
        return None


PROMOTION_OPS = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b,
                 "div": lambda a, b: a / b}


CATEGORY = {"bool": 0, "uint8": 1, "int8": 1, "int32": 1, "int64": 1, "float16": 2,
            "float32": 2, "float64": 2}


def _zero_dim_outranks(shapes, da, db):
    """True when the 0-d operand is of a higher category than the 1-D one."""
    if shapes[0] == shapes[1]:
        return False
    zero, dim = (da, db) if shapes[0] == () else (db, da)
    return CATEGORY[zero] > CATEGORY[dim]


def _tensor_tensor_mismatches(op, shapes, select):
    fn = PROMOTION_OPS[op]
    mismatches = []
    for da, db in itertools.product(DTYPES, DTYPES):
        if not select(shapes, da, db):
            continue
        ga, ta = _pair(da, shapes[0])
        gb, tb = _pair(db, shapes[1])
        expected = _torch_dtype(fn, ta, tb)
        if expected is None:
            continue
        got = dtype_name(fn(ga, gb).dtype)
        if got != expected:
            mismatches.append(f"{da}{list(shapes[0])} {op} {db}{list(shapes[1])}: {got} != torch "
                              f"{expected}")
    return mismatches


SHAPE_PAIRS = pytest.mark.parametrize("shapes", [((3,), (3,)), ((), (3,)), ((3,), ())],
                                      ids=["1d-1d", "0d-1d", "1d-0d"])


@pytest.mark.parametrize("op", ["add", "mul", "div"])
@SHAPE_PAIRS
def test_tensor_tensor_promotion(op, shapes):
    mismatches = _tensor_tensor_mismatches(
        op, shapes, lambda s, da, db: not _zero_dim_outranks(s, da, db))
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("op", ["add", "mul", "div"])
@pytest.mark.parametrize("shapes", [((), (3,)), ((3,), ())], ids=["0d-1d", "1d-0d"])
def test_zero_dim_tensor_of_higher_category_keeps_its_dtype(op, shapes):
    mismatches = _tensor_tensor_mismatches(op, shapes, _zero_dim_outranks)
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("op", ["add", "mul", "div"])
@pytest.mark.parametrize("scalar", [3, 2.5, True], ids=["int", "float", "bool"])
def test_tensor_scalar_promotion(op, scalar):
    fn = PROMOTION_OPS[op]
    mismatches = []
    for dtype in DTYPES:
        for shape in ((3,), ()):
            g, t = _pair(dtype, shape)
            for left in (True, False):
                args_g, args_t = ((g, scalar), (t, scalar)) if left else ((scalar, g), (scalar, t))
                expected = _torch_dtype(fn, *args_t)
                if expected is None:
                    continue
                got = fn(*args_g)
                if dtype_name(got.dtype) != expected:
                    mismatches.append(f"{args_g[0]!r} {op} {args_g[1]!r}: {got.dtype} != {expected}")
                np.testing.assert_allclose(np.asarray(got.numpy(), np.float64),
                                           fn(*args_t).double().numpy(), rtol=1e-3)
    assert not mismatches, "\n".join(mismatches)


def test_promoted_values_match_torch():
    a = np.array([1.5, -2.25, 3.0], np.float16)
    b = np.array([2, 3, -4], np.int64)
    check_forward(gn.add, torch.add, [a, b])
    check_forward(gn.mul, torch.mul, [b, np.array([0.5, 0.25, 2.0], np.float32)])
    check_forward(gn.sub, torch.sub, [np.array([1, 2, 250], np.uint8), np.array([3, -1, 7], np.int8)])


def test_gradient_has_the_input_dtype_after_promotion():
    x = gn.from_numpy(np.array([1.0, 2.0], np.float32)).requires_grad_()
    scale = gn.from_numpy(np.array(3.0))  # a 0-d float64 tensor does not widen float32
    y = x * scale
    assert y.dtype is gn.float32
    y.sum().backward()
    assert x.grad.dtype is gn.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
