"""Tabular regression data from CSV: a small reader and the California housing dataset.

``read_csv_columns`` parses a CSV with a header into named columns, numeric where every
non-empty field parses as a number (empty fields become NaN) and strings otherwise; a row with
the wrong number of fields is an error naming the file and line. ``CaliforniaHousing`` turns
Géron's ``housing.csv`` into standardised features: missing values filled with the training
median, the categorical ``ocean_proximity`` one-hot encoded, the numeric columns standardised
with training statistics only (so nothing about the test rows leaks into the features).
"""
import csv
from pathlib import Path

import numpy as np

from ganglion.data.collate import tensor_from_array
from ganglion.data.dataset import TensorDataset
from ganglion.data.paths import data_root

__all__ = ["read_csv_columns", "CaliforniaHousing"]


def _column(values):
    try:
        return np.array([float(v) if v.strip() else np.nan for v in values], dtype=np.float64)
    except ValueError:
        return np.array(values, dtype=object)


def read_csv_columns(path):
    """{column name: array} for a CSV file with a header row."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: empty file, expected a header row")
        rows = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {reader.line_num}: {len(row)} fields, but the "
                                 f"header has {len(header)}")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: a header but no data rows")
    return {name: _column(list(values)) for name, values in zip(header, zip(*rows))}


class CaliforniaHousing(TensorDataset):
    """California housing (1990 census block groups), ``root/california-housing/housing.csv``.

    Samples are (features float32 (F,), median_house_value float32 in USD). The rows are split
    by a seeded permutation into ``test_fraction`` test rows and the rest train; ``split`` picks
    one ('train' or 'test'). ``feature_names`` lists the F columns, and ``mean`` / ``std`` the
    training statistics used to standardise the numeric ones.
    """

    target = "median_house_value"
    categorical = "ocean_proximity"

    def __init__(self, root=None, split="train", test_fraction=0.2, seed=0, path=None):
        if split not in ("train", "test"):
            raise ValueError(f"CaliforniaHousing: split must be 'train' or 'test', got {split!r}")
        path = Path(path) if path else data_root(root) / "california-housing" / "housing.csv"
        if not path.is_file():
            raise FileNotFoundError(f"CaliforniaHousing: {path} not found; pass root= or set "
                                    "$GANGLION_DATA")
        columns = read_csv_columns(path)
        for name in (self.target, self.categorical):
            if name not in columns:
                raise ValueError(f"{path}: no column {name!r} (found {sorted(columns)})")
        n = len(columns[self.target])
        order = np.random.default_rng(seed).permutation(n)
        n_test = int(round(n * test_fraction))
        train_rows, test_rows = order[n_test:], order[:n_test]
        rows = train_rows if split == "train" else test_rows

        numeric = [k for k, v in columns.items() if k != self.target and v.dtype != object]
        values = np.stack([columns[k] for k in numeric], axis=1)
        # Fill and standardise with training statistics only.
        medians = np.nanmedian(values[train_rows], axis=0)
        values = np.where(np.isnan(values), medians, values)
        self.mean = values[train_rows].mean(axis=0)
        self.std = values[train_rows].std(axis=0)
        self.std[self.std == 0] = 1
        values = (values - self.mean) / self.std

        labels = columns[self.categorical]
        self.categories = sorted(set(labels.tolist()))
        one_hot = (labels[:, None] == np.array(self.categories, dtype=object)[None, :]).astype(
            np.float64)
        self.feature_names = numeric + [f"{self.categorical}={c}" for c in self.categories]
        features = np.concatenate([values, one_hot], axis=1)[rows]
        target = columns[self.target][rows]
        if np.isnan(target).any():
            raise ValueError(f"{path}: {int(np.isnan(target).sum())} rows have no {self.target}")
        super().__init__(tensor_from_array(features), tensor_from_array(target))
