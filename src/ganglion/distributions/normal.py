"""``Normal(loc, scale)``: the Gaussian, with reparameterised samples.

``rsample`` draws standard normal noise ``eps`` and returns ``loc + eps * scale``, so that the
gradients of anything computed from the samples reach ``loc`` and ``scale`` (a VAE's
``Normal(mu, std).rsample()``). ``icdf`` needs the inverse error function, which the op library
lacks: ``erfinv`` below is an op of its own (a rational first guess refined by Newton steps on
the backend's accurate ``erf``; its derivative is ``sqrt(pi) / 2 * exp(erfinv(x) ** 2)``).
"""
import math

import numpy as np

from ganglion.backend import current as backend
from ganglion.backend.special import erf as erf_array
from ganglion.core.op import apply
from ganglion.core.ops import erf, exp, log
from ganglion.core.ops.unary import Unary, to_float
from ganglion.core.random import generator
from ganglion.core.tensor import make_tensor
from ganglion.distributions import constraints
from ganglion.distributions.distribution import Distribution, broadcast_all

__all__ = ["Normal", "erfinv"]

_LOG_SQRT_2PI = math.log(math.sqrt(2 * math.pi))


def erfinv_array(y):
    """The inverse error function of a float array, elementwise (float64 inside): +-inf at
    +-1, nan outside [-1, 1]."""
    y = np.asarray(y)
    wide = y.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        # M. Giles' single-precision approximation as the first guess ...
        w = -np.log((1.0 - wide) * (1.0 + wide))
        central = w < 5.0
        wc = w - 2.5
        p_central = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
                  -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
            p_central = c + p_central * wc
        wt = np.sqrt(np.where(central, 5.0, w)) - 3.0
        p_tail = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
                  -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
            p_tail = c + p_tail * wt
        x = np.where(central, p_central, p_tail) * wide
        # ... then Newton's method on erf(x) = y, whose slope is 2/sqrt(pi) exp(-x^2).
        finite = np.isfinite(x)
        for _ in range(3):
            step = (erf_array(x) - wide) / (2.0 / math.sqrt(math.pi) * np.exp(-x * x))
            x = np.where(finite, x - np.where(np.isfinite(step), step, 0.0), x)
    x = np.where(np.abs(wide) == 1.0, np.copysign(np.inf, wide), x)
    x = np.where(np.abs(wide) > 1.0, np.nan, x)
    return x.astype(y.dtype, copy=False)


class Erfinv(Unary):
    """The inverse error function."""
    __slots__ = ()
    saves_inputs = False
    saves_output = True

    def forward(self, backend, x):
        return erfinv_array(x)

    def vjp(self, out, grad, needs):
        return (grad * (math.sqrt(math.pi) / 2) * exp(out * out),)


_ERFINV = Erfinv()


def erfinv(x):
    """The inverse error function, elementwise (``torch.erfinv``)."""
    return apply(_ERFINV, to_float(x))


class Normal(Distribution):
    """``Normal(loc, scale, validate_args=None)``: a normal distribution with mean ``loc``
    and standard deviation ``scale`` (numbers or tensors, broadcast together)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all("Normal", loc, scale)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def rsample(self, sample_shape=()):
        """``loc + eps * scale`` with standard normal ``eps``: differentiable in the
        parameters."""
        shape = self._extended_shape(sample_shape)
        noise = generator().standard_normal(shape)
        eps = make_tensor(backend.xp.asarray(noise, dtype=self.loc.dtype.np))
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - log(self.scale) - _LOG_SQRT_2PI

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + erf((value - self.loc) * (1 / self.scale) / math.sqrt(2)))

    def icdf(self, value):
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + log(self.scale)
