"""``fit(resume=...)`` checks the whole checkpoint against the run before changing anything
(issue 12, item 8): a checkpoint of another optimizer, scheduler or model, or with an edited
epoch, history or generator state, is a CheckpointError naming the file and the mismatch, and
leaves the model, optimizer, scheduler and random generator as they were."""
import tempfile
from pathlib import Path

import numpy as np
import pytest
import train_problem as problem
from bad_inputs import BadInput, bad_input_test

import ganglion as gn
from ganglion import nn
from ganglion.io import CheckpointError, load, save
from ganglion.train import ModelCheckpoint, fit
from ganglion.train.state import TrainingRun, restore_training_state

_folder = tempfile.TemporaryDirectory(prefix="ganglion-resume-")
_saved = {}


def _checkpoint():
    """The state dict of a 2-epoch Adam + StepLR run (written once, then read per case)."""
    if "state" not in _saved:
        net, optimizer, train, val = problem.setup()
        scheduler = gn.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        fit(net, train, nn.CrossEntropyLoss(), optimizer, 2, val_loader=val,
            scheduler=scheduler, callbacks=[ModelCheckpoint(_folder.name)], verbose=0)
        _saved["state"] = Path(_folder.name) / "last.safetensors"
    return load(_saved["state"])


def _arrays(value):
    if isinstance(value, gn.Tensor):
        return value.numpy().copy()
    if isinstance(value, dict):
        return {k: _arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_arrays(v) for v in value]
    return value


class _Resume:
    """A fresh run (other weights) that resumes from an edited copy of the checkpoint."""

    def __init__(self, name, edit, optimizer="adam", scheduler="step", epochs=4, model=None):
        self.name, self.edit, self.kind, self.scheduler_kind = name, edit, optimizer, scheduler
        self.epochs, self.model_factory, self.built = epochs, model, False

    def _build(self):
        if self.built:
            return
        self.net, _, self.train, self.val = problem.setup(seed=7)
        if self.model_factory is not None:
            self.net = self.model_factory()
        params = self.net.parameters()
        self.optimizer = (gn.optim.SGD(params, lr=0.1, momentum=0.9) if self.kind == "sgd"
                          else gn.optim.Adam(params, lr=0.05))
        schedulers = {"step": lambda o: gn.optim.lr_scheduler.StepLR(o, 1, 0.5),
                      "exponential": lambda o: gn.optim.lr_scheduler.ExponentialLR(o, 0.9),
                      None: lambda o: None}
        self.scheduler = schedulers[self.scheduler_kind](self.optimizer)
        if self.kind == "sgd":  # a real momentum buffer, so that "untouched" means something
            loss = nn.functional.cross_entropy(self.net(gn.randn(4, 10)), gn.tensor([0, 1, 2, 0]))
            loss.backward()
            self.optimizer.step()
        self.path = Path(_folder.name) / f"{self.name.replace(' ', '_')}.safetensors"
        state = _checkpoint()
        self.edit(state)
        save(state, self.path)
        self.built = True

    def call(self):
        self._build()
        fit(self.net, self.train, nn.CrossEntropyLoss(), self.optimizer, self.epochs,
            val_loader=self.val, scheduler=self.scheduler, resume=self.path, verbose=0)

    def snapshot(self):
        self._build()
        return {"model": _arrays(self.net.state_dict()),
                "optimizer": _arrays(self.optimizer.state_dict()),
                "scheduler": _arrays(self.scheduler.state_dict()) if self.scheduler else None,
                "rng": gn.get_rng_state()}


def _case(id, edit, words, error=CheckpointError, **options):
    resume = _Resume(id, edit, **options)
    return BadInput(id, resume.call, error, [resume.name.replace(" ", "_"), *words],
                    unchanged=resume.snapshot)


def _set(*path_and_value):
    *path, value = path_and_value

    def edit(state):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _drop(key):
    return lambda state: state.pop(key)


def _no_change(state):
    pass


CASES = [
    _case("adam into sgd", _no_change, ["SGD", "momentum", "another optimizer than SGD"],
          optimizer="sgd"),
    _case("steplr into exponentiallr", _no_change,
          ["ExponentialLR", "step_size", "another scheduler"], scheduler="exponential"),
    _case("epoch negative", _set("epoch", -5), ["epoch", "-5", "non-negative integer"]),
    _case("epoch string", _set("epoch", "three"), ["epoch", "'three'", "non-negative integer"]),
    _case("epoch bool", _set("epoch", True), ["epoch", "True", "non-negative integer"]),
    _case("epoch past the run", _set("epoch", 2), ["after epoch 2", "epochs=1"], epochs=1),
    _case("history not a dict", _set("history", [1, 2]), ["history", "not a dict"]),
    _case("history too short", _set("history", "loss", [0.5]),
          ["history", "'loss'", "1 values for 2 epochs"]),
    _case("history strings", _set("history", "loss", ["a", "b"]),
          ["history", "'loss'", "not numbers"]),
    _case("rng not a state", _set("rng", {"bit_generator": "PCG64", "state": 3}),
          ["rng", "PCG64"]),
    _case("rng another generator", _set("rng", np.random.MT19937(0).state), ["rng", "PCG64"]),
    _case("rng missing", _drop("rng"), ["rng", "no random generator state"]),
    _case("loader rng bad", _set("loader_rng", {"train": {"state": 1}}),
          ["loader_rng", "train loader", "PCG64"]),
    _case("loader rng not a dict", _set("loader_rng", [1]), ["loader_rng", "not a dict"]),
    _case("model key missing", lambda s: s["model"].pop("0.bias"), ["model", "lacks", "'0.bias'"]),
    _case("model key unexpected", _set("model", "9.weight", gn.ones(2)),
          ["model", "'9.weight'", "does not"]),
    _case("model integer weights", _set("model", "0.bias", gn.zeros(32, dtype=gn.int64)),
          ["model", "'0.bias'", "int64", "float32"]),
    _case("model not a dict", _set("model", [1, 2]), ["model", "list", "not a dict"]),
    _case("model of another shape", _no_change, ["'0.weight'", "(32, 10)", "(16, 10)"],
          model=lambda: nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 3))),
    _case("optimizer groups", _set("optimizer", "param_groups", []),
          ["optimizer", "0 parameter groups", "Adam has 1"]),
    _case("optimizer not a dict", _set("optimizer", "adam"), ["optimizer", "not an optimizer"]),
    _case("optimizer state shape", _set("optimizer", "state", 0, "exp_avg", gn.zeros(3)),
          ["optimizer", "'exp_avg'", "(3,)", "(32, 10)"]),
    _case("optimizer state name", _set("optimizer", "state", 0, "momentum_buffer",
                                       gn.zeros(32, 10)),
          ["optimizer", "'momentum_buffer'", "does not keep"]),
    _case("optimizer unknown parameter", _set("optimizer", "state", 99, {}),
          ["optimizer", "99", "no parameter group"]),
    _case("scheduler base_lrs length", _set("scheduler", "base_lrs", [0.1, 0.2]),
          ["scheduler", "base_lrs", "2 entries"]),
    _case("scheduler field type", _set("scheduler", "last_epoch", "two"),
          ["scheduler", "last_epoch", "a string", "a number"]),
    _case("not a training checkpoint", lambda s: s.pop("epoch"), ["not a training checkpoint"]),
]
test_bad_input = bad_input_test(CASES)


def test_the_adam_into_sgd_message_names_the_file_and_both_sets_of_options():
    resume = _Resume("adam into sgd message", _no_change, optimizer="sgd")
    before = resume.snapshot()
    with pytest.raises(CheckpointError) as info:
        resume.call()
    message = str(info.value)
    assert message.startswith(f"{resume.path}: this checkpoint does not fit the run")
    assert "lacks SGD's options dampening, momentum, nesterov" in message
    assert "betas" in message and "nothing was loaded" in message
    after = resume.snapshot()
    np.testing.assert_equal(after, before)


def test_a_refusal_inside_load_state_dict_puts_model_optimizer_and_scheduler_back(monkeypatch):
    # The checks pass, the model and optimizer load, then the scheduler's own load refuses:
    # all three must be as before, the error a CheckpointError with the file and the reason.
    resume = _Resume("rollback", _no_change)
    before = resume.snapshot()
    optimizer_state, groups = resume.optimizer.state, resume.optimizer.param_groups

    def refuse(scheduler, state_dict):
        scheduler.last_epoch = 99  # changed before refusing, as a careless load might
        raise ValueError("StepLR.load_state_dict: refused (simulated)")

    monkeypatch.setattr(gn.optim.lr_scheduler.StepLR, "load_state_dict", refuse)
    run = TrainingRun(resume.net, resume.optimizer, resume.scheduler, resume.train, resume.val, 4)
    with pytest.raises(CheckpointError, match=rf"{resume.path}: ValueError: StepLR.*simulated"):
        restore_training_state(run, resume.path)
    monkeypatch.undo()
    np.testing.assert_equal(resume.snapshot(), before)
    assert resume.optimizer.state is optimizer_state and resume.optimizer.param_groups is groups
    assert run.epoch == 0 and dict(run.history) == {}


def test_a_valid_resume_still_loads_everything():
    resume = _Resume("valid", _no_change)
    resume._build()
    run = TrainingRun(resume.net, resume.optimizer, resume.scheduler, resume.train, resume.val, 4)
    state = restore_training_state(run, resume.path)
    assert run.epoch == 2 and run.history["epoch"] == [1, 2]
    for key, value in state["model"].items():
        np.testing.assert_array_equal(resume.net.state_dict()[key].numpy(), value.numpy())
    assert resume.scheduler.last_epoch == state["scheduler"]["last_epoch"] == 2


def test_resuming_from_an_open_file_works_and_a_misfit_names_it():
    resume = _Resume("open file", _no_change)
    resume._build()
    run = TrainingRun(resume.net, resume.optimizer, resume.scheduler, resume.train, resume.val, 4)
    with open(resume.path, "rb") as f:
        restore_training_state(run, f)
    assert run.epoch == 2
    run.epochs = 1
    with open(resume.path, "rb") as f, pytest.raises(CheckpointError,
                                                      match=f"(?s){resume.path}: .*epochs=1"):
        restore_training_state(run, f)
