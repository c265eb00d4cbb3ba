"""``kl_divergence(p, q)``: KL(p || q) in closed form, for the pairs registered here.

``register_kl(type_p, type_q)`` adds a pair (a decorator, as in PyTorch); the most specific
registered pair of the two distributions' classes is used.
"""
import math

from ganglion.core.ops import log, softplus, where
from ganglion.distributions.bernoulli import Bernoulli
from ganglion.distributions.categorical import Categorical
from ganglion.distributions.distribution import sum_rightmost
from ganglion.distributions.independent import Independent
from ganglion.distributions.multivariate_normal import (MultivariateNormal, _diagonal,
                                                        _mahalanobis, solve_triangular)
from ganglion.distributions.normal import Normal
from ganglion.distributions.uniform import Uniform

__all__ = ["kl_divergence", "register_kl"]

_KL_REGISTRY = {}


def register_kl(type_p, type_q):
    """Decorator: ``@register_kl(Normal, Normal) def kl(p, q): ...``."""
    if not isinstance(type_p, type) or not isinstance(type_q, type):
        raise TypeError(f"register_kl: expected two Distribution classes, got {type_p!r} and "
                        f"{type_q!r}")

    def decorator(function):
        _KL_REGISTRY[type_p, type_q] = function
        return function
    return decorator


def kl_divergence(p, q):
    """KL(p || q) = E_p[log p(x) - log q(x)], one value per batch element.
    NotImplementedError for a pair with no closed form registered."""
    for type_p in type(p).__mro__:
        for type_q in type(q).__mro__:
            function = _KL_REGISTRY.get((type_p, type_q))
            if function is not None:
                return function(p, q)
    raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and "
                              f"q type {type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - log(var_ratio))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = where(q.probs == 0, math.inf, t)  # p puts mass where q has none
    t = where(p.probs == 0, 0.0, t)       # 0 log 0 = 0
    return t.sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = where(p.probs == 0, 0.0, where(q.probs == 0, math.inf, t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = where(p.probs == 1, 0.0, where(q.probs == 1, math.inf, t2))
    return t1 + t2


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = log((q.high - q.low) / (p.high - p.low))
    outside = (q.low > p.low).logical_or(q.high < p.high)
    return where(outside, math.inf, result)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("No KL(p || q) is implemented for Independent distributions "
                                  f"with {p.reinterpreted_batch_ndims} and "
                                  f"{q.reinterpreted_batch_ndims} reinterpreted dimensions")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_multivariate_normal(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event "
                         f"shapes cannot be computed: {p.event_shape} and {q.event_shape}")
    p_tril, q_tril = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    half_term1 = log(_diagonal(q_tril)).sum(-1) - log(_diagonal(p_tril)).sum(-1)
    solved = solve_triangular(q_tril, p_tril)  # trace(Sq^-1 Sp) = |Lq^-1 Lp|^2 (Frobenius)
    term2 = (solved * solved).sum(-1).sum(-1)
    term3 = _mahalanobis(q_tril, q.loc - p.loc)
    return half_term1 + 0.5 * (term2 + term3 - p.event_shape[0])
