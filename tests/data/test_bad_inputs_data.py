"""Bad inputs to the data loaders: each must fail with an error that names the file (row, column,
value) or the argument and what was expected, never corrupt data silently.

Files are written on demand into one temporary folder, so the table can be built at import time.
Companion tests below check the other half of each fix: what the loaders accept, they read
correctly (the real California housing file, the missing-value policies, the image cache).
"""
import os
import pickle
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import BadInput, bad_input_test
from PIL import Image

import ganglion as gn
from ganglion.data import (CaliforniaHousing, CharVocabulary, DataLoader, ImageFolder, Subset,
                           TensorDataset, TextFile, UnsafePickleError, default_collate,
                           make_spirals, make_xor, random_split, read_csv_columns,
                           sequence_batches, transforms)
from ganglion.data.datasets.cifar import load_batch
from ganglion.data.datasets.mnist import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from ganglion.vision.transforms import functional as vision_functional

SHARED = Path(os.environ.get("GANGLION_DATA")
              or Path(__file__).resolve().parents[3] / "shared" / "datasets")
HOUSING = SHARED / "california-housing" / "housing.csv"
_FOLDER = tempfile.TemporaryDirectory(prefix="ganglion-bad-data-")
HEADER = "total_rooms,total_bedrooms,median_house_value,ocean_proximity\n"
GOOD_ROW = "880,129,452600,NEAR BAY\n"


def _file(name, content):
    """Write ``content`` (str or bytes) to ``name`` in the temporary folder; its path."""
    path = Path(_FOLDER.name) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def _housing(name, bad_row, **kwargs):
    """CaliforniaHousing over a header, a good row (line 2) and ``bad_row`` (line 3)."""
    return CaliforniaHousing(path=_file(name, HEADER + GOOD_ROW + bad_row + "\n"),
                             test_fraction=0, **kwargs)


def _bomb_png(name, side=15000):
    """A valid 1-bit PNG of side x side pixels: 225 megapixels of zeros compress to ~30 KB."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    row = bytes(1 + (side + 7) // 8)  # filter byte 0, then side bits
    compressor = zlib.compressobj(9)
    rows = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000))
    rows += compressor.compress(row * (side % 1000)) + compressor.flush()
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
           + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return _file(name, png)


def _bomb_folder(name):
    root = Path(_FOLDER.name) / name
    _bomb_png(f"{name}/huge/0.png")
    return root


def _idx(name, magic, dims, payload):
    return _file(name, struct.pack(f">I{len(dims)}I", magic, *dims) + bytes(payload))


class _RunsCommand:
    def __reduce__(self):
        return os.system, ("echo should never run",)


def _pickle_file(name, obj):
    return _file(name, pickle.dumps(obj, protocol=2))


# A protocol-2 pickle that asks _codecs.encode for utf-8 (only latin1 is admitted).
_CODEC_PICKLE = (b"\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00abcX\x05\x00\x00\x00utf-8"
                 b"\x86R.")

_TEN = TensorDataset(np.arange(10, dtype=np.float32))


class _RaggedDataset:
    """Sample i is a vector of i + 1 values: a per-sample dataset that forgot to pad."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return np.zeros(index + 1, np.float32), index

CASES = [
    # ----- CSV / California housing: strict parsing -----------------------------------------
    BadInput("csv text in a numeric column", lambda: _housing("text_cell.csv", "7,abc,3,INLAND"),
             ValueError, ["text_cell.csv", "line 3", "'total_bedrooms'", "'abc'", "not a number"]),
    BadInput("csv thousands separator", lambda: _housing("thousands.csv", '7,"1,234",3,INLAND'),
             ValueError, ["thousands.csv", "line 3", "'total_bedrooms'", "'1,234'"]),
    BadInput("csv digit separator", lambda: _housing("underscore.csv", "7,1_234,3,INLAND"),
             ValueError, ["underscore.csv", "line 3", "'1_234'"]),
    BadInput("csv inf cell", lambda: _housing("inf.csv", "7,inf,3,INLAND"),
             ValueError, ["inf.csv", "line 3", "'total_bedrooms'", "'inf'", "finite"]),
    BadInput("csv nan written out", lambda: _housing("nan.csv", "7,NaN,3,INLAND"),
             ValueError, ["nan.csv", "line 3", "'NaN'", "finite"]),
    BadInput("csv overflow to inf", lambda: _housing("overflow.csv", "1e400,5,3,INLAND"),
             ValueError, ["overflow.csv", "line 3", "'total_rooms'", "'1e400'", "overflows"]),
    BadInput("csv target overflows to -inf",
             lambda: _housing("target_inf.csv", "7,5,-1e309,INLAND"),
             ValueError, ["target_inf.csv", "line 3", "'median_house_value'", "'-1e309'"]),
    BadInput("csv text target", lambda: _housing("target_text.csv", "7,5,cheap,INLAND"),
             ValueError, ["target_text.csv", "line 3", "'median_house_value'", "'cheap'"]),
    BadInput("csv empty target", lambda: _housing("target_empty.csv", "7,5,,INLAND"),
             ValueError, ["target_empty.csv", "line 3", "'median_house_value'", "empty"]),
    BadInput("csv empty category", lambda: _housing("category_empty.csv", "7,5,3,"),
             ValueError, ["category_empty.csv", "line 3", "'ocean_proximity'", "empty"]),
    BadInput("csv target beyond float32", lambda: _housing("target_big.csv", "7,5,1e39,INLAND"),
             ValueError, ["target_big.csv", "line 3", "1e+39", "float32"]),
    BadInput("csv column overflows standardisation",
             lambda: _housing("huge_column.csv", "1.7e308,5,3,INLAND\n1.7e308,5,3,INLAND"),
             ValueError, ["huge_column.csv", "'total_rooms'", "too large"]),
    BadInput("csv missing='raise'", lambda: _housing("missing_raise.csv", "7,,3,INLAND",
                                                      missing="raise"),
             ValueError, ["missing_raise.csv", "line 3", "'total_bedrooms'", "missing='raise'"]),
    BadInput("csv unknown missing policy", lambda: _housing("policy.csv", "7,5,3,INLAND",
                                                             missing="zero"),
             ValueError, ["missing", "'zero'", "median", "drop", "raise"]),
    BadInput("csv test_fraction out of range",
             lambda: CaliforniaHousing(path=_file("fraction.csv", HEADER + GOOD_ROW),
                                       test_fraction=1.5),
             ValueError, ["test_fraction", "1.5", "[0, 1)"]),
    BadInput("csv no training rows",
             lambda: CaliforniaHousing(path=_file("two_rows.csv", HEADER + GOOD_ROW * 2),
                                       test_fraction=0.9),
             ValueError, ["two_rows.csv", "test_fraction=0.9", "2 rows", "no training rows"]),
    BadInput("csv undeclared text column",
             lambda: read_csv_columns(_file("undeclared.csv", "a,b\n1,x\n")),
             ValueError, ["undeclared.csv", "line 2", "'b'", "'x'", "text_columns"]),
    BadInput("csv unknown text column",
             lambda: read_csv_columns(_file("unknown_text.csv", "a,b\n1,2\n"), ["c"]),
             ValueError, ["unknown_text.csv", "text_columns", "'c'"]),
    BadInput("csv duplicate header",
             lambda: read_csv_columns(_file("duplicate.csv", "a,b,a\n1,2,3\n")),
             ValueError, ["duplicate.csv", "'a'", "more than once"]),
    BadInput("csv not utf-8",
             lambda: CaliforniaHousing(path=_file("latin1.csv",
                                                  HEADER.encode() + b"7,5,3,caf\xe9\n")),
             ValueError, ["latin1.csv", "byte offset 71", "line 2", "UTF-8"]),
    BadInput("csv field over the size limit",
             lambda: read_csv_columns(_file("long_field.csv", "a,b\n1,2\n3," + "9" * 140_000
                                            + "\n")),
             ValueError, ["long_field.csv", "line 3", "field limit", "131072"]),
    # ----- images ----------------------------------------------------------------------------
    BadInput("image decompression bomb, lazy", lambda: ImageFolder(_bomb_folder("bomb_lazy"))[0],
             ValueError, ["0.png", "225000000 pixels", "178956970", "MAX_IMAGE_PIXELS"]),
    BadInput("image decompression bomb, in memory",
             lambda: ImageFolder(_bomb_folder("bomb_memory"), in_memory=True, cache=False),
             ValueError, ["0.png", "225000000 pixels", "MAX_IMAGE_PIXELS"]),
    BadInput("image folder unknown mode", lambda: ImageFolder(_FOLDER.name, mode="XYZ"),
             ValueError, ["ImageFolder", "mode", "'XYZ'", "'RGB'"]),
    # ----- MNIST IDX headers -------------------------------------------------------------------
    BadInput("idx dimensions overflow int64",
             lambda: read_idx(_idx("overflow-idx3-ubyte", IMAGES_MAGIC, (2**31, 2**31, 4), 0),
                              IMAGES_MAGIC),
             ValueError, ["overflow-idx3-ubyte", "truncated", "(2147483648, 2147483648, 4)",
                          "the file has 16 bytes"]),
    BadInput("idx size mismatch",
             lambda: read_idx(_idx("short-idx3-ubyte", IMAGES_MAGIC, (2, 28, 28), 1000),
                              IMAGES_MAGIC),
             ValueError, ["short-idx3-ubyte", "(2, 28, 28)", "16 + 1568", "1016 bytes"]),
    BadInput("idx wrong magic",
             lambda: read_idx(_idx("labels-as-images", LABELS_MAGIC, (3,), 3), IMAGES_MAGIC),
             ValueError, ["labels-as-images", "2049", "2051", "11 bytes"]),
    # ----- text corpus -------------------------------------------------------------------------
    BadInput("text not utf-8", lambda: TextFile(_file("latin1.txt", b"one\ntwo caf\xe9\n")),
             ValueError, ["latin1.txt", "byte offset 11", "line 2", "UTF-8"]),
    BadInput("text seq_len 0", lambda: TextFile(_file("short.txt", "hello world\n"), seq_len=0),
             ValueError, ["TextFile", "seq_len", "positive", "0"]),
    BadInput("text get_batch out of range",
             lambda: TextFile(_file("abc.txt", "abcdefghij"), 3, "all").get_batch([0, 3]),
             IndexError, ["TextFile", "index 3", "3 samples"]),
    BadInput("sequence_batches batch_size 0", lambda: next(sequence_batches(np.arange(10), 0, 2)),
             ValueError, ["sequence_batches", "batch_size", "0"]),
    BadInput("sequence_batches seq_len 0", lambda: next(sequence_batches(np.arange(10), 2, 0)),
             ValueError, ["sequence_batches", "seq_len", "0"]),
    BadInput("vocabulary decode float ids", lambda: CharVocabulary("abc").decode([0.5, 1.0]),
             TypeError, ["CharVocabulary.decode", "integers", "float64"]),
    # ----- synthetic problems ------------------------------------------------------------------
    BadInput("make_xor negative n", lambda: make_xor(n=-1),
             ValueError, ["make_xor", "n must be a positive integer", "-1"]),
    BadInput("make_xor fractional n", lambda: make_xor(n=2.5),
             ValueError, ["make_xor", "n", "2.5"]),
    BadInput("make_spirals zero classes", lambda: make_spirals(classes=0),
             ValueError, ["make_spirals", "classes", "0"]),
    BadInput("make_xor negative noise", lambda: make_xor(noise=-0.1),
             ValueError, ["make_xor", "noise", "-0.1"]),
    # ----- CIFAR pickles: the restricted unpickler -------------------------------------------
    BadInput("cifar pickle runs a command",
             lambda: load_batch(_pickle_file("system_batch", {b"data": _RunsCommand()})),
             UnsafePickleError, ["system_batch", "refused", "system"]),
    BadInput("cifar pickle calls eval",
             lambda: load_batch(_file("eval_batch", b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x00"
                                                    b"1+1\x85R.")),
             UnsafePickleError, ["eval_batch", "builtins.eval"]),
    BadInput("cifar pickle asks for another codec",
             lambda: load_batch(_file("codec_batch", _CODEC_PICKLE)),
             UnsafePickleError, ["codec_batch", "'utf-8'", "latin1"]),
    BadInput("cifar pickle of the wrong structure",
             lambda: load_batch(_pickle_file("list_batch", [1, 2, 3])),
             ValueError, ["list_batch", "expected a dict", "list"]),
    # ----- DataLoader arguments (PyTorch raises the same types) ------------------------------
    BadInput("loader batch_size 0", lambda: DataLoader(_TEN, batch_size=0),
             ValueError, ["batch_size", "positive integer", "0"]),
    BadInput("loader batch_size -1", lambda: DataLoader(_TEN, batch_size=-1),
             ValueError, ["batch_size", "positive integer", "-1"]),
    BadInput("loader batch_size 1.5", lambda: DataLoader(_TEN, batch_size=1.5),
             ValueError, ["batch_size", "positive integer", "1.5"]),
    BadInput("loader batch_size True", lambda: DataLoader(_TEN, batch_size=True),
             ValueError, ["batch_size", "True"]),
    BadInput("loader num_workers -1", lambda: DataLoader(_TEN, num_workers=-1),
             ValueError, ["num_workers", ">= 0", "-1"]),
    BadInput("loader num_workers 1.5", lambda: DataLoader(_TEN, num_workers=1.5),
             TypeError, ["num_workers", "integer", "1.5"]),
    BadInput("loader prefetch_factor 0", lambda: DataLoader(_TEN, num_workers=1, prefetch_factor=0),
             ValueError, ["prefetch_factor", "positive", "0"]),
    BadInput("loader over ragged samples",
             lambda: next(iter(DataLoader(_RaggedDataset(), batch_size=2, num_workers=1))),
             ValueError, ["default_collate", "different shapes", "(1,)", "(2,)", "collate_fn"]),
    # ----- datasets ----------------------------------------------------------------------------
    BadInput("tensor dataset first dims differ",
             lambda: TensorDataset(np.zeros((3, 2)), np.zeros(4)),
             ValueError, ["TensorDataset", "same first dimension", "(3, 2)", "(4,)"]),
    BadInput("dataset float index", lambda: _TEN[1.5],
             IndexError, ["TensorDataset", "integer", "1.5", "float"]),
    BadInput("subset index out of range", lambda: Subset(_TEN, [0, 100]),
             IndexError, ["Subset", "index 100", "10 samples"]),
    BadInput("subset float indices", lambda: Subset(_TEN, [0.5, 1.5]),
             IndexError, ["Subset", "integers", "float64"]),
    BadInput("subset boolean mask", lambda: Subset(_TEN, np.arange(10) > 4),
             IndexError, ["Subset", "integers", "bool", "flatnonzero"]),
    BadInput("random_split lengths do not sum", lambda: random_split(_TEN, [3, 3], seed=0),
             ValueError, ["random_split", "sum to 6", "10 samples"]),
    BadInput("random_split negative length", lambda: random_split(_TEN, [-1, 11], seed=0),
             ValueError, ["random_split", "non-negative", "-1"]),
    BadInput("random_split fractional counts", lambda: random_split(_TEN, [2.5, 7.5], seed=0),
             TypeError, ["random_split", "2.5", "whole counts"]),
    # ----- collate -----------------------------------------------------------------------------
    BadInput("collate shapes differ",
             lambda: default_collate([np.zeros(2), np.zeros(3)]),
             ValueError, ["default_collate", "different shapes", "(2,)", "(3,)"]),
    BadInput("collate tensor then int", lambda: default_collate([gn.tensor([1.0]), 1]),
             TypeError, ["default_collate", "Tensor", "int"]),
    BadInput("collate int then str", lambda: default_collate([1, "a"]),
             TypeError, ["default_collate", "int", "str"]),
    BadInput("collate dict keys differ", lambda: default_collate([{"a": 1}, {"b": 2}]),
             KeyError, ["default_collate", "'a'", "'b'"]),
    BadInput("collate field counts differ", lambda: default_collate([(1, 2), (1,)]),
             ValueError, ["default_collate", "numbers of fields", "[1, 2]"]),
    # ----- transforms --------------------------------------------------------------------------
    BadInput("normalize zero std",
             lambda: transforms.Normalize([0.5], [0.0])(np.zeros((1, 2, 2), np.float32)),
             ValueError, ["Normalize", "non-zero", "0.0"]),
    BadInput("normalize nan std",
             lambda: transforms.Normalize([0.5], [float("nan")])(np.zeros((1, 2, 2))),
             ValueError, ["Normalize", "finite", "nan"]),
    BadInput("normalize 2-d image",
             lambda: transforms.Normalize([0.5], [0.5])(np.zeros((4, 4), np.float32)),
             ValueError, ["Normalize", "(C, H, W)", "(4, 4)"]),
    BadInput("to_tensor given a tensor",
             lambda: transforms.ToTensor()(gn.tensor(np.zeros((3, 4, 4), np.float32))),
             TypeError, ["ToTensor", "Tensor", "(3, 4, 4)"]),
    BadInput("batch_to_tensor float batch",
             lambda: transforms.BatchToTensor()(np.zeros((2, 4, 4, 3), np.float32)),
             TypeError, ["BatchToTensor", "uint8", "float32"]),
    BadInput("random_crop size 0", lambda: transforms.RandomCrop(0),
             ValueError, ["RandomCrop", "size", "positive", "0"]),
    BadInput("random_crop negative padding", lambda: transforms.RandomCrop(4, padding=-1),
             ValueError, ["RandomCrop", "padding", "-1"]),
    BadInput("batch_random_crop negative size", lambda: transforms.BatchRandomCrop((4, -2)),
             ValueError, ["BatchRandomCrop", "size", "(4, -2)"]),
    BadInput("flip probability 1.5", lambda: transforms.RandomHorizontalFlip(1.5),
             ValueError, ["RandomHorizontalFlip", "[0, 1]", "1.5"]),
    BadInput("batch flip probability -0.1", lambda: transforms.BatchRandomHorizontalFlip(-0.1),
             ValueError, ["BatchRandomHorizontalFlip", "-0.1"]),
    BadInput("random_resized_crop scale reversed",
             lambda: transforms.RandomResizedCrop(8, scale=(1.0, 0.5)),
             ValueError, ["RandomResizedCrop", "scale", "(1.0, 0.5)"]),
    BadInput("random_erasing scale reversed",
             lambda: transforms.RandomErasing(scale=(0.4, 0.1)),
             ValueError, ["RandomErasing", "scale", "(0.4, 0.1)"]),
    BadInput("random_erasing scale past 1",
             lambda: transforms.BatchRandomErasing(scale=(0.5, 1.5)),
             ValueError, ["BatchRandomErasing", "between 0 and 1", "(0.5, 1.5)"]),
    BadInput("random_erasing negative ratio",
             lambda: transforms.RandomErasing(ratio=(-1, 2)),
             ValueError, ["RandomErasing", "ratio", "positive", "(-1, 2)"]),
    BadInput("random_erasing unknown value word",
             lambda: transforms.RandomErasing(value="noise"),
             ValueError, ["RandomErasing", "'random'", "'noise'"]),
    BadInput("random_erasing probability 2", lambda: transforms.BatchRandomErasing(p=2),
             ValueError, ["BatchRandomErasing", "[0, 1]", "2"]),
    BadInput("random_erasing two values for three channels",
             lambda: transforms.BatchRandomErasing(p=1, value=(0.1, 0.2))(
                 np.zeros((2, 3, 8, 8), np.float32)),
             ValueError, ["BatchRandomErasing", "2 numbers", "3 channels"]),
    BadInput("color_jitter negative brightness", lambda: transforms.ColorJitter(brightness=-0.2),
             ValueError, ["ColorJitter", "brightness", "non-negative", "-0.2"]),
    BadInput("color_jitter hue past half a turn", lambda: transforms.ColorJitter(hue=0.7),
             ValueError, ["ColorJitter", "hue", "(-0.5, 0.5)", "(-0.7, 0.7)"]),
    BadInput("color_jitter three numbers", lambda: transforms.ColorJitter(contrast=(1, 2, 3)),
             TypeError, ["ColorJitter", "contrast", "(min, max)", "(1, 2, 3)"]),
    BadInput("adjust_hue factor 0.6",
             lambda: vision_functional.adjust_hue(gn.zeros(3, 4, 4), 0.6),
             ValueError, ["adjust_hue", "hue_factor", "0.6", "[-0.5, 0.5]"]),
    BadInput("adjust_brightness negative factor",
             lambda: vision_functional.adjust_brightness(gn.zeros(3, 4, 4), -1),
             ValueError, ["adjust_brightness", "brightness_factor", "-1.0", "non-negative"]),
    BadInput("adjust_saturation four channels",
             lambda: vision_functional.adjust_saturation(gn.zeros(4, 4, 4), 0.5),
             TypeError, ["adjust_saturation", "1 or 3 channels", "4", "(4, 4, 4)"]),
    BadInput("adjust_contrast of a 1-d tensor",
             lambda: vision_functional.adjust_contrast(gn.zeros(4), 0.5),
             TypeError, ["adjust_contrast", "(..., C, H, W)", "(4,)"]),
    BadInput("random_choice weights for three of two",
             lambda: transforms.RandomChoice([abs, abs], p=[1, 1, 1]),
             ValueError, ["RandomChoice", "2 non-negative weights", "[1.0, 1.0, 1.0]"]),
    BadInput("random_apply of a non-callable", lambda: transforms.RandomApply([abs, 3]),
             TypeError, ["RandomApply", "callables", "int"]),
    BadInput("random_affine translate past 1",
             lambda: transforms.RandomAffine(10, translate=(0.2, 1.5)),
             ValueError, ["RandomAffine", "translate", "[0, 1]", "(0.2, 1.5)"]),
    BadInput("random_affine zero scale", lambda: transforms.RandomAffine(10, scale=(0, 1)),
             ValueError, ["RandomAffine", "scale", "positive", "(0, 1)"]),
    BadInput("random_affine three shears", lambda: transforms.RandomAffine(10, shear=(1, 2, 3)),
             TypeError, ["RandomAffine", "shear", "2 or 4", "(1, 2, 3)"]),
    BadInput("random_affine negative degrees", lambda: transforms.RandomAffine(-5),
             ValueError, ["RandomAffine", "degrees", "single number", "positive", "-5"]),
    BadInput("affine scale 0",
             lambda: vision_functional.affine(gn.zeros(3, 4, 4), 0, (0, 0), 0, 0),
             ValueError, ["affine", "scale", "positive", "0"]),
    BadInput("affine bicubic tensor",
             lambda: vision_functional.affine(gn.zeros(3, 4, 4), 10, (0, 0), 1, 0,
                                              interpolation="bicubic"),
             NotImplementedError, ["affine", "bicubic", "PIL images only"]),
    BadInput("affine fill for two channels of three",
             lambda: vision_functional.affine(gn.zeros(3, 4, 4), 10, (0, 0), 1, 0,
                                              fill=(1, 2)),
             ValueError, ["affine", "fill (2)", "channels of the image (3)"]),
    BadInput("posterize of a float tensor",
             lambda: vision_functional.posterize(gn.zeros(3, 4, 4), 2),
             TypeError, ["posterize", "uint8", "float32"]),
    BadInput("posterize 9 bits", lambda: transforms.RandomPosterize(9),
             ValueError, ["RandomPosterize", "bits", "[0, 8]", "9"]),
    BadInput("solarize threshold above uint8",
             lambda: vision_functional.solarize(gn.zeros(3, 4, 4, dtype=gn.uint8), 300),
             ValueError, ["solarize", "300", "uint8", "255"]),
    BadInput("equalize of a float tensor", lambda: vision_functional.equalize(gn.zeros(3, 4, 4)),
             TypeError, ["equalize", "uint8", "float32"]),
    BadInput("gaussian_blur even kernel", lambda: transforms.GaussianBlur(4),
             ValueError, ["GaussianBlur", "kernel_size", "odd", "4"]),
    BadInput("gaussian_blur sigma reversed", lambda: transforms.GaussianBlur(3, sigma=(2, 1)),
             ValueError, ["GaussianBlur", "sigma", "(2, 1)"]),
    BadInput("gaussian_blur kernel wider than the image",
             lambda: vision_functional.gaussian_blur(gn.zeros(3, 4, 4), 9),
             ValueError, ["gaussian_blur", "(9, 9)", "(3, 4, 4)"]),
    BadInput("sharpness negative factor",
             lambda: vision_functional.adjust_sharpness(gn.zeros(3, 4, 4), -0.5),
             ValueError, ["adjust_sharpness", "sharpness_factor", "-0.5"]),
    BadInput("random_erasing of a 2-d image",
             lambda: transforms.RandomErasing(p=1)(np.zeros((8, 8), np.float32)),
             ValueError, ["RandomErasing", "(..., C, H, W)", "(8, 8)"]),
]

test_bad_input = bad_input_test(CASES)


# ----- what is accepted is read correctly -----------------------------------------------------

@pytest.mark.skipif(not HOUSING.is_file(), reason=f"the housing CSV is not at {HOUSING}")
def test_real_housing_keeps_13_features_and_reports_the_filled_values():
    train = CaliforniaHousing(root=SHARED)
    test = CaliforniaHousing(root=SHARED, split="test")
    assert len(train) == 16512 and len(test) == 4128
    assert len(train.feature_names) == 13 and "total_bedrooms" in train.feature_names
    assert train.feature_names[-5:] == [f"ocean_proximity={c}" for c in
                                        ["<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN"]]
    assert train.missing == "median" and train.missing_counts == {"total_bedrooms": 207}
    # Every empty field is filled in exactly one of the two splits.
    assert train.filled_counts["total_bedrooms"] + test.filled_counts["total_bedrooms"] == 207
    for split in (train, test):
        features, target = (t.numpy() for t in split.tensors)
        assert np.isfinite(features).all() and np.isfinite(target).all()
    dropped = CaliforniaHousing(root=SHARED, missing="drop")
    dropped_test = CaliforniaHousing(root=SHARED, split="test", missing="drop")
    assert dropped.dropped_rows == 207 and dropped.filled_counts == {}
    assert len(dropped) + len(dropped_test) == 20640 - 207
    with pytest.raises(ValueError, match=r"housing\.csv, line \d+, column 'total_bedrooms'"):
        CaliforniaHousing(root=SHARED, missing="raise")


def test_missing_policies_on_a_small_file():
    rows = "".join(f"{10 + i},{'' if i in (2, 5) else i},{1000 * i},{'A' if i % 2 else 'B'}\n"
                   for i in range(8))
    path = _file("policies.csv", HEADER + rows)
    filled = CaliforniaHousing(path=path, test_fraction=0)
    assert filled.filled_counts == filled.missing_counts == {"total_bedrooms": 2}
    bedrooms = filled.tensors[0].numpy()[:, 1] * filled.std[1] + filled.mean[1]
    # Samples come in a seeded order: find the rows with empty fields by their targets.
    was_empty = np.isin(filled.tensors[1].numpy(), [2000, 5000])
    assert was_empty.sum() == 2
    np.testing.assert_allclose(bedrooms[was_empty], np.median([0, 1, 3, 4, 6, 7]), rtol=1e-6)
    np.testing.assert_allclose(np.sort(bedrooms[~was_empty]), [0, 1, 3, 4, 6, 7], atol=1e-5)
    dropped = CaliforniaHousing(path=path, test_fraction=0, missing="drop")
    assert len(dropped) == 6 and dropped.dropped_rows == 2
    assert sorted(dropped.tensors[1].numpy().tolist()) == [0, 1000, 3000, 4000, 6000, 7000]


def test_csv_byte_order_mark_and_declared_text_columns():
    path = _file("bom.csv", b"\xef\xbb\xbfa,name\n1.5,x\n-2e3,\n")
    columns = read_csv_columns(path, text_columns=["name"])
    assert list(columns) == ["a", "name"]
    assert columns["a"].tolist() == [1.5, -2000.0]
    assert columns["name"].tolist() == ["x", ""]


def _tree(root, count=3, size=(5, 4)):
    for i in range(count):
        (root / "only").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((*size, 3), 40 * i, np.uint8)).save(root / "only" / f"{i}.png")
    return root


@pytest.mark.parametrize("forged", ["dtype", "shape", "count", "labels"])
def test_image_cache_of_the_wrong_kind_is_rebuilt_with_a_warning(tmp_path, forged):
    root, cache = _tree(tmp_path / "tree"), tmp_path / "cache"
    good = ImageFolder(root, in_memory=True, cache_dir=cache).data.copy()
    images_file = next(cache.glob("*-images.npy"))
    labels_file = next(cache.glob("*-labels.npy"))
    if forged == "dtype":
        np.save(images_file, good.astype(np.float64))
    elif forged == "shape":
        np.save(images_file, good[:, :, :2])
    elif forged == "count":
        np.save(images_file, good[:2])
    else:
        np.save(labels_file, np.array([0, 0, 1]))
    with pytest.warns(UserWarning, match="ignoring cache .*rebuilding"):
        rebuilt = ImageFolder(root, in_memory=True, cache_dir=cache)
    assert rebuilt.data.dtype == np.uint8
    np.testing.assert_array_equal(rebuilt.data, good)
    # The rebuilt cache is trusted again, without a warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(ImageFolder(root, in_memory=True, cache_dir=cache).data,
                                      good)


def test_image_cache_is_never_unpickled(tmp_path):
    root, cache = _tree(tmp_path / "tree"), tmp_path / "cache"
    ImageFolder(root, in_memory=True, cache_dir=cache)
    images_file = next(cache.glob("*-images.npy"))
    np.save(images_file, np.array([_RunsCommand()], dtype=object), allow_pickle=True)
    with pytest.warns(UserWarning, match="ignoring unreadable cache"):
        ds = ImageFolder(root, in_memory=True, cache_dir=cache)
    assert ds.data.shape == (3, 5, 4, 3)


def test_image_bomb_limit_follows_pillow_setting(tmp_path, monkeypatch):
    root = _tree(tmp_path / "tree", count=1, size=(40, 40))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(ValueError, match=r"0\.png: refused .*1600 pixels.* = 1000 pixels"):
        ImageFolder(root)[0]


def test_collate_infers_one_dtype_like_pytorch():
    # Before: the first sample's int type was imposed and 1.5 became 1.
    batch = default_collate([1, 1.5, 2])
    assert batch.numpy().dtype == np.float32 and batch.numpy().tolist() == [1.0, 1.5, 2.0]
    ints = default_collate([1, True, np.int32(3)])
    assert ints.numpy().dtype == np.int64 and ints.numpy().tolist() == [1, 1, 3]


def test_text_get_batch_negative_index_matches_getitem():
    ds = TextFile(_file("letters.txt", "abcdefghijklm"), seq_len=4, split="all")
    inputs, targets = ds.get_batch([-1])
    expected_inputs, expected_targets = ds[-1]
    assert inputs.numpy()[0].tolist() == expected_inputs.numpy().tolist()
    # The last window's target must not wrap around to the file's first character.
    assert targets.numpy()[0].tolist() == expected_targets.numpy().tolist()
    assert ds.decode(targets.numpy()[0]) == "jklm"


def test_text_byte_order_mark_is_not_a_character():
    ds = TextFile(_file("bom.txt", "\ufeffabcabcabc".encode("utf-8")), seq_len=2, split="all")
    assert ds.vocab.chars == ["a", "b", "c"]


def test_subset_negative_indices_count_from_the_end():
    subset = Subset(_TEN, [-1, 0])
    assert [float(subset[i][0].numpy()) for i in range(2)] == [9.0, 0.0]
    assert subset.get_batch(np.array([0, 1]))[0].numpy().tolist() == [9.0, 0.0]
