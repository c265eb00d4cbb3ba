"""Theano's ``theano.ifelse.ifelse``: choose between two branches by a scalar condition.

Reference: Theano 1.0's ``theano/ifelse.py``. Theano's IfElse is lazy: the branch not taken is
not computed. Ganglion's compiled functions run a flat schedule with no branches, so here both
branches are computed and ``Select`` passes one of them on whole (the two may differ in shape,
unlike ``switch``, which picks elementwise). The value and the gradient are Theano's (the branch
not taken gets a zero gradient); only the work done differs: keep an expensive branch that is
rarely taken out of a hot function.
"""
from ganglion.core.op import Op, apply
from ganglion.core.tensor import Constant, TensorType

__all__ = ["ifelse", "Select"]


class Select(Op):
    """``then`` if the scalar ``condition`` is nonzero, else ``otherwise``: the whole array."""

    __slots__ = ()
    saves_inputs = True

    @property
    def name(self):
        return "ifelse"

    def forward(self, backend, condition, then, otherwise):
        return then if condition.item() else otherwise

    def vjp(self, out, grad, needs):
        from ganglion.core.creation import zeros_like
        condition, then, otherwise = out._inputs
        to_then = apply(Select(), condition, grad, zeros_like(then)) if needs[1] else None
        to_otherwise = apply(Select(), condition, zeros_like(otherwise), grad) if needs[2] else None
        return (None, to_then, to_otherwise)

    def infer(self, condition, then, otherwise):
        if len(condition.shape) != 0:
            raise ValueError(f"ifelse: the condition must be a scalar, got one of shape "
                             f"{tuple(condition.shape)}")
        if then.dtype != otherwise.dtype or len(then.shape) != len(otherwise.shape):
            raise TypeError(f"ifelse: both branches must have one type (dtype and number of dims), "
                            f"got {then.dtype.name} {len(then.shape)}-d and "
                            f"{otherwise.dtype.name} {len(otherwise.shape)}-d")
        shape = tuple(a if a == b else None for a, b in zip(then.shape, otherwise.shape))
        return TensorType(then.dtype, shape)


def ifelse(condition, then_branch, else_branch, name=None):
    """``then_branch`` when the scalar ``condition`` is nonzero, else ``else_branch``; both
    may be lists of tensors (paired up, a list comes back). See the module docstring: both
    branches are computed."""
    from ganglion.compat.theano.tensor.basic import as_tensor_variable
    from ganglion.core.ops.elementwise import cast
    single = not isinstance(then_branch, (list, tuple))
    thens = [then_branch] if single else list(then_branch)
    elses = [else_branch] if not isinstance(else_branch, (list, tuple)) else list(else_branch)
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: the branches have {len(thens)} and {len(elses)} outputs; they "
                         "must have as many")
    condition = as_tensor_variable(condition)
    results = []
    for then, otherwise in zip(thens, elses):
        then, otherwise = as_tensor_variable(then), as_tensor_variable(otherwise)
        # A constant branch (a Python number) takes the other branch's dtype, as in Theano.
        if then.dtype != otherwise.dtype:
            if isinstance(otherwise, Constant):
                otherwise = cast(otherwise, then.dtype)
            elif isinstance(then, Constant):
                then = cast(then, otherwise.dtype)
        result = apply(Select(), condition, then, otherwise)
        if name is not None:
            result.name = name
        results.append(result)
    return results[0] if single else results
