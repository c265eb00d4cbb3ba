"""The op contract and ``apply``, the one place where eager and symbolic execution part ways.

An ``Op`` has three parts (DESIGN.md, "core"):

- ``forward(backend, *arrays)`` computes on backend arrays;
- ``vjp(out, grad, needs)`` returns one gradient per input (``None`` where ``needs`` is False),
  written with Tensor ops so that eager backward, symbolic ``grad`` and higher-order gradients
  share it. ``out`` is the output Tensor: its ``_inputs`` are the inputs, and ops whose
  derivative is best written through their result (exp, tanh, sigmoid) read it directly;
- ``infer(*types)`` gives the output's TensorType without computing, and raises the error a
  user sees for bad shapes or dtypes.

What the compiler needs to know about an op is declared on its class (``returns_new_array``,
``is_view``, ``accepts_out`` with ``in_place_kernel``, ``loop_opcode``, ``infix``), so that
the compiler (``ganglion.symbolic``) keeps no tables keyed by op class.

Ops are hashable by their attributes (``__slots__``), so a compiler can merge equal nodes.
Eager mode does not call ``infer`` on the fast path: when ``forward`` fails, ``infer`` is
called to turn the backend's error into one that names the op, the shapes and what was expected.
"""
from ganglion.backend import current as backend
from ganglion.core.dtypes import bool_
from ganglion.core.errors import ShapeError
from ganglion.core.grad_mode import grad_enabled
from ganglion.core import tracing
from ganglion.core.rebinds import rebinds
from ganglion.core.tensor import Tensor, TensorType, make_tensor
from ganglion.core.versions import version_of

__all__ = ["Op", "apply", "broadcast_shapes", "ShapeError", "refuse_non_tensor"]


class Op:
    """Base class of every op. Subclasses list their attributes in ``__slots__``."""

    __slots__ = ()
    #: False for ops whose output never carries a gradient (comparisons, argmax, ...).
    differentiable = True
    #: True when ``vjp`` reads input values: the inputs' version counters are then checked.
    saves_inputs = True
    #: True when ``vjp`` reads the output value.
    saves_output = False
    #: True when ``forward`` always returns an array of its own, never an input or a view of
    #: one: a compiled schedule may then recycle the result's buffer once nothing reads it,
    #: and the op does not stop an update from overwriting its inputs' storage afterwards.
    returns_new_array = False
    #: True when ``forward`` returns its first input or a view of it (a reshape, a transpose,
    #: basic indexing): a compiled schedule then counts the result's storage as that input's.
    is_view = False
    #: True when ``forward`` takes ``out=``, an array of the result's dtype and shape to write
    #: the result into, which may be one of its inputs (elementwise ops): a compiled schedule
    #: then hands it an input that dies there or a dead buffer (see ``in_place_kernel``).
    accepts_out = False
    #: The opcode of this op in a fused elementwise loop (a key of
    #: ``backend.fused_loops.OPCODES``, whose template computes it from its operands), or None
    #: where the op cannot join one.
    loop_opcode = None
    #: The operator that ``symbolic.printing.pp`` writes between the two operands ("+", "<"),
    #: or None for the call form ``name(args)``; an op may instead define ``pp(args)``.
    infix = None

    def in_place_kernel(self, backend, position, arity):
        """A kernel (a function of the op's ``arity`` input arrays) that writes the result into
        its argument at ``position``: an input (0 <= position < arity, one that dies there), or
        an extra last argument (position == arity, a spare buffer of the result's type). Only
        for ops that ``accepts_out``."""
        forward = self.forward
        if arity == 1:
            if position == 0:
                return lambda x: forward(backend, x, out=x)
            return lambda x, buffer: forward(backend, x, out=buffer)
        if arity == 2:
            if position == 0:
                return lambda a, b: forward(backend, a, b, out=a)
            if position == 1:
                return lambda a, b: forward(backend, a, b, out=b)
            return lambda a, b, buffer: forward(backend, a, b, out=buffer)
        if position < arity:
            return lambda *arrays: forward(backend, *arrays, out=arrays[position])
        return lambda *arrays: forward(backend, *arrays[:-1], out=arrays[-1])

    @property
    def name(self):
        return type(self).__name__.lower()

    def attrs(self):
        return tuple(getattr(self, slot) for cls in type(self).__mro__
                     for slot in getattr(cls, "__slots__", ()))

    def forward(self, backend, *arrays):
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def vjp(self, out, grad, needs):
        raise RuntimeError(f"{self.name} is not differentiable")

    def infer(self, *types):
        raise NotImplementedError(f"{type(self).__name__}.infer")

    def __eq__(self, other):
        return type(self) is type(other) and _hashable(self.attrs()) == _hashable(other.attrs())

    def __hash__(self):
        return hash((type(self), _hashable(self.attrs())))

    def __repr__(self):
        attrs = ", ".join(f"{slot}={getattr(self, slot)!r}" for cls in type(self).__mro__
                          for slot in getattr(cls, "__slots__", ()))
        return f"{type(self).__name__}({attrs})"


def _hashable(value):
    """Attributes as a hashable key: arrays and other unhashables compare by identity."""
    try:
        hash(value)
        return value
    except TypeError:
        if isinstance(value, (tuple, list)):
            return tuple(_hashable(v) for v in value)
        return ("id", id(value))


def apply(op, *inputs):
    """Run ``op`` on Tensors: compute now (eager) or record a node (any input symbolic)."""
    requires_grad = False
    try:
        for t in inputs:
            if t._data is None:
                return _apply_symbolic(op, inputs)
            if t.requires_grad:
                requires_grad = True
    except AttributeError:  # free when nothing is raised: the check costs the fast path nothing
        refuse_non_tensor(op.name, inputs)
        raise
    try:
        data = op.forward(backend, *[t._data for t in inputs])
    except (ValueError, TypeError, IndexError) as error:
        # Let infer() name the op, the shapes and what was expected; if it accepts the types,
        # the backend's own message is the best we have.
        op.infer(*[t.tensor_type for t in inputs])
        raise error
    out = make_tensor(data)
    if requires_grad and grad_enabled[0] and op.differentiable:
        record(out, op, inputs)
    return out


def refuse_non_tensor(name, inputs):
    """PyTorch's TypeError for an op given something other than a Tensor (a NumPy array, a list)
    where it takes a tensor, naming the op and the type, instead of an AttributeError from inside.
    Ops take Tensors only, as in PyTorch; the operand of an operator (``t + array``) is the
    exception, converted as PyTorch converts it."""
    for position, value in enumerate(inputs):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}(): argument {position} must be a Tensor, not "
                            f"{type_name(value)}; convert it with ganglion.tensor(value) (a copy) "
                            "or ganglion.from_numpy(array) (shares memory)")


def type_name(value):
    """``numpy.ndarray``, ``list``: the type of ``value`` as PyTorch's messages name it."""
    kind = type(value)
    module = kind.__module__
    return kind.__name__ if module == "builtins" else f"{module.split('.')[0]}.{kind.__name__}"


def record(out, op, inputs):
    """Make ``out`` the recorded result of ``op`` on ``inputs``.

    ``_saved_versions`` is (the output's version, the inputs' versions...) for ops whose vjp
    reads those values; backward compares them with the current versions to catch in-place
    changes made in between. ``_born`` lets backward find the inputs' values from before an
    in-place change made later, which rebinds an input to a new value (core/rebinds.py).
    """
    out.requires_grad = True
    out._op = op
    out._inputs = inputs
    # Which values of the inputs it read, should one be changed in place later (core/rebinds.py).
    out._born = rebinds[0]
    if op.saves_inputs:
        out._saved_versions = (version_of(out), *[version_of(t) for t in inputs])
    elif op.saves_output:
        out._saved_versions = (version_of(out),)
    else:
        out._saved_versions = None


def _apply_symbolic(op, inputs):
    out_type = op.infer(*[t.tensor_type for t in inputs])
    out = make_tensor(None, cls=_symbolic_result_class(inputs))
    out._type = out_type
    out._op = op
    out._inputs = inputs
    out._born = rebinds[0]  # see record()
    out.requires_grad = op.differentiable and any(t.requires_grad or t._data is None for t in inputs)
    if tracing.active:  # jit is tracing: an in-place change later may have to redirect this node
        tracing.active[-1].nodes.append(out)
    return out


def _symbolic_result_class(inputs):
    """The class of a symbolic result: Tensor, unless an input's class names another as its
    ``symbolic_result_class`` (compat.theano's variables, whose results keep Theano's methods:
    ``flatten(ndim)``, ``dimshuffle``, ``type``, ``eval``)."""
    for t in inputs:
        cls = getattr(type(t), "symbolic_result_class", None)
        if cls is not None:
            return cls
    return Tensor


# ----- helpers for infer() -----------------------------------------------------------------

def format_shape(shape):
    # An unknown dim is None in a type and a SymbolicDim (a Tensor) in a symbolic tensor's shape.
    return "(" + ", ".join("?" if d is None or isinstance(d, Tensor) else str(d) for d in shape) + (
        "," if len(shape) == 1 else "") + ")"


def broadcast_shapes(op_name, *shapes):
    """NumPy's broadcasting of shapes that may hold None (unknown) dims; ShapeError if they clash."""
    ndim = max(len(s) for s in shapes)
    result = []
    for axis in range(-ndim, 0):
        dim = 1
        for shape in shapes:
            if len(shape) < -axis:
                continue
            d = shape[axis]
            if d == 1:
                continue
            if dim == 1:
                dim = d
            elif d is None or dim is None or isinstance(d, Tensor) or isinstance(dim, Tensor):
                # An unknown dim (None, or a symbolic shape's SymbolicDim) takes the other's size.
                dim = d if dim is None or isinstance(dim, Tensor) else dim
            elif d != dim:
                raise ShapeError(f"{op_name}: shapes " + " and ".join(format_shape(s) for s in shapes)
                                 + f" cannot be broadcast together (dimension {axis}: {dim} vs {d})")
        result.append(None if isinstance(dim, Tensor) else dim)
    return tuple(result)


def bool_type(shape):
    return TensorType(bool_, shape)


def as_integer(who, what, value):
    """``value`` as an int, or a TypeError naming ``who`` and ``what`` (``what`` is the phrase
    "<name> must be an integer" completes): ``__index__`` takes NumPy integers and 0-d integer
    tensors and refuses floats (2.5, and 2.0 as PyTorch does) and strings; a bool is an int in
    Python but not a size or a dim."""
    if type(value) is int:
        return value
    index = getattr(type(value), "__index__", None)
    if index is None or isinstance(value, bool):
        raise TypeError(f"{who}: {what}, got {value!r} of type {type(value).__name__}")
    return index(value)


def normalize_dim(op_name, dim, ndim, word="dimension", what="dim must be an integer"):
    """One dim index in [0, ndim), negatives counted from the end (a 0-d tensor takes 0 and -1,
    as in PyTorch): a TypeError for a non-integer, PyTorch's IndexError for one out of range
    (``word`` names it in the message: "axis" or "dimension")."""
    dim = as_integer(op_name, what, dim)
    extent = max(ndim, 1)
    if not -extent <= dim < extent:
        raise IndexError(f"{op_name}: {word} {dim} is out of range for a tensor of {ndim} "
                         f"dimension{'' if ndim == 1 else 's'} (expected to be in range of "
                         f"[{-extent}, {extent - 1}], but got {dim})")
    return dim % extent


def normalize_axes(op_name, axis, ndim):
    """``axis`` (None, int or sequence, negatives allowed) as a sorted tuple, or None for all.

    Raises PyTorch's error types, naming ``op_name``: TypeError for a dim that is not an integer
    (a float such as 1.5, a bool, a string), IndexError for one out of range, and a ShapeError
    (a RuntimeError, as PyTorch raises, and a ValueError, as NumPy raises) for a repeated dim."""
    if axis is None:
        return None
    if type(axis) is int:  # the common case: one int in range needs no other check
        if -ndim <= axis < ndim:
            return (axis % ndim,)
        axes = (axis,)
    elif (isinstance(axis, str)
          or hasattr(type(axis), "__index__") and getattr(axis, "ndim", 0) == 0):
        axes = (axis,)
    else:
        try:
            axes = tuple(axis)  # a tuple, list, range or 1-d integer array of dims
        except TypeError:
            axes = (axis,)  # a float or another non-integer: refused below, by name
    out = [normalize_dim(op_name, a, ndim, "axis",
                         what="dim (axis) must be an integer or a tuple of integers") for a in axes]
    if len(out) > 1 and len(set(out)) != len(out):
        raise ShapeError(f"{op_name}: repeated axis in {axes} (dim {_first_repeat(out)} "
                         "appears multiple times; each dim may be given once)")
    return tuple(sorted(out))


def _first_repeat(values):
    seen = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
