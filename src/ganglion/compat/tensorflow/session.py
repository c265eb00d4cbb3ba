"""``tf.Session``: runs fetches of a TF1-style graph through compiled ganglion functions.

Reference: TF 1.15 ``tf.Session.run(fetches, feed_dict)``: fetches are a tensor, an operation,
or a list / tuple / dict (nested) of them; the result has the same structure, with arrays for
tensors and None for operations. Each distinct (fetches, fed tensors) signature is compiled
once with ``ganglion.function`` (the fetched tensors as outputs, the fetched operations' updates
as ``updates``) and cached, so a training loop compiles its step once.
"""
import numpy as np

from ganglion.compat.tensorflow.graph import (FailedPreconditionError, Operation, Variable,
                                              get_default_graph, merge_pairs, placeholder,
                                              static_shape)
from ganglion.core.rebinds import correct_graph
from ganglion.core.tensor import Tensor
from ganglion.symbolic import function
from ganglion.symbolic.placeholders import is_placeholder

__all__ = ["Session", "InteractiveSession", "get_default_session"]

_sessions = []


def get_default_session():
    if not _sessions:
        raise ValueError("no default session: use `with tf.Session() as sess:` (or "
                         "sess.as_default()) before calling .eval() / .run() without a session")
    return _sessions[-1]


def _flatten(fetches, leaves):
    """The leaves of ``fetches`` (appended to ``leaves``) and a function rebuilding the
    structure from their values."""
    if isinstance(fetches, dict):
        builders = {key: _flatten(value, leaves) for key, value in fetches.items()}
        return lambda values: type(fetches)((k, b(values)) for k, b in builders.items())
    if isinstance(fetches, (list, tuple)) and not hasattr(fetches, "_fields"):
        builders = [_flatten(item, leaves) for item in fetches]
        kind = type(fetches)
        return lambda values: kind(b(values) for b in builders)
    if hasattr(fetches, "_fields"):  # a namedtuple (LSTMStateTuple)
        builders = [_flatten(item, leaves) for item in fetches]
        return lambda values: type(fetches)(*(b(values) for b in builders))
    if not isinstance(fetches, (Tensor, Operation)) and not hasattr(fetches, "_fetch_tensors"):
        raise TypeError(f"Session.run: fetch argument {fetches!r} has invalid type "
                        f"{type(fetches).__name__}; must be a tensor, an operation, or a list, "
                        "tuple or dict of them")
    index = len(leaves)
    leaves.append(fetches)
    return lambda values: values[index]


def _variables_in(tensors):
    """The tf Variables the graph of ``tensors`` reads (walked once, when compiling)."""
    correct_graph(tensors)  # nodes made before an in-place change read the old value
    found, seen, stack = [], set(), list(tensors)
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if isinstance(t, Variable):
            found.append(t)
        stack.extend(t._inputs or ())
    return found


class _Step:
    """One compiled signature: the function and how to map its results back to the leaves."""

    def __init__(self, leaves, fed):
        self.leaves = leaves  # kept alive so that the ids in the cache key stay theirs
        tensors, self.plan, actions, updates = [], [], [], []
        position = {}

        def output(t):
            if id(t) not in position:
                position[id(t)] = len(tensors)
                tensors.append(t)
            return position[id(t)]

        for leaf in leaves:
            if isinstance(leaf, Operation):
                actions = merge_pairs(actions, leaf.actions)
                updates = merge_pairs(updates, leaf.updates)
                self.plan.append(None)
            elif isinstance(leaf, Tensor):
                self.plan.append(("tensor", output(leaf)))
            else:  # a summary: several tensors, assembled after the run
                self.plan.append(("summary", leaf, [output(t) for t in leaf._fetch_tensors()]))
        targets = {}
        for target, value in updates:
            if id(target) in targets:
                raise ValueError(f"Session.run: variable {target.name} is updated by two of the "
                                 "fetched operations in one run")
            targets[id(target)] = value
        self.actions = actions
        self.fed = fed
        inputs, givens = [], []
        for key in fed:
            if is_placeholder(key):
                inputs.append(key)
            else:  # feeding an intermediate tensor or a variable replaces it for this run
                stand_in = placeholder(key.dtype, static_shape(key), name=f"feed_{key.name}")
                inputs.append(stand_in)
                givens.append((key, stand_in))
        self.dtypes = [key.dtype.np for key in fed]
        self.shapes = [static_shape(key) for key in fed]
        self.function = None
        if tensors or updates:
            self.function = function(inputs, tensors, updates=updates, givens=givens or None,
                                     on_unused_input="ignore")
        fed_ids = {id(k) for k in fed}
        self.variables = [v for v in _variables_in(tensors + [value for _, value in updates])
                          if id(v) not in fed_ids]

    def run(self, values):
        for action in self.actions:
            action()
        for variable in self.variables:
            if not variable.initialized:
                raise FailedPreconditionError(
                    f"Session.run: attempting to use uninitialized value {variable.op_name}; run "
                    "tf.global_variables_initializer() (or the variable's initializer) first")
        results = self.function(*values) if self.function is not None else []
        out = []
        for step in self.plan:
            if step is None:
                out.append(None)
            elif step[0] == "tensor":
                out.append(results[step[1]])
            else:
                out.append(step[1]._assemble([results[k] for k in step[2]]))
        for target, *_ in self.function.updates if self.function is not None else ():
            if isinstance(target, Variable):
                target.initialized = True
        return out


class Session:
    """``with tf.Session() as sess: sess.run(fetches, feed_dict={x: array})``."""

    def __init__(self, target="", graph=None, config=None):
        self.graph = graph or get_default_graph()
        self._cache = {}
        self._closed = False

    def __enter__(self):
        _sessions.append(self)
        return self

    def __exit__(self, *exc):
        _sessions.remove(self)
        self.close()

    def as_default(self):
        return _DefaultSession(self)

    def close(self):
        self._closed = True
        self._cache.clear()

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        if self._closed:
            raise RuntimeError("Session.run: attempted to use a closed Session")
        leaves = []
        rebuild = _flatten(fetches, leaves)
        feed_dict = feed_dict or {}
        fed = sorted(feed_dict, key=id)
        for key in fed:
            if not isinstance(key, Tensor):
                raise TypeError(f"Session.run: feed_dict keys must be tensors (placeholders), got "
                                f"{key!r}")
        key = (tuple(id(leaf) for leaf in leaves), tuple(id(k) for k in fed))
        step = self._cache.get(key)
        if step is None:
            step = self._cache[key] = _Step(leaves, fed)
        values = [_feed_value(k, feed_dict[k], dtype, shape)
                  for k, dtype, shape in zip(fed, step.dtypes, step.shapes)]
        return rebuild(step.run(values))

    def list_devices(self):
        return []


class InteractiveSession(Session):
    """A session that makes itself the default when made (for ``.eval()``)."""

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        _sessions.append(self)

    def close(self):
        if self in _sessions:
            _sessions.remove(self)
        super().close()


class _DefaultSession:
    def __init__(self, session):
        self.session = session

    def __enter__(self):
        _sessions.append(self.session)
        return self.session

    def __exit__(self, *exc):
        _sessions.remove(self.session)


def _feed_value(key, value, dtype, shape):
    """``value`` as an array of the fed tensor's dtype (TF converts fed values so); a shape that
    does not fit is the error TF gives."""
    if isinstance(value, Tensor):
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype != dtype:
        array = array.astype(dtype)
    if array.ndim != len(shape) or any(d is not None and d != n for d, n in zip(shape, array.shape)):
        shown = "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"
        hint = ""
        if id(key) in get_default_graph().shapeless_placeholders:
            hint = (" (made with tf.placeholder(dtype) and no shape, which is a scalar here: "
                    "give the placeholder its shape, e.g. shape=[None, 3072])")
        raise ValueError(f"Session.run: cannot feed value of shape {array.shape} for tensor "
                         f"{key.name!r}, which has shape {shown}{hint}")
    return array
