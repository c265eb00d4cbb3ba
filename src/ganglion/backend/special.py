"""Special functions that NumPy lacks, written with NumPy alone.

The backend needs the error function (GELU and the normal CDF are built from it) and NumPy has
none; SciPy would be a heavy dependency for one function. ``erf`` here works elementwise on whole
arrays and matches the C library's ``erf`` (what ``math.erf`` calls) to within a couple of ULP.

The algorithm and every coefficient come from Sun Microsystems' fdlibm ``s_erf.c`` (1993, freely
redistributable; the copy read was FreeBSD's lib/msun/src/s_erf.c). fdlibm splits |x| into
intervals, each with its own rational approximation; this port evaluates every interval on the
elements that fall in it, selected by boolean masks, so no Python loop touches single elements.
"""
import numpy as np

__all__ = ["erf"]

# Interval bounds on |x|. fdlibm compares the high 32 bits of the double, so each bound is the
# double whose low word is zero; for 1/0.35 that is slightly above 1/0.35 itself.
_TINY_END = 2.0**-28  # below this erf(x) = x * 2/sqrt(pi) to full precision
_SMALL_END = 0.84375
_MID_END = 1.25
_TAIL_SPLIT = float.fromhex("0x1.6db6e00000000p+1")  # 1/0.35 with its low word cleared
_SATURATION = 6.0  # from here on, erf(x) rounds to +-1

# 8 * (2/sqrt(pi) - 1). The tiny interval computes (8x + efx8*x) / 8 instead of x + efx*x: the
# two agree for normal x, but for subnormal x the product efx*x would itself be subnormal and
# lose bits, while efx8*x stays large enough to keep them.
_EFX8 = 1.02703333676410069053e00

# Coefficients are listed constant term first, as fdlibm's pp0..pp4 and so on. Every denominator
# has a leading 1, written out so that one Horner routine serves numerators and denominators.

# |x| < 0.84375: erf(x) = x + x * P(x^2)/Q(x^2).
_SMALL_P = (
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
)
_SMALL_Q = (
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
)

# 0.84375 <= |x| < 1.25: erf(x) = erx + P(s)/Q(s) with s = |x| - 1. erx is erf(1) rounded to 24
# bits, so the rational part carries the rest of erf(1) and the whole slope.
_ERX = 8.45062911510467529297e-01
_MID_P = (
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
)
_MID_Q = (
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
)

# 1.25 <= |x| < 6: erfc(x) = exp(-x^2 - 0.5625 + R(t)/S(t)) / x with t = 1/x^2, one pair of
# polynomials below the split near 1/0.35 and another above it.
_NEAR_TAIL_R = (
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e01,
    -6.23753324503260060396e01,
    -1.62396669462573470355e02,
    -1.84605092906711035994e02,
    -8.12874355063065934246e01,
    -9.81432934416914548592e00,
)
_NEAR_TAIL_S = (
    1.0,
    1.96512716674392571292e01,
    1.37657754143519042600e02,
    4.34565877475229228821e02,
    6.45387271733267880336e02,
    4.29008140027567833386e02,
    1.08635005541779435134e02,
    6.57024977031928170135e00,
    -6.04244152148580987438e-02,
)
_FAR_TAIL_R = (
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e01,
    -1.60636384855821916062e02,
    -6.37566443368389627722e02,
    -1.02509513161107724954e03,
    -4.83519191608651397019e02,
)
_FAR_TAIL_S = (
    1.0,
    3.03380607434824582924e01,
    3.25792512996573918826e02,
    1.53672958608443695994e03,
    3.19985821950859553908e03,
    2.55305040643316442583e03,
    4.74528541206955367215e02,
    -2.24409524465858183362e01,
)

_HIGH_WORD_MASK = np.uint64(0xFFFFFFFF00000000)


def erf(x):
    """The error function, elementwise, for a floating-point array of any shape.

    The result has the dtype and shape of ``x``. The work is done in float64 and rounded back
    once at the end, so float16 and float32 results are correctly rounded from an accurate
    float64 value. erf(+-inf) = +-1, erf(nan) = nan, and erf(-x) = -erf(x) exactly.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"erf needs a floating-point array, got dtype {x.dtype}")
    wide = x.astype(np.float64)
    magnitude = np.abs(wide)

    # Each interval writes erf(|x|) for its own elements. nan fails every comparison below and
    # so keeps this initial value; inf lands in the saturated interval.
    result = np.full_like(magnitude, np.nan)
    _fill(result, magnitude, magnitude < _TINY_END, _erf_tiny)
    _fill(result, magnitude, (magnitude >= _TINY_END) & (magnitude < _SMALL_END), _erf_small)
    _fill(result, magnitude, (magnitude >= _SMALL_END) & (magnitude < _MID_END), _erf_mid)
    _fill(
        result,
        magnitude,
        (magnitude >= _MID_END) & (magnitude < _TAIL_SPLIT),
        lambda a: _erf_tail(a, _NEAR_TAIL_R, _NEAR_TAIL_S),
    )
    _fill(
        result,
        magnitude,
        (magnitude >= _TAIL_SPLIT) & (magnitude < _SATURATION),
        lambda a: _erf_tail(a, _FAR_TAIL_R, _FAR_TAIL_S),
    )
    result[magnitude >= _SATURATION] = 1.0

    # erf is odd, and every branch above is an odd formula in fdlibm too, so restoring the sign
    # last gives fdlibm's results bit for bit while making the symmetry exact (-0.0 included).
    # Writing into ``result`` keeps a 0-d input a 0-d array rather than a NumPy scalar.
    np.copysign(result, wide, out=result)
    return result.astype(x.dtype, copy=False)


def _fill(result, magnitude, mask, formula):
    """Set ``result`` where ``mask`` holds to ``formula`` of those elements of ``magnitude``."""
    if mask.any():
        result[mask] = formula(magnitude[mask])


def _horner(coefficients, t):
    """c0 + t*(c1 + t*(c2 + ...)), in the same operation order as fdlibm so results match it."""
    value = np.full_like(t, coefficients[-1])
    for coefficient in reversed(coefficients[:-1]):
        value = coefficient + t * value
    return value


def _erf_tiny(a):
    # erf(a) = a * 2/sqrt(pi) here; the cubic term is below 2**-84 relative. Dividing by 8 is
    # exact, so this equals a + efx*a wherever that has no subnormal rounding.
    return (8.0 * a + _EFX8 * a) / 8.0


def _erf_small(a):
    # Written as a + a*R rather than a*(1 + R) so that the leading term a is exact and only
    # the small correction a*R carries rounding error.
    square = a * a
    return a + a * (_horner(_SMALL_P, square) / _horner(_SMALL_Q, square))


def _erf_mid(a):
    s = a - 1.0
    return _ERX + _horner(_MID_P, s) / _horner(_MID_Q, s)


def _erf_tail(a, numerator, denominator):
    # erfc(a) = exp(-a^2 - 0.5625 + R/S) / a, and erf = 1 - erfc. a*a cannot be formed exactly,
    # so split a = z + (a - z) where z keeps only the top 21 mantissa bits: z*z is then exact,
    # and -a^2 = -z^2 + (z - a)(z + a) with the small second part folded into the other exp.
    inverse_square = 1.0 / (a * a)
    ratio = _horner(numerator, inverse_square) / _horner(denominator, inverse_square)
    z = (a.view(np.uint64) & _HIGH_WORD_MASK).view(np.float64)
    scaled_erfc = np.exp(-z * z - 0.5625) * np.exp((z - a) * (z + a) + ratio)
    return 1.0 - scaled_erfc / a
