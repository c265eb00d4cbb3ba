"""One training step, eager or compiled, and evaluation over a loader.

The eager step is the loop every PyTorch user writes (forward, loss, backward, optional
gradient clipping, optimizer step). The compiled step builds the same computation once on
placeholders whose batch dimension is left open, takes the optimizer's symbolic updates
(``optimizer.updates(cost)``: parameters and optimizer state together) and compiles it with
``ganglion.function``: later steps run the compiled schedule with no graph building. Because a
compiled function keeps the options it was built with, it is rebuilt whenever a scheduler has
changed an option (learning rate, momentum) since the last build.
"""
import numpy as np

from ganglion.core.grad_mode import no_grad
from ganglion.core.tensor import Tensor
from ganglion.nn.utils import clip_grad_norm_
from ganglion.symbolic.function import function
from ganglion.symbolic.placeholders import tensor as placeholder

__all__ = ["EagerTrainStep", "CompiledTrainStep", "evaluate", "split_batch"]


def split_batch(batch):
    """(inputs, targets) of a loader's batch: a pair, or a longer tuple whose first two count."""
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise TypeError(f"fit: a batch must be (inputs, targets), got {type(batch).__name__}")


class EagerTrainStep:
    """``step(x, y) -> (loss as a float, model output)``, run eagerly."""

    def __init__(self, model, loss_fn, optimizer, clip_grad_norm=None):
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.clip_grad_norm = clip_grad_norm

    def __call__(self, x, y):
        output = self.model(x)
        loss = self.loss_fn(output, y)
        self.optimizer.zero_grad()
        loss.backward()
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
        self.optimizer.step()
        return loss.item(), output.detach()


def _options(optimizer):
    """The group options a compiled step depends on, as a hashable key."""
    return tuple(tuple(sorted((k, repr(v)) for k, v in group.items() if k != "params"))
                 for group in optimizer.param_groups)


class CompiledTrainStep:
    """``step(x, y) -> (loss as a float, model output as an array)``, run by a compiled
    ``ganglion.function`` (one per input signature and set of optimizer options)."""

    def __init__(self, model, loss_fn, optimizer, clip_grad_norm=None):
        if clip_grad_norm is not None:
            raise ValueError("fit: clip_grad_norm is not supported with compile=True yet; "
                             "train eagerly (compile=False) to clip gradients")
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.compiled = {}

    def _build(self, x, y):
        xs = placeholder(x.dtype, (None,) + tuple(x.shape[1:]), name="inputs")
        ys = placeholder(y.dtype, (None,) + tuple(y.shape[1:]), name="targets")
        output = self.model(xs)
        cost = self.loss_fn(output, ys)
        return function([xs, ys], [cost, output], updates=self.optimizer.updates(cost))

    def __call__(self, x, y):
        key = (x.dtype, tuple(x.shape[1:]), y.dtype, tuple(y.shape[1:]), self.model.training,
               _options(self.optimizer))
        run = self.compiled.get(key)
        if run is None:
            # Options changed (a scheduler step): the old functions will not be used again.
            self.compiled = {k: f for k, f in self.compiled.items() if k[-1] == key[-1]}
            run = self.compiled[key] = self._build(x, y)
        loss, output = run(x, y)
        return float(loss), output


def _as_array(value):
    return value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)


@no_grad()
def evaluate(model, loader, loss_fn=None, metrics=None, prefix=""):
    """{prefix + 'loss': mean loss, prefix + name: metric} over every batch of ``loader``, with
    the model in eval mode (put back in its previous mode afterwards). Metrics are computed once
    on all outputs, so that they are exact, not averages of per-batch values."""
    metrics = metrics or {}
    was_training = model.training
    model.eval()
    total_loss, count, outputs, targets = 0.0, 0, [], []
    try:
        for batch in loader:
            x, y = split_batch(batch)
            output = model(x)
            n = len(output)
            if loss_fn is not None:
                total_loss += loss_fn(output, y).item() * n
            count += n
            if metrics:
                outputs.append(_as_array(output))
                targets.append(_as_array(y))
    finally:
        model.train(was_training)
    logs = {}
    if loss_fn is not None:
        logs[prefix + "loss"] = total_loss / max(count, 1)
    if metrics and outputs:
        all_outputs, all_targets = np.concatenate(outputs), np.concatenate(targets)
        for name, metric in metrics.items():
            logs[prefix + name] = float(metric(all_targets, all_outputs))
    return logs
