"""optim.LBFGS against torch.optim.LBFGS: iterates step by step, the state, checkpoints, errors.

Every problem runs in float64 from the same start in both frameworks, and the parameters, the
returned losses and the state (counters, direction, step, history) are compared after each
``step(closure)``. Both implementations do the same arithmetic; what is left is the last bit of
a dot product or of a fused multiply-add, which the Rosenbrock function amplifies over many
iterations, so its runs are kept short enough to stay within 1e-10.
"""
import warnings

import numpy as np
import pytest
import torch
from bad_inputs import BadInput, bad_input_test

import ganglion as gn
import ganglion.nn.functional as F
from ganglion.optim import LBFGS

ATOL = 1e-10


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _values(t):
    return t.detach().numpy().copy()


def _run_both(make_problem, options, steps):
    """Run ``steps`` LBFGS steps with ganglion and with PyTorch on the problem that
    ``make_problem(module)`` builds (it returns (params, loss function)); compare the
    parameters, the returned loss and the state after each step."""
    gn_params, gn_loss = make_problem(gn)
    torch_params, torch_loss = make_problem(torch)
    gn_opt = LBFGS(gn_params, **options)
    torch_opt = torch.optim.LBFGS(torch_params, **options)

    def gn_closure():
        gn_opt.zero_grad()
        loss = gn_loss(*gn_params)
        loss.backward()
        return loss

    def torch_closure():
        torch_opt.zero_grad()
        loss = torch_loss(*torch_params)
        loss.backward()
        return loss

    for step in range(steps):
        got_loss = gn_opt.step(gn_closure)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # float() of a loss that requires grad
            want_loss = float(torch_opt.step(torch_closure))
        assert isinstance(got_loss, gn.Tensor)
        np.testing.assert_allclose(float(got_loss), want_loss, rtol=1e-12, atol=ATOL,
                                   err_msg=f"loss of step {step}")
        for got, want in zip(gn_params, torch_params):
            np.testing.assert_allclose(_values(got), _values(want), rtol=0, atol=ATOL,
                                       err_msg=f"parameters after step {step}")
        _compare_state(gn_opt.state[gn_params[0]], torch_opt.state[torch_params[0]], step)
    return gn_opt, gn_params, torch_params


def _compare_state(got, want, step):
    assert set(got) == set(want), f"state keys after step {step}"
    assert got["func_evals"] == want["func_evals"] and got["n_iter"] == want["n_iter"]
    for name in ("d", "prev_flat_grad"):
        np.testing.assert_allclose(got[name], want[name].numpy(), atol=ATOL, err_msg=name)
    for name in ("t", "H_diag", "prev_loss"):
        np.testing.assert_allclose(float(got[name]), float(want[name]), rtol=1e-9, atol=ATOL,
                                   err_msg=name)
    for name in ("old_dirs", "old_stps"):
        assert len(got[name]) == len(want[name]), name
        for a, b in zip(got[name], want[name]):
            np.testing.assert_allclose(a, b.numpy(), atol=ATOL, err_msg=name)
    np.testing.assert_allclose([float(r) for r in got["ro"]], [float(r) for r in want["ro"]],
                               rtol=1e-9)


def rosenbrock_problem(start):
    def make(lib):
        x = lib.tensor(start, dtype=lib.float64, requires_grad=True)
        return [x], rosenbrock
    return make


def logistic_problem(lib):
    """Logistic regression with an L2 penalty: two parameters (weights and bias)."""
    rng = np.random.default_rng(3)
    features = rng.standard_normal((40, 5))
    labels = (features @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + 0.3 * rng.standard_normal(40)
              > 0).astype(np.float64)
    x, y = lib.tensor(features, dtype=lib.float64), lib.tensor(labels, dtype=lib.float64)
    w = lib.tensor(np.zeros((5, 1)), dtype=lib.float64, requires_grad=True)
    b = lib.tensor(np.zeros(1), dtype=lib.float64, requires_grad=True)
    functional = F if lib is gn else torch.nn.functional

    def loss(w, b):
        logits = (x @ w).reshape(-1) + b
        return (functional.binary_cross_entropy_with_logits(logits, y)
                + 0.01 * (w * w).sum())
    return [w, b], loss


def least_squares_problem(lib):
    rng = np.random.default_rng(4)
    a = lib.tensor(rng.standard_normal((30, 6)), dtype=lib.float64)
    target = lib.tensor(rng.standard_normal(30), dtype=lib.float64)
    w = lib.tensor(rng.standard_normal(6), dtype=lib.float64, requires_grad=True)
    return [w], lambda w: ((a @ w - target) ** 2).mean()


@pytest.mark.parametrize("options, steps", [
    (dict(lr=0.3, max_iter=5, history_size=3), 6),
    (dict(lr=0.5, max_iter=5, history_size=3), 4),
], ids=["lr0.3", "lr0.5"])
def test_rosenbrock_fixed_steps_match_torch(options, steps):
    start = [0.0, 0.0] if options["lr"] == 0.3 else [-0.5, 0.5]
    _, params, _ = _run_both(rosenbrock_problem(start), options, steps)
    assert np.abs(_values(params[0]) - start).max() > 0.5  # it moved


def test_rosenbrock_strong_wolfe_matches_torch():
    options = dict(max_iter=4, history_size=2, line_search_fn="strong_wolfe")
    _, params, _ = _run_both(rosenbrock_problem([-1.2, 1.0]), options, 6)
    assert _values(params[0])[0] > 0.3  # on its way to (1, 1)


def test_rosenbrock_strong_wolfe_converges_as_torch():
    options = dict(max_iter=100, line_search_fn="strong_wolfe")
    gn_opt, params, torch_params = _run_both(rosenbrock_problem([-1.5, 2.0]), options, 1)
    np.testing.assert_allclose(_values(params[0]), [1.0, 1.0], atol=1e-5)
    assert gn_opt.state[params[0]]["n_iter"] > 20


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_logistic_regression_matches_torch(line_search_fn):
    options = dict(max_iter=6, history_size=4, line_search_fn=line_search_fn)
    _run_both(logistic_problem, options, 4)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_least_squares_matches_torch(line_search_fn):
    options = dict(lr=0.5, max_iter=3, history_size=2, line_search_fn=line_search_fn)
    _, params, _ = _run_both(least_squares_problem, options, 5)


def test_max_eval_and_tolerances_stop_as_torch():
    # Early stops: few evaluations allowed, a loose gradient tolerance.
    _run_both(logistic_problem, dict(max_iter=20, max_eval=7, line_search_fn="strong_wolfe"), 3)
    _run_both(logistic_problem, dict(max_iter=20, tolerance_grad=1e-3,
                                     tolerance_change=1e-4), 3)


def test_optimal_start_returns_after_one_evaluation():
    x = gn.tensor([1.0, 1.0], dtype=gn.float64, requires_grad=True)
    opt = LBFGS([x])

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0
    assert opt.state[x] == {"func_evals": 1, "n_iter": 0}
    np.testing.assert_array_equal(_values(x), [1.0, 1.0])


def test_float32_follows_torch():
    def make(lib):
        w = lib.tensor(np.linspace(-1, 1, 6, dtype=np.float32), requires_grad=True)
        a = lib.tensor(np.random.default_rng(5).standard_normal((12, 6)).astype(np.float32))
        return [w], lambda w: ((a @ w - 1) ** 2).mean()
    gn_params, gn_loss = make(gn)
    torch_params, torch_loss = make(torch)
    for params, loss_fn, opt_class in ((gn_params, gn_loss, LBFGS),
                                       (torch_params, torch_loss, torch.optim.LBFGS)):
        opt = opt_class(params, max_iter=5, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = loss_fn(*params)
            loss.backward()
            return loss
        opt.step(closure)
        opt.step(closure)
    assert gn_params[0].dtype == gn.float32
    np.testing.assert_allclose(_values(gn_params[0]), _values(torch_params[0]), rtol=1e-4,
                               atol=1e-5)


def test_state_dict_round_trip_continues_identically(tmp_path):
    """Two steps, a checkpoint through ganglion.save/load, then two more steps from it give
    what four uninterrupted steps give (and what PyTorch gives)."""
    options = dict(max_iter=3, history_size=2, line_search_fn="strong_wolfe")
    params, loss_fn = logistic_problem(gn)
    opt = LBFGS(params, **options)

    def closure_for(opt, params):
        def closure():
            opt.zero_grad()
            loss = loss_fn(*params)
            loss.backward()
            return loss
        return closure

    for _ in range(2):
        opt.step(closure_for(opt, params))
    gn.save({"params": [p.detach() for p in params], "optimizer": opt.state_dict()},
            tmp_path / "lbfgs.ckpt")
    for _ in range(2):
        opt.step(closure_for(opt, params))

    checkpoint = gn.load(tmp_path / "lbfgs.ckpt")
    resumed = [gn.from_numpy(p.numpy().copy()).requires_grad_(True)
               for p in checkpoint["params"]]
    resumed_opt = LBFGS(resumed, **options)
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    state = resumed_opt.state[resumed[0]]
    assert state["n_iter"] == checkpoint["optimizer"]["state"][0]["n_iter"] >= 2
    assert isinstance(state["old_dirs"], list) and isinstance(state["d"], np.ndarray)
    for _ in range(2):
        resumed_opt.step(closure_for(resumed_opt, resumed))
    for got, want in zip(resumed, params):
        np.testing.assert_array_equal(_values(got), _values(want))
    _compare_state(resumed_opt.state[resumed[0]],
                   {k: (torch.tensor(v) if isinstance(v, np.ndarray) else
                        [torch.tensor(a) for a in v] if k in ("old_dirs", "old_stps") else v)
                    for k, v in opt.state[params[0]].items()}, "resumed")


def test_state_dict_has_torchs_layout():
    params, loss_fn = least_squares_problem(gn)
    opt = LBFGS(params, history_size=5)

    def closure():
        opt.zero_grad()
        loss = loss_fn(*params)
        loss.backward()
        return loss
    opt.step(closure)
    sd = opt.state_dict()
    assert list(sd["state"]) == [0]
    assert set(sd["state"][0]) == {"func_evals", "n_iter", "al", "d", "t", "old_dirs",
                                   "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss"}
    assert sd["param_groups"] == [dict(lr=1, max_iter=20, max_eval=25, tolerance_grad=1e-7,
                                       tolerance_change=1e-9, history_size=5,
                                       line_search_fn=None, params=[0])]
    assert len(sd["state"][0]["al"]) == 5 and isinstance(sd["state"][0]["d"], gn.Tensor)
    # A copy: the next step does not change a state dict already taken.
    before = sd["state"][0]["d"].numpy().copy()
    opt.step(closure)
    np.testing.assert_array_equal(sd["state"][0]["d"].numpy(), before)


def test_closure_runs_with_grad_enabled_and_curve_fit_as_torch_docs():
    """The docs' pattern, on a cubic fitted to sin(x) by an nn.Linear (the 'Learning PyTorch
    with examples' fit), under no_grad as a training loop might call it."""
    x = np.linspace(-np.pi, np.pi, 50)
    features = np.stack([x, x ** 2, x ** 3], axis=1)
    results = []
    for lib, nn in ((gn, gn.nn), (torch, torch.nn)):
        lib.manual_seed(0)
        model = nn.Linear(3, 1).double()
        with lib.no_grad():
            model.weight.copy_(lib.tensor([[0.1, 0.0, 0.0]], dtype=lib.float64))
            model.bias.copy_(lib.tensor([0.0], dtype=lib.float64))
        inputs = lib.tensor(features, dtype=lib.float64)
        target = lib.tensor(np.sin(x), dtype=lib.float64).reshape(-1, 1)
        loss_fn = nn.MSELoss()
        opt_class = LBFGS if lib is gn else torch.optim.LBFGS
        optimizer = opt_class(model.parameters(), lr=1, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), target)
            loss.backward()
            return loss
        with lib.no_grad():
            for _ in range(3):
                optimizer.step(closure)
        results.append((model.weight.detach().numpy().copy(), float(closure())))
    (gn_weight, gn_loss), (torch_weight, torch_loss) = results
    np.testing.assert_allclose(gn_weight, torch_weight, atol=1e-8)
    np.testing.assert_allclose(gn_loss, torch_loss, rtol=1e-8)
    assert gn_loss < 0.01


def test_symbolic_updates_are_refused():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="LBFGS.updates.*step\\(closure\\)"):
        LBFGS([x]).updates((x * x).sum())


# ----- bad inputs ---------------------------------------------------------------------------

def _param():
    return gn.tensor([1.0, -2.0], dtype=gn.float64, requires_grad=True)


PARAM = _param()


def _fitted_optimizer():
    x = _param()
    opt = LBFGS([x], max_iter=2)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return opt, x, closure


FITTED, FITTED_X, FITTED_CLOSURE = _fitted_optimizer()


def _lbfgs_snapshot():
    state = FITTED.state[FITTED_X]
    return {"x": _values(FITTED_X), "n_iter": state["n_iter"], "func_evals": state["func_evals"],
            "d": state["d"].copy(), "groups": [{k: v for k, v in g.items() if k != "params"}
                                                for g in FITTED.param_groups]}


def _wolfe_optimizer():
    x = gn.tensor([1.5, -2.0, 0.5], dtype=gn.float64, requires_grad=True)
    opt = LBFGS([x], max_iter=5, history_size=2, line_search_fn="strong_wolfe")
    opt.step(_closure_failing_after(opt, x, None))
    return opt, x


def _closure_failing_after(opt, x, calls):
    """A closure of the Rosenbrock-like loss that raises on its call number ``calls``."""
    count = [0]

    def closure():
        count[0] += 1
        if count[0] == calls:
            raise FloatingPointError("the model diverged")
        opt.zero_grad()
        loss = rosenbrock(x) + (x[2] - 1) ** 4
        loss.backward()
        return loss
    return closure


WOLFE, WOLFE_X = _wolfe_optimizer()


def _wolfe_snapshot():
    state = WOLFE.state[WOLFE_X]
    return {"x": _values(WOLFE_X), "n_iter": state["n_iter"], "func_evals": state["func_evals"],
            "d": state["d"].copy(), "prev_flat_grad": state["prev_flat_grad"].copy(),
            "old_dirs": [a.copy() for a in state["old_dirs"]], "ro": list(state["ro"])}


def _returning(value):
    def closure():
        FITTED.zero_grad()
        loss = (FITTED_X * FITTED_X).sum()
        loss.backward()
        return value(loss)
    return closure


def _bad_line_search():
    FITTED.param_groups[0]["line_search_fn"] = "backtracking"
    try:
        FITTED.step(FITTED_CLOSURE)
    finally:
        FITTED.param_groups[0]["line_search_fn"] = None


def _load(state_dict):
    FITTED.load_state_dict(state_dict)


def _state_dict_with(**changes):
    sd = FITTED.state_dict()
    sd["state"][0].update(changes)
    return sd


CASES = [
    BadInput("two parameter groups",
             lambda: LBFGS([{"params": [_param()]}, {"params": [_param()], "lr": 0.1}]),
             ValueError, ["LBFGS", "doesn't support per-parameter options", "second group"]),
    BadInput("add_param_group", lambda: LBFGS([_param()]).add_param_group({"params": [_param()]}),
             ValueError, ["LBFGS", "parameter groups"]),
    BadInput("step without closure", lambda: LBFGS([PARAM]).step(), TypeError,
             ["step", "closure"]),
    BadInput("closure None", lambda: FITTED.step(None), TypeError,
             ["LBFGS.step", "closure", "NoneType"], unchanged=_lbfgs_snapshot),
    BadInput("negative lr", lambda: LBFGS([PARAM], lr=-1), ValueError,
             ["Invalid learning rate", "-1"]),
    BadInput("string lr", lambda: LBFGS([PARAM], lr="0.1"), TypeError, ["LBFGS", "lr", "'0.1'"]),
    BadInput("history_size 0", lambda: LBFGS([PARAM], history_size=0), ValueError,
             ["LBFGS", "history_size", "0", ">= 1"]),
    BadInput("negative max_iter", lambda: LBFGS([PARAM], max_iter=-3), ValueError,
             ["LBFGS", "max_iter", "-3"]),
    BadInput("unknown line search", _bad_line_search, RuntimeError,
             ["only 'strong_wolfe' is supported", "'backtracking'"], unchanged=_lbfgs_snapshot),
    BadInput("closure returns None", lambda: FITTED.step(_returning(lambda loss: None)),
             TypeError, ["LBFGS.step", "closure returned NoneType", "return loss"],
             unchanged=_lbfgs_snapshot),
    BadInput("closure returns a vector",
             lambda: FITTED.step(_returning(lambda loss: FITTED_X * 1)), RuntimeError,
             ["LBFGS.step", "closure returned a tensor of shape (2,)", "single number"],
             unchanged=_lbfgs_snapshot),
    BadInput("closure fails in the line search",
             lambda: WOLFE.step(_closure_failing_after(WOLFE, WOLFE_X, 4)), FloatingPointError,
             ["the model diverged"], unchanged=_wolfe_snapshot),
    BadInput("load a list", lambda: _load([1, 2]), ValueError,
             ["LBFGS.load_state_dict", "list"], unchanged=_lbfgs_snapshot),
    BadInput("load a wrong-size direction",
             lambda: _load(_state_dict_with(d=gn.zeros(3, dtype=gn.float64))), ValueError,
             ["LBFGS.load_state_dict", "'d'", "(3,)", "(2,)"], unchanged=_lbfgs_snapshot),
    BadInput("load another optimizer's state",
             lambda: _load(_state_dict_with(exp_avg=gn.zeros(2))), ValueError,
             ["LBFGS.load_state_dict", "exp_avg"], unchanged=_lbfgs_snapshot),
    BadInput("load a non-integer count",
             lambda: _load(_state_dict_with(n_iter=1.5)), ValueError,
             ["LBFGS.load_state_dict", "'n_iter'", "int", "1.5"], unchanged=_lbfgs_snapshot),
]

test_bad_input = bad_input_test(CASES)
