"""Graph extraction (ganglion.symbolic.graph) refuses a graph whose tensors depend on themselves
with an error naming the tensor, instead of looping forever; in-place assignment on symbolic
tensors whose index or value reads the tensor does not make such a cycle."""
import numpy as np
import pytest

import ganglion as gn
from ganglion.symbolic.graph import GraphCycleError


def test_givens_that_replace_a_tensor_by_an_expression_of_itself_raise_naming_it():
    x = gn.dmatrix("x")
    y = x * 2
    y.name = "doubled"
    with pytest.raises(GraphCycleError, match=r"function: .*cycle through the tensor 'doubled'"):
        gn.function([x], y * 3, givens=[(y, y + 1)])


def test_a_cycle_made_by_hand_raises_instead_of_hanging():
    x = gn.dvector("x")
    a = x + 1
    b = a * 2
    b.name = "b"
    a._inputs = (b, a._inputs[1])   # a reads b, which reads a
    with pytest.raises(GraphCycleError, match=r"cycle through the tensor 'b' \(float64, shape \(\?,\)\)"):
        gn.function([x], b)


def test_masked_setitem_on_a_placeholder_expression_compiles_to_eager_values():
    x = gn.dmatrix("x")
    y = x * 3
    y[y < 0] = 0.5
    y[0] = y[1] + y[2]
    f = gn.function([x], y)
    data = np.array([[1.0, -2.0], [-0.5, 4.0], [2.0, -1.0]])
    expected = data * 3
    expected[expected < 0] = 0.5
    expected[0] = expected[1] + expected[2]
    np.testing.assert_allclose(f(data), expected)


def test_shared_diamonds_are_not_cycles():
    x = gn.dvector("x")
    a = x * 2
    b = a + a
    c = b * a + (b - a)
    f = gn.function([x], c)
    v = np.array([1.0, -2.0])
    np.testing.assert_allclose(f(v), (4 * v) * (2 * v) + 2 * v)
