"""Known surprises of tracing with ``jit``, pinned down so that they stay as documented."""
import numpy as np
import pytest

import ganglion as gn


def test_python_side_effects_run_only_when_tracing():
    calls = []

    @gn.jit
    def double(x):
        calls.append(1)
        return x * 2

    x = gn.ones(3)
    double(x)
    double(x)
    assert len(calls) == 1
    double(gn.ones(4))  # a new signature traces again
    assert len(calls) == 2


def test_python_control_flow_on_values_fails_while_tracing():
    @gn.jit
    def clipped(x):
        return x if x.sum() > 0 else -x

    with pytest.raises(RuntimeError, match="symbolic"):
        clipped(gn.ones(3))


def test_eager_values_that_no_placeholder_reaches_are_fixed_at_trace_time():
    scale = gn.tensor(2.0)

    @gn.jit
    def scaled(x):
        factor = scale * 3  # computed now, eagerly: a constant of the compiled function
        return x * factor

    assert scaled(gn.ones(2)).tolist() == [6.0, 6.0]
    with gn.no_grad():
        scale += 1
    assert scaled(gn.ones(2)).tolist() == [6.0, 6.0]
    direct = gn.jit(lambda x: x * scale)  # read in the graph itself: read at every call
    assert direct(gn.ones(2)).tolist() == [3.0, 3.0]


def test_reads_after_an_in_place_change_see_the_new_value():
    counter = gn.zeros(1)

    @gn.jit
    def bump(x):
        with gn.no_grad():
            counter.add_(x)
        return counter * 10

    assert bump(gn.ones(1)).tolist() == [10.0]
    assert bump(gn.ones(1)).tolist() == [20.0]
    np.testing.assert_array_equal(counter.numpy(), [2.0])


def test_a_step_without_tensor_arguments_is_refused_with_advice():
    w = gn.ones(3, requires_grad=True)

    @gn.jit
    def step():
        return (w * 2).sum()
    with pytest.raises(TypeError, match="without tensor arguments"):
        step()
