"""The math and tensor functions that issue 13 added under PyTorch's names, against PyTorch:
trigonometric and hyperbolic functions, atan2 / lerp, float tests, isclose / allclose / equal,
bitwise functions, triangles and diagonals, scatter and index ops, take / masked_select,
t / narrow / roll / rot90 / meshgrid, mm / bmm / addmm / baddbmm, new_*, multinomial and out=.

Values and gradients go through tests/oracle.py's ``check_op`` (float64 forward and backward
against PyTorch, float32 forward, central differences); wrong calls are rows of a bad-input
table.
"""
import warnings

import numpy as np
import pytest
import torch

import ganglion as gn
from bad_inputs import BadInput, bad_input_test
from oracle import check_forward, check_op

RNG = np.random.default_rng(13)


def randn(*shape):
    return RNG.standard_normal(shape)


def values(t):
    return np.asarray(t.detach().numpy())


# ----- trigonometric and hyperbolic functions ----------------------------------------------------

TRIG = {
    "tan": (lambda *s: RNG.uniform(-1.2, 1.2, s)),
    "asin": (lambda *s: RNG.uniform(-0.9, 0.9, s)),
    "arcsin": (lambda *s: RNG.uniform(-0.9, 0.9, s)),
    "acos": (lambda *s: RNG.uniform(-0.9, 0.9, s)),
    "arccos": (lambda *s: RNG.uniform(-0.9, 0.9, s)),
    "atan": randn,
    "arctan": randn,
    "sinh": randn,
    "cosh": randn,
    "asinh": randn,
    "acosh": (lambda *s: RNG.uniform(1.2, 4.0, s)),
    "atanh": (lambda *s: RNG.uniform(-0.9, 0.9, s)),
}


@pytest.mark.parametrize("name", sorted(TRIG))
def test_trig_against_torch(name):
    x = TRIG[name](3, 4)
    check_op(getattr(gn, name), getattr(torch, name), [x], second_order=True)
    # The method form and integer input (turned into the default float dtype).
    assert np.allclose(values(getattr(gn.from_numpy(x), name)()), getattr(torch, name)(torch.from_numpy(x)).numpy())
    check_forward(getattr(gn, name), getattr(torch, name), [np.array([1, 2, 0])], atol=1e-5)


def test_atan2_and_lerp():
    y, x = randn(3, 4), randn(4)
    check_op(gn.atan2, torch.atan2, [y, x])
    check_op(gn.arctan2, torch.arctan2, [y, x])
    check_forward(gn.atan2, torch.atan2, [np.array([1, -2]), np.array([3, 4])])
    start, end, weight = randn(2, 3), randn(2, 3), RNG.uniform(0, 1, (2, 3))
    check_op(gn.lerp, torch.lerp, [start, end, weight])
    check_op(lambda a, b: gn.lerp(a, b, 0.3), lambda a, b: torch.lerp(a, b, 0.3), [start, end])


# ----- tests and comparisons ---------------------------------------------------------------------

SPECIAL = np.array([1.0, np.nan, np.inf, -np.inf, 0.0, -2.5])


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf"])
def test_float_tests(name):
    for data in (SPECIAL, SPECIAL.astype(np.float32), np.array([1, 2, 3]), np.array([True])):
        check_forward(getattr(gn, name), getattr(torch, name), [data])
    x = gn.from_numpy(SPECIAL.copy())
    assert getattr(x, name)().tolist() == getattr(torch.from_numpy(SPECIAL), name)().tolist()


def test_isclose_allclose_equal():
    a = np.array([1.0, 2.0, np.nan, 1e-9])
    b = np.array([1.0 + 1e-7, 2.1, np.nan, 0.0])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.1, "atol": 0.0}):
        check_forward(lambda x, y: gn.isclose(x, y, **kwargs),
                      lambda x, y: torch.isclose(x, y, **kwargs), [a, b])
        assert gn.allclose(gn.from_numpy(a), gn.from_numpy(b), **kwargs) == \
            torch.allclose(torch.from_numpy(a), torch.from_numpy(b), **kwargs)
    x = gn.tensor([1.0, 2.0])
    assert gn.allclose(x, x + 1e-9) is True and x.allclose(x + 1) is False
    assert gn.equal(x, gn.tensor([1.0, 2.0])) is True
    assert gn.equal(x, gn.tensor([1.0, 2.0, 3.0])) is False  # other shape: False, no error
    assert gn.equal(gn.tensor([1, 2]), x) is True  # mixed dtypes compare by value (PyTorch)
    assert x.equal(gn.tensor([1.0, 3.0])) is False


def test_bitwise_functions():
    a, b = np.array([5, -3, 12], np.int64), np.array([3, 6, 1], np.int64)
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                 "bitwise_right_shift"):
        check_forward(getattr(gn, name), getattr(torch, name), [a, b])
        check_forward(getattr(gn, name), getattr(torch, name), [a.astype(np.int32), b[:1]])
    bools = [np.array([True, False, True]), np.array([True, True, False])]
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        check_forward(getattr(gn, name), getattr(torch, name), bools)
    # A bool tensor shifted by a number is shifted as int64 (True << 1 is 2).
    assert gn.bitwise_left_shift(gn.tensor([True, False]), 1).tolist() == \
        torch.bitwise_left_shift(torch.tensor([True, False]), 1).tolist()
    check_forward(gn.bitwise_not, torch.bitwise_not, [a])
    check_forward(gn.bitwise_not, torch.bitwise_not, [bools[0]])
    x = gn.tensor([1, 2])
    assert x.bitwise_left_shift(2).tolist() == [4, 8]
    x.bitwise_or_(gn.tensor([4, 4]))
    assert x.tolist() == [5, 6]


def test_clamp_min_max_and_masked_fill():
    x = randn(3, 4)
    check_op(lambda t: gn.clamp_min(t, 0.1), lambda t: torch.clamp_min(t, 0.1), [x])
    check_op(lambda t: gn.clamp_max(t, 0.1), lambda t: torch.clamp_max(t, 0.1), [x])
    mask = x > 0.5
    check_op(lambda t: gn.masked_fill(t, gn.from_numpy(mask), -1.0),
             lambda t: torch.masked_fill(t, torch.from_numpy(mask), -1.0), [x])
    y = gn.from_numpy(x.copy())
    y.clamp_min_(0.0)
    assert values(y).min() == 0.0
    z = gn.from_numpy(x.copy())
    assert z.masked_fill_(gn.from_numpy(mask), 9.0) is z and values(z)[mask].tolist() == [9.0] * mask.sum()


# ----- triangles and diagonals -------------------------------------------------------------------

@pytest.mark.parametrize("k", [-1, 0, 2])
def test_tril_triu(k):
    x = randn(2, 3, 4)
    check_op(lambda t: gn.tril(t, k), lambda t: torch.tril(t, k), [x])
    check_op(lambda t: gn.triu(t, diagonal=k), lambda t: torch.triu(t, diagonal=k), [x])
    y = gn.from_numpy(x.copy())
    y.triu_(k)
    assert np.allclose(values(y), np.triu(x, k))


@pytest.mark.parametrize("k", [-1, 0, 1])
def test_diag_diagonal_trace(k):
    check_op(lambda t: gn.diag(t, k), lambda t: torch.diag(t, k), [randn(4)])
    check_op(lambda t: gn.diag(t, diagonal=k), lambda t: torch.diag(t, diagonal=k), [randn(3, 4)])
    x = randn(2, 3, 4)
    check_op(lambda t: gn.diagonal(t, k, 2, 0), lambda t: torch.diagonal(t, k, 2, 0), [x])
    check_op(lambda t: t.diagonal(offset=k, dim1=-1, dim2=-2),
             lambda t: t.diagonal(offset=k, dim1=-1, dim2=-2), [x])
    check_op(lambda t: gn.diag_embed(t, k), lambda t: torch.diag_embed(t, k), [randn(2, 3)],
             second_order=True)
    check_op(gn.trace, torch.trace, [randn(3, 4)])
    check_forward(gn.trace, torch.trace, [np.arange(9, dtype=np.int32).reshape(3, 3)])


# ----- scatter and index ops ---------------------------------------------------------------------

INDEX = np.array([[0, 2, 1], [2, 0, 0]])


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_against_torch():
    x, src = randn(3, 4), randn(2, 4)
    check_op(lambda a, i, s: gn.scatter(a, 0, i, s), lambda a, i, s: torch.scatter(a, 0, i, s),
             [x, np.array([[0, 2, 1, 0], [1, 0, 2, 2]]), src])
    # An index smaller than the input in every dim (dim 1 here), and smaller than src (whose
    # gradient PyTorch cannot compute then: forward only).
    check_op(lambda a, i, s: gn.scatter(a, 1, i, s), lambda a, i, s: torch.scatter(a, 1, i, s),
             [x, np.array([[0, 3], [1, 2]]), randn(2, 2)])
    check_forward(lambda a, i, s: gn.scatter(a, 1, i, s), lambda a, i, s: torch.scatter(a, 1, i, s),
                  [x, np.array([[0, 3], [1, 2]]), randn(3, 3)])
    check_op(lambda a, i: gn.scatter(a, 1, i, value=2.5),
             lambda a, i: torch.scatter(a, 1, i, value=2.5), [x, np.array([[0], [3], [1]])])
    for reduce in ("add", "multiply"):
        check_forward(lambda a, i, s: gn.scatter(a, 1, i, s, reduce=reduce),
                      lambda a, i, s: torch.scatter(a, 1, i, s, reduce=reduce),
                      [x, np.array([[0, 0], [1, 1], [3, 3]]), randn(3, 2)])


def test_scatter_in_place_methods():
    x = gn.zeros(2, 3)
    out = x.scatter_(1, gn.tensor([[2], [0]]), gn.tensor([[1.0], [2.0]]))
    assert out is x and x.tolist() == [[0.0, 0.0, 1.0], [2.0, 0.0, 0.0]]
    x.scatter_(1, gn.tensor([[1], [1]]), 7.0)  # a number is the value
    assert x.tolist() == [[0.0, 7.0, 1.0], [2.0, 7.0, 0.0]]
    x.scatter_add_(1, gn.tensor([[0, 0]]), gn.ones(1, 2))
    assert x.tolist() == [[2.0, 7.0, 1.0], [2.0, 7.0, 0.0]]
    x.scatter_(0, gn.tensor([[1, 0, 0]]), gn.ones(1, 3), reduce="add")
    assert x.tolist() == [[2.0, 8.0, 2.0], [3.0, 7.0, 0.0]]


def test_index_add_copy_fill():
    x, index = randn(4, 3), np.array([3, 0, 3])
    check_op(lambda a, i, s: gn.index_add(a, 0, i, s), lambda a, i, s: torch.index_add(a, 0, i, s),
             [x, index, randn(3, 3)])
    check_op(lambda a, i, s: gn.index_add(a, 1, i, s, alpha=2.0),
             lambda a, i, s: torch.index_add(a, 1, i, s, alpha=2.0),
             [x, np.array([2, 2]), randn(4, 2)])
    check_op(lambda a, i, s: gn.index_copy(a, 0, i, s), lambda a, i, s: torch.index_copy(a, 0, i, s),
             [x, np.array([3, 1]), randn(2, 3)])
    check_op(lambda a, i: gn.index_fill(a, 1, i, -1.0), lambda a, i: torch.index_fill(a, 1, i, -1.0),
             [x, np.array([0, -1])])
    y = gn.zeros(3)
    assert y.index_add_(0, gn.tensor([0, 0]), gn.ones(2)) is y and y.tolist() == [2.0, 0.0, 0.0]
    y.index_copy_(0, gn.tensor([2]), gn.tensor([5.0]))
    y.index_fill_(0, gn.tensor([1]), 4)
    assert y.tolist() == [2.0, 4.0, 5.0]


def test_take_masked_select_argwhere():
    x = randn(3, 4)
    check_op(lambda a, i: gn.take(a, i), lambda a, i: torch.take(a, i),
             [x, np.array([[0, 11], [-1, 5]])])
    mask = np.array([True, False, True, True])
    check_op(lambda a, m: gn.masked_select(a, m), lambda a, m: torch.masked_select(a, m), [x, mask])
    check_forward(gn.argwhere, torch.argwhere, [np.array([[0, 1], [2, 0]])])
    assert gn.tensor([0, 3]).argwhere().tolist() == [[1]]


# ----- rearranging -------------------------------------------------------------------------------

def test_t_narrow_roll_rot90():
    check_op(gn.t, torch.t, [randn(2, 3)])
    check_op(lambda a: a.t(), lambda a: a.t(), [randn(3)])
    assert gn.tensor(2.0).t().shape == ()
    x = randn(5, 4)
    check_op(lambda a: gn.narrow(a, 0, 1, 3), lambda a: torch.narrow(a, 0, 1, 3), [x])
    check_op(lambda a: a.narrow(-1, -2, 2), lambda a: a.narrow(-1, -2, 2), [x])
    check_op(lambda a: gn.roll(a, 2), lambda a: torch.roll(a, 2), [x])
    check_op(lambda a: gn.roll(a, (1, -3), (0, 1)), lambda a: torch.roll(a, (1, -3), (0, 1)), [x])
    for k in (-1, 0, 1, 2, 3, 5):
        check_op(lambda a: gn.rot90(a, k), lambda a: torch.rot90(a, k), [randn(2, 3, 4)])
        check_op(lambda a: gn.rot90(a, k, (2, 0)), lambda a: torch.rot90(a, k, (2, 0)),
                 [randn(2, 3, 4)])


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid(indexing):
    a, b, c = randn(2), randn(3), randn(4)
    check_op(lambda *t: gn.meshgrid(*t, indexing=indexing),
             lambda *t: torch.meshgrid(*t, indexing=indexing), [a, b, c])
    check_op(lambda *t: gn.meshgrid(list(t), indexing=indexing),
             lambda *t: torch.meshgrid(list(t), indexing=indexing), [a, b])


# ----- matrix products ---------------------------------------------------------------------------

def test_mm_bmm_addmm_baddbmm():
    check_op(gn.mm, torch.mm, [randn(2, 3), randn(3, 4)])
    check_op(lambda a, b: a.mm(b), lambda a, b: a.mm(b), [randn(2, 3), randn(3, 4)])
    check_op(gn.bmm, torch.bmm, [randn(2, 2, 3), randn(2, 3, 4)])
    check_op(lambda i, a, b: gn.addmm(i, a, b, beta=0.5, alpha=2.0),
             lambda i, a, b: torch.addmm(i, a, b, beta=0.5, alpha=2.0),
             [randn(4), randn(2, 3), randn(3, 4)])
    check_op(lambda i, a, b: gn.baddbmm(i, a, b), lambda i, a, b: torch.baddbmm(i, a, b),
             [randn(2, 2, 4), randn(2, 2, 3), randn(2, 3, 4)])
    # beta=0: input is ignored, nan included (PyTorch).
    out = gn.addmm(gn.full((2, 2), float("nan")), gn.eye(2), gn.ones(2, 2), beta=0)
    assert values(out).tolist() == [[1.0, 1.0], [1.0, 1.0]]


# ----- new_* -------------------------------------------------------------------------------------

def test_new_tensors():
    x = gn.ones(2, dtype=gn.float64, requires_grad=True)
    for name, args in (("new_zeros", ((2, 3),)), ("new_ones", (2, 3)), ("new_empty", ((4,),)),
                       ("new_full", ((2,), 1.5)), ("new_tensor", ([1, 2],))):
        g = getattr(x, name)(*args)
        t = getattr(torch.ones(2, dtype=torch.float64, requires_grad=True), name)(*args)
        assert tuple(g.shape) == tuple(t.shape) and g.dtype is gn.float64
        assert not g.requires_grad and g.is_leaf
        if name != "new_empty":
            assert values(g).tolist() == t.detach().numpy().tolist()
    assert x.new_zeros(3, dtype=gn.int32).dtype is gn.int32
    assert x.new_ones(2, requires_grad=True).requires_grad
    source = gn.tensor([1.0, 2.0])
    copy = x.new_tensor(source)
    copy.add_(1)
    assert source.tolist() == [1.0, 2.0]  # new_tensor always copies


# ----- multinomial -------------------------------------------------------------------------------

def test_multinomial():
    gn.manual_seed(0)
    probs = gn.tensor([[0.1, 0.2, 0.7], [0.0, 1.0, 0.0]])
    draws = gn.multinomial(probs, 4000, replacement=True)
    assert draws.shape == (2, 4000) and draws.dtype is gn.int64
    frequencies = np.bincount(values(draws)[0], minlength=3) / 4000
    assert np.allclose(frequencies, [0.1, 0.2, 0.7], atol=0.03)
    assert (values(draws)[1] == 1).all()
    # Without replacement: distinct categories, zero-weight ones never drawn.
    weights = gn.tensor([3.0, 0.0, 1.0, 2.0])
    for _ in range(5):
        drawn = weights.multinomial(3).tolist()
        assert sorted(drawn) == [0, 2, 3]
    # The same seed, the same draws; generator= draws from that generator.
    gn.manual_seed(5)
    first = gn.multinomial(weights, 2).tolist()
    gn.manual_seed(5)
    assert gn.multinomial(weights, 2).tolist() == first
    generator = gn.Generator().manual_seed(3)
    again = gn.Generator().manual_seed(3)
    assert gn.multinomial(probs, 5, True, generator=generator).tolist() == \
        gn.multinomial(probs, 5, True, generator=again).tolist()


# ----- out= --------------------------------------------------------------------------------------

def test_out_argument():
    out = gn.empty(2, 3)
    data_before = out._data
    result = gn.add(gn.ones(2, 3), 1, out=out)
    assert result is out and out.tolist() == [[2.0] * 3] * 2
    assert out._data is data_before  # written in place: views of out see the values
    # An empty out is resized silently; one with elements with PyTorch's warning.
    empty = gn.empty(0)
    gn.mm(gn.ones(2, 3), gn.ones(3, 1), out=empty)
    assert empty.shape == (2, 1) and empty.tolist() == [[3.0], [3.0]]
    wrong = gn.zeros(5)
    with pytest.warns(UserWarning, match="resized"):
        gn.sum(gn.ones(2, 2), 0, out=wrong)
    assert wrong.tolist() == [2.0, 2.0]
    # The result is cast to out's dtype when that keeps its kind.
    as_float = gn.zeros(2, dtype=gn.float64)
    gn.add(gn.tensor([1, 2]), 1, out=as_float)
    assert as_float.tolist() == [2.0, 3.0] and as_float.dtype is gn.float64
    # Tuple results take a tuple out=.
    v, i = gn.empty(0), gn.empty(0, dtype=gn.int64)
    gn.sort(gn.tensor([3.0, 1.0]), out=(v, i))
    assert v.tolist() == [1.0, 3.0] and i.tolist() == [1, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gn.cat([gn.ones(1), gn.zeros(1)], out=gn.empty(0))  # no warning for an empty out


# ----- symbolic graphs ---------------------------------------------------------------------------

def test_new_ops_in_symbolic_graphs():
    """Each new op infers its result type on unknown shapes and compiles to the eager values."""
    x = gn.matrix("x")
    build = [lambda t: gn.tril(t, -1), lambda t: gn.sort(t, descending=True).values,
             lambda t: gn.topk(t, 2).values, lambda t: gn.diagonal(t), lambda t: gn.roll(t, 1, 0),
             lambda t: gn.linalg.vector_norm(t, dim=1), lambda t: gn.cumprod(t, 0),
             lambda t: gn.cummax(t, 1).values, lambda t: gn.atan2(t, t + 1), lambda t: gn.isnan(t),
             lambda t: gn.asinh(t), lambda t: gn.rot90(t), lambda t: gn.narrow(t, 0, 0, 1),
             lambda t: gn.kthvalue(t, 1).values, lambda t: gn.scatter(t, 0, gn.tensor([[1]]), 9.0),
             lambda t: gn.linalg.matrix_norm(t), lambda t: gn.mm(t, t.t())]
    compiled = gn.function([x], [f(x) for f in build])
    data = RNG.standard_normal((2, 3)).astype(np.float32)
    for f, result in zip(build, compiled(data)):
        np.testing.assert_allclose(np.asarray(result), values(f(gn.from_numpy(data))), rtol=1e-6)


# ----- bad inputs --------------------------------------------------------------------------------

X = gn.zeros(3)
M = gn.zeros(3, 3)

CASES = [
    BadInput("mm of a 3-D input", lambda: gn.mm(gn.ones(2, 3, 4), gn.ones(4, 2)), RuntimeError,
             ["mm", "matrix", "(2, 3, 4)"]),
    BadInput("mm shapes", lambda: gn.mm(gn.ones(2, 3), gn.ones(4, 2)), RuntimeError,
             ["mm", "cannot be multiplied", "2x3 and 4x2"]),
    BadInput("mm mixed dtypes", lambda: gn.mm(gn.ones(2, 3), gn.ones(3, 2, dtype=gn.float64)),
             RuntimeError, ["mm", "same dtype", "float32", "float64"]),
    BadInput("bmm of a matrix", lambda: gn.bmm(gn.ones(2, 3), gn.ones(3, 2)), RuntimeError,
             ["bmm", "batch1", "3D", "(2, 3)"]),
    BadInput("bmm batch sizes", lambda: gn.bmm(gn.ones(2, 2, 3), gn.ones(3, 3, 2)), RuntimeError,
             ["bmm", "batch2", "[2, 3]", "[3, 3]"]),
    BadInput("addmm input shape", lambda: gn.addmm(gn.ones(3), gn.ones(2, 3), gn.ones(3, 2)),
             RuntimeError, ["addmm", "(3,)", "(2, 2)"]),
    BadInput("t of 3-D", lambda: gn.ones(2, 2, 2).t(), RuntimeError, ["t()", "<= 2", "3D"]),
    BadInput("narrow past the end", lambda: gn.narrow(gn.ones(5), 0, 4, 2), RuntimeError,
             ["narrow", "start (4) + length (2)", "size (5)"]),
    BadInput("narrow start out of range", lambda: gn.ones(5).narrow(0, 6, 0), IndexError,
             ["narrow", "start out of range", "[-5, 5]", "6"]),
    BadInput("narrow negative length", lambda: gn.ones(5).narrow(0, 1, -1), RuntimeError,
             ["narrow", "length must be non-negative", "-1"]),
    BadInput("narrow float start", lambda: gn.ones(5).narrow(0, 1.5, 1), TypeError,
             ["narrow", "start", "integer", "1.5"]),
    BadInput("roll shifts and dims", lambda: gn.roll(M, (1, 1), 0), RuntimeError,
             ["roll", "shifts: 2", "dims: 1"]),
    BadInput("rot90 of 1-D", lambda: gn.rot90(X), RuntimeError, ["rot90", "total dims >= 2", "1"]),
    BadInput("rot90 same dims", lambda: gn.rot90(M, 1, (0, 0)), RuntimeError,
             ["rot90", "different", "dim0 = 0"]),
    BadInput("meshgrid indexing", lambda: gn.meshgrid(X, X, indexing="yx"), RuntimeError,
             ["meshgrid", "indexing", "'yx'"]),
    BadInput("meshgrid 2-D input", lambda: gn.meshgrid(M, X), RuntimeError,
             ["meshgrid", "0D or 1D", "(3, 3)"]),
    BadInput("tril of 1-D", lambda: gn.tril(X), RuntimeError, ["tril", "at least 2 dimensions", "(3,)"]),
    BadInput("triu float diagonal", lambda: gn.triu(M, 1.5), TypeError, ["triu", "diagonal", "1.5"]),
    BadInput("diag of 3-D", lambda: gn.diag(gn.ones(2, 2, 2)), RuntimeError,
             ["diag", "1D or 2D", "3D"]),
    BadInput("diagonal same dims", lambda: gn.diagonal(M, 0, 1, 1), RuntimeError,
             ["diagonal", "dim1", "dim2", "same"]),
    BadInput("diagonal dim out of range", lambda: gn.diagonal(M, 0, 0, 2), IndexError,
             ["diagonal", "2", "range"]),
    BadInput("trace of 3-D", lambda: gn.trace(gn.ones(2, 2, 2)), RuntimeError,
             ["trace", "expected a matrix", "dim 3"]),
    BadInput("trace of bools", lambda: gn.trace(gn.ones(2, 2, dtype=gn.bool)), NotImplementedError,
             ["trace", "bool"]),
    BadInput("bitwise_and of floats", lambda: gn.bitwise_and(X, X), NotImplementedError,
             ["bitwise_and", "float32", "integer"]),
    BadInput("bitwise_not of floats", lambda: X.bitwise_not(), NotImplementedError,
             ["bitwise_not", "float32"]),
    BadInput("bitwise_left_shift of floats", lambda: gn.bitwise_left_shift(X, 1),
             NotImplementedError, ["bitwise_left_shift", "float32"]),
    BadInput("bitwise_right_shift of bools",
             lambda: gn.bitwise_right_shift(gn.tensor([True]), gn.tensor([True])),
             NotImplementedError, ["bitwise_right_shift", "bool"]),
    BadInput("isclose mixed dtypes", lambda: gn.isclose(gn.ones(2, dtype=gn.int64), gn.ones(2)),
             RuntimeError, ["isclose", "same dtype", "int64", "float32"]),
    BadInput("allclose mixed dtypes", lambda: gn.allclose(gn.ones(2, dtype=gn.int64), gn.ones(2)),
             RuntimeError, ["allclose", "same dtype"]),
    BadInput("isnan of a list", lambda: gn.isnan([1.0]), TypeError, ["isnan", "Tensor", "list"]),
    BadInput("lerp mixed dtypes", lambda: gn.lerp(gn.ones(2), gn.ones(2, dtype=gn.float64), 0.5),
             RuntimeError, ["lerp", "float32", "float64"]),
    BadInput("scatter index too large", lambda: gn.scatter(X, 0, gn.tensor([3]), gn.ones(1)),
             RuntimeError, ["scatter", "index 3", "[0, 3)"], unchanged=lambda: X.numpy().copy()),
    BadInput("scatter negative index", lambda: gn.scatter(X, 0, gn.tensor([-1]), gn.ones(1)),
             RuntimeError, ["scatter", "index -1", "[0, 3)"]),
    BadInput("scatter_ out of range leaves x", lambda: M.scatter_(1, gn.tensor([[0, 5]]), 1.0),
             IndexError, ["scatter", "index 5", "[0, 3)"], unchanged=lambda: M.numpy().copy()),
    BadInput("scatter float index", lambda: gn.scatter(X, 0, gn.tensor([0.0]), gn.ones(1)),
             RuntimeError, ["scatter", "index", "integer", "float32"]),
    BadInput("scatter index rank", lambda: gn.scatter(M, 0, gn.tensor([0]), gn.ones(1)),
             RuntimeError, ["scatter", "(1,)", "dimensions", "(3, 3)"]),
    BadInput("scatter reduce name", lambda: gn.scatter(X, 0, gn.tensor([0]), gn.ones(1), reduce="max"),
             RuntimeError, ["scatter", "reduce", "'max'"]),
    BadInput("scatter reduce backward", lambda: gn.scatter(
        gn.zeros(3, requires_grad=True), 0, gn.tensor([1]), gn.ones(1), reduce="multiply").sum().backward(),
             RuntimeError, ["scatter", "derivative", "reduce='multiply'", "not implemented"]),
    BadInput("scatter src dtype", lambda: gn.scatter(X, 0, gn.tensor([0]), gn.ones(1, dtype=gn.float64)),
             RuntimeError, ["scatter", "float32", "float64"]),
    BadInput("scatter_add_ out of range", lambda: X.scatter_add_(0, gn.tensor([7]), gn.ones(1)),
             IndexError, ["scatter_add", "index 7", "[0, 3)"], unchanged=lambda: X.numpy().copy()),
    BadInput("index_add out of range", lambda: gn.index_add(X, 0, gn.tensor([3]), gn.ones(1)),
             IndexError, ["index_add", "index 3", "[0, 3)"]),
    BadInput("index_add source shape", lambda: gn.index_add(gn.zeros(3, 2), 0, gn.tensor([1]), gn.ones(1, 3)),
             RuntimeError, ["index_add", "source", "(1, 3)", "(1, 2)"]),
    BadInput("index_add_ out of range leaves x", lambda: M.index_add_(1, gn.tensor([0, 9]), gn.ones(3, 2)),
             IndexError, ["index_add", "index 9"], unchanged=lambda: M.numpy().copy()),
    BadInput("index_copy negative", lambda: gn.index_copy(X, 0, gn.tensor([-1]), gn.ones(1)),
             IndexError, ["index_copy", "index -1", "[0, 3)"]),
    BadInput("index_copy 2-D index", lambda: gn.index_copy(M, 0, gn.tensor([[0]]), gn.ones(1, 3)),
             RuntimeError, ["index_copy", "dimension 1 or 0", "(1, 1)"]),
    BadInput("index_fill out of range", lambda: gn.index_fill(X, 0, gn.tensor([5]), 1.0),
             IndexError, ["index_fill", "index 5", "[-3, 3)"]),
    BadInput("index_fill value shape", lambda: gn.index_fill(X, 0, gn.tensor([0]), gn.ones(2)),
             RuntimeError, ["index_fill", "0-dimensional", "(2,)"]),
    BadInput("take out of range", lambda: gn.take(gn.zeros(2, 3), gn.tensor([6])), IndexError,
             ["take", "index 6", "6 elements"]),
    BadInput("take negative out of range", lambda: gn.take(gn.zeros(2, 3), gn.tensor([-7])),
             IndexError, ["take", "-7", "[-6, 6)"]),
    BadInput("masked_select float mask", lambda: gn.masked_select(X, gn.ones(3)), RuntimeError,
             ["masked_select", "BoolTensor", "float32"]),
    BadInput("masked_select mask shape", lambda: gn.masked_select(X, gn.ones(4, dtype=gn.bool)),
             RuntimeError, ["masked_select", "(3,)", "(4,)"]),
    BadInput("multinomial 3-D", lambda: gn.multinomial(gn.ones(2, 2, 2), 1), RuntimeError,
             ["multinomial", "1 or 2 dim", "(2, 2, 2)"]),
    BadInput("multinomial too many", lambda: gn.multinomial(gn.tensor([0.5, 0.5]), 3), RuntimeError,
             ["multinomial", "n_sample > prob_dist.size(-1)", "without replacement"]),
    BadInput("multinomial negative", lambda: gn.multinomial(gn.tensor([-0.5, 1.0]), 1), RuntimeError,
             ["multinomial", "element < 0"]),
    BadInput("multinomial zero sum", lambda: gn.multinomial(gn.tensor([0.0, 0.0]), 1), RuntimeError,
             ["multinomial", "sum of probabilities <= 0"]),
    BadInput("multinomial not enough categories", lambda: gn.multinomial(gn.tensor([0.5, 0.0, 0.0]), 2),
             RuntimeError, ["multinomial", "not enough", "replacement=False"]),
    BadInput("multinomial integer input", lambda: gn.multinomial(gn.tensor([1, 2]), 1), RuntimeError,
             ["multinomial", "floating", "int64"]),
    BadInput("multinomial bad generator", lambda: gn.multinomial(gn.ones(2), 1, generator=3),
             TypeError, ["multinomial", "generator", "int"]),
    BadInput("out= with grad", lambda: gn.add(gn.ones(2, requires_grad=True), 1, out=gn.empty(2)),
             RuntimeError, ["add", "out=", "automatic differentiation"]),
    BadInput("out= dtype too narrow", lambda: gn.add(gn.ones(2), 1, out=gn.zeros(2, dtype=gn.int64)),
             RuntimeError, ["add", "float32", "can't be cast", "int64"],
             unchanged=lambda: None),
    BadInput("out= not a tensor", lambda: gn.mul(gn.ones(2), 2, out=[0, 0]), TypeError,
             ["mul", "out", "Tensor", "list"]),
]

test_bad_input = bad_input_test(CASES)
