"""The oneDNN provider's matmul (backend/onednn/matmul.py) against NumPy's on row-major and
transposed operands (a Linear layer's x @ W.T and g.T @ x), odd sizes and a single row, and
the operands it turns away."""
import numpy as np
import pytest

from ganglion.backend.onednn import library

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")

if library.available():
    from ganglion.backend.onednn import matmul


@pytest.mark.parametrize("m, k, n", [(64, 784, 512), (7, 13, 5), (1, 9, 3), (33, 1, 17)])
@pytest.mark.parametrize("a_layout", ["n", "t", "strided"])
@pytest.mark.parametrize("b_layout", ["n", "t"])
def test_matches_numpy(m, k, n, a_layout, b_layout):
    rng = np.random.default_rng(m * k * n)

    def operand(rows, columns, layout):
        if layout == "n":
            return rng.standard_normal((rows, columns)).astype(np.float32)
        if layout == "t":
            return rng.standard_normal((columns, rows)).astype(np.float32).T
        return rng.standard_normal((rows, 2 * columns)).astype(np.float32)[:, ::2]
    a, b = operand(m, k, a_layout), operand(k, n, b_layout)
    assert matmul.supports_matmul(a.shape, b.shape, a.dtype)
    out = matmul.matmul(a, b)
    assert out.shape == (m, n) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4,
                               atol=1e-4 * np.sqrt(k))


def test_unsupported_operands():
    assert not matmul.supports_matmul((3, 4), (4, 5), np.float64)
    assert not matmul.supports_matmul((3, 4), (5, 5), np.float32)
    assert not matmul.supports_matmul((2, 3, 4), (4, 5), np.float32)
    assert not matmul.supports_matmul((0, 4), (4, 5), np.float32)
    with pytest.raises(ValueError, match=r"onednn.matmul: unsupported operands \(3, 4\) float64"):
        matmul.matmul(np.zeros((3, 4)), np.zeros((4, 5)))
