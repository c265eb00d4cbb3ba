"""Bad dim arguments and the empty inputs PyTorch refuses (issue 12, items 9 and 10).

A dim that is not an integer (``sum(dim=1.5)``) is a TypeError, one out of range an IndexError
that gives the valid range as PyTorch does, and a repeated one a RuntimeError, each naming the
op; these all come from the one shared helper ``ganglion.core.op.normalize_axes``, so the rows
cover reductions, softmax, scans and the shape and indexing ops that use it. Then the empty
inputs on which PyTorch raises rather than returning an empty result: a max-like reduction over
an empty dim or over the whole of an empty tensor, pooling of an input whose channels or
spatial sizes are zero, and a recurrent layer over zero time steps.
"""
import numpy as np

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from bad_inputs import BadInput, bad_input_test

x = gn.from_numpy(np.arange(6.0).reshape(2, 3))
empty = gn.zeros(0, 3)
ints = gn.zeros(2, 3, dtype=gn.int64)

_NOT_INTEGER = ["must be an integer"]


def _compiled_amax_over_dim_0():
    rows = gn.placeholder(gn.float64, (None, 3))
    return gn.function([rows], gn.amax(rows, dim=0))


def _compiled_recurrent_layer_on_an_empty_batch(kind):
    """A layer compiled for an unknown batch size, run on a batch of 0 sequences."""
    layer = getattr(nn, kind)(4, 5).double()
    x = gn.placeholder(gn.float64, (3, None, 4))
    h0 = gn.placeholder(gn.float64, (1, None, 5))
    run = gn.function([x, h0], layer(x, (h0, h0) if kind == "LSTM" else h0)[0])
    return run(np.zeros((3, 0, 4)), np.zeros((1, 0, 5)))


_RANGE_2D = ["out of range", "2 dimensions", "[-2, 1]"]

CASES = [
    # ----- a dim that is not an integer: TypeError naming the op and the value -------------
    BadInput("sum dim=1.5", lambda: x.sum(dim=1.5), TypeError,
             ["sum", "1.5", "float"] + _NOT_INTEGER),
    BadInput("sum dim=1.0", lambda: gn.sum(x, dim=1.0), TypeError, ["sum", "1.0"] + _NOT_INTEGER),
    BadInput("sum dim=True", lambda: x.sum(dim=True), TypeError, ["sum", "True", "bool"]),
    BadInput("sum dims with a float", lambda: x.sum(dim=[0, 1.5]), TypeError, ["sum", "1.5"]),
    BadInput("mean dim string", lambda: x.mean(dim="a"), TypeError, ["mean", "'a'", "str"]),
    BadInput("prod dim=0.5", lambda: gn.prod(x, dim=0.5), TypeError, ["prod", "0.5"]),
    BadInput("var dim=1.5", lambda: gn.var(x, dim=1.5), TypeError, ["var", "1.5"]),
    BadInput("std dim=1.5", lambda: gn.std(x, dim=1.5), TypeError, ["var", "1.5"]),
    BadInput("max dim=1.5", lambda: x.max(dim=1.5), TypeError, ["max", "1.5"]),
    BadInput("amin dim=1.5", lambda: gn.amin(x, dim=1.5), TypeError, ["amin", "1.5"]),
    BadInput("argmax dim=1.5", lambda: x.argmax(dim=1.5), TypeError, ["argmax", "1.5"]),
    BadInput("logsumexp dim=1.5", lambda: gn.logsumexp(x, dim=1.5), TypeError,
             ["logsumexp", "1.5"]),
    BadInput("softmax dim=1.5", lambda: gn.softmax(x, dim=1.5), TypeError, ["softmax", "1.5"]),
    BadInput("F.log_softmax dim=1.5", lambda: F.log_softmax(x, dim=1.5), TypeError,
             ["log_softmax", "1.5"]),
    BadInput("cumsum dim=1.0", lambda: x.cumsum(dim=1.0), TypeError, ["cumsum", "1.0"]),
    BadInput("all dim=0.5", lambda: gn.all(ints, dim=0.5), TypeError, ["all", "0.5"]),
    BadInput("cat dim=1.5", lambda: gn.cat([x, x], dim=1.5), TypeError, ["cat", "1.5"]),
    BadInput("index_select dim=1.5",
             lambda: gn.index_select(x, 1.5, gn.zeros(2, dtype=gn.int64)), TypeError,
             ["index_select", "1.5"]),
    # ----- a dim out of range: IndexError with PyTorch's range -----------------------------
    BadInput("sum dim=3", lambda: x.sum(dim=3), IndexError, ["sum", "axis 3", "got 3"] + _RANGE_2D),
    BadInput("sum dim=-3", lambda: x.sum(dim=-3), IndexError, ["sum", "-3"] + _RANGE_2D),
    BadInput("sum dims (0, 2)", lambda: x.sum(dim=(0, 2)), IndexError, ["sum", "2"] + _RANGE_2D),
    BadInput("mean dim=2", lambda: x.mean(2), IndexError, ["mean"] + _RANGE_2D),
    BadInput("0-d sum dim=1", lambda: gn.tensor(1.0).sum(dim=1), IndexError,
             ["sum", "0 dimensions", "[-1, 0]", "got 1"]),
    BadInput("0-d cumsum dim=1", lambda: gn.tensor(1.0).cumsum(dim=1), IndexError,
             ["cumsum", "0 dimensions", "[-1, 0]"]),
    BadInput("1-d sum dim=1", lambda: gn.ones(3).sum(dim=1), IndexError,
             ["sum", "1 dimension ", "[-1, 0]"]),
    BadInput("max dim=5", lambda: x.max(dim=5), IndexError, ["max", "5"] + _RANGE_2D),
    BadInput("amax dim=2", lambda: gn.amax(x, dim=2), IndexError, ["amax"] + _RANGE_2D),
    BadInput("argmin dim=-3", lambda: gn.argmin(x, dim=-3), IndexError, ["argmin"] + _RANGE_2D),
    BadInput("var dim=2", lambda: x.var(dim=2), IndexError, ["var"] + _RANGE_2D),
    BadInput("logsumexp dim=2", lambda: gn.logsumexp(x, dim=2), IndexError,
             ["logsumexp"] + _RANGE_2D),
    BadInput("softmax dim=2", lambda: gn.softmax(x, dim=2), IndexError, ["softmax"] + _RANGE_2D),
    BadInput("nn.Softmax dim=2", lambda: nn.Softmax(dim=2)(x), IndexError,
             ["softmax"] + _RANGE_2D),
    BadInput("log_softmax dim=-3", lambda: gn.log_softmax(x, dim=-3), IndexError,
             ["log_softmax", "-3"] + _RANGE_2D),
    BadInput("cumsum dim=2", lambda: x.cumsum(dim=2), IndexError, ["cumsum"] + _RANGE_2D),
    BadInput("any dim=2", lambda: gn.any(ints, dim=2), IndexError, ["any"] + _RANGE_2D),
    BadInput("gather dim=2", lambda: gn.gather(x, 2, ints), IndexError, ["gather"] + _RANGE_2D),
    BadInput("chunk dim=2", lambda: gn.chunk(x, 2, dim=2), IndexError, ["chunk"] + _RANGE_2D),
    # ----- a repeated dim: RuntimeError (PyTorch's type; also a ValueError, NumPy's) -------
    BadInput("sum dims (0, 0)", lambda: x.sum(dim=(0, 0)), RuntimeError,
             ["sum", "repeated", "(0, 0)", "dim 0 appears multiple times"]),
    BadInput("sum dims (0, -2)", lambda: x.sum(dim=(0, -2)), RuntimeError,
             ["sum", "(0, -2)", "dim 0 appears multiple times"]),
    BadInput("mean dims (1, -1)", lambda: x.mean((1, -1)), ValueError, ["mean", "repeated axis"]),
    BadInput("var dims (0, 0)", lambda: x.var(dim=(0, 0)), RuntimeError, ["var", "(0, 0)"]),
    BadInput("amax dims [1, 1]", lambda: gn.amax(x, dim=[1, 1]), RuntimeError, ["amax", "(1, 1)"]),
    BadInput("logsumexp dims (1, -1)", lambda: gn.logsumexp(x, dim=(1, -1)), RuntimeError,
             ["logsumexp", "dim 1 appears multiple times"]),
    BadInput("flip dims (0, 0)", lambda: gn.flip(x, (0, 0)), RuntimeError, ["flip", "(0, 0)"]),
    # ----- empty inputs that PyTorch refuses -------------------------------------------------
    BadInput("max over an empty dim", lambda: gn.max(empty, dim=0), IndexError,
             ["max", "dim 0", "non-zero size", "(0, 3)"]),
    BadInput("min over an empty dim", lambda: empty.min(dim=0), IndexError,
             ["min", "dim 0", "non-zero size", "(0, 3)"]),
    BadInput("amax over an empty dim", lambda: gn.amax(gn.zeros(2, 0), dim=1), IndexError,
             ["amax", "dim 1", "non-zero size", "(2, 0)"]),
    BadInput("amin over empty dims", lambda: gn.amin(gn.zeros(2, 0, 3), dim=(0, 1)), IndexError,
             ["amin", "dim 1", "(2, 0, 3)"]),
    BadInput("argmax over an empty dim", lambda: gn.argmax(empty, dim=0), IndexError,
             ["argmax", "dim 0", "non-zero size", "(0, 3)"]),
    BadInput("argmin over an empty dim", lambda: empty.argmin(dim=0), IndexError,
             ["argmin", "dim 0", "(0, 3)"]),
    BadInput("max of a whole empty tensor", lambda: empty.max(), RuntimeError,
             ["max", "(0, 3)", "dim"]),
    BadInput("amin of a whole empty tensor", lambda: gn.amin(empty), RuntimeError,
             ["amin", "(0, 3)", "dim"]),
    BadInput("argmax of a whole empty tensor", lambda: gn.argmax(empty), IndexError,
             ["argmax", "(0, 3)", "dim"]),
    BadInput("compiled amax over an empty dim",
             lambda: _compiled_amax_over_dim_0()(np.zeros((0, 3))), IndexError,
             ["amax", "dim 0", "(0, 3)"]),
    BadInput("max_pool2d zero channels", lambda: F.max_pool2d(gn.zeros(2, 0, 8, 8), 2),
             RuntimeError, ["max_pool2d", "(2, 0, 8, 8)", "only the batch dimension"]),
    BadInput("max_pool2d unbatched zero channels", lambda: F.max_pool2d(gn.zeros(0, 8, 8), 2),
             RuntimeError, ["max_pool2d", "(0, 8, 8)"]),
    BadInput("max_pool2d zero height", lambda: F.max_pool2d(gn.zeros(0, 2, 0, 8), 2),
             RuntimeError, ["max_pool2d", "(0, 2, 0, 8)"]),
    BadInput("MaxPool2d zero channels", lambda: nn.MaxPool2d(2)(gn.zeros(1, 0, 4, 4)),
             RuntimeError, ["max_pool2d", "(1, 0, 4, 4)"]),
    BadInput("max_pool1d zero channels", lambda: F.max_pool1d(gn.zeros(2, 0, 8), 2),
             RuntimeError, ["max_pool1d", "(2, 0, 8)"]),
    BadInput("avg_pool2d zero width", lambda: F.avg_pool2d(gn.zeros(2, 2, 8, 0), 2),
             RuntimeError, ["avg_pool2d", "(2, 2, 8, 0)"]),
    BadInput("adaptive_max_pool2d zero channels",
             lambda: F.adaptive_max_pool2d(gn.zeros(2, 0, 8, 8), 2), RuntimeError,
             ["adaptive_max_pool2d", "(2, 0, 8, 8)"]),
    BadInput("adaptive_avg_pool2d zero height",
             lambda: F.adaptive_avg_pool2d(gn.zeros(2, 2, 0, 8), 2), RuntimeError,
             ["adaptive_avg_pool2d", "(2, 2, 0, 8)", "spatial"]),
    BadInput("LSTM over zero steps", lambda: nn.LSTM(4, 5)(gn.zeros(0, 2, 4)), RuntimeError,
             ["lstm", "sequence length", "(0, 2, 4)"]),
    BadInput("GRU over zero steps, batch first",
             lambda: nn.GRU(4, 5, batch_first=True)(gn.zeros(2, 0, 4)), RuntimeError,
             ["gru", "sequence length", "(2, 0, 4)", "no time steps"]),
    *[BadInput(f"compiled {kind} on an empty batch",
               lambda kind=kind: _compiled_recurrent_layer_on_an_empty_batch(kind), RuntimeError,
               [f"{kind.lower()}_sequence", "batch of 0", "unknown batch size", "eagerly"])
      for kind in ("LSTM", "GRU", "RNN")],
    BadInput("RNN over zero steps, unbatched", lambda: nn.RNN(4, 5)(gn.zeros(0, 4)), RuntimeError,
             ["rnn_tanh", "sequence length", "(0, 4)"]),
]

test_bad_input = bad_input_test(CASES)
