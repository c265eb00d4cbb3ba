"""Callbacks: EarlyStopping stops, ModelCheckpoint writes best and last, CSVLogger writes a row
per epoch, LRSchedulerCallback and LambdaCallback run; the progress bar, the epoch summary and
their quiet mode."""
import csv
import io

import pytest
import train_problem as problem

import ganglion as gn
from ganglion import nn
from ganglion.io import load
from ganglion.train import (CSVLogger, EarlyStopping, LambdaCallback, LRSchedulerCallback,
                            ModelCheckpoint, TensorBoardLogger, fit)
from ganglion.train.progress import EpochProgress


def _fit(epochs, callbacks, lr=0.05, val=True, verbose=0):
    net, optimizer, train, val_loader = problem.setup(lr=lr)
    return fit(net, train, nn.CrossEntropyLoss(), optimizer, epochs,
               val_loader=val_loader if val else None, metrics=["accuracy"],
               callbacks=callbacks, verbose=verbose)


def test_early_stopping_stops_when_the_monitored_value_stops_improving():
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    history = _fit(20, [stopper], lr=0.0)  # lr 0: val_loss never improves after epoch 1
    assert history.epochs == [1, 2, 3, 4]
    assert stopper.stopped_epoch == 3


def test_early_stopping_names_a_missing_monitor():
    with pytest.raises(KeyError, match="val_loss.*pass val_loader"):
        _fit(2, [EarlyStopping()], val=False)


def test_model_checkpoint_writes_best_and_last(tmp_path):
    checkpoint = ModelCheckpoint(tmp_path, monitor="val_accuracy")
    history = _fit(4, [checkpoint])
    last, best = load(checkpoint.last_path), load(checkpoint.best_path)
    assert last["epoch"] == 4
    best_epoch = max(range(4), key=lambda e: (history["val_accuracy"][e], -e)) + 1
    assert best["epoch"] == best_epoch
    assert set(last) >= {"model", "optimizer", "rng", "history", "scheduler"}


def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    path = tmp_path / "logs" / "metrics.csv"
    history = _fit(3, [CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert set(rows[0]) == set(history)
    assert float(rows[2]["val_loss"]) == pytest.approx(history["val_loss"][2])


def test_lr_scheduler_callback_steps_per_batch_and_lambda_callback_sees_every_hook():
    net, optimizer, train, _ = problem.setup(lr=0.1)
    scheduler = gn.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 ** step)
    seen = []
    spy = LambdaCallback(on_train_begin=lambda logs: seen.append("begin"),
                         on_batch_end=lambda batch, logs: seen.append(batch),
                         on_epoch_end=lambda epoch, logs: seen.append(("epoch", epoch)))
    history = fit(net, train, nn.CrossEntropyLoss(), optimizer, 2, verbose=0,
                  callbacks=[LRSchedulerCallback(scheduler, interval="batch"), spy])
    batches = len(train)
    assert seen == ["begin", *range(batches), ("epoch", 0), *range(batches), ("epoch", 1)]
    assert history["lr"] == [0.1, 0.1 * 0.5 ** batches]
    with pytest.raises(TypeError, match="unknown hooks"):
        LambdaCallback(on_epoch_finish=print)


def test_tensorboard_logger_without_tensorboardx_names_the_extra():
    try:
        import tensorboardX  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"pip install ganglion\[tensorboard\]"):
            TensorBoardLogger("runs/tb")
    else:
        pytest.skip("tensorboardX is installed")


def test_one_summary_line_per_epoch_and_nothing_when_quiet(capsys):
    _fit(2, [], verbose=1)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "val_accuracy" in lines[0] and lines[0].endswith(" s)")
    _fit(2, [], verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_is_drawn_on_a_terminal_with_the_running_loss():
    stream = _Terminal()
    with EpochProgress(0, 2, 3, verbose=1, stream=stream) as bar:
        for _ in range(3):
            bar.update({"loss": 0.5, "accuracy": 0.25})
        # tqdm redraws at most every 0.1 s, so the postfix is read where tqdm keeps it.
        assert bar.bar.n == 3 and bar.bar.postfix == "loss 0.5000  accuracy 0.2500"
    assert "epoch 1/2" in stream.getvalue()
    quiet = _Terminal()
    with EpochProgress(0, 2, 3, verbose=0, stream=quiet) as bar:
        bar.update({"loss": 0.5})
    assert quiet.getvalue() == ""


def test_a_resumed_run_remembers_the_best_value_of_the_epochs_before(tmp_path):
    history = _fit(3, [ModelCheckpoint(tmp_path, monitor="val_loss")])
    net, optimizer, train, val = problem.setup()
    checkpoint, stopper = ModelCheckpoint(tmp_path), EarlyStopping(patience=5)
    fit(net, train, nn.CrossEntropyLoss(), optimizer, 3, val_loader=val, verbose=0,
        callbacks=[checkpoint, stopper], resume=tmp_path / "last.safetensors")
    assert checkpoint.tracker.best == stopper.tracker.best == min(history["val_loss"])


def test_model_checkpoint_removes_a_killed_runs_temp_files_when_training_starts(tmp_path):
    import subprocess
    import sys

    from ganglion.io.checkpoint import _HOST
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leaked = [tmp_path / f".last.safetensors.{_HOST}.{dead.pid}.0123abcd.tmp",
              tmp_path / f".best.safetensors.{_HOST}.{dead.pid}.89abcdef.tmp"]
    kept = [tmp_path / "notes.tmp", tmp_path / f".other.safetensors.{_HOST}.{dead.pid}.0123abcd.tmp"]
    for path in leaked + kept:
        path.write_bytes(b"partial checkpoint")
    seen = {}
    _fit(1, [ModelCheckpoint(tmp_path),
             LambdaCallback(on_train_begin=lambda logs: seen.update(
                 names=sorted(p.name for p in tmp_path.iterdir())))])
    assert seen["names"] == sorted(p.name for p in kept)  # before any save of this run
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["best.safetensors", "last.safetensors"] + [p.name for p in kept])
