"""Property tests: for random shapes and index arrays holding negative and out-of-range values,
every indexing op agrees with PyTorch: the same values where PyTorch succeeds, an exception of
the same type where PyTorch raises (ganglion's IndexRangeError is an IndexError and a
RuntimeError, so it matches whichever of the two PyTorch raises for that op)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import ganglion as gn
import ganglion.nn.functional as F

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def indices(size, count_min=0, count_max=5):
    """Index lists for a dimension of ``size``: mostly in range, with negatives and values past
    either end."""
    return st.lists(st.integers(-size - 2, size + 1), min_size=count_min, max_size=count_max)


def agree(ganglion_call, torch_call):
    """Run both; compare values, or the exception type when PyTorch raises."""
    try:
        expected = torch_call()
    except (IndexError, RuntimeError, ValueError, TypeError) as error:
        with pytest.raises(type(error)):
            ganglion_call()
        return None
    got = ganglion_call()
    np.testing.assert_allclose(np.asarray(got.numpy(), dtype=np.float64),
                               expected.detach().numpy().astype(np.float64), rtol=1e-6, atol=1e-6)
    return got


def _data(shape):
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)


@given(st.integers(1, 5), st.data())
def test_embedding(rows, data):
    weight = np.arange(rows * 2, dtype=np.float32).reshape(rows, 2)
    ids = np.array(data.draw(indices(rows, 1)), dtype=np.int64)
    padding_idx = data.draw(st.none() | st.integers(-rows, rows - 1))
    agree(lambda: F.embedding(gn.tensor(ids), gn.tensor(weight), padding_idx=padding_idx),
          lambda: TF.embedding(torch.tensor(ids), torch.tensor(weight), padding_idx=padding_idx))


@given(shapes, st.data())
def test_index_select(shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    index = np.array(data.draw(indices(shape[dim])), dtype=np.int64)
    x = _data(shape)
    agree(lambda: gn.index_select(gn.tensor(x), dim, gn.tensor(index)),
          lambda: torch.index_select(torch.tensor(x), dim, torch.tensor(index)))


@given(shapes, st.data())
def test_gather(shape, data):
    dim = data.draw(st.integers(0, len(shape) - 1))
    # An index no larger than x in the other dimensions, as PyTorch's gather requires.
    index_shape = tuple(data.draw(st.integers(1, d if k != dim else 4)) for k, d in enumerate(shape))
    values = data.draw(st.lists(st.integers(-shape[dim] - 1, shape[dim]),
                                min_size=int(np.prod(index_shape)),
                                max_size=int(np.prod(index_shape))))
    index = np.array(values, dtype=np.int64).reshape(index_shape)
    x = _data(shape)
    agree(lambda: gn.gather(gn.tensor(x), dim, gn.tensor(index)),
          lambda: torch.gather(torch.tensor(x), dim, torch.tensor(index)))
    src = np.ones(index_shape, np.float32)
    agree(lambda: gn.scatter_add(gn.tensor(x), dim, gn.tensor(index), gn.tensor(src)),
          lambda: torch.scatter_add(torch.tensor(x), dim, torch.tensor(index), torch.tensor(src)))


@given(shapes, st.data())
def test_take_along_axis_in_range(shape, data):
    """Negative indices in [-n, n) read from the end in both (beyond that, PyTorch's
    take_along_dim wraps without a check, while ganglion raises: not compared)."""
    dim = data.draw(st.integers(0, len(shape) - 1))
    index_shape = shape[:dim] + (data.draw(st.integers(1, 3)),) + shape[dim + 1:]
    values = data.draw(st.lists(st.integers(-shape[dim], shape[dim] - 1),
                                min_size=int(np.prod(index_shape)),
                                max_size=int(np.prod(index_shape))))
    index = np.array(values, dtype=np.int64).reshape(index_shape)
    x = _data(shape)
    agree(lambda: gn.take_along_axis(gn.tensor(x), gn.tensor(index), dim),
          lambda: torch.take_along_dim(torch.tensor(x), torch.tensor(index), dim))


@given(st.lists(st.integers(-2, 5), max_size=5), st.sampled_from([-1, 0, 1, 3, 5]))
def test_one_hot(values, num_classes):
    labels = np.array(values, dtype=np.int64)
    agree(lambda: gn.one_hot(gn.tensor(labels), num_classes),
          lambda: TF.one_hot(torch.tensor(labels), num_classes))


@given(st.integers(1, 4), st.integers(1, 4), st.data())
def test_class_index_targets(rows, classes, data):
    ignore_index = data.draw(st.sampled_from([-100, -1, 0, classes]))
    target = np.array(data.draw(st.lists(st.integers(-2, classes + 1) | st.just(ignore_index),
                                         min_size=rows, max_size=rows)), dtype=np.int64)
    logits = np.linspace(-1, 1, rows * classes, dtype=np.float32).reshape(rows, classes)
    for ganglion_loss, torch_loss in ((F.cross_entropy, TF.cross_entropy),
                                      (F.nll_loss, TF.nll_loss)):
        agree(lambda: ganglion_loss(gn.tensor(logits), gn.tensor(target), ignore_index=ignore_index,
                                    reduction="sum"),
              lambda: torch_loss(torch.tensor(logits), torch.tensor(target),
                                 ignore_index=ignore_index, reduction="sum"))


@given(shapes, st.data())
def test_getitem_with_index_tensors(shape, data):
    """x[idx] on the first dimension, or x[i, j] with one index tensor per leading dimension."""
    x = _data(shape)
    count = data.draw(st.integers(1, len(shape)))
    length = data.draw(st.integers(1, 3))
    index = tuple(np.array(data.draw(indices(shape[k], length, length)), dtype=np.int64)
                  for k in range(count))
    agree(lambda: gn.tensor(x)[tuple(gn.tensor(i) for i in index)],
          lambda: torch.tensor(x)[tuple(torch.tensor(i) for i in index)])


@given(shapes, st.data())
def test_setitem_with_index_tensors(shape, data):
    """x[idx] = v writes the same entries, or fails the same way and leaves x unchanged."""
    x = _data(shape)
    index = np.array(data.draw(indices(shape[0], 1, 3)), dtype=np.int64)
    ours, theirs = gn.tensor(x), torch.tensor(x)

    def assign_ours():
        ours[gn.tensor(index)] = -1.0
        return ours

    def assign_theirs():
        theirs[torch.tensor(index)] = -1.0
        return theirs

    if agree(assign_ours, assign_theirs) is None:
        np.testing.assert_array_equal(ours.numpy(), x)
