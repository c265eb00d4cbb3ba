"""default_collate: stacking samples into ganglion tensors."""
import numpy as np
import pytest

import ganglion as gn
from ganglion.data import default_collate


def test_numbers_and_arrays():
    batch = default_collate([(np.ones((2, 2), np.uint8), 3), (np.zeros((2, 2), np.uint8), 1)])
    images, labels = batch
    assert isinstance(batch, tuple)
    assert images.shape == (2, 2, 2) and images.dtype == gn.uint8
    assert labels.dtype == gn.int64 and labels.tolist() == [3, 1]
    assert default_collate([np.uint8(4), np.uint8(2)]).dtype == gn.int64
    assert default_collate([0.5, 1.5]).dtype == gn.float32
    assert default_collate([np.float64(0.5)]).dtype == gn.float32
    assert default_collate([np.zeros(3), np.ones(3)]).dtype == gn.float32
    assert default_collate([True, False]).dtype == gn.bool


def test_tensors_dicts_lists_strings():
    out = default_collate([{"x": gn.ones(3), "name": "a"}, {"x": gn.zeros(3), "name": "b"}])
    assert out["x"].shape == (2, 3) and out["name"] == ["a", "b"]
    assert isinstance(default_collate([[1, 2], [3, 4]]), list)


def test_errors():
    with pytest.raises(ValueError, match=r"different shapes \[\(2,\), \(3,\)\]"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="cannot batch samples of type object"):
        default_collate([object(), object()])
