"""Learning-rate schedules, computed as ``torch.optim.lr_scheduler`` computes them.

Like PyTorch, ``step()`` updates each group's learning rate *recursively* from its current value
(``get_lr``), so a schedule composes with other changes of ``group['lr']``, while
``step(epoch)`` jumps to an epoch with the *closed form* (``_closed_form_lr``) where one exists.
The two agree only up to rounding, and PyTorch's sequences are reproduced exactly only by doing
as it does, so both forms are kept here. ``state_dict()`` holds plain values only (numbers,
lists, dicts), ready for JSON.
"""
import math
from numbers import Real

from ganglion.optim.optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR",
           "CosineAnnealingLR", "LinearLR", "OneCycleLR", "ReduceLROnPlateau"]


class LRScheduler:
    """Base class: subclasses define ``get_lr()``, the learning rates for ``last_epoch``
    computed from the current ones, and optionally ``_closed_form_lr()``."""

    #: Attributes that ``state_dict()`` leaves out (not plain values).
    _not_saved = ("optimizer",)

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an "
                            "Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for k, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param_groups[{k}] has no 'initial_lr', "
                                   f"which resuming with last_epoch={last_epoch} needs: load the "
                                   "optimizer's state dict first")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        # The constructor's step sets the learning rates of epoch 0; some schedules must not
        # change them then when resuming (PyTorch's "initial mode").
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_last_lr(self):
        """The learning rates set by the latest step, one per parameter group."""
        return self._last_lr

    def step(self, epoch=None):
        """Advance one epoch (or jump to ``epoch``) and set the groups' learning rates."""
        # get_lr reads the new epoch, but a step it refuses (OneCycleLR past total_steps) must
        # leave the counters as they were.
        previous = self._step_count, self.last_epoch
        self._step_count += 1
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        except BaseException:
            self._step_count, self.last_epoch = previous
            raise
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {key: value for key, value in self.__dict__.items() if key not in self._not_saved}

    def load_state_dict(self, state_dict):
        """Load what ``state_dict()`` returned. Every entry is checked first against this
        scheduler's own state (the same keys; numbers, flags, texts and lists where it has
        them; one learning rate per parameter group), and nothing changes unless all fit."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise ValueError(f"{where}: expected a dict (what state_dict() returns), got a "
                             f"{type(state_dict).__name__}")
        current = self.state_dict()
        unknown = sorted(set(state_dict) - set(current), key=str)
        missing = sorted(set(current) - set(state_dict))
        if unknown or missing:
            problems = ([f"has keys {unknown} that {type(self).__name__} does not keep"]
                        if unknown else []) + ([f"lacks the keys {missing}"] if missing else [])
            raise ValueError(f"{where}: the state dict {' and '.join(problems)} (was it saved "
                             "by another scheduler?)")
        groups = len(self.optimizer.param_groups)
        for key, value in state_dict.items():
            _check_like(where, key, value, current[key], groups)
        self.__dict__.update(state_dict)


#: Entries of a scheduler's state that hold one value per parameter group.
_PER_GROUP = frozenset({"base_lrs", "_last_lr", "min_lrs"})
#: Entries that take one of a few texts.
_CHOICES = {"mode": ("min", "max"), "threshold_mode": ("rel", "abs"),
            "anneal_strategy": ("cos", "linear")}


def _kind(value):
    """What kind of value a state entry holds, as load_state_dict compares them."""
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, Real):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a dict"
    return None if value is None else type(value).__name__


def _check_like(where, key, value, reference, groups):
    """ValueError unless the saved ``value`` of entry ``key`` is of the kind of ``reference``,
    this scheduler's own value (lists element by element)."""
    expected = _kind(reference)
    if expected is None:  # an entry not set yet (None) takes any value
        return
    got = _kind(value)
    if got != expected:
        raise ValueError(f"{where}: {key!r} is {got or 'None'} ({value!r}), expected "
                         f"{expected}")
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ValueError(f"{where}: {key!r} is {value!r}, expected one of {_CHOICES[key]}")
    if expected != "a list":
        return
    if key in _PER_GROUP and len(value) != groups:
        raise ValueError(f"{where}: {key!r} has {len(value)} values, but the optimizer has "
                         f"{groups} parameter groups (one value per group)")
    if len(value) == len(reference):
        for k, (item, like) in enumerate(zip(value, reference)):
            _check_like(where, f"{key}[{k}]", item, like, groups)
    elif reference:
        for k, item in enumerate(value):
            _check_like(where, f"{key}[{k}]", item, reference[0], groups)


class LambdaLR(LRScheduler):
    """lr = initial_lr * lr_lambda(epoch), one function or one per group. The functions are
    not part of ``state_dict()``."""

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        groups = optimizer.param_groups
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(groups):
                raise ValueError(f"LambdaLR: expected {len(groups)} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(groups)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base_lr * fn(self.last_epoch)
                for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone epoch (by gamma**n at a
    milestone listed n times)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        times = self.milestones.count(self.last_epoch)
        if times == 0:
            return self._current_lrs()
        return [lr * self.gamma ** times for lr in self._current_lrs()]

    def _closed_form_lr(self):
        passed = sum(1 for m in self.milestones if m <= self.last_epoch)
        return [base_lr * self.gamma ** passed for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the initial learning rate to ``eta_min`` over ``T_max`` epochs
    (and back up over the next T_max, as PyTorch's recursive form does)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):  # noqa: N803 (PyTorch's name)
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / t_max)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - t_max) % (2 * t_max) == 0:
            return [lr + (base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._current_lrs())]
        return [(1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max))
                * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the learning rate by a factor going linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs (a warm-up)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: invalid start_factor {start_factor!r}: it must be in "
                             "(0, 1]")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: invalid end_factor {end_factor!r}: it must be in [0, 1]")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        change = self.end_factor - self.start_factor
        factor = 1.0 + change / (self.total_iters * self.start_factor
                                 + (self.last_epoch - 1) * change)
        return [lr * factor for lr in self._current_lrs()]

    def _closed_form_lr(self):
        change = self.end_factor - self.start_factor
        return [base_lr * (self.start_factor + change * min(self.total_iters, self.last_epoch)
                           / self.total_iters) for base_lr in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin): the learning rate rises from max_lr / div_factor to
    ``max_lr``, then falls to initial_lr / final_div_factor (with ``three_phase``, first back to
    the initial value), over ``total_steps`` steps; momentum (or Adam's beta1) cycles the
    other way when ``cycle_momentum``. Call ``step()`` after every batch."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"OneCycleLR: invalid total_steps {total_steps!r}: expected a "
                                 "positive integer")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            for option, value in (("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
                if not isinstance(value, int) or value <= 0:
                    raise ValueError(f"OneCycleLR: invalid {option} {value!r}: expected a positive "
                                     "integer")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: invalid pct_start {pct_start!r}: expected a float in "
                             "[0, 1]")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: invalid anneal_strategy {anneal_strategy!r}: expected "
                             "'cos' or 'linear'")
        self.anneal_strategy = anneal_strategy
        up_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self.phases = [
                [up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [float(2 * pct_start * self.total_steps) - 2, "max_lr", "initial_lr",
                 "base_momentum", "max_momentum"],
                [self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"]]
        else:
            self.phases = [
                [up_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"],
                [self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"]]
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, _per_group(optimizer, "max_lr", max_lr)):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycleLR: cycle_momentum needs an optimizer with momentum or "
                                 f"betas, and {type(optimizer).__name__} has neither")
            self.use_beta1 = "betas" in optimizer.defaults
            if last_epoch == -1:
                tops = _per_group(optimizer, "max_momentum", max_momentum)
                bottoms = _per_group(optimizer, "base_momentum", base_momentum)
                for group, top, bottom in zip(optimizer.param_groups, tops, bottoms):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for k, (end_step, start_lr, end_lr, start_mom, end_mom) in enumerate(self.phases):
                if step <= end_step or k == len(self.phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[start_lr], group[end_lr], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[start_mom], group[end_mom],
                                                               pct))
                    break
                start_step = end_step
        return lrs


def _per_group(optimizer, option, value):
    groups = optimizer.param_groups
    if isinstance(value, (list, tuple)):
        if len(value) != len(groups):
            raise ValueError(f"{option}: expected one value per parameter group ({len(groups)}), "
                             f"got {len(value)}")
        return list(value)
    return [value] * len(groups)


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when the metric passed to ``step(metric)`` has
    not improved for ``patience`` epochs (improved: by ``threshold``, relative or absolute per
    ``threshold_mode``); wait ``cooldown`` epochs after a reduction; never go below ``min_lr``."""

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: {type(optimizer).__name__} is not an Optimizer")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: invalid factor {factor!r}: it must be < 1")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: invalid mode {mode!r}: expected 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: invalid threshold_mode {threshold_mode!r}: "
                             "expected 'rel' or 'abs'")
        self.optimizer = optimizer
        self.factor = factor
        self.min_lrs = _per_group(optimizer, "min_lr", min_lr)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics, epoch=None):
        current = float(metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old_lr = float(group["lr"])
                new_lr = max(old_lr * self.factor, min_lr)
                if old_lr - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _is_better(self, value):
        if self.mode == "min":
            limit = self.best * (1 - self.threshold) if self.threshold_mode == "rel" \
                else self.best - self.threshold
            return value < limit
        limit = self.best * (1 + self.threshold) if self.threshold_mode == "rel" \
            else self.best + self.threshold
        return value > limit
