"""sort, argsort, topk, kthvalue, median, cummax / cummin, cumprod, unique, bincount and histc
(core/ops/sorting.py) against PyTorch: values, indices, named-tuple results, gradients through
the selected entries, and the errors for bad calls."""
import numpy as np
import pytest
import torch

import ganglion as gn
from bad_inputs import BadInput, bad_input_test
from oracle import check_forward, check_op

RNG = np.random.default_rng(7)


def check_selection(gn_fn, torch_fn, arrays):
    """Values and indices forward; the values' gradient (PyTorch's indices have none)."""
    check_forward(lambda *t: tuple(gn_fn(*t)), lambda *t: tuple(torch_fn(*t)), arrays)
    check_op(lambda *t: gn_fn(*t).values, lambda *t: torch_fn(*t).values, arrays)


def distinct(*shape):
    """Random values without ties, so that every order (and so every gradient) is unique."""
    return RNG.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 1.0


@pytest.mark.parametrize("dim", [0, -1, 1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_against_torch(dim, descending):
    x = distinct(3, 4, 2)
    check_selection(lambda t: gn.sort(t, dim, descending), lambda t: torch.sort(t, dim, descending), [x])
    check_op(lambda t: gn.argsort(t, dim=dim, descending=descending),
             lambda t: torch.argsort(t, dim=dim, descending=descending), [x], grad=False)


def test_sort_result_and_ties():
    x = gn.tensor([2.0, 1.0, 2.0, float("nan"), 1.0])
    result = x.sort(stable=True)
    assert type(result).__name__ == "sort" and result._fields == ("values", "indices")
    expected = torch.tensor([2.0, 1.0, 2.0, float("nan"), 1.0]).sort(stable=True)
    assert result.indices.tolist() == expected.indices.tolist()
    down = x.sort(descending=True, stable=True)
    expected = torch.tensor([2.0, 1.0, 2.0, float("nan"), 1.0]).sort(descending=True, stable=True)
    assert down.indices.tolist() == expected.indices.tolist()  # nan first, ties in order
    values, indices = gn.sort(gn.tensor([3, 1, 2]))
    assert values.tolist() == [1, 2, 3] and indices.dtype is gn.int64
    assert gn.sort(gn.tensor(5.0)).values.tolist() == 5.0  # a 0-d tensor sorts to itself
    assert gn.msort(gn.tensor([[2, 1], [0, 3]])).tolist() == [[0, 1], [2, 3]]


@pytest.mark.parametrize("largest", [True, False])
def test_topk_against_torch(largest):
    x = distinct(3, 5)
    check_selection(lambda t: gn.topk(t, 2, largest=largest), lambda t: torch.topk(t, 2, largest=largest), [x])
    check_selection(lambda t: t.topk(3, dim=0, largest=largest, sorted=True), lambda t: t.topk(3, dim=0, largest=largest, sorted=True), [x])
    result = gn.topk(gn.from_numpy(x), 0)
    assert result.values.shape == (3, 0) and type(result).__name__ == "topk"


def test_kthvalue_median_against_torch():
    x = distinct(4, 5)
    for k in (1, 3, 4):
        check_selection(lambda t: gn.kthvalue(t, k, 0), lambda t: torch.kthvalue(t, k, 0), [x])
    check_selection(lambda t: t.kthvalue(2, keepdim=True), lambda t: t.kthvalue(2, keepdim=True), [x])
    check_op(gn.median, torch.median, [x])  # 20 entries: the lower of the two middle ones
    check_selection(lambda t: gn.median(t, 1), lambda t: torch.median(t, 1), [x])
    check_selection(lambda t: t.median(0, keepdim=True), lambda t: t.median(0, keepdim=True), [x])
    with_nan = np.array([[1.0, np.nan, 3.0], [2.0, 0.0, 5.0]])
    check_forward(gn.median, torch.median, [with_nan])
    check_forward(lambda t: tuple(gn.median(t, 1)), lambda t: tuple(torch.median(t, 1)), [with_nan])
    check_forward(gn.median, torch.median, [np.array([4, 1, 3, 2])])
    # Without dim, the gradient is shared among the entries equal to the median (PyTorch).
    check_op(gn.median, torch.median, [np.array([1.0, 2.0, 2.0, 3.0])], gradcheck=False)
    check_op(gn.median, torch.median, [np.array([[1.0, np.nan], [2.0, np.nan]])], gradcheck=False)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_cummax_cummin(name):
    x = distinct(3, 4)
    check_selection(lambda t: getattr(gn, name)(t, 1), lambda t: getattr(torch, name)(t, 1), [x])
    check_selection(lambda t: getattr(t, name)(0), lambda t: getattr(t, name)(0), [x])
    # Ties take the latest index; a nan sticks, with its own index (PyTorch's rules).
    for data in (np.array([1, 1, 3, 3, 2]), np.array([1.0, np.nan, 3.0, 0.0]),
                 np.array([2.0, 1.0, 1.0, np.nan, np.nan])):
        check_forward(lambda t: tuple(getattr(gn, name)(t, 0)),
                      lambda t: tuple(getattr(torch, name)(t, 0)), [data])


def test_cumprod():
    x = RNG.uniform(0.5, 2.0, (3, 4)) * RNG.choice([-1.0, 1.0], (3, 4))
    check_op(lambda t: gn.cumprod(t, 1), lambda t: torch.cumprod(t, 1), [x], second_order=True)
    check_op(lambda t: t.cumprod(dim=0), lambda t: t.cumprod(dim=0), [x])
    # Zeros: the gradient is PyTorch's exact one (not grad * out / x, which divides by 0).
    with_zeros = np.array([[0.0, 2.0, 1.0, 3.0], [1.5, 2.0, -1.0, 0.5], [2.0, 3.0, 0.0, 1.2]])
    check_op(lambda t: gn.cumprod(t, 1), lambda t: torch.cumprod(t, 1), [with_zeros], second_order=True)
    check_op(lambda t: gn.cumprod(t, 0), lambda t: torch.cumprod(t, 0), [np.array([1.0, 0.0, 2.0, 0.0, 3.0])])
    check_forward(lambda t: gn.cumprod(t, 0), lambda t: torch.cumprod(t, 0), [np.array([1, 2, 3], np.int32)])
    check_forward(lambda t: gn.cumprod(t, 0, dtype=gn.float64),
                  lambda t: torch.cumprod(t, 0, dtype=torch.float64), [np.array([1, 2, 3])])


def test_unique():
    data = np.array([[3, 1, 1], [2, 3, 1]])
    for options in ({}, {"return_inverse": True}, {"return_counts": True},
                    {"return_inverse": True, "return_counts": True}, {"dim": 0}, {"dim": 1, "return_inverse": True}):
        ours = gn.unique(gn.from_numpy(data), **options)
        theirs = torch.unique(torch.from_numpy(data), **options)
        ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert a.tolist() == b.tolist(), options
    assert gn.tensor([2.0, 2.0, -1.0]).unique().tolist() == [-1.0, 2.0]


def test_bincount_histc():
    check_forward(gn.bincount, torch.bincount, [np.array([0, 3, 3, 1])])
    check_forward(lambda x: gn.bincount(x, minlength=6), lambda x: torch.bincount(x, minlength=6),
                  [np.array([0, 3, 3, 1])])
    for weights in (np.array([0.5, 1.0, 2.0, 1.5], np.float32), np.array([0.5, 1.0, 2.0, 1.5]),
                    np.array([1, 2, 3, 4])):
        check_forward(lambda x, w: gn.bincount(x, w), lambda x, w: torch.bincount(x, w),
                      [np.array([0, 3, 3, 1]), weights])
    check_forward(gn.bincount, torch.bincount, [np.zeros(0, np.int64)])
    x = RNG.standard_normal(50).astype(np.float32)
    check_forward(lambda t: gn.histc(t, 7), lambda t: torch.histc(t, 7), [x])
    check_forward(lambda t: gn.histc(t, bins=5, min=-1, max=1), lambda t: torch.histc(t, bins=5, min=-1, max=1), [x])
    check_forward(lambda t: gn.histc(t, 4), lambda t: torch.histc(t, 4), [np.full(3, 2.0)])


X = gn.tensor([1.0, 2.0, 3.0])

CASES = [
    BadInput("sort dim out of range", lambda: gn.sort(X, 1), IndexError, ["sort", "1", "range"]),
    BadInput("sort of a list", lambda: gn.sort([3, 1]), TypeError, ["sort", "Tensor", "list"]),
    BadInput("topk k too large", lambda: gn.topk(X, 4), RuntimeError,
             ["topk", "k out of range", "k=4", "size 3"]),
    BadInput("topk negative k", lambda: X.topk(-1), RuntimeError, ["topk", "k=-1"]),
    BadInput("topk float k", lambda: X.topk(1.5), TypeError, ["topk", "k", "integer", "1.5"]),
    BadInput("kthvalue k too large", lambda: gn.kthvalue(X, 4), RuntimeError,
             ["kthvalue", "k out of range", "k=4", "[1, 3]"]),
    BadInput("kthvalue k zero", lambda: X.kthvalue(0), RuntimeError, ["kthvalue", "k=0"]),
    BadInput("median of an empty dim", lambda: gn.median(gn.zeros(2, 0), 1), IndexError,
             ["median", "non-zero size", "(2, 0)"]),
    BadInput("cummax of bools", lambda: gn.cummax(gn.tensor([True]), 0), NotImplementedError,
             ["cummax", "bool"]),
    BadInput("cumprod dim out of range", lambda: gn.cumprod(X, 2), IndexError, ["cumprod", "2"]),
    BadInput("bincount negative", lambda: gn.bincount(gn.tensor([-1, 2])), RuntimeError,
             ["bincount", "non-negative", "-1"]),
    BadInput("bincount floats", lambda: gn.bincount(X), NotImplementedError,
             ["bincount", "float32"]),
    BadInput("bincount 2-D", lambda: gn.bincount(gn.zeros(2, 2, dtype=gn.int64)), RuntimeError,
             ["bincount", "1-d", "(2, 2)"]),
    BadInput("bincount weights shape", lambda: gn.bincount(gn.tensor([0, 1]), gn.ones(3)),
             RuntimeError, ["bincount", "weights", "(3,)", "(2,)"]),
    BadInput("bincount negative minlength", lambda: gn.bincount(gn.tensor([0]), minlength=-1),
             RuntimeError, ["bincount", "minlength", "-1"]),
    BadInput("histc of integers", lambda: gn.histc(gn.tensor([1, 2])), NotImplementedError,
             ["histc", "int64", "floating"]),
    BadInput("histc min above max", lambda: gn.histc(X, 4, 2, 1), RuntimeError,
             ["histc", "max must be larger than min", "min=2"]),
    BadInput("histc zero bins", lambda: gn.histc(X, 0), RuntimeError, ["histc", "bins", "0"]),
]

test_bad_input = bad_input_test(CASES)
