"""Character-level text corpora for language models (Tiny Shakespeare and any text file).

``CharVocabulary`` maps characters to ids and back. ``TextFile`` splits a file's characters into
train and validation parts (the first ``1 - val_fraction`` and the rest, the usual split for
Tiny Shakespeare) and serves non-overlapping windows as ``(input, target)`` pairs, the target
being the input shifted by one character. ``sequence_batches`` serves the other classic layout:
``batch_size`` parallel streams cut into consecutive chunks, for stateful (truncated-BPTT) RNNs.
"""
import numpy as np

from ganglion.core.tensor import make_tensor
from ganglion.data.dataset import Dataset, check_index
from ganglion.data.paths import data_root

__all__ = ["CharVocabulary", "TextFile", "TinyShakespeare", "sequence_batches"]


class CharVocabulary:
    """The sorted set of characters of a text; ids are positions in that order."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}
        # A lookup table from code point to id makes encoding a whole corpus one NumPy call.
        self._table = np.full(max(map(ord, self.chars), default=0) + 1, -1, dtype=np.int64)
        self._table[[ord(c) for c in self.chars]] = np.arange(len(self.chars))

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """The ids of ``text``'s characters, as an int64 array."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        known = codes < len(self._table)
        ids = np.full(codes.shape, -1, dtype=np.int64)
        ids[known] = self._table[codes[known]]
        if (ids < 0).any():
            unknown = sorted({text[i] for i in np.flatnonzero(ids < 0)[:10]})
            raise ValueError(f"CharVocabulary.encode: characters {unknown!r} are not in the "
                             f"vocabulary of {len(self)}")
        return ids

    def decode(self, ids):
        """The text of a sequence of ids (a list, array or tensor)."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and ids.dtype.kind not in "iu":
            raise TypeError(f"CharVocabulary.decode: ids must be integers, got {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"CharVocabulary.decode: ids must lie in [0, {len(self)}), found "
                             f"[{ids.min()}, {ids.max()}]")
        return "".join(self.chars[i] for i in ids.tolist())

    def __repr__(self):
        return f"CharVocabulary({len(self)} characters)"


def _read_text(path):
    """The file's text, decoded as UTF-8; a byte-order mark is dropped (it would otherwise be
    a character of the vocabulary)."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ValueError(f"{path}: not UTF-8 text: byte {raw[error.start:error.end]!r} at byte "
                         f"offset {error.start} (line {line}) cannot be decoded ({error.reason}); "
                         "expected a UTF-8 text file") from None


class TextFile(Dataset):
    """Windows of ``seq_len`` characters of a text file, as (input ids, next-character ids).

    The vocabulary is built from the whole file, so train and validation share ids; pass
    ``vocab`` to reuse another one. ``split`` is 'train', 'val' or 'all'.
    """

    def __init__(self, path, seq_len=64, split="train", val_fraction=0.1, vocab=None):
        if split not in ("train", "val", "all"):
            raise ValueError(f"TextFile: split must be 'train', 'val' or 'all', got {split!r}")
        if not 0 <= val_fraction < 1:
            raise ValueError(f"TextFile: val_fraction must lie in [0, 1), got {val_fraction}")
        if isinstance(seq_len, bool) or not isinstance(seq_len, (int, np.integer)) or seq_len < 1:
            raise ValueError(f"TextFile: seq_len must be a positive integer, got {seq_len!r}")
        self.path = path
        text = _read_text(path)
        self.vocab = vocab if vocab is not None else CharVocabulary(text)
        ids = self.vocab.encode(text)
        boundary = int(len(ids) * (1 - val_fraction))
        self.ids = {"train": ids[:boundary], "val": ids[boundary:], "all": ids}[split]
        self.seq_len = int(seq_len)
        if len(self.ids) < self.seq_len + 1:
            raise ValueError(f"TextFile: the {split} part of {path} has {len(self.ids)} "
                             f"characters, fewer than seq_len + 1 = {self.seq_len + 1}")

    def __len__(self):
        return (len(self.ids) - 1) // self.seq_len

    def __getitem__(self, index):
        start = check_index(index, len(self), "TextFile") * self.seq_len
        return (make_tensor(self.ids[start:start + self.seq_len]),
                make_tensor(self.ids[start + 1:start + self.seq_len + 1]))

    def get_batch(self, indices):
        """(inputs, targets), each (len(indices), seq_len) int64, gathered in one call."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(self)
        if indices.size and (indices.min() < -n or indices.max() >= n):
            bad = indices[(indices < -n) | (indices >= n)][0]
            raise IndexError(f"TextFile: index {bad} is out of range for {n} samples")
        # Negative indices count from the end, as in __getitem__; left as they are, the last
        # target of window -1 would wrap around to the file's first character.
        indices = np.where(indices < 0, indices + n, indices)
        positions = indices[:, None] * self.seq_len + np.arange(self.seq_len)
        return make_tensor(self.ids[positions]), make_tensor(self.ids[positions + 1])

    def encode(self, text):
        return self.vocab.encode(text)

    def decode(self, ids):
        return self.vocab.decode(ids)


class TinyShakespeare(TextFile):
    """Karpathy's Tiny Shakespeare (``root/tinyshakespeare/input.txt``): 1,115,394 characters,
    65 symbols, split 90% / 10%."""

    def __init__(self, root=None, seq_len=64, split="train", val_fraction=0.1, vocab=None):
        path = data_root(root) / "tinyshakespeare" / "input.txt"
        if not path.is_file():
            raise FileNotFoundError(f"TinyShakespeare: {path} not found; pass root= or set "
                                    "$GANGLION_DATA")
        super().__init__(path, seq_len, split, val_fraction, vocab)


def sequence_batches(ids, batch_size, seq_len):
    """Yield (inputs, targets), each (batch_size, seq_len), from ``batch_size`` parallel streams.

    Row ``b`` of consecutive batches continues row ``b`` of the previous one, so an RNN can
    carry its hidden state from batch to batch. The tail that does not fill the streams is
    dropped.
    """
    for name, value in (("batch_size", batch_size), ("seq_len", seq_len)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"sequence_batches: {name} must be a positive integer, got "
                             f"{value!r}")
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    stream_len = (len(ids) - 1) // batch_size
    if stream_len < 1:
        raise ValueError(f"sequence_batches: {len(ids)} ids are too few for {batch_size} streams")
    inputs = ids[:stream_len * batch_size].reshape(batch_size, stream_len)
    targets = ids[1:stream_len * batch_size + 1].reshape(batch_size, stream_len)
    for start in range(0, stream_len, seq_len):
        yield (make_tensor(inputs[:, start:start + seq_len]),
               make_tensor(targets[:, start:start + seq_len]))
