"""Recurrent cells, the multi-layer sequence loops of RNN / LSTM / GRU, and embedding lookup.

Weights follow PyTorch's layout: ``w_ih`` is (G*H, input), ``w_hh`` is (G*H, H) with the gate
blocks stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n). Every sequence function
computes the input projection of all time steps with one GEMM per layer and direction. LSTM,
GRU and the Elman RNN then run their time loops as one fused op each (``ganglion.core.ops.recurrent``),
with one GEMM per step for all gates; they do not support double backward (the cells, built
from ordinary ops, do).

``weights`` of a sequence function is a list with one (w_ih, w_hh, b_ih, b_hh) tuple per layer
and direction (layer-major, forward before reverse), biases None when absent.
"""
import numpy as np

from ganglion.core.creation import from_numpy, zeros
from ganglion.core.errors import DTypeError
from ganglion.core.op import ShapeError, apply, format_shape, refuse_non_tensor
from ganglion.core.tensor import Tensor
from ganglion.core.ops import (concatenate, getitem, lstm_sequence, matmul, ne, relu, reshape,
                               sigmoid, stack, take_along_axis, tanh, transpose, unsqueeze, where)
from ganglion.core.ops.indexing import GetItem, IndexAdd, Slot, check_index_range
from ganglion.core.ops.recurrent import gru_sequence, rnn_sequence
from ganglion.nn.functional.dropout import dropout as dropout_function

__all__ = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell", "rnn", "lstm", "gru",
           "embedding", "embedding_bag"]

_ALL = slice(None)


def _columns(x, start, stop):
    return getitem(x, (_ALL, slice(start, stop)))


def _linear(x, weight, bias):
    y = matmul(x, transpose(weight))
    return y if bias is None else y + bias


# ----- one step of each cell, from the gate pre-activations ----------------------------------

def _rnn_step(pre, nonlinearity):
    return tanh(pre) if nonlinearity == "tanh" else relu(pre)


def _lstm_step(gates, c, hidden):
    # sigmoid once over the contiguous i, f block; g and o on their own.
    input_forget = sigmoid(_columns(gates, 0, 2 * hidden))
    i, f = _columns(input_forget, 0, hidden), _columns(input_forget, hidden, 2 * hidden)
    g = tanh(_columns(gates, 2 * hidden, 3 * hidden))
    o = sigmoid(_columns(gates, 3 * hidden, 4 * hidden))
    c = f * c + i * g
    return o * tanh(c), c


def _gru_step(x_gates, h_gates, h, hidden):
    """PyTorch's GRU: b_hn stays inside r * (W_hn h + b_hn), so ``h_gates`` includes b_hh."""
    reset_update = sigmoid(_columns(x_gates, 0, 2 * hidden) + _columns(h_gates, 0, 2 * hidden))
    r, z = _columns(reset_update, 0, hidden), _columns(reset_update, hidden, 2 * hidden)
    h_n = _columns(h_gates, 2 * hidden, 3 * hidden)
    n = tanh(_columns(x_gates, 2 * hidden, 3 * hidden) + r * h_n)
    return n + z * (h - n)


# ----- cells ------------------------------------------------------------------------------

def _batched(x, states):
    """Unbatched cell input (1-D) as a batch of one; returns (x, states, unbatched)."""
    if x.ndim != 1:
        return x, states, False
    return unsqueeze(x, 0), tuple(unsqueeze(s, 0) for s in states), True


def _unbatched(states, unbatched):
    return tuple(getitem(s, 0) for s in states) if unbatched else states


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    input, (hx,), unbatched = _batched(input, (hx,))
    h = _rnn_step(_linear(input, w_ih, b_ih) + _linear(hx, w_hh, b_hh), "tanh")
    return _unbatched((h,), unbatched)[0]


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    input, (hx,), unbatched = _batched(input, (hx,))
    h = _rnn_step(_linear(input, w_ih, b_ih) + _linear(hx, w_hh, b_hh), "relu")
    return _unbatched((h,), unbatched)[0]


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step; ``hx`` is (h, c) and the result is (h', c')."""
    input, states, unbatched = _batched(input, tuple(hx))
    h, c = states
    gates = _linear(input, w_ih, b_ih) + _linear(h, w_hh, b_hh)
    return _unbatched(_lstm_step(gates, c, w_hh.shape[1]), unbatched)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step: h' = (1 - z) * n + z * h."""
    input, (hx,), unbatched = _batched(input, (hx,))
    h = _gru_step(_linear(input, w_ih, b_ih), _linear(hx, w_hh, b_hh), hx, w_hh.shape[1])
    return _unbatched((h,), unbatched)[0]


# ----- one layer direction over the whole sequence ----------------------------------------

def _project(x, w_ih, b_ih):
    """The input projection of all steps: one GEMM on (T*N, input) rows."""
    return _linear(reshape(x, (-1, x.shape[-1])), w_ih, b_ih)


def _lstm_direction(x, states, weights, reverse):
    w_ih, w_hh, b_ih, b_hh = weights
    h0, c0 = states
    hidden = w_hh.shape[1]
    # The fused op adds one bias per step, so b_ih and b_hh are summed once here.
    if b_ih is not None and b_hh is not None:
        bias = b_ih + b_hh
    elif b_ih is not None or b_hh is not None:
        bias = b_hh if b_ih is None else b_ih
    else:
        bias = zeros(4 * hidden, dtype=x.dtype)
    outputs = lstm_sequence(_project(x, w_ih, None), bias, h0, c0, w_hh, reverse)
    # outputs is (T + 1, N, H): c_n, then h of every step (see lstm_sequence).
    return getitem(outputs, slice(1, None)), (getitem(outputs, 1 if reverse else -1),
                                              getitem(outputs, 0))


def _gru_direction(x, states, weights, reverse):
    w_ih, w_hh, b_ih, b_hh = weights
    (h0,) = states
    hidden = w_hh.shape[1]
    if b_hh is None:
        b_hh = zeros(3 * hidden, dtype=x.dtype)
    out = gru_sequence(_project(x, w_ih, b_ih), b_hh, h0, w_hh, reverse)
    return out, (getitem(out, 0 if reverse else -1),)


def _rnn_direction(nonlinearity):
    """The Elman RNN's runner: one fused op over the whole sequence (``rnn_sequence``)."""
    def run(x, states, weights, reverse):
        w_ih, w_hh, b_ih, b_hh = weights
        (h0,) = states
        if b_hh is None:
            b_hh = zeros(w_hh.shape[1], dtype=x.dtype)
        out = rnn_sequence(_project(x, w_ih, b_ih), b_hh, h0, w_hh, reverse, nonlinearity)
        return out, (getitem(out, 0 if reverse else -1),)
    return run


def _empty_batch_direction(x, states, weights, reverse):
    """Any runner on a batch of 0 sequences (x is (T, 0, in)): the output is (T, 0, H) and the
    final states are the (empty) initial ones, as in PyTorch. The fused ops cannot take this
    batch (their (T*N, G*H) input loses T), so the output is built from the input projection
    and h0's, which are empty too but involve every weight: each weight then gets a zero
    gradient of its own shape, as PyTorch gives."""
    w_ih, w_hh, b_ih, b_hh = weights
    gates = _linear(x, w_ih, b_ih) + _linear(states[0], w_hh, b_hh)
    return getitem(gates, (_ALL, _ALL, slice(0, w_hh.shape[1]))), states


_DIRECTIONS = {
    "lstm": _lstm_direction,
    "gru": _gru_direction,
    "rnn_tanh": _rnn_direction("tanh"),
    "rnn_relu": _rnn_direction("relu"),
}


# ----- multi-layer, bidirectional sequences -----------------------------------------------

def _run(kind, input, states, weights, num_layers, dropout, training, bidirectional,
         batch_first):
    """The shared layer loop; ``states`` is a tuple of (L*D, N, H) tensors (h, or h and c)."""
    directions = 2 if bidirectional else 1
    if len(weights) != num_layers * directions:
        raise ValueError(f"{kind}: expected {num_layers * directions} weight tuples for "
                         f"{num_layers} layers and {directions} directions, got {len(weights)}")
    unbatched = input.ndim == 2
    original_shape = input.shape
    if unbatched:
        input = unsqueeze(input, 1)
        states = tuple(unsqueeze(s, 1) for s in states)
    elif batch_first:
        input = transpose(input, 0, 1)
    if input.shape[0] == 0:
        raise RuntimeError(f"{kind}: expected sequence length to be larger than 0, got an input "
                           f"of shape {format_shape(original_shape)} with no time steps")
    # A batch of 0 sequences gives empty results, as in PyTorch, through a runner of its own.
    run_direction = _empty_batch_direction if input.shape[1] == 0 else _DIRECTIONS[kind]
    x = input
    finals = [[] for _ in states]
    for layer in range(num_layers):
        if layer and dropout and training:
            x = dropout_function(x, dropout, training=True)
        outputs = []
        for direction in range(directions):
            k = layer * directions + direction
            layer_states = tuple(getitem(s, k) for s in states)
            output, final = run_direction(x, layer_states, weights[k], direction == 1)
            outputs.append(output)
            for store, value in zip(finals, final):
                store.append(value)
        x = outputs[0] if directions == 1 else concatenate(outputs, axis=2)
    finals = tuple(stack(store) for store in finals)
    if unbatched:
        return getitem(x, (_ALL, 0)), tuple(getitem(s, (_ALL, 0)) for s in finals)
    return (transpose(x, 0, 1) if batch_first else x), finals


def _initial(input, hidden, count, batch_first):
    batch = 1 if input.ndim == 2 else input.shape[0 if batch_first else 1]
    if batch is None:
        raise ValueError("a symbolic input with an unknown batch size needs an explicit "
                         "initial state (hx)")
    shape = (count, hidden) if input.ndim == 2 else (count, batch, hidden)
    return zeros(*shape, dtype=input.dtype)


def _hidden_size(weights):
    return weights[0][1].shape[1]


def lstm(input, hx, weights, num_layers=1, dropout=0.0, training=False, bidirectional=False,
         batch_first=False):
    """A multi-layer LSTM over ``input`` (T, N, in), or (N, T, in) with ``batch_first``.

    ``hx`` is (h_0, c_0), each (num_layers * directions, N, H), or None for zeros. Returns
    (output, (h_n, c_n)), output being (T, N, directions * H)."""
    count = num_layers * (2 if bidirectional else 1)
    if hx is None:
        state = _initial(input, _hidden_size(weights), count, batch_first)
        hx = (state, state)
    output, (h_n, c_n) = _run("lstm", input, tuple(hx), weights, num_layers, dropout, training,
                              bidirectional, batch_first)
    return output, (h_n, c_n)


def gru(input, hx, weights, num_layers=1, dropout=0.0, training=False, bidirectional=False,
        batch_first=False):
    """A multi-layer GRU; ``hx`` is h_0 or None. Returns (output, h_n)."""
    return _single_state("gru", input, hx, weights, num_layers, dropout, training, bidirectional,
                         batch_first)


def rnn(input, hx, weights, num_layers=1, nonlinearity="tanh", dropout=0.0, training=False,
        bidirectional=False, batch_first=False):
    """A multi-layer Elman RNN with tanh or relu; ``hx`` is h_0 or None. Returns (output, h_n)."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _single_state("rnn_" + nonlinearity, input, hx, weights, num_layers, dropout, training,
                         bidirectional, batch_first)


def _single_state(kind, input, hx, weights, num_layers, dropout, training, bidirectional,
                  batch_first):
    count = num_layers * (2 if bidirectional else 1)
    if hx is None:
        hx = _initial(input, _hidden_size(weights), count, batch_first)
    output, (h_n,) = _run(kind, input, (hx,), weights, num_layers, dropout, training,
                          bidirectional, batch_first)
    return output, h_n


# ----- packed (variable-length) batches ---------------------------------------------------

def _masked_direction(kind, x, lengths, states, weights, reverse):
    """One layer direction over a padded batch (T, B, in) of sequences of ``lengths``, step by
    step: a sequence's state stops changing after its last step (and, in reverse, starts
    changing only at it), so the final states are those at each sequence's true end and the
    outputs past it are zero. Built from the cells' Tensor ops, so it has every gradient."""
    w_ih, w_hh, b_ih, b_hh = weights
    hidden = w_hh.shape[1]
    steps, batch = x.shape[0], x.shape[1]
    projected = reshape(_project(x, w_ih, b_ih), (steps, batch, -1))
    h = states[0]
    c = states[1] if kind == "lstm" else None
    outputs = [None] * steps
    for t in (reversed(range(steps)) if reverse else range(steps)):
        active = from_numpy((lengths > t).reshape(-1, 1))
        x_gates = getitem(projected, t)
        if kind == "lstm":
            h_new, c_new = _lstm_step(x_gates + _linear(h, w_hh, b_hh), c, hidden)
            c = where(active, c_new, c)
        elif kind == "gru":
            h_new = _gru_step(x_gates, _linear(h, w_hh, b_hh), h, hidden)
        else:
            h_new = _rnn_step(x_gates + _linear(h, w_hh, b_hh), kind[len("rnn_"):])
        h = where(active, h_new, h)
        outputs[t] = where(active, h_new, 0.0)
    return stack(outputs), ((h, c) if kind == "lstm" else (h,))


def packed_run(kind, x, lengths, states, weights, num_layers, dropout, training, bidirectional):
    """RNN / LSTM / GRU (``kind`` as in ``_DIRECTIONS``) over a padded batch (T, B, in) whose
    sequences have ``lengths`` (a NumPy array): what the layers run for a PackedSequence.
    ``states`` is a tuple of (L*D, B, H) tensors; returns (output (T, B, D*H), zero past each
    length, and the final states at each sequence's last step)."""
    directions = 2 if bidirectional else 1
    finals = [[] for _ in states]
    for layer in range(num_layers):
        if layer and dropout and training:
            x = dropout_function(x, dropout, training=True)
        outputs = []
        for direction in range(directions):
            k = layer * directions + direction
            layer_states = tuple(getitem(s, k) for s in states)
            output, final = _masked_direction(kind, x, lengths, layer_states, weights[k],
                                              direction == 1)
            outputs.append(output)
            for store, value in zip(finals, final):
                store.append(value)
        x = outputs[0] if directions == 1 else concatenate(outputs, axis=2)
    return x, tuple(stack(store) for store in finals)


# ----- embedding --------------------------------------------------------------------------

def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer tensor ``input``.

    Repeated indices accumulate their gradients. Positions equal to ``padding_idx`` read the
    row as it is but send it no gradient, as in PyTorch."""
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor)):
        refuse_non_tensor("embedding", (input, weight))
    if input.dtype.category != 1:
        raise DTypeError(f"embedding: indices must be an integer tensor, got {input.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {format_shape(weight.shape)}")
    count = weight.shape[0]
    # PyTorch refuses indices outside [0, count), where NumPy would wrap -1 to the last row:
    # the lookup op checks the indices' min and max when it runs (eager or symbolic).
    lookup = GetItem((Slot(0),), checked=("embedding", 0, f"an embedding of {count} rows"))
    rows = apply(lookup, weight, input)
    if padding_idx is None:
        return rows
    if count is not None and not -count <= padding_idx < count:
        raise ValueError(f"embedding: padding_idx must be in [-{count}, {count}) for an embedding "
                         f"of {count} rows, got {padding_idx}")
    if padding_idx < 0:
        padding_idx += count
    keep = unsqueeze(ne(input, padding_idx), -1)
    # The padding positions read the same rows from the detached table. (Detaching the weight,
    # which always has a value, rather than the looked-up rows keeps this valid in symbolic
    # graphs, where the rows are symbolic.)
    return where(keep, rows, apply(lookup, weight.detach(), input))


# ----- embedding bags ---------------------------------------------------------------------

_BAG_MODES = ("sum", "mean", "max")


def _bag_bounds(input, offsets, include_last_offset):
    """(indices, bag start positions, bag count) of the flat indices, from 2-D input (fixed-size
    bags, one per row) or from 1-D input and ``offsets``, with PyTorch's checks."""
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"embedding_bag: 2-D input (of shape {format_shape(input.shape)}) "
                             "is a batch of fixed-length bags, so offsets must be None")
        bags, length = input.shape
        return input._data.reshape(-1), np.arange(bags) * length, bags
    if input.ndim != 1:
        raise ValueError(f"embedding_bag: input must be 1-D (with offsets) or 2-D, got shape "
                         f"{format_shape(input.shape)}")
    if offsets is None:
        raise ValueError("embedding_bag: 1-D input needs offsets, a 1-D tensor of where each bag "
                         "starts")
    if not isinstance(offsets, Tensor) or offsets.ndim != 1 or offsets.dtype.category != 1:
        what = (f"a tensor of shape {format_shape(offsets.shape)} and dtype {offsets.dtype}"
                if isinstance(offsets, Tensor) else type(offsets).__name__)
        raise ValueError(f"embedding_bag: offsets must be a 1-D integer tensor, got {what}")
    starts = offsets._data
    total = input.shape[0]
    if starts.size:
        if starts[0] != 0:
            raise RuntimeError(f"embedding_bag: offsets[0] has to be 0 (the first bag starts at "
                               f"position 0), got {int(starts[0])}")
        if starts[-1] > total:
            raise RuntimeError(f"embedding_bag: offsets[-1] can not be greater than the input's "
                               f"length {total}, got {int(starts[-1])}")
        if starts.size > 1 and (np.diff(starts) < 0).any():
            raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got "
                               f"{starts.tolist() if starts.size <= 10 else 'a decrease'}")
    bags = starts.size - 1 if include_last_offset else starts.size
    if include_last_offset and bags < 0:
        raise ValueError("embedding_bag: include_last_offset=True needs at least one offset")
    return input._data, starts[:bags], bags


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """The sum, mean or max of the ``weight`` rows of each bag of indices, without forming the
    (indices, dim) lookups per bag: (bags, dim).

    Bags are the rows of a 2-D ``input``, or the runs of a 1-D ``input`` that start at
    ``offsets`` (with ``include_last_offset`` its last entry is the input's length, not a bag). Indices equal
    to ``padding_idx`` are left out of every bag (of the mean's count too); an empty bag gives
    zeros. ``per_sample_weights`` (the input's shape) scales each row, for mode 'sum' only.
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"embedding_bag: expected Tensors as input and weight, got "
                        f"{type(input).__name__} and {type(weight).__name__}")
    if mode not in _BAG_MODES:
        raise ValueError(f"embedding_bag: mode has to be one of 'sum', 'mean' or 'max', got "
                         f"{mode!r}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported (the gradient is always dense)")
    if input.dtype.category != 1:
        raise DTypeError(f"embedding_bag: indices must be an integer tensor, got {input.dtype}")
    if weight.ndim != 2:
        raise ShapeError(f"embedding_bag: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {format_shape(weight.shape)}")
    if input._data is None or (offsets is not None and offsets._data is None):
        raise TypeError("embedding_bag: the indices and offsets must have values (symbolic "
                        "indices are not supported)")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights is only supported for "
                                      f"mode='sum', got mode={mode!r}")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: per_sample_weights of shape "
                             f"{format_shape(per_sample_weights.shape)} must have the input's "
                             f"shape {format_shape(input.shape)}")
    rows_count, dim = weight.shape
    if padding_idx is not None:
        if not -rows_count <= padding_idx < rows_count:
            raise ValueError(f"embedding_bag: padding_idx must be in [-{rows_count}, "
                             f"{rows_count}) for an embedding of {rows_count} rows, got "
                             f"{padding_idx}")
        padding_idx %= rows_count
    indices, starts, bags = _bag_bounds(input, offsets, include_last_offset)
    check_index_range("embedding_bag", indices, rows_count, 0,
                      what=f"an embedding of {rows_count} rows")
    # Which bag each position belongs to; positions past the last bag's end (after the last
    # offset with include_last_offset) and padding positions belong to none.
    # The last bag runs to the end of the input, with include_last_offset too: PyTorch's
    # documents the last offset as the input's length and reads it as such.
    sizes = np.append(starts[1:], len(indices)).astype(np.int64)[:bags] - starts
    bag_of = np.repeat(np.arange(bags), sizes)
    # Each bag's positions are starts[b] .. starts[b] + sizes[b] - 1: a range over all bags
    # shifted by how far each bag's start is from the running total of the sizes before it.
    preceding = np.cumsum(sizes) - sizes
    positions = np.arange(len(bag_of)) + np.repeat(starts - preceding, sizes)
    if padding_idx is not None:
        keep = indices[positions] != padding_idx
        positions, bag_of = positions[keep], bag_of[keep]
    counts = np.bincount(bag_of, minlength=bags)
    picked = from_numpy(indices[positions])
    rows = apply(GetItem((Slot(0),)), weight, picked)
    if mode == "max":
        return _bag_max(rows, bag_of, counts, bags, dim)
    if per_sample_weights is not None:
        scales = reshape(per_sample_weights, (-1,))
        rows = rows * unsqueeze(getitem(scales, from_numpy(positions)), 1)
    like = zeros(bags, dim, dtype=weight.dtype)
    summed = apply(IndexAdd((Slot(0),)), rows, like, from_numpy(bag_of))
    if mode == "sum":
        return summed
    # mean: an empty bag (count 0) stays zero.
    inverse = (1.0 / np.maximum(counts, 1)).astype(weight.dtype.np)
    return summed * from_numpy(inverse.reshape(-1, 1))


def _bag_max(rows, bag_of, counts, bags, dim):
    """The elementwise max of each bag's rows, as a gather of the winning rows (so that the
    gradient goes to them only); empty bags give zeros."""
    values = rows._data
    nonempty = counts > 0
    winners = np.zeros((bags, dim), np.int64)
    if values.shape[0]:
        # bag_of is sorted, so each bag is one run of rows: reduceat over the run starts.
        run_starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[nonempty]
        best = np.maximum.reduceat(values, run_starts, axis=0)
        is_best = values == np.repeat(best, counts[nonempty], axis=0)
        candidates = np.where(is_best, np.arange(values.shape[0])[:, None], values.shape[0])
        winners[nonempty] = np.minimum.reduceat(candidates, run_starts, axis=0)
    out = take_along_axis(rows, from_numpy(winners), 0) if values.shape[0] else \
        zeros(bags, dim, dtype=rows.dtype)
    if nonempty.all():
        return out
    return where(from_numpy(nonempty.reshape(-1, 1)), out, 0.0)
