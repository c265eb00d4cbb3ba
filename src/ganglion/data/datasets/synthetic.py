"""Small synthetic problems from teaching material, generated with a seed.

Classification generators return ``(X, y)``: X float32 (n, 2) and y int64 (n,). Regression
generators return X and y float32 (n, 1). ``logic_gate`` gives the four rows of a truth table and
``digit_panels`` the ten digits drawn on a 5x7 panel of lamps (a classic first exercise:
recognise the digit 4, then all ten). Everything returns ganglion tensors.
"""
import numpy as np

from ganglion.core.tensor import make_tensor

__all__ = ["make_xor", "make_moons", "make_circles", "make_spirals", "make_sine", "make_quadratic",
           "logic_gate", "digit_panels", "GATES"]


def _check(what, n, noise, classes=None):
    """Reject sizes that NumPy would report as 'negative dimensions' or a division by zero."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{what}: n must be a positive integer, got {n!r}")
    if not (isinstance(noise, (int, float, np.number)) and np.isfinite(noise) and noise >= 0):
        raise ValueError(f"{what}: noise must be a finite number >= 0, got {noise!r}")
    if classes is not None and (isinstance(classes, bool)
                                or not isinstance(classes, (int, np.integer)) or classes < 1):
        raise ValueError(f"{what}: classes must be a positive integer, got {classes!r}")


def _result(x, y, regression=False):
    x = make_tensor(np.asarray(x, np.float32))
    y = np.asarray(y, np.float32).reshape(-1, 1) if regression else np.asarray(y, np.int64)
    return x, make_tensor(y)


def make_xor(n=200, noise=0.1, seed=0):
    """Points around the four corners of the unit square; label 1 where exactly one coordinate
    is 1 (the XOR of the corner)."""
    _check("make_xor", n, noise)
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    return _result(corners + noise * rng.standard_normal((n, 2)), corners[:, 0] ^ corners[:, 1])


def make_moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles (scikit-learn's layout); label = which moon."""
    _check("make_moons", n, noise)
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    t_outer = np.linspace(0, np.pi, n_outer)
    t_inner = np.linspace(0, np.pi, n - n_outer)
    x = np.concatenate([np.stack([np.cos(t_outer), np.sin(t_outer)], 1),
                        np.stack([1 - np.cos(t_inner), 0.5 - np.sin(t_inner)], 1)])
    y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n - n_outer, np.int64)])
    order = rng.permutation(n)
    return _result(x[order] + noise * rng.standard_normal((n, 2)), y[order])


def make_circles(n=200, noise=0.05, factor=0.5, seed=0):
    """Two concentric circles, the inner one ``factor`` times the outer's radius; 1 = inner."""
    _check("make_circles", n, noise)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must lie in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    angle = rng.uniform(0, 2 * np.pi, size=n)
    radius = np.where(y == 1, factor, 1.0)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    return _result(x + noise * rng.standard_normal((n, 2)), y)


def make_spirals(n=300, classes=3, noise=0.2, seed=0):
    """``classes`` interleaved spiral arms (the CS231n toy problem); label = arm."""
    _check("make_spirals", n, noise, classes)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    radius = rng.uniform(0, 1, size=n)
    angle = y * (2 * np.pi / classes) + radius * 4 + noise * rng.standard_normal(n)
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], 1)
    order = rng.permutation(n)
    return _result(x[order], y[order])


def make_sine(n=200, noise=0.1, low=-np.pi, high=np.pi, seed=0):
    """y = sin(x) + Gaussian noise, x uniform in [low, high]."""
    _check("make_sine", n, noise)
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, size=n)
    return _result(x[:, None], np.sin(x) + noise * rng.standard_normal(n), regression=True)


def make_quadratic(n=200, coefficients=(1.0, -2.0, 0.5), noise=0.1, low=-2.0, high=2.0, seed=0):
    """y = a x^2 + b x + c + Gaussian noise, with (a, b, c) = ``coefficients``."""
    _check("make_quadratic", n, noise)
    rng = np.random.default_rng(seed)
    a, b, c = coefficients
    x = rng.uniform(low, high, size=n)
    y = a * x**2 + b * x + c + noise * rng.standard_normal(n)
    return _result(x[:, None], y, regression=True)


GATES = {"AND": (0, 0, 0, 1), "OR": (0, 1, 1, 1), "NAND": (1, 1, 1, 0), "NOR": (1, 0, 0, 0),
         "XOR": (0, 1, 1, 0), "XNOR": (1, 0, 0, 1)}


def logic_gate(name):
    """The truth table of a two-input gate: X (4, 2) in the order 00, 01, 10, 11, and y (4,)."""
    table = GATES.get(name.upper())
    if table is None:
        raise ValueError(f"logic_gate: unknown gate {name!r}; expected one of {', '.join(GATES)}")
    return _result([[0, 0], [0, 1], [1, 0], [1, 1]], table)


# The digits as a 5-wide, 7-high dot-matrix display draws them ('#' = lamp on).
_PANELS = {
    0: (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    1: ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    2: (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    3: ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    4: ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    5: ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    6: ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    7: ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    8: (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    9: (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
}


def digit_panels():
    """The ten digits as 35-pixel binary vectors (row by row of a 7x5 panel): X float32
    (10, 35) and y = 0..9. ``X[d].reshape(7, 5)`` draws digit d."""
    x = [[1.0 if ch == "#" else 0.0 for row in _PANELS[d] for ch in row] for d in range(10)]
    return _result(x, np.arange(10))
