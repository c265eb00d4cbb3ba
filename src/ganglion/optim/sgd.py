"""Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay.

The update rule is PyTorch's: with momentum, the buffer starts as a copy of the first gradient
and then follows ``buf = momentum * buf + (1 - dampening) * grad``.
"""
from ganglion.backend import current as backend
from ganglion.optim.optimizer import Optimizer, check_nonnegative, check_number
from ganglion.symbolic.shared import shared

__all__ = ["SGD", "sgd_update"]


def sgd_update(ops, param, grad, state, step, group, scratch):
    """One SGD step of ``param`` (see ``update_ops`` for ``ops`` and the other arguments)."""
    momentum = group["momentum"]
    d_p = ops.descent_gradient(grad, param, group["weight_decay"], group["maximize"], scratch[0])
    new = {}
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = ops.copy(d_p)
        else:
            later = ops.add_(ops.mul_(buf, momentum), d_p, 1 - group["dampening"], scratch[1])
            ready = state.get("momentum_buffer_ready")
            if ready is None:
                buf = later
            else:  # a compiled step whose buffer starts at zero: its first step copies d_p
                buf = ops.where(ready > 0, later, d_p)
                new["momentum_buffer_ready"] = ready * 0 + 1
        new["momentum_buffer"] = buf
        d_p = ops.add(d_p, buf, momentum, scratch[1]) if group["nesterov"] else buf
    new["param"] = ops.add_(param, d_p, -group["lr"], scratch[1])
    return new


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False)``, as ``torch.optim.SGD``."""

    update_rule = staticmethod(sgd_update)
    scratch_buffers = 2
    counts_steps = False
    state_names = ("momentum_buffer",)
    scalar_state_names = frozenset()
    state_starts_empty = True  # the momentum buffer is made by the first step

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_options(self, group):
        check_nonnegative(self, group, "lr", "momentum", "weight_decay")
        check_number(self, "dampening", group["dampening"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum requires a momentum > 0 and zero dampening, "
                             f"got momentum={group['momentum']!r}, "
                             f"dampening={group['dampening']!r}")

    def _initial_state(self, param_array, group):
        return {}  # the momentum buffer is made from the first gradient

    def _state_names(self, group):
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _label(self, group):
        return "SGD with momentum" if group["momentum"] != 0 else "SGD"

    def _symbolic_state(self, param, group):
        variables = super()._symbolic_state(param, group)
        if group["momentum"] != 0 and "momentum_buffer" not in variables:
            buffer = shared(backend.xp.zeros_like(param._data if param._data is not None
                                                  else param.storage), name="momentum_buffer")
            self.state[param]["momentum_buffer"] = variables["momentum_buffer"] = buffer
            if group["dampening"] != 0:  # zero is then not the same as a copy of the gradient
                variables["momentum_buffer_ready"] = shared(backend.xp.zeros((), "float32"),
                                                            name="momentum_buffer_ready")
        return variables
