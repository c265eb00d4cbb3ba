"""Oracle tests of the shape ops: reshape/view, flatten, squeeze/unsqueeze, transpose/permute/.T,
expand/broadcast_to, repeat/tile, cat/stack, split/chunk, pad and flip, forward and backward
against PyTorch (and NumPy where ganglion follows NumPy), plus the errors for shapes that do not
fit."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ganglion as gn
from tests.oracle import check_forward, check_op

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


# ----- reshape / view / flatten -------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 4), (4, -1), (-1,), (2, 3, 4), (3, -1, 2), (24,)])
def test_reshape_and_view(shape):
    x = randn(2, 3, 4)
    check_op(lambda t: t.reshape(shape), lambda t: t.reshape(shape), [x])
    check_op(lambda t: t.view(*shape), lambda t: t.view(*shape), [x])
    check_op(lambda t: gn.reshape(t, shape), lambda t: torch.reshape(t, shape), [x])


def test_reshape_second_order_and_as():
    x = randn(2, 6)
    check_op(lambda t: (t * t).reshape(3, 4), lambda t: (t * t).reshape(3, 4), [x], second_order=True)
    y = randn(4, 3)
    check_op(lambda s, t: s.view_as(t) * t, lambda s, t: s.view_as(t) * t, [x, y])
    check_op(lambda s, t: s.reshape_as(t) + t, lambda s, t: s.reshape_as(t) + t, [x, y])


@pytest.mark.parametrize("start, end", [(0, -1), (1, -1), (0, 1), (1, 2), (-2, -1), (2, 2)])
def test_flatten(start, end):
    x = randn(2, 3, 4)
    check_op(lambda t: t.flatten(start, end), lambda t: t.flatten(start, end), [x])
    check_op(lambda t: gn.flatten(t, start_dim=start, end_dim=end),
             lambda t: torch.flatten(t, start_dim=start, end_dim=end), [x])


def test_flatten_that_merges_nothing_is_the_input_itself():
    """As PyTorch: start_dim == end_dim returns the tensor, not a view of it."""
    x = gn.tensor(randn(2, 3), requires_grad=True)
    t = torch.tensor(randn(2, 3), requires_grad=True)
    for start, end in ((0, 0), (1, 1), (0, -2), (-1, -1)):
        assert (x.flatten(start, end) is x) == (t.flatten(start, end) is t) is True
    assert x.flatten(0, 1) is not x and x.flatten(0, 1).shape == (6,)


def test_flatten_of_a_0d_tensor_is_1d():
    check_op(lambda t: t.flatten(), lambda t: t.flatten(), [np.array(2.0)])


# ----- squeeze / unsqueeze ------------------------------------------------------------------

@pytest.mark.parametrize("dim", [None, 0, 2, -1, 1, (0, 3), (-4, 1)])
def test_squeeze(dim):
    x = randn(1, 3, 1, 1)
    if dim is None:
        check_op(lambda t: t.squeeze(), lambda t: t.squeeze(), [x])
    else:
        # Squeezing a dimension that is not 1 leaves it, as in PyTorch (dim 1 here).
        check_op(lambda t: t.squeeze(dim), lambda t: t.squeeze(dim), [x])
        check_op(lambda t: gn.squeeze(t, dim=dim), lambda t: torch.squeeze(t, dim=dim), [x])
        check_op(lambda t: gn.squeeze(t, axis=dim), lambda t: torch.squeeze(t, dim=dim), [x])


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_unsqueeze(dim):
    x = randn(3, 4)
    check_op(lambda t: t.unsqueeze(dim), lambda t: t.unsqueeze(dim), [x])
    check_op(lambda t: gn.unsqueeze(t, dim=dim), lambda t: torch.unsqueeze(t, dim=dim), [x])


def test_unsqueeze_out_of_range_raises():
    with pytest.raises(IndexError, match="unsqueeze"):
        gn.zeros(3, 4).unsqueeze(3)


# ----- transpose / permute / .T -------------------------------------------------------------

@pytest.mark.parametrize("dims", [(0, 1), (1, 2), (-1, 0), (2, 0)])
def test_transpose(dims):
    x = randn(2, 3, 4)
    check_op(lambda t: t.transpose(*dims), lambda t: t.transpose(*dims), [x])
    check_op(lambda t: gn.transpose(t, *dims), lambda t: torch.transpose(t, *dims), [x])
    check_op(lambda t: gn.swapaxes(t, *dims), lambda t: torch.swapaxes(t, *dims), [x])


@pytest.mark.parametrize("dims", [(2, 0, 1), (0, 2, 1), (-1, -3, -2), (0, 1, 2)])
def test_permute(dims):
    x = randn(2, 3, 4)
    check_op(lambda t: t.permute(*dims), lambda t: t.permute(*dims), [x])
    check_op(lambda t: gn.permute(t, dims), lambda t: torch.permute(t, dims), [x])


def test_permute_second_order_and_bad_axes():
    x = randn(2, 3)
    check_op(lambda t: (t * t).permute(1, 0), lambda t: (t * t).permute(1, 0), [x], second_order=True)
    with pytest.raises(ValueError, match="permute"):
        gn.zeros(2, 3).permute(0, 0)


def test_T_and_mT():
    x = randn(2, 3)
    check_op(lambda t: t.T, lambda t: t.T, [x])
    check_op(lambda t: t.mT, lambda t: t.mT, [randn(2, 3, 4)])
    np.testing.assert_array_equal(gn.from_numpy(x).T.numpy(), x.T)


# ----- expand / broadcast_to ----------------------------------------------------------------

@pytest.mark.parametrize("src, target", [((3, 1), (3, 4)), ((1, 4), (2, 3, 4)), ((3, 1), (-1, 5)),
                                         ((1, 3, 1), (2, -1, 2)), ((), (2, 3)), ((4,), (2, 3, 4))])
def test_expand(src, target):
    x = randn(*src)
    check_op(lambda t: t.expand(*target), lambda t: t.expand(*target), [x])
    check_op(lambda t: t.expand(target), lambda t: t.expand(target), [x])


def test_expand_as_and_broadcast_to():
    x, y = randn(3, 1), randn(2, 3, 4)
    check_op(lambda s, t: s.expand_as(t) * t, lambda s, t: s.expand_as(t) * t, [x, y])
    check_op(lambda s: gn.broadcast_to(s, (2, 3, 4)), lambda s: torch.broadcast_to(s, (2, 3, 4)), [x])
    check_op(lambda s: s.broadcast_to((5, 3, 2)), lambda s: s.broadcast_to((5, 3, 2)), [x],
             second_order=True)


# ----- repeat / tile ------------------------------------------------------------------------

@pytest.mark.parametrize("src, sizes", [((2, 3), (2, 2)), ((2, 3), (1, 3)), ((3,), (2, 3)),
                                        ((2, 3), (2, 1, 2)), ((2, 1, 3), (1, 4, 1))])
def test_repeat_has_torch_semantics(src, sizes):
    x = randn(*src)
    check_op(lambda t: t.repeat(*sizes), lambda t: t.repeat(*sizes), [x])
    check_op(lambda t: gn.repeat(t, sizes), lambda t: t.repeat(sizes), [x])


def test_repeat_with_too_few_sizes_raises():
    with pytest.raises(ValueError, match="repeat"):
        gn.zeros(2, 3).repeat(2)


@pytest.mark.parametrize("src, reps", [((2, 3), 2), ((2, 3), (2,)), ((2, 3), (2, 2)),
                                       ((3,), (2, 3)), ((2, 3), (3, 1, 2)), ((2, 1, 3), (2, 2))])
def test_tile_has_numpy_semantics(src, reps):
    x = randn(*src)
    np.testing.assert_array_equal(gn.tile(gn.from_numpy(x), reps).numpy(), np.tile(x, reps))
    # torch.Tensor.repeat is np.tile once the repeat counts are padded to the tensor's rank.
    tuple_reps = (reps,) if isinstance(reps, int) else reps
    padded = (1,) * (x.ndim - len(tuple_reps)) + tuple(tuple_reps)
    check_op(lambda t: t.tile(reps), lambda t: t.repeat(padded), [x])
    check_op(lambda t: gn.tile(t, reps), lambda t: torch.tile(t, tuple_reps), [x])


# ----- cat / stack --------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_cat(dim):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for s, extra in zip(shapes, (1, 2, 3)):
        s[dim] = extra
    arrays = [randn(*s) for s in shapes]
    check_op(lambda *ts: gn.cat(ts, dim=dim), lambda *ts: torch.cat(ts, dim=dim), arrays)
    check_op(lambda *ts: gn.concatenate(list(ts), axis=dim), lambda *ts: torch.cat(ts, dim), arrays)


def test_cat_second_order_and_single_input():
    a, b = randn(2, 3), randn(1, 3)
    check_op(lambda s, t: gn.cat([s * s, t]), lambda s, t: torch.cat([s * s, t]), [a, b],
             second_order=True)
    check_op(lambda s: gn.cat([s], 1), lambda s: torch.cat([s], 1), [a])


def test_cat_promotes_dtypes_like_torch():
    a = np.arange(3, dtype=np.int64)
    b = np.array([0.5, 1.5])
    check_forward(lambda s, t: gn.cat([s, t]), lambda s, t: torch.cat([s, t]), [a, b])


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_stack(dim):
    arrays = [randn(2, 3) for _ in range(3)]
    check_op(lambda *ts: gn.stack(ts, dim=dim), lambda *ts: torch.stack(ts, dim=dim), arrays)
    check_op(lambda *ts: gn.stack(list(ts), axis=dim), lambda *ts: torch.stack(ts, dim), arrays)


def test_stack_dim_out_of_range_names_stack():
    with pytest.raises(IndexError, match="stack: axis 3"):
        gn.stack([gn.zeros(2, 3), gn.zeros(2, 3)], dim=3)


def test_stack_of_different_shapes_raises():
    with pytest.raises(ValueError, match=r"stack: .*\(2, 3\), \(3, 2\)"):
        gn.stack([gn.zeros(2, 3), gn.zeros(3, 2)])


# ----- split / chunk ------------------------------------------------------------------------

@pytest.mark.parametrize("size, dim", [(2, 0), (2, 1), (3, 1), (5, 1), (1, -1), (10, 0)])
def test_split_by_size(size, dim):
    x = randn(4, 5)
    check_op(lambda t: t.split(size, dim), lambda t: t.split(size, dim), [x])
    check_op(lambda t: gn.split(t, size, dim=dim), lambda t: torch.split(t, size, dim=dim), [x])


@pytest.mark.parametrize("sizes, dim", [([1, 3], 0), ([2, 0, 3], 1), ([5], -1), ((1, 1, 1, 1), 0)])
def test_split_by_sections(sizes, dim):
    x = randn(4, 5)
    check_op(lambda t: t.split(sizes, dim), lambda t: t.split(list(sizes), dim), [x])


def test_split_sections_that_do_not_add_up_raise():
    with pytest.raises(ValueError, match="split"):
        gn.zeros(4, 5).split([2, 2], 1)


@pytest.mark.parametrize("length, chunks", [(6, 3), (5, 3), (5, 2), (6, 4), (2, 5), (1, 1), (7, 7)])
def test_chunk(length, chunks):
    x = randn(3, length)
    check_op(lambda t: t.chunk(chunks, 1), lambda t: t.chunk(chunks, 1), [x])
    check_op(lambda t: gn.chunk(t.T, chunks, dim=0), lambda t: torch.chunk(t.T, chunks, dim=0), [x])


def test_chunk_second_order():
    x = randn(4, 3)
    check_op(lambda t: (t * t).chunk(2, -1), lambda t: (t * t).chunk(2, -1), [x], second_order=True)


# ----- pad ----------------------------------------------------------------------------------

@pytest.mark.parametrize("widths", [(1, 2), (0, 3), (1, 1, 2, 0), (0, 0, 0, 1), (1, 0, 0, 2, 3, 1)])
@pytest.mark.parametrize("value", [0.0, -1.5])
def test_pad_pytorch_flat_form(widths, value):
    x = randn(2, 3, 4)
    check_op(lambda t: gn.pad(t, widths, value=value), lambda t: F.pad(t, widths, value=value), [x])


def test_pad_numpy_form_and_second_order():
    x = randn(2, 3)
    check_op(lambda t: gn.pad(t, ((1, 0), (2, 3))), lambda t: F.pad(t, (2, 3, 1, 0)), [x])
    np.testing.assert_array_equal(gn.pad(gn.from_numpy(x), ((1, 0), (2, 3)), value=7.0).numpy(),
                                  np.pad(x, ((1, 0), (2, 3)), constant_values=7.0))
    check_op(lambda t: gn.pad(t * t, (1, 1)), lambda t: F.pad(t * t, (1, 1)), [x], second_order=True)


def test_pad_with_too_many_values_raises():
    with pytest.raises(ValueError, match="pad"):
        gn.pad(gn.zeros(3), (1, 1, 1, 1))
    with pytest.raises(ValueError, match="pad"):
        gn.pad(gn.zeros(3), (1, 1, 1))


# ----- flip ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dims", [(0,), (1,), (-1,), (0, 2), (0, 1, 2)])
def test_flip(dims):
    x = randn(2, 3, 4)
    check_op(lambda t: t.flip(dims), lambda t: t.flip(dims), [x])
    check_op(lambda t: gn.flip(t, dims=dims), lambda t: torch.flip(t, dims=dims), [x])


def test_flip_without_axes_reverses_all_like_numpy():
    x = randn(2, 3)
    np.testing.assert_array_equal(gn.flip(gn.from_numpy(x)).numpy(), np.flip(x))
    check_op(lambda t: gn.flip(t, 1), lambda t: torch.flip(t, (1,)), [x], second_order=True)


# ----- errors that name the op and the shapes -----------------------------------------------

def test_reshape_to_incompatible_size_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\).*\(4, 2\)"):
        gn.zeros(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\).*\(4, -1\)"):
        gn.zeros(2, 3).reshape(4, -1)
    with pytest.raises(ValueError, match="reshape: only one dimension can be -1"):
        gn.zeros(2, 3).reshape(-1, -1)


def test_cat_of_mismatched_shapes_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"cat: .*\(2, 3\).*\(2, 4\).*dimension 1"):
        gn.cat([gn.zeros(2, 3), gn.zeros(2, 4)], dim=0)
    with pytest.raises(ValueError, match=r"cat: .*same number of dimensions.*\(2, 3\), \(3,\)"):
        gn.cat([gn.zeros(2, 3), gn.zeros(3)])


def test_expand_of_incompatible_shape_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"expand: cannot expand \(2, 3\) to \(2, 4\)"):
        gn.zeros(2, 3).expand(2, 4)
    with pytest.raises(ValueError, match=r"expand: cannot expand \(2, 3\) to fewer dimensions \(3,\)"):
        gn.zeros(2, 3).expand(3)
    with pytest.raises(ValueError, match=r"expand: .*\(3, 1\).*\(2, 2\)"):
        gn.broadcast_to(gn.zeros(3, 1), (2, 2))


def test_pad_with_negative_widths_crops_like_torch():
    x = randn(3, 5)
    check_op(lambda t: gn.pad(t, (-1, 2)), lambda t: F.pad(t, (-1, 2)), [x])
    check_op(lambda t: gn.pad(t, (1, -2, -1, 0), value=3.0), lambda t: F.pad(t, (1, -2, -1, 0), value=3.0),
             [x], second_order=True)


def test_pad_cropping_more_than_the_tensor_raises():
    with pytest.raises(ValueError, match=r"pad: negative padding .* larger than \(2, 3\)"):
        gn.pad(gn.zeros(2, 3), (-2, -2))


def test_dimensions_out_of_range_raise_and_name_the_op():
    x = gn.zeros(2, 3)
    with pytest.raises(IndexError, match="permute: dimension 3"):
        x.permute(0, 3)
    with pytest.raises(IndexError, match="transpose: dimension 2"):
        x.transpose(0, 2)
    with pytest.raises(IndexError, match="transpose: dimension 1"):
        gn.zeros(3).transpose(0, 1)
    with pytest.raises(IndexError, match="squeeze"):
        x.squeeze(2)
    with pytest.raises(IndexError, match="cat"):
        gn.cat([x, x], 2)
    with pytest.raises(ValueError, match="flatten: start_dim 2 comes after end_dim 1"):
        gn.zeros(2, 3, 4).flatten(2, 1)


def test_transpose_of_a_vector_with_valid_dims_is_the_vector():
    check_op(lambda t: t.transpose(0, -1), lambda t: t.transpose(0, -1), [randn(3)])


def test_expand_with_minus_one_in_a_new_dimension_raises():
    with pytest.raises(ValueError, match=r"expand: cannot expand \(3,\) to \(-1, 3\)"):
        gn.zeros(3).expand(-1, 3)


def test_negative_repeat_counts_raise():
    with pytest.raises(ValueError, match="repeat: .*negative"):
        gn.zeros(2, 3).repeat(-1, 1)
    with pytest.raises(ValueError, match="tile: .*negative"):
        gn.tile(gn.zeros(2, 3), (1, -2))


def test_repeat_zero_times_gives_an_empty_tensor():
    check_op(lambda t: t.repeat(0, 2), lambda t: t.repeat(0, 2), [randn(2, 3)], gradcheck=False)


def test_chunk_of_an_empty_dimension_and_bad_counts():
    pieces = gn.zeros(0, 3).chunk(3)
    assert [p.shape for p in pieces] == [s.shape for s in torch.zeros(0, 3).chunk(3)]
    with pytest.raises(ValueError, match="chunk"):
        gn.zeros(3).chunk(0)


def test_cat_of_0d_tensors_raises():
    with pytest.raises(ValueError, match="cat: zero-dimensional"):
        gn.cat([gn.tensor(1.0), gn.tensor(2.0)])
