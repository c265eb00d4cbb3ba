"""Variable-length sequence batches (PyTorch's ``torch.nn.utils.rnn``): padding, packing and
their inverses, and the ``PackedSequence`` that nn.RNN / LSTM / GRU accept.

A PackedSequence holds the steps of a batch of sequences sorted by decreasing length, step by
step: ``data`` is (sum of lengths, *), its first ``batch_sizes[0]`` rows the first step of every
sequence, then the second step of the ``batch_sizes[1]`` sequences that have one, and so on.
``sorted_indices`` (None when the batch came sorted) gives the original position of each sorted
sequence, ``unsorted_indices`` its inverse. Values match PyTorch's exactly, and every function
is differentiable: packing is one gather of the padded rows, unpacking one scatter of them.

Lengths are read as values (they decide shapes), so packing needs concrete tensors, not
symbolic placeholders.
"""
from collections import namedtuple

import numpy as np

from ganglion.core.creation import from_numpy, full, zeros
from ganglion.core.op import apply, format_shape
from ganglion.core.ops.indexing import GetItem, IndexAdd, Slot, getitem, index_select
from ganglion.core.ops.elementwise import where
from ganglion.core.ops.shape import concatenate, reshape, stack, transpose
from ganglion.core.tensor import Tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence"]

_ROWS = (Slot(0),)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices",
                                                   "unsorted_indices"])):
    """(data, batch_sizes, sorted_indices, unsorted_indices), as PyTorch's named tuple; build
    one with ``pack_padded_sequence`` or ``pack_sequence`` rather than by hand."""
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        """The same packing with ``data.to(*args, **kwargs)`` (indices stay int64)."""
        return self._with_data(self.data.to(*args, **kwargs))

    def float(self):
        return self._with_data(self.data.float())

    def double(self):
        return self._with_data(self.data.double())

    def detach(self):
        return self._with_data(self.data.detach())

    @property
    def is_cuda(self):
        return False

    def is_pinned(self):
        return False


def _invert(permutation):
    array = permutation._data
    inverse = np.empty_like(array)
    inverse[array] = np.arange(array.size, dtype=array.dtype)
    return from_numpy(inverse)


def _lengths_array(lengths, batch):
    """``lengths`` (a list or a 1-D integer tensor) as an int64 array of ``batch`` values."""
    if isinstance(lengths, Tensor):
        if lengths._data is None:
            raise TypeError("pack_padded_sequence: lengths must have values (not a symbolic "
                            "placeholder): they decide the packed shapes")
        if lengths.ndim != 1 or lengths.dtype.category != 1:
            raise RuntimeError(f"pack_padded_sequence: lengths must be a 1-D integer tensor, got "
                               f"shape {format_shape(lengths.shape)} and dtype {lengths.dtype}")
        array = lengths._data.astype(np.int64)
    else:
        array = np.asarray(list(lengths))
        if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
            raise RuntimeError(f"pack_padded_sequence: lengths must be a list of integers, got "
                               f"{list(lengths)!r}")
        array = array.astype(np.int64)
    if array.size != batch:
        raise RuntimeError(f"pack_padded_sequence: expected len(lengths) to be equal to the batch "
                           f"size {batch}, got {array.size} lengths")
    return array


def _packed_rows(lengths_sorted, steps, batch):
    """Row numbers in the (steps * batch) flattened padded tensor of every packed row, step by
    step, and the batch sizes: the packing as index arrays (lengths in decreasing order)."""
    batch_sizes = (lengths_sorted[None, :] > np.arange(steps)[:, None]).sum(axis=1)
    batch_sizes = batch_sizes[batch_sizes > 0]
    rows = np.concatenate([t * batch + np.arange(n) for t, n in enumerate(batch_sizes)])
    return rows.astype(np.int64), batch_sizes.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of the
    given ``lengths``. With ``enforce_sorted`` the lengths must be in decreasing order;
    otherwise the batch is sorted here and ``sorted_indices`` records how."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: expected a Tensor as input, got "
                        f"{type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected input of shape (T, B, *) or (B, T, *), "
                         f"got {format_shape(input.shape)}")
    if batch_first:
        input = transpose(input, 0, 1)
    steps, batch = input.shape[0], input.shape[1]
    lengths = _lengths_array(lengths, batch)
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError(f"pack_padded_sequence: the length of every sequence has to be greater "
                           f"than 0, got lengths {lengths.tolist()}")
    if lengths.size and lengths.max() > steps:
        raise ValueError(f"pack_padded_sequence: a length of {int(lengths.max())} is longer than "
                         f"the {steps} steps of the padded input")
    sorted_indices = None
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise RuntimeError(f"pack_padded_sequence: lengths {lengths.tolist()} must be sorted "
                               "in decreasing order when enforce_sorted is True; pass "
                               "enforce_sorted=False to sort them here")
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        sorted_indices = from_numpy(order.astype(np.int64))
        input = index_select(input, 1, sorted_indices)
    rows, batch_sizes = _packed_rows(lengths, steps, batch)
    flat = reshape(input, (steps * batch,) + tuple(input.shape[2:]))
    data = apply(GetItem(_ROWS), flat, from_numpy(rows))
    return PackedSequence(data, from_numpy(batch_sizes), sorted_indices)


def _sorted_lengths(batch_sizes):
    """Each sorted sequence's length, from the batch sizes."""
    sizes = batch_sizes._data
    return (sizes[None, :] > np.arange(sizes[0])[:, None]).sum(axis=1).astype(np.int64)


def padded_sorted(sequence, padding_value=0.0, total_length=None):
    """(padded (T, B, *) in the packed (sorted) order, sorted lengths): the first half of
    pad_packed_sequence, which the recurrent layers use directly."""
    data, batch_sizes = sequence.data, sequence.batch_sizes
    lengths = _sorted_lengths(batch_sizes)
    steps = len(batch_sizes._data)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: expected total_length to be at least the "
                             f"length of the longest sequence, {steps}, got total_length="
                             f"{total_length}")
        steps = total_length
    batch = lengths.size
    rows, _ = _packed_rows(lengths, steps, batch)
    like = zeros((steps * batch,) + tuple(data.shape[1:]), dtype=data.dtype)
    scattered = apply(IndexAdd(_ROWS), data, like, from_numpy(rows))
    if padding_value != 0:
        # IndexAdd starts from zeros: the padding positions get their value here.
        packed = np.zeros(steps * batch, bool)
        packed[rows] = True
        scattered = where(from_numpy(packed.reshape((-1,) + (1,) * (data.ndim - 1))), scattered,
                          padding_value)
    return reshape(scattered, (steps, batch) + tuple(data.shape[1:])), lengths


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths), the
    batch in its original order, padded with ``padding_value`` up to ``total_length`` (default
    the longest length) steps. ``lengths`` is an int64 tensor."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    padded, lengths = padded_sorted(sequence, padding_value, total_length)
    if sequence.unsorted_indices is not None:
        padded = index_select(padded, 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices._data]
    if batch_first:
        padded = transpose(padded, 0, 1)
    return padded, from_numpy(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes (L_i, *) into (max L, B, *) (or (B, max L, *)), padding each
    with ``padding_value`` on the right (or the left) up to the longest."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"pad_sequence: expected padding_side to be 'left' or 'right', got "
                           f"{padding_side!r}")
    if isinstance(sequences, Tensor):
        sequences = [getitem(sequences, i) for i in range(sequences.shape[0])]
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor) or s.ndim < 1:
            what = format_shape(s.shape) if isinstance(s, Tensor) else type(s).__name__
            raise TypeError(f"pad_sequence: sequence {i} must be a tensor of shape (L, *), got "
                            f"{what}")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: every sequence must have the trailing shape "
                               f"{format_shape(trailing)} of the first, got "
                               f"{format_shape(s.shape)} for sequence {i}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            filler = full((missing,) + trailing, padding_value, dtype=s.dtype)
            s = concatenate([s, filler] if padding_side == "right" else [filler, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors (L_i, *) directly (pad_sequence, then pack_padded_sequence)."""
    sequences = list(sequences)
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences (L_i, *) held in a padded batch, given their lengths."""
    if not batch_first:
        padded_sequences = transpose(padded_sequences, 0, 1)
    lengths = lengths._data if isinstance(lengths, Tensor) else np.asarray(lengths)
    return [getitem(padded_sequences, (i, slice(0, int(n)))) for i, n in enumerate(lengths)]


def unpack_sequence(packed_sequences):
    """The list of sequences held in a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def packed_like(padded, sequence):
    """Pack a padded batch (T, B, *) that is in ``sequence``'s sorted order, with its batch
    sizes and indices (the recurrent layers' packed output)."""
    lengths = _sorted_lengths(sequence.batch_sizes)
    steps, batch = padded.shape[0], padded.shape[1]
    rows, _ = _packed_rows(lengths, steps, batch)
    flat = reshape(padded, (steps * batch,) + tuple(padded.shape[2:]))
    return sequence._with_data(apply(GetItem(_ROWS), flat, from_numpy(rows)))
