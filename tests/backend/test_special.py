"""Checks ganglion.backend.special.erf against the C library's erf, reached through math.erf."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis.strategies import floats

from ganglion.backend.special import erf

# Where the implementation switches formulas; the points on either side of each are tested.
INTERVAL_BOUNDS = [2.0**-28, 0.84375, 1.25, 1 / 0.35, float.fromhex("0x1.6db6ep+1"), 6.0]


def reference(values):
    """math.erf elementwise, as a float64 array of the same shape."""
    flat = [math.erf(v) for v in np.asarray(values, dtype=np.float64).ravel()]
    return np.array(flat, dtype=np.float64).reshape(np.shape(values))


def ulp_error(actual, expected):
    """|actual - expected| in units of the spacing of float64 at expected (nan where both nan)."""
    return np.abs(actual - expected) / np.spacing(np.abs(expected))


def sample_points():
    """About 20,000 float64 inputs covering every interval, its edges, and the special values."""
    dense = np.linspace(-7.0, 7.0, 19_001)
    edges = []
    for bound in INTERVAL_BOUNDS:
        below, above = bound, bound
        for _ in range(8):
            edges += [below, above]
            below = np.nextafter(below, 0.0)
            above = np.nextafter(above, np.inf)
    tiny = [
        0.0,
        1e-300,
        1e-200,
        1e-100,
        1e-20,
        1e-10,
        1e-5,
        5e-324,
        1e-310,
        np.nextafter(2.0**-1022, 0.0),
        2.0**-1022,
        2.0**-1015,
    ]
    large = [6.5, 10.0, 27.0, 28.0, 1e10, 1e300, np.finfo(np.float64).max]
    magnitudes = np.concatenate([edges, tiny, large, np.logspace(-12, 0.9, 500)])
    return np.concatenate([dense, magnitudes, -magnitudes])


def test_float64_within_two_ulp_of_math_erf():
    x = sample_points()
    assert x.size > 19_000
    errors = ulp_error(erf(x), reference(x))
    assert errors.max() <= 2, f"max error {errors.max()} ULP at x={x[errors.argmax()]!r}"


def test_special_values():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0])
    result = erf(x)
    assert result[0] == 1.0 and result[1] == -1.0
    assert np.isnan(result[2])
    # The sign of zero survives, as it does in math.erf.
    assert result[3] == 0.0 and not np.signbit(result[3])
    assert result[4] == 0.0 and np.signbit(result[4])


def test_odd_symmetry_is_exact():
    x = sample_points()
    x = x[np.isfinite(x)]
    np.testing.assert_array_equal(erf(-x), -erf(x))


def test_float32_rounds_the_float64_result():
    x64 = sample_points()
    x32 = x64[np.abs(x64) <= np.finfo(np.float32).max].astype(np.float32)
    result = erf(x32)
    assert result.dtype == np.float32
    # Rounding the accurate float64 value of erf at the float32 input once to float32 can move it
    # at most half a float32 ULP; allow one ULP for the float64 error straddling a tie.
    expected = reference(x32.astype(np.float64))
    error = np.abs(result.astype(np.float64) - expected)
    assert np.all(error <= np.spacing(np.abs(expected).astype(np.float32)))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4)])
def test_keeps_dtype_and_shape(dtype, shape):
    x = np.linspace(-3.0, 3.0, math.prod(shape)).reshape(shape).astype(dtype)
    result = erf(x)
    assert isinstance(result, np.ndarray)
    assert result.dtype == dtype
    assert result.shape == shape
    expected = reference(x.astype(np.float64)).astype(dtype)
    np.testing.assert_array_equal(result, expected)


def test_rejects_integer_arrays():
    with pytest.raises(TypeError):
        erf(np.arange(3))


@given(floats(allow_nan=False))
def test_matches_math_erf(value):
    result = erf(np.array(value))
    expected = math.erf(value)
    assert result.shape == ()
    if expected == 0.0:
        assert result == 0.0
        assert np.signbit(result) == (math.copysign(1.0, expected) < 0)
    else:
        assert abs(float(result) - expected) <= 2 * np.spacing(abs(expected))
