"""The oneDNN provider's products (backend/onednn/matmul.py) against NumPy's: a @ b on
row-major, transposed and row-sliced operands, into a given ``out`` or a new array, single rows
and columns, K = 1 and empty sizes; x @ W.T + b in one primitive; products by one fixed right
operand copied once into oneDNN's blocked layout; and the operands it turns away."""
import numpy as np
import pytest

from ganglion.backend.onednn import library

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")

if library.available():
    from ganglion.backend.onednn import matmul

rng = np.random.default_rng(0)


def operand(rows, columns, layout):
    """A float32 (rows, columns) array: row-major, a transposed row-major one, every other
    column of a wider one, or a block of rows of a wider one (an LSTM's gate block)."""
    if layout == "n":
        return rng.standard_normal((rows, columns)).astype(np.float32)
    if layout == "t":
        return rng.standard_normal((columns, rows)).astype(np.float32).T
    if layout == "strided":
        return rng.standard_normal((rows, 2 * columns)).astype(np.float32)[:, ::2]
    return rng.standard_normal((rows, columns + 5)).astype(np.float32)[:, 3:3 + columns]


def close(got, a, b, bias=None):
    """float32 products against a float64 one, at the scale of the sum's terms."""
    expected = a.astype(np.float64) @ b.astype(np.float64) + (0 if bias is None else bias)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.sqrt(max(a.shape[1], 1)))


@pytest.mark.parametrize("m, k, n", [(64, 784, 512), (7, 13, 5), (1, 9, 3), (33, 1, 17), (6, 8, 1),
                                     (1, 1, 1)])
@pytest.mark.parametrize("a_layout", ["n", "t", "strided", "rows"])
@pytest.mark.parametrize("b_layout", ["n", "t", "rows"])
def test_matches_numpy(m, k, n, a_layout, b_layout):
    a, b = operand(m, k, a_layout), operand(k, n, b_layout)
    assert matmul.supports_matmul(a.shape, b.shape, a.dtype)
    out = matmul.matmul(a, b)
    assert out.shape == (m, n) and out.dtype == np.float32 and out.flags.c_contiguous
    close(out, a, b)


@pytest.mark.parametrize("where", ["contiguous", "row block", "fortran", "every other column"])
def test_writes_into_out(where):
    a, b = operand(20, 30, "n"), operand(30, 12, "t")
    wide = np.full((20, 40), 7, np.float32)
    out = {"contiguous": np.empty((20, 12), np.float32), "row block": wide[:, 10:22],
           "fortran": np.empty((12, 20), np.float32).T, "every other column": wide[:, 1:25:2]}[where]
    assert matmul.matmul(a, b, out=out) is out
    close(out, a, b)
    if where == "row block":
        assert (wide[:, :10] == 7).all() and (wide[:, 22:] == 7).all()
    if where == "every other column":
        assert (wide[:, 2:25:2] == 7).all()


@pytest.mark.parametrize("m, k, n", [(0, 5, 3), (4, 5, 0), (4, 0, 3)])
def test_empty_sizes(m, k, n):
    a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
    got = matmul.matmul(a, b)
    assert got.shape == (m, n) and got.dtype == np.float32
    np.testing.assert_array_equal(got, np.zeros((m, n), np.float32))
    out = np.full((m, n), 5, np.float32)
    assert matmul.matmul(a, b, out=out) is out
    np.testing.assert_array_equal(out, np.zeros((m, n), np.float32))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("m, k, n", [(128, 784, 512), (3, 5, 1), (1, 7, 4)])
def test_linear_is_x_times_w_transposed_plus_bias(m, k, n, bias):
    x, weight = operand(m, k, "n"), operand(n, k, "n")
    b = rng.standard_normal(n).astype(np.float32) if bias else None
    got = matmul.linear(x, weight, b)
    assert got.shape == (m, n) and got.flags.c_contiguous
    close(got, x, weight.T, b)


def test_fixed_right_products_equal_numpy_and_copy_the_right_operand_once(monkeypatch):
    prepared = []
    prepare = matmul._runtime.Plan.prepare
    monkeypatch.setattr(matmul._runtime.Plan, "prepare",
                        lambda plan, name, array: prepared.append(name) or prepare(plan, name, array))
    w = operand(64, 96, "t")
    product = matmul.fixed_right(w, 8)
    for layout in ("n", "rows", "n", "strided"):
        a = operand(8, 64, layout)
        out = np.empty((8, 96), np.float32)
        assert product(a, w, out=out) is out
        close(out, a, w)
    assert prepared == ["b"]          # one blocked copy of w, made at the first call
    a = operand(8, 64, "n")
    close(product(a, w), a, w)
    # Another right operand, or another number of rows, is an ordinary product.
    other = w.copy()
    other[0, 0] += 1
    close(product(a, other), a, other)
    a5 = operand(5, 64, "n")
    close(product(a5, w), a5, w)


@pytest.mark.parametrize("k, n", [(0, 4), (4, 0)])
def test_fixed_right_products_with_empty_sizes(k, n):
    b = np.ones((k, n), np.float32)
    product = matmul.fixed_right(b, 3)
    got = product(np.ones((3, k), np.float32), b)
    assert got.shape == (3, n)
    np.testing.assert_array_equal(got, np.zeros((3, n), np.float32))


def test_unsupported_operands():
    assert not matmul.supports_matmul((3, 4), (4, 5), np.float64)
    assert not matmul.supports_matmul((3, 4), (5, 5), np.float32)
    assert not matmul.supports_matmul((2, 3, 4), (4, 5), np.float32)
    assert not matmul.supports_matmul((0, 4), (4, 5), np.float32)
    with pytest.raises(ValueError, match=r"onednn.matmul: unsupported operands \(3, 4\) float64"):
        matmul.matmul(np.zeros((3, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"onednn.matmul: out has shape \(3, 4\).*expected \(3, 5\) float32"):
        matmul.matmul(np.zeros((3, 4), np.float32), np.zeros((4, 5), np.float32),
                      out=np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"onednn.linear: unsupported operands .*\+ bias \(4,\)"):
        matmul.linear(np.zeros((3, 4), np.float32), np.zeros((5, 4), np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"onednn.fixed_right: unsupported right operand \(4, 5\) float64"):
        matmul.fixed_right(np.zeros((4, 5)), 3)


def test_plans_bind_every_kind_of_array_at_its_first_element():
    """_runtime.address (what a plan binds on each run) equals NumPy's data pointer for
    C-contiguous, transposed, sliced, read-only and empty arrays."""
    from ganglion.backend.onednn import _runtime
    base = rng.standard_normal((6, 8)).astype(np.float32)
    read_only = base.copy()
    read_only.flags.writeable = False
    for array in (base, base.T, base[2:4], base[:, 3:5], base[:, ::2], read_only, read_only.T,
                  np.empty((0, 3), np.float32), np.float32(1) * np.ones(1, np.float32)):
        assert _runtime.address(array) == array.ctypes.data
