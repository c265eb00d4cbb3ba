"""ganglion.distributions against torch.distributions.

Values (log_prob, cdf, icdf, entropy, mean, variance, kl_divergence) and gradients (log_prob
with respect to the parameters; rsample with respect to them given the same noise in both
frameworks) are compared with PyTorch in float64. Sampling is checked statistically: the
streams differ, so means and class frequencies of many draws from a seeded generator must
fall within a few standard errors. Two end-to-end tests train one step of the programs these
classes exist for (a policy gradient with Categorical, a VAE with Normal.rsample) and compare
the updated weights with PyTorch's, given the same sampled action or the same noise.
"""
import numpy as np
import pytest
import torch
import torch.distributions as td
from bad_inputs import BadInput, bad_input_test

import ganglion as gn
import ganglion.distributions as gd
import ganglion.nn.functional as F

RNG = np.random.default_rng(7)


def pair(array, requires_grad=False):
    """The same float64 values as a ganglion tensor and a torch tensor."""
    array = np.array(array, dtype=np.float64)
    g = gn.from_numpy(array.copy())
    t = torch.from_numpy(array.copy())
    if requires_grad:
        g.requires_grad_(True)
        t.requires_grad_(True)
    return g, t


def values(t):
    return t.detach().numpy()


def close(got, want, atol=1e-10, rtol=1e-9):
    np.testing.assert_allclose(values(got), values(want), atol=atol, rtol=rtol)
    assert tuple(got.shape) == tuple(want.shape)


def check_grads(gn_out, torch_out, gn_inputs, torch_inputs, atol=1e-10):
    """Backpropagate the same random projection of both outputs; compare input gradients."""
    weights = RNG.standard_normal(tuple(torch_out.shape))
    (gn_out * gn.from_numpy(weights)).sum().backward()
    (torch_out * torch.from_numpy(weights)).sum().backward()
    for g, t in zip(gn_inputs, torch_inputs):
        if t.grad is None:  # the output does not depend on it (loc in an entropy)
            assert g.grad is None or not values(g.grad).any()
            continue
        assert g.grad is not None, "no gradient reached a parameter"
        np.testing.assert_allclose(values(g.grad), t.grad.numpy(), atol=atol, rtol=1e-9)


# ----- Normal -----------------------------------------------------------------------------

def test_normal_values_match_torch():
    (loc, t_loc), (scale, t_scale) = pair([[0.0, 1.5, -2.0]]), pair([[1.0], [0.3]])
    ours, theirs = gd.Normal(loc, scale), td.Normal(t_loc, t_scale)
    assert ours.batch_shape == tuple(theirs.batch_shape) == (2, 3)
    assert ours.event_shape == () and ours.has_rsample
    x, t_x = pair(RNG.standard_normal((4, 2, 3)))
    close(ours.log_prob(x), theirs.log_prob(t_x))
    close(ours.cdf(x), theirs.cdf(t_x))
    p, t_p = pair(RNG.uniform(0.01, 0.99, (2, 3)))
    close(ours.icdf(p), theirs.icdf(t_p), atol=1e-9)
    for name in ("entropy",):
        close(getattr(ours, name)(), getattr(theirs, name)())
    for name in ("mean", "mode", "variance", "stddev"):
        close(getattr(ours, name), getattr(theirs, name))


def test_normal_number_parameters_take_the_default_dtype():
    m = gd.Normal(0.0, 1.0)
    assert m.loc.dtype == gn.float32 and m.batch_shape == ()
    assert gd.Normal(gn.zeros(2, dtype=gn.float64), 2).scale.dtype == gn.float64
    np.testing.assert_allclose(values(m.log_prob(gn.tensor(0.5))),
                               float(td.Normal(0.0, 1.0).log_prob(torch.tensor(0.5))), rtol=1e-6)
    assert repr(m) == "Normal(loc: 0.0, scale: 1.0)"
    assert repr(gd.Normal(gn.zeros(2), 1.0)) == "Normal(loc: (2,), scale: (2,))"


def test_normal_log_prob_and_cdf_gradients_match_torch():
    for method in ("log_prob", "cdf", "entropy"):
        (loc, t_loc), (scale, t_scale) = pair([0.2, -1.0, 3.0], True), pair([0.5, 1.0, 2.0], True)
        x, t_x = pair([[0.0, 1.0, 2.0], [1.0, -1.0, 0.5]], True)
        args = () if method == "entropy" else (x,)
        t_args = () if method == "entropy" else (t_x,)
        check_grads(getattr(gd.Normal(loc, scale), method)(*args),
                    getattr(td.Normal(t_loc, t_scale), method)(*t_args),
                    [loc, scale] + list(args), [t_loc, t_scale] + list(t_args))


class _FixedNoise:
    """A stand-in for ganglion's generator that returns given numbers."""

    def __init__(self, normal=None, uniform=None):
        self.normal, self.uniform = normal, uniform

    def standard_normal(self, shape):
        assert tuple(shape) == self.normal.shape
        return self.normal

    def random(self, shape):
        assert tuple(shape) == self.uniform.shape
        return self.uniform


def test_normal_rsample_reparameterises_as_torch(monkeypatch):
    noise = RNG.standard_normal((5, 3))
    monkeypatch.setattr(gd.normal, "generator", lambda: _FixedNoise(normal=noise))
    monkeypatch.setattr(td.normal, "_standard_normal",
                        lambda shape, dtype, device: torch.from_numpy(noise.copy()))
    (loc, t_loc), (scale, t_scale) = pair([0.2, -1.0, 3.0], True), pair([0.5, 1.0, 2.0], True)
    ours = gd.Normal(loc, scale).rsample((5,))
    theirs = td.Normal(t_loc, t_scale).rsample((5,))
    close(ours, theirs)
    check_grads(ours ** 2, theirs ** 2, [loc, scale], [t_loc, t_scale])
    # sample() is the same numbers without a graph
    drawn = gd.Normal(loc, scale).sample((5,))
    assert not drawn.requires_grad
    close(drawn, theirs)


def test_normal_samples_have_the_right_moments():
    gn.manual_seed(0)
    loc, scale = gn.tensor([1.0, -2.0]), gn.tensor([0.5, 3.0])
    draws = values(gd.Normal(loc, scale).sample((20000,)))
    assert draws.shape == (20000, 2) and draws.dtype == np.float32
    np.testing.assert_allclose(draws.mean(0), [1.0, -2.0], atol=4 * 3.0 / 141)
    np.testing.assert_allclose(draws.std(0), [0.5, 3.0], rtol=0.03)
    gn.manual_seed(0)
    np.testing.assert_array_equal(values(gd.Normal(loc, scale).sample((20000,))), draws)


def test_erfinv_matches_torch():
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 201), [-1.0, 1.0, 0.0, 1e-300, 1.5]])
    got = gd.normal.erfinv(gn.from_numpy(y.copy()))
    want = torch.erfinv(torch.from_numpy(y.copy()))
    np.testing.assert_allclose(values(got), want.numpy(), rtol=1e-12, atol=1e-300)
    y32 = np.linspace(-0.99, 0.99, 11, dtype=np.float32)
    np.testing.assert_allclose(values(gd.normal.erfinv(gn.from_numpy(y32))),
                               torch.erfinv(torch.from_numpy(y32)).numpy(), rtol=1e-6)
    x, t_x = pair([-0.9, -0.3, 0.0, 0.5, 0.99], True)
    check_grads(gd.normal.erfinv(x), torch.erfinv(t_x), [x], [t_x], atol=1e-8)


# ----- Categorical --------------------------------------------------------------------------

PROBS = [[0.2, 0.3, 0.5, 0.0], [1.0, 2.0, 3.0, 4.0]]  # unnormalised, with a zero


def test_categorical_probs_and_logits_are_normalised_as_torch():
    probs, t_probs = pair(PROBS)
    ours, theirs = gd.Categorical(probs=probs), td.Categorical(probs=t_probs)
    close(ours.probs, theirs.probs)
    close(ours.logits, theirs.logits)
    logits, t_logits = pair(RNG.standard_normal((2, 4)))
    ours, theirs = gd.Categorical(logits=logits), td.Categorical(logits=t_logits)
    close(ours.logits, theirs.logits)
    close(ours.probs, theirs.probs)
    assert ours.batch_shape == (2,) and ours.event_shape == () and not ours.has_rsample
    assert ours.param_shape == (2, 4)


def test_categorical_values_match_torch():
    probs, t_probs = pair(PROBS)
    ours, theirs = gd.Categorical(probs=probs), td.Categorical(probs=t_probs)
    action = np.array([[0, 3], [2, 1], [1, 0]])
    close(ours.log_prob(gn.from_numpy(action)), theirs.log_prob(torch.from_numpy(action)))
    close(ours.log_prob(gn.tensor(2)), theirs.log_prob(torch.tensor(2)))  # broadcast over batch
    close(ours.entropy(), theirs.entropy())  # the zero probability contributes 0
    close(ours.mode, theirs.mode)
    assert np.isnan(values(ours.mean)).all() and np.isnan(values(ours.variance)).all()
    assert ours.mean.shape == (2,)
    close(ours.enumerate_support(), theirs.enumerate_support())
    close(ours.enumerate_support(expand=False), theirs.enumerate_support(expand=False))
    close(ours.perplexity(), theirs.perplexity())
    # a logit of -inf (a class ruled out) contributes 0 to the entropy, not nan
    logits, t_logits = pair([[0.0, -np.inf, 1.0], [2.0, 0.5, -1.0]])
    close(gd.Categorical(logits=logits).entropy(), td.Categorical(logits=t_logits).entropy())


def test_categorical_log_prob_gradients_match_torch():
    for name in ("probs", "logits"):
        p, t_p = pair(RNG.uniform(0.1, 1.0, (3, 4)), True)
        action = np.array([[3, 0, 1], [2, 2, 0]])
        ours = gd.Categorical(**{name: p})
        theirs = td.Categorical(**{name: t_p})
        check_grads(ours.log_prob(gn.from_numpy(action)),
                    theirs.log_prob(torch.from_numpy(action)), [p], [t_p])
        p, t_p = pair(RNG.uniform(0.1, 1.0, (3, 4)), True)
        check_grads(gd.Categorical(**{name: p}).entropy(), td.Categorical(**{name: t_p}).entropy(),
                    [p], [t_p])


def test_categorical_sampling_frequencies():
    gn.manual_seed(1)
    probs = gn.tensor([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    draws = gd.Categorical(probs=probs).sample((30000,))
    assert draws.dtype == gn.int64 and draws.shape == (30000, 2)
    counts = np.stack([np.bincount(values(draws)[:, k], minlength=4) for k in range(2)])
    assert counts[0, 1] == 0  # a class of probability zero is never drawn
    expected = values(probs) * 30000
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected + 1))
    assert gd.Categorical(logits=gn.zeros(5)).sample().shape == ()
    assert gd.Categorical(probs=gn.tensor([0.0, 1.0, 0.0])).sample((50,)).tolist() == [1] * 50


# ----- Bernoulli and Uniform ------------------------------------------------------------------

def test_bernoulli_values_and_gradients_match_torch():
    for name in ("probs", "logits"):
        array = [0.0, 0.2, 0.5, 1.0] if name == "probs" else [-3.0, 0.0, 0.7, 40.0]
        p, t_p = pair(array, True)
        ours, theirs = gd.Bernoulli(**{name: p}), td.Bernoulli(**{name: t_p})
        x, t_x = pair([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0]])
        close(ours.log_prob(x), theirs.log_prob(t_x), atol=1e-9)
        close(ours.entropy(), theirs.entropy(), atol=1e-9)
        for attribute in ("mean", "variance", "probs", "logits", "mode"):
            np.testing.assert_allclose(values(getattr(ours, attribute)),
                                       values(getattr(theirs, attribute)), rtol=1e-9)
        if name == "logits":
            check_grads(ours.log_prob(x), theirs.log_prob(t_x), [p], [t_p])
            p, t_p = pair(array, True)
            check_grads(gd.Bernoulli(logits=p).entropy(), td.Bernoulli(logits=t_p).entropy(),
                        [p], [t_p])
    p, t_p = pair([0.1, 0.5, 0.8], True)
    x, t_x = pair([1.0, 0.0, 1.0])
    check_grads(gd.Bernoulli(p).log_prob(x), td.Bernoulli(t_p).log_prob(t_x), [p], [t_p])


def test_bernoulli_sampling_frequencies():
    gn.manual_seed(2)
    draws = values(gd.Bernoulli(gn.tensor([0.0, 0.3, 1.0])).sample((20000,)))
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= {0.0, 1.0}
    assert draws[:, 0].sum() == 0 and draws[:, 2].sum() == 20000
    assert abs(draws[:, 1].mean() - 0.3) < 5 * np.sqrt(0.21 / 20000)


def test_uniform_values_match_torch(monkeypatch):
    (low, t_low), (high, t_high) = pair([0.0, -1.0], True), pair([[1.0, 2.0]], True)
    ours, theirs = gd.Uniform(low, high), td.Uniform(t_low, t_high)
    x, t_x = pair([[0.5, -0.5], [0.25, 1.5]])
    close(ours.log_prob(x), theirs.log_prob(t_x))
    close(ours.cdf(x), theirs.cdf(t_x))
    close(ours.icdf(x.clamp(0, 1)), theirs.icdf(t_x.clamp(0, 1)))
    close(ours.entropy(), theirs.entropy())
    for name in ("mean", "variance", "stddev"):
        close(getattr(ours, name), getattr(theirs, name))
    u = RNG.uniform(size=(3, 1, 2))
    monkeypatch.setattr(gd.uniform, "generator", lambda: _FixedNoise(uniform=u))
    monkeypatch.setattr(torch, "rand", lambda *a, **k: torch.from_numpy(u.copy()))
    sample, t_sample = ours.rsample((3,)), theirs.rsample((3,))
    close(sample, t_sample)
    check_grads(sample, t_sample, [low, high], [t_low, t_high])


def test_uniform_samples_lie_in_the_interval():
    gn.manual_seed(3)
    draws = values(gd.Uniform(gn.tensor([-1.0, 2.0]), gn.tensor([1.0, 2.5])).sample((10000,)))
    assert draws.shape == (10000, 2)
    assert (draws[:, 0] >= -1).all() and (draws[:, 0] < 1).all()
    assert (draws[:, 1] >= 2).all() and (draws[:, 1] < 2.5).all()
    assert abs(draws[:, 0].mean()) < 5 * np.sqrt(1 / 3 / 10000)


def test_independent_matches_torch():
    (loc, t_loc), (scale, t_scale) = pair(RNG.standard_normal((2, 3)), True), pair(
        RNG.uniform(0.5, 2, (2, 3)), True)
    ours = gd.Independent(gd.Normal(loc, scale), 1)
    theirs = td.Independent(td.Normal(t_loc, t_scale), 1)
    assert ours.batch_shape == (2,) and ours.event_shape == (3,) and ours.has_rsample
    x, t_x = pair(RNG.standard_normal((4, 2, 3)))
    close(ours.log_prob(x), theirs.log_prob(t_x))
    close(ours.entropy(), theirs.entropy())
    close(ours.mean, theirs.mean)
    assert ours.sample((5,)).shape == (5, 2, 3)
    check_grads(ours.log_prob(x), theirs.log_prob(t_x), [loc, scale], [t_loc, t_scale])


def _scale_tril(batch, k):
    lower = np.tril(RNG.standard_normal(batch + (k, k)), -1)
    return lower + np.eye(k) * RNG.uniform(0.5, 1.5, batch + (k,))[..., None]


def test_multivariate_normal_matches_torch():
    (loc, t_loc), (tril, t_tril) = pair(RNG.standard_normal((2, 3)), True), pair(
        _scale_tril((1,), 3), True)
    ours = gd.MultivariateNormal(loc, scale_tril=tril)
    theirs = td.MultivariateNormal(t_loc, scale_tril=t_tril)
    assert ours.batch_shape == (2,) and ours.event_shape == (3,)
    x, t_x = pair(RNG.standard_normal((4, 2, 3)), True)
    close(ours.log_prob(x), theirs.log_prob(t_x))
    close(ours.entropy(), theirs.entropy())
    for name in ("mean", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        close(getattr(ours, name), getattr(theirs, name))
    check_grads(ours.log_prob(x), theirs.log_prob(t_x), [loc, tril, x], [t_loc, t_tril, t_x])


def test_multivariate_normal_second_derivatives_match_torch():
    """The triangular solve's vjp is made of ops (its transposed solve included), so a
    gradient of a gradient works, as in PyTorch."""
    (loc, t_loc), (tril, t_tril) = pair(RNG.standard_normal(3), True), pair(
        _scale_tril((), 3), True)
    x, t_x = pair(RNG.standard_normal((2, 3)))
    (g_tril,) = gn.grad(gd.MultivariateNormal(loc, scale_tril=tril).log_prob(x).sum(), [tril],
                        create_graph=True)
    (t_g_tril,) = torch.autograd.grad(
        td.MultivariateNormal(t_loc, scale_tril=t_tril).log_prob(t_x).sum(), [t_tril],
        create_graph=True)
    close(g_tril, t_g_tril)
    check_grads(g_tril, t_g_tril, [loc, tril], [t_loc, t_tril], atol=1e-9)


def test_multivariate_normal_rsample_and_kl_match_torch(monkeypatch):
    noise = RNG.standard_normal((5, 2, 3))
    monkeypatch.setattr(gd.multivariate_normal, "generator", lambda: _FixedNoise(normal=noise))
    monkeypatch.setattr(td.multivariate_normal, "_standard_normal",
                        lambda shape, dtype, device: torch.from_numpy(noise.copy()))
    (loc, t_loc), (tril, t_tril) = pair(RNG.standard_normal(3), True), pair(
        _scale_tril((2,), 3), True)
    sample = gd.MultivariateNormal(loc, scale_tril=tril).rsample((5,))
    t_sample = td.MultivariateNormal(t_loc, scale_tril=t_tril).rsample((5,))
    close(sample, t_sample)
    check_grads(sample, t_sample, [loc, tril], [t_loc, t_tril])
    (loc2, t_loc2), (tril2, t_tril2) = pair(RNG.standard_normal((2, 3)), True), pair(
        _scale_tril((), 3), True)
    ours = gd.kl_divergence(gd.MultivariateNormal(loc, scale_tril=tril),
                            gd.MultivariateNormal(loc2, scale_tril=tril2))
    theirs = td.kl_divergence(td.MultivariateNormal(t_loc, scale_tril=t_tril),
                              td.MultivariateNormal(t_loc2, scale_tril=t_tril2))
    close(ours, theirs)
    for t in (loc, tril, t_loc, t_tril):
        t.grad = None
    check_grads(ours, theirs, [loc, tril, loc2, tril2], [t_loc, t_tril, t_loc2, t_tril2])
    monkeypatch.undo()
    gn.manual_seed(4)
    draws = values(gd.MultivariateNormal(gn.zeros(2, dtype=gn.float64),
                                         scale_tril=gn.tensor([[1.0, 0.0], [0.8, 0.6]],
                                                              dtype=gn.float64)).sample((20000,)))
    np.testing.assert_allclose(np.cov(draws.T), [[1.0, 0.8], [0.8, 1.0]], atol=0.05)


# ----- kl_divergence --------------------------------------------------------------------------

def test_kl_divergence_matches_torch():
    (a, t_a), (b, t_b) = pair([0.0, 1.0, -2.0], True), pair([1.0, 0.5, 2.0], True)
    (c, t_c), (d, t_d) = pair([0.5, 1.0, 0.0], True), pair([2.0, 0.5, 1.0], True)
    ours = gd.kl_divergence(gd.Normal(a, b), gd.Normal(c, d))
    theirs = td.kl_divergence(td.Normal(t_a, t_b), td.Normal(t_c, t_d))
    close(ours, theirs)
    check_grads(ours, theirs, [a, b, c, d], [t_a, t_b, t_c, t_d])

    p, t_p = pair([[0.2, 0.3, 0.5], [0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    q, t_q = pair([[0.1, 0.1, 0.8], [0.3, 0.3, 0.4], [0.5, 0.0, 0.5]])
    close(gd.kl_divergence(gd.Categorical(p), gd.Categorical(q)),
          td.kl_divergence(td.Categorical(t_p), td.Categorical(t_q)))  # 0 and inf rows
    logits, t_logits = pair(RNG.standard_normal((2, 5)), True)
    q, t_q = pair(RNG.uniform(0.1, 1, (2, 5)))
    ours = gd.kl_divergence(gd.Categorical(logits=logits), gd.Categorical(q))
    theirs = td.kl_divergence(td.Categorical(logits=t_logits), td.Categorical(t_q))
    close(ours, theirs)
    check_grads(ours, theirs, [logits], [t_logits])

    p, t_p = pair([0.0, 0.3, 1.0, 0.5])
    q, t_q = pair([0.2, 0.0, 1.0, 0.5])
    close(gd.kl_divergence(gd.Bernoulli(p), gd.Bernoulli(q)),
          td.kl_divergence(td.Bernoulli(t_p), td.Bernoulli(t_q)))
    (l1, t_l1), (h1, t_h1) = pair([0.0, 0.0]), pair([1.0, 1.0])
    (l2, t_l2), (h2, t_h2) = pair([-1.0, 0.5]), pair([2.0, 3.0])
    close(gd.kl_divergence(gd.Uniform(l1, h1), gd.Uniform(l2, h2)),
          td.kl_divergence(td.Uniform(t_l1, t_h1), td.Uniform(t_l2, t_h2)))
    (a, t_a), (b, t_b) = pair(RNG.standard_normal((2, 3))), pair(RNG.uniform(1, 2, (2, 3)))
    close(gd.kl_divergence(gd.Independent(gd.Normal(a, b), 1), gd.Independent(gd.Normal(b, b), 1)),
          td.kl_divergence(td.Independent(td.Normal(t_a, t_b), 1),
                           td.Independent(td.Normal(t_b, t_b), 1)))


def test_register_kl_adds_a_pair():
    class Shifted(gd.Normal):
        pass

    @gd.register_kl(Shifted, gd.Uniform)
    def _kl(p, q):
        return p.loc * 0 + 42.0

    assert float(gd.kl_divergence(Shifted(0.0, 1.0), gd.Uniform(0.0, 1.0))) == 42.0
    # a subclass falls back to its parent's pair
    assert float(gd.kl_divergence(Shifted(0.0, 1.0), gd.Normal(0.0, 1.0))) == 0.0


def test_validation_can_be_turned_off():
    m = gd.Normal(gn.tensor(0.0), gn.tensor(-1.0), validate_args=False)
    with np.errstate(invalid="ignore"):  # log(-1), as PyTorch computes it: nan
        assert np.isnan(values(m.log_prob(gn.tensor(0.0))))
    u = gd.Uniform(0.0, 1.0, validate_args=False)
    assert values(u.log_prob(gn.tensor(2.0))) == -np.inf
    try:
        gd.Distribution.set_default_validate_args(False)
        gd.Categorical(probs=gn.tensor([-1.0, 2.0]))
    finally:
        gd.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        gd.Categorical(probs=gn.tensor([-1.0, 2.0]))


def test_symbolic_graphs_compute_as_torch():
    """log_prob, entropy and kl_divergence on placeholders (sizes unknown until the compiled
    function runs), with gradients; the number parameter broadcasts over the batch."""
    x, mu = gn.vector("x"), gn.vector("mu")
    m = gd.Normal(mu, 1.0)
    cost = m.log_prob(x).sum() + m.entropy().sum()
    f = gn.function([x, mu], [m.log_prob(x).sum(), m.entropy(),
                              gd.kl_divergence(m, gd.Normal(0.0, 2.0)), gn.grad(cost, [mu])[0]])
    x_value, mu_value = np.array([0.5, 1.0, -1.0], "float32"), np.array([0.0, 0.3, 2.0], "float32")
    t_mu = torch.tensor(mu_value, requires_grad=True)
    t_m = td.Normal(t_mu, 1.0)
    t_cost = t_m.log_prob(torch.tensor(x_value)).sum() + t_m.entropy().sum()
    want = [t_m.log_prob(torch.tensor(x_value)).sum(), t_m.entropy(),
            td.kl_divergence(t_m, td.Normal(0.0, 2.0)), torch.autograd.grad(t_cost, t_mu)[0]]
    for got, expected in zip(f(x_value, mu_value), want):
        np.testing.assert_allclose(got, values(expected), rtol=1e-6, atol=1e-6)

    logits, action = gn.matrix("logits"), gn.lvector("action")
    c = gd.Categorical(logits=logits)
    g = gn.function([logits, action], [c.log_prob(action), c.entropy(),
                                       gn.grad(c.log_prob(action).sum(), [logits])[0]])
    l_value, a_value = RNG.standard_normal((4, 3)).astype("float32"), np.array([2, 0, 1, 1])
    t_logits = torch.tensor(l_value, requires_grad=True)
    t_c = td.Categorical(logits=t_logits)
    want = [t_c.log_prob(torch.tensor(a_value)), t_c.entropy(),
            torch.autograd.grad(t_c.log_prob(torch.tensor(a_value)).sum(), t_logits)[0]]
    for got, expected in zip(g(l_value, a_value), want):
        np.testing.assert_allclose(got, values(expected), rtol=1e-5, atol=1e-6)


# ----- the programs these exist for -------------------------------------------------------------

def _copy_linear(gn_layer, torch_layer):
    with gn.no_grad():
        gn_layer.weight.copy_(gn.from_numpy(torch_layer.weight.detach().numpy().copy()))
        gn_layer.bias.copy_(gn.from_numpy(torch_layer.bias.detach().numpy().copy()))


def test_policy_gradient_step_matches_torch():
    """REINFORCE: m = Categorical(probs); a = m.sample(); loss = -m.log_prob(a) * R."""
    torch.manual_seed(0)
    gn.manual_seed(0)
    torch_policy = torch.nn.Linear(4, 3).double()
    policy = gn.nn.Linear(4, 3).to(gn.float64)
    _copy_linear(policy, torch_policy)
    state = RNG.standard_normal((5, 4))
    returns = RNG.standard_normal(5)
    opt = gn.optim.SGD(policy.parameters(), lr=0.1)
    torch_opt = torch.optim.SGD(torch_policy.parameters(), lr=0.1)

    m = gd.Categorical(probs=F.softmax(policy(gn.from_numpy(state)), dim=-1))
    action = m.sample()
    assert action.shape == (5,) and action.dtype == gn.int64
    loss = (-m.log_prob(action) * gn.from_numpy(returns)).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()

    torch_m = td.Categorical(probs=torch.softmax(torch_policy(torch.from_numpy(state)), dim=-1))
    torch_loss = (-torch_m.log_prob(torch.from_numpy(values(action).copy()))
                  * torch.from_numpy(returns)).sum()
    torch_opt.zero_grad()
    torch_loss.backward()
    torch_opt.step()
    np.testing.assert_allclose(float(loss), float(torch_loss.detach()), rtol=1e-12)
    np.testing.assert_allclose(values(policy.weight), values(torch_policy.weight), atol=1e-12)
    np.testing.assert_allclose(values(policy.bias), values(torch_policy.bias), atol=1e-12)


def test_vae_step_matches_torch(monkeypatch):
    """z = Normal(mu, std).rsample(); loss = reconstruction + KL(q(z|x) || N(0, 1))."""
    torch.manual_seed(1)
    layers = [torch.nn.Linear(6, 4).double(), torch.nn.Linear(6, 4).double(),
              torch.nn.Linear(4, 6).double()]
    ours = [gn.nn.Linear(6, 4).to(gn.float64), gn.nn.Linear(6, 4).to(gn.float64),
            gn.nn.Linear(4, 6).to(gn.float64)]
    for g, t in zip(ours, layers):
        _copy_linear(g, t)
    x = RNG.uniform(size=(3, 6))
    noise = RNG.standard_normal((3, 4))
    monkeypatch.setattr(gd.normal, "generator", lambda: _FixedNoise(normal=noise))
    monkeypatch.setattr(td.normal, "_standard_normal",
                        lambda shape, dtype, device: torch.from_numpy(noise.copy()))

    def step(lib, dist, functional, encode_mu, encode_logvar, decode, optimizer_class, params):
        inputs = lib.from_numpy(x.copy())
        mu, logvar = encode_mu(inputs), encode_logvar(inputs)
        q = dist.Normal(mu, (0.5 * logvar).exp())
        z = q.rsample()
        recon = functional.binary_cross_entropy_with_logits(decode(z), inputs, reduction="sum")
        kl = dist.kl_divergence(q, dist.Normal(lib.zeros_like(mu), lib.ones_like(mu))).sum()
        loss = recon + kl
        optimizer = optimizer_class(params, lr=0.01)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    loss = step(gn, gd, F, *ours, gn.optim.Adam, [p for m in ours for p in m.parameters()])
    torch_loss = step(torch, td, torch.nn.functional, *layers, torch.optim.Adam,
                      [p for m in layers for p in m.parameters()])
    np.testing.assert_allclose(loss, torch_loss, rtol=1e-12)
    for g, t in zip(ours, layers):
        np.testing.assert_allclose(values(g.weight), values(t.weight), atol=1e-12)
        np.testing.assert_allclose(values(g.bias), values(t.bias), atol=1e-12)


# ----- bad inputs ---------------------------------------------------------------------------------

STANDARD = gd.Normal(gn.zeros(2), gn.ones(2))
COIN = gd.Categorical(probs=gn.tensor([0.5, 0.5]))


def _unregistered():
    return gd.kl_divergence(STANDARD, COIN)


CASES = [
    BadInput("normal negative scale", lambda: gd.Normal(gn.tensor([0.0, 1.0]),
                                                        gn.tensor([1.0, -1.0])),
             ValueError, ["Expected parameter scale", "Normal(loc: (2,), scale: (2,))",
                          "GreaterThan(lower_bound=0.0)", "-1."]),
    BadInput("normal nan loc", lambda: gd.Normal(gn.tensor([0.0, float("nan")]), 1.0),
             ValueError, ["Expected parameter loc", "Real()", "nan"]),
    BadInput("normal shapes do not broadcast", lambda: gd.Normal(gn.zeros(2), gn.ones(3)),
             RuntimeError, ["Normal", "(2,)", "(3,)"]),
    BadInput("normal string parameter", lambda: gd.Normal("0", 1.0), ValueError,
             ["Normal", "numbers.Number", "str"]),
    BadInput("log_prob of a number", lambda: STANDARD.log_prob(1.0), ValueError,
             ["value argument to log_prob must be a Tensor", "float"]),
    BadInput("log_prob shape", lambda: STANDARD.log_prob(gn.zeros(3)), ValueError,
             ["not broadcastable with batch_shape+event_shape", "(3,)", "(2,)"]),
    BadInput("log_prob nan value", lambda: STANDARD.log_prob(gn.tensor([0.0, float("nan")])),
             ValueError, ["within the support", "Real()", "nan"]),
    BadInput("sample_shape int", lambda: STANDARD.sample(3), TypeError,
             ["Normal.sample", "sample_shape", "(3,)"]),
    BadInput("categorical neither", lambda: gd.Categorical(), ValueError,
             ["Either `probs` or `logits` must be specified, but not both"]),
    BadInput("categorical both", lambda: gd.Categorical(gn.ones(2), gn.zeros(2)), ValueError,
             ["Either `probs` or `logits` must be specified, but not both"]),
    BadInput("categorical 0-d probs", lambda: gd.Categorical(gn.tensor(0.5)), ValueError,
             ["`probs` parameter must be at least one-dimensional", "()"]),
    BadInput("categorical 0-d logits", lambda: gd.Categorical(logits=gn.tensor(0.5)), ValueError,
             ["`logits` parameter must be at least one-dimensional"]),
    BadInput("categorical list probs", lambda: gd.Categorical([0.5, 0.5]), TypeError,
             ["Categorical", "Tensor", "list"]),
    BadInput("categorical negative probs", lambda: gd.Categorical(gn.tensor([-0.5, 1.5])),
             ValueError, ["Expected parameter probs", "Simplex()", "-0.5"]),
    BadInput("categorical nan logits",
             lambda: gd.Categorical(logits=gn.tensor([0.0, float("nan")])),
             ValueError, ["Expected parameter logits", "nan"]),
    BadInput("categorical class out of range", lambda: COIN.log_prob(gn.tensor(2)), ValueError,
             ["within the support", "IntegerInterval(lower_bound=0, upper_bound=1)", "2"]),
    BadInput("categorical fractional class", lambda: COIN.log_prob(gn.tensor(0.5)), ValueError,
             ["within the support", "IntegerInterval", "0.5"]),
    BadInput("categorical rsample", lambda: COIN.rsample(), NotImplementedError,
             ["Categorical", "rsample", "reparameterizable"]),
    BadInput("bernoulli probs above 1", lambda: gd.Bernoulli(gn.tensor(1.5)), ValueError,
             ["Expected parameter probs", "Bernoulli(probs: 1.5)",
              "Interval(lower_bound=0.0, upper_bound=1.0)"]),
    BadInput("bernoulli fractional value",
             lambda: gd.Bernoulli(gn.tensor(0.5)).log_prob(gn.tensor(0.5)), ValueError,
             ["within the support", "Boolean()", "0.5"]),
    BadInput("uniform low above high", lambda: gd.Uniform(1.0, 0.0), ValueError,
             ["Expected parameter low", "Uniform(low: 1.0, high: 0.0)",
              "LessThan(upper_bound=0.0)"]),
    BadInput("uniform value outside", lambda: gd.Uniform(0.0, 1.0).log_prob(gn.tensor(2.0)),
             ValueError, ["within the support", "Interval(lower_bound=0.0, upper_bound=1.0)",
                          "2."]),
    BadInput("independent too many dims", lambda: gd.Independent(STANDARD, 2), ValueError,
             ["reinterpreted_batch_ndims <= len(base_distribution.batch_shape)", "2 vs 1"]),
    BadInput("independent of a tensor", lambda: gd.Independent(gn.zeros(2), 1), TypeError,
             ["Independent", "Distribution", "Tensor"]),
    BadInput("kl unregistered", _unregistered, NotImplementedError,
             ["No KL(p || q) is implemented for p type Normal and q type Categorical"]),
    BadInput("mvn not lower triangular",
             lambda: gd.MultivariateNormal(gn.zeros(2), scale_tril=gn.ones(2, 2)), ValueError,
             ["Expected parameter scale_tril", "LowerCholesky()"]),
    BadInput("mvn covariance_matrix", lambda: gd.MultivariateNormal(gn.zeros(2),
                                                                   covariance_matrix=gn.eye(2)),
             NotImplementedError, ["MultivariateNormal", "only scale_tril", "scale_tril=L"]),
    BadInput("mvn two matrices", lambda: gd.MultivariateNormal(
        gn.zeros(2), covariance_matrix=gn.eye(2), scale_tril=gn.eye(2)), ValueError,
             ["Exactly one of covariance_matrix or precision_matrix or scale_tril"]),
    BadInput("mvn sizes", lambda: gd.MultivariateNormal(gn.zeros(2), scale_tril=gn.eye(3)),
             ValueError, ["MultivariateNormal", "(3, 3)", "(2, 2)"]),
    BadInput("mvn 0-d loc", lambda: gd.MultivariateNormal(gn.tensor(0.0), scale_tril=gn.eye(1)),
             ValueError, ["loc must be at least one-dimensional"]),
    BadInput("validate_args default not bool",
             lambda: gd.Distribution.set_default_validate_args("yes"), ValueError,
             ["set_default_validate_args", "'yes'"]),
]

test_bad_input = bad_input_test(CASES)
