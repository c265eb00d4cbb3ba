"""CSV reading and the California housing loader."""
import os
from pathlib import Path

import numpy as np
import pytest

from ganglion.data import CaliforniaHousing, read_csv_columns

SHARED = Path(os.environ.get("GANGLION_DATA")
              or Path(__file__).resolve().parents[3] / "shared" / "datasets")
HOUSING = SHARED / "california-housing" / "housing.csv"


def _write_housing(path, rows):
    header = "rooms,bedrooms,median_house_value,ocean_proximity\n"
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def test_read_csv_columns_types_and_missing(tmp_path):
    path = _write_housing(tmp_path / "h.csv", ["1,2,3,A", "4,,6,B"])
    columns = read_csv_columns(path, text_columns=["ocean_proximity"])
    assert columns["rooms"].tolist() == [1.0, 4.0]
    assert np.isnan(columns["bedrooms"][1])
    assert columns["ocean_proximity"].tolist() == ["A", "B"]


def test_read_csv_errors_name_file_and_line(tmp_path):
    path = _write_housing(tmp_path / "h.csv", ["1,2,3,A", "4,5,B"])
    with pytest.raises(ValueError, match=r"h\.csv, line 3: 3 fields, but the header has 4"):
        read_csv_columns(path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match=r"empty\.csv: empty file"):
        read_csv_columns(tmp_path / "empty.csv")


def test_fill_one_hot_and_standardise_with_train_statistics(tmp_path):
    rows = [f"{i},{'' if i == 3 else i * 2},{i * 1000},{'NEAR' if i % 2 else 'FAR'}"
            for i in range(10)]
    path = _write_housing(tmp_path / "h.csv", rows)
    train = CaliforniaHousing(path=path, split="train", test_fraction=0.3, seed=0)
    test = CaliforniaHousing(path=path, split="test", test_fraction=0.3, seed=0)
    assert len(train) == 7 and len(test) == 3
    assert train.feature_names == ["rooms", "bedrooms", "ocean_proximity=FAR",
                                   "ocean_proximity=NEAR"]
    x = train.tensors[0].numpy()
    assert x.dtype == np.float32 and not np.isnan(x).any()
    np.testing.assert_allclose(x[:, :2].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(x[:, :2].std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(x[:, 2] + x[:, 3], 1)
    # The test split is scaled with the train split's statistics.
    np.testing.assert_allclose(test.mean, train.mean)
    rooms = test.tensors[1].numpy() / 1000
    np.testing.assert_allclose(test.tensors[0].numpy()[:, 0],
                               (rooms - train.mean[0]) / train.std[0], rtol=1e-5)


@pytest.mark.skipif(not HOUSING.is_file(), reason=f"the housing CSV is not at {HOUSING}")
def test_real_california_housing():
    train = CaliforniaHousing(root=SHARED)
    test = CaliforniaHousing(root=SHARED, split="test")
    assert len(train) + len(test) == 20640 and len(test) == 4128
    assert train.tensors[0].shape == (16512, 13)
    assert train.categories == ["<1H OCEAN", "INLAND", "ISLAND", "NEAR BAY", "NEAR OCEAN"]
    assert not np.isnan(train.tensors[0].numpy()).any()
    assert float(train.tensors[1].numpy().max()) == 500001.0
