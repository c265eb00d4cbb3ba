"""A compiled Adam train step (arrays large enough for the schedule's buffer reuse and in-place
updates) gives the same parameters as the same step run eagerly."""
import numpy as np

import ganglion as gn

SIZES = (48, 64, 10)
LR, BETA1, BETA2, EPS = 1e-2, 0.9, 0.999, 1e-8


def _initial(rng):
    return [rng.standard_normal((SIZES[0], SIZES[1])) * 0.2, np.zeros(SIZES[1]),
            rng.standard_normal((SIZES[1], SIZES[2])) * 0.2, np.zeros(SIZES[2])]


def _loss(x, y, params):
    h = gn.relu(x @ params[0] + params[1])
    logits = h @ params[2] + params[3]
    return -gn.log_softmax(logits, 1).gather(1, y).mean()


def test_compiled_adam_step_matches_eager():
    rng = np.random.default_rng(0)
    initial = _initial(rng)
    data = rng.standard_normal((128, SIZES[0]))
    labels = rng.integers(0, SIZES[2], (128, 1))

    params = [gn.shared(w, name=f"p{k}") for k, w in enumerate(initial)]
    moments = [(gn.shared(np.zeros_like(w)), gn.shared(np.zeros_like(w))) for w in initial]
    t = gn.shared(0.0, name="t")
    x = gn.placeholder(gn.float64, (128, SIZES[0]), name="x")
    y = gn.placeholder(gn.int64, (128, 1), name="y")
    loss = _loss(x, y, params)
    grads = gn.grad(loss, params)
    t_new = t + 1
    scale = LR * gn.sqrt(1 - BETA2 ** t_new) / (1 - BETA1 ** t_new)
    updates = [(t, t_new)]
    for p, g, (m, v) in zip(params, grads, moments):
        m_new = BETA1 * m + (1 - BETA1) * g
        v_new = BETA2 * v + (1 - BETA2) * g * g
        updates += [(m, m_new), (v, v_new), (p, p - scale * m_new / (gn.sqrt(v_new) + EPS))]
    train = gn.function([x, y], loss, updates=updates)
    assert any(i.in_place is not None for i in train.schedule.instructions)
    storage_ids = [id(p.get_value(borrow=True)) for p in params]

    eager = [gn.tensor(w, dtype=gn.float64, requires_grad=True) for w in initial]
    state = [(np.zeros_like(w), np.zeros_like(w)) for w in initial]
    xe, ye = gn.tensor(data, dtype=gn.float64), gn.tensor(labels)
    for step in range(1, 6):
        compiled_loss = train(data, labels)
        eager_loss = _loss(xe, ye, eager)
        eager_loss.backward()
        for p, (m, v) in zip(eager, state):
            g = p.grad.numpy()
            m[...] = BETA1 * m + (1 - BETA1) * g
            v[...] = BETA2 * v + (1 - BETA2) * g * g
            p.data -= gn.from_numpy(LR * np.sqrt(1 - BETA2 ** step) / (1 - BETA1 ** step) * m
                                    / (np.sqrt(v) + EPS))
            p.grad = None
        np.testing.assert_allclose(compiled_loss, eager_loss.item(), rtol=1e-12)
    for p, e in zip(params, eager):
        np.testing.assert_allclose(p.get_value(), e.detach().numpy(), rtol=1e-10, atol=1e-12)
    # the big parameters were updated in their own storage, as an eager optimizer does
    assert id(params[0].get_value(borrow=True)) == storage_ids[0]
