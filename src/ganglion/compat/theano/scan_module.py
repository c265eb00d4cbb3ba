"""Theano's ``theano.scan_module`` (and ``theano.scan``, ``theano.map``, ``theano.reduce``,
``theano.foldl``, ``theano.foldr``, ``T.jacobian``, ``T.hessian``) on ganglion's
``ganglion.symbolic.scan``.

The loop is ganglion's (``symbolic/scan.py`` describes it); this layer only makes the step's
placeholders and the results Theano's ``TensorVariable``s, so that ``fn`` may call Theano's
methods (``dimshuffle``, ``flatten(ndim)``) on its arguments.
"""
from ganglion.compat.theano.tensor.var import as_variable
from ganglion.core.tensor import Tensor
from ganglion.symbolic.scan import hessian as _hessian
from ganglion.symbolic.scan import jacobian as _jacobian
from ganglion.symbolic.scan import scan as _scan
from ganglion.symbolic.scan import until

__all__ = ["scan", "until", "map", "reduce", "foldl", "foldr", "jacobian", "hessian"]


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, profile=False,
         allow_gc=None, strict=False, return_list=False):
    """``theano.scan``: returns ``(outputs, updates)`` (see ``ganglion.symbolic.scan.scan``)."""
    n_fixed = len(_listed(non_sequences))

    def step(*args):
        stepped = len(args) - n_fixed
        return fn(*[as_variable(a) if k < stepped else a for k, a in enumerate(args)])

    outputs, updates = _scan(step, sequences, outputs_info, non_sequences, n_steps,
                             truncate_gradient, go_backwards, mode, name, profile, allow_gc,
                             strict, return_list)
    for value in updates.values():
        as_variable(value)
    return _variables(outputs), updates


def map(fn, sequences, non_sequences=None, truncate_gradient=-1, go_backwards=False, mode=None,
        name=None):
    """``theano.map``: ``fn`` applied to each step of the sequences."""
    return scan(fn, sequences=sequences, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, name=name)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None,
           name=None):
    """``theano.reduce``: the last value of each recurrent output."""
    outputs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info,
                            non_sequences=non_sequences, go_backwards=go_backwards, name=name)
    if isinstance(outputs, list):
        return [o[-1] for o in outputs], updates
    return outputs[-1], updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``theano.foldl``: ``reduce`` from the first step."""
    return reduce(fn, sequences, outputs_info, non_sequences, False, mode, name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """``theano.foldr``: ``reduce`` from the last step."""
    return reduce(fn, sequences, outputs_info, non_sequences, True, mode, name)


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """``T.jacobian`` / ``theano.gradient.jacobian`` (a scan over the expression's elements)."""
    return _variables(_jacobian(expression, wrt, consider_constant, disconnected_inputs))


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """``T.hessian`` / ``theano.gradient.hessian`` (the Jacobian of the gradient)."""
    return _variables(_hessian(cost, wrt, consider_constant, disconnected_inputs))


def _listed(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _variables(result):
    if isinstance(result, list):
        return [as_variable(r) if isinstance(r, Tensor) else r for r in result]
    return as_variable(result) if isinstance(result, Tensor) else result
