"""Probability distributions with PyTorch's API (``torch.distributions``).

``Categorical`` for policy gradients (``m = Categorical(probs); a = m.sample();
loss = -m.log_prob(a) * R``), ``Normal`` with reparameterised ``rsample`` for VAEs, and
``Bernoulli``, ``Uniform``, ``Independent``, ``MultivariateNormal`` (by ``scale_tril``);
``kl_divergence`` for the pairs of these. Values and gradients are computed with ganglion's
ops, so they flow back to the parameters; samples come from ganglion's global generator
(``ganglion.manual_seed``), so they are reproducible within ganglion but not the same numbers
as PyTorch's.
"""
from ganglion.distributions import constraints
from ganglion.distributions.bernoulli import Bernoulli
from ganglion.distributions.categorical import Categorical
from ganglion.distributions.distribution import Distribution
from ganglion.distributions.independent import Independent
from ganglion.distributions.kl import kl_divergence, register_kl
from ganglion.distributions.multivariate_normal import MultivariateNormal
from ganglion.distributions.normal import Normal
from ganglion.distributions.uniform import Uniform

__all__ = ["Distribution", "Bernoulli", "Categorical", "Independent", "MultivariateNormal",
           "Normal", "Uniform", "kl_divergence", "register_kl", "constraints"]
