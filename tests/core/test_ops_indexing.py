"""Oracle tests of indexing: ``x[index]`` with every kind of index and its gradient,
``x[index] = value`` outside and inside a recorded graph, gather / take_along_axis, scatter_add,
index_select, one_hot and nonzero, against PyTorch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ganglion as gn
from tests.oracle import check_forward, check_op

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


# ----- getitem with basic indices -----------------------------------------------------------

BASIC_INDICES = [
    1,
    -1,
    (0, 2),
    (-1, -2, -3),
    slice(1, None),
    (slice(None), slice(0, 3, 2)),
    (slice(None, None, 2), slice(1, None, 2), slice(None, None, 3)),
    (Ellipsis, 1),
    (0, Ellipsis),
    (None, 1),
    (slice(None), None, slice(1, 3)),
    (Ellipsis, None),
    (1, None, Ellipsis, None, -1),
    (slice(-2, None), -1),
    (slice(5, 9),),
]


@pytest.mark.parametrize("index", BASIC_INDICES, ids=repr)
def test_getitem_basic(index):
    x = randn(2, 3, 4)
    check_op(lambda t: t[index], lambda t: t[index], [x])


def test_getitem_basic_second_order():
    x = randn(3, 4)
    check_op(lambda t: (t * t)[1:, ::2], lambda t: (t * t)[1:, ::2], [x], second_order=True)


def test_getitem_negative_step_matches_numpy():
    # PyTorch does not take negative steps; NumPy's result is the reference here.
    x = randn(4, 3)
    t = gn.from_numpy(x.copy()).requires_grad_()
    out = t[::-2, 1]
    np.testing.assert_array_equal(out.detach().numpy(), x[::-2, 1])
    out.sum().backward()
    expected = np.zeros_like(x)
    expected[::-2, 1] = 1.0
    np.testing.assert_array_equal(t.grad.numpy(), expected)


def test_getitem_out_of_range_names_the_op_and_shape():
    with pytest.raises(IndexError, match=r"getitem: .*\(2, 3\)"):
        gn.zeros(2, 3)[5]


def test_getitem_with_a_float_index_raises():
    with pytest.raises(IndexError, match="integer or bool"):
        gn.zeros(2, 3)[gn.tensor([0.0, 1.0])]


# ----- getitem with integer arrays ----------------------------------------------------------

INT_INDICES = [
    np.array([2, 0]),
    np.array([1, 1, 1, -1]),            # repeated positions: gradients add up
    np.array([[0, 2], [2, 2]]),
    np.array(1),                        # a 0-d index tensor acts like an int
]


@pytest.mark.parametrize("index", INT_INDICES, ids=lambda a: str(a.tolist()))
def test_getitem_integer_tensor(index):
    x = randn(3, 4)
    check_op(lambda t, i: t[i], lambda t, i: t[i], [x, index])
    check_op(lambda t, i: t[:, i], lambda t, i: t[:, i], [x, index])


def test_getitem_integer_list_with_repeats_accumulates():
    x = randn(4, 3)
    check_op(lambda t: t[[0, 3, 0, 0]], lambda t: t[[0, 3, 0, 0]], [x])
    t = gn.from_numpy(x.copy()).requires_grad_()
    t[[1, 1, 2]].sum().backward()
    np.testing.assert_array_equal(t.grad.numpy()[:, 0], [0.0, 2.0, 1.0, 0.0])


def test_getitem_integer_arrays_second_order():
    x = randn(3, 4)
    rows, cols = np.array([0, 2, 0]), np.array([1, 1, 1])
    check_op(lambda t, r, c: (t * t)[r, c], lambda t, r, c: (t * t)[r, c], [x, rows, cols],
             second_order=True)


@pytest.mark.parametrize("index", [
    lambda i, j: (i, j),                                  # pairs of positions
    lambda i, j: (i, slice(None), j),                     # advanced parts split by a slice
    lambda i, j: (slice(None), i, j),
    lambda i, j: (i, slice(1, 3)),                        # advanced then basic
    lambda i, j: (Ellipsis, j),
    lambda i, j: (i[:, None], j),                         # broadcast index arrays
    lambda i, j: (1, i, None, slice(None, None, 2)),
    lambda i, j: (slice(None), None, j, 0),
])
def test_getitem_mixed_advanced_and_basic(index):
    x = randn(3, 4, 4)
    i = np.array([0, 2, 2])
    j = np.array([1, 3, 1])
    check_op(lambda t, a, b: t[index(a, b)], lambda t, a, b: t[index(a, b)], [x, i, j])


def test_getitem_with_labels_picks_log_probabilities():
    # logp[arange(n), y]: the usual cross-entropy gather.
    logits = randn(5, 3)
    labels = np.array([0, 2, 1, 1, 0])
    check_op(lambda t, y: t.log_softmax(1)[gn.arange(5), y],
             lambda t, y: t.log_softmax(1)[torch.arange(5), y], [logits, labels])


# ----- getitem with boolean masks -----------------------------------------------------------

def test_getitem_boolean_mask_full():
    x = randn(3, 4)
    mask = x > 0.2
    check_op(lambda t, m: t[m], lambda t, m: t[m], [x, mask])
    check_op(lambda t: t[t > 0.2], lambda t: t[t > 0.2], [x])


def test_getitem_boolean_mask_over_leading_dims_and_after_slice():
    x = randn(2, 3, 4)
    check_op(lambda t, m: t[m], lambda t, m: t[m], [x, np.array([[True, False, True], [False, False, True]])])
    check_op(lambda t, m: t[:, m], lambda t, m: t[:, m], [x, np.array([True, False, True])])
    check_op(lambda t, m: t[..., m], lambda t, m: t[..., m], [x, np.array([False, True, True, False])])


def test_getitem_boolean_list_is_a_mask():
    x = randn(3, 2)
    check_op(lambda t: t[[True, False, True]], lambda t: t[[True, False, True]], [x])


def test_getitem_boolean_mask_selecting_nothing():
    x = randn(3, 2)
    check_op(lambda t, m: t[m], lambda t, m: t[m], [x, np.zeros(3, dtype=bool)], gradcheck=False)


# ----- setitem ------------------------------------------------------------------------------

def _both(x):
    return gn.from_numpy(x.copy()), torch.from_numpy(x.copy())


def test_setitem_without_grad_values_broadcast_and_mask():
    x = randn(3, 4)
    g, t = _both(x)
    g[1] = 5.0
    t[1] = 5.0
    g[:, 2] = gn.tensor([1.0, 2.0, 3.0], dtype=gn.float64)
    t[:, 2] = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    g[0, 1:] = gn.tensor([7.0], dtype=gn.float64)
    t[0, 1:] = torch.tensor([7.0], dtype=torch.float64)
    g[g > 2.5] = -1.0
    t[t > 2.5] = -1.0
    g[[0, 2], [3, 3]] = 9
    t[[0, 2], [3, 3]] = 9
    g[..., None, 0] = gn.tensor([[4.0], [5.0], [6.0]], dtype=gn.float64)
    t[..., None, 0] = torch.tensor([[4.0], [5.0], [6.0]], dtype=torch.float64)
    np.testing.assert_array_equal(g.numpy(), t.numpy())


def test_setitem_writes_in_place_and_bumps_the_version():
    array = np.zeros((2, 3))
    g = gn.from_numpy(array)
    version = g._version
    g[0, 0] = 1.0
    assert array[0, 0] == 1.0 and g._version == version + 1


def test_setitem_casts_the_value_to_the_tensor_dtype():
    g = gn.zeros(3, dtype=gn.int64)
    g[1] = 2.7
    t = torch.zeros(3, dtype=torch.int64)
    t[1] = 2.7
    np.testing.assert_array_equal(g.numpy(), t.numpy())
    assert g.dtype is gn.int64


def test_setitem_of_array_or_list_values_keeps_float64_precision():
    g = gn.zeros(3, dtype=gn.float64)
    g[:2] = np.array([0.1, 0.2])
    g[2:] = [0.3]
    np.testing.assert_array_equal(g.numpy(), [0.1, 0.2, 0.3])
    big = gn.zeros(2, dtype=gn.int64)
    big[:] = np.array([2**53 + 1, 3])
    assert big[0].item() == 2**53 + 1


@pytest.mark.parametrize("index", [0, (slice(None), 1), (slice(1, None), slice(None, None, 2)),
                                   (np.array([2, 0]),), (Ellipsis, -1)], ids=repr)
def test_setitem_on_a_non_leaf_in_a_recorded_graph(index):
    def assign(t):
        y = t * 2
        y[index] = 0.0
        return y * t
    check_op(assign, assign, [randn(3, 4)], second_order=True)


def test_setitem_on_a_non_leaf_backward_as_in_torch():
    x = randn(3, 4)
    g = gn.from_numpy(x.copy()).requires_grad_()
    y = g * 2
    y[0] = 0
    y.sum().backward()
    t = torch.from_numpy(x.copy()).requires_grad_()
    z = t * 2
    z[0] = 0
    z.sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())
    np.testing.assert_array_equal(g.grad.numpy()[0], 0.0)


def test_setitem_with_a_mask_on_a_non_leaf():
    def clip_negative(t):
        y = t * 3
        y[y < 0] = 0.5
        return y
    # Compiled too: on placeholders the mask reads y, which the assignment then replaces (graph
    # extraction used to loop forever on the cycle that made).
    check_op(clip_negative, clip_negative, [randn(3, 4)])


def _rows_by_sign(t):
    y = t * 2
    y[(y[:, 0] > 0).long()] = -1.0   # the index rows are read from y before it is assigned
    return y


def _shift_right(t):
    y = t * 2
    y[:, 1:] = y[:, :-1] * 3         # the value is read from y before it is assigned
    return y


def _row_from_row(t, v):
    y = t + 1
    y[0] = y[1] * v                  # the value reads y and another input
    return y


def _row_from_row_torch(t, v):
    # PyTorch refuses the gradient of y[1] * v once y changes in place (mul saved a view of y):
    # the clone is what ganglion's rebind does for the same code.
    y = t + 1
    y[0] = y[1].clone() * v
    return y


def _masked_by_itself_twice(t):
    y = t * 1.5
    y[y < 0] = 0.0
    y[y > 0.5] = y[y > 0.5] * 2      # reads the first assignment's result
    return y


@pytest.mark.parametrize("fn, torch_fn, shapes",
                         [(_rows_by_sign, _rows_by_sign, [(4, 3)]), (_shift_right, _shift_right, [(3, 4)]),
                          (_row_from_row, _row_from_row_torch, [(3, 4), (4,)]),
                          (_masked_by_itself_twice, _masked_by_itself_twice, [(3, 4)])],
                         ids=["index", "slice", "value", "mask twice"])
def test_setitem_whose_index_or_value_reads_the_assigned_tensor(fn, torch_fn, shapes):
    # Eager (and its gradients) against PyTorch, and compiled from placeholders: the index and
    # value are read before the assignment, so the assigned tensor does not depend on itself.
    check_op(fn, torch_fn, [randn(*s) for s in shapes])


def test_setitem_value_that_requires_grad_gets_its_gradient():
    def assign(t, v):
        y = t * 1.5
        y[1:, 2] = v
        return y * y
    check_op(assign, assign, [randn(3, 4), randn(2)])
    # A broadcast value sums its gradient over the positions it was written to.
    check_op(assign, assign, [randn(3, 4), randn(1)])


def test_setitem_into_a_tensor_without_grad_records_the_value():
    def assign(v):
        y = v.new_zeros((3, 2)) if isinstance(v, torch.Tensor) else gn.zeros(3, 2, dtype=v.dtype)
        y[1] = v
        return y
    check_op(assign, assign, [randn(2)])


def test_setitem_on_a_leaf_that_requires_grad_raises():
    x = gn.zeros(2, 3, dtype=gn.float64).requires_grad_()
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 1.0
    with gn.no_grad():
        x[0] = 1.0
    np.testing.assert_array_equal(x.detach().numpy()[0], 1.0)


# ----- gather / take_along_axis -------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(dim):
    x = randn(3, 4)
    index = rng.integers(0, x.shape[dim], size=(3, 4))
    check_op(lambda t, i: t.gather(dim, i), lambda t, i: t.gather(dim, i), [x, index])
    check_op(lambda t, i: gn.gather(t, dim, i), lambda t, i: torch.gather(t, dim, i), [x, index])


def test_gather_with_index_smaller_than_input_and_repeats():
    x = randn(4, 5, 3)
    # torch.gather reads only the leading block of the non-gather dims.
    index = np.array([[[0, 4], [4, 4], [1, 0]], [[2, 2], [3, 0], [4, 4]]])
    check_op(lambda t, i: t.gather(1, i), lambda t, i: t.gather(1, i), [x, index], second_order=True)
    longer = rng.integers(0, 3, size=(2, 1, 6))
    check_op(lambda t, i: t.gather(2, i), lambda t, i: t.gather(2, i), [x, longer])


def test_gather_with_index_of_wrong_rank_raises():
    with pytest.raises(ValueError, match="gather"):
        gn.zeros(3, 4).gather(1, gn.tensor([0, 1]))
    with pytest.raises(TypeError, match="gather: index must be an integer"):
        gn.zeros(3, 4).gather(1, gn.zeros(3, 4))


def test_take_along_axis_matches_numpy_and_torch():
    x = randn(3, 4)
    index = np.argsort(x, axis=1)
    np.testing.assert_array_equal(gn.take_along_axis(gn.from_numpy(x), gn.from_numpy(index), 1).numpy(),
                                  np.take_along_axis(x, index, 1))
    check_op(lambda t, i: gn.take_along_axis(t, i, axis=1), lambda t, i: torch.take_along_dim(t, i, 1),
             [x, index])
    check_op(lambda t, i: t.take_along_axis(i, 0), lambda t, i: torch.take_along_dim(t, i, 0),
             [x, np.array([[2, 0, 1, 1]])])


def test_take_along_axis_broadcasts_the_index_like_numpy():
    x = randn(2, 3, 4)
    index = np.array([[[1, 3]]])
    np.testing.assert_array_equal(gn.take_along_axis(gn.from_numpy(x), gn.from_numpy(index), 2).numpy(),
                                  np.take_along_axis(x, index, 2))
    check_op(lambda t, i: gn.take_along_axis(t, i, 2), lambda t, i: torch.take_along_dim(t, i, 2),
             [x, index])


# ----- scatter_add --------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_add(dim):
    x = randn(3, 4)
    src = randn(3, 4)
    index = rng.integers(0, x.shape[dim], size=(3, 4))  # repeats are likely: they must add up
    check_op(lambda a, i, s: a.scatter_add(dim, i, s), lambda a, i, s: a.scatter_add(dim, i, s),
             [x, index, src], second_order=True)
    check_op(lambda a, i, s: gn.scatter_add(a, dim, i, s), lambda a, i, s: torch.scatter_add(a, dim, i, s),
             [x, index, src])


@pytest.mark.parametrize("dim, index", [(1, [[0, 4, 4], [2, 2, 1]]), (0, [[0, 2, 0], [0, 1, 2]])])
def test_scatter_add_with_index_smaller_than_src_and_input(dim, index):
    x, src, index = randn(3, 5), randn(4, 6), np.array(index)
    check_forward(lambda a, i, s: a.scatter_add(dim, i, s), lambda a, i, s: a.scatter_add(dim, i, s),
                  [x, index, src])
    # PyTorch's own backward fails here (it returns src's gradient in the index's shape), so the
    # reference is worked out by hand: src entries that the index does not reach get zero.
    a = gn.from_numpy(x.copy()).requires_grad_()
    s = gn.from_numpy(src.copy()).requires_grad_()
    weights = randn(3, 5)
    (a.scatter_add(dim, gn.from_numpy(index), s) * gn.from_numpy(weights)).sum().backward()
    expected = np.zeros_like(src)
    expected[:2, :3] = np.take_along_axis(weights[:2] if dim == 1 else weights[:, :3], index, dim)
    np.testing.assert_allclose(a.grad.numpy(), weights)
    np.testing.assert_allclose(s.grad.numpy(), expected)
    assert gn.autograd.gradcheck(lambda p, q: p.scatter_add(dim, gn.from_numpy(index), q),
                                 [gn.from_numpy(x.copy()).requires_grad_(),
                                  gn.from_numpy(src.copy()).requires_grad_()])


def test_scatter_add_values():
    out = gn.zeros(3).scatter_add(0, gn.tensor([0, 2, 0, 0]), gn.tensor([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(out.numpy(), [8.0, 0.0, 2.0])


# ----- index_select / one_hot / nonzero -----------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_index_select(dim):
    x = randn(3, 4, 5)
    index = np.array([2, 0, 2, 1])
    check_op(lambda t, i: t.index_select(dim, i), lambda t, i: t.index_select(dim, i), [x, index])
    check_op(lambda t, i: gn.index_select(t, dim, i), lambda t, i: torch.index_select(t, dim, i),
             [x, index], second_order=True)


def test_index_select_needs_a_1d_integer_index():
    with pytest.raises(ValueError, match="index_select: index must be 1-D"):
        gn.zeros(3, 4).index_select(0, gn.tensor([[0]]))
    with pytest.raises(TypeError, match="index_select"):
        gn.zeros(3, 4).index_select(0, gn.tensor([0.0]))


@pytest.mark.parametrize("labels, classes", [([0, 2, 1, 2], 3), ([[0, 4], [1, 1]], 5),
                                             ([3, 0], -1), (2, 4)])
def test_one_hot(labels, classes):
    check_forward(lambda t: gn.one_hot(t, classes), lambda t: F.one_hot(t, classes),
                  [np.array(labels, dtype=np.int64)])
    np.testing.assert_array_equal(gn.one_hot(gn.tensor(labels), num_classes=classes).numpy(),
                                  F.one_hot(torch.tensor(labels), num_classes=classes).numpy())


def test_one_hot_errors():
    with pytest.raises(ValueError, match=r"one_hot: class value 3 is out of range .*\[0, 3\)"):
        gn.one_hot(gn.tensor([0, 3]), 3)
    with pytest.raises(TypeError, match="one_hot"):
        gn.one_hot(gn.tensor([0.0, 1.0]), 3)


@pytest.mark.parametrize("values", [[[0.0, 1.5], [-2.0, 0.0]], [0, 3, 0, 1], [[[True, False]], [[True, True]]],
                                    [[0.0, 0.0]]])
def test_nonzero(values):
    x = np.array(values)
    check_forward(lambda t: t.nonzero(), lambda t: t.nonzero(), [x])
    check_forward(lambda t: gn.nonzero(t, as_tuple=True), lambda t: torch.nonzero(t, as_tuple=True), [x])
    check_forward(lambda t: gn.where(t), lambda t: torch.where(t), [x])


def test_gather_and_scatter_add_refuse_indices_out_of_range():
    x = gn.zeros(2, 3)
    with pytest.raises(IndexError, match=r"gather: index -1 is out of range .* \(indices must be in \[0, 3\)\)"):
        x.gather(1, gn.tensor([[0, -1], [1, 2]]))
    with pytest.raises(IndexError, match="gather"):
        x.gather(0, gn.tensor([[2, 0, 0]]))
    with pytest.raises(IndexError, match=r"scatter_add: index 2 is out of range .*\[0, 2\)"):
        x.scatter_add(0, gn.tensor([[0, 1, 2]]), gn.ones(1, 3))
