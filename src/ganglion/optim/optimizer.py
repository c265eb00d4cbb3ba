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

__all__ = ["Optimizer", "check_nonnegative", "check_fraction"]

xp = backend.xp


class Optimizer:
    """Base class of every optimizer. Subclasses set ``update_rule``, ``scratch_buffers`` (how
    many parameter-sized temporaries the rule needs), ``counts_steps``, and ``_state_names`` /
    ``_initial_state`` / ``_check_options``."""

    update_rule = None
    scratch_buffers = 1
    counts_steps = True

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        self._scratch_spaces = {}  # dtype -> (scratch_buffers, largest size) array
        self._scratch_views = {}
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of "
                            "dicts, got a single Tensor; pass [tensor]")
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
        if params is None:
            raise ValueError(f"{type(self).__name__}: a parameter group needs a 'params' entry")
        params = [params] if isinstance(params, Tensor) else list(params)
        for k, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, but parameter "
                                f"{k} of group {len(self.param_groups)} is a {type(p).__name__}")
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
                elif g._op is not None or g.data is None or not g.data.flags.writeable:
                    p.grad = make_tensor(xp.zeros(p.shape, g.data.dtype if g.data is not None
                                                  else p.data.dtype))
                else:
                    g.data.fill(0)
                    bump_storage(g.data)

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
        if tracing.active and any(p.grad is not None and p.grad.data is None
                                  for group in self.param_groups for p in group["params"]):
            # ganglion.jit is tracing a train step: the gradients are symbolic, and the step
            # becomes updates of the compiled function, from the same update rule.
            tracing.active[-1].updates.extend(self._update_pairs(
                ((p, group), p.grad) for group in self.param_groups for p in group["params"]
                if p.grad is not None))
            return loss
        rule = type(self).update_rule
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                state = self._state_for(p, group)
                values = {name: _array_of(t) for name, t in state.items()}
                step = None
                if self.counts_steps:
                    count = values.pop("step")
                    count += 1
                    step = float(count)
                param = _array_of(p)
                new = rule(InPlaceArrays, param, g.data, values, step, group, self._scratch(param))
                for name, value in new.items():
                    if name != "param" and name not in state:  # state that starts at the first step
                        state[name] = make_tensor(value)
                bump_storage(param)
        return loss

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
        if not isinstance(cost, Tensor) or cost.data is not None:
            got = "a computed tensor" if isinstance(cost, Tensor) else type(cost).__name__
            raise TypeError(f"{type(self).__name__}.updates(cost): cost must be a symbolic Tensor "
                            f"(built from placeholders), got {got}; for eager training call "
                            "loss.backward() and step()")
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
                state[name] = shared(t.data, name=name, borrow=True)
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
        keys may be ints or digit strings (as after a JSON round trip)."""
        name = type(self).__name__
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter groups, the optimizer has {len(self.param_groups)}")
        by_index = {}
        for k, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {k} has "
                                 f"{len(saved['params'])} parameters in the state dict but "
                                 f"{len(group['params'])} in the optimizer")
            by_index.update(zip((int(i) for i in saved["params"]), group["params"]))
        state = {}
        for key, entries in state_dict["state"].items():
            param = by_index.get(int(key))
            if param is None:
                raise ValueError(f"{name}.load_state_dict: state for parameter {key}, which no "
                                 "parameter group lists")
            state[param] = {n: make_tensor(_loaded_array(name, key, n, v, param))
                            for n, v in entries.items()}
        self.state = state
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            options = {k: (tuple(v) if isinstance(v, list) else v)
                       for k, v in saved.items() if k != "params"}
            new_groups.append({**options, "params": group["params"]})
        self.param_groups = new_groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)


def _array_of(t):
    """A tensor's array: ``data``, or ``storage`` for a shared variable."""
    data = t.data
    return t.storage if data is None else data


def _loaded_array(optimizer_name, key, name, value, param):
    if isinstance(value, Tensor):
        value = _array_of(value)
    if name == "step":
        return xp.asarray(value, dtype=xp.float32).reshape(()).copy()
    param_array = _array_of(param)
    array = xp.array(value, dtype=param_array.dtype)
    if array.shape != param_array.shape:
        raise ValueError(f"{optimizer_name}.load_state_dict: state {name!r} of parameter {key} has "
                         f"shape {tuple(array.shape)}, but the parameter has shape "
                         f"{tuple(param_array.shape)}")
    return array


def check_nonnegative(optimizer, group, *names):
    """ValueError naming the first of ``names`` whose value in ``group`` is negative."""
    for option in names:
        value = group[option]
        if not value >= 0.0:  # also refuses NaN
            raise ValueError(f"{type(optimizer).__name__}: invalid {option} {value!r}: it must be "
                             ">= 0")


def check_fraction(optimizer, option, value, include_one=False):
    """ValueError unless 0 <= value < 1 (or <= 1 with ``include_one``)."""
    if not (0.0 <= value <= 1.0 if include_one else 0.0 <= value < 1.0):
        raise ValueError(f"{type(optimizer).__name__}: invalid {option} {value!r}: it must be in "
                         f"[0, 1{']' if include_one else ')'}")
