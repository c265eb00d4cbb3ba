"""Bad inputs to indexing, embedding, one_hot and the class-index / probability losses: each row
is one wrong call, the exception PyTorch raises for it (ganglion's IndexRangeError, DTypeError,
ArgumentError and ShapeError are also the other type a NumPy user would expect), and the
words the message must contain: the op, the bad value or shape, and the valid range."""
import numpy as np

import ganglion as gn
import ganglion.nn.functional as F
from bad_inputs import BadInput, bad_input_test


def _matrix():
    return gn.arange(12.0).reshape(3, 4)


_X = _matrix()  # shared by the rows that assign into it: each must leave it unchanged
_STATE = lambda: _X.detach().numpy().copy()  # noqa: E731


def _assign(x, index, value):
    x[index] = value


def _symbolic_embedding(indices):
    """An embedding looked up in a compiled graph: the range check runs when the graph runs."""
    ids = gn.placeholder(gn.int64, (None,), name="ids")
    weight = gn.tensor(np.ones((10, 3), np.float32))
    return gn.function([ids], F.embedding(ids, weight))(np.array(indices))


def _symbolic_getitem(indices):
    ids = gn.placeholder(gn.int64, (None,), name="ids")
    x = gn.placeholder(gn.float32, (3, 4), name="x")
    return gn.function([x, ids], x[ids])(np.zeros((3, 4), np.float32), np.array(indices))


def _symbolic_minibatch(column, rows=None):
    """x[i:i + 2, column] with a symbolic i (Theano's minibatches): an int part out of range is
    refused when the graph is built if x's dimension is known, else when it runs."""
    i = gn.placeholder(gn.int64, (), name="i")
    x = gn.placeholder(gn.float32, (None, rows), name="x")
    return gn.function([x, i], x[i:i + 2, column])(np.zeros((6, 4), np.float32), 1)


_PROBS = gn.full((2, 3), 0.5)
_LOGITS = gn.zeros(2, 3)

CASES = [
    # ----- embedding: PyTorch's IndexError "index out of range in self"; NumPy would wrap -1
    BadInput("embedding negative index", lambda: F.embedding(gn.tensor([-1]), gn.ones(10, 3)),
             IndexError, ["embedding", "-1", "10 rows", "[0, 10)"]),
    BadInput("embedding index == rows", lambda: F.embedding(gn.tensor([[2, 10]]), gn.ones(10, 3)),
             IndexError, ["embedding", "index 10", "[0, 10)"]),
    BadInput("Embedding layer negative index", lambda: gn.nn.Embedding(10, 3)(gn.tensor([-1])),
             IndexError, ["embedding", "-1", "[0, 10)"]),
    BadInput("embedding negative index with padding_idx",
             lambda: F.embedding(gn.tensor([-2]), gn.ones(10, 3), padding_idx=0),
             IndexError, ["embedding", "-2", "[0, 10)"]),
    BadInput("embedding out of range in a compiled graph", lambda: _symbolic_embedding([0, -1]),
             IndexError, ["embedding", "-1", "[0, 10)"]),
    BadInput("embedding float indices", lambda: F.embedding(gn.tensor([1.0]), gn.ones(10, 3)),
             RuntimeError, ["embedding", "integer", "float32"]),
    BadInput("embedding bool indices", lambda: F.embedding(gn.tensor([True]), gn.ones(10, 3)),
             TypeError, ["embedding", "integer", "bool"]),
    BadInput("embedding 1-d weight", lambda: F.embedding(gn.tensor([1]), gn.ones(10)),
             RuntimeError, ["embedding", "weight", "2-d", "(10,)"]),
    BadInput("embedding padding_idx out of range",
             lambda: F.embedding(gn.tensor([1]), gn.ones(10, 3), padding_idx=10),
             ValueError, ["embedding", "padding_idx", "10", "[-10, 10)"]),
    # ----- index_select: PyTorch raises (RuntimeError for a matrix, IndexError for a vector)
    BadInput("index_select negative index", lambda: _matrix().index_select(1, gn.tensor([-1])),
             RuntimeError, ["index_select", "-1", "dimension 1 of size 4", "[0, 4)"]),
    BadInput("index_select negative index of a vector",
             lambda: gn.arange(4.0).index_select(0, gn.tensor([-1])),
             IndexError, ["index_select", "-1", "size 4", "[0, 4)"]),
    BadInput("index_select index == size",
             lambda: gn.index_select(_matrix(), 0, gn.tensor([0, 3, 1])),
             RuntimeError, ["index_select", "index 3", "dimension 0 of size 3", "[0, 3)"]),
    BadInput("index_select from an empty dimension",
             lambda: gn.zeros(0, 3).index_select(0, gn.tensor([0])),
             RuntimeError, ["index_select", "size 0"]),
    BadInput("index_select int32 index", lambda: _matrix().index_select(1, gn.tensor([5], dtype=gn.int32)),
             IndexError, ["index_select", "5", "[0, 4)"]),
    BadInput("index_select 2-d index", lambda: _matrix().index_select(1, gn.tensor([[1]])),
             RuntimeError, ["index_select", "1-d", "(1, 1)"]),
    BadInput("index_select float index", lambda: _matrix().index_select(1, gn.tensor([1.0])),
             RuntimeError, ["index_select", "integer", "float32"]),
    # ----- gather / scatter_add: PyTorch's RuntimeError "index -1 is out of bounds for dimension"
    BadInput("gather negative index", lambda: _matrix().gather(1, gn.tensor([[-1]])),
             RuntimeError, ["gather", "-1", "dimension 1 of size 4", "[0, 4)"]),
    BadInput("gather index == size", lambda: _matrix().gather(0, gn.tensor([[0, 3]])),
             IndexError, ["gather", "index 3", "dimension 0 of size 3", "[0, 3)"]),
    BadInput("gather float index", lambda: _matrix().gather(1, gn.tensor([[1.0]])),
             RuntimeError, ["gather", "integer", "float32"]),
    BadInput("gather index of another rank", lambda: _matrix().gather(1, gn.tensor([1])),
             RuntimeError, ["gather", "(1,)", "(3, 4)", "dimensions"]),
    BadInput("scatter_add negative index",
             lambda: _matrix().scatter_add(1, gn.tensor([[-1]]), gn.ones(1, 1)),
             RuntimeError, ["scatter_add", "-1", "dimension 1 of size 4", "[0, 4)"]),
    BadInput("scatter_add index == size",
             lambda: gn.scatter_add(_matrix(), 1, gn.tensor([[4]]), gn.ones(1, 1)),
             IndexError, ["scatter_add", "index 4", "[0, 4)"]),
    BadInput("scatter_add src of another rank",
             lambda: _matrix().scatter_add(1, gn.tensor([[1]]), gn.ones(1)),
             RuntimeError, ["scatter_add", "(1,)", "dimensions"]),
    # ----- take_along_axis: negative indices in [-n, n) read from the end (NumPy, take_along_dim)
    BadInput("take_along_axis index below -size",
             lambda: gn.take_along_axis(_matrix(), gn.tensor([[-5]]), 1),
             IndexError, ["take_along_axis", "-5", "[-4, 4)"]),
    BadInput("take_along_axis index == size",
             lambda: gn.take_along_axis(_matrix(), gn.tensor([[4]]), 1),
             IndexError, ["take_along_axis", "index 4", "[-4, 4)"]),
    # ----- one_hot: PyTorch's RuntimeError "Class values must be non-negative" / "smaller than"
    BadInput("one_hot negative class", lambda: F.one_hot(gn.tensor([-1, 0]), 3),
             RuntimeError, ["one_hot", "-1", "num_classes=3", "[0, 3)"]),
    BadInput("one_hot class == num_classes", lambda: gn.one_hot(gn.tensor([3]), 3),
             ValueError, ["one_hot", "3", "[0, 3)"]),
    BadInput("one_hot inferred classes with a negative value", lambda: gn.one_hot(gn.tensor([-1])),
             RuntimeError, ["one_hot", "-1"]),
    BadInput("one_hot inferred classes of an empty tensor",
             lambda: gn.one_hot(gn.tensor([], dtype=gn.int64)),
             RuntimeError, ["one_hot", "empty", "num_classes"]),
    BadInput("one_hot num_classes 0 of an empty tensor",
             lambda: gn.one_hot(gn.tensor([], dtype=gn.int64), 0),
             RuntimeError, ["one_hot", "num_classes", "0"]),
    BadInput("one_hot negative num_classes", lambda: gn.one_hot(gn.tensor([1]), -2),
             RuntimeError, ["one_hot", "num_classes", "-2"]),
    BadInput("one_hot float classes", lambda: gn.one_hot(gn.tensor([1.0]), 3),
             RuntimeError, ["one_hot", "integer", "float32"]),
    # ----- x[idx]: negative indices in [-n, n) are fine (as in PyTorch); others name the range
    BadInput("getitem tensor index == size", lambda: _matrix()[gn.tensor([3])],
             IndexError, ["getitem", "index 3", "dimension 0 of size 3", "(3, 4)", "[-3, 3)"]),
    BadInput("getitem tensor index below -size", lambda: _matrix()[gn.tensor([0, -4])],
             IndexError, ["getitem", "-4", "[-3, 3)"]),
    BadInput("getitem second-dimension index", lambda: _matrix()[:, gn.tensor([4])],
             IndexError, ["getitem", "index 4", "dimension 1 of size 4", "[-4, 4)"]),
    BadInput("getitem list index", lambda: _matrix()[[1, 3]],
             IndexError, ["getitem", "index 3", "[-3, 3)"]),
    BadInput("getitem int index", lambda: _matrix()[3],
             IndexError, ["getitem", "index 3", "[-3, 3)"]),
    BadInput("getitem in a compiled graph", lambda: _symbolic_getitem([0, 5]),
             IndexError, ["getitem", "index 5", "[-3, 3)"]),
    BadInput("getitem symbolic slice with an int out of a known dimension",
             lambda: _symbolic_minibatch(4, rows=4),
             IndexError, ["getitem", "index 4", "dimension 1 of size 4", "[-4, 4)"]),
    BadInput("getitem symbolic slice with an int out of range when run",
             lambda: _symbolic_minibatch(-5),
             IndexError, ["getitem", "index -5", "size 4", "[-4, 4)"]),
    BadInput("getitem mask of the wrong length", lambda: _matrix()[gn.tensor([True, False])],
             IndexError, ["getitem", "boolean", "(3, 4)"]),
    BadInput("getitem float index", lambda: _matrix()[gn.tensor([1.0])],
             IndexError, ["getitem", "integer or bool", "float32"]),
    # ----- x[idx] = v: the same ranges, nothing written when the call fails
    BadInput("setitem tensor index == size", lambda: _assign(_X, gn.tensor([0, 3]), 0.0),
             IndexError, ["setitem", "index 3", "[-3, 3)"], unchanged=_STATE),
    BadInput("setitem tensor index below -size", lambda: _assign(_X, gn.tensor([-4]), 0.0),
             IndexError, ["setitem", "-4", "[-3, 3)"], unchanged=_STATE),
    BadInput("setitem int index", lambda: _assign(_X, (1, 4), 0.0),
             IndexError, ["setitem", "index 4", "[-4, 4)"], unchanged=_STATE),
    BadInput("setitem row of the wrong length", lambda: _assign(_X, 0, gn.ones(5)),
             RuntimeError, ["setitem", "assign", "(5,)", "region of shape (4,)", "(3, 4)"],
             unchanged=_STATE),
    BadInput("setitem slice of the wrong shape", lambda: _assign(_X, slice(0, 2), gn.ones(3, 4)),
             ValueError, ["setitem", "(3, 4)", "region of shape (2, 4)"], unchanged=_STATE),
    BadInput("setitem advanced index of the wrong shape",
             lambda: _assign(_X, gn.tensor([0, 1]), np.ones((3, 4))),
             RuntimeError, ["setitem", "(3, 4)", "region of shape (2, 4)"], unchanged=_STATE),
    BadInput("setitem in a recorded graph of the wrong shape",
             lambda: _assign(gn.zeros(3, 4, requires_grad=True) * 1, 0, gn.ones(5)),
             RuntimeError, ["setitem", "(5,)", "region of shape (4,)"]),
    # ----- cross_entropy / nll_loss targets (ignore_index still skips its rows: see the tests)
    BadInput("cross_entropy negative target", lambda: F.cross_entropy(_LOGITS, gn.tensor([-1, 0])),
             IndexError, ["cross_entropy", "target -1", "3 classes", "ignore_index=-100"]),
    BadInput("cross_entropy target == classes", lambda: F.cross_entropy(_LOGITS, gn.tensor([3, 0])),
             IndexError, ["cross_entropy", "target 3", "0 <= target < 3"]),
    BadInput("nll_loss target == classes over positions",
             lambda: F.nll_loss(gn.zeros(2, 3, 2), gn.tensor([[0, 3], [1, 1]])),
             IndexError, ["nll_loss", "target 3", "3 classes"]),
    BadInput("cross_entropy with no classes", lambda: F.cross_entropy(gn.zeros(2, 0), gn.tensor([0, 0])),
             IndexError, ["cross_entropy", "target 0", "0 classes"]),
    BadInput("cross_entropy bool target", lambda: F.cross_entropy(_LOGITS, gn.tensor([True, False])),
             RuntimeError, ["cross_entropy", "integer", "bool"]),
    BadInput("nll_loss bool target", lambda: F.nll_loss(_LOGITS, gn.tensor([True, False])),
             TypeError, ["nll_loss", "integer", "bool"]),
    BadInput("nll_loss float target", lambda: F.nll_loss(_LOGITS, gn.tensor([1.0, 0.0])),
             RuntimeError, ["nll_loss", "integer", "float32", "probabilities"]),
    BadInput("CrossEntropyLoss bool target",
             lambda: gn.nn.CrossEntropyLoss()(_LOGITS, gn.tensor([True, False])),
             RuntimeError, ["integer", "bool"]),
    BadInput("cross_entropy weight of the wrong length",
             lambda: F.cross_entropy(_LOGITS, gn.tensor([1, 0]), weight=gn.ones(4)),
             RuntimeError, ["cross_entropy", "weight", "(3,)", "(4,)"]),
    BadInput("cross_entropy 2-d weight",
             lambda: F.cross_entropy(_LOGITS, gn.tensor([1, 0]), weight=gn.ones(1, 3)),
             ValueError, ["cross_entropy", "weight", "(3,)", "(1, 3)"]),
    BadInput("cross_entropy probability targets, weight of the wrong length",
             lambda: F.cross_entropy(_LOGITS, gn.zeros(2, 3), weight=gn.ones(4)),
             RuntimeError, ["cross_entropy", "weight", "(3,)", "(4,)"]),
    BadInput("nll_loss weight of the wrong length",
             lambda: F.nll_loss(_LOGITS, gn.tensor([1, 0]), weight=gn.ones(2)),
             RuntimeError, ["nll_loss", "weight", "(3,)", "(2,)"]),
    BadInput("cross_entropy ignore_index with probability targets",
             lambda: F.cross_entropy(_LOGITS, gn.zeros(2, 3), ignore_index=1),
             RuntimeError, ["cross_entropy", "ignore_index=1", "probability"]),
    BadInput("cross_entropy label_smoothing above 1",
             lambda: F.cross_entropy(_LOGITS, gn.tensor([1, 0]), label_smoothing=1.5),
             RuntimeError, ["cross_entropy", "label_smoothing", "[0, 1]", "1.5"]),
    BadInput("cross_entropy probability targets of another shape",
             lambda: F.cross_entropy(_LOGITS, gn.zeros(2, 4)),
             RuntimeError, ["cross_entropy", "(2, 3)", "(2, 4)"]),
    BadInput("cross_entropy bogus reduction",
             lambda: F.cross_entropy(_LOGITS, gn.tensor([1, 0]), reduction="bogus"),
             ValueError, ["cross_entropy", "reduction", "'bogus'", "'mean'"]),
    BadInput("nll_loss bogus reduction",
             lambda: F.nll_loss(_LOGITS, gn.tensor([1, 0]), reduction="bogus"),
             ValueError, ["nll_loss", "reduction", "'bogus'"]),
    # ----- binary cross-entropy: values outside [0, 1], nan included, as PyTorch refuses them
    BadInput("binary_cross_entropy nan input",
             lambda: F.binary_cross_entropy(gn.tensor([0.5, float("nan")]), gn.tensor([1.0, 0.0])),
             RuntimeError, ["binary_cross_entropy", "input", "[0, 1]", "nan"]),
    BadInput("binary_cross_entropy input above 1",
             lambda: F.binary_cross_entropy(gn.tensor([1.5]), gn.tensor([1.0])),
             ValueError, ["binary_cross_entropy", "input", "[0, 1]", "1.5", "with_logits"]),
    BadInput("binary_cross_entropy target above 1",
             lambda: F.binary_cross_entropy(gn.tensor([0.5]), gn.tensor([1.5])),
             RuntimeError, ["binary_cross_entropy", "target", "[0, 1]", "1.5"]),
    BadInput("binary_cross_entropy nan target",
             lambda: F.binary_cross_entropy(gn.tensor([0.5]), gn.tensor([float("nan")])),
             RuntimeError, ["binary_cross_entropy", "target", "nan"]),
    BadInput("BCELoss nan input",
             lambda: gn.nn.BCELoss()(gn.tensor([float("nan")]), gn.tensor([1.0])),
             RuntimeError, ["input", "[0, 1]", "nan"]),
    BadInput("binary_cross_entropy target of another shape",
             lambda: F.binary_cross_entropy(_PROBS, gn.zeros(3)),
             ValueError, ["binary_cross_entropy", "(3,)", "(2, 3)"]),
    BadInput("binary_cross_entropy weight that does not broadcast",
             lambda: F.binary_cross_entropy(_PROBS, gn.zeros(2, 3), weight=gn.ones(4)),
             RuntimeError, ["binary_cross_entropy", "weight", "(4,)", "(2, 3)"]),
    BadInput("binary_cross_entropy bogus reduction",
             lambda: F.binary_cross_entropy(_PROBS, gn.zeros(2, 3), reduction="bogus"),
             ValueError, ["binary_cross_entropy", "reduction", "'bogus'"]),
    BadInput("binary_cross_entropy_with_logits weight that does not broadcast",
             lambda: F.binary_cross_entropy_with_logits(_PROBS, gn.zeros(2, 3), weight=gn.ones(4)),
             RuntimeError, ["binary_cross_entropy_with_logits", "weight", "(4,)", "(2, 3)"]),
    BadInput("binary_cross_entropy_with_logits pos_weight that does not broadcast",
             lambda: F.binary_cross_entropy_with_logits(_PROBS, gn.zeros(2, 3),
                                                        pos_weight=gn.ones(4)),
             RuntimeError, ["binary_cross_entropy_with_logits", "pos_weight", "(4,)", "(2, 3)"]),
    BadInput("binary_cross_entropy_with_logits target of another shape",
             lambda: F.binary_cross_entropy_with_logits(_PROBS, gn.zeros(3)),
             ValueError, ["binary_cross_entropy_with_logits", "(3,)", "(2, 3)"]),
    BadInput("smooth_l1_loss negative beta", lambda: F.smooth_l1_loss(gn.zeros(3), gn.zeros(3), beta=-1.0),
             RuntimeError, ["smooth_l1_loss", "beta", "-1.0"]),
    BadInput("huber_loss zero delta", lambda: F.huber_loss(gn.zeros(3), gn.zeros(3), delta=0.0),
             RuntimeError, ["huber_loss", "delta", "positive", "0.0"]),
    BadInput("kl_div shapes that do not broadcast", lambda: F.kl_div(gn.zeros(2, 3), gn.zeros(3, 3)),
             RuntimeError, ["kl_div", "(2, 3)", "(3, 3)"]),
    BadInput("mse_loss shapes that do not broadcast",
             lambda: F.mse_loss(gn.zeros(2, 3), gn.zeros(3, 3)),
             RuntimeError, ["mse_loss", "(2, 3)", "(3, 3)"]),
]

test_bad_input = bad_input_test(CASES)


def test_negative_indices_in_range_still_read_from_the_end():
    """The checks refuse only what PyTorch refuses: x[tensor([-1])], x[idx] = v with -1 and
    take_along_axis with -1 read / write the last entry."""
    x = _matrix()
    np.testing.assert_array_equal(x[gn.tensor([-1])].numpy(), [[8, 9, 10, 11]])
    np.testing.assert_array_equal(gn.take_along_axis(x, gn.tensor([[-1]]), 1).numpy(),
                                  [[3], [7], [11]])
    y = _matrix()
    y[gn.tensor([-1]), gn.tensor([-4])] = 100.0
    assert y.numpy()[2, 0] == 100 and y.numpy().sum() == 66 - 8 + 100


def test_ignore_index_still_skips_its_rows():
    """An ignored target may be any value, in range or not; the others are still checked."""
    logits = gn.tensor([[0.0, 1.0, 2.0], [2.0, 0.0, 0.0]])
    loss = F.cross_entropy(logits, gn.tensor([-100, 0]))
    only_second = F.cross_entropy(logits[1:], gn.tensor([0]))
    assert np.isclose(loss.item(), only_second.item())
    assert np.isclose(F.nll_loss(logits, gn.tensor([7, 1]), ignore_index=7).item(), 0.0)
    assert np.isclose(F.cross_entropy(logits, gn.tensor([2, 3]), ignore_index=3).item(),
                      F.cross_entropy(logits[:1], gn.tensor([2])).item())


def test_index_select_takes_a_0d_index_as_one_index():
    """PyTorch reads a 0-d index as a one-element vector (result keeps the dimension)."""
    out = _matrix().index_select(1, gn.tensor(2))
    np.testing.assert_array_equal(out.numpy(), [[2], [6], [10]])
