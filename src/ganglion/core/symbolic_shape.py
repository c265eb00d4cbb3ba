"""Symbolic shapes: ``x.shape`` of a symbolic tensor, and sizes known only when a compiled
function runs (issue 16 item 3; Theano's ``x.shape`` / ``Shape_i`` followed).

The rule:

- ``x.shape`` of a symbolic tensor is a ``SymbolicShape``, a ``Size`` (so a tuple) whose known
  dims are plain ints and whose unknown dims are ``SymbolicDim``s: 0-d int64 symbolic tensors
  whose value is that dimension of x when the compiled function runs. ``x.shape[1]`` of a
  ``(None, 784)`` placeholder is the int 784 (``nn.Linear(x.shape[1], 10)`` keeps working);
  ``x.shape[0]`` is a symbolic scalar. Eager tensors' shapes are plain ``Size``s of ints.
- A symbolic scalar is a size: arithmetic on it is ordinary tensor arithmetic (``n * d``,
  ``n // 2``, ``x.shape[0] - 1``, ``n.to(float32)``), and the ops that take sizes (reshape/view,
  expand, repeat/tile, zeros/ones/full/empty, arange, rand/randn/randint, the symbolic random
  streams' ``size=``) take any 0-d integer symbolic tensor in place of an int; the result's
  dimension is then unknown in its type, and computed at run time.
- An unknown dim compares equal (``==``) to None and to another unknown dim, and unequal to any
  int, as the None that stood there before did: ``x.shape == (None, 784)`` still holds, and so do
  the engine's static shape checks. ``==`` is thus a question about what is known when the graph
  is built; compare values at run time with ``ganglion.eq(x.shape[0], y.shape[0])``.
- ``x.shape.prod()`` is the number of elements (an int, or a symbolic scalar), and
  ``x.shape.to_tensor()`` (also ``ganglion.as_tensor(x.shape)``, and what
  ``function([x], x.shape)`` returns) the whole shape as a 1-d int64 tensor (Theano's shape
  vector).

Sizes may hold symbolic scalars only in the ops listed above; a None there (an unknown dim read
from a type) is refused by name, since it carries no value to compute with.

For code inside ganglion: a check that asks whether a dim is known (``d is None``) must read
the type's shape, ``t.tensor_type.shape``, which keeps None for unknown dims; ``t.shape`` is the
user's view, whose unknown dims are tensors (``is None`` is False for them, and ``<`` or ``%`` on
them give symbolic results that cannot decide an ``if``).
"""
from ganglion.core import dtypes, tracing
from ganglion.core.op import Op, apply, as_integer
from ganglion.core import tensor as tensor_module
from ganglion.core.tensor import Size, Tensor, TensorType, make_tensor

__all__ = ["SymbolicDim", "SymbolicShape", "SymbolicSizes", "ShapeOf", "ShapeVector",
           "symbolic_shape", "is_symbolic_scalar", "split_sizes", "static_sizes", "resolve_sizes",
           "SizeSlot"]

_tuple_new = tuple.__new__


class ShapeOf(Op):
    """Dimension ``axis`` of the input, as a 0-d int64 value (Theano's Shape_i)."""
    __slots__ = ("axis",)
    differentiable = False
    saves_inputs = False
    returns_new_array = True

    def __init__(self, axis):
        self.axis = axis

    @property
    def name(self):
        return f"shape[{self.axis}]"

    def forward(self, backend, x):
        return backend.xp.asarray(x.shape[self.axis], dtype=dtypes.int64.np)

    def pp(self, args):
        return f"{args[0]}.shape[{self.axis}]"

    def infer(self, x):
        return TensorType(dtypes.int64, ())


class ShapeVector(Op):
    """The input's shape as a 1-d int64 value (Theano's Shape)."""
    __slots__ = ()
    differentiable = False
    saves_inputs = False
    returns_new_array = True

    @property
    def name(self):
        return "shape"

    def forward(self, backend, x):
        return backend.xp.asarray(x.shape, dtype=dtypes.int64.np)

    def pp(self, args):
        return f"{args[0]}.shape"

    def infer(self, x):
        return TensorType(dtypes.int64, (len(x.shape),))


class SymbolicDim(Tensor):
    """An unknown dimension of a symbolic tensor: a 0-d int64 symbolic tensor (``ShapeOf`` of
    the tensor), equal to None and to other unknown dims under ``==`` (see the module's rule)."""

    __slots__ = ()

    def __eq__(self, other):
        if other is None or isinstance(other, SymbolicDim):
            return True
        return False

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = Tensor.__hash__

    @property
    def axis(self):
        return self._op.axis

    @property
    def source(self):
        """The tensor whose dimension this is."""
        return self._inputs[0]

    def __repr__(self):
        # Short, since error messages show shapes holding it: "(x.shape[0], 784)".
        source = self._inputs[0]
        return f"{source.name or '(symbolic)'}.shape[{self._op.axis}]"

    __str__ = __repr__


_INT64_SCALAR = TensorType(dtypes.int64, ())


def dim_of(x, axis):
    """The symbolic scalar for dimension ``axis`` of symbolic ``x``."""
    d = make_tensor(None, cls=SymbolicDim)
    d._type = _INT64_SCALAR
    d._op = ShapeOf(axis)
    d._inputs = (x,)
    if tracing.active:  # jit redirects the readers of a tensor changed in place later
        tracing.active[-1].nodes.append(d)
    return d


class SymbolicShape(Size):
    """The shape of a symbolic tensor: ints for known dims, ``SymbolicDim`` for unknown ones."""

    __slots__ = ()

    def numel(self):
        """The number of elements, when every dim is known (a TypeError otherwise, as before;
        ``prod()`` gives it as a symbolic scalar)."""
        if not all(type(d) is int for d in self):
            raise TypeError(f"numel(): shape {self!r} has dimensions that are not known yet (a "
                            "symbolic tensor's); x.shape.prod() gives the number of elements as "
                            "a symbolic scalar")
        return Size.numel(self)

    def prod(self):
        """The product of the dims: an int when all are known, else a symbolic int64 scalar."""
        result = 1
        for d in self:
            result = result * d
        return result

    def to_tensor(self):
        """The shape as a 1-d int64 tensor (symbolic when a dim is unknown)."""
        from ganglion.core.creation import tensor
        for d in self:
            if isinstance(d, SymbolicDim):
                return apply(ShapeVector(), d.source)
        return tensor(list(self), dtype=dtypes.int64)


def symbolic_shape(t):
    """``t.shape`` for a symbolic tensor ``t``."""
    dims = t._type.shape
    if None not in dims:
        return _tuple_new(SymbolicShape, dims)
    return _tuple_new(SymbolicShape, [dim_of(t, axis) if d is None else d
                                      for axis, d in enumerate(dims)])


tensor_module._symbolic_shape = symbolic_shape


class SymbolicSizes(tuple):
    """A size argument holding symbolic scalars: what a size parser returns so that the op can
    take its dynamic path (a plain tuple of ints otherwise)."""

    __slots__ = ()


def is_symbolic_scalar(value):
    return isinstance(value, Tensor) and value._data is None


class SizeSlot:
    """The place of the k-th symbolic size among an op's inputs."""
    __slots__ = ("k",)

    def __init__(self, k):
        self.k = k

    def __eq__(self, other):
        return isinstance(other, SizeSlot) and other.k == self.k

    def __hash__(self):
        return hash(("size slot", self.k))

    def __repr__(self):
        return f"SizeSlot({self.k})"


def check_size_entry(who, position, value):
    """One entry of a size that is not an int: a symbolic integer scalar stays as it is, an
    integer (NumPy's, a 0-d integer tensor) becomes an int, anything else is a TypeError naming
    ``who``."""
    if value is None:
        raise TypeError(f"{who}: size entry {position} is None (an unknown dimension has no value "
                        "to build with); pass the symbolic size instead, e.g. x.shape[0] of the "
                        "symbolic tensor x, or an integer scalar placeholder")
    if isinstance(value, Tensor) and value._data is None:
        if value.ndim != 0 or value.dtype.category != 1:
            raise TypeError(f"{who}: a symbolic size must be an integer scalar (0-d), got entry "
                            f"{position} of dtype {value.dtype.name} and {value.ndim} dimensions")
        return value
    return as_integer(who, f"each size must be an integer (entry {position})", value)


def split_sizes(who, sizes):
    """(template, inputs): the sizes with each symbolic scalar replaced by a ``SizeSlot`` into
    ``inputs``, the list of those scalars (the op's extra inputs)."""
    template, inputs = [], []
    for position, d in enumerate(sizes):
        if type(d) is not int:
            d = check_size_entry(who, position, d)
            if isinstance(d, Tensor):
                template.append(SizeSlot(len(inputs)))
                inputs.append(d)
                continue
        template.append(d)
    return tuple(template), inputs


def show_sizes(template, args):
    """``template`` printed with the printed symbolic sizes ``args`` in their places."""
    dims = [args[d.k] if isinstance(d, SizeSlot) else str(d) for d in template]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def static_sizes(template):
    """The template as a type's shape: None where the size is known only at run time."""
    return tuple(None if isinstance(d, SizeSlot) else d for d in template)


def resolve_sizes(who, template, values):
    """The template's ints, with the run-time values of its symbolic sizes."""
    sizes = tuple(int(values[d.k]) if isinstance(d, SizeSlot) else d for d in template)
    for position, d in enumerate(sizes):
        if d < 0 and not (d == -1 and isinstance(template[position], int)):
            raise ValueError(f"{who}: size {sizes} computed at run time has negative entry "
                             f"{position} ({d}); sizes must be non-negative")
    return sizes
