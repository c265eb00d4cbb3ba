"""Theano's top-level names on ganglion: ``import ganglion.compat.theano as theano``.

``theano.function``, ``theano.In``, ``theano.shared``, ``theano.pp``, ``theano.printing``,
``theano.config.floatX`` and the ``theano.tensor`` module (``import
ganglion.compat.theano.tensor as T``) behave as Theano's for the code its tutorials teach.
"""
from types import SimpleNamespace

from ganglion.compat.theano import tensor
from ganglion.symbolic import In, debugprint, function, pp, shared
from ganglion.symbolic.function import Function

__all__ = ["function", "In", "shared", "pp", "config", "tensor", "printing", "Function"]

#: Theano's configuration object; ``floatX`` is the dtype of ``T.matrix`` and friends.
config = tensor.config

printing = SimpleNamespace(pp=pp, debugprint=debugprint)
