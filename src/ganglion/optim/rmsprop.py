"""RMSprop: divide the gradient by a running root mean square of its recent values (optionally
centered by the running mean), with optional momentum, as ``torch.optim.RMSprop``."""
from ganglion.optim.optimizer import Optimizer, check_nonnegative

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(ops, param, grad, state, step, group, scratch):
    """One RMSprop step of ``param`` (see ``update_ops`` for the arguments)."""
    alpha, lr = group["alpha"], group["lr"]
    grad = ops.descent_gradient(grad, param, group["weight_decay"], group["maximize"], scratch[0])
    square_avg = ops.addcmul_(ops.mul_(state["square_avg"], alpha), grad, grad, 1 - alpha,
                              scratch[1])
    new = {"square_avg": square_avg}
    if group["centered"]:
        grad_avg = new["grad_avg"] = ops.lerp_(state["grad_avg"], grad, 1 - alpha, scratch[1])
        variance = ops.addcmul(square_avg, grad_avg, grad_avg, -1.0, scratch[1])
        avg = ops.sqrt(variance, scratch[1])
    else:
        avg = ops.sqrt(square_avg, scratch[1])
    avg = ops.add_(avg, group["eps"])
    if group["momentum"] > 0:
        buf = ops.addcdiv_(ops.mul_(state["momentum_buffer"], group["momentum"]), grad, avg, 1.0,
                           scratch[1])
        new["momentum_buffer"] = buf
        new["param"] = ops.add_(param, buf, -lr, scratch[1])
    else:
        new["param"] = ops.addcdiv_(param, grad, avg, -lr, scratch[1])
    return new


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, maximize=False)``, as ``torch.optim.RMSprop``."""

    update_rule = staticmethod(rmsprop_update)
    scratch_buffers = 2
    state_names = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check_options(self, group):
        check_nonnegative(self, group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _label(self, group):
        options = [o for o in ("momentum", "centered") if group[o]]
        return "RMSprop" + (" with " + " and ".join(options) if options else "")

    def _state_names(self, group):
        names = ["square_avg"]
        if group["momentum"] > 0:
            names.append("momentum_buffer")
        if group["centered"]:
            names.append("grad_avg")
        return tuple(names)
