"""TensorFlow 1's graph, variables, scopes, operations and initializers on ganglion's symbolic engine.

Reference: the TensorFlow 1.15 API (``tf.Graph``, ``tf.get_variable``, ``tf.variable_scope``,
``tf.Variable``, ``tf.global_variables_initializer``, ``tf.group``, ``tf.control_dependencies``,
the ``tf.*_initializer`` family). A TF tensor is a symbolic ganglion Tensor; a variable is a
ganglion shared variable (``Variable`` below) whose value stays unset until an initializer op
runs, as in TF, where reading it before is a ``FailedPreconditionError``. An operation
(``Operation``) is what a TF op with no useful output is: shared-variable updates for the
compiled function (a train step), Python actions (initializers) or both; fetching one gives None.
"""
import contextlib
import math
import re

import numpy as np

from ganglion.core import dtypes as gdt
from ganglion.core.tensor import Tensor, TensorType, make_tensor
from ganglion.symbolic.placeholders import tensor as _placeholder
from ganglion.symbolic.shared import SharedVariable

__all__ = ["Graph", "get_default_graph", "reset_default_graph", "GraphKeys", "get_collection",
           "add_to_collection", "Variable", "get_variable", "variable_scope", "name_scope",
           "get_variable_scope", "Operation", "group", "no_op", "control_dependencies",
           "global_variables_initializer", "variables_initializer", "local_variables_initializer",
           "global_variables", "trainable_variables", "placeholder", "set_random_seed",
           "FailedPreconditionError", "constant_initializer", "zeros_initializer",
           "ones_initializer", "random_normal_initializer", "truncated_normal_initializer",
           "random_uniform_initializer", "glorot_uniform_initializer", "glorot_normal_initializer",
           "variance_scaling_initializer", "as_dtype", "static_shape", "float16", "float32", "float64", "int8",
           "int16", "int32", "int64", "uint8", "bool_", "AUTO_REUSE", "TensorShape"]

float16, float32, float64 = gdt.float16, gdt.float32, gdt.float64
int8, int16, int32, int64, uint8 = gdt.int8, gdt.int16, gdt.int32, gdt.int64, gdt.uint8
bool_ = gdt.bool_  # tf.bool (named so here to keep Python's bool)


def as_dtype(dtype):
    """A ganglion dtype from a TF dtype (they are the same objects), a NumPy dtype or a name."""
    return gdt.as_dtype(dtype)


class FailedPreconditionError(RuntimeError):
    """TF's error for reading a variable before its initializer ran."""


class GraphKeys:
    """Names of the standard collections (``tf.GraphKeys``)."""
    GLOBAL_VARIABLES = "variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    LOCAL_VARIABLES = "local_variables"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    REGULARIZATION_LOSSES = "regularization_losses"
    SUMMARIES = "summaries"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"


class Graph:
    """A TF graph: the variables by name, the collections, the used op names and the random seed.
    The tensors themselves are ganglion graph nodes and need no registry."""

    def __init__(self):
        self.variables = {}
        self.collections = {}
        self.used_names = {}
        self.seed = None
        self.rng = np.random.default_rng()
        self.scope_stack = [_Scope("", None)]
        self.name_stack = [""]
        self.control_stack = []
        self.shapeless_placeholders = set()  # ids: made with shape=None, hence scalars here

    def as_default(self):
        """``with graph.as_default():`` makes it the default graph inside the block."""
        return _default_graph_context(self)

    def unique_name(self, name):
        """``name`` in the current name scope, with ``_1``, ``_2``... appended when used before."""
        prefix = self.name_stack[-1]
        full = f"{prefix}/{name}" if prefix else name
        count = self.used_names.get(full, 0)
        self.used_names[full] = count + 1
        return full if count == 0 else f"{full}_{count}"

    def get_collection(self, key, scope=None):
        items = list(self.collections.get(key, []))
        if scope is not None:
            pattern = re.compile(scope)
            items = [v for v in items if pattern.match(getattr(v, "op_name", "") or "")]
        return items

    def add_to_collection(self, key, value):
        self.collections.setdefault(key, []).append(value)

    def next_rng(self, seed):
        """The generator an initializer or random op draws from: its own seed combined with the
        graph seed (``tf.set_random_seed``), or the graph's generator."""
        if seed is not None:
            return np.random.default_rng([seed, self.seed or 0])
        return self.rng


def get_default_graph():
    return _graphs[-1]


def reset_default_graph():
    """A fresh default graph: variables, collections and names start over."""
    if len(_graphs) > 1:
        raise AssertionError("reset_default_graph: called inside a `with graph.as_default():` block")
    _graphs[0] = Graph()


@contextlib.contextmanager
def _default_graph_context(graph):
    _graphs.append(graph)
    try:
        yield graph
    finally:
        _graphs.pop()


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def set_random_seed(seed):
    """The graph-level seed: initializers and random ops draw reproducible values."""
    graph = get_default_graph()
    graph.seed = int(seed)
    graph.rng = np.random.default_rng(int(seed))


# ----- variable scopes --------------------------------------------------------------------------
class _Scope:
    """A variable scope: its full name, its reuse flag and its default initializer."""

    def __init__(self, name, reuse, initializer=None):
        self.name = name
        self.reuse = reuse
        self.initializer = initializer
        self.original_name_scope = name + "/" if name else ""

    def reuse_variables(self):
        self.reuse = True


_graphs = [Graph()]


def get_variable_scope():
    return get_default_graph().scope_stack[-1]


AUTO_REUSE = "auto_reuse"


@contextlib.contextmanager
def variable_scope(name_or_scope, default_name=None, values=None, initializer=None, reuse=None,
                   dtype=None, **unused):
    """``with tf.variable_scope('layer1', reuse=...):`` prefixes the names of variables made by
    ``get_variable`` (and of ops) with ``layer1/``. ``reuse=True`` returns existing variables
    (missing ones are an error), ``tf.AUTO_REUSE`` creates or reuses; reuse is inherited by
    inner scopes. ``default_name`` is made unique (``dense``, ``dense_1``) when no name is given."""
    graph = get_default_graph()
    parent = graph.scope_stack[-1]
    if isinstance(name_or_scope, _Scope):
        full = name_or_scope.name
        name_part = full
    else:
        if name_or_scope is None:
            if default_name is None:
                raise ValueError("variable_scope: give a name or a default_name")
            name_or_scope = _unique_scope_name(graph, parent, default_name)
        name_part = name_or_scope
        full = f"{parent.name}/{name_or_scope}" if parent.name else name_or_scope
    inherited = True if parent.reuse is True else parent.reuse
    scope = _Scope(full, reuse if reuse is not None else inherited,
                   initializer if initializer is not None else parent.initializer)
    graph.scope_stack.append(scope)
    if isinstance(name_or_scope, _Scope):
        graph.name_stack.append(full)
    else:
        graph.name_stack.append(graph.unique_name(name_part))
    try:
        yield scope
    finally:
        graph.scope_stack.pop()
        graph.name_stack.pop()


def _unique_scope_name(graph, parent, base):
    """``base``, then ``base_1``... : the first name no variable of the graph lives under."""
    prefix = f"{parent.name}/" if parent.name else ""
    count = graph.used_names.get(("scope", prefix + base), 0)
    graph.used_names[("scope", prefix + base)] = count + 1
    return base if count == 0 else f"{base}_{count}"


@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """``tf.name_scope``: prefixes op names only (not ``get_variable`` names, as in TF)."""
    graph = get_default_graph()
    graph.name_stack.append(graph.unique_name(name or default_name))
    try:
        yield graph.name_stack[-1] + "/"
    finally:
        graph.name_stack.pop()


# ----- variables ----------------------------------------------------------------------------------
class Variable(SharedVariable):
    """A TF variable: a ganglion shared variable with TF's name (``scope/w:0``), a trainable
    flag and the initializer that ``global_variables_initializer`` runs. Until then its value
    is unset; a session refuses to read it."""

    __slots__ = ("op_name", "initial_value_fn", "initialized", "trainable", "initializer")

    def __new__(cls, initial_value=None, trainable=True, name=None, dtype=None, **unused):
        if initial_value is None:
            raise ValueError("Variable: initial_value must be given")
        graph = get_default_graph()
        op_name = graph.unique_name(name or "Variable")
        if callable(initial_value) and not isinstance(initial_value, Tensor):
            initial_value = initial_value()
        value_fn, shape, value_dtype = _initial_value_function(initial_value, dtype, "Variable")
        return _make_variable(graph, op_name, shape, value_dtype, value_fn, trainable)

    def __init__(self, *args, **kwargs):
        pass  # built in __new__ (a Tensor subclass built by make_tensor)

    # TF's Variable API
    @property
    def op(self):
        return _Named(self.op_name)

    @property
    def graph(self):
        return get_default_graph()

    def get_shape(self):
        return TensorShape(static_shape(self))

    def eval(self, session=None):
        from ganglion.compat.tensorflow.session import get_default_session
        return (session or get_default_session()).run(self)

    def assign(self, value):
        """An op that stores ``value`` in the variable when run."""
        return Operation(updates=[(self, _as_graph_value(value, self))], name=self.op_name + "/Assign")

    def assign_add(self, value):
        return Operation(updates=[(self, self + value)], name=self.op_name + "/AssignAdd")

    def assign_sub(self, value):
        return Operation(updates=[(self, self - value)], name=self.op_name + "/AssignSub")

    def load(self, value, session=None):
        self.set_value(np.asarray(value, self.dtype.np))
        self.initialized = True

    def run_initializer(self):
        value = np.asarray(self.initial_value_fn(), self.dtype.np)
        if value.shape != tuple(self.storage.shape):
            value = np.broadcast_to(value, self.storage.shape)
        self.storage = np.array(value, dtype=self.dtype.np, order="C")  # a copy, 0-d kept
        self._version += 1
        self.initialized = True


class _Named:
    """What ``var.op`` is here: something with TF's op ``name``."""

    def __init__(self, name):
        self.name = name


class TensorShape(tuple):
    """``get_shape()``: a tuple of dims (None unknown) with ``as_list()``."""

    def as_list(self):
        return list(self)

    @property
    def ndims(self):
        return len(self)


def static_shape(t):
    """The dims of ``t`` known when the graph is built (None where known only at run time)."""
    return tuple(t._type.shape) if t._data is None else tuple(t.shape)


def _as_graph_value(value, like):
    if isinstance(value, Tensor):
        return value
    return make_tensor(np.asarray(value, like.dtype.np))


def _make_variable(graph, op_name, shape, dtype, value_fn, trainable):
    variable = make_tensor(None, cls=Variable)
    variable.storage = np.zeros(shape, dtype.np)
    variable._type = TensorType(dtype, tuple(shape))
    variable.requires_grad = dtype.is_floating_point
    variable.name = op_name + ":0"
    variable.op_name = op_name
    variable.initial_value_fn = value_fn
    variable.initialized = False
    variable.trainable = bool(trainable)
    variable.initializer = Operation(actions=[variable.run_initializer],
                                     name=op_name + "/Assign")
    graph.add_to_collection(GraphKeys.GLOBAL_VARIABLES, variable)
    if trainable:
        graph.add_to_collection(GraphKeys.TRAINABLE_VARIABLES, variable)
    return variable


def _initial_value_function(initial_value, dtype, who):
    """(function giving the initial array, shape, dtype) of a Variable's initial value: a number,
    an array, or a tensor (evaluated when the initializer runs: a random op draws then)."""
    if isinstance(initial_value, Tensor):
        if initial_value._data is not None:
            array = np.asarray(initial_value._data)
            dtype = as_dtype(dtype) if dtype is not None else initial_value.dtype
            return (lambda: array), array.shape, dtype
        if None in static_shape(initial_value):
            raise ValueError(f"{who}: the initial value's shape {static_shape(initial_value)} "
                             "must be fully known")
        expression = initial_value
        dtype = as_dtype(dtype) if dtype is not None else expression.dtype

        def evaluate():
            from ganglion.symbolic import function
            return function([], expression)()
        return evaluate, static_shape(expression), dtype
    array = np.asarray(initial_value)
    if dtype is not None:
        dtype = as_dtype(dtype)
    elif array.dtype.kind == "f":
        dtype = float32
    elif array.dtype.kind in "iu":
        dtype = int32
    elif array.dtype.kind == "b":
        dtype = bool_
    else:
        raise TypeError(f"{who}: cannot make a variable of {array.dtype} values")
    array = array.astype(dtype.np)
    return (lambda: array), array.shape, dtype


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=True,
                 collections=None, **unused):
    """The variable ``scope/name``: created (with ``initializer``, the scope's initializer or
    Glorot uniform for floats / zeros for others, as TF) or, under ``reuse``, returned as made
    before. Reusing checks the shape; creating one that exists without reuse is an error."""
    graph = get_default_graph()
    scope = graph.scope_stack[-1]
    full = f"{scope.name}/{name}" if scope.name else name
    existing = graph.variables.get(full)
    if scope.reuse is True or (scope.reuse == AUTO_REUSE and existing is not None):
        if existing is None:
            raise ValueError(f"get_variable: variable {full} does not exist, or was not created "
                             "with tf.get_variable(); did you mean to set reuse=tf.AUTO_REUSE in "
                             "the variable scope?")
        if shape is not None and tuple(shape) != tuple(existing.shape):
            raise ValueError(f"get_variable: trying to share variable {full}, but the specified "
                             f"shape {tuple(shape)} and the found shape {tuple(existing.shape)} "
                             "are incompatible")
        return existing
    if existing is not None:
        raise ValueError(f"get_variable: variable {full} already exists, disallowed. Did you mean "
                         "to set reuse=True or reuse=tf.AUTO_REUSE in the variable scope?")
    if initializer is None:
        initializer = scope.initializer
    if isinstance(initializer, (Tensor, np.ndarray, int, float, list)):
        value_fn, shape_, dtype_ = _initial_value_function(initializer, dtype, "get_variable")
        if shape is not None and tuple(shape) != tuple(shape_):
            raise ValueError(f"get_variable: {full}: shape {tuple(shape)} given, but the "
                             f"initializer's value has shape {tuple(shape_)}")
        shape, dtype = shape_, dtype_
    else:
        if shape is None:
            raise ValueError(f"get_variable: the shape of new variable {full} must be fully "
                             "defined, but instead was None")
        shape = tuple(int(d) for d in shape)
        dtype = as_dtype(dtype) if dtype is not None else float32
        if initializer is None:
            initializer = (glorot_uniform_initializer() if dtype.is_floating_point
                           else zeros_initializer())
        if isinstance(initializer, type):
            initializer = initializer()
        value_fn = _bind(initializer, shape, dtype)
    variable = _make_variable(graph, full, shape, dtype, value_fn, trainable)
    graph.variables[full] = variable
    if regularizer is not None:
        penalty = regularizer(variable)
        if penalty is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, penalty)
    return variable


def _bind(initializer, shape, dtype):
    return lambda: initializer(shape, dtype=dtype)


def global_variables(scope=None):
    return get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def trainable_variables(scope=None):
    return get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope=None):
    return get_collection(GraphKeys.LOCAL_VARIABLES, scope)


# ----- operations ---------------------------------------------------------------------------------
class Operation:
    """A TF op run for its effect: ``updates``, (shared variable, new value) pairs that the
    session compiles into its function (all computed from the values before the run, as one
    TF step), and ``actions``, Python callables run before it (initializers). The ops in force
    through ``tf.control_dependencies`` when it is made join it."""

    def __init__(self, updates=(), actions=(), name="NoOp"):
        self.updates = list(updates)
        self.actions = list(actions)
        self.name = get_default_graph().unique_name(name) if name else None
        for dependency in _control_inputs():
            self._merge(dependency)

    def _merge(self, other):
        if isinstance(other, Operation):
            # by identity: == on tensors builds a comparison, not a bool
            self.updates = merge_pairs(self.updates, other.updates)
            self.actions = merge_pairs(self.actions, other.actions)
        elif isinstance(other, Tensor):
            pass  # a tensor's value is computed when needed; nothing to run
        elif other is not None:
            raise TypeError(f"group: expected operations or tensors, got {type(other).__name__}")

    def run(self, feed_dict=None, session=None):
        from ganglion.compat.tensorflow.session import get_default_session
        (session or get_default_session()).run(self, feed_dict=feed_dict)

    def __repr__(self):
        return (f"<tf.Operation '{self.name}': {len(self.updates)} updates, "
                f"{len(self.actions)} actions>")


def merge_pairs(items, more):
    """``items`` then the elements of ``more`` not already there (compared by identity)."""
    seen = {id(item) for item in items}
    return list(items) + [item for item in more if id(item) not in seen]


def _control_inputs():
    return [op for ops in get_default_graph().control_stack for op in ops]


@contextlib.contextmanager
def control_dependencies(control_inputs):
    """Ops made inside the block (``minimize``, ``group``, ``assign``) also run
    ``control_inputs`` (typically ``tf.get_collection(tf.GraphKeys.UPDATE_OPS)``)."""
    stack = get_default_graph().control_stack
    stack.append(list(control_inputs or []))
    try:
        yield
    finally:
        stack.pop()


def group(*inputs, name=None):
    """One op running all of ``inputs`` (operations or lists of them)."""
    op = Operation(name=name or "group_deps")
    for item in inputs:
        for element in (item if isinstance(item, (list, tuple)) else [item]):
            op._merge(element)
    return op


def no_op(name=None):
    return Operation(name=name or "NoOp")


def variables_initializer(var_list, name="init"):
    """An op that runs the initializer of each variable in ``var_list``."""
    return Operation(actions=[v.run_initializer for v in var_list], name=name)


def global_variables_initializer():
    """An op that initializes every global variable made so far (``sess.run(init)``)."""
    return variables_initializer(global_variables())


def local_variables_initializer():
    return variables_initializer(local_variables(), name="init_local")


initialize_all_variables = global_variables_initializer


# ----- placeholders -------------------------------------------------------------------------------
def placeholder(dtype, shape=None, name=None):
    """A placeholder fed through ``feed_dict``. ``shape`` dims may be None (known when fed);
    shape=None (unknown rank, which ganglion's graphs cannot hold) makes a scalar, as such
    placeholders are mostly used for (learning rate, keep_prob); feeding an array to it is an
    error that says so."""
    graph = get_default_graph()
    name = graph.unique_name(name or "Placeholder")
    made = _placeholder(as_dtype(dtype), () if shape is None else
                        tuple(None if d is None or d == -1 else int(d) for d in shape), name=name)
    fed = make_tensor(None, cls=PlaceholderTensor)
    fed._type, fed.requires_grad, fed.name = made._type, made.requires_grad, made.name
    if shape is None:
        graph.shapeless_placeholders.add(id(fed))
    return fed


class PlaceholderTensor(Tensor):
    """A placeholder with TF's ``get_shape()`` (programs size their variables with
    ``x.get_shape()[-1]``)."""

    __slots__ = ()

    def get_shape(self):
        return TensorShape(static_shape(self))


# ----- initializers -------------------------------------------------------------------------------
class _Initializer:
    """``init(shape, dtype)`` gives a NumPy array (TF's initializer call)."""

    def __init__(self, seed=None, dtype=None):
        self.seed = seed
        self.dtype = dtype

    def _rng(self):
        return get_default_graph().next_rng(self.seed)

    def __call__(self, shape, dtype=None, partition_info=None):
        dtype = as_dtype(dtype or self.dtype or float32)
        return np.asarray(self.generate(tuple(int(d) for d in shape)), dtype.np)


class constant_initializer(_Initializer):
    """All elements ``value``, or ``value`` itself (an array of the variable's shape or a list of
    its size, reshaped)."""

    def __init__(self, value=0, dtype=None, verify_shape=False):
        super().__init__(None, dtype)
        self.value = value

    def generate(self, shape):
        value = np.asarray(self.value)
        if value.ndim == 0:
            return np.full(shape, value)
        if value.size != math.prod(shape):
            raise ValueError(f"constant_initializer: {value.size} values given for a variable of "
                             f"shape {shape} ({math.prod(shape)} elements)")
        return value.reshape(shape)


class zeros_initializer(_Initializer):
    def generate(self, shape):
        return np.zeros(shape)


class ones_initializer(_Initializer):
    def generate(self, shape):
        return np.ones(shape)


class random_normal_initializer(_Initializer):
    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=None):
        super().__init__(seed, dtype)
        self.mean, self.stddev = mean, stddev

    def generate(self, shape):
        return self._rng().normal(self.mean, self.stddev, shape)


def truncated_normal(rng, mean, stddev, shape):
    """Normal draws, redrawn while more than two standard deviations from the mean (TF's rule)."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return mean + stddev * values


class truncated_normal_initializer(random_normal_initializer):
    def generate(self, shape):
        return truncated_normal(self._rng(), self.mean, self.stddev, shape)


class random_uniform_initializer(_Initializer):
    def __init__(self, minval=0.0, maxval=None, seed=None, dtype=None):
        super().__init__(seed, dtype)
        self.minval, self.maxval = minval, 1.0 if maxval is None else maxval

    def generate(self, shape):
        return self._rng().uniform(self.minval, self.maxval, shape)


def _fans(shape):
    """TF's fan_in / fan_out: the last two dims times the receptive field (conv kernels are
    [h, w, in, out])."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class variance_scaling_initializer(_Initializer):
    """Draws with variance ``scale / n`` (n = fan_in, fan_out or their mean), truncated normal
    (stddev corrected by 0.87962566, as TF), untruncated normal or uniform."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 dtype=None):
        super().__init__(seed, dtype)
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"variance_scaling_initializer: mode must be 'fan_in', 'fan_out' or "
                             f"'fan_avg', got {mode!r}")
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("variance_scaling_initializer: distribution must be 'normal', "
                             "'truncated_normal', 'untruncated_normal' or 'uniform', got "
                             f"{distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def generate(self, shape):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return self._rng().uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return self._rng().normal(0.0, math.sqrt(variance), shape)
        return truncated_normal(self._rng(), 0.0, math.sqrt(variance) / 0.87962566103423978, shape)


class glorot_uniform_initializer(variance_scaling_initializer):
    """Uniform in ±sqrt(6 / (fan_in + fan_out)): get_variable's default."""

    def __init__(self, seed=None, dtype=None):
        super().__init__(1.0, "fan_avg", "uniform", seed, dtype)


class glorot_normal_initializer(variance_scaling_initializer):
    def __init__(self, seed=None, dtype=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, dtype)
