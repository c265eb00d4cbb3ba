"""``jit``: compile an eager-style function by tracing it on placeholders.

The first call with a given signature (the shapes, dtypes and requires_grad of the tensor
arguments, the values of the others) runs the function once on placeholders of those types: every op records a node,
``loss.backward()`` leaves symbolic gradients in ``.grad``, and in-place changes of tensors that
hold values (``p -= lr * p.grad`` under ``no_grad``) become updates (see ``trace``). The result is
compiled with ``function`` and cached; later calls with that signature run the compiled schedule.

What runs only once, at trace time, as with every tracing jit: Python side effects, Python
control flow on values, and eager arithmetic on tensors that no placeholder reaches (e.g. a
learning rate computed from a step counter that the step itself increments in place after
reading it): such values are fixed in the compiled function. Reads of a tensor after the
step changed it in place see the new value.
"""
import functools

from ganglion.core.tensor import Tensor, make_tensor
from ganglion.symbolic.function import function
from ganglion.symbolic.placeholders import tensor as placeholder
from ganglion.symbolic.trace import Trace

__all__ = ["jit"]


def jit(fn):
    """Decorator: ``fn`` (a function, a Module, a train step) compiled per input signature."""
    return JitFunction(fn)


class JitFunction:
    def __init__(self, fn):
        self.fn = fn
        self.cache = {}
        functools.update_wrapper(self, fn, updated=())

    def __call__(self, *args):
        key = tuple((a.dtype, tuple(a.shape), a.requires_grad) if isinstance(a, Tensor) else ("value", a)
                    for a in args)
        compiled = self.cache.get(key)
        if compiled is None:
            compiled = self.cache[key] = self._compile(args)
        run, structure = compiled
        arrays = run(*[a for a in args if isinstance(a, Tensor)])
        outputs = iter([make_tensor(a) for a in arrays])
        return _rebuild(structure, outputs)

    def _compile(self, args):
        if not any(isinstance(a, Tensor) for a in args):
            name = getattr(self.fn, "__name__", type(self.fn).__name__)
            raise TypeError(f"jit: {name}() was called without tensor arguments; pass the data it "
                            "works on (the batch) as arguments, so that the compiled function can "
                            "take new values on each call")
        placeholders = []
        traced_args = []
        for k, a in enumerate(args):
            if isinstance(a, Tensor):
                p = placeholder(a.dtype, a.shape, name=a.name or f"arg{k}")
                p.requires_grad = a.requires_grad
                placeholders.append(p)
                traced_args.append(p)
            else:
                traced_args.append(a)
        with Trace() as trace:
            result = self.fn(*traced_args)
        finals = trace.final_values
        structure, outputs = _flatten(result)
        outputs = [finals.get(id(o), o) for o in outputs]
        run = function(placeholders, outputs, updates=trace.updates, on_unused_input="ignore")
        return run, structure


def _flatten(result):
    """(structure, tensors) of a returned tensor, None, or tuple/list of them."""
    if isinstance(result, Tensor):
        return "tensor", [result]
    if result is None:
        return None, []
    if isinstance(result, (tuple, list)):
        structures, tensors = [], []
        for item in result:
            s, t = _flatten(item)
            structures.append(s)
            tensors += t
        return (type(result), structures), tensors
    raise TypeError(f"jit: the traced function must return tensors (or a tuple/list of them, or "
                    f"None), got {type(result).__name__}")


def _rebuild(structure, outputs):
    if structure == "tensor":
        return next(outputs)
    if structure is None:
        return None
    kind, items = structure
    return kind(_rebuild(s, outputs) for s in items)
