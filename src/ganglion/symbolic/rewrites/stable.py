"""Numerically stable forms of expressions that overflow or lose precision as written.

- ``log(softmax(x))`` -> ``log_softmax(x)``;
- ``log(1 + exp(x))``, ``log1p(exp(x))`` -> ``softplus(x)`` (``log(1 + exp(1000.))`` is inf);
- ``1 / (1 + exp(-x))`` -> ``sigmoid(x)``, also for ``exp(-a - b)`` (Theano tutorials write
  the logistic this way);
- ``log(sigmoid(x))`` -> ``-softplus(-x)`` and ``log(1 - sigmoid(x))`` -> ``-softplus(x)``:
  together they turn binary cross-entropy on a sigmoid, ``-(t log p + (1 - t) log(1 - p))``,
  into its stable form, finite even when the sigmoid saturates to 0 or 1.
"""
from ganglion.core.ops.elementwise import Add, Div, Sub
from ganglion.core.ops.softmax import LogSoftmax, Softmax
from ganglion.core.ops.unary import Exp, Log, Log1p, Neg, Sigmoid, Softplus
from ganglion.symbolic.rewrites import is_constant, register

_SOFTPLUS = Softplus(1.0, 20.0)


def _applies(node, op_class):
    return node.kind == "apply" and type(node.op) is op_class


def _same_type_as(node, x):
    """The rewrite may not change the result's type (a broadcast constant could)."""
    return node.type.shape == x.type.shape and node.type.dtype is x.type.dtype


def _one_plus(node):
    """x when ``node`` is 1 + x or x + 1, else None."""
    if not _applies(node, Add):
        return None
    a, b = node.inputs
    if is_constant(a, 1):
        return b
    if is_constant(b, 1):
        return a
    return None


@register("log_softmax")
def log_of_softmax(node, builder):
    if _applies(node, Log) and _applies(node.inputs[0], Softmax):
        softmax = node.inputs[0]
        return builder.make(LogSoftmax(softmax.op.axis), softmax.inputs)
    return None


@register("softplus")
def log_one_plus_exp(node, builder):
    if _applies(node, Log):
        inner = _one_plus(node.inputs[0])
    elif _applies(node, Log1p):
        inner = node.inputs[0]
    else:
        return None
    if inner is not None and _applies(inner, Exp):
        x = inner.inputs[0]
        if _same_type_as(node, x):
            return builder.make(_SOFTPLUS, (x,))
    return None


@register("sigmoid")
def logistic_to_sigmoid(node, builder):
    if not (_applies(node, Div) and is_constant(node.inputs[0], 1)):
        return None
    inner = _one_plus(node.inputs[1])
    if inner is None or not _applies(inner, Exp):
        return None
    exponent = inner.inputs[0]
    if _applies(exponent, Neg):
        x = exponent.inputs[0]
    elif _applies(exponent, Sub) and _applies(exponent.inputs[0], Neg):
        # exp(-a - b), as in 1 / (1 + exp(-dot(x, w) - b)): the sigmoid of a + b.
        x = builder.make(Add(), (exponent.inputs[0].inputs[0], exponent.inputs[1]))
    else:
        return None
    return builder.make(Sigmoid(), (x,)) if _same_type_as(node, x) else None


@register("log_sigmoid")
def log_of_sigmoid(node, builder):
    if _applies(node, Log) and _applies(node.inputs[0], Sigmoid):
        x = node.inputs[0].inputs[0]
        return builder.make(Neg(), (builder.make(_SOFTPLUS, (builder.make(Neg(), (x,)),)),))
    return None


@register("log_one_minus_sigmoid")
def log_of_one_minus_sigmoid(node, builder):
    if not (_applies(node, Log) and _applies(node.inputs[0], Sub)):
        return None
    one, sigmoid = node.inputs[0].inputs
    if is_constant(one, 1) and _applies(sigmoid, Sigmoid):
        x = sigmoid.inputs[0]
        if _same_type_as(node, x):
            return builder.make(Neg(), (builder.make(_SOFTPLUS, (x,)),))
    return None
