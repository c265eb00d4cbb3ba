"""Callbacks: code that ``fit`` calls at the start and end of training, epochs and batches.

Keras's names and hooks. A callback sees the run (``self.run``: model, optimizer, scheduler,
history, ``epoch``, ``stop_training``) and the logs: after a batch ``{'loss': ...}``, after an
epoch ``{'epoch', 'loss', metrics..., 'val_loss', 'val_' metrics..., 'lr'}``. Callbacks run in
the order given; put ``LRSchedulerCallback`` before ``ModelCheckpoint`` so that a saved state
includes the scheduler's step (``fit(scheduler=...)`` does this for you).
"""
import csv
import math
from pathlib import Path

from ganglion.io.checkpoint import remove_stale_temp_files, save
from ganglion.optim.lr_scheduler import ReduceLROnPlateau
from ganglion.train.state import training_state

__all__ = ["Callback", "CallbackList", "EarlyStopping", "ModelCheckpoint", "LRSchedulerCallback",
           "CSVLogger", "TensorBoardLogger", "LambdaCallback"]


class Callback:
    """Base class: override the hooks you need; ``self.run`` is set before training starts."""

    run = None

    def set_run(self, run):
        self.run = run

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class CallbackList(Callback):
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks):
        self.callbacks = list(callbacks)

    def set_run(self, run):
        for c in self.callbacks:
            c.set_run(run)

    def on_train_begin(self, logs=None):
        for c in self.callbacks:
            c.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for c in self.callbacks:
            c.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for c in self.callbacks:
            c.on_epoch_end(epoch, logs)

    def on_batch_begin(self, batch, logs=None):
        for c in self.callbacks:
            c.on_batch_begin(batch, logs)

    def on_batch_end(self, batch, logs=None):
        for c in self.callbacks:
            c.on_batch_end(batch, logs)


class _Monitor:
    """Tracks the best value of one logged quantity; mode 'auto' minimizes unless the name
    says accuracy (or another score that grows)."""

    def __init__(self, who, monitor, mode, min_delta=0.0):
        if mode == "auto":
            mode = "max" if any(s in monitor for s in ("acc", "f1", "auc", "r2")) else "min"
        if mode not in ("min", "max"):
            raise ValueError(f"{who}: mode must be 'min', 'max' or 'auto', got {mode!r}")
        self.who, self.monitor, self.mode, self.min_delta = who, monitor, mode, abs(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def value(self, logs):
        if logs is None or logs.get(self.monitor) is None:
            known = ", ".join(k for k in (logs or {}) if k != "epoch")
            hint = ""
            if self.monitor.startswith("val_"):
                hint = " (pass val_loader= to fit for val_ metrics)"
            raise KeyError(f"{self.who}: monitor {self.monitor!r} is not in the epoch's logs "
                           f"({known}){hint}")
        return float(logs[self.monitor])

    def past_values(self, run):
        """The monitored values of the epochs already in the run's history (a resumed run)."""
        return [v for v in run.history.get(self.monitor, []) if v is not None]

    def improved(self, value):
        if self.mode == "min":
            better = value < self.best - self.min_delta
        else:
            better = value > self.best + self.min_delta
        if better:
            self.best = value
        return better


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; ``restore_best_weights`` puts back the weights of the best epoch when stopping."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto",
                 restore_best_weights=False):
        self.tracker = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.stopped_epoch = None
        self.best_weights = None

    def on_train_begin(self, logs=None):
        # A resumed run replays its history, so that it stops where the whole run would have.
        for value in self.tracker.past_values(self.run):
            self.wait = 0 if self.tracker.improved(value) else self.wait + 1

    def on_epoch_end(self, epoch, logs=None):
        if self.tracker.improved(self.tracker.value(logs)):
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = {k: v.clone() for k, v in self.run.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.run.stop_training = True
            if self.best_weights is not None:
                self.run.model.load_state_dict(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the training state (resumable with ``fit(resume=...)``) into ``directory``:
    ``last.safetensors`` after every epoch and ``best.safetensors`` whenever ``monitor``
    improves. Writes are atomic, so an interrupted run keeps its previous checkpoints; the
    temporary files that a killed run's writes left are removed when training starts."""

    def __init__(self, directory, monitor="val_loss", mode="auto", save_best=True,
                 save_last=True):
        self.directory = Path(directory)
        self.tracker = _Monitor("ModelCheckpoint", monitor, mode) if save_best else None
        self.save_last = save_last

    def on_train_begin(self, logs=None):
        for path in (self.best_path, self.last_path):
            remove_stale_temp_files(path)
        # A resumed run must not replace best.safetensors with a worse epoch.
        if self.tracker is not None:
            for value in self.tracker.past_values(self.run):
                self.tracker.improved(value)

    @property
    def best_path(self):
        return self.directory / "best.safetensors"

    @property
    def last_path(self):
        return self.directory / "last.safetensors"

    def on_epoch_end(self, epoch, logs=None):
        state = None
        if self.tracker is not None and self.tracker.improved(self.tracker.value(logs)):
            state = training_state(self.run)
            save(state, self.best_path)
        if self.save_last:
            save(state if state is not None else training_state(self.run), self.last_path)


class LRSchedulerCallback(Callback):
    """Step ``scheduler`` after every epoch (``interval='epoch'``) or batch (``'batch'``, for
    OneCycleLR). ReduceLROnPlateau is stepped with the epoch's ``monitor`` value."""

    def __init__(self, scheduler, interval="epoch", monitor="val_loss"):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'batch', got "
                             f"{interval!r}")
        self.scheduler = scheduler
        self.interval = interval
        self.plateau = isinstance(scheduler, ReduceLROnPlateau)
        if self.plateau and interval == "batch":
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau needs an epoch's metrics; "
                             "use interval='epoch'")
        self.monitor = monitor

    def set_run(self, run):
        super().set_run(run)
        if run.scheduler is None:  # so that checkpoints save the scheduler's state
            run.scheduler = self.scheduler

    def on_batch_end(self, batch, logs=None):
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval != "epoch":
            return
        if self.plateau:
            monitor = self.monitor if logs.get(self.monitor) is not None else "loss"
            self.scheduler.step(logs[monitor])
        else:
            self.scheduler.step()


class CSVLogger(Callback):
    """Append one row per epoch (the epoch's logs) to the CSV file at ``path``; the columns are
    those of the first epoch. ``append=True`` continues an existing file (a resumed run)."""

    def __init__(self, path, append=False):
        self.path = Path(path)
        self.append = append
        self.columns = None

    def on_train_begin(self, logs=None):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.append and self.path.is_file() and self.path.stat().st_size:
            with open(self.path, newline="") as f:
                self.columns = next(csv.reader(f), None)
        else:
            self.path.write_text("")
            self.columns = None

    def on_epoch_end(self, epoch, logs=None):
        row = dict(logs or {})
        with open(self.path, "a", newline="") as f:
            if self.columns is None:
                self.columns = list(row)
                csv.writer(f).writerow(self.columns)
            csv.DictWriter(f, self.columns, extrasaction="ignore").writerow(row)


class TensorBoardLogger(Callback):
    """Write each epoch's numeric logs as TensorBoard scalars into ``log_dir`` (tensorboardX)."""

    def __init__(self, log_dir):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoardLogger needs tensorboardX: "
                              "pip install ganglion[tensorboard]") from None
        self.writer = SummaryWriter(str(log_dir))

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            if name != "epoch" and isinstance(value, (int, float)):
                self.writer.add_scalar(name, value, epoch + 1)
        self.writer.flush()

    def on_train_end(self, logs=None):
        self.writer.close()


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.
    Each hook takes the same arguments as the method of that name."""

    _hooks = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
              "on_batch_begin", "on_batch_end")

    def __init__(self, **hooks):
        unknown = sorted(set(hooks) - set(self._hooks))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hooks {unknown}; the hooks are "
                            f"{', '.join(self._hooks)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)

