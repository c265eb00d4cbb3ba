"""Character-level corpora: vocabulary, windows, stream batches, Tiny Shakespeare."""
import os
from pathlib import Path

import numpy as np
import pytest

from ganglion.data import CharVocabulary, DataLoader, TextFile, TinyShakespeare, sequence_batches

SHARED = Path(os.environ.get("GANGLION_DATA")
              or Path(__file__).resolve().parents[3] / "shared" / "datasets")


def test_vocabulary_round_trip_and_unknown_characters():
    vocab = CharVocabulary("hello world")
    assert vocab.chars == [" ", "d", "e", "h", "l", "o", "r", "w"] and len(vocab) == 8
    ids = vocab.encode("hold")
    assert ids.dtype == np.int64 and ids.tolist() == [3, 5, 4, 1]
    assert vocab.decode(ids) == "hold"
    with pytest.raises(ValueError, match=r"characters \['x', 'é'\] are not in the vocabulary"):
        vocab.encode("héx")
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 8\)"):
        vocab.decode([9])


def test_windows_are_shifted_pairs(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("abcdefghijklmnopqrstuvwxyz" * 4, encoding="utf-8")
    train = TextFile(path, seq_len=10, split="train", val_fraction=0.25)
    assert len(train) == (78 - 1) // 10
    x, y = train[1]
    assert train.decode(x) == "klmnopqrst" and train.decode(y) == "lmnopqrstu"
    xb, yb = next(iter(DataLoader(train, batch_size=3)))
    assert xb.shape == (3, 10) and train.decode(xb.numpy()[2]) == "uvwxyzabcd"
    np.testing.assert_array_equal(xb.numpy()[:, 1:], yb.numpy()[:, :-1])
    val = TextFile(path, seq_len=10, split="val", val_fraction=0.25)
    assert val.vocab.chars == train.vocab.chars and len(val) == 2


def test_text_errors(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\xff\xfe\xfa")
    with pytest.raises(ValueError, match=r"bad\.txt: not UTF-8 text"):
        TextFile(path)
    path.write_text("short")
    with pytest.raises(ValueError, match="fewer than seq_len \\+ 1 = 65"):
        TextFile(path, split="all")


def test_sequence_batches_continue_each_stream():
    ids = np.arange(101)
    batches = list(sequence_batches(ids, batch_size=4, seq_len=10))
    assert len(batches) == 3 and batches[-1][0].shape == (4, 5)
    x0, y0 = batches[0]
    x1, _ = batches[1]
    assert x0.numpy()[1].tolist() == list(range(25, 35)) and x1.numpy()[1, 0] == 35
    np.testing.assert_array_equal(y0.numpy(), x0.numpy() + 1)


@pytest.mark.skipif(not (SHARED / "tinyshakespeare").is_dir(),
                    reason=f"Tiny Shakespeare is not at {SHARED / 'tinyshakespeare'}")
def test_real_tiny_shakespeare():
    train = TinyShakespeare(root=SHARED, seq_len=100)
    val = TinyShakespeare(root=SHARED, seq_len=100, split="val")
    assert len(train.vocab) == 65
    assert len(train.ids) + len(val.ids) == 1115394
    assert train.decode(train[0][0]).startswith("First Citizen:")
