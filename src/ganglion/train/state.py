"""The state of a training run, and how it is checkpointed and resumed.

``TrainingRun`` holds what ``fit`` and its callbacks share: the model, optimizer, scheduler,
loaders, the history and the number of finished epochs. ``training_state(run)`` gathers
everything that decides the rest of the run (weights, optimizer and scheduler state, epoch,
history, and the random generators that draw dropout masks and shuffle the loaders) so that
``restore_training_state(run, path)`` continues a run to exactly the weights that an
uninterrupted run reaches.
"""
from ganglion.core.random import get_rng_state, set_rng_state
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
        generator = getattr(loader, "generator", None)
        if generator is not None:
            found[name] = generator
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
    """Load the checkpoint at ``path`` (from ``ModelCheckpoint``) into ``run``."""
    state = load(path)
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        raise CheckpointError(f"{path}: not a training checkpoint (it has no model weights and "
                              "epoch); save one with ModelCheckpoint to resume from it")
    try:
        run.model.load_state_dict(state["model"])
    except RuntimeError as error:
        raise RuntimeError(f"{path}: {error}") from None
    if run.optimizer is not None and state.get("optimizer") is not None:
        run.optimizer.load_state_dict(state["optimizer"])
    if run.scheduler is not None and state.get("scheduler") is not None:
        run.scheduler.load_state_dict(state["scheduler"])
    run.epoch = int(state["epoch"])
    run.history = History({name: list(values) for name, values in state["history"].items()})
    set_rng_state(state["rng"])
    generators = _loader_generators(run)
    for name, saved in state.get("loader_rng", {}).items():
        if name in generators:
            generators[name].bit_generator.state = saved
    return state
