"""``tf.train``: optimizers whose ``minimize`` returns an update op, the global step, learning
rate decay, and ``Saver`` writing ganglion checkpoints.

Reference: TF 1.15 ``tf.train`` and its update rules (``training_ops``):
gradient descent ``var -= lr * g``; momentum ``accum = momentum * accum + g``, ``var -= lr *
accum`` (Nesterov: ``var -= lr * (g + momentum * accum)``); Adam with ``lr_t = lr *
sqrt(1 - beta2^t) / (1 - beta1^t)`` and ``var -= lr_t * m / (sqrt(v) + epsilon)`` (epsilon
outside the bias correction, TF's "epsilon hat"); RMSProp ``ms = decay * ms + (1 - decay) g^2``,
``mom = momentum * mom + lr g / sqrt(ms + eps)``, ``var -= mom``; Adagrad ``accum += g^2``,
``var -= lr g / sqrt(accum)``. An optimizer's slots are TF variables, so ``Saver`` and
``global_variables_initializer`` include them. The update op's values are all computed from the
values before the step, as one TF step.
``Saver.save`` writes the variables by their TF names (``dense/kernel``) with ``ganglion.save``
(a safetensors file) to ``save_path`` + ``.safetensors`` and a ``checkpoint`` file naming the
latest one, as TF's; ``restore`` and ``tf.train.latest_checkpoint`` read them back.
"""
import os

import numpy as np

import ganglion as gn
from ganglion.compat.tensorflow.graph import (GraphKeys, Operation, Variable, _make_variable,
                                              get_default_graph,
                                              global_variables, int64, trainable_variables,
                                              zeros_initializer)
from ganglion.core.ops.elementwise import cast as _cast
from ganglion.core.tensor import Tensor

__all__ = ["Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer",
           "RMSPropOptimizer", "AdagradOptimizer", "get_global_step", "create_global_step",
           "get_or_create_global_step", "exponential_decay", "Saver", "latest_checkpoint"]


def get_global_step(graph=None):
    steps = (graph or get_default_graph()).get_collection(GraphKeys.GLOBAL_STEP)
    return steps[0] if steps else None


def create_global_step(graph=None):
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError("create_global_step: the global step already exists")
    step = _make_variable(graph, "global_step", (), int64,
                          lambda: np.zeros((), np.int64), trainable=False)
    graph.variables["global_step"] = step
    graph.add_to_collection(GraphKeys.GLOBAL_STEP, step)
    return step


def get_or_create_global_step(graph=None):
    return get_global_step(graph) or create_global_step(graph)


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """learning_rate * decay_rate ^ (global_step / decay_steps) (the exponent floored with
    ``staircase``)."""
    exponent = _cast(global_step, gn.float64) / float(decay_steps)
    if staircase:
        exponent = gn.floor(exponent)
    return _cast(learning_rate * gn.pow(gn.tensor(float(decay_rate), dtype=gn.float64), exponent),
                 gn.float32)


class Optimizer:
    """The shared part: ``compute_gradients`` -> [(gradient, variable)], ``apply_gradients`` ->
    an update op, ``minimize`` = both. Subclasses give ``_slots`` and ``_apply``."""

    slot_names = ()

    def __init__(self, learning_rate, use_locking=False, name=None):
        self.learning_rate = learning_rate
        self.name = name or type(self).__name__.replace("Optimizer", "") or "Optimizer"
        self.slots = {}

    def compute_gradients(self, loss, var_list=None, gate_gradients=1, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):
        """[(d loss / d var, var)] for each trainable variable (gradient None where the loss does
        not depend on it)."""
        if not isinstance(loss, Tensor) or loss._data is not None:
            raise TypeError(f"{type(self).__name__}.compute_gradients: loss must be a tensor of "
                            f"the graph (built from placeholders and variables), got {loss!r}")
        if loss.ndim != 0:
            loss = gn.sum(loss)  # TF differentiates the sum of a non-scalar loss
        variables = list(var_list) if var_list is not None else trainable_variables()
        # integer variables (counters) have no gradient, as in TF
        variables = [v for v in variables if v.dtype.is_floating_point]
        if not variables:
            raise ValueError(f"{type(self).__name__}.compute_gradients: no variables to optimize")
        grads = gn.grad(loss if grad_loss is None else gn.sum(loss * grad_loss), variables,
                        allow_unused=True)
        return list(zip(grads, variables))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """An op applying one step of the rule for each (gradient, variable) pair (pairs with a
        None gradient are skipped) and adding 1 to ``global_step``."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            names = [getattr(v, "op_name", v.name) for _, v in grads_and_vars]
            raise ValueError(f"{type(self).__name__}.apply_gradients: no gradients provided for "
                             f"any variable: {names}")
        updates = self._prepare()
        for g, v in pairs:
            if not isinstance(v, Variable):
                raise TypeError(f"{type(self).__name__}.apply_gradients: {v!r} is not a tf "
                                "Variable")
            updates += self._apply(_cast(g, v.dtype) if g.dtype is not v.dtype else g, v)
        if global_step is not None:
            updates.append((global_step, global_step + 1))
        return Operation(updates=updates, name=name or self.name)

    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=1,
                 aggregation_method=None, colocate_gradients_with_ops=False, name=None,
                 grad_loss=None):
        """The op of one step on ``loss`` (fetch it in ``sess.run``; its value is None)."""
        return self.apply_gradients(self.compute_gradients(loss, var_list, grad_loss=grad_loss),
                                    global_step, name)

    def _prepare(self):
        return []

    def _lr(self, like):
        lr = self.learning_rate
        return _cast(lr, like.dtype) if isinstance(lr, Tensor) and lr.dtype is not like.dtype else lr

    def get_slot(self, var, name):
        return self.slots.get((var.op_name, name))

    def get_slot_names(self):
        return list(self.slot_names)

    def variables(self):
        return list(self.slots.values())

    def _slot(self, var, slot_name, initializer=None):
        """The optimizer's variable ``var/<Optimizer>[_<slot>]`` of ``var``'s shape (zeros)."""
        key = (var.op_name, slot_name)
        if key not in self.slots:
            name = f"{var.op_name}/{self.name}" + (f"_{slot_name}" if slot_name else "")
            init = initializer or zeros_initializer()
            shape, dtype = tuple(var.shape), var.dtype
            self.slots[key] = _make_variable(get_default_graph(), name, shape, dtype,
                                             lambda: init(shape, dtype), trainable=False)
        return self.slots[key]

    def _scalar(self, name, value):
        """A non-slot variable of the optimizer (Adam's beta powers)."""
        key = (None, name)
        if key not in self.slots:
            self.slots[key] = _make_variable(get_default_graph(), name, (), gn.float32,
                                             lambda: np.asarray(value, np.float32), trainable=False)
        return self.slots[key]


class GradientDescentOptimizer(Optimizer):
    """var -= learning_rate * gradient."""

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(learning_rate, use_locking, name)

    def _apply(self, g, v):
        return [(v, v - self._lr(v) * g)]


class MomentumOptimizer(Optimizer):
    """accum = momentum * accum + g; var -= lr * accum (Nesterov: var -= lr * (g + momentum *
    accum))."""

    slot_names = ("momentum",)

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum",
                 use_nesterov=False):
        super().__init__(learning_rate, use_locking, name)
        self.momentum = momentum
        self.use_nesterov = use_nesterov

    def _apply(self, g, v):
        accum = self._slot(v, "")
        new_accum = accum * self.momentum + g
        step = g + self.momentum * new_accum if self.use_nesterov else new_accum
        return [(accum, new_accum), (v, v - self._lr(v) * step)]


class AdamOptimizer(Optimizer):
    """TF's Adam (module docstring): bias corrections through beta1_power / beta2_power
    variables, epsilon added to sqrt(v) outside the correction."""

    slot_names = ("m", "v")

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08,
                 use_locking=False, name="Adam"):
        super().__init__(learning_rate, use_locking, name)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def _prepare(self):
        self.beta1_power = self._scalar("beta1_power", self.beta1)
        self.beta2_power = self._scalar("beta2_power", self.beta2)
        return [(self.beta1_power, self.beta1_power * self.beta1),
                (self.beta2_power, self.beta2_power * self.beta2)]

    def _apply(self, g, v):
        m, s = self._slot(v, ""), self._slot(v, "1")
        lr = self._lr(v) * gn.sqrt(1 - self.beta2_power) / (1 - self.beta1_power)
        new_m = m * self.beta1 + g * (1 - self.beta1)
        new_s = s * self.beta2 + g * g * (1 - self.beta2)
        return [(m, new_m), (s, new_s), (v, v - lr * new_m / (gn.sqrt(new_s) + self.epsilon))]


class RMSPropOptimizer(Optimizer):
    """ms = decay ms + (1 - decay) g^2; mom = momentum mom + lr g / sqrt(ms + eps); var -= mom
    (ms starts at 1, as TF's)."""

    slot_names = ("rms", "momentum")

    def __init__(self, learning_rate, decay=0.9, momentum=0.0, epsilon=1e-10, use_locking=False,
                 centered=False, name="RMSProp"):
        super().__init__(learning_rate, use_locking, name)
        if centered:
            raise ValueError("RMSPropOptimizer: centered=True is not supported")
        self.decay, self.momentum, self.epsilon = decay, momentum, epsilon

    def _apply(self, g, v):
        from ganglion.compat.tensorflow.graph import ones_initializer
        ms, mom = self._slot(v, "", ones_initializer()), self._slot(v, "1")
        new_ms = ms * self.decay + g * g * (1 - self.decay)
        new_mom = mom * self.momentum + self._lr(v) * g / gn.sqrt(new_ms + self.epsilon)
        return [(ms, new_ms), (mom, new_mom), (v, v - new_mom)]


class AdagradOptimizer(Optimizer):
    """accum += g^2; var -= lr g / sqrt(accum) (accum starts at 0.1)."""

    slot_names = ("accumulator",)

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False,
                 name="Adagrad"):
        super().__init__(learning_rate, use_locking, name)
        self.initial = initial_accumulator_value

    def _apply(self, g, v):
        from ganglion.compat.tensorflow.graph import constant_initializer
        accum = self._slot(v, "", constant_initializer(self.initial))
        new_accum = accum + g * g
        return [(accum, new_accum), (v, v - self._lr(v) * g / gn.sqrt(new_accum))]


# ----- checkpoints ------------------------------------------------------------------------------
def _checkpoint_file(path):
    return path if str(path).endswith(".safetensors") else f"{path}.safetensors"


class Saver:
    """Saves and restores variables (all global ones by default, or ``var_list``: a list or a
    {name: variable} dict) by name, in ganglion's safetensors checkpoints."""

    def __init__(self, var_list=None, max_to_keep=5, **unused):
        if var_list is None:
            var_list = global_variables()
        if isinstance(var_list, dict):
            self.variables = dict(var_list)
        else:
            self.variables = {v.op_name: v for v in var_list}
        if not self.variables:
            raise ValueError("Saver: no variables to save")
        self.max_to_keep = max_to_keep
        self.saved = []

    def save(self, sess, save_path, global_step=None, latest_filename=None, **unused):
        """Write the variables' values to ``save_path[-global_step]`` + ``.safetensors``;
        returns the prefix (what ``restore`` takes). Keeps the last ``max_to_keep``."""
        prefix = str(save_path)
        if global_step is not None:
            step = int(np.asarray(sess.run(global_step) if isinstance(global_step, Tensor)
                                  else global_step))
            prefix = f"{prefix}-{step}"
        for name, variable in self.variables.items():
            if not variable.initialized:
                raise ValueError(f"Saver.save: variable {name} is not initialized")
        state = {name: gn.from_numpy(variable.get_value()) for name, variable in
                 self.variables.items()}
        gn.save(state, _checkpoint_file(prefix))
        self.saved = [p for p in self.saved if p != prefix] + [prefix]
        if self.max_to_keep and len(self.saved) > self.max_to_keep:
            for old in self.saved[:-self.max_to_keep]:
                if os.path.exists(_checkpoint_file(old)):
                    os.remove(_checkpoint_file(old))
            self.saved = self.saved[-self.max_to_keep:]
        folder = os.path.dirname(prefix) or "."
        with open(os.path.join(folder, latest_filename or "checkpoint"), "w") as f:
            f.write(f'model_checkpoint_path: "{os.path.basename(prefix)}"\n')
            for p in self.saved:
                f.write(f'all_model_checkpoint_paths: "{os.path.basename(p)}"\n')
        return prefix

    def restore(self, sess, save_path):
        """Load the variables from the checkpoint ``save_path`` (a prefix returned by
        ``save``); every variable of this saver must be in it, with its shape."""
        if save_path is None:
            raise ValueError("Saver.restore: save_path is None (no checkpoint found?)")
        path = _checkpoint_file(save_path)
        if not os.path.exists(path):
            raise ValueError(f"Saver.restore: the checkpoint {path} does not exist")
        state = gn.load(path)
        for name, variable in self.variables.items():
            if name not in state:
                raise KeyError(f"Saver.restore: variable {name} not found in checkpoint {path} "
                               f"(it holds {sorted(state)})")
            value = state[name].numpy()
            if value.shape != tuple(variable.shape):
                raise ValueError(f"Saver.restore: variable {name} has shape "
                                 f"{tuple(variable.shape)}, the checkpoint's value has shape "
                                 f"{value.shape}")
            variable.load(value)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest checkpoint named in ``checkpoint_dir/checkpoint``, or None."""
    path = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            if line.startswith("model_checkpoint_path:"):
                return os.path.join(checkpoint_dir, line.split(":", 1)[1].strip().strip('"'))
    return None
