"""Learning-rate schedules against torch.optim.lr_scheduler: the sequences of learning rates
(and cycled momenta) over 30 epochs, recursive ``step()`` and closed-form ``step(epoch)``, and
state-dict round trips through JSON."""
import json
import math
import warnings

import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.nn import Parameter
from ganglion.optim import lr_scheduler as gn_schedulers

EPOCHS = 30
LRS = (0.1, 0.02)


def make_optimizer(module, kind="SGD"):
    """Two parameter groups with different learning rates."""
    if module is torch:
        params = [torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))]
    else:
        params = [Parameter(np.zeros(2, np.float32)), Parameter(np.zeros(3, np.float32))]
    groups = [{"params": [params[0]], "lr": LRS[0]}, {"params": [params[1]], "lr": LRS[1]}]
    if kind == "SGD":
        return module.optim.SGD(groups, lr=0.1, momentum=0.9)
    return module.optim.Adam(groups, lr=0.1)


def _lambda_halving(epoch):
    return 0.5 ** (epoch // 4)


def _lambda_warmup(epoch):
    return min(1.0, (epoch + 1) / 6)


# (scheduler name, options, optimizer kind)
CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5), "SGD"),
    ("StepLR", dict(step_size=1, gamma=0.9), "SGD"),
    ("MultiStepLR", dict(milestones=[5, 12, 12, 20], gamma=0.3), "SGD"),
    ("ExponentialLR", dict(gamma=0.9), "SGD"),
    ("CosineAnnealingLR", dict(T_max=10, eta_min=0.001), "SGD"),
    ("CosineAnnealingLR", dict(T_max=EPOCHS), "SGD"),
    ("LinearLR", dict(start_factor=0.25, total_iters=8), "SGD"),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=20), "SGD"),
    ("LinearLR", dict(), "SGD"),
    ("LambdaLR", dict(lr_lambda=_lambda_halving), "SGD"),
    ("LambdaLR", dict(lr_lambda=[_lambda_halving, _lambda_warmup]), "SGD"),
    ("OneCycleLR", dict(max_lr=[0.1, 0.2], total_steps=EPOCHS + 1), "SGD"),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=EPOCHS + 1, anneal_strategy="linear"), "SGD"),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=EPOCHS + 1, three_phase=True, pct_start=0.25),
     "SGD"),
    ("OneCycleLR", dict(max_lr=0.01, epochs=8, steps_per_epoch=4, div_factor=10.0,
                        final_div_factor=100.0), "Adam"),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=EPOCHS + 1, cycle_momentum=False), "SGD"),
]


def _label(value):
    if isinstance(value, list):
        return "[" + ",".join(_label(v) for v in value) + "]"
    return getattr(value, "__name__", str(value))


def case_id(case):
    name, options, kind = case
    text = ",".join(f"{k}={_label(v)}" for k, v in options.items())
    return f"{name}({text}){'-' + kind if kind != 'SGD' else ''}"


def momenta(optimizer):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in optimizer.param_groups]


def run(module, case, epochs=EPOCHS, closed_form=False):
    name, options, kind = case
    optimizer = make_optimizer(module, kind)
    scheduler_module = torch.optim.lr_scheduler if module is torch else gn_schedulers
    scheduler = getattr(scheduler_module, name)(optimizer, **options)
    lrs, moms = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation of step(epoch)
        for epoch in range(epochs):
            lrs.append(list(scheduler.get_last_lr()))
            moms.append(momenta(optimizer))
            optimizer.step()
            scheduler.step(epoch + 1) if closed_form else scheduler.step()
    lrs.append([g["lr"] for g in optimizer.param_groups])
    return np.array(lrs), np.array(moms)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_sequence_matches_torch(case):
    got_lrs, got_momenta = run(gn, case)
    want_lrs, want_momenta = run(torch, case)
    np.testing.assert_allclose(got_lrs, want_lrs, rtol=1e-12, atol=0)
    np.testing.assert_allclose(got_momenta, want_momenta, rtol=1e-12, atol=0)


CLOSED_FORM_CASES = [c for c in CASES if c[0] in ("StepLR", "MultiStepLR", "ExponentialLR",
                                                  "CosineAnnealingLR", "LinearLR")]


@pytest.mark.parametrize("case", CLOSED_FORM_CASES, ids=case_id)
def test_step_with_epoch_uses_the_closed_form_as_torch_does(case):
    got, _ = run(gn, case, closed_form=True)
    want, _ = run(torch, case, closed_form=True)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_recursive_form_composes_with_other_changes_of_the_learning_rate():
    results = []
    for module, schedulers in ((gn, gn_schedulers), (torch, torch.optim.lr_scheduler)):
        optimizer = make_optimizer(module)
        scheduler = schedulers.ExponentialLR(optimizer, gamma=0.5)
        optimizer.param_groups[0]["lr"] = 1.0
        optimizer.step()
        scheduler.step()
        results.append(scheduler.get_last_lr())
    assert results[0] == results[1] == [0.5, 0.01]


PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.85, 0.86, 0.86, 0.86, 0.86, 0.7, 0.7, 0.7,
                   0.71, 0.72, 0.69, 0.69, 0.69, 0.69, 0.68, 0.68, 0.68, 0.68, 0.5, 0.5, 0.5, 0.5,
                   0.5, 0.5]

PLATEAU_CASES = [
    dict(),
    dict(patience=2),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(mode="max", patience=2, factor=0.5),
    dict(patience=1, threshold=0.05, threshold_mode="abs"),
    dict(patience=1, threshold=0.02, threshold_mode="rel", factor=0.2, min_lr=[0.01, 0.005]),
    dict(patience=0, factor=0.5, min_lr=0.004),
]


def run_plateau(module, options, metrics=PLATEAU_METRICS, optimizer=None, scheduler=None):
    optimizer = optimizer or make_optimizer(module)
    schedulers = torch.optim.lr_scheduler if module is torch else gn_schedulers
    scheduler = scheduler or schedulers.ReduceLROnPlateau(optimizer, **options)
    lrs = []
    for metric in metrics:
        optimizer.step()
        scheduler.step(metric)
        lrs.append(list(scheduler.get_last_lr()))
    return np.array(lrs), optimizer, scheduler


@pytest.mark.parametrize("options", PLATEAU_CASES,
                         ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_reduce_on_plateau_matches_torch(options):
    got, _, _ = run_plateau(gn, options)
    want, _, _ = run_plateau(torch, options)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    if options:  # with the defaults (patience 10) these metrics never trigger a reduction
        assert len(np.unique(want[:, 0])) > 1


def test_reduce_on_plateau_state_dict_round_trip():
    options = dict(patience=1, factor=0.5, cooldown=2)
    want, _, _ = run_plateau(gn, options)
    half = len(PLATEAU_METRICS) // 2
    first, optimizer, scheduler = run_plateau(gn, options, PLATEAU_METRICS[:half])
    saved = json.loads(json.dumps({"optimizer_groups": optimizer.state_dict()["param_groups"],
                                   "scheduler": scheduler.state_dict()}))
    fresh_optimizer = make_optimizer(gn)
    fresh = gn_schedulers.ReduceLROnPlateau(fresh_optimizer, **options)
    for group, saved_group in zip(fresh_optimizer.param_groups, saved["optimizer_groups"]):
        group["lr"] = saved_group["lr"]
    fresh.load_state_dict(saved["scheduler"])
    second, _, _ = run_plateau(gn, options, PLATEAU_METRICS[half:], fresh_optimizer, fresh)
    np.testing.assert_array_equal(np.concatenate([first, second]), want)


@pytest.mark.parametrize("case", [CASES[2], CASES[4], CASES[7], CASES[10], CASES[13]], ids=case_id)
def test_state_dict_round_trip_through_json(case):
    name, options, kind = case
    want, _ = run(gn, case)
    optimizer = make_optimizer(gn, kind)
    scheduler = getattr(gn_schedulers, name)(optimizer, **options)
    for _ in range(EPOCHS // 2):
        optimizer.step()
        scheduler.step()
    saved = json.loads(json.dumps({"groups": optimizer.state_dict()["param_groups"],
                                   "scheduler": scheduler.state_dict()}))
    fresh_optimizer = make_optimizer(gn, kind)
    fresh = getattr(gn_schedulers, name)(fresh_optimizer, **options)
    fresh_optimizer.load_state_dict({"state": {}, "param_groups": saved["groups"]})
    fresh.load_state_dict(saved["scheduler"])
    lrs = []
    for _ in range(EPOCHS - EPOCHS // 2):
        lrs.append(list(fresh.get_last_lr()))
        fresh_optimizer.step()
        fresh.step()
    lrs.append([g["lr"] for g in fresh_optimizer.param_groups])
    np.testing.assert_array_equal(np.array(lrs), want[EPOCHS // 2:])


def test_lambda_functions_are_not_in_the_state_dict():
    scheduler = gn_schedulers.LambdaLR(make_optimizer(gn), lr_lambda=_lambda_halving)
    assert "lr_lambdas" not in scheduler.state_dict()
    json.dumps(scheduler.state_dict())


@pytest.mark.parametrize("make, message", [
    (lambda o: gn_schedulers.LinearLR(o, start_factor=0.0), "start_factor"),
    (lambda o: gn_schedulers.LinearLR(o, end_factor=1.5), "end_factor"),
    (lambda o: gn_schedulers.OneCycleLR(o, max_lr=0.1), "total_steps"),
    (lambda o: gn_schedulers.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
     "anneal_strategy"),
    (lambda o: gn_schedulers.OneCycleLR(o, max_lr=[0.1], total_steps=10), "max_lr"),
    (lambda o: gn_schedulers.LambdaLR(o, lr_lambda=[_lambda_halving]), "lr_lambdas"),
    (lambda o: gn_schedulers.ReduceLROnPlateau(o, factor=1.0), "factor"),
    (lambda o: gn_schedulers.ReduceLROnPlateau(o, mode="up"), "mode"),
    (lambda o: gn_schedulers.ReduceLROnPlateau(o, threshold_mode="pct"), "threshold_mode"),
])
def test_invalid_options_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make(make_optimizer(gn))


def test_one_cycle_refuses_to_step_past_the_end():
    scheduler = gn_schedulers.OneCycleLR(make_optimizer(gn), max_lr=0.1, total_steps=3)
    for _ in range(3):
        scheduler.step()
    with pytest.raises(ValueError, match="total_steps"):
        scheduler.step()


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="not an Optimizer"):
        gn_schedulers.StepLR(object(), step_size=2)
    assert math.isclose(gn_schedulers.StepLR(make_optimizer(gn), 2).get_last_lr()[1], LRS[1])
