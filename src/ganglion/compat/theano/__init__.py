"""Theano's top-level names on ganglion: ``import ganglion.compat.theano as theano``.

``theano.function``, ``theano.In``, ``theano.shared``, ``theano.pp``, ``theano.printing``,
``theano.config`` (``floatX``, ``mode``, ``warn``), ``theano.ifelse``, ``theano.gradient``,
``theano.sandbox.rng_mrg`` and the ``theano.tensor`` module (``import
ganglion.compat.theano.tensor as T``) behave as Theano's for the code its tutorials teach.
Variables made here are ``tensor.var.TensorVariable``s: Theano's methods (``flatten(ndim)``,
``dimshuffle``, ``type``, ``eval``) on ganglion tensors.
"""
from types import SimpleNamespace

from ganglion.compat.theano import tensor
from ganglion.compat.theano.tensor.var import TensorSharedVariable, as_variable
from ganglion.symbolic import In, debugprint, pp
from ganglion.symbolic import function as _function
from ganglion.symbolic import shared as _shared
from ganglion.symbolic.function import Function

__all__ = ["function", "In", "shared", "pp", "config", "tensor", "printing", "Function",
           "ifelse", "gradient", "sandbox", "grad", "TensorSharedVariable"]

#: Theano's configuration object; ``floatX`` is the dtype of ``T.matrix`` and friends.
config = tensor.config

printing = SimpleNamespace(pp=pp, debugprint=debugprint)


def function(inputs, outputs=None, mode=None, updates=None, givens=None, no_default_updates=False,
             accept_inplace=False, name=None, rebuild_strict=True, allow_input_downcast=None,
             profile=None, on_unused_input=None):
    """Theano's ``function`` (its signature and argument order): compile ``outputs`` of
    ``inputs``. ``mode='FAST_COMPILE'`` (or config.mode) skips the graph rewrites; other modes
    compile fully. See ``ganglion.function`` for the rest."""
    mode = config.mode if mode is None else mode
    mode_name = mode if isinstance(mode, str) else type(mode).__name__
    return _function(inputs, outputs, updates=updates, givens=givens,
                     on_unused_input=on_unused_input or "raise", name=name,
                     allow_input_downcast=bool(allow_input_downcast),
                     optimize_graph=mode_name != "FAST_COMPILE",
                     no_default_updates=no_default_updates)


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None):
    """A shared variable holding ``value`` (a TensorSharedVariable: Theano's methods)."""
    return as_variable(_shared(value, name=name, borrow=borrow))


from ganglion.compat.theano import gradient, ifelse, sandbox  # noqa: E402
from ganglion.compat.theano.gradient import grad  # noqa: E402,F401
