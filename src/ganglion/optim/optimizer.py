"""``Optimizer``: parameter groups, state, and the two ways of running an update rule.

Each optimizer supplies an update rule (see ``update_ops``): a function
``rule(ops, param, grad, state, step, group, scratch) -> {name: new value}`` returning the new
value of the parameter (``'param'``) and of each state entry. The base class runs it

- eagerly in ``step()``: on the raw arrays of the parameters, gradients and state, in place,
  with ``scratch`` arrays preallocated once per optimizer (shared by all parameters, since
  they are updated one after the other), and no graph;
- symbolically in ``updates(cost)``: on Tensors, giving the ``(variable, new value)`` pairs of
  the parameters and the state, for ``ganglion.function(..., updates=opt.updates(cost))``.

State is kept per parameter, as in PyTorch: ``opt.state[p]`` maps names to Tensors (the step
count is a 0-d float32 tensor). ``updates()`` turns the state into shared variables (values that
compiled functions read and write), so that eager steps, compiled steps and ``state_dict()`` all
see the same state. The options of each group are read when ``updates()`` is called: a compiled
function keeps the learning rate it was compiled with.
"""
from numbers import Real

from ganglion.backend import current as backend
from ganglion.core.autograd import grad as symbolic_grad
from ganglion.core.dtypes import float64
from ganglion.core.grad_mode import enable_grad
from ganglion.core.ops.elementwise import cast
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.core.versions import bump_storage
from ganglion.core import tracing
from ganglion.optim.update_ops import InPlaceArrays, TensorExpressions
from ganglion.symbolic.shared import SharedVariable, shared

__all__ = ["Optimizer", "check_number", "check_nonnegative", "check_fraction"]

xp = backend.xp


class Optimizer:
    """Base class of every optimizer. Subclasses set ``update_rule``, ``scratch_buffers`` (how
    many parameter-sized temporaries the rule needs), ``counts_steps``, and ``_state_names`` /
    ``_initial_state`` / ``_check_options``."""

    update_rule = None
    scratch_buffers = 1
    counts_steps = True
    #: Every state entry this optimizer may keep for a parameter (checked by load_state_dict).
    state_names = ()
    #: The state entries that are one number, not shaped like the parameter.
    scalar_state_names = frozenset({"step"})
    #: Whether a parameter's state may be an empty dict (made before its first real entry).
    state_starts_empty = False

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        self._scratch_spaces = {}  # dtype -> (scratch_buffers, largest size) array
        self._scratch_views = {}
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of "
                            "dicts, got a single Tensor; pass [tensor]")
        _check_ordered(self, params, "params")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----- parameter groups ---------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (the defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if params is None:  # KeyError, as in PyTorch
            raise KeyError(f"{type(self).__name__}: a parameter group needs a 'params' entry")
        _check_ordered(self, params, "a parameter group's 'params'")
        params = [params] if isinstance(params, Tensor) else list(params)
        for k, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, but parameter "
                                f"{k} of group {len(self.param_groups)} is a {type(p).__name__}")
            if p._op is not None:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor "
                                 f"(parameter {k} of group {len(self.param_groups)}, shape "
                                 f"{tuple(p.shape)}, was computed by an op): optimize the leaf "
                                 "it was computed from, or detach() it")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{type(self).__name__}: parameter group {len(self.param_groups)} "
                             "lists a parameter more than once")
        group["params"] = params
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_options(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             "parameter group")
        self.param_groups.append(group)

    def _check_options(self, group):
        """Raise ValueError naming an option whose value is invalid."""

    def zero_grad(self, set_to_none=True):
        """Forget the gradients: set ``.grad`` to None (default) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif (g._op is None and g._data is not None and g._data.flags.writeable
                      and g._data.shape == p.shape and g._data.dtype == _array_of(p).dtype):
                    g._data.fill(0)
                    bump_storage(g._data)
                else:
                    # Fresh zeros where the gradient cannot be zeroed in place (a graph, a
                    # read-only array) or no longer fits the parameter (.grad._data replaced).
                    param_array = _array_of(p)
                    p.grad = make_tensor(xp.zeros(param_array.shape, param_array.dtype))

    # ----- state --------------------------------------------------------------------------
    def _state_names(self, group):
        """The state tensors that a parameter of this group keeps (besides the step count)."""
        return ()

    def _initial_state(self, param_array, group):
        """{name: array} for a parameter seen for the first time (zeros unless overridden)."""
        return {name: xp.zeros_like(param_array) for name in self._state_names(group)}

    def _state_for(self, param, group):
        state = self.state.get(param)
        if state is None:
            state = {name: make_tensor(array)
                     for name, array in self._initial_state(_array_of(param), group).items()}
            if self.counts_steps:
                state["step"] = make_tensor(xp.zeros((), xp.float32))
            self.state[param] = state
        return state

    # ----- eager ----------------------------------------------------------------------------
    def step(self, closure=None):
        """Update every parameter that has a gradient, in place. ``closure`` (optional)
        recomputes the loss and returns it; it runs with gradients enabled."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if tracing.active and any(p.grad is not None and p.grad._data is None
                                  for group in self.param_groups for p in group["params"]):
            # ganglion.jit is tracing a train step: the gradients are symbolic, and the step
            # becomes updates of the compiled function, from the same update rule.
            tracing.active[-1].updates.extend(self._update_pairs(
                ((p, group), p.grad) for group in self.param_groups for p in group["params"]
                if p.grad is not None))
            return loss
        # Everything is checked before anything changes, so that a step that fails leaves
        # every parameter and every state entry (step counts included) as it was.
        work = self._checked_work()
        rule = type(self).update_rule
        for p, group, param, grad, values in work:
            if values is None:  # the parameter's first step: its state starts now
                values = {name: _array_of(t) for name, t in self._state_for(p, group).items()}
            state = self.state[p]
            step = None
            if self.counts_steps:
                count = values.pop("step")
                count += 1
                step = float(count)
            new = rule(InPlaceArrays, param, grad, values, step, group, self._scratch(param))
            for name, value in new.items():
                if name != "param" and name not in state:  # state that starts at the first step
                    state[name] = make_tensor(value)
            bump_storage(param)
        return loss

    def _checked_work(self):
        """[(parameter, group, parameter array, gradient array, {state name: array} or None)]
        for the parameters that have a gradient, after checking the options of their groups,
        and that each gradient array and state array fits its parameter. ``.grad`` assignments
        are checked when they happen, but ``p.grad.data``, ``p.data``, ``opt.state`` and
        ``group[option]`` can be replaced afterwards; the checks here are O(1) per parameter."""
        work = []
        array_type = xp.ndarray
        all_state = self.state
        scalar_names = self.scalar_state_names
        for k, group in enumerate(self.param_groups):
            options_checked = False
            for index, p in enumerate(group["params"]):
                g = p._grad
                if g is None:
                    continue
                if not options_checked:
                    self._check_options(group)
                    options_checked = True
                param = p._data
                if param is None:
                    param = p.storage
                grad = g._data
                if (type(grad) is not array_type and not isinstance(grad, array_type)) or (
                        grad.shape != param.shape or grad.dtype != param.dtype):
                    self._refuse_gradient(k, index, param, grad)
                state = all_state.get(p)
                values = None
                if state is not None:
                    values = {}
                    for name, t in state.items():
                        array = t._data
                        if array is None:
                            array = t.storage
                        if array.shape != param.shape and name not in scalar_names:
                            raise RuntimeError(
                                f"{type(self).__name__}.step: the state {name!r} of parameter "
                                f"{index} of group {k} has shape {tuple(array.shape)}, but the "
                                f"parameter has shape {tuple(param.shape)} (was the parameter's "
                                "data replaced?); nothing was updated")
                        values[name] = array
                work.append((p, group, param, grad, values))
        return work

    def _refuse_gradient(self, group_index, index, param, grad):
        where = (f"{type(self).__name__}.step: the gradient of parameter {index} of group "
                 f"{group_index}")
        if grad is None:
            raise RuntimeError(f"{where} is symbolic (the gradient of a symbolic loss): step() "
                               "updates values; compile the step instead with "
                               "ganglion.function(..., updates=optimizer.updates(cost)) or "
                               "ganglion.jit; nothing was updated")
        if not isinstance(grad, xp.ndarray):
            raise TypeError(f"{where} holds a {type(grad).__name__}, not an array (was .grad.data "
                            "replaced?); nothing was updated")
        if grad.shape != param.shape:
            raise RuntimeError(f"{where} has shape {tuple(grad.shape)}, but the parameter has "
                               f"shape {tuple(param.shape)} (was .grad.data replaced?); nothing "
                               "was updated")
        raise RuntimeError(f"{where} has dtype {grad.dtype}, but the parameter has dtype "
                           f"{param.dtype} (was .grad.data or the parameter's data replaced?); "
                           "nothing was updated")

    def _scratch(self, array):
        """``scratch_buffers`` temporaries shaped like ``array``: views of one flat buffer."""
        key = (array.shape, array.dtype)
        views = self._scratch_views.get(key)
        if views is None:
            space = self._scratch_spaces.get(array.dtype)
            if space is None or space.shape[1] < array.size:
                space = xp.empty((self.scratch_buffers, array.size), array.dtype)
                self._scratch_spaces[array.dtype] = space
                self._scratch_views = {}  # views of a smaller buffer: make them again
            views = self._scratch_views[key] = [space[k, :array.size].reshape(array.shape)
                                                for k in range(self.scratch_buffers)]
        return views

    # ----- symbolic -------------------------------------------------------------------------
    def updates(self, cost):
        """The ``(variable, new value)`` pairs of one step on the symbolic ``cost``: every
        parameter that requires grad, and the optimizer's state, for ``function(updates=)``."""
        if not isinstance(cost, Tensor) or cost._data is not None:
            got = "a computed tensor" if isinstance(cost, Tensor) else type(cost).__name__
            raise TypeError(f"{type(self).__name__}.updates(cost): cost must be a symbolic Tensor "
                            f"(built from placeholders), got {got}; for eager training call "
                            "loss.backward() and step()")
        for group in self.param_groups:  # the options are built into the graph: check them now
            self._check_options(group)
        trainable = [(p, group) for group in self.param_groups for p in group["params"]
                     if p.requires_grad]
        grads = symbolic_grad(cost, [p for p, _ in trainable], allow_unused=True)
        return self._update_pairs(zip(trainable, grads))

    def _update_pairs(self, params_with_grads):
        """The update pairs for ((param, group), symbolic gradient) items."""
        rule = type(self).update_rule
        pairs = []
        # Recording keeps products of parameters (which hold values) in the graph, so that the
        # compiled function reads their values when it runs, not when it was built.
        with enable_grad():
            for (p, group), g in params_with_grads:
                if g is None:
                    continue
                variables = self._symbolic_state(p, group)
                step = None
                if self.counts_steps:
                    count = variables.pop("step")
                    # Bias corrections such as 1 - 0.999 ** step lose digits in float32; eager
                    # steps compute them with Python floats, and so does the graph.
                    step = cast(count, float64) + 1
                    pairs.append((count, step))
                scratch = [None] * self.scratch_buffers
                new = rule(TensorExpressions, p, g, dict(variables), step, group, scratch)
                pairs.append((p, new.pop("param")))
                pairs.extend((variables[name], value) for name, value in new.items())
        return pairs

    def _symbolic_state(self, param, group):
        """{name: shared variable} of ``param``'s state; the optimizer's state now lives there."""
        state = self._state_for(param, group)
        for name, t in state.items():
            if not isinstance(t, SharedVariable):
                state[name] = shared(t._data, name=name, borrow=True)
        return dict(state)

    # ----- checkpoints ------------------------------------------------------------------------
    def state_dict(self):
        """{'state': {index: {name: Tensor}}, 'param_groups': [{options..., 'params': [index]}]},
        parameters numbered in group order, as in PyTorch. Plain values and Tensors only (the
        Tensors share memory with the optimizer's state), so it can be saved without pickle."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, entries in self.state.items():
            if id(p) in index:
                state[index[id(p)]] = {name: make_tensor(_array_of(t))
                                       for name, t in entries.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Load what ``state_dict()`` returned (copied, cast to each parameter's dtype). State
        keys may be ints or digit strings (as after a JSON round trip).

        The whole input is checked first (the groups and their sizes, the parameter indices,
        the options, each parameter's state entries and their shapes), and nothing changes
        unless all of it fits: a ValueError (TypeError for an option of the wrong type) says
        what does not."""
        name = type(self).__name__
        where = f"{name}.load_state_dict"
        if (not isinstance(state_dict, dict) or not isinstance(state_dict.get("param_groups"), list)
                or not isinstance(state_dict.get("state"), dict)):
            got = (f"a dict with keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict)
                   else f"a {type(state_dict).__name__}")
            raise ValueError(f"{where}: expected what state_dict() returns (a dict with a 'state' "
                             f"dict and a 'param_groups' list), got {got}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where}: the state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        # 1. The groups: their sizes and parameter indices; the options they will set.
        by_index = {}
        group_of = {}
        new_groups = []
        for k, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), list):
                raise ValueError(f"{where}: parameter group {k} of the state dict is not a dict "
                                 "with a 'params' list of parameter indices")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{where}: parameter group {k} has {len(saved['params'])} "
                                 f"parameters in the state dict but {len(group['params'])} in the "
                                 "optimizer")
            options = {key: (tuple(v) if isinstance(v, list) else v)
                       for key, v in saved.items() if key != "params"}
            new_groups.append({**options, "params": group["params"]})
            # The state a parameter needs is judged with the group's options, the current ones
            # filling those the saved group lacks (one saved by another optimizer), so that the
            # state's keys are named before the group's missing options.
            judged = {**group, **options}
            for index, param in zip(saved["params"], group["params"]):
                index = _parameter_index(where, index, f"parameter group {k} lists")
                if index in by_index:
                    raise ValueError(f"{where}: parameter index {index} is listed twice in the "
                                     "state dict's parameter groups")
                by_index[index] = param
                group_of[index] = judged
        # 2. The state of each parameter: its keys, and arrays that fit the parameter.
        state = {}
        allowed = set(self.state_names) | ({"step"} if self.counts_steps else set())
        for key, entries in state_dict["state"].items():
            index = _parameter_index(where, key, "the state has an entry for")
            param = by_index.get(index)
            if param is None:
                raise ValueError(f"{where}: the state has an entry for parameter {key}, which no "
                                 "parameter group lists")
            if not isinstance(entries, dict):
                raise ValueError(f"{where}: the state for parameter {key} is a "
                                 f"{type(entries).__name__}, expected a dict of named tensors")
            group = group_of[index]
            needed = list(self._state_names(group)) + (["step"] if self.counts_steps else [])
            missing = [n for n in needed if n not in entries]
            if missing and (entries or not self.state_starts_empty):
                raise ValueError(f"{where}: the state for parameter {key} has keys "
                                 f"{sorted(entries)} but {self._label(group)} needs "
                                 f"{', '.join(repr(n) for n in missing)} (was it saved by another "
                                 "optimizer?)")
            unknown = sorted(set(entries) - allowed)
            if unknown:
                raise ValueError(f"{where}: the state for parameter {key} has keys "
                                 f"{sorted(entries)}, and {unknown} are not state that {name} "
                                 "keeps (was it saved by another optimizer?)")
            state[param] = {n: _loaded_array(where, key, n, v, param,
                                             n in self.scalar_state_names)
                            for n, v in entries.items()}
        # 3. The options of each group, as the constructor checks them.
        for k, group in enumerate(new_groups):
            missing = [option for option in self.defaults if option not in group]
            if missing:
                raise ValueError(f"{where}: parameter group {k} of the state dict lacks the "
                                 f"options {missing} that {name} needs (was it saved by another "
                                 "optimizer?)")
            try:
                self._check_options(group)
            except (TypeError, ValueError) as error:
                raise type(error)(f"{where}: parameter group {k}: {error}") from None
        # All of it fits: now change the optimizer. A state tensor that compiled functions
        # update (a shared variable) takes the loaded value in place, so that they see it.
        for param, entries in state.items():
            current = self.state.get(param, {})
            for n, array in entries.items():
                existing = current.get(n)
                if (isinstance(existing, SharedVariable) and existing.storage.shape == array.shape
                        and existing.storage.dtype == array.dtype):
                    existing.storage[...] = array
                    bump_storage(existing.storage)
                    entries[n] = existing
                else:
                    entries[n] = make_tensor(array)
        self.state = state
        self.param_groups = new_groups

    def _label(self, group):
        """How an error names this optimizer with the options of ``group`` that decide its
        state (e.g. "SGD with momentum")."""
        return type(self).__name__

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def _array_of(t):
    """A tensor's array: ``data``, or ``storage`` for a shared variable."""
    data = t._data
    return t.storage if data is None else data


def _check_ordered(optimizer, params, what):
    """TypeError for a set: the order of its tensors changes between runs, and the state dict
    numbers parameters in order (PyTorch's check)."""
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{type(optimizer).__name__}: {what} is a set, but optimizer parameters "
                        "need to be in an ordered collection (the order of tensors in a set "
                        "changes between runs): pass a list")


def _parameter_index(where, key, context):
    """A parameter index of a state dict: an int, or a digit string after a JSON round trip."""
    if type(key) is int or (isinstance(key, str) and key.isdigit()):
        return int(key)
    raise ValueError(f"{where}: {context} {key!r}, which is not a parameter index (expected an "
                     "int or a string of digits)")


def _loaded_array(where, key, name, value, param, scalar):
    """The array of state entry ``name`` of parameter ``key``, as the optimizer keeps it: a copy,
    of the parameter's dtype and shape (float32 and one element for a step count)."""
    if isinstance(value, Tensor):
        if value._data is None and not isinstance(value, SharedVariable):
            raise ValueError(f"{where}: state {name!r} of parameter {key} is a symbolic tensor "
                             "with no value")
        value = _array_of(value)
    param_array = _array_of(param)
    dtype = xp.float32 if name == "step" else param_array.dtype
    try:
        array = xp.array(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: state {name!r} of parameter {key} is not an array of numbers "
                         f"({type(value).__name__}: {error})") from None
    if scalar:
        if array.size != 1:
            raise ValueError(f"{where}: state {name!r} of parameter {key} has shape "
                             f"{tuple(array.shape)}, expected a single number")
        return array.reshape(())
    if array.shape != param_array.shape:
        raise ValueError(f"{where}: state {name!r} of parameter {key} has shape "
                         f"{tuple(array.shape)}, but the parameter has shape "
                         f"{tuple(param_array.shape)}")
    return array


def check_number(optimizer, option, value):
    """TypeError unless ``value`` (the option ``option``) is a real number."""
    if type(value) is not float and type(value) is not int and not isinstance(value, Real):
        raise TypeError(f"{type(optimizer).__name__}: invalid {option} {value!r}: expected a "
                        f"real number, got {type(value).__name__}")


def check_nonnegative(optimizer, group, *names):
    """ValueError naming the first of ``names`` whose value in ``group`` is negative (TypeError
    if it is not a number)."""
    for option in names:
        value = group[option]
        check_number(optimizer, option, value)
        if not value >= 0.0:  # also refuses NaN
            raise ValueError(f"{type(optimizer).__name__}: invalid {option} {value!r}: it must be "
                             ">= 0")


def check_fraction(optimizer, option, value, include_one=False):
    """ValueError unless 0 <= value < 1 (or <= 1 with ``include_one``)."""
    check_number(optimizer, option, value)
    if not (0.0 <= value <= 1.0 if include_one else 0.0 <= value < 1.0):
        raise ValueError(f"{type(optimizer).__name__}: invalid {option} {value!r}: it must be in "
                         f"[0, 1{']' if include_one else ')'}")
