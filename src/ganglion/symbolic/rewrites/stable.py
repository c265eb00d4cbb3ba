"""Numerically stable forms of expressions that overflow or lose precision as written.

- ``log(softmax(x))`` -> ``log_softmax(x)``;
- ``log(1 + exp(x))``, ``log1p(exp(x))`` -> ``softplus(x)`` (``log(1 + exp(1000.))`` is inf);
- ``1 / (1 + exp(-x))`` and ``exp(x) / (1 + exp(x))`` -> ``sigmoid(x)``, also for
  ``exp(-a - b)`` (Theano tutorials write the logistic this way);
- ``log(sigmoid(x))`` -> ``-softplus(-x)`` and ``log(1 - sigmoid(x))`` (or ``log(-sigmoid(x) +
  1)``) -> ``-softplus(x)``: together they turn binary cross-entropy on a sigmoid, ``-(t log p +
  (1 - t) log(1 - p))``, into its stable form, finite even when the sigmoid saturates to 0 or 1;
- the log of a selection (indexing, gather, reshape, transpose, broadcast, flip) of any of
  these takes the selection of the stable log: ``log(softmax(x)[arange(n), y])`` and Theano's
  ``categorical_crossentropy`` (a gather of the softmax) become picks from ``log_softmax(x)``.

The same rewrites run on a symbolic graph before it is differentiated (``stable_grad``), so
that gradients are those of the stable forms too (Theano reaches the same end by rewriting
the gradient graph).
"""
from ganglion.core.ops.elementwise import Add, Div, Sub
from ganglion.core.ops.indexing import Gather, GetItem
from ganglion.core.ops.shape import Expand, Flip, Permute, Reshape
from ganglion.core.ops.softmax import LogSoftmax, Softmax
from ganglion.core.ops.unary import Exp, Log, Log1p, Neg, Sigmoid, Softplus
from ganglion.symbolic.rewrites import is_constant, register

#: The rewrites of this module, by name (``stable_grad`` runs only these), and the ops of the
#: only nodes they replace.
NAMES = ("log_softmax", "softplus", "sigmoid", "log_sigmoid", "log_one_minus_sigmoid",
         "log_of_selection")
REPLACED_OPS = (Log, Log1p, Div)

# Ops that only pick, move or repeat the elements of their first input: log commutes with them.
_SELECTIONS = (GetItem, Gather, Reshape, Permute, Expand, Flip)

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


def _one_minus(node):
    """x when ``node`` is 1 - x, -x + 1 or 1 + -x, else None."""
    if _applies(node, Sub):
        return node.inputs[1] if is_constant(node.inputs[0], 1) else None
    negated = _one_plus(node)
    return negated.inputs[0] if negated is not None and _applies(negated, Neg) else None


def _selections(node):
    """(the chain of selection nodes from ``node`` down, the value they select from)."""
    chain = []
    while node.kind == "apply" and type(node.op) in _SELECTIONS:
        chain.append(node)
        node = node.inputs[0]
    return chain, node


def _select(chain, value, builder):
    """The selections of ``chain`` (outermost first) applied to ``value`` in place of what they
    selected from."""
    for selection in reversed(chain):
        value = builder.make(selection.op, (value,) + tuple(selection.inputs[1:]))
    return value


def _minus_softplus(x, builder):
    return builder.make(Neg(), (builder.make(_SOFTPLUS, (x,)),))


# The stable form of log(inner) for each kind of ``inner``, or None. Each is one named rewrite
# of log(inner) and, through ``_stable_log``, of the log of a selection of inner.

def _log_of_softmax(inner, builder):
    if _applies(inner, Softmax):
        return builder.make(LogSoftmax(inner.op.axis), inner.inputs)
    return None


def _log_of_one_plus_exp(inner, builder):
    exponential = _one_plus(inner)
    if exponential is not None and _applies(exponential, Exp):
        x = exponential.inputs[0]
        if _same_type_as(inner, x):
            return builder.make(_SOFTPLUS, (x,))
    return None


def _log_of_sigmoid(inner, builder):
    """log(sigmoid(x)) = -softplus(-x); for x = -y, -softplus(y) (no double negation)."""
    if not _applies(inner, Sigmoid):
        return None
    x = inner.inputs[0]
    if _applies(x, Neg):
        return _minus_softplus(x.inputs[0], builder)
    return _minus_softplus(builder.make(Neg(), (x,)), builder)


def _log_of_one_minus_sigmoid(inner, builder):
    """log(1 - sigmoid(x)) = -softplus(x), also for 1 - select(sigmoid(x)) (a sigmoid reshaped
    or indexed before the 1 - p of a cross-entropy)."""
    selected = _one_minus(inner)
    if selected is None or not _same_type_as(inner, selected):
        return None
    chain, sigmoid = _selections(selected)
    if not _applies(sigmoid, Sigmoid):
        return None
    return _select(chain, _minus_softplus(sigmoid.inputs[0], builder), builder)


def _stable_log(inner, builder):
    for form in (_log_of_softmax, _log_of_one_plus_exp, _log_of_sigmoid, _log_of_one_minus_sigmoid):
        stable = form(inner, builder)
        if stable is not None:
            return stable
    return None


@register("log_softmax")
def log_of_softmax(node, builder):
    return _log_of_softmax(node.inputs[0], builder) if _applies(node, Log) else None


@register("softplus")
def log_one_plus_exp(node, builder):
    if _applies(node, Log):
        return _log_of_one_plus_exp(node.inputs[0], builder)
    if _applies(node, Log1p) and _applies(node.inputs[0], Exp):
        x = node.inputs[0].inputs[0]
        if _same_type_as(node, x):
            return builder.make(_SOFTPLUS, (x,))
    return None


@register("sigmoid")
def logistic_to_sigmoid(node, builder):
    if not _applies(node, Div):
        return None
    numerator, denominator = node.inputs
    inner = _one_plus(denominator)
    if inner is None or not _applies(inner, Exp):
        return None
    exponent = inner.inputs[0]
    if _applies(numerator, Exp) and numerator.inputs[0] is exponent:
        # exp(x) / (1 + exp(x))
        return builder.make(Sigmoid(), (exponent,)) if _same_type_as(node, exponent) else None
    if not is_constant(numerator, 1):
        return None
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
    return _log_of_sigmoid(node.inputs[0], builder) if _applies(node, Log) else None


@register("log_one_minus_sigmoid")
def log_of_one_minus_sigmoid(node, builder):
    return _log_of_one_minus_sigmoid(node.inputs[0], builder) if _applies(node, Log) else None


@register("log_of_selection")
def log_of_selection(node, builder):
    """log(select(y)) -> select(stable log(y)) for a chain of selections (``_SELECTIONS``, the
    selected value being their first input) over a y with a stable log."""
    if not _applies(node, Log):
        return None
    chain, inner = _selections(node.inputs[0])
    if not chain:
        return None
    stable = _stable_log(inner, builder)
    if stable is None:
        return None
    stable = _select(chain, stable, builder)
    return stable if _same_type_as(node, stable) else None
