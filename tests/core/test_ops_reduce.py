"""Oracle tests of the reductions (sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std,
logsumexp, all/any) and the cumsum scan: forward and backward against PyTorch, gradients against
central differences, over every way of naming the axes (None, int, negative, tuple, axis=/dim=,
keepdims=/keepdim=)."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import ganglion as gn
from tests.oracle import check_forward, check_op

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def nonzero_randn(*shape):
    """Values away from zero, so that prod's gradient (prod / x) is well conditioned."""
    values = rng.uniform(0.5, 1.5, shape)
    return values * rng.choice([-1.0, 1.0], shape)


def torch_dim(axis, ndim):
    """PyTorch's spelling of a NumPy ``axis``: None becomes every dimension."""
    return tuple(range(ndim)) if axis is None else axis


AXES_3D = [None, 0, 1, -1, -3, (0, 2), (-1, 0), (0, 1, 2)]


# ----- sum / mean ---------------------------------------------------------------------------

@pytest.mark.parametrize("axis", AXES_3D)
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_axes(axis, keepdims):
    x = randn(2, 3, 4)
    check_op(lambda t: gn.sum(t, axis=axis, keepdims=keepdims),
             lambda t: torch.sum(t, dim=torch_dim(axis, 3), keepdim=keepdims), [x])


@pytest.mark.parametrize("axis", AXES_3D)
@pytest.mark.parametrize("keepdims", [False, True])
def test_mean_axes(axis, keepdims):
    x = randn(2, 3, 4)
    check_op(lambda t: gn.mean(t, axis=axis, keepdims=keepdims),
             lambda t: torch.mean(t, dim=torch_dim(axis, 3), keepdim=keepdims), [x])


def test_sum_mean_dim_and_keepdim_aliases():
    x = randn(3, 4)
    check_op(lambda t: t.sum(dim=1, keepdim=True), lambda t: t.sum(dim=1, keepdim=True), [x])
    check_op(lambda t: t.mean(dim=-2, keepdim=True), lambda t: t.mean(dim=-2, keepdim=True), [x])
    check_op(lambda t: t.sum(1), lambda t: t.sum(1), [x])
    check_op(lambda t: t.mean((0, 1)), lambda t: t.mean((0, 1)), [x])


def test_sum_and_mean_second_order():
    x = randn(3, 4)
    # sum(x * x) has a non-zero second derivative, so the double backward is exercised.
    check_op(lambda t: (t * t).sum(axis=0), lambda t: (t * t).sum(dim=0), [x], second_order=True)
    check_op(lambda t: (t * t).mean(axis=1), lambda t: (t * t).mean(dim=1), [x], second_order=True)


def test_sum_of_integers_and_bools_is_int64():
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    check_forward(lambda t: t.sum(0), lambda t: t.sum(0), [x])
    check_forward(lambda t: t.sum(), lambda t: t.sum(), [x > 5])
    assert gn.from_numpy(x).sum().dtype is gn.int64


def test_sum_dtype_argument():
    x = np.arange(6, dtype=np.int64).reshape(2, 3)
    out = gn.from_numpy(x).sum(1, dtype=gn.float64)
    assert out.dtype is gn.float64
    np.testing.assert_array_equal(out.numpy(), [3.0, 12.0])


def test_mean_of_integers_raises():
    with pytest.raises(TypeError, match="mean"):
        gn.from_numpy(np.arange(4)).mean()


# ----- prod ---------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_prod(axis):
    x = nonzero_randn(3, 4)
    if axis is None:
        check_op(lambda t: gn.prod(t), lambda t: torch.prod(t), [x], second_order=True)
    else:
        check_op(lambda t: gn.prod(t, axis=axis), lambda t: torch.prod(t, dim=axis), [x])


def test_prod_keepdim_and_tuple_axes():
    x = nonzero_randn(2, 3, 4)
    check_op(lambda t: t.prod(dim=1, keepdim=True), lambda t: t.prod(dim=1, keepdim=True), [x])
    check_op(lambda t: gn.prod(t, axis=(0, 2)), lambda t: t.prod(dim=2).prod(dim=0), [x])


# ----- max / min ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("axis", AXES_3D)
@pytest.mark.parametrize("keepdims", [False, True])
def test_max_min_numpy_style_returns_values(kind, axis, keepdims):
    x = randn(2, 3, 4)
    torch_fn = torch.amax if kind == "max" else torch.amin
    check_op(lambda t: getattr(t, kind)(axis=axis, keepdims=keepdims),
             lambda t: torch_fn(t, dim=torch_dim(axis, 3), keepdim=keepdims), [x])


@pytest.mark.parametrize("kind", ["max", "min"])
def test_max_min_full_reduction(kind):
    x = randn(3, 4)
    check_op(lambda t: getattr(gn, kind)(t), lambda t: getattr(torch, kind)(t), [x])
    check_op(lambda t: getattr(t, kind)(), lambda t: getattr(t, kind)(), [x])


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_torch_style_returns_values_and_indices(kind, dim, keepdim):
    x = randn(3, 4)
    # Positional dim (x.max(1)) and keyword dim (x.max(dim=1)) both give (values, indices).
    for call in (lambda t: getattr(t, kind)(dim, keepdim), lambda t: getattr(t, kind)(dim=dim, keepdim=keepdim)):
        gn_out = call(gn.from_numpy(x))
        torch_out = call(torch.from_numpy(x))
        assert isinstance(gn_out, tuple) and len(gn_out) == 2
        np.testing.assert_array_equal(gn_out.values.numpy(), torch_out.values.numpy())
        np.testing.assert_array_equal(gn_out.indices.numpy(), torch_out.indices.numpy())
        assert gn_out.indices.dtype is gn.int64
        values, indices = gn_out
        assert values is gn_out.values and indices is gn_out.indices
    # The gradient flows through the values; the indices carry none.
    check_op(lambda t: getattr(t, kind)(dim, keepdim)[0],
             lambda t: getattr(t, kind)(dim, keepdim)[0], [x])
    assert not getattr(gn.from_numpy(x).requires_grad_(), kind)(dim)[1].requires_grad


def test_max_with_tensor_argument_is_elementwise():
    a, b = randn(3, 4), randn(3, 4)
    check_op(lambda s, t: s.max(t), lambda s, t: torch.max(s, t), [a, b])
    check_op(lambda s, t: gn.min(s, t), lambda s, t: torch.min(s, t), [a, b])


TIES = np.array([[1.0, 3.0, 3.0, 0.0],
                 [2.0, 2.0, 2.0, 2.0],
                 [-1.0, 5.0, -1.0, 4.0]])


@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_max_min_share_the_gradient_among_ties_like_amax(kind, axis):
    torch_fn = torch.amax if kind == "max" else torch.amin
    # Central differences are meaningless at a tie (the function has a kink there).
    check_op(lambda t: getattr(t, kind)(axis=axis),
             lambda t: torch_fn(t, dim=torch_dim(axis, 2)), [TIES], gradcheck=False)
    check_op(lambda t: getattr(gn, "a" + kind)(t, axis),
             lambda t: torch_fn(t, dim=torch_dim(axis, 2)), [TIES], gradcheck=False)


def test_max_torch_style_with_ties_shares_gradient_and_gives_first_index():
    x = gn.from_numpy(TIES.copy()).requires_grad_()
    values, indices = x.max(1)
    np.testing.assert_array_equal(indices.numpy(), [1, 0, 1])
    values.sum().backward()
    t = torch.from_numpy(TIES.copy()).requires_grad_()
    torch.amax(t, 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_max_second_order_is_zero_like_torch():
    x = randn(3, 4)
    check_op(lambda t: (t * t).max(axis=1), lambda t: torch.amax(t * t, 1), [x], second_order=True)


@pytest.mark.parametrize("kind", ["amax", "amin"])
def test_amax_amin(kind):
    x = randn(2, 3, 4)
    fn = getattr(torch, kind)
    check_op(lambda t: getattr(gn, kind)(t, axis=(0, 2), keepdims=True),
             lambda t: fn(t, dim=(0, 2), keepdim=True), [x])
    check_op(lambda t: getattr(t, kind)(dim=-1), lambda t: getattr(t, kind)(dim=-1), [x])
    check_op(lambda t: getattr(gn, kind)(t), lambda t: fn(t, dim=(0, 1, 2)), [x])


def test_max_of_empty_tensor_raises():
    # PyTorch's type: a RuntimeError, asking for a dim (over a non-empty one the result is empty)
    with pytest.raises(RuntimeError, match=r"max: expected a reduction dim .* \(0, 3\)"):
        gn.zeros(0, 3).max()
    assert gn.zeros(0, 3).max(dim=1).values.shape == (0,)


# ----- argmax / argmin ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["argmax", "argmin"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_argmin(kind, dim, keepdim):
    x = randn(3, 4)
    check_forward(lambda t: getattr(t, kind)(dim=dim, keepdim=keepdim),
                  lambda t: getattr(t, kind)(dim=dim, keepdim=keepdim), [x])
    check_forward(lambda t: getattr(gn, kind)(t, axis=dim, keepdims=keepdim),
                  lambda t: getattr(torch, kind)(t, dim=dim, keepdim=keepdim), [x])


def test_argmax_returns_first_of_ties_and_is_not_differentiable():
    x = gn.from_numpy(TIES.copy()).requires_grad_()
    out = x.argmax(1)
    np.testing.assert_array_equal(out.numpy(), [1, 0, 1])
    np.testing.assert_array_equal(x.argmin(1).numpy(), [3, 0, 0])
    assert out.dtype is gn.int64 and not out.requires_grad


# ----- var / std ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["var", "std"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_var_std_default_is_unbiased(kind, axis, keepdims):
    x = randn(2, 3, 4)
    check_op(lambda t: getattr(t, kind)(axis=axis, keepdims=keepdims),
             lambda t: getattr(torch, kind)(t, dim=torch_dim(axis, 3), keepdim=keepdims), [x])


@pytest.mark.parametrize("kind", ["var", "std"])
def test_var_std_correction_and_ddof(kind):
    x = randn(3, 5)
    torch_fn = getattr(torch, kind)
    check_op(lambda t: getattr(t, kind)(dim=1, correction=0),
             lambda t: torch_fn(t, dim=1, correction=0), [x])
    check_op(lambda t: getattr(gn, kind)(t, axis=0, ddof=0),
             lambda t: torch_fn(t, dim=0, correction=0), [x])
    check_op(lambda t: getattr(gn, kind)(t, axis=1, ddof=2),
             lambda t: torch_fn(t, dim=1, correction=2), [x])
    check_op(lambda t: getattr(t, kind)(1, unbiased=False),
             lambda t: torch_fn(t, 1, unbiased=False), [x])
    np.testing.assert_allclose(getattr(gn.from_numpy(x), kind)(axis=1, ddof=0).numpy(),
                               getattr(np, kind)(x, axis=1))


def test_var_second_order():
    x = randn(3, 4)
    check_op(lambda t: t.var(1), lambda t: t.var(1), [x], second_order=True)
    check_op(lambda t: t.std(), lambda t: t.std(), [x], second_order=True)


def test_var_of_one_element_is_nan_like_torch():
    # One sample and correction 1: zero degrees of freedom. PyTorch gives nan, forward and
    # backward, with a warning; it must not be an exception.
    x = randn(1, 3)
    with pytest.warns(RuntimeWarning):
        check_op(lambda t: t.var(0), lambda t: t.var(0), [x], gradcheck=False, float32=False)


def test_var_of_integers_is_float():
    out = gn.tensor([1, 2, 3, 4]).var()
    assert out.dtype.is_floating_point
    np.testing.assert_allclose(out.item(), np.var([1, 2, 3, 4], ddof=1), rtol=1e-6)


# ----- logsumexp ----------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp(axis, keepdims):
    x = randn(3, 4)
    check_op(lambda t: t.logsumexp(dim=axis, keepdim=keepdims),
             lambda t: torch.logsumexp(t, dim=axis, keepdim=keepdims), [x])


def test_logsumexp_full_reduction_and_second_order():
    x = randn(3, 4)
    check_op(lambda t: gn.logsumexp(t), lambda t: torch.logsumexp(t, dim=(0, 1)), [x],
             second_order=True)


def test_logsumexp_of_huge_values_does_not_overflow():
    x = np.array([[1000.0, 1000.0, 990.0], [-1000.0, -1001.0, -1e4]])
    check_op(lambda t: t.logsumexp(1), lambda t: torch.logsumexp(t, 1), [x], float32=False)
    np.testing.assert_allclose(gn.from_numpy(x).logsumexp(1).numpy()[0],
                               1000.0 + np.log(2.0 + np.exp(-10.0)))


def test_logsumexp_with_minus_inf_rows():
    x = np.array([[0.0, -np.inf, 1.0], [-np.inf, -np.inf, -np.inf]])
    out = gn.from_numpy(x).logsumexp(1).numpy()
    np.testing.assert_allclose(out, [np.log(1.0 + np.e), -np.inf])
    # PyTorch's gradient is nan on an all -inf row, and exact elsewhere: ganglion must agree.
    check_op(lambda t: t.logsumexp(1), lambda t: torch.logsumexp(t, 1), [x], gradcheck=False)
    t = gn.from_numpy(x[:1].copy()).requires_grad_()
    t.logsumexp(1).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), [[1.0 / (1.0 + np.e), 0.0, np.e / (1.0 + np.e)]])


# ----- all / any ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["all", "any"])
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_all_any(kind, dim, keepdim):
    x = rng.random((2, 3, 4)) > 0.3
    x[0, 0] = True
    x[1, 1] = False
    check_forward(lambda t: getattr(t, kind)(dim=torch_dim(dim, 3), keepdim=keepdim),
                  lambda t: getattr(torch, kind)(t, dim=torch_dim(dim, 3), keepdim=keepdim), [x])
    check_forward(lambda t: getattr(gn, kind)(t, axis=dim, keepdims=keepdim),
                  lambda t: getattr(torch, kind)(t, dim=torch_dim(dim, 3), keepdim=keepdim), [x])


def test_all_any_of_numbers():
    x = np.array([[0.0, 1.5], [2.0, -1.0]])
    np.testing.assert_array_equal(gn.from_numpy(x).all(1).numpy(), [False, True])
    np.testing.assert_array_equal(gn.from_numpy(x).any(0).numpy(), [True, True])
    assert gn.from_numpy(x).all(1).dtype is gn.bool


# ----- cumsum -------------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1, -3])
def test_cumsum(dim):
    x = randn(2, 3, 4)
    check_op(lambda t: t.cumsum(dim), lambda t: torch.cumsum(t, dim), [x])
    check_op(lambda t: gn.cumsum(t, axis=dim), lambda t: torch.cumsum(t, dim=dim), [x])


def test_cumsum_second_order_and_flat_axis_none():
    x = randn(3, 4)
    check_op(lambda t: (t * t).cumsum(dim=1), lambda t: (t * t).cumsum(dim=1), [x], second_order=True)
    check_op(lambda t: gn.cumsum(t), lambda t: torch.cumsum(t.reshape(-1), 0), [x])


def test_cumsum_of_integers_and_bools_is_int64():
    check_forward(lambda t: t.cumsum(0), lambda t: t.cumsum(0), [np.arange(5, dtype=np.int32)])
    check_forward(lambda t: t.cumsum(1), lambda t: t.cumsum(1), [np.eye(3, dtype=bool)])


def test_reduction_axis_out_of_range_names_the_op():
    x = gn.zeros(2, 3)
    with pytest.raises(IndexError, match="sum: axis 2"):
        x.sum(2)
    with pytest.raises(ValueError, match="mean: repeated axis"):
        x.mean((1, -1))


# ----- random shapes and axes ---------------------------------------------------------------

@st.composite
def shape_and_axis(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        dims = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axis = tuple(d - ndim if draw(st.booleans()) else d for d in dims)
    return shape, axis, draw(st.booleans())


@given(shape_and_axis(), st.sampled_from(["sum", "mean", "max", "var"]))
def test_reductions_on_random_shapes_and_axes(case, kind):
    shape, axis, keepdims = case
    x = np.random.default_rng(abs(hash((shape, axis)))).standard_normal(shape)
    dim = torch_dim(axis, len(shape))
    torch_fns = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "var": torch.var}
    gn_fn = lambda t: getattr(gn, kind)(t, axis=axis, keepdims=keepdims)  # noqa: E731
    torch_fn = lambda t: torch_fns[kind](t, dim=dim, keepdim=keepdims)  # noqa: E731
    reduced = x.size // gn.sum(gn.from_numpy(x), axis=axis, keepdims=keepdims).numel()
    if kind == "var" and reduced < 2:
        # No degrees of freedom: nan everywhere, which central differences cannot check.
        with pytest.warns(RuntimeWarning):
            check_op(gn_fn, torch_fn, [x], gradcheck=False, float32=False)
        return
    check_op(gn_fn, torch_fn, [x])


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "amax", "amin", "logsumexp", "cumsum"])
@pytest.mark.parametrize("dim", [0, -1])
def test_reductions_of_a_0d_tensor_over_dim_0_or_minus_1(name, dim):
    # PyTorch treats a 0-d tensor as 1-d here (loss.sum(0) on a scalar loss works).
    x = np.array(1.5)
    check_op(lambda t: getattr(t, name)(dim), lambda t: getattr(t, name)(dim), [x])


def test_max_and_argmax_of_a_0d_tensor():
    x = np.array(1.5)
    check_op(lambda t: t.max(0)[0], lambda t: t.max(0)[0], [x])
    check_forward(lambda t: t.argmax(-1), lambda t: t.argmax(-1), [x])
    with pytest.raises(IndexError, match="sum"):
        gn.tensor(1.0).sum(1)
