"""sigmoid computed as PyTorch's 1 / (1 + exp(-x)) in one array (core/ops/unary.py Sigmoid):
PyTorch's values in both tails (0 where exp(-x) overflows, as PyTorch gives), full relative
precision elsewhere, no overflow warning, and no more than one new array."""
import warnings

import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.backend import current as backend
from ganglion.core.ops.unary import Sigmoid

EXTREMES = [-1000, -100, -90, -88, -60, -20, -1, -1e-8, 0, 1e-8, 1, 20, 40, 100, 1000]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_tails_match_pytorch(dtype):
    data = np.array(EXTREMES, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exp(-x) overflowing must not warn
        got = gn.sigmoid(gn.from_numpy(data)).numpy()
    expected = torch.sigmoid(torch.from_numpy(data)).numpy()
    assert got.dtype == dtype
    # float32: PyTorch's 0 below -88.7 (exp overflows) too; relative precision where nonzero.
    np.testing.assert_allclose(got, expected, rtol=4e-7 if dtype == np.float32 else 1e-15, atol=0)
    exact = 1 / (1 + np.exp(-data.astype(np.longdouble)))
    normal = exact > np.finfo(dtype).tiny
    np.testing.assert_allclose(got[normal], exact[normal].astype(np.float64),
                               rtol=3e-7 if dtype == np.float32 else 4e-16)


def test_sigmoid_of_a_zero_dim_and_a_strided_array():
    assert float(gn.sigmoid(gn.tensor(0.5))) == pytest.approx(float(torch.sigmoid(torch.tensor(0.5))))
    data = np.random.default_rng(0).standard_normal((6, 8)).astype(np.float32)
    strided = data[::2, ::3]
    got = Sigmoid().forward(backend, strided)
    assert got.shape == strided.shape and got.flags.c_contiguous
    np.testing.assert_allclose(got, torch.sigmoid(torch.from_numpy(np.ascontiguousarray(strided))),
                               rtol=3e-7)
