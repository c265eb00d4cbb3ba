"""ganglion.train: the ``fit`` loop, callbacks, progress display and resumable training state.

::

    from ganglion.train import fit, ModelCheckpoint, EarlyStopping
    history = fit(model, train_loader, loss_fn, optimizer, epochs=10, val_loader=test_loader,
                  metrics=["accuracy"], callbacks=[ModelCheckpoint("runs/a")])
"""
from ganglion.train.callbacks import (Callback, CSVLogger, EarlyStopping, LambdaCallback,
                                      LRSchedulerCallback, ModelCheckpoint, TensorBoardLogger)
from ganglion.train.fit import fit
from ganglion.train.history import History
from ganglion.train.state import TrainingRun, restore_training_state, training_state
from ganglion.train.steps import evaluate

__all__ = ["fit", "evaluate", "History", "Callback", "EarlyStopping", "ModelCheckpoint",
           "LRSchedulerCallback", "CSVLogger", "TensorBoardLogger", "LambdaCallback",
           "TrainingRun", "training_state", "restore_training_state"]
