"""``fit``: the loss falls and the history is complete; compiled steps equal eager ones; a run
resumed from a checkpoint ends with exactly the weights of an uninterrupted run."""
import numpy as np
import pytest
import train_problem as problem

import ganglion as gn
from ganglion import nn
from ganglion.io import CheckpointError
from ganglion.train import ModelCheckpoint, fit


def test_fit_reduces_the_loss_and_returns_the_history():
    net, optimizer, train, val = problem.setup()
    history = fit(net, train, nn.CrossEntropyLoss(), optimizer, 6, val_loader=val,
                  metrics=["accuracy"], verbose=0)
    assert history.epochs == [1, 2, 3, 4, 5, 6]
    assert set(history) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(values) == 6 for values in history.values())
    assert history["loss"][-1] < history["loss"][0] / 2
    assert history["val_accuracy"][-1] > 0.85
    assert history.last()["epoch"] == 6


def test_compiled_steps_give_the_same_history_as_eager_steps():
    histories = []
    for compile in (False, True):
        net, optimizer, train, val = problem.setup()
        scheduler = gn.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        histories.append(fit(net, train, nn.CrossEntropyLoss(), optimizer, 3, val_loader=val,
                             metrics=["accuracy"], scheduler=scheduler, compile=compile,
                             verbose=0))
    eager, compiled = histories
    assert compiled["lr"] == [0.05, 0.025, 0.0125]
    np.testing.assert_allclose(compiled["loss"], eager["loss"], rtol=1e-5)
    np.testing.assert_allclose(compiled["val_loss"], eager["val_loss"], rtol=1e-5)


def test_resuming_after_two_epochs_reaches_the_weights_of_four_uninterrupted_epochs(tmp_path):
    def run(epochs, resume=None, folder=None):
        net, optimizer, train, val = problem.setup()
        scheduler = gn.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
        # Unrelated random draws, so that a resumed run must restore the generators itself.
        gn.manual_seed(123 if resume else 0)
        callbacks = [ModelCheckpoint(folder, monitor="val_loss")] if folder else []
        history = fit(net, train, nn.CrossEntropyLoss(), optimizer, epochs, val_loader=val,
                      scheduler=scheduler, callbacks=callbacks, resume=resume, verbose=0)
        return net, history

    uninterrupted, full_history = run(4)
    run(2, folder=tmp_path)  # the "killed" run: its last checkpoint is after epoch 2
    resumed, history = run(4, resume=tmp_path / "last.safetensors")
    for key, value in problem.weights(uninterrupted).items():
        np.testing.assert_array_equal(problem.weights(resumed)[key], value, err_msg=key)
    assert history == full_history


def test_unknown_metric_is_a_clear_error():
    net, optimizer, train, _ = problem.setup()
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        fit(net, train, nn.CrossEntropyLoss(), optimizer, 1, metrics=["acuracy"], verbose=0)


def test_resume_from_a_checkpoint_of_another_model_names_the_file_key_and_shapes(tmp_path):
    net, optimizer, train, val = problem.setup()
    fit(net, train, nn.CrossEntropyLoss(), optimizer, 1, val_loader=val,
        callbacks=[ModelCheckpoint(tmp_path)], verbose=0)
    other = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    path = tmp_path / "last.safetensors"
    with pytest.raises(CheckpointError, match=rf"(?s){path}.*'0\.weight'.*\(32, 10\).*\(16, 10\)"):
        fit(other, train, nn.CrossEntropyLoss(), gn.optim.Adam(other.parameters()), 2,
            resume=path, verbose=0)
