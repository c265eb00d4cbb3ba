"""``opt.updates(cost)``: compiled training with ``function(..., updates=)`` follows the same
trajectory as eager ``step()``, and shares the optimizer's state with it."""
import numpy as np
import pytest
from optim_problem import (FIRST_LAYER, SECOND_LAYER, STEPS, X, Y, case_id, factory,
                           ganglion_params, mlp_loss, train_ganglion, values)

import ganglion as gn
from ganglion.nn import Parameter

pytestmark = pytest.mark.skipif(not hasattr(gn, "function"),
                                reason="ganglion.function (the symbolic package) is not available")

CASES = [
    ("SGD", dict(lr=0.05), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1), None),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, maximize=True), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1), None),
    ("Adam", dict(lr=0.01), [(FIRST_LAYER, dict(amsgrad=True)), (SECOND_LAYER, dict(lr=0.03))]),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, maximize=True), None),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, weight_decay=0.1), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1), None),
    ("Adadelta", dict(lr=0.5, weight_decay=0.1), None),
]


def compile_training(optimizer, params):
    x, y = gn.fmatrix("x"), gn.fmatrix("y")
    cost = mlp_loss(params, x, y)
    return gn.function([x, y], cost, updates=optimizer.updates(cost))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_compiled_training_follows_the_eager_trajectory(case):
    eager = ganglion_params()
    train_ganglion(factory(gn.optim, *case), eager, STEPS)
    compiled = ganglion_params()
    train = compile_training(factory(gn.optim, *case)(compiled), compiled)
    for _ in range(STEPS):
        train(X, Y)
    for got, want in zip(values(compiled), values(eager)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[6]], ids=case_id)
def test_eager_then_compiled_steps_share_the_state(case):
    make = factory(gn.optim, *case)
    reference = ganglion_params()
    reference_optimizer = train_ganglion(make, reference, STEPS)

    params = ganglion_params()
    optimizer = train_ganglion(make, params, STEPS // 2)
    train = compile_training(optimizer, params)
    for _ in range(STEPS - STEPS // 2):
        train(X, Y)
    for got, want in zip(values(params), values(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)
    got_state = optimizer.state_dict()["state"]
    want_state = reference_optimizer.state_dict()["state"]
    assert sorted(got_state) == sorted(want_state)
    for index, entries in want_state.items():
        assert sorted(got_state[index]) == sorted(entries)
        for name, tensor in entries.items():
            np.testing.assert_allclose(got_state[index][name].numpy(), tensor.numpy(), rtol=1e-4,
                                       atol=2e-6)

    # ... and eager steps continue from the state the compiled function left.
    train_ganglion(make, params, 2, optimizer=optimizer)
    train_ganglion(make, reference, 2, optimizer=reference_optimizer)
    for got, want in zip(values(params), values(reference)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)


def test_step_count_is_a_state_variable_updated_by_the_pairs():
    params = ganglion_params()
    optimizer = gn.optim.Adam(params, lr=0.01)
    x, y = gn.fmatrix("x"), gn.fmatrix("y")
    cost = mlp_loss(params, x, y)
    pairs = optimizer.updates(cost)
    targets = {id(variable) for variable, _ in pairs}
    for p in params:
        assert id(p) in targets
        for name in ("step", "exp_avg", "exp_avg_sq"):
            assert id(optimizer.state[p][name]) in targets
    assert len(pairs) == 4 * len(params)
    train = gn.function([x, y], cost, updates=pairs)
    for _ in range(3):
        train(X, Y)
    assert float(optimizer.state_dict()["state"][0]["step"]) == 3.0


def test_parameter_without_grad_gets_no_update():
    params = ganglion_params()
    frozen = Parameter(np.ones((3,), np.float32), requires_grad=False)
    optimizer = gn.optim.SGD(params + [frozen], lr=0.1, momentum=0.9)
    x, y = gn.fmatrix("x"), gn.fmatrix("y")
    cost = mlp_loss(params[:3] + [params[3] + frozen], x, y)
    targets = [variable for variable, _ in optimizer.updates(cost)]
    assert all(t is not frozen for t in targets)
    assert sum(1 for t in targets if any(t is p for p in params)) == len(params)


def test_updates_needs_a_symbolic_cost():
    params = ganglion_params()
    optimizer = gn.optim.Adam(params)
    eager_cost = mlp_loss(params, gn.tensor(X), gn.tensor(Y))
    with pytest.raises(TypeError, match="symbolic"):
        optimizer.updates(eager_cost)


def test_shared_variables_train_theano_style():
    w = gn.shared(np.zeros((5, 3), np.float32), name="w")
    x, y = gn.fmatrix("x"), gn.fmatrix("y")
    cost = ((x @ w - y) ** 2).mean()
    optimizer = gn.optim.Adam([w], lr=0.05)
    train = gn.function([x, y], cost, updates=optimizer.updates(cost))
    losses = [float(train(X, Y)) for _ in range(30)]
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_jit_traces_a_train_step_that_calls_optimizer_step(name):
    """jit(step) with loss.backward() and opt.step() trains exactly like the eager step."""
    from ganglion import nn

    def run(compiled):
        gn.manual_seed(0)
        model = nn.Linear(4, 2)
        optimizer = getattr(gn.optim, name)(model.parameters(), lr=0.1)
        x, y = gn.randn(8, 4), gn.randint(0, 2, (8,))

        def step(x, y):
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss
        run_step = gn.jit(step) if compiled else step
        losses = [float(run_step(x, y)) for _ in range(5)]
        return losses, model.weight.detach().numpy().copy()
    eager_losses, eager_weight = run(False)
    compiled_losses, compiled_weight = run(True)
    np.testing.assert_allclose(compiled_losses, eager_losses, rtol=1e-5)
    np.testing.assert_allclose(compiled_weight, eager_weight, atol=1e-6)
