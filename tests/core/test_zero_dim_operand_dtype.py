"""A 0-d operand of a wider dtype (float64 step sizes times float32 weights) is cast to the
result's dtype before the op, as PyTorch computes it: results equal PyTorch's bit for bit, where
computing in float64 and casting back rounds differently."""
import numpy as np
import pytest

import ganglion as gn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("op", ["mul", "add", "sub", "div"])
@pytest.mark.parametrize("scalar_first", [False, True])
def test_float32_tensor_with_float64_zero_dim_tensor_matches_torch_bitwise(op, scalar_first):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_000).astype(np.float32)
    s = np.array(1 / 3 + 1e-9)  # not a float32 number: float64 arithmetic rounds differently
    args = (gn.from_numpy(s), gn.from_numpy(x)) if scalar_first else (gn.from_numpy(x), gn.from_numpy(s))
    targs = ((torch.from_numpy(s), torch.from_numpy(x)) if scalar_first
             else (torch.from_numpy(x), torch.from_numpy(s)))
    out = getattr(gn, op)(*args)
    expected = getattr(torch, op)(*targs).numpy()
    assert out.dtype is gn.float32
    np.testing.assert_array_equal(out.numpy(), expected)


def test_gradient_reaches_the_float64_zero_dim_operand_in_its_dtype():
    x = gn.from_numpy(np.arange(4, dtype=np.float32))
    s = gn.tensor(2.0, dtype=gn.float64, requires_grad=True)
    (x * s).sum().backward()
    assert s.grad.dtype is gn.float64
    assert s.grad.item() == pytest.approx(6.0)
