"""A trace: what ``jit`` records while it runs an eager-style function on placeholders.

The engine reports to the active trace (``ganglion.core.tracing``):

- every symbolic node it makes (``nodes``);
- every in-place change ``x = fn(x, *args)`` (``inplace``). On a tensor that holds a value (a
  parameter, an optimizer buffer) the change becomes an *update* of the compiled function: while
  tracing, ``x`` turns into the symbolic new value, so later reads see it, and the nodes that read
  x before the change are redirected to a stand-in for the old value. When the trace ends, x gets
  its value back, the stand-in's readers read x again, and ``updates`` holds ``(x, new value)``;
- every leaf whose ``.grad`` receives a symbolic gradient (``saw_grad``), so that ``.grad`` can be
  put back as it was before tracing;
- every ``x.data`` (``data_view``): a symbolic detach of x, so that the compiled function reads x
  when it runs, and whose in-place changes are changes of x (``p.data.add_(u)`` updates p, as it
  changes p's memory in eager mode).
"""
from ganglion.core import tracing
from ganglion.core.op import format_shape
from ganglion.core.tensor import make_tensor

__all__ = ["Trace"]


class Trace:
    def __init__(self):
        self.nodes = []
        self.updates = []
        self.final_values = {}  # id(x) -> x's symbolic value at the end of the trace
        self._changed = {}   # id(x) -> (x, stand-in for x's value before tracing, saved fields)
        self._grads = {}     # id(leaf) -> (leaf, .grad before tracing)
        self._data_views = {}  # id(view) -> (view, x) for the views x.data made while tracing

    def __enter__(self):
        tracing.active.append(self)
        return self

    def __exit__(self, *exc):
        tracing.active.pop()
        self._finish()

    def saw_grad(self, leaf):
        self._grads.setdefault(id(leaf), (leaf, leaf.grad))

    def data_view(self, x):
        """``x.data`` while tracing: x with no gradient path (read at call time if x holds a
        value), whose in-place changes are x's."""
        from ganglion.core.ops.unary import StopGradient
        view = make_tensor(None)
        view._type = x.tensor_type
        view._op = StopGradient()
        view._inputs = (x,)
        self.nodes.append(view)
        self._data_views[id(view)] = (view, x)
        return view

    def inplace(self, x, fn, args, name):
        entry = self._data_views.get(id(x))
        if entry is not None:  # p.data.add_(u): a change of p itself
            x = entry[1]
        before = self._stand_in(x)
        self._redirect({id(x): before})
        new = fn(before, *[before if a is x else a for a in args])
        if new.tensor_type.shape != x.tensor_type.shape:
            raise RuntimeError(f"{name}: the result has shape "
                               f"{format_shape(new.tensor_type.shape)} but the tensor changed in "
                               f"place has shape {format_shape(x.tensor_type.shape)}")
        if new.dtype is not x.dtype:
            new = new.to(x.dtype)
        _copy_node(new, x)
        return x

    def _stand_in(self, x):
        """A tensor for x's current value, which earlier readers of x keep reading."""
        if x._data is not None:
            # Symbolic, so that ops on it are recorded rather than computed once at trace time;
            # when the trace ends its readers read x itself, at call time.
            original = make_tensor(None, x.requires_grad)
            original._type = x.tensor_type
            original.name = x.name
            self._changed[id(x)] = (x, original, (x._data, x.requires_grad, x._op, x._inputs))
            return original
        stand_in = make_tensor(None)
        _copy_node(x, stand_in)
        self.nodes.append(stand_in)
        return stand_in

    def _redirect(self, mapping):
        for node in self.nodes:
            inputs = node._inputs
            if inputs and any(id(i) in mapping for i in inputs):
                node._inputs = tuple(mapping.get(id(i), i) for i in inputs)

    def _finish(self):
        finals = {}
        mapping = {}
        for x, original, _ in self._changed.values():
            final = make_tensor(None)
            _copy_node(x, final)
            self.nodes.append(final)
            finals[id(x)] = final
            mapping[id(x)] = final
            mapping[id(original)] = x
        self._redirect(mapping)
        for x, original, (data, requires_grad, op, inputs) in self._changed.values():
            x._data, x.requires_grad, x._op, x._inputs, x._type = data, requires_grad, op, inputs, None
            self.updates.append((x, finals[id(x)]))
        self.final_values = finals
        for leaf, grad in self._grads.values():
            leaf.grad = grad


def _copy_node(source, target):
    target._data = None
    target._type = source.tensor_type
    target._op = source._op
    target._inputs = source._inputs
    target.requires_grad = source.requires_grad
