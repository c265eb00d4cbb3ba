"""The vocabulary that optimizer update rules are written in, for both execution paths.

Each optimizer writes its update rule once, as a function of ``ops`` (one of the two namespaces
below), the parameter, its gradient and its state. The same function runs:

- eagerly with ``ops = InPlaceArrays``: the values are backend arrays, and every operation
  overwrites the value it updates (the first argument, as in PyTorch's ``exp_avg.mul_(beta)``)
  or writes into a preallocated ``out``/``scratch`` array, so a step allocates nothing;
- symbolically with ``ops = TensorExpressions``: the values are Tensors (parameters, shared
  state, symbolic gradients) and every operation returns a new expression; ``out`` and
  ``scratch`` are ignored.

A rule therefore always uses the returned value (``exp_avg = ops.lerp_(exp_avg, grad, w, s)``):
in eager mode it is the same array, updated in place; in symbolic mode it is the new value that
becomes the update of the state variable. ``scratch`` may be one of the other inputs of the same
call (it is written only after they are read, element by element), never the updated value.
"""
from ganglion.backend import current as backend
from ganglion.core.ops import elementwise as ew
from ganglion.core.ops import unary

__all__ = ["InPlaceArrays", "TensorExpressions"]

xp = backend.xp


class InPlaceArrays:
    """Backend arrays, updated in place."""

    @staticmethod
    def descent_gradient(grad, param, weight_decay, maximize, out):
        """The gradient a rule follows: -grad when maximizing, plus weight_decay * param (L2).
        The gradient itself is never changed: it belongs to the caller."""
        if weight_decay == 0:
            return xp.negative(grad, out=out) if maximize else grad
        xp.multiply(param, weight_decay, out=out)
        return (xp.subtract if maximize else xp.add)(out, grad, out=out)

    @staticmethod
    def mul_(x, factor):
        return xp.multiply(x, factor, out=x)

    @staticmethod
    def div_(x, divisor):
        return xp.divide(x, divisor, out=x)

    @staticmethod
    def add_(x, y, alpha=1.0, scratch=None):
        """x + alpha * y (y an array or a number)."""
        if alpha != 1.0:
            y = xp.multiply(y, alpha, out=scratch)
        return xp.add(x, y, out=x)

    @staticmethod
    def add(x, y, alpha, out):
        """x + alpha * y, into out (neither x nor y)."""
        xp.multiply(y, alpha, out=out)
        return xp.add(out, x, out=out)

    @staticmethod
    def addcmul_(x, a, b, value, scratch):
        """x + value * a * b."""
        xp.multiply(a, b, out=scratch)
        if value != 1.0:
            xp.multiply(scratch, value, out=scratch)
        return xp.add(x, scratch, out=x)

    @staticmethod
    def addcmul(x, a, b, value, out):
        """x + value * a * b, into out (not x)."""
        xp.multiply(a, b, out=out)
        if value != 1.0:
            xp.multiply(out, value, out=out)
        return xp.add(x, out, out=out)

    @staticmethod
    def addcdiv_(x, a, b, value, scratch):
        """x + value * a / b."""
        xp.divide(a, b, out=scratch)
        if value != 1.0:
            xp.multiply(scratch, value, out=scratch)
        return xp.add(x, scratch, out=x)

    @staticmethod
    def lerp_(x, end, weight, scratch):
        """x + weight * (end - x)."""
        xp.subtract(end, x, out=scratch)
        xp.multiply(scratch, weight, out=scratch)
        return xp.add(x, scratch, out=x)

    @staticmethod
    def maximum_(x, y):
        return xp.maximum(x, y, out=x)

    @staticmethod
    def sqrt(x, out):
        return xp.sqrt(x, out=out)

    @staticmethod
    def add_scalar(x, value, out):
        """x + value, into out."""
        return xp.add(x, value, out=out)

    @staticmethod
    def copy(x):
        """A new array holding x's values (state that starts as a copy of the gradient)."""
        return x.copy()


class TensorExpressions:
    """Tensors: each operation builds the expression of the new value."""

    @staticmethod
    def descent_gradient(grad, param, weight_decay, maximize, out):
        if maximize:
            grad = -grad
        return grad if weight_decay == 0 else grad + weight_decay * param

    @staticmethod
    def mul_(x, factor):
        return x * factor

    @staticmethod
    def div_(x, divisor):
        return x / divisor

    @staticmethod
    def add_(x, y, alpha=1.0, scratch=None):
        return x + y if _is_one(alpha) else x + alpha * y

    @staticmethod
    def add(x, y, alpha, out):
        return x + alpha * y

    @staticmethod
    def addcmul_(x, a, b, value, scratch):
        product = a * b
        return x + (product if _is_one(value) else product * value)

    @staticmethod
    def addcmul(x, a, b, value, out):
        product = a * b
        return x + (product if _is_one(value) else product * value)

    @staticmethod
    def addcdiv_(x, a, b, value, scratch):
        quotient = a / b
        return x + (quotient if _is_one(value) else quotient * value)

    @staticmethod
    def lerp_(x, end, weight, scratch):
        return x + (end - x) * weight

    @staticmethod
    def maximum_(x, y):
        return ew.maximum(x, y)

    @staticmethod
    def sqrt(x, out):
        return unary.sqrt(x)

    @staticmethod
    def add_scalar(x, value, out):
        return x + value

    @staticmethod
    def copy(x):
        return x

    @staticmethod
    def where(condition, if_true, if_false):
        return ew.where(condition, if_true, if_false)


def _is_one(value):
    # Factors that depend on the step count are Tensors in symbolic mode: never skipped.
    return isinstance(value, (int, float)) and value == 1.0
