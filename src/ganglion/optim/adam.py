"""Adam (with AMSGrad and L2 weight decay) and AdamW (decoupled weight decay).

The update is PyTorch's, with one rearrangement for speed: instead of
``param -= step_size * exp_avg / (sqrt(v) / sqrt(bc2) + eps)`` it computes the equal
``param -= (step_size * sqrt(bc2)) * exp_avg / (sqrt(v) + eps * sqrt(bc2))``, which saves a
pass over the parameter-sized arrays (the results differ by rounding only). Eager steps on
contiguous float arrays run the same arithmetic as one compiled loop when numba is there
(backend/nn_loops.py ``adam``): one pass over the arrays instead of twelve.
"""
from ganglion.backend import current as backend
from ganglion.optim.optimizer import Optimizer, check_fraction, check_nonnegative
from ganglion.optim.update_ops import InPlaceArrays

__all__ = ["Adam", "AdamW", "adam_update"]


def adam_update(ops, param, grad, state, step, group, scratch):
    """One Adam/AdamW step of ``param`` (see ``update_ops`` for the arguments); ``step`` is the
    number of this step, counting from 1."""
    lr, weight_decay = group["lr"], group["weight_decay"]
    beta1, beta2 = group["betas"]
    if ops is InPlaceArrays and _fuses(param, grad, state, group):
        return _fused_update(param, grad, state, step, group)
    if group["decoupled_weight_decay"]:
        if weight_decay != 0:
            param = ops.mul_(param, 1 - lr * weight_decay)
        grad = ops.descent_gradient(grad, param, 0.0, group["maximize"], scratch[0])
    else:
        grad = ops.descent_gradient(grad, param, weight_decay, group["maximize"], scratch[0])
    exp_avg = ops.lerp_(state["exp_avg"], grad, 1 - beta1, scratch[1])
    exp_avg_sq = ops.addcmul_(ops.mul_(state["exp_avg_sq"], beta2), grad, grad, 1 - beta2,
                              scratch[1])
    new = {"exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    if group["amsgrad"]:
        second_moment = new["max_exp_avg_sq"] = ops.maximum_(state["max_exp_avg_sq"], exp_avg_sq)
    else:
        second_moment = exp_avg_sq
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    denom = ops.add_(ops.sqrt(second_moment, scratch[1]), group["eps"] * bias_correction2_sqrt)
    step_size = lr / bias_correction1 * bias_correction2_sqrt
    new["param"] = ops.addcdiv_(param, exp_avg, denom, -step_size, scratch[1])
    return new


def _fuses(param, grad, state, group):
    """Whether the eager step can run as one compiled loop: numba there, and C-contiguous
    arrays of one float dtype and shape (the moments of a loaded state dict may differ). The
    gradient may be strided (a transposed product): the loop then reads a contiguous copy."""
    names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())
    if any(name not in state for name in names):
        return False
    arrays = [param] + [state[name] for name in names]
    # The backend's own array type (not a subclass, nor another library's array).
    array, xp = backend.ndarray, backend.xp
    return (type(grad) is array and grad.shape == param.shape and grad.dtype == param.dtype
            and param.dtype in (xp.float32, xp.float64) and backend.compiled_loops() is not None
            and all(type(a) is array and a.dtype == param.dtype and a.shape == param.shape
                    and a.flags.c_contiguous for a in arrays))


def _fused_update(param, grad, state, step, group):
    """``adam_update``'s arithmetic in one pass (backend/nn_loops.py ``adam``)."""
    lr, weight_decay = group["lr"], group["weight_decay"]
    beta1, beta2 = group["betas"]
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    decoupled = group["decoupled_weight_decay"]
    max_exp_avg_sq = state["max_exp_avg_sq"] if group["amsgrad"] else None
    backend.compiled_loops().adam(
        param, backend.xp.ascontiguousarray(grad), state["exp_avg"], state["exp_avg_sq"], max_exp_avg_sq,
        group["maximize"],
        decay=1 - lr * weight_decay if decoupled else 1.0,
        weight_decay=0.0 if decoupled else weight_decay, beta1=beta1, beta2=beta2,
        eps=group["eps"] * bias_correction2_sqrt,
        step_size=lr / (1 - beta1 ** step) * bias_correction2_sqrt)
    new = {"param": param, "exp_avg": state["exp_avg"], "exp_avg_sq": state["exp_avg_sq"]}
    if group["amsgrad"]:
        new["max_exp_avg_sq"] = max_exp_avg_sq
    return new


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False)``, as ``torch.optim.Adam`` (weight decay added to the gradient)."""

    update_rule = staticmethod(adam_update)
    scratch_buffers = 2
    decoupled = False
    state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, betas=_pair(type(self).__name__, betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=self.decoupled))

    def _check_options(self, group):
        check_nonnegative(self, group, "lr", "eps", "weight_decay")
        betas = group["betas"] = _pair(type(self).__name__, group["betas"])
        if len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: invalid betas {betas!r}: expected two "
                             "values (beta1, beta2)")
        check_fraction(self, "betas[0]", betas[0])
        check_fraction(self, "betas[1]", betas[1])

    def _label(self, group):
        return f"{type(self).__name__} with amsgrad" if group["amsgrad"] else type(self).__name__

    def _state_names(self, group):
        if group["amsgrad"]:
            return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
        return ("exp_avg", "exp_avg_sq")


def _pair(optimizer_name, betas):
    """``betas`` as a tuple (a list after a JSON round trip), or a TypeError naming it."""
    if type(betas) is tuple:
        return betas
    if not isinstance(betas, (list, tuple)):
        raise TypeError(f"{optimizer_name}: invalid betas {betas!r}: expected a pair of numbers "
                        "(beta1, beta2)")
    return tuple(betas)


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
    amsgrad=False, maximize=False)``, as ``torch.optim.AdamW``: the parameter decays by
    ``lr * weight_decay`` each step, apart from the adaptive update."""

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
