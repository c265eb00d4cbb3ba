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

__all__ = ["function", "In", "shared", "pp", "config", "tensor", "printing", "Function", "Mode",
           "ifelse", "gradient", "sandbox", "grad", "TensorSharedVariable"]

#: Theano's configuration object; ``floatX`` is the dtype of ``T.matrix`` and friends.
config = tensor.config



def _debugprint(obj, file=None, depth=-1, print_type=False, **kwargs):
    """Theano's ``printing.debugprint``: a compiled function's schedule, an expression's nodes,
    or a node of ``f.maker.fgraph`` (a Variable or an Apply) with what it reads, one a line."""
    from ganglion.symbolic import fgraph
    if isinstance(obj, fgraph.Apply):
        obj = obj.outputs[0]
    if not isinstance(obj, fgraph.Variable):
        return debugprint(obj, file=file)
    lines = []

    def visit(variable, level, seen):
        owner = variable.owner
        label = owner.op.name if owner is not None else (variable.name or variable.kind)
        lines.append(f"{' |' * level}{label}  {variable.type}")
        if owner is not None and id(owner) not in seen and (depth < 0 or level < depth):
            seen.add(id(owner))
            for argument in owner.inputs:
                visit(argument, level + 1, seen)
    visit(obj, 0, set())
    text = "\n".join(lines)
    print(text, file=file)
    return text


printing = SimpleNamespace(pp=pp, debugprint=_debugprint)


class Mode:
    """``theano.Mode(linker=, optimizer=)``: ``optimizer=None`` compiles without the graph
    rewrites (as 'FAST_COMPILE'); the linker is ganglion's flat schedule whatever it names
    (conditionals are lazy with any, as Theano's 'vm' and 'cvm' linkers make them)."""

    def __init__(self, linker=None, optimizer="default"):
        self.linker = linker
        self.optimizer = optimizer

    @property
    def optimizes(self):
        return self.optimizer not in (None, "None", "fast_compile")


def function(inputs, outputs=None, mode=None, updates=None, givens=None, no_default_updates=False,
             accept_inplace=False, name=None, rebuild_strict=True, allow_input_downcast=None,
             profile=None, on_unused_input=None):
    """Theano's ``function`` (its signature and argument order): compile ``outputs`` of
    ``inputs``. ``mode='FAST_COMPILE'`` (or config.mode, or a ``Mode(optimizer=None)``) skips
    the graph rewrites; other modes compile fully. An output may be a shape (``x.shape``): it
    comes back as one int64 vector, as Theano's. See ``ganglion.function`` for the rest."""
    mode = config.mode if mode is None else mode
    optimize = mode.optimizes if isinstance(mode, Mode) else mode != "FAST_COMPILE"
    outputs, static_shape = _shape_outputs(outputs)
    if static_shape and on_unused_input is None:
        # A shape known when the graph is built is a constant here; in Theano it is computed
        # from the input (then folded), so the input counts as used.
        on_unused_input = "ignore"
    return _function(inputs, outputs, updates=updates, givens=givens,
                     on_unused_input=on_unused_input or "raise", name=name,
                     allow_input_downcast=bool(allow_input_downcast),
                     optimize_graph=optimize, no_default_updates=no_default_updates)


def _is_shape(value):
    return isinstance(value, tuple) and hasattr(value, "to_tensor")


def _is_static(shape):
    return all(type(d) is int for d in shape)


def _shape_vector(shape):
    return tensor.constant(list(shape), dtype="int64") if _is_static(shape) else shape.to_tensor()


def _shape_outputs(outputs):
    """``outputs`` with each symbolic shape (a tuple) made one int64 vector (a constant when
    every dim is known), and whether any of them was such a constant."""
    if _is_shape(outputs):
        return _shape_vector(outputs), _is_static(outputs)
    if isinstance(outputs, (list, tuple)):
        converted = [_shape_vector(o) if _is_shape(o) else o for o in outputs]
        return converted, any(_is_shape(o) and _is_static(o) for o in outputs)
    return outputs, False


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None):
    """A shared variable holding ``value`` (a TensorSharedVariable: Theano's methods)."""
    return as_variable(_shared(value, name=name, borrow=borrow))


from ganglion.compat.theano import gradient, ifelse, sandbox  # noqa: E402
from ganglion.compat.theano.gradient import grad  # noqa: E402,F401
from ganglion.compat.theano import scan_module  # noqa: E402
from ganglion.compat.theano.scan_module import foldl, foldr, map, reduce, scan  # noqa: E402,A004
__all__ += ["scan", "scan_module", "map", "reduce", "foldl", "foldr"]
