"""Adagrad: per-coordinate steps scaled by the root of the summed squared gradients, with a
decaying learning rate, as ``torch.optim.Adagrad``."""
from ganglion.backend import current as backend
from ganglion.optim.optimizer import Optimizer, check_nonnegative

__all__ = ["Adagrad", "adagrad_update"]


def adagrad_update(ops, param, grad, state, step, group, scratch):
    """One Adagrad step of ``param`` (see ``update_ops`` for the arguments); ``step`` counts
    from 1."""
    grad = ops.descent_gradient(grad, param, group["weight_decay"], group["maximize"], scratch[0])
    step_lr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
    state_sum = ops.addcmul_(state["sum"], grad, grad, 1.0, scratch[1])
    std = ops.add_(ops.sqrt(state_sum, scratch[1]), group["eps"])
    return {"sum": state_sum, "param": ops.addcdiv_(param, grad, std, -step_lr, scratch[1])}


class Adagrad(Optimizer):
    """``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10, maximize=False)``, as ``torch.optim.Adagrad``."""

    update_rule = staticmethod(adagrad_update)
    scratch_buffers = 2
    state_names = ("sum",)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _check_options(self, group):
        check_nonnegative(self, group, "lr", "lr_decay", "weight_decay",
                          "initial_accumulator_value", "eps")

    def _initial_state(self, param_array, group):
        return {"sum": backend.xp.full_like(param_array, group["initial_accumulator_value"])}

    def _state_names(self, group):
        return ("sum",)
