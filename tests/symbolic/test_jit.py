"""``jit``: tracing eager-style code (a forward, a whole train step with ``loss.backward()`` and
in-place parameter updates) into a compiled function cached per input signature."""
import numpy as np
import pytest

import ganglion as gn


def _params(seed=0):
    rng = np.random.default_rng(seed)
    w = gn.tensor(rng.standard_normal((4, 3)), dtype=gn.float64, requires_grad=True)
    b = gn.tensor(rng.standard_normal(3), dtype=gn.float64, requires_grad=True)
    return w, b


def _data(n=8, seed=1):
    rng = np.random.default_rng(seed)
    return (gn.tensor(rng.standard_normal((n, 4)), dtype=gn.float64),
            gn.tensor(rng.standard_normal((n, 3)), dtype=gn.float64))


def test_jit_forward_matches_eager_and_caches_per_signature():
    w, b = _params()

    @gn.jit
    def forward(x):
        return gn.tanh(x @ w + b).sum(1)

    x, _ = _data()
    out = forward(x)
    assert isinstance(out, gn.Tensor)
    np.testing.assert_allclose(out.numpy(), gn.tanh(x @ w + b).sum(1).detach().numpy(), rtol=1e-14)
    forward(_data()[0])
    assert len(forward.cache) == 1
    forward(_data(n=5)[0])
    assert len(forward.cache) == 2


def test_jit_reads_parameters_at_call_time():
    w, b = _params()
    forward = gn.jit(lambda x: x @ w + b)
    x, _ = _data()
    before = forward(x).numpy()
    with gn.no_grad():
        b += 1
    np.testing.assert_allclose(forward(x).numpy(), before + 1)


def _sgd_step(w, b, x, y):
    loss = ((x @ w + b - y) ** 2).mean()
    loss.backward()
    with gn.no_grad():
        w -= 0.1 * w.grad
        b.sub_(b.grad, alpha=0.1)
    w.grad = None
    b.grad = None
    return loss


def test_jit_train_step_with_backward_and_in_place_updates_matches_eager():
    w, b = _params()
    w_eager, b_eager = _params()
    step = gn.jit(lambda x, y: _sgd_step(w, b, x, y))
    x, y = _data()
    for _ in range(5):
        loss = step(x, y)
        eager_loss = _sgd_step(w_eager, b_eager, x, y)
        assert loss.item() == pytest.approx(eager_loss.item(), rel=1e-14)
    np.testing.assert_allclose(w.detach().numpy(), w_eager.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(b.detach().numpy(), b_eager.detach().numpy(), rtol=1e-13)
    assert len(step.cache) == 1


def test_tracing_restores_grad_and_values():
    w, b = _params()
    w.grad = gn.ones(4, 3, dtype=gn.float64)
    kept = w.grad
    before = w.detach().numpy().copy()

    @gn.jit
    def step(x, y):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with gn.no_grad():
            w.sub_(w.grad * 0.1)
        return loss

    x, y = _data()
    step(x, y)
    assert w.grad is kept and b.grad is None
    assert not w.is_symbolic and w.requires_grad and w.is_leaf
    # the compiled step read the existing .grad (eager semantics: backward accumulates into it)
    expected_grad = 2 * x.numpy().T @ ((x.numpy() @ before + b.detach().numpy() - y.numpy()) / 24)
    np.testing.assert_allclose(w.detach().numpy(), before - 0.1 * (1 + expected_grad), rtol=1e-12)


def test_jit_adam_step_with_in_place_buffers_matches_eager():
    def make():
        w, b = _params()
        state = [(gn.zeros_like(p), gn.zeros_like(p)) for p in (w, b)]
        return w, b, state

    def adam(params, state, x, y, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
        w, b = params
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with gn.no_grad():
            for p, (m, v) in zip(params, state):
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).add_(p.grad * p.grad * (1 - b2))
                p.sub_(m / (v.sqrt() + eps) * lr)
                p.grad = None
        return loss

    w, b, state = make()
    we, be, state_e = make()
    step = gn.jit(lambda x, y: adam((w, b), state, x, y))
    x, y = _data()
    for _ in range(4):
        step(x, y)
        adam((we, be), state_e, x, y)
    np.testing.assert_allclose(w.detach().numpy(), we.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(state[0][1].numpy(), state_e[0][1].numpy(), rtol=1e-12)


def test_jit_of_a_callable_object_and_non_tensor_arguments():
    class Affine:
        def __init__(self):
            self.w, self.b = _params()

        def __call__(self, x, scale):
            return (x @ self.w + self.b) * scale

    model = Affine()
    forward = gn.jit(model)
    x, _ = _data()
    np.testing.assert_allclose(forward(x, 2.0).numpy(), model(x, 2.0).detach().numpy())
    np.testing.assert_allclose(forward(x, 3.0).numpy(), model(x, 3.0).detach().numpy())
    assert len(forward.cache) == 2


def test_jit_rejects_non_tensor_results():
    with pytest.raises(TypeError, match="must return tensors"):
        gn.jit(lambda x: "text")(gn.ones(2))
