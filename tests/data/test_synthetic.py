"""Synthetic teaching problems: shapes, dtypes, seeds, and that each is the problem it claims."""
import numpy as np
import pytest

import ganglion as gn
from ganglion.data import (digit_panels, logic_gate, make_circles, make_moons, make_quadratic,
                           make_sine, make_spirals, make_xor)


@pytest.mark.parametrize("make", [make_xor, make_moons, make_circles, make_spirals])
def test_classification_generators(make):
    x, y = make(n=120, seed=1)
    assert x.shape == (120, 2) and x.dtype == gn.float32 and y.dtype == gn.int64
    again, _ = make(n=120, seed=1)
    other, _ = make(n=120, seed=2)
    np.testing.assert_array_equal(x.numpy(), again.numpy())
    assert not np.array_equal(x.numpy(), other.numpy())


def test_generators_are_the_problems_they_claim():
    x, y = make_xor(400, noise=0.0)
    np.testing.assert_array_equal(y.numpy(), np.round(x.numpy()).astype(int).sum(1) % 2)
    x, y = make_circles(400, noise=0.0, factor=0.3)
    radius = np.linalg.norm(x.numpy(), axis=1)
    np.testing.assert_allclose(radius, np.where(y.numpy() == 1, 0.3, 1.0), rtol=1e-5)
    _, y = make_spirals(300, classes=3)
    assert np.bincount(y.numpy()).tolist() == [100, 100, 100]
    _, y = make_moons(101)
    assert np.bincount(y.numpy()).tolist() == [50, 51]


def test_regression_generators():
    x, y = make_sine(50, noise=0.0)
    assert x.shape == y.shape == (50, 1)
    np.testing.assert_allclose(y.numpy(), np.sin(x.numpy()), atol=1e-6)
    x, y = make_quadratic(50, coefficients=(2, 0, 1), noise=0.0)
    np.testing.assert_allclose(y.numpy(), 2 * x.numpy() ** 2 + 1, rtol=1e-5)


def test_logic_gates():
    x, y = logic_gate("xor")
    assert x.numpy().tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    assert logic_gate("AND")[1].tolist() == [0, 0, 0, 1]
    assert logic_gate("OR")[1].tolist() == [0, 1, 1, 1]
    assert logic_gate("NAND")[1].tolist() == [1, 1, 1, 0]
    with pytest.raises(ValueError, match="unknown gate 'IMPLY'"):
        logic_gate("IMPLY")


def test_digit_panels():
    x, y = digit_panels()
    panels = x.numpy()
    assert panels.shape == (10, 35) and y.tolist() == list(range(10))
    assert set(np.unique(panels)) == {0.0, 1.0}
    assert len({p.tobytes() for p in panels}) == 10
    one = panels[1].reshape(7, 5)
    assert one[:, 2].all() and one[6].tolist() == [0, 1, 1, 1, 0]
    four = panels[4].reshape(7, 5)
    assert four[4].all() and four[:, 3].all()
