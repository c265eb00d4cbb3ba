"""Tabular regression data from CSV: a strict reader and the California housing dataset.

``read_csv_columns`` parses a CSV with a header into named columns. Parsing is strict, because
a loader that guesses corrupts data silently: every column is numeric unless it is named in
``text_columns``, and in a numeric column every non-empty field must be a finite number. A
field such as ``abc``, ``1,234`` (a thousands separator) or ``1_000``, and any non-finite
value (``inf``, ``nan`` written out, ``1e400`` which overflows to inf) is a ValueError naming
the file, the line (1-based, counting the header as line 1), the column and the field. Empty
fields are the only missing values: they become NaN in numeric columns and ``''`` in text
columns, and the caller decides what to do with them. The file must be UTF-8 (a byte-order
mark is allowed and dropped); undecodable bytes, a field over the csv module's size limit, a
NUL byte, a row with the wrong number of fields and duplicate header names are errors naming
the file and line.

``CaliforniaHousing`` turns Géron's ``housing.csv`` into standardised features. Missing numeric
features (the file has 207 empty ``total_bedrooms``) are handled as ``missing=`` says:
``'median'`` (the default, as in *Hands-On Machine Learning*) fills them with the training
rows' median and records how many were filled in ``filled_counts``; ``'drop'`` drops the rows
before splitting (``dropped_rows``); ``'raise'`` refuses the file. The categorical
``ocean_proximity`` is one-hot encoded (sorted category names), the numeric columns are
standardised with training statistics only (so nothing about the test rows leaks into the
features). A missing target, a missing category, and values too large for float32 after
scaling are always errors.
"""
import csv
import io
import math
from pathlib import Path

import numpy as np

from ganglion.data.collate import tensor_from_array
from ganglion.data.dataset import TensorDataset
from ganglion.data.paths import data_root

__all__ = ["read_csv_columns", "read_csv_table", "CaliforniaHousing", "MISSING_POLICIES"]

MISSING_POLICIES = ("median", "drop", "raise")


def _decode_utf8(path, raw):
    try:
        # utf-8-sig: a byte-order mark (written by Excel and Notepad) would otherwise become
        # part of the first column's name.
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        bad = raw[error.start:error.end]
        raise ValueError(f"{path}: not UTF-8 text: byte {bad!r} at byte offset {error.start} "
                         f"(line {line}) cannot be decoded ({error.reason}); expected a UTF-8 "
                         "CSV file (re-save it as UTF-8)") from None


def _read_rows(path):
    """(header, rows, line numbers) of a CSV file; each row has the header's number of fields."""
    text = _decode_utf8(path, Path(path).read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: empty file, expected a header row")
        rows, lines = [], []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {reader.line_num}: {len(row)} fields, but the "
                                 f"header has {len(header)}")
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as error:
        # The csv module's own errors (a field over csv.field_size_limit(), a NUL byte) name
        # neither the file nor the line.
        limit = csv.field_size_limit()
        raise ValueError(f"{path}, line {max(reader.line_num, 1)}: unreadable CSV ({error}; the "
                         f"field size limit is {limit} characters)") from None
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ValueError(f"{path}: the header names columns {duplicated} more than once; each "
                         "column needs its own name")
    if not rows:
        raise ValueError(f"{path}: a header but no data rows")
    return header, rows, np.array(lines, dtype=np.int64)


def _bad_number(text):
    """Why ``text`` (a non-empty field) is not a finite number, or None if it is one."""
    if "_" in text:
        # float() accepts Python's digit separators ('1_000'); a CSV number never has them.
        return "is not a number"
    try:
        value = float(text)
    except ValueError:
        return "is not a number"
    if math.isfinite(value):
        return None
    if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return "is not a finite number"
    return "overflows float64 (it would become inf)"


def _numeric_column(path, name, fields, lines, hint):
    empty = [not field.strip() for field in fields]
    try:
        # The fast path: every field parses; the strings are checked below only if needed.
        values = np.array([float(f) if not e else np.nan for f, e in zip(fields, empty)],
                          dtype=np.float64)
        suspicious = ~np.isfinite(values) & ~np.array(empty)
        if not suspicious.any() and not any("_" in f for f in fields):
            return values
    except ValueError:
        pass
    for field, is_empty, line in zip(fields, empty, lines.tolist()):
        problem = None if is_empty else _bad_number(field)
        if problem:
            raise ValueError(f"{path}, line {line}, column {name!r}: {field!r} {problem}; "
                             f"expected a finite number or an empty field (missing){hint}")
    raise AssertionError("unreachable: a field failed to parse but none was found")


def read_csv_columns(path, text_columns=()):
    """{column name: array} for a CSV file with a header row; see the module docstring.

    Columns named in ``text_columns`` are object arrays of strings; every other column is
    float64 with NaN for empty fields. ``read_csv_table`` also gives each row's line number.
    """
    return read_csv_table(path, text_columns)[0]


def read_csv_table(path, text_columns=()):
    """(columns as in ``read_csv_columns``, line number in the file of each row)."""
    return _parse_columns(path, *_read_rows(path), text_columns,
                          hint=" (a column of text must be named in text_columns)")


def _parse_columns(path, header, rows, lines, text_columns, hint=""):
    if isinstance(text_columns, str):
        # One name, not its letters.
        text_columns = (text_columns,)
    unknown = sorted(set(text_columns) - set(header))
    if unknown:
        raise ValueError(f"{path}: text_columns {unknown} are not in the header {header}")
    columns = {}
    for name, fields in zip(header, zip(*rows)):
        if name in text_columns:
            columns[name] = np.array(fields, dtype=object)
        else:
            columns[name] = _numeric_column(path, name, fields, lines, hint)
    return columns, lines


class CaliforniaHousing(TensorDataset):
    """California housing (1990 census block groups), ``root/california-housing/housing.csv``.

    Samples are (features float32 (F,), median_house_value float32 in USD). The rows are split
    by a seeded permutation into ``test_fraction`` test rows and the rest train; ``split`` picks
    one ('train' or 'test'). ``feature_names`` lists the F columns, and ``mean`` / ``std`` the
    training statistics used to standardise the numeric ones.

    ``missing`` says what an empty numeric feature becomes (see the module docstring):
    ``'median'`` fills it with the training median, ``'drop'`` drops its row, ``'raise'`` is an
    error. ``missing_counts`` maps each column with empty fields to how many the whole file has;
    ``filled_counts`` to how many of this split's values were filled (``'median'``), and
    ``dropped_rows`` counts the rows dropped from the file (``'drop'``).
    """

    target = "median_house_value"
    categorical = "ocean_proximity"

    def __init__(self, root=None, split="train", test_fraction=0.2, seed=0, path=None,
                 missing="median"):
        if split not in ("train", "test"):
            raise ValueError(f"CaliforniaHousing: split must be 'train' or 'test', got {split!r}")
        if missing not in MISSING_POLICIES:
            raise ValueError(f"CaliforniaHousing: missing must be one of {MISSING_POLICIES}, got "
                             f"{missing!r}")
        if not 0 <= test_fraction < 1:
            raise ValueError(f"CaliforniaHousing: test_fraction must lie in [0, 1), got "
                             f"{test_fraction}")
        path = Path(path) if path else data_root(root) / "california-housing" / "housing.csv"
        if not path.is_file():
            raise FileNotFoundError(f"CaliforniaHousing: {path} not found; pass root= or set "
                                    "$GANGLION_DATA")
        columns, lines = self._read(path)
        self.missing = missing
        target = columns.pop(self.target)
        labels = columns.pop(self.categorical)
        numeric = list(columns)
        values = np.stack([columns[k] for k in numeric], axis=1) if numeric else \
            np.zeros((len(target), 0))
        self._check_required(path, lines, target, labels)

        empty = np.isnan(values)
        self.missing_counts = {k: int(c) for k, c in zip(numeric, empty.sum(axis=0)) if c}
        self.dropped_rows = 0
        if empty.any() and missing == "raise":
            row, col = np.argwhere(empty)[0]
            raise ValueError(f"{path}, line {lines[row]}, column {numeric[col]!r}: empty field, "
                             f"and missing='raise' ({self._missing_summary()}); use "
                             "missing='median' or 'drop'")
        if missing == "drop":
            keep = ~empty.any(axis=1)
            self.dropped_rows = int((~keep).sum())
            values, target, labels, lines = values[keep], target[keep], labels[keep], lines[keep]
            empty = empty[keep]
        if len(target) == 0:
            raise ValueError(f"{path}: no rows left after dropping {self.dropped_rows} with "
                             "missing values")

        n = len(target)
        order = np.random.default_rng(seed).permutation(n)
        n_test = int(round(n * test_fraction))
        train_rows, test_rows = order[n_test:], order[:n_test]
        if len(train_rows) == 0:
            # The training statistics (median, mean, std) would be NaN and so every feature.
            raise ValueError(f"{path}: test_fraction={test_fraction} of {n} rows leaves no "
                             "training rows to compute the fill and scaling statistics from")
        rows = train_rows if split == "train" else test_rows
        self.filled_counts = {k: int(c) for k, c in zip(numeric, empty[rows].sum(axis=0)) if c}

        # Fill and standardise with training statistics only.
        with np.errstate(all="ignore"):
            train_values = values[train_rows]
            no_train_value = np.isnan(train_values).all(axis=0) & empty.any(axis=0)
            if no_train_value.any():
                name = numeric[int(np.flatnonzero(no_train_value)[0])]
                raise ValueError(f"{path}: column {name!r} has no value in the training rows, so "
                                 "there is no median to fill its empty fields with")
            medians = np.nanmedian(train_values, axis=0) if empty.any() else \
                np.zeros(values.shape[1])
            values = np.where(empty, medians, values)
            self.mean = values[train_rows].mean(axis=0)
            self.std = values[train_rows].std(axis=0)
            self.std[self.std == 0] = 1
            values = (values - self.mean) / self.std
        self._check_float32(path, numeric, values, target, lines)

        self.categories = sorted(set(labels.tolist()))
        one_hot = (labels[:, None] == np.array(self.categories, dtype=object)[None, :]).astype(
            np.float64)
        self.feature_names = numeric + [f"{self.categorical}={c}" for c in self.categories]
        features = np.concatenate([values, one_hot], axis=1)[rows]
        super().__init__(tensor_from_array(features), tensor_from_array(target[rows]))

    def _read(self, path):
        header, rows, lines = _read_rows(path)
        for name in (self.target, self.categorical):
            if name not in header:
                raise ValueError(f"{path}: no column {name!r} (found {sorted(header)})")
        return _parse_columns(path, header, rows, lines, (self.categorical,))

    def _missing_summary(self):
        return ", ".join(f"{k}: {c} empty" for k, c in self.missing_counts.items())

    def _check_required(self, path, lines, target, labels):
        # The target and the category are never imputed: a guessed label is a corrupted one.
        for name, empty in ((self.target, np.isnan(target)), (self.categorical, labels == "")):
            if empty.any():
                row = int(np.flatnonzero(empty)[0])
                raise ValueError(f"{path}, line {lines[row]}, column {name!r}: empty field "
                                 f"({int(empty.sum())} empty in all); every row needs a value there")

    @staticmethod
    def _check_float32(path, numeric, values, target, lines):
        # Samples are float32: a finite float64 beyond float32's range would become inf.
        limit = np.finfo(np.float32).max
        bad_target = ~(np.abs(target) <= limit)
        if bad_target.any():
            row = int(np.flatnonzero(bad_target)[0])
            raise ValueError(f"{path}, line {lines[row]}, column {CaliforniaHousing.target!r}: "
                             f"{float(target[row])!r} is outside the float32 range (|x| <= {limit:.4g})")
        bad = ~(np.abs(values) <= limit)
        if bad.any():
            col = int(np.flatnonzero(bad.any(axis=0))[0])
            raise ValueError(f"{path}: column {numeric[col]!r} holds values too large to "
                             "standardise in float64 (its mean or spread overflows)")
