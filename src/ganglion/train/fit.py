"""``fit``: the training loop, with validation, metrics, callbacks, progress bars and resuming.

    history = fit(model, train_loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
                  epochs=10, val_loader=test_loader, metrics=["accuracy"],
                  callbacks=[ModelCheckpoint("runs/a")])

Each epoch trains on every batch of ``train_loader`` (model in train mode), then evaluates on
``val_loader`` (eval mode, no gradients), logs ``lr``, steps the scheduler, appends the epoch's
logs to the history and calls the callbacks. ``resume=path`` loads a checkpoint written by
``ModelCheckpoint`` and continues with the epoch after the saved one; ``epochs`` is the total,
as with Keras's ``initial_epoch``. A checkpoint that does not fit the run (another model,
optimizer or scheduler, an edited epoch or history) is refused with a ``CheckpointError`` that
names the file and every mismatch, before anything is changed.

Under ``mpiexec -n N`` (a process group of several ranks, ``ganglion.distributed``) the same
call trains data-parallel: see ``ganglion.train.data_parallel``.
"""
from ganglion import metrics as metric_functions
from ganglion.train.callbacks import CallbackList, LRSchedulerCallback
from ganglion.train.data_parallel import DataParallelCompiledStep, data_parallel_run
from ganglion.train.progress import EpochProgress
from ganglion.train.state import TrainingRun, restore_training_state
from ganglion.train.steps import CompiledTrainStep, EagerTrainStep, evaluate, split_batch

__all__ = ["fit", "resolve_metrics"]

_METRIC_NAMES = {"accuracy": metric_functions.accuracy, "acc": metric_functions.accuracy,
                 "mse": metric_functions.mean_squared_error,
                 "mae": metric_functions.mean_absolute_error,
                 "r2": metric_functions.r2_score}


def resolve_metrics(metrics):
    """{name: fn(y_true, y_pred)} from names ('accuracy', 'mse', 'mae', 'r2', any function of
    ``ganglion.metrics``), functions, or a dict of them."""
    if metrics is None:
        return {}
    if isinstance(metrics, dict):
        return dict(metrics)
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    resolved = {}
    for metric in metrics:
        if callable(metric):
            resolved[getattr(metric, "__name__", "metric")] = metric
            continue
        if metric in _METRIC_NAMES:
            fn = _METRIC_NAMES[metric]
        elif metric in metric_functions.__all__:
            fn = getattr(metric_functions, metric)
        else:
            raise ValueError(f"fit: unknown metric {metric!r}; use one of "
                             f"{', '.join(sorted(_METRIC_NAMES))} or a function of "
                             "ganglion.metrics, or pass a function(y_true, y_pred)")
        resolved[metric] = fn
    return resolved


def fit(model, train_loader, loss_fn, optimizer, epochs, val_loader=None, metrics=None,
        callbacks=(), scheduler=None, clip_grad_norm=None, compile=False, resume=None, verbose=1):
    """Train ``model`` for ``epochs`` epochs (in total, counting resumed ones); returns the
    History. ``metrics``: names or functions computed on each batch's outputs (running mean
    in the bar and the logs) and on the whole validation set. ``scheduler`` is stepped after
    every epoch (ReduceLROnPlateau with val_loss, else loss); use ``LRSchedulerCallback(...,
    interval='batch')`` for per-batch schedules. ``clip_grad_norm``: clip the gradients'
    total 2-norm to this value. ``compile=True`` runs each step as a compiled function (rebuilt
    when a scheduler changes the learning rate: cheap per epoch, costly per batch).
    ``verbose=0`` prints nothing."""
    metric_fns = resolve_metrics(metrics)
    parallel = data_parallel_run(model, train_loader, val_loader)
    step_model = model
    if parallel is not None:
        step_model, model = parallel.ddp, parallel.model
        train_loader, val_loader = parallel.train_loader, parallel.val_loader
        callbacks = [c for c in callbacks or () if parallel.keeps(c)]
        verbose = verbose if parallel.rank == 0 else 0
    run = TrainingRun(model, optimizer, scheduler, train_loader, val_loader, epochs)
    callback_list = list(callbacks or ())
    if scheduler is not None:
        # First, so that callbacks after it (ModelCheckpoint) see the stepped scheduler.
        callback_list.insert(0, LRSchedulerCallback(scheduler, "epoch"))
    callback_list = CallbackList(callback_list)
    callback_list.set_run(run)
    if compile:
        step_type = CompiledTrainStep if parallel is None else DataParallelCompiledStep
        step = step_type(model, loss_fn, optimizer, clip_grad_norm)
    else:
        step = EagerTrainStep(step_model, loss_fn, optimizer, clip_grad_norm)
    if resume is not None:
        restore_training_state(run, resume)

    callback_list.on_train_begin()
    while run.epoch < epochs and not run.stop_training:
        epoch = run.epoch
        callback_list.on_epoch_begin(epoch)
        logs = {"epoch": epoch + 1}
        lr = optimizer.param_groups[0]["lr"]
        if parallel is not None:
            parallel.start_epoch(epoch)
        with EpochProgress(epoch, epochs, len(train_loader), verbose) as progress:
            logs.update(_train_epoch(run, step, metric_fns, callback_list, progress, parallel))
            if parallel is not None:
                parallel.end_epoch()
            if val_loader is not None:
                val_logs = evaluate(model, val_loader, loss_fn, metric_fns, prefix="val_")
                if parallel is not None and parallel.val_count is not None:
                    val_logs = parallel.average(val_logs, parallel.val_count)
                logs.update(val_logs)
            logs["lr"] = lr
            run.history.append(logs)
            run.epoch = epoch + 1
            callback_list.on_epoch_end(epoch, logs)
            progress.summary(logs)
    callback_list.on_train_end(run.history.last())
    return run.history


def _train_epoch(run, step, metric_fns, callback_list, progress, parallel=None):
    """{'loss': mean, metric: mean} over the epoch's batches (means weighted by batch size;
    over every rank's batches when ``parallel``)."""
    run.model.train()
    totals = dict.fromkeys(["loss", *metric_fns], 0.0)
    count = 0
    for batch_index, batch in enumerate(run.train_loader):
        callback_list.on_batch_begin(batch_index)
        x, y = split_batch(batch)
        loss, output = step(x, y)
        n = len(output)
        count += n
        totals["loss"] += loss * n
        for name, fn in metric_fns.items():
            totals[name] += float(fn(y, output)) * n
        running = {name: total / count for name, total in totals.items()}
        progress.update(running)
        callback_list.on_batch_end(batch_index, {"loss": loss})
    means = {name: total / max(count, 1) for name, total in totals.items()}
    return means if parallel is None else parallel.average(means, count)
