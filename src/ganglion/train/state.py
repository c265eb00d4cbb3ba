"""The state of a training run, and how it is checkpointed and resumed.

``TrainingRun`` holds what ``fit`` and its callbacks share: the model, optimizer, scheduler,
loaders, the history and the number of finished epochs. ``training_state(run)`` gathers
everything that decides the rest of the run (weights, optimizer and scheduler state, epoch,
history, and the random generators that draw dropout masks and shuffle the loaders) so that
``restore_training_state(run, path)`` continues a run to exactly the weights that an
uninterrupted run reaches.

Restoring is all-or-nothing. The whole checkpoint is first checked against the run (the model's
keys, shapes and kinds of dtype; the optimizer's groups, options and state shapes; the
scheduler's fields; the epoch, the history and the generator states), and every mismatch is
reported at once. Then the model, optimizer and scheduler are loaded under a snapshot of their
state: if any of their own ``load_state_dict`` checks still refuses, all three are put back as
they were. Either way the error is a ``CheckpointError`` naming the file.
"""
import copy
import numbers
from collections.abc import Mapping

import numpy as np

from ganglion.core.random import generator, get_rng_state, set_rng_state
from ganglion.core.tensor import Tensor
from ganglion.core.versions import bump_storage
from ganglion.io.checkpoint import CheckpointError, load
from ganglion.train.history import History

__all__ = ["TrainingRun", "training_state", "restore_training_state"]


class TrainingRun:
    """The objects of one ``fit`` call. ``epochs`` is the number of epochs the run is to reach,
    ``epoch`` counts finished epochs; a callback sets ``stop_training`` to end the run after the
    current epoch."""

    def __init__(self, model, optimizer, scheduler=None, train_loader=None, val_loader=None,
                 epochs=None):
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.epochs = epochs
        self.epoch = 0
        self.history = History()
        self.stop_training = False


def _loader_generators(run):
    """{'train': generator, 'val': generator} of the loaders that own a seeded generator."""
    found = {}
    for name, loader in (("train", run.train_loader), ("val", run.val_loader)):
        generator_ = getattr(loader, "generator", None)
        if generator_ is not None:
            found[name] = generator_
    return found


def training_state(run):
    """A dict for ``ganglion.save``: everything needed to resume ``run`` where it stands."""
    return {
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict() if run.optimizer is not None else None,
        "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
        "epoch": run.epoch,
        "history": dict(run.history),
        "rng": get_rng_state(),
        "loader_rng": {name: g.bit_generator.state
                       for name, g in _loader_generators(run).items()},
    }


def restore_training_state(run, path):
    """Load the checkpoint at ``path`` (from ``ModelCheckpoint``) into ``run``, or change
    nothing and raise a CheckpointError naming the file and everything that does not fit."""
    state = load(path)
    if callable(getattr(path, "read", None)):  # an open file: its name in the messages
        path = getattr(path, "name", None) or f"<{type(path).__name__}>"
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        raise CheckpointError(f"{path}: not a training checkpoint (it has no model weights and "
                              "epoch); save one with ModelCheckpoint to resume from it")
    problems = _mismatches(run, state)
    if problems:
        raise CheckpointError(f"{path}: this checkpoint does not fit the run, nothing was "
                              "loaded:\n  " + "\n  ".join(problems))
    snapshot = _Snapshot(run)
    try:
        run.model.load_state_dict(state["model"])
        if run.optimizer is not None and state.get("optimizer") is not None:
            run.optimizer.load_state_dict(state["optimizer"])
        if run.scheduler is not None and state.get("scheduler") is not None:
            run.scheduler.load_state_dict(state["scheduler"])
    except Exception as error:  # noqa: BLE001  (whatever refused, the run is put back)
        snapshot.restore()
        raise CheckpointError(f"{path}: {type(error).__name__}: {error} (nothing was "
                              "loaded)") from error
    # Checked above, so none of these can fail half-way.
    run.epoch = state["epoch"]
    run.history = History({name: list(values) for name, values in state["history"].items()})
    set_rng_state(state["rng"])
    generators = _loader_generators(run)
    for name, saved in (state.get("loader_rng") or {}).items():
        if name in generators:
            generators[name].bit_generator.state = saved
    return state


# ----- checking a checkpoint against the run --------------------------------------------------
def _mismatches(run, state):
    """Every way ``state`` does not fit ``run``, as readable lines (empty: it fits)."""
    problems = _model_mismatches(run.model, state["model"])
    if run.optimizer is not None and state.get("optimizer") is not None:
        # When the weights do not fit, neither do their optimizer states: not repeated.
        problems += _optimizer_mismatches(run.optimizer, state["optimizer"],
                                          check_shapes=not problems)
    if run.scheduler is not None and state.get("scheduler") is not None:
        problems += _scheduler_mismatches(run.scheduler, state["scheduler"])
    problems += _progress_mismatches(run, state)
    problems += _generator_mismatches(run, state)
    return problems


def _dtype_kind(array):
    kind = array.dtype.kind
    return {"f": "floating", "i": "integer", "u": "integer", "b": "boolean"}.get(kind, kind)


def _array_of(value):
    if isinstance(value, Tensor):
        return value._data
    return value if isinstance(value, np.ndarray) else None


def _model_mismatches(model, saved):
    if not isinstance(saved, Mapping):
        return [f"model: the weights are a {type(saved).__name__}, not a dict of tensors"]
    own = model.state_dict(keep_vars=True)
    name = type(model).__name__
    problems = []
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    if missing:
        problems.append(f"model: the checkpoint lacks {name}'s "
                        + ", ".join(repr(k) for k in missing))
    if unexpected:
        problems.append(f"model: the checkpoint has {', '.join(repr(k) for k in unexpected)}, "
                        f"which {name} does not")
    for key, target in own.items():
        if key not in saved:
            continue
        array = _array_of(saved[key])
        if array is None:
            problems.append(f"model: {key!r} is a {type(saved[key]).__name__}, not a tensor")
        elif array.shape != target._data.shape:
            problems.append(f"model: {key!r} has shape {tuple(array.shape)} in the checkpoint, "
                            f"{tuple(target._data.shape)} in the model")
        elif _dtype_kind(array) != _dtype_kind(target._data):
            problems.append(f"model: {key!r} is {array.dtype} in the checkpoint, "
                            f"{target._data.dtype} in the model")
    return problems


def _is_index(value):
    if isinstance(value, str):
        return value.isdigit()
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0


def _optimizer_mismatches(optimizer, saved, check_shapes=True):
    name = type(optimizer).__name__
    if not (isinstance(saved, Mapping) and isinstance(saved.get("state"), Mapping)
            and isinstance(saved.get("param_groups"), (list, tuple))):
        return [f"optimizer: not an optimizer state dict (expected {{'state': {{...}}, "
                f"'param_groups': [...]}}, got {_describe(saved)})"]
    saved_groups = saved["param_groups"]
    if len(saved_groups) != len(optimizer.param_groups):
        return [f"optimizer: the checkpoint has {len(saved_groups)} parameter groups, this "
                f"{name} has {len(optimizer.param_groups)}"]
    problems, params = [], {}
    for k, (group, own) in enumerate(zip(saved_groups, optimizer.param_groups)):
        if not (isinstance(group, Mapping) and isinstance(group.get("params"), (list, tuple))
                and all(_is_index(i) for i in group["params"])):
            problems.append(f"optimizer: parameter group {k} is {_describe(group)}, not a dict "
                            "of options with 'params': [parameter indices]")
            continue
        if len(group["params"]) != len(own["params"]):
            problems.append(f"optimizer: parameter group {k} has {len(group['params'])} "
                            f"parameters in the checkpoint, {len(own['params'])} in this {name}")
            continue
        lacking = sorted(set(optimizer.defaults) - set(group))
        if lacking:
            problems.append(
                f"optimizer: the checkpoint's parameter group {k} lacks {name}'s options "
                f"{', '.join(lacking)} (it has {', '.join(sorted(set(group) - {'params'}))}): "
                f"it was saved from another optimizer than {name}")
            continue
        # Each saved index -> (its parameter, the options it will have once loaded).
        for index, param in zip(group["params"], own["params"]):
            params[int(index)] = (param, {**own, **group})
    if problems:
        return problems
    for key, entries in saved["state"].items():
        if not _is_index(key) or int(key) not in params:
            problems.append(f"optimizer: state for parameter {key!r}, which no parameter group "
                            "lists")
            continue
        if not isinstance(entries, Mapping):
            problems.append(f"optimizer: the state of parameter {key} is {_describe(entries)}, "
                            "not a dict of tensors")
            continue
        param, options = params[int(key)]
        try:
            known = {"step", *optimizer._state_names(options)}
        except (AttributeError, KeyError, TypeError):
            known = None  # an optimizer without state names: its load_state_dict decides
        for entry, value in entries.items():
            array = _array_of(value)
            if known is not None and entry not in known:
                problems.append(f"optimizer: parameter {key} has state {entry!r}, which {name} "
                                f"does not keep (it keeps {', '.join(sorted(known))})")
            elif array is None and not isinstance(value, numbers.Real):
                problems.append(f"optimizer: state {entry!r} of parameter {key} is "
                                f"{_describe(value)}, not a tensor")
            elif (check_shapes and entry != "step" and array is not None
                  and array.shape != param._data.shape):
                problems.append(f"optimizer: state {entry!r} of parameter {key} has shape "
                                f"{tuple(array.shape)}, the parameter {tuple(param._data.shape)}")
    return problems


# Scheduler fields with one entry per parameter group.
_PER_GROUP_FIELDS = ("base_lrs", "_last_lr", "min_lrs")


def _category(value):
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a dict"
    return type(value).__name__


def _scheduler_mismatches(scheduler, saved):
    name = type(scheduler).__name__
    if not isinstance(saved, Mapping):
        return [f"scheduler: the state is {_describe(saved)}, not a dict"]
    own = scheduler.state_dict()
    lacking, extra = sorted(set(own) - set(saved)), sorted(set(saved) - set(own), key=str)
    if lacking or extra:
        return [f"scheduler: the checkpoint's scheduler state does not fit this {name} "
                f"(it lacks {', '.join(lacking) or 'nothing'}; it has "
                f"{', '.join(map(str, extra)) or 'nothing'} besides): it was saved from another "
                "scheduler"]
    problems = []
    groups = len(scheduler.optimizer.param_groups)
    for key, value in own.items():
        if value is None or saved[key] is None:
            continue
        if _category(saved[key]) != _category(value):
            problems.append(f"scheduler: {key} is {_category(saved[key])} in the checkpoint, "
                            f"{_category(value)} in this {name}")
        elif key in _PER_GROUP_FIELDS and len(saved[key]) != groups:
            problems.append(f"scheduler: {key} has {len(saved[key])} entries in the checkpoint, "
                            f"one per parameter group ({groups}) expected")
    return problems


def _progress_mismatches(run, state):
    epoch, history = state["epoch"], state.get("history")
    if not (isinstance(epoch, (int, np.integer)) and not isinstance(epoch, bool)) or epoch < 0:
        return [f"epoch: {epoch!r} is not a number of finished epochs (a non-negative integer)"]
    problems = []
    if run.epochs is not None and epoch > run.epochs:
        problems.append(f"epoch: the checkpoint is after epoch {epoch}, past this run's "
                        f"epochs={run.epochs} (epochs counts every epoch, resumed ones too)")
    if not isinstance(history, Mapping):
        return problems + [f"history: {_describe(history)}, not a dict of per-epoch lists"]
    for name, values in history.items():
        if not isinstance(name, str) or not isinstance(values, list):
            problems.append(f"history: {name!r} holds {_describe(values)}, not a list")
        elif len(values) != epoch:
            problems.append(f"history: {name!r} has {len(values)} values for {epoch} epochs")
        elif not all(v is None or isinstance(v, numbers.Real) for v in values):
            problems.append(f"history: {name!r} holds values that are not numbers")
    return problems


def _state_error(bit_generator, saved):
    """Why ``saved`` is not a state of ``bit_generator``'s type (None: it is one)."""
    scratch = type(bit_generator)()
    try:
        scratch.state = saved
    except (TypeError, ValueError, KeyError) as error:
        return f"not a {type(bit_generator).__name__} generator state ({error})"
    return None


def _generator_mismatches(run, state):
    problems = []
    if "rng" not in state:
        problems.append("rng: the checkpoint has no random generator state")
    else:
        error = _state_error(generator().bit_generator, state["rng"])
        if error:
            problems.append(f"rng: {error}")
    saved_loaders = state.get("loader_rng") or {}
    if not isinstance(saved_loaders, Mapping):
        return problems + [f"loader_rng: {_describe(saved_loaders)}, not a dict"]
    for name, loader_generator in _loader_generators(run).items():
        if name in saved_loaders:
            error = _state_error(loader_generator.bit_generator, saved_loaders[name])
            if error:
                problems.append(f"loader_rng: the {name} loader's state is {error}")
    return problems


def _describe(value):
    text = repr(value)
    return f"a {type(value).__name__}" if len(text) > 40 else f"{text} (a {type(value).__name__})"


# ----- putting the run back after a refused load ----------------------------------------------
class _Snapshot:
    """Copies of the run's model, optimizer and scheduler state; ``restore()`` puts them back
    in place (the same objects, so that anything holding them keeps working)."""

    def __init__(self, run):
        self.model = [(t, t._data.copy()) for t in run.model.state_dict(keep_vars=True).values()]
        self.optimizer = run.optimizer
        if run.optimizer is not None:
            self.optimizer_attributes = dict(run.optimizer.__dict__)
            self.groups = [(g, dict(g)) for g in run.optimizer.param_groups]
            self.optimizer_state = [(t, t._data.copy()) for entries in run.optimizer.state.values()
                                    for t in entries.values()
                                    if isinstance(t, Tensor) and t._data is not None]
        self.scheduler = run.scheduler
        if run.scheduler is not None:
            kept = getattr(run.scheduler, "_not_saved", ("optimizer",))
            self.scheduler_attributes = {
                k: (v if k in kept else copy.deepcopy(v))
                for k, v in run.scheduler.__dict__.items()}

    @staticmethod
    def _put_back(pairs):
        for tensor, array in pairs:
            if tensor._data is not None and tensor._data.shape == array.shape:
                tensor._data[...] = array
                bump_storage(tensor._data)
            else:
                tensor._data = array

    def restore(self):
        self._put_back(self.model)
        if self.optimizer is not None:
            self.optimizer.__dict__.clear()
            self.optimizer.__dict__.update(self.optimizer_attributes)
            for group, options in self.groups:
                group.clear()
                group.update(options)
            self._put_back(self.optimizer_state)
        if self.scheduler is not None:
            self.scheduler.__dict__.clear()
            self.scheduler.__dict__.update(self.scheduler_attributes)
