"""Optimizers against torch.optim: parameter trajectories, state-dict round trips, errors.

Each case trains the MLP of ``optim_problem`` for 20 steps from the same weights with ganglion
and with PyTorch, and compares the parameters (float32, so to float32 tolerance).
"""
import json

import numpy as np
import pytest
import torch
from optim_problem import (FIRST_LAYER, INITIAL, SECOND_LAYER, STEPS, case_id, factory,
                           ganglion_params, grouped, mlp_loss, train_ganglion, train_torch,
                           values)

import ganglion as gn
from ganglion.nn import Parameter

# (optimizer name, options, parameter groups as (slice, options) or None)
CASES = [
    ("SGD", dict(lr=0.1), None),
    ("SGD", dict(lr=0.05, momentum=0.9), None),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3), None),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), None),
    ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1), None),
    ("SGD", dict(lr=0.01, momentum=0.9, maximize=True), None),
    ("SGD", dict(lr=0.05), [(FIRST_LAYER, dict(lr=0.1, momentum=0.9, nesterov=True)),
                            (SECOND_LAYER, dict(weight_decay=0.2))]),
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.01, amsgrad=True), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1), None),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6), None),
    ("Adam", dict(lr=0.01, maximize=True), None),
    ("Adam", dict(lr=0.01), [(FIRST_LAYER, dict(lr=0.03, amsgrad=True)),
                             (SECOND_LAYER, dict(weight_decay=0.05))]),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.2, amsgrad=True), None),
    ("AdamW", dict(lr=0.01), [(FIRST_LAYER, dict(weight_decay=0.0)),
                              (SECOND_LAYER, dict(lr=0.02, weight_decay=0.3))]),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.01, momentum=0.9), None),
    ("RMSprop", dict(lr=0.01, centered=True), None),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.1), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, maximize=True), None),
    ("RMSprop", dict(lr=0.01), [(FIRST_LAYER, dict(centered=True)),
                                (SECOND_LAYER, dict(lr=0.002, momentum=0.8))]),
    ("Adagrad", dict(lr=0.1), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05), None),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, weight_decay=0.05), None),
    ("Adagrad", dict(lr=0.1, eps=1e-5, maximize=True), None),
    ("Adagrad", dict(lr=0.1), [(FIRST_LAYER, dict(lr_decay=0.1)), (SECOND_LAYER, dict(lr=0.3))]),
    ("Adadelta", dict(), None),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-5), None),
    ("Adadelta", dict(weight_decay=0.1, maximize=True), None),
    ("Adadelta", dict(), [(FIRST_LAYER, dict(rho=0.95)), (SECOND_LAYER, dict(lr=2.0))]),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_trajectory_matches_torch(case):
    name, options, groups = case
    params = ganglion_params()
    train_ganglion(factory(gn.optim, *case), params, STEPS)
    expected = train_torch(factory(torch.optim, *case), STEPS)
    for got, want, start in zip(values(params), expected, INITIAL):
        assert not np.allclose(want, start), "the problem must move the parameters"
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)


def _through_json(state_dict):
    """What a checkpoint keeps: arrays apart, everything else through JSON."""
    arrays = {}
    state = {}
    for index, entries in state_dict["state"].items():
        state[index] = {}
        for name, tensor in entries.items():
            key = f"{index}.{name}"
            arrays[key] = tensor.detach().numpy().copy()
            state[index][name] = key
    text = json.dumps({"state": state, "param_groups": state_dict["param_groups"]})
    loaded = json.loads(text)
    loaded["state"] = {index: {name: gn.tensor(arrays[key]) for name, key in entries.items()}
                       for index, entries in loaded["state"].items()}
    return loaded


ROUND_TRIP_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2), None),
    ("Adam", dict(lr=0.01), [(FIRST_LAYER, dict(amsgrad=True)), (SECOND_LAYER, dict(lr=0.02))]),
    ("AdamW", dict(lr=0.01, weight_decay=0.1), None),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5), None),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1), None),
    ("Adadelta", dict(lr=0.5), None),
]


@pytest.mark.parametrize("case", ROUND_TRIP_CASES, ids=case_id)
def test_state_dict_round_trip_continues_the_run(case):
    make = factory(gn.optim, *case)
    uninterrupted = ganglion_params()
    train_ganglion(make, uninterrupted, STEPS)

    first_half = ganglion_params()
    optimizer = train_ganglion(make, first_half, STEPS // 2)
    saved = _through_json(optimizer.state_dict())
    resumed = [Parameter(w) for w in values(first_half)]
    fresh = make(resumed)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]
    train_ganglion(make, resumed, STEPS - STEPS // 2, optimizer=fresh)
    for got, want in zip(values(resumed), values(uninterrupted)):
        np.testing.assert_array_equal(got, want)


def test_state_dict_has_pytorchs_structure():
    params = ganglion_params()
    optimizer = train_ganglion(lambda p: gn.optim.Adam(grouped(p, [(FIRST_LAYER, {}),
                                                                  (SECOND_LAYER, {"lr": 0.1})])),
                               params, 2)
    state_dict = optimizer.state_dict()
    assert [g["params"] for g in state_dict["param_groups"]] == [[0, 1], [2, 3]]
    assert state_dict["param_groups"][1]["lr"] == 0.1
    assert sorted(state_dict["state"]) == [0, 1, 2, 3]
    entry = state_dict["state"][2]
    assert sorted(entry) == ["exp_avg", "exp_avg_sq", "step"]
    assert float(entry["step"]) == 2.0 and entry["exp_avg"].shape == (8, 3)

    reference = torch.optim.Adam([{"params": [torch.zeros(1)]}]).state_dict()["param_groups"][0]
    torch_kernel_choices = {"capturable", "differentiable", "foreach", "fused"}
    assert set(state_dict["param_groups"][0]) == set(reference) - torch_kernel_choices


def test_load_state_dict_checks_groups_and_shapes():
    params = ganglion_params()
    optimizer = train_ganglion(lambda p: gn.optim.Adam(p, lr=0.01), params, 1)
    saved = optimizer.state_dict()
    two_groups = gn.optim.Adam(grouped(ganglion_params(), [(FIRST_LAYER, {}), (SECOND_LAYER, {})]))
    with pytest.raises(ValueError, match="parameter groups"):
        two_groups.load_state_dict(saved)
    swapped = gn.optim.Adam(ganglion_params()[::-1])
    with pytest.raises(ValueError, match="shape"):
        swapped.load_state_dict(saved)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_negative_learning_rate_is_refused(name):
    with pytest.raises(ValueError, match=r"\blr\b"):
        getattr(gn.optim, name)(ganglion_params(), lr=-0.1)


@pytest.mark.parametrize("name, options, option", [
    ("SGD", dict(momentum=-0.5), "momentum"),
    ("SGD", dict(nesterov=True), "nesterov"),
    ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    ("SGD", dict(weight_decay=-1.0), "weight_decay"),
    ("Adam", dict(betas=(1.0, 0.999)), r"betas\[0\]"),
    ("AdamW", dict(betas=(0.9, -0.1)), r"betas\[1\]"),
    ("Adam", dict(eps=-1e-8), "eps"),
    ("RMSprop", dict(momentum=-0.1), "momentum"),
    ("RMSprop", dict(alpha=-0.9), "alpha"),
    ("Adagrad", dict(lr_decay=-0.1), "lr_decay"),
    ("Adagrad", dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    ("Adadelta", dict(rho=1.5), "rho"),
])
def test_invalid_option_is_named(name, options, option):
    with pytest.raises(ValueError, match=option):
        getattr(gn.optim, name)(ganglion_params(), **options)


def test_invalid_option_in_an_added_group_is_named():
    params = ganglion_params()
    optimizer = gn.optim.SGD(params[:2], lr=0.1)
    with pytest.raises(ValueError, match="momentum"):
        optimizer.add_param_group({"params": params[2:], "momentum": -1.0})


def test_parameter_in_two_groups_is_refused():
    params = ganglion_params()
    with pytest.raises(ValueError, match="more than one parameter group"):
        gn.optim.Adam([{"params": params[:3]}, {"params": params[2:]}])
    optimizer = gn.optim.Adam(params[:2])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optimizer.add_param_group({"params": [params[0]]})


def test_bad_parameter_lists_are_refused():
    with pytest.raises(ValueError, match="empty parameter list"):
        gn.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="Tensors"):
        gn.optim.SGD([np.zeros(3)], lr=0.1)


def test_parameter_without_grad_is_skipped():
    params = ganglion_params()
    frozen = Parameter(np.ones(3, np.float32), requires_grad=False)
    optimizer = gn.optim.Adam(params + [frozen], lr=0.1)
    train_ganglion(lambda p: optimizer, params, 3, optimizer=optimizer)
    np.testing.assert_array_equal(frozen.detach().numpy(), np.ones(3, np.float32))
    assert frozen not in optimizer.state
    assert not np.allclose(params[0].detach().numpy(), INITIAL[0])


def test_zero_grad():
    params = ganglion_params()
    optimizer = gn.optim.SGD(params, lr=0.1)
    train_ganglion(lambda p: optimizer, params, 1, optimizer=optimizer)
    grad = params[0].grad
    optimizer.zero_grad(set_to_none=False)
    assert params[0].grad is grad and not grad.numpy().any()
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_step_runs_the_closure_and_returns_its_loss():
    params = ganglion_params()
    optimizer = gn.optim.SGD(params, lr=0.1)
    x, y = gn.tensor(np.ones((2, 5), np.float32)), gn.tensor(np.zeros((2, 3), np.float32))
    def closure():
        optimizer.zero_grad()
        loss = mlp_loss(params, x, y)
        loss.backward()
        return loss

    first = float(optimizer.step(closure))
    assert float(optimizer.step(closure)) < first


def test_step_keeps_autograd_version_checks_correct():
    params = ganglion_params()
    optimizer = gn.optim.SGD(params, lr=0.1)
    x = gn.tensor(np.ones((2, 5), np.float32))
    out = (x @ params[0]).tanh().sum()
    params[0].grad = gn.tensor(np.ones((5, 8), np.float32))
    optimizer.step()
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.backward()


ADAM_OPTIONS = [dict(), dict(amsgrad=True), dict(weight_decay=0.1), dict(maximize=True),
                dict(weight_decay=0.2, amsgrad=True, maximize=True)]


@pytest.mark.parametrize("options", ADAM_OPTIONS, ids=lambda o: ",".join(o) or "default")
@pytest.mark.parametrize("kind", ["Adam", "AdamW"])
@pytest.mark.parametrize("size,dtype", [(3000, np.float64), (1 << 20, np.float32)])
def test_adam_compiled_loop_equals_the_numpy_form(monkeypatch, options, kind, size, dtype):
    """Eager Adam steps run as one compiled loop (large arrays split over the cores) when
    numba is there; three steps of it must give the NumPy form's parameters and moments."""
    from ganglion.backend import fused_loops, nn_loops
    from ganglion.optim import adam
    if not fused_loops.available():
        pytest.skip("the compiled loop needs numba: pip install 'ganglion[jit]'")
    calls = []
    real_loop = nn_loops.adam
    monkeypatch.setattr(nn_loops, "adam",
                        lambda *args, **kw: (calls.append(1), real_loop(*args, **kw)))
    rng = np.random.default_rng(6)
    start = rng.standard_normal(size).astype(dtype)
    grads = [rng.standard_normal(size).astype(dtype) for _ in range(3)]
    results = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(adam, "_fuses", lambda *args: False)
        param = Parameter(gn.from_numpy(start.copy()))
        optimizer = getattr(gn.optim, kind)([param], lr=0.01, **options)
        for g in grads:
            param.grad = gn.from_numpy(g.copy())
            optimizer.step()
        state = optimizer.state[param]
        moments = [state[k].numpy() for k in sorted(state) if k != "step"]
        results.append([param.detach().numpy()] + moments)
    assert len(calls) == len(grads)     # the first run's steps took the compiled loop
    tolerance = 1e-6 if dtype == np.float32 else 1e-13
    for fused_value, plain_value in zip(*results):
        np.testing.assert_allclose(fused_value, plain_value, rtol=tolerance, atol=tolerance)


def test_adam_compiled_loop_takes_a_transposed_gradient(monkeypatch):
    """A weight's gradient is often a transposed product (strided); the compiled step reads a
    contiguous copy of it and must match the NumPy form."""
    from ganglion.backend import fused_loops, nn_loops
    from ganglion.optim import adam
    if not fused_loops.available():
        pytest.skip("the compiled loop needs numba: pip install 'ganglion[jit]'")
    calls = []
    real_loop = nn_loops.adam
    monkeypatch.setattr(nn_loops, "adam",
                        lambda *args, **kw: (calls.append(1), real_loop(*args, **kw)))
    rng = np.random.default_rng(7)
    start = rng.standard_normal((30, 20)).astype(np.float32)
    grad = rng.standard_normal((20, 30)).astype(np.float32).T
    assert not grad.flags.c_contiguous
    results = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(adam, "_fuses", lambda *args: False)
        param = Parameter(gn.from_numpy(start.copy()))
        optimizer = gn.optim.Adam([param], lr=0.01)
        param.grad = gn.from_numpy(grad)
        optimizer.step()
        results.append(param.detach().numpy())
    assert calls == [1]     # the first run took the compiled loop, the second did not
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)
    assert not np.array_equal(results[0], start)
