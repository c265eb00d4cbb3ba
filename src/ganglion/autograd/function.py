"""Custom differentiable operations: PyTorch's ``torch.autograd.Function``.

A subclass gives ``@staticmethod forward(ctx, *args, **kwargs)``, computed with Tensor ops, and
``@staticmethod backward(ctx, *grad_outputs)``, returning one gradient per forward argument
(None where there is none), and is called as ``MyFunction.apply(*args)``::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

How a Function maps onto the engine (which has no Node objects: every op has one output, and
the node's fields live on that output, see core/tensor.py):

- ``forward`` runs with recording off, so its own ops leave no graph. The result is then given a
  node of its own: its op is a ``FunctionNode`` (one class per Function subclass, named after it,
  so ``grad_fn`` prints ``<ExpBackward>``) whose ``vjp`` calls the user's ``backward``. The
  engine already runs vjps with recording off for a first-order backward and on with
  ``create_graph=True``, so a ``backward`` written with Tensor ops is differentiable again.
- A Function with several Tensor outputs gets one hidden tensor carrying the ``FunctionNode``
  and, per differentiable output, a ``FunctionOutput`` node whose only input is that hidden
  tensor. Each ``FunctionOutput`` hands its gradient on as a ``PackedGradients`` (a dict from
  output index to gradient that adds by merging), so the hidden node receives every output's
  gradient, summed over all uses, before the user's ``backward`` runs once with all of them.
  The engine needs no change for this: it only adds gradients and passes them to vjps.
- Saved outputs are not stored as the output tensor (that would be a reference cycle, output ->
  node -> ctx -> output, freed only by the garbage collector): ``saved_tensors`` gives the tensor
  that holds the node when backward runs, so double backward goes through the Function again.
- On symbolic inputs (placeholders), ``forward`` runs on them and builds its graph of ordinary
  ops; each output is then wrapped in a ``SymbolicFunctionOutput`` node (the identity on the
  value) whose gradient goes to the hidden ``FunctionNode``, so ``ganglion.grad`` builds the
  user's ``backward`` into the gradient graph. Saved tensors are then symbolic values, and a
  saved output's own history is that of the ops in ``forward`` (second derivatives through it
  use those ops' derivatives rather than the Function's ``backward``).
"""
import numpy as np

from ganglion.core import autograd as engine
from ganglion.core.grad_mode import grad_enabled, no_grad
from ganglion.core.op import Op, apply, format_shape
from ganglion.core.rebinds import note_rebind, rebinds
from ganglion.core.tensor import Tensor, TensorType, make_tensor
from ganglion.core.versions import version_of

__all__ = ["Function", "FunctionCtx", "once_differentiable", "PackedGradients"]

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward.")


class _OutputSlot:
    """Stands in ``ctx``'s saved tensors for output ``index`` (see the module docstring)."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class FunctionCtx:
    """The ``ctx`` given to ``forward`` and ``backward``: saved tensors, flags, and any
    attribute the Function sets on it (``ctx.constant = 5``)."""

    def __init__(self):
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._to_save = None       # what forward passed to save_for_backward
        self._saved = None         # (tensors or _OutputSlot, versions), set when the node is made
        self._freed = False
        self._non_differentiable = ()
        self._dirty = ()
        self._holder = None        # the tensor that holds the node, while backward runs
        self._function = None
        self._several = False      # several outputs: the node sits on a hidden tensor

    def save_for_backward(self, *tensors):
        """Keep ``tensors`` (or None) for backward; in-place changes to them before backward
        make ``saved_tensors`` raise, as for ganglion's own ops."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is "
                                f"of type {type(t).__name__} (store other values as attributes: "
                                "ctx.name = value)")
        self._to_save = tensors

    @property
    def saved_tensors(self):
        """The tensors given to ``save_for_backward``, checked against in-place changes."""
        if self._freed:
            raise RuntimeError(_FREED_MESSAGE)
        saved = self._saved
        if saved is None:
            return tuple(self._to_save) if self._to_save is not None else ()
        entries, versions = saved
        result = []
        for index, (entry, version) in enumerate(zip(entries, versions)):
            if type(entry) is _OutputSlot:
                entry = self._output_tensor(entry.index)
            if entry is not None and version is not None and version_of(entry) != version:
                name = self._function.__name__ if self._function else "Function"
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: saved tensor {index} of {name} (shape "
                    f"{format_shape(entry.shape)}) is at version {version_of(entry)}; expected "
                    f"version {version} instead. Use an out-of-place op (x = x + y instead of "
                    "x += y), or .clone() the tensor before changing it.")
            result.append(entry)
        return tuple(result)

    saved_variables = saved_tensors

    def _output_tensor(self, index):
        holder = self._holder
        if holder is None:
            raise RuntimeError("saved_tensors: a saved output can be read only inside backward")
        if not self._several:  # one output: the holder is the output
            return holder
        # Several outputs: a stand-in with the output's value and node (its only input is the
        # hidden tensor), so double backward flows through the Function as from the output.
        array, output_op = self._output_arrays[index]
        t = make_tensor(array, requires_grad=True)
        t._op = output_op
        t._inputs = (holder,)
        return t

    def mark_non_differentiable(self, *tensors):
        """These outputs get no gradient (their grad_output is zeros, or None without
        materialized grads); integer outputs are non-differentiable anyway."""
        self._non_differentiable = self._non_differentiable + tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        """These inputs were changed in place by forward and are returned as outputs."""
        self._dirty = self._dirty + tuple(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        """With False, backward gets None (not zeros) for outputs that received no gradient."""
        self.materialize_grads = bool(value)


class PackedGradients:
    """The gradients that a Function's several outputs pass to its hidden node: a dict from
    output index to gradient. ``+`` merges (summing the gradients of an index found in both),
    which is all the engine does with a gradient before handing it to the node's vjp."""

    __slots__ = ("grads",)

    def __init__(self, grads):
        self.grads = grads

    def __add__(self, other):
        merged = dict(self.grads)
        for index, g in other.grads.items():
            merged[index] = g if index not in merged else merged[index] + g
        return PackedGradients(merged)

    __radd__ = __add__


class FunctionNode(Op):
    """The node of one ``Function.apply``: its vjp runs the user's ``backward``."""

    __slots__ = ("ctx", "tensor_positions", "n_args", "output_meta")
    # Saved tensors are checked by ctx.saved_tensors, not by the engine.
    saves_inputs = False
    function = None  # the Function subclass (set on each per-Function subclass)

    def __init__(self, ctx, tensor_positions, n_args, output_meta):
        self.ctx = ctx
        self.tensor_positions = tensor_positions
        self.n_args = n_args
        # Per output, for materialized zero gradients: (shape, NumPy dtype) of a Tensor, None
        # for another value; on symbolic inputs the output tensor itself.
        self.output_meta = output_meta

    @property
    def name(self):  # what symbolic printing shows: Exp.apply(x), not exp(x)
        return f"{self.function.__name__}.apply"

    def forward(self, backend, *arrays):
        # Only symbolic graphs compute the hidden node; its value is never read.
        return np.zeros((), np.float32)

    def infer(self, *types):
        return TensorType(_float32(), ())

    def vjp(self, out, grad, needs):
        ctx = self.ctx
        function = self.function
        if ctx._freed:
            raise RuntimeError(_FREED_MESSAGE)
        if type(grad) is PackedGradients:
            packed = grad.grads
            grad_outputs = []
            for k, meta in enumerate(self.output_meta):
                g = packed.get(k)
                if g is None and meta is not None and ctx.materialize_grads:
                    g = _zeros(meta)
                grad_outputs.append(g)
        else:
            grad_outputs = [grad]
        # Read before the user's code runs: a backward() inside it would change the flag.
        retained = engine.graph_retained[0]
        ctx._holder = out
        try:
            result = function.backward(ctx, *grad_outputs)
        finally:
            ctx._holder = None
        if not retained:
            ctx._freed = True
            ctx._saved = None
            ctx._to_save = None
        return self._check_gradients(function, result, out._inputs, needs)

    def _check_gradients(self, function, result, inputs, needs):
        if not isinstance(result, tuple):
            result = (result,)
        name = function.__name__
        n_args = self.n_args
        if len(result) < n_args or any(g is not None for g in result[n_args:]):
            raise RuntimeError(f"function {name}Backward returned an incorrect number of gradients "
                               f"(expected {n_args}, got {len(result)}): backward must return one "
                               "gradient (or None) per argument of forward")
        positions = self.tensor_positions
        tensor_index = {position: k for k, position in enumerate(positions)}
        for position, g in enumerate(result[:n_args]):
            if g is None:
                continue
            if position not in tensor_index:
                raise RuntimeError(
                    f"function {name}Backward returned a gradient different than None at position "
                    f"{position + 1}, but the corresponding forward input was not a Variable (a "
                    "Tensor): return None for arguments that are not tensors")
            if not isinstance(g, Tensor):
                raise RuntimeError(f"function {name}Backward: expected Variable or None (got "
                                   f"{type(g).__name__}) as the gradient at index {position}")
        grads = []
        for k, position in enumerate(positions):
            g = result[position]
            if g is None or not needs[k]:
                grads.append(None)
                continue
            x = inputs[k]
            grad_shape, shape = g.shape, x.shape
            # Symbolic shapes are checked where every dimension is known.
            if grad_shape != shape and None not in grad_shape and None not in shape:
                if not _sums_to(grad_shape, shape):
                    raise RuntimeError(
                        f"Function {name}Backward returned an invalid gradient at index {position}"
                        f" - got {list(grad_shape)} but expected shape compatible with "
                        f"{list(shape)} (the shape of forward's argument {position})")
                g = _sum_to(g, x)
            if g.dtype is not x.dtype:
                g = g.to(x.dtype)
            grads.append(g)
        return grads


class FunctionOutput(Op):
    """Output ``index`` of a Function with several outputs; its input is the hidden node."""

    __slots__ = ("index",)
    saves_inputs = False

    def __init__(self, index):
        self.index = index

    def vjp(self, out, grad, needs):
        return (PackedGradients({self.index: grad}),)

    def infer(self, hidden):
        # Only eager outputs use this op (symbolic ones use SymbolicFunctionOutput).
        raise RuntimeError("FunctionOutput: the output of a custom Function computed eagerly has "
                           "no symbolic form")


class SymbolicFunctionOutput(Op):
    """On symbolic inputs: output ``index`` of a Function, the identity on the value its
    forward computed (first input), with its gradient sent to the hidden node (second input)."""

    __slots__ = ("index", "single")
    saves_inputs = False

    def __init__(self, index, single):
        self.index = index
        self.single = single

    def forward(self, backend, value, hidden):
        return value

    def infer(self, value, hidden):
        return value

    def vjp(self, out, grad, needs):
        return (None, grad if self.single else PackedGradients({self.index: grad}))


class _FunctionMeta(type):
    """Gives each Function subclass its node classes, named after it (``grad_fn`` prints
    ``<ExpBackward>``)."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        cls._node_class = type(name, (FunctionNode,), {"__slots__": (), "function": cls})
        cls._output_class = type(name, (FunctionOutput,), {"__slots__": ()})


class Function(metaclass=_FunctionMeta):
    """Base class of custom differentiable operations (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. Please use "
            "new-style autograd function with static forward method: define forward and backward "
            f"as @staticmethod and call {type(self).__name__}.apply(...) on the class. (Example: "
            "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def vjp(cls, ctx, *grad_outputs):
        return cls.backward(ctx, *grad_outputs)

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and record a node whose gradient is ``backward``."""
        if cls is Function:
            raise RuntimeError("Function.apply: call apply on a subclass that defines forward "
                               "and backward")
        ctx = FunctionCtx()
        ctx._function = cls
        positions = []
        needs = []
        symbolic = False
        for position, a in enumerate(args):
            if isinstance(a, Tensor):
                positions.append(position)
                needs.append(a.requires_grad)
                if a._data is None:
                    symbolic = True
            else:
                needs.append(False)
        ctx.needs_input_grad = tuple(needs)
        if symbolic:
            return _apply_symbolic(cls, ctx, args, kwargs, tuple(positions))
        separate_setup = cls.setup_context is not Function.setup_context
        recording = grad_enabled[0]
        grad_enabled[0] = False  # forward's own ops leave no graph (no_grad, without its object)
        try:
            if separate_setup:
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            grad_enabled[0] = recording
        if not (recording and any(needs)):
            return outputs
        return _record(cls, ctx, args, tuple(positions), outputs)


def _record(cls, ctx, args, positions, outputs):
    single = not isinstance(outputs, tuple)
    outs = [outputs] if single else list(outputs)
    inputs = tuple(args[p] for p in positions)
    input_ids = {id(t) for t in inputs}
    dirty = set(ctx._dirty)
    non_differentiable = set(ctx._non_differentiable)
    output_meta = []
    differentiable = []  # output indices that get a node
    seen = set()
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            output_meta.append(None)
            continue
        output_meta.append((o._data.shape, o._data.dtype))
        if id(o) in non_differentiable or not o.dtype.is_floating_point:
            if id(o) in input_ids:
                outs[k] = make_tensor(o._data)
            continue
        if id(o) in dirty and id(o) in input_ids:
            if o._op is None and o.requires_grad:
                raise RuntimeError(
                    f"{cls.__name__}.apply: a leaf Variable that requires grad is being used in an "
                    "in-place operation (forward changed it and marked it dirty): clone it first")
            # The input becomes the output, as ganglion's own in-place ops rebind
            # (core/inplace.py): its old value and node move to a hidden tensor, which the
            # node takes as input instead.
            old = _move_history(o)
            inputs = tuple(old if t is o else t for t in inputs)
        elif id(o) in input_ids or o._op is not None or o.requires_grad or id(o) in seen:
            # An input returned as it is (or a tensor with a history of its own, or one returned
            # twice) becomes a new tensor sharing its memory, as PyTorch returns a view, so the
            # input keeps its node.
            outs[k] = make_tensor(o._data)
        seen.add(id(o))
        differentiable.append(k)
    if not differentiable:
        return outputs
    node = cls._node_class(ctx, positions, len(args), tuple(output_meta))
    if single:
        _attach(outs[0], node, inputs)
    else:
        first = outs[differentiable[0]]
        holder = make_tensor(first._data, requires_grad=True)
        holder._op = node
        holder._inputs = inputs
        holder._born = rebinds[0]  # see _attach
        ctx._several = True
        ctx._output_arrays = {}
        for k in differentiable:
            output_op = cls._output_class(k)
            _attach(outs[k], output_op, (holder,))
            ctx._output_arrays[k] = (outs[k]._data, output_op)
    _save(ctx, outs, differentiable)
    return outs[0] if single else tuple(outs)


def _move_history(x):
    """Move ``x``'s value and node to a new hidden tensor (returned); x's own version counts
    the change, so ops that saved x notice it (core/inplace.py ``rebind``)."""
    old = make_tensor(x._data)
    old.requires_grad = x.requires_grad
    old._op = x._op
    old._inputs = x._inputs
    old._saved_versions = x._saved_versions
    old._own_version = x._own_version
    old._hooks = x._hooks
    old._born = getattr(x, "_born", None)
    x._hooks = None
    x._own_version += 1
    # Nodes made before now that name x read old (core/rebinds.py).
    note_rebind(x, old)
    return old


def _attach(o, op, inputs):
    """Make ``o`` the recorded result of ``op`` on ``inputs``."""
    o.requires_grad = True
    o._op = op
    o._inputs = inputs
    o._saved_versions = None
    # Should an input be changed in place later, the node reads its value from now
    # (core/rebinds.py, as core/op.py record does).
    o._born = rebinds[0]


def _save(ctx, outs, differentiable):
    to_save = ctx._to_save
    if to_save is None:
        return
    # Outputs with a node are saved as slots; others (non-differentiable) as they are.
    output_index = {id(outs[k]): k for k in differentiable}
    entries = []
    versions = []
    for t in to_save:
        if t is None:
            entries.append(None)
            versions.append(None)
        elif id(t) in output_index:
            entries.append(_OutputSlot(output_index[id(t)]))
            versions.append(version_of(t))
        else:
            entries.append(t)
            versions.append(version_of(t))
    ctx._saved = (tuple(entries), tuple(versions))
    ctx._to_save = None


def _apply_symbolic(cls, ctx, args, kwargs, positions):
    if cls.setup_context is not Function.setup_context:
        outputs = cls.forward(*args, **kwargs)
        cls.setup_context(ctx, args, outputs)
    else:
        outputs = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(outputs, tuple)
    outs = [outputs] if single else list(outputs)
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{cls.__name__}.apply on symbolic inputs: forward returned a "
                            f"{type(o).__name__} as output {k}; only Tensor outputs can be "
                            "compiled into a graph")
    inputs = tuple(args[p] for p in positions)
    output_meta = tuple(outs)  # materialized zero gradients are zeros_like(output)
    node = cls._node_class(ctx, positions, len(args), output_meta)
    hidden = apply(node, *inputs)
    non_differentiable = set(ctx._non_differentiable)
    results = []
    for k, o in enumerate(outs):
        if id(o) in non_differentiable or not o.dtype.is_floating_point:
            results.append(o.detach())
        else:
            results.append(apply(SymbolicFunctionOutput(k, single), o, hidden))
    if ctx._to_save is not None:
        ctx._saved = (tuple(ctx._to_save), (None,) * len(ctx._to_save))
        ctx._to_save = None
    return results[0] if single else tuple(results)


def _zeros(meta):
    if isinstance(meta, Tensor):  # a symbolic output
        from ganglion.core.creation import zeros_like
        return zeros_like(meta)
    shape, dtype = meta
    return make_tensor(np.zeros(shape, dtype))


def _sums_to(grad_shape, shape):
    """True when a gradient of ``grad_shape`` sums down to ``shape`` (``shape`` broadcasts to
    it), which PyTorch accepts from a Function's backward."""
    if len(shape) > len(grad_shape):
        return False
    for g, s in zip(grad_shape[len(grad_shape) - len(shape):], shape):
        if s != g and s != 1:
            return False
    return True


def _sum_to(g, like):
    from ganglion.core.ops.shape import sum_to
    return sum_to(g, like)


def _float32():
    from ganglion.core.dtypes import float32
    return float32


def once_differentiable(backward):
    """Decorate a Function's ``backward`` that is not itself differentiable: it runs with
    recording off, and a gradient through its results raises (double backward)."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        with no_grad():
            result = backward(ctx, *grad_outputs)
        if not grad_enabled[0]:
            return result
        if not any(isinstance(g, Tensor) and g.requires_grad for g in grad_outputs):
            return result
        name = ctx._function.__name__ if ctx._function else "Function"
        single = not isinstance(result, tuple)
        wrapped = tuple(None if g is None else _OnceDifferentiable.wrap(g, name, grad_outputs)
                        for g in ((result,) if single else result))
        return wrapped[0] if single else wrapped

    return wrapper


class _OnceDifferentiable(Op):
    """A gradient computed by a ``once_differentiable`` backward: differentiating it raises."""

    __slots__ = ("function_name",)
    saves_inputs = False

    def __init__(self, function_name):
        self.function_name = function_name

    @staticmethod
    def wrap(g, function_name, grad_outputs):
        out = make_tensor(g._data, requires_grad=True)
        out._op = _OnceDifferentiable(function_name)
        out._inputs = tuple(t for t in grad_outputs if isinstance(t, Tensor) and t.requires_grad)
        return out

    def vjp(self, out, grad, needs):
        raise RuntimeError(f"trying to differentiate twice a function that was marked with "
                           f"@once_differentiable ({self.function_name}.backward)")
