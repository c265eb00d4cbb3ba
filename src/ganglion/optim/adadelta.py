"""Adadelta: steps scaled by the ratio of running RMS values of past updates and of gradients,
as ``torch.optim.Adadelta``."""
from ganglion.optim.optimizer import Optimizer, check_fraction, check_nonnegative

__all__ = ["Adadelta", "adadelta_update"]


def adadelta_update(ops, param, grad, state, step, group, scratch):
    """One Adadelta step of ``param`` (see ``update_ops`` for the arguments)."""
    rho, eps = group["rho"], group["eps"]
    grad = ops.descent_gradient(grad, param, group["weight_decay"], group["maximize"], scratch[0])
    square_avg = ops.addcmul_(ops.mul_(state["square_avg"], rho), grad, grad, 1 - rho, scratch[1])
    std = ops.sqrt(ops.add_scalar(square_avg, eps, scratch[1]), scratch[1])
    delta = ops.sqrt(ops.add_scalar(state["acc_delta"], eps, scratch[2]), scratch[2])
    delta = ops.mul_(ops.div_(delta, std), grad)
    acc_delta = ops.addcmul_(ops.mul_(state["acc_delta"], rho), delta, delta, 1 - rho, scratch[1])
    return {"square_avg": square_avg, "acc_delta": acc_delta,
            "param": ops.add_(param, delta, -group["lr"], scratch[1])}


class Adadelta(Optimizer):
    """``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False)``, as
    ``torch.optim.Adadelta``."""

    update_rule = staticmethod(adadelta_update)
    scratch_buffers = 3
    state_names = ("square_avg", "acc_delta")

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _check_options(self, group):
        check_nonnegative(self, group, "lr", "eps", "weight_decay")
        check_fraction(self, "rho", group["rho"], include_one=True)

    def _state_names(self, group):
        return ("square_avg", "acc_delta")
