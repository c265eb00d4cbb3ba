"""Bad inputs to gradients, optimizers and learning-rate schedules (issue 12, item 2).

Each row is one wrong call: the exception it must raise (PyTorch's type where PyTorch raises),
the words its message must contain, and the state it must leave as it was. A failed
``step()`` or ``load_state_dict()`` must change nothing: no parameter, no state entry, no step
count, no option.
"""
import numpy as np
import pytest
import torch
from bad_inputs import BadInput, bad_input_test

import ganglion as gn
from ganglion.nn import Parameter

SHAPES = [(4, 3), (3,), (3, 2)]


def make_params(dtype=np.float32):
    rng = np.random.default_rng(12)
    return [Parameter(rng.standard_normal(shape).astype(dtype)) for shape in SHAPES]


def give_grads(params, seed=0):
    rng = np.random.default_rng(seed)
    for p in params:
        p.grad = gn.from_numpy(rng.standard_normal(p.shape).astype(p.dtype.np))


def snapshot(optimizer):
    """Everything a failed call must leave as it was: each parameter's values, its gradient's
    values, every state entry (step counts included) and every group's options."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    return {
        "params": [p.detach().numpy().copy() for p in params],
        "grads": [None if p.grad is None else "symbolic" if p.grad.is_symbolic
                  else np.array(p.grad.numpy(), copy=True) for p in params],
        "state": [sorted((name, np.array(t.storage if t.is_symbolic else t.numpy(), copy=True))
                         for name, t in optimizer.state.get(p, {}).items()) for p in params],
        "has_state": [p in optimizer.state for p in params],
        "groups": [{k: v for k, v in group.items() if k != "params"}
                   for group in optimizer.param_groups],
    }


# (id, optimizer class name, options)
OPTIMIZERS = [
    ("sgd", "SGD", dict(lr=0.1)),
    ("sgd-momentum", "SGD", dict(lr=0.1, momentum=0.9)),
    ("sgd-dampening", "SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)),
    ("sgd-nesterov", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("adam", "Adam", dict(lr=0.01)),
    ("adam-amsgrad", "Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("adamw", "AdamW", dict(lr=0.01)),
    ("adamw-amsgrad", "AdamW", dict(lr=0.01, amsgrad=True)),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop-centered-momentum", "RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("adagrad", "Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("adadelta", "Adadelta", dict()),
]


def optimizer_after_one_step(name, options, dtype=np.float32):
    params = make_params(dtype)
    optimizer = getattr(gn.optim, name)(params, **options)
    give_grads(params)
    optimizer.step()
    give_grads(params, seed=1)
    return optimizer, params


def fresh_optimizer(name, options):
    params = make_params()
    optimizer = getattr(gn.optim, name)(params, **options)
    give_grads(params)
    return optimizer, params


def step_rows():
    """For every optimizer: a step whose 2nd of 3 gradients went bad after it was assigned (its
    memory replaced through ``.data`` by a tensor of another shape or dtype), with and without
    state; and assigning a list to ``.data``, which is refused there, leaving the optimizer as it
    was."""
    rows = []
    for case_id, name, options in OPTIMIZERS:
        stepped, stepped_params = optimizer_after_one_step(name, options)
        stepped_params[1].grad.data = gn.ones(5)
        rows.append(BadInput(
            f"{case_id} step, 2nd grad.data wrong shape", stepped.step, RuntimeError,
            [f"{name}.step", "parameter 1", "(5,)", "(3,)", "nothing was updated"],
            unchanged=lambda o=stepped: snapshot(o)))

        fresh, fresh_params = fresh_optimizer(name, options)
        fresh_params[1].grad.data = gn.ones(3, dtype=gn.float64)
        rows.append(BadInput(
            f"{case_id} first step, 2nd grad.data float64", fresh.step, RuntimeError,
            [f"{name}.step", "parameter 1", "float64", "float32", "nothing was updated"],
            unchanged=lambda o=fresh: snapshot(o)))

        listed, listed_params = optimizer_after_one_step(name, options)
        rows.append(BadInput(
            f"{case_id} step, 2nd grad.data a list",
            lambda g=listed_params[1].grad: setattr(g, "data", [1.0, 2.0, 3.0]), TypeError,
            ["Tensor.data", "has to be a Tensor", "list"],
            unchanged=lambda o=listed: snapshot(o)))
    return rows


def _replaced_parameter_data():
    optimizer, params = optimizer_after_one_step("Adam", dict(lr=0.01))
    params[2].data = gn.zeros(2, 3)   # a new shape: the moments no longer fit
    params[2].grad.data = gn.ones(2, 3)
    return optimizer


def _option_set_later(option, value, name="Adam", options=None):
    optimizer, _ = optimizer_after_one_step(name, options or dict(lr=0.01))
    optimizer.param_groups[0][option] = value
    return optimizer


def _symbolic_updates_with_lr(lr):
    params = make_params()
    optimizer = gn.optim.RMSprop(params, lr=0.01)
    optimizer.param_groups[0]["lr"] = lr
    x = gn.placeholder(shape=(None, 4), name="x")
    cost = ((x @ params[0]) @ params[2]).sum() + params[1].sum()
    return optimizer, cost


UPDATES_OPTIMIZER, UPDATES_COST = _symbolic_updates_with_lr("0.01")
UPDATES_ROWS = [
    BadInput("updates() with lr set to text", lambda: UPDATES_OPTIMIZER.updates(UPDATES_COST),
             TypeError, ["RMSprop", "lr", "'0.01'", "real number"],
             unchanged=lambda: snapshot(UPDATES_OPTIMIZER)),
]


def step_state_rows():
    """Steps that fail on what was changed behind the optimizer's back after construction."""
    rows = []

    def row(row_id, optimizer, error, words):
        rows.append(BadInput(row_id, optimizer.step, error, words,
                             unchanged=lambda: snapshot(optimizer)))

    row("adam step, parameter data replaced by another shape", _replaced_parameter_data(),
        RuntimeError,
        ["Adam.step", "'exp_avg'", "parameter 2", "(2, 3)", "(3, 2)", "nothing was updated"])
    row("adam step, lr set negative after construction", _option_set_later("lr", -0.5),
        ValueError, ["Adam", "lr", "-0.5", ">= 0"])
    row("adam step, lr set to a string", _option_set_later("lr", "fast"), TypeError,
        ["Adam", "lr", "'fast'", "real number"])
    row("adam step, betas set out of range", _option_set_later("betas", (0.9, 1.5)),
        ValueError, ["Adam", "betas[1]", "1.5", "[0, 1)"])
    row("sgd step, momentum set to None",
        _option_set_later("momentum", None, "SGD", dict(lr=0.1)), TypeError,
        ["SGD", "momentum", "None", "real number"])
    return rows


def _with_grad(tensor, grad):
    tensor.grad = grad


GRAD_PARAM = Parameter(np.zeros((3, 4), np.float32))
GRAD_PARAM.grad = gn.tensor(np.full((3, 4), 7.0, np.float32))


def grad_state():
    return np.array(GRAD_PARAM.grad.numpy(), copy=True)


GRAD_ROWS = [
    BadInput("grad of another shape", lambda: _with_grad(GRAD_PARAM, gn.zeros(4)), RuntimeError,
             ["grad", "shape (4,)", "(3, 4)"], unchanged=grad_state),
    BadInput("grad that would broadcast", lambda: _with_grad(GRAD_PARAM, gn.zeros(1, 4)),
             RuntimeError, ["grad", "(1, 4)", "(3, 4)"], unchanged=grad_state),
    BadInput("grad of another dtype",
             lambda: _with_grad(GRAD_PARAM, gn.zeros(3, 4, dtype=gn.float64)), RuntimeError,
             ["grad", "float64", "float32"], unchanged=grad_state),
    BadInput("grad a numpy array", lambda: _with_grad(GRAD_PARAM, np.zeros((3, 4), np.float32)),
             TypeError, ["grad", "Tensor or None", "ndarray"], unchanged=grad_state),
    BadInput("grad a list", lambda: _with_grad(GRAD_PARAM, [0.0] * 4), TypeError,
             ["grad", "Tensor or None", "list"], unchanged=grad_state),
    BadInput("grad the tensor itself", lambda: _with_grad(GRAD_PARAM, GRAD_PARAM), RuntimeError,
             ["its own grad"], unchanged=grad_state),
]

def _saved_adam():
    optimizer, _ = optimizer_after_one_step("Adam", dict(lr=0.01))
    return optimizer.state_dict()


def _target(name="SGD", options=None):
    """An optimizer that has stepped once (so it has state a failed load must keep)."""
    optimizer, _ = optimizer_after_one_step(name, options or dict(lr=0.1, momentum=0.9))
    return optimizer


def _edited(state_dict, edit):
    """A copy of ``state_dict`` (lists and dicts copied) changed by ``edit``."""
    copy = {"state": {k: dict(v) for k, v in state_dict["state"].items()},
            "param_groups": [dict(g, params=list(g["params"])) for g in state_dict["param_groups"]]}
    edit(copy)
    return copy


def load_rows():
    rows = []

    def row(row_id, target, state_dict, error, words):
        rows.append(BadInput(row_id, lambda: target.load_state_dict(state_dict), error, words,
                             unchanged=lambda: snapshot(target)))

    adam = _saved_adam()
    row("load adam state into sgd with momentum", _target(), adam, ValueError,
        ["load_state_dict", "parameter 0", "['exp_avg', 'exp_avg_sq', 'step']",
         "SGD with momentum needs 'momentum_buffer'", "another optimizer"])
    row("load adam state into adagrad", _target("Adagrad", dict(lr=0.1)), adam, ValueError,
        ["Adagrad.load_state_dict", "parameter 0", "needs 'sum'", "another optimizer"])
    row("load adam state into adam with amsgrad", _target("Adam", dict(amsgrad=True)),
        _edited(adam, lambda d: [g.update(amsgrad=True) for g in d["param_groups"]]),
        ValueError, ["Adam with amsgrad needs 'max_exp_avg_sq'"])
    sgd = _target().state_dict()
    row("load sgd state into plain sgd with foreign keys", _target("SGD", dict(lr=0.1)),
        _edited(sgd, lambda d: d["state"][0].update(exp_avg=d["state"][0]["momentum_buffer"])),
        ValueError, ["SGD.load_state_dict", "['exp_avg']", "not state that SGD keeps"])
    row("load sgd groups into adam (no state)", _target("Adam", dict(lr=0.01)),
        gn.optim.SGD(make_params(), lr=0.1).state_dict(), ValueError,
        ["Adam.load_state_dict", "group 0", "lacks the options", "betas", "another optimizer"])
    row("load with a missing step count", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["state"][2].pop("step")), ValueError,
        ["parameter 2", "needs 'step'"])
    row("load a state of the wrong shape", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["state"][1].update(exp_avg=gn.zeros(4))), ValueError,
        ["Adam.load_state_dict", "'exp_avg'", "parameter 1", "(4,)", "(3,)"])
    row("load a step count of several numbers", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["state"][0].update(step=gn.zeros(3))), ValueError,
        ["'step'", "parameter 0", "(3,)", "single number"])
    row("load a state that is text", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["state"][0].update(exp_avg="zeros")), ValueError,
        ["'exp_avg'", "parameter 0", "not an array of numbers"])
    row("load two groups into one", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["param_groups"].append(dict(d["param_groups"][0]))),
        ValueError, ["2 parameter groups", "optimizer has 1"])
    row("load a group of another size", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["param_groups"][0]["params"].pop()), ValueError,
        ["parameter group 0 has 2 parameters in the state dict but 3"])
    row("load a parameter index listed twice", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["param_groups"][0].update(params=[0, 1, 1])), ValueError,
        ["parameter index 1", "twice"])
    row("load a parameter index that is not a number", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["param_groups"][0].update(params=[0, 1, "w"])), ValueError,
        ["'w'", "not a parameter index"])
    row("load state for an unlisted parameter", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["state"].update({7: d["state"][0]})), ValueError,
        ["parameter 7", "no parameter group lists"])
    row("load a negative learning rate", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["param_groups"][0].update(lr=-1.0)), ValueError,
        ["Adam.load_state_dict", "parameter group 0", "lr", "-1.0", ">= 0"])
    row("load a learning rate that is text", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["param_groups"][0].update(lr="0.1")), TypeError,
        ["Adam.load_state_dict", "parameter group 0", "lr", "'0.1'", "real number"])
    row("load betas that are not a pair", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["param_groups"][0].update(betas=0.9)), TypeError,
        ["Adam.load_state_dict", "betas", "0.9", "pair"])
    row("load something that is not a state dict", _target("Adam", dict(lr=0.01)),
        {"weights": adam["state"]}, ValueError,
        ["Adam.load_state_dict", "'state'", "'param_groups'", "['weights']"])
    row("load a symbolic state tensor", _target("Adam", dict(lr=0.01)),
        _edited(adam, lambda d: d["state"][0].update(exp_avg=gn.placeholder(shape=(4, 3)))),
        ValueError, ["'exp_avg'", "parameter 0", "symbolic"])
    row("load a list", _target("Adam", dict(lr=0.01)), [adam], ValueError,
        ["Adam.load_state_dict", "got a list"])
    return rows


def _scheduler(kind="StepLR", **options):
    optimizer = gn.optim.SGD(make_params(), lr=0.1, momentum=0.9)
    scheduler = getattr(gn.optim.lr_scheduler, kind)(optimizer, **options)
    scheduler.step()
    return scheduler


def scheduler_rows():
    rows = []

    def row(row_id, scheduler, state_dict, words):
        def state():
            return {"scheduler": scheduler.state_dict(),
                    "lrs": [g["lr"] for g in scheduler.optimizer.param_groups]}
        rows.append(BadInput(row_id, lambda: scheduler.load_state_dict(state_dict), ValueError,
                             words, unchanged=state))

    step_lr = _scheduler(step_size=2).state_dict()
    row("scheduler: cosine state into step_lr", _scheduler(step_size=2),
        _scheduler("CosineAnnealingLR", T_max=5).state_dict(),
        ["StepLR.load_state_dict", "T_max", "eta_min", "step_size", "another scheduler"])
    row("scheduler: last_epoch is text", _scheduler(step_size=2),
        dict(step_lr, last_epoch="3"), ["StepLR.load_state_dict", "'last_epoch'", "'3'",
                                        "a number"])
    row("scheduler: one base lr for two groups",
        _scheduler_two_groups(), dict(_scheduler_two_groups().state_dict(), base_lrs=[0.1]),
        ["'base_lrs'", "1 values", "2 parameter groups"])
    row("scheduler: a learning rate that is None", _scheduler(step_size=2),
        dict(step_lr, _last_lr=[None]), ["'_last_lr[0]'", "None", "a number"])
    row("scheduler: plateau mode unknown", _plateau(), dict(_plateau().state_dict(), mode="lowest"),
        ["ReduceLROnPlateau.load_state_dict", "'mode'", "'lowest'", "('min', 'max')"])
    row("scheduler: not a dict", _scheduler(step_size=2), [step_lr], ["expected a dict",
                                                                      "list"])
    return rows


def _one_cycle_at_the_end():
    scheduler = _scheduler("OneCycleLR", max_lr=1.0, total_steps=4)
    for _ in range(3):
        scheduler.step()
    return scheduler


def _scheduler_snapshot(scheduler):
    return {"scheduler": scheduler.state_dict(),
            "groups": [{k: v for k, v in g.items() if k != "params"}
                       for g in scheduler.optimizer.param_groups]}


ONE_CYCLE = _one_cycle_at_the_end()
SCHEDULER_STEP_ROWS = [
    BadInput("scheduler: one-cycle stepped past total_steps", ONE_CYCLE.step, ValueError,
             ["OneCycleLR", "5 times", "total_steps is 4"],
             unchanged=lambda: _scheduler_snapshot(ONE_CYCLE)),
]


def _scheduler_two_groups():
    params = make_params()
    optimizer = gn.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1)
    return gn.optim.lr_scheduler.StepLR(optimizer, step_size=2)


def _plateau():
    optimizer = gn.optim.SGD(make_params(), lr=0.1)
    return gn.optim.lr_scheduler.ReduceLROnPlateau(optimizer)


_LEAF = Parameter(np.zeros(3, np.float32))

CONSTRUCTOR_ROWS = [
    BadInput("constructor: lr is text", lambda: gn.optim.SGD(make_params(), lr="0.1"), TypeError,
             ["SGD", "lr", "'0.1'", "real number"]),
    BadInput("constructor: lr is None", lambda: gn.optim.Adam(make_params(), lr=None), TypeError,
             ["Adam", "lr", "None", "real number"]),
    BadInput("constructor: betas one number", lambda: gn.optim.Adam(make_params(), betas=0.9),
             TypeError, ["Adam", "betas", "0.9", "pair"]),
    BadInput("constructor: dampening is text",
             lambda: gn.optim.SGD(make_params(), lr=0.1, momentum=0.9, dampening="no"),
             TypeError, ["SGD", "dampening", "'no'"]),
    BadInput("constructor: params a set", lambda: gn.optim.SGD(set(make_params()), lr=0.1),
             TypeError, ["SGD", "set", "ordered", "list"]),
    BadInput("constructor: group params a set",
             lambda: gn.optim.SGD([{"params": set(make_params())}], lr=0.1), TypeError,
             ["SGD", "'params'", "set", "list"]),
    BadInput("constructor: non-leaf tensor", lambda: gn.optim.SGD([_LEAF * 2], lr=0.1),
             ValueError, ["SGD", "non-leaf", "parameter 0", "(3,)", "detach"]),
    BadInput("constructor: group without params", lambda: gn.optim.SGD([{"lr": 0.1}], lr=0.1),
             KeyError, ["SGD", "'params'"]),
    BadInput("add_param_group: non-leaf tensor", lambda: _target("SGD", dict(lr=0.1))
             .add_param_group({"params": [_LEAF + 1]}), ValueError,
             ["SGD", "non-leaf", "group 1"]),
]

CASES = GRAD_ROWS + step_rows() + step_state_rows() + load_rows() + scheduler_rows() \
    + UPDATES_ROWS + SCHEDULER_STEP_ROWS + CONSTRUCTOR_ROWS
test_bad_input = bad_input_test(CASES)


# ----- the same errors as PyTorch, and what still works ------------------------------------------
@pytest.mark.parametrize("make_grad, error", [
    (lambda: torch.zeros(4), RuntimeError),
    (lambda: torch.zeros(3, 4, dtype=torch.float64), RuntimeError),
    (lambda: np.zeros((3, 4), np.float32), TypeError),
], ids=["shape", "dtype", "not a tensor"])
def test_grad_assignment_errors_have_pytorchs_types(make_grad, error):
    p = torch.zeros(3, 4, requires_grad=True)
    with pytest.raises(error):
        p.grad = make_grad()


def test_step_refuses_a_symbolic_gradient_outside_jit():
    params = make_params()
    optimizer = gn.optim.SGD(params, lr=0.1)
    give_grads(params)
    x = gn.placeholder(shape=(None, 4), name="x")
    (x @ params[0]).sum().backward()   # a symbolic gradient, added to the value one
    assert params[0].grad.is_symbolic
    before = snapshot(optimizer)["params"]
    with pytest.raises(RuntimeError, match="parameter 0 of group 0 is symbolic"):
        optimizer.step()
    for a, b in zip(before, snapshot(optimizer)["params"]):
        np.testing.assert_array_equal(a, b)


def test_valid_grad_assignments_are_kept():
    p = Parameter(np.zeros((3, 4), np.float32))
    grad = gn.ones(3, 4)
    p.grad = grad
    assert p.grad is grad
    p.grad = None
    assert p.grad is None


def test_backward_still_accumulates_and_refuses_a_hook_of_another_shape():
    w = Parameter(np.ones((2, 3), np.float32))
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 5.0, np.float32))
    v = Parameter(np.ones((2, 3), np.float32))
    v.register_hook(lambda g: gn.ones(3))
    with pytest.raises(RuntimeError, match=r"shape \(3,\) to a tensor of shape \(2, 3\)"):
        (v * 2).sum().backward()


def test_adam_compiled_loop_step_is_all_or_nothing(monkeypatch):
    """The compiled (numba) Adam loop: a step whose 2nd gradient is bad changes nothing, and a
    good step afterwards still runs the compiled loop and matches PyTorch's Adam."""
    from ganglion.backend import fused_loops, nn_loops
    if not fused_loops.available():
        pytest.skip("the compiled loop needs numba: pip install 'ganglion[jit]'")
    calls = []
    real_loop = nn_loops.adam
    monkeypatch.setattr(nn_loops, "adam",
                        lambda *args, **kw: (calls.append(1), real_loop(*args, **kw)))
    optimizer, params = optimizer_after_one_step("Adam", dict(lr=0.01), dtype=np.float64)
    assert len(calls) == 3
    good_grads = [np.array(p.grad.numpy(), copy=True) for p in params]
    params[1].grad.data = gn.ones(2, dtype=gn.float64)
    before = snapshot(optimizer)
    with pytest.raises(RuntimeError, match="parameter 1"):
        optimizer.step()
    after = snapshot(optimizer)
    assert len(calls) == 3
    for a, b in zip(before["params"] + [s for entries in before["state"] for _, s in entries],
                    after["params"] + [s for entries in after["state"] for _, s in entries]):
        np.testing.assert_array_equal(a, b)

    params[1].grad.data = gn.from_numpy(good_grads[1])
    optimizer.step()
    assert len(calls) == 6
    torch_params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in
                    (p.detach().numpy() for p in make_params(np.float64))]
    torch_optimizer = torch.optim.Adam(torch_params, lr=0.01)
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        for tp in torch_params:
            tp.grad = torch.from_numpy(rng.standard_normal(tuple(tp.shape)))
        torch_optimizer.step()
    for p, tp in zip(params, torch_params):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert float(optimizer.state[params[0]]["step"]) == 2.0


def test_zero_grad_without_none_replaces_a_gradient_that_no_longer_fits():
    params = make_params()
    optimizer = gn.optim.SGD(params, lr=0.1)
    give_grads(params)
    params[0].grad.data = gn.ones(7)
    optimizer.zero_grad(set_to_none=False)
    assert params[0].grad.shape == (4, 3) and not params[0].grad.numpy().any()
    optimizer.step()    # zero gradients: a valid step again
    np.testing.assert_array_equal(params[0].detach().numpy(), make_params()[0].detach().numpy())


def test_load_state_dict_into_compiled_state_updates_the_shared_variables():
    """After ``updates()`` the state lives in shared variables that compiled functions update:
    a loaded state dict must reach them, not replace them behind the functions' backs."""
    params = make_params()
    optimizer = gn.optim.Adam(params, lr=0.01)
    x = gn.placeholder(shape=(None, 4), name="x")
    cost = ((x @ params[0]) @ params[2]).sum() + params[1].sum()
    optimizer.updates(cost)
    shared_moment = optimizer.state[params[0]]["exp_avg"]
    source, _ = optimizer_after_one_step("Adam", dict(lr=0.01))
    optimizer.load_state_dict(source.state_dict())
    assert optimizer.state[params[0]]["exp_avg"] is shared_moment
    np.testing.assert_array_equal(shared_moment.storage, source.state[source.param_groups[0]
                                                                      ["params"][0]]["exp_avg"].numpy())


def test_scheduler_state_round_trips_through_json():
    import json
    scheduler = _scheduler("OneCycleLR", max_lr=1.0, total_steps=10)
    saved = json.loads(json.dumps(scheduler.state_dict()))
    other = _scheduler("OneCycleLR", max_lr=1.0, total_steps=10)
    other.load_state_dict(saved)
    assert other.state_dict() == json.loads(json.dumps(scheduler.state_dict()))
