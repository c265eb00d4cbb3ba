"""``function``: compile symbolic outputs (and updates) into a callable.

Compiling extracts the subgraph between the inputs and the outputs and update values
(``graph.extract``, with ``givens`` substituted), rewrites it (``rewrites.optimize``) and turns it
into a flat schedule (``schedule.Schedule``), with elementwise chains fused into compiled loops
(``fusion``). Calling binds the arguments to slots, reads each
shared value, runs the schedule, returns NumPy arrays, and then applies the updates, all computed
from the values before the call.
"""
import warnings

from ganglion.backend import current as backend
from ganglion.core.op import format_shape
from ganglion.core.ops.elementwise import cast
from ganglion.core.symbolic_shape import SymbolicShape
from ganglion.core.tensor import Constant, Tensor
from ganglion.symbolic.fusion import fuse
from ganglion.symbolic.scalar_fusion import fuse_scalars
from ganglion.symbolic.graph import describe, extract, toposort
from ganglion.symbolic.inputs import InputSpec
from ganglion.symbolic.rewrites import optimize
from ganglion.symbolic.rewrites.onednn_layout import propagate_layout
from ganglion.symbolic.schedule import Schedule, makes_new_array
from ganglion.symbolic.shared import SharedVariable, value_attribute

__all__ = ["function", "Function"]


def function(inputs, outputs=None, updates=None, givens=None, on_unused_input="raise", name=None,
             allow_input_downcast=False, optimize_graph=True, no_default_updates=False):
    """Compile ``outputs`` (a tensor or a list) of ``inputs`` (placeholders or ``In``) into a
    callable that returns NumPy arrays. ``updates``: (shared variable, new value) pairs or a
    dict, applied after each call. ``givens``: (variable, replacement) pairs or a dict.
    ``on_unused_input``: 'raise', 'warn' or 'ignore'. ``optimize_graph=False`` skips the rewrites.
    ``no_default_updates``: True keeps the random state of every random variable in the graph as
    it was (each call draws the same numbers), a list does so for the random variables listed
    (or their ``.rng``); by default each call draws new numbers (Theano's default updates)."""
    return Function(inputs, outputs, updates, givens, on_unused_input, name, allow_input_downcast,
                    optimize_graph, no_default_updates)


class Function:
    """A compiled function (see ``function``)."""

    def __init__(self, inputs, outputs, updates, givens, on_unused_input, name, allow_downcast,
                 optimize_graph, no_default_updates=False):
        if on_unused_input not in ("raise", "warn", "ignore"):
            raise ValueError(f"function: on_unused_input must be 'raise', 'warn' or 'ignore', got "
                             f"{on_unused_input!r}")
        self.name = name
        # What copy() compiles again.
        self._arguments = dict(inputs=inputs, outputs=outputs, updates=updates, givens=givens,
                               on_unused_input=on_unused_input, name=name,
                               allow_downcast=allow_downcast, optimize_graph=optimize_graph,
                               no_default_updates=no_default_updates)
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"function: inputs must be a list of placeholders, got {inputs!r}")
        self.inputs = [InputSpec(item, k, allow_downcast) for k, item in enumerate(inputs)]
        _check_distinct(self.inputs)
        if isinstance(outputs, SymbolicShape):  # function([x], x.shape): one int64 vector
            outputs = outputs.to_tensor()
        self.single = outputs is not None and not isinstance(outputs, (list, tuple))
        output_list = [] if outputs is None else [outputs] if self.single else list(outputs)
        output_list = [_as_output(o, k) for k, o in enumerate(output_list)]
        targets, values = _updates(updates)
        pairs = _givens(givens)
        nodes, input_nodes, _ = extract(output_list + values, [s.variable for s in self.inputs], pairs)
        _check_unused(self.inputs, input_nodes, nodes, on_unused_input)
        if optimize_graph:
            nodes = fuse_scalars(fuse(propagate_layout(optimize(nodes))))
        self.output_nodes = nodes[:len(output_list)]
        self.schedule = Schedule(self.output_nodes, input_nodes,
                                 list(zip(targets, nodes[len(output_list):])))
        slot = self.schedule.slot
        for spec, node in zip(self.inputs, input_nodes):
            spec.slot = slot[id(node)]
        self.output_slots = [slot[id(n)] for n in self.output_nodes]
        # Results that may be (views of) inputs or shared storage are copied, so that the caller
        # can change them freely, as in Theano.
        self.copied_outputs = [k for k, n in enumerate(self.output_nodes) if not makes_new_array(n)]
        self.updates = [(t, slot[id(n)], value_attribute(t), t.dtype.np)
                        for t, n in zip(targets, nodes[len(output_list):])]
        self._positional_names = {s.name: k for k, s in enumerate(self.inputs)}
        self._frozen_random = _frozen_random_ops(self.schedule, no_default_updates)

    @property
    def maker(self):
        """Theano's ``f.maker``: ``f.maker.fgraph`` is the compiled graph (``FunctionGraph``)."""
        from ganglion.symbolic.fgraph import FunctionMaker
        return FunctionMaker(self)

    def copy(self, share_memory=False, swap=None, delete_updates=False, name=None, profile=None):
        """The same function compiled again (Theano's ``Function.copy``): ``swap``, a dict
        {shared variable: another of its type}, makes the copy read and update the other one;
        ``delete_updates=True`` drops the updates. Compiled anew, so ``share_memory`` changes
        nothing (no storage is shared between the two but the shared variables')."""
        arguments = dict(self._arguments)
        swap = dict(swap or {})
        for old, new in swap.items():
            if not isinstance(old, SharedVariable) or not isinstance(new, SharedVariable):
                raise TypeError("copy: swap must map shared variables to shared variables")
            if old.dtype is not new.dtype or old.ndim != new.ndim:
                raise TypeError(f"copy: swap replaces {describe(old)} with {describe(new)}: the "
                                "dtype and number of dimensions must match")
        if delete_updates:
            arguments["updates"] = None
        elif swap and arguments["updates"] is not None:
            arguments["updates"] = [(swap.get(target, target), value)
                                    for target, value in _pairs(arguments["updates"], "updates")]
        if swap:
            arguments["givens"] = _pairs(arguments["givens"], "givens") + list(swap.items())
        if name is not None:
            arguments["name"] = name
        return Function(**arguments)

    def __call__(self, *args, **kwargs):
        inputs = self.inputs
        if len(args) > len(inputs):
            raise TypeError(f"function{self._label()}: takes {len(inputs)} inputs, got {len(args)}")
        values = list(self.schedule.initial)
        for spec, value in zip(inputs, args):
            values[spec.slot] = spec.convert(value)
        for spec in inputs[len(args):]:
            if spec.name in kwargs:
                values[spec.slot] = spec.convert(kwargs.pop(spec.name))
            elif spec.has_default:
                values[spec.slot] = spec.default
            else:
                raise TypeError(f"function{self._label()}: missing input {spec.name!r} "
                                f"({describe(spec.variable)})")
        if kwargs:
            self._reject_keywords(kwargs, len(args))
        for slot, tensor, attribute, shape in self.schedule.shared:
            value = values[slot] = getattr(tensor, attribute)
            if value.shape != shape:
                raise ValueError(f"function{self._label()}: shared variable {describe(tensor)} "
                                 f"now holds a value of shape {tuple(value.shape)}; compile the "
                                 "function again after changing a shape")
        frozen = [(op, _random_state(op.generator)) for op in self._frozen_random]
        for kernel, arg_slots, out, free in self.schedule.program:
            values[out] = kernel(*[values[s] for s in arg_slots])
            for s in free:
                values[s] = None
        for op, state in frozen:
            _set_random_state(op.generator, state)
        to_numpy, asarray = backend.to_numpy, backend.xp.asarray
        results = [to_numpy(asarray(values[s])) for s in self.output_slots]
        for k in self.copied_outputs:
            results[k] = results[k].copy()
        for target, slot, attribute, np_dtype in self.updates:
            setattr(target, attribute, backend.xp.asarray(values[slot], dtype=np_dtype))
            target._version += 1
        if self.single:
            return results[0]
        return results

    def _reject_keywords(self, kwargs, n_positional):
        for key in kwargs:
            position = self._positional_names.get(key)
            if position is not None and position < n_positional:
                raise TypeError(f"function{self._label()}: input {key!r} given both by position "
                                "and by keyword")
            raise TypeError(f"function{self._label()}: unknown keyword argument {key!r}; the inputs "
                            f"are {', '.join(repr(s.name) for s in self.inputs)}")

    def _label(self):
        return f" {self.name!r}" if self.name else ""


def _frozen_random_ops(schedule, no_default_updates):
    """The random ops whose state a call puts back (``no_default_updates``)."""
    if no_default_updates is False or no_default_updates is None:
        return []
    from ganglion.symbolic.random import RandomDraw
    ops = [i.node.op for i in schedule.instructions if isinstance(i.node.op, RandomDraw)]
    if no_default_updates is True:
        return ops
    listed = set()
    for item in no_default_updates:
        op = getattr(item, "op", None) or getattr(item, "_op", None)  # an rv.rng or an rv
        if not isinstance(op, RandomDraw):
            raise TypeError(f"function: no_default_updates lists {item!r}, which is neither a "
                            "random variable nor its .rng")
        listed.add(id(op))
    return [op for op in ops if id(op) in listed]


def _random_state(generator):
    return generator.get_state() if hasattr(generator, "get_state") else generator.bit_generator.state


def _set_random_state(generator, state):
    if hasattr(generator, "set_state"):
        generator.set_state(state)
    else:
        generator.bit_generator.state = state


def _as_output(value, position):
    if not isinstance(value, Tensor):
        raise TypeError(f"function: output {position} must be a tensor expression, got "
                        f"{type(value).__name__}")
    return value


def _check_distinct(specs):
    seen = set()
    for spec in specs:
        if id(spec.variable) in seen:
            raise ValueError(f"function: input {spec.name!r} is listed twice")
        seen.add(id(spec.variable))


def _pairs(mapping, what):
    if mapping is None:
        return []
    items = list(mapping.items()) if isinstance(mapping, dict) else list(mapping)
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise TypeError(f"function: {what} must be (variable, value) pairs or a dict, got {item!r}")
    return items


def _updates(updates):
    targets, values = [], []
    seen = set()
    for target, value in _pairs(updates, "updates"):
        if not isinstance(target, Tensor) or isinstance(target, Constant) or (
                target._data is None and not isinstance(target, SharedVariable)):
            label = describe(target) if isinstance(target, Tensor) else repr(target)
            raise TypeError(f"function: update target {label} is not a shared variable (a tensor "
                            "that holds a value, e.g. made by shared() or a Parameter); only those "
                            "can be updated")
        if id(target) in seen:
            raise ValueError(f"function: shared variable {describe(target)} is updated twice")
        seen.add(id(target))
        if not isinstance(value, Tensor):
            value = _array_constant(value, target)
        if value.dtype is not target.dtype:
            if value.dtype.category > target.dtype.category:
                raise TypeError(f"function: the update of {describe(target)} has dtype "
                                f"{value.dtype.name}, which cannot be stored in it")
            value = cast(value, target.dtype)
        _check_update_shape(target, value)
        targets.append(target)
        values.append(value)
    return targets, values


def _array_constant(value, target):
    from ganglion.core.tensor import make_tensor
    return make_tensor(backend.xp.asarray(value, dtype=target.dtype.np), cls=Constant)


def _check_update_shape(target, value):
    shape, new = tuple(target.shape), value.tensor_type.shape  # None: known at run time
    if len(new) != len(shape) or any(d is not None and d != s for d, s in zip(new, shape)):
        raise ValueError(f"function: the update of {describe(target)} has shape "
                         f"{format_shape(new)}, but the shared variable has shape {format_shape(shape)}")


def _givens(givens):
    pairs = _pairs(givens, "givens")
    for old, new in pairs:
        if not isinstance(old, Tensor) or not isinstance(new, Tensor):
            raise TypeError(f"function: givens must map tensors to tensors, got {old!r} -> {new!r}")
        if old.ndim != new.ndim or old.dtype is not new.dtype:
            raise TypeError(f"function: givens replaces {describe(old)} with {describe(new)}: the "
                            "dtype and number of dimensions must match")
    return pairs


def _check_unused(specs, input_nodes, nodes, on_unused_input):
    if on_unused_input == "ignore":
        return
    used = {id(n) for n in toposort(nodes)}
    for spec, node in zip(specs, input_nodes):
        if id(node) not in used:
            message = (f"function: input {spec.name!r} ({describe(spec.variable)}) is not used to "
                       "compute the outputs or updates; pass on_unused_input='ignore' (or 'warn') "
                       "if that is intended")
            if on_unused_input == "raise":
                raise ValueError(message)
            warnings.warn(message, stacklevel=4)

