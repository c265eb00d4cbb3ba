"""Ops whose sizes are known only at run time: reshape, expand, filled tensors (zeros, ones,
full, empty), arange and random draws with symbolic sizes (``core/symbolic_shape.py`` states
the rule; Theano's Reshape, Alloc, ARange and RandomStreams with symbolic ``size`` followed).

Each symbolic size is an extra input of the op (a ``SizeSlot`` marks its place among the static
sizes), so the compiled function computes it first (from ``x.shape[0]``, a placeholder, or
arithmetic on those) and the op reads its value when it runs. The public functions
(``reshape``, ``zeros``, ``arange``, ``rand`` ...) send a size here only when it holds a symbolic
scalar; eager and static sizes keep their own fast paths.
"""
import numpy as np

from ganglion.backend import current as backend
from ganglion.core import dtypes
from ganglion.core.errors import ArgumentError, ShapeError
from ganglion.core.op import Op, apply, format_shape
from ganglion.core.random import numpy_generator
from ganglion.core.symbolic_shape import (SizeSlot, SymbolicDim, resolve_sizes, show_sizes,
                                          split_sizes, static_sizes)
from ganglion.core.tensor import Constant, Tensor, TensorType, make_tensor

__all__ = ["reshape_dynamic", "expand_dynamic", "filled", "arange_symbolic", "random_draw"]


def _show(template):
    return "(" + ", ".join("?" if isinstance(d, SizeSlot) else str(d) for d in template) + \
        ("," if len(template) == 1 else "") + ")"


class DynamicReshape(Op):
    """Reshape to ``template`` (ints, -1, and ``SizeSlot``s for the size inputs). ``static`` is
    the result's shape as far as it is known when the graph is built."""
    __slots__ = ("template", "static")
    saves_inputs = False

    def __init__(self, template, static):
        self.template = template
        self.static = static

    @property
    def name(self):
        return "reshape"

    def pp(self, args):
        return f"reshape({args[0]}, {show_sizes(self.template, args[1:])})"

    def forward(self, backend, x, *sizes):
        shape = resolve_sizes("reshape", self.template, sizes)
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape an array of shape {tuple(x.shape)} "
                             f"({x.size} elements) into {shape} (sizes computed at run "
                             "time)") from None

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.shape import reshape_as
        return (reshape_as(grad, out._inputs[0]),) + (None,) * (len(out._inputs) - 1)

    def infer(self, x, *sizes):
        return TensorType(x.dtype, self.static)


def reshape_dynamic(who, x, sizes):
    """``x`` reshaped to ``sizes``, which hold symbolic scalars."""
    template, inputs = split_sizes(who, sizes)
    ints = [d for d in template if not isinstance(d, SizeSlot)]
    if ints.count(-1) > 1:
        raise ShapeError(f"{who}: only one dimension can be -1 (inferred), got {_show(template)}")
    for position, d in enumerate(template):
        if not isinstance(d, SizeSlot) and d < -1:
            raise ShapeError(f"{who}: invalid shape dimension {d} at index {position} of "
                             f"{_show(template)} (sizes must be non-negative, or -1 for the one "
                             "size to infer)")
    static = list(static_sizes(template))
    if -1 in ints:
        static[static.index(-1)] = _inferred_size(x, template, inputs)
    return apply(DynamicReshape(template, tuple(static)), x, *inputs)


def _inferred_size(x, template, inputs):
    """The -1 of ``template`` when the graph already tells it: every unknown dim of x is passed
    through as its own ``x.shape[k]`` (``x.reshape((x.shape[0], -1))`` of a (None, 28, 28) x is
    (?, 784)); None otherwise."""
    shape = x.tensor_type.shape
    unknown = {axis for axis, d in enumerate(shape) if d is None}
    for d in template:
        if isinstance(d, SizeSlot):
            size = inputs[d.k]
            if not (isinstance(size, SymbolicDim) and size.source is x and size.axis in unknown):
                return None
            unknown.discard(size.axis)
    if unknown:
        return None
    total = 1
    for d in shape:
        total *= 1 if d is None else d
    rest = 1
    for d in template:
        if not isinstance(d, SizeSlot) and d != -1:
            rest *= d
    if rest == 0 or total % rest:
        return None  # refused at run time with the sizes in the message
    return total // rest


class DynamicExpand(Op):
    """Broadcast to ``template`` (ints, -1 keeping a dim, ``SizeSlot``s for the size inputs)."""
    __slots__ = ("template",)
    saves_inputs = False

    def __init__(self, template):
        self.template = template

    @property
    def name(self):
        return "expand"

    def pp(self, args):
        return f"expand({args[0]}, {show_sizes(self.template, args[1:])})"

    def forward(self, backend, x, *sizes):
        shape = resolve_sizes("expand", self.template, sizes)
        lead = len(shape) - x.ndim
        shape = tuple(x.shape[i - lead] if d == -1 and i >= lead else d
                      for i, d in enumerate(shape))
        try:
            return backend.xp.broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(f"expand: cannot expand an array of shape {tuple(x.shape)} to "
                             f"{shape} (sizes computed at run time)") from None

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.shape import sum_to
        return (sum_to(grad, out._inputs[0]),) + (None,) * (len(out._inputs) - 1)

    def infer(self, x, *sizes):
        from ganglion.core.ops.shape import Expand
        return Expand(static_sizes(self.template)).infer(x)


def expand_dynamic(x, sizes):
    template, inputs = split_sizes("expand", sizes)
    return apply(DynamicExpand(template), x, *inputs)


class Filled(Op):
    """A tensor of ``template``'s size filled with ``value`` (Theano's Alloc of a constant)."""
    __slots__ = ("template", "value", "dtype", "who")
    differentiable = False
    saves_inputs = False
    returns_new_array = True

    def __init__(self, template, value, dtype, who):
        self.template = template
        self.value = value
        self.dtype = dtype
        self.who = who

    @property
    def name(self):
        return self.who

    def pp(self, args):
        return f"{self.who}({show_sizes(self.template, args)}, {self.value!r})"

    def forward(self, backend, *sizes):
        return backend.xp.full(resolve_sizes(self.who, self.template, sizes), self.value,
                               self.dtype.np)

    def infer(self, *sizes):
        return TensorType(self.dtype, static_sizes(self.template))


def filled(who, sizes, value, dtype, requires_grad=False):
    """zeros / ones / full / empty of symbolic ``sizes`` (empty is zero-filled: a compiled
    function has no uninitialised memory to hand out)."""
    template, inputs = split_sizes(who, sizes)
    for position, d in enumerate(template):
        if not isinstance(d, SizeSlot) and d < 0:
            raise ShapeError(f"{who}: size {_show(template)} has negative dimension {d}; "
                             "dimensions must be non-negative")
    out = apply(Filled(template, value, dtype, who), *inputs)
    if requires_grad:
        out.requires_grad = True
    return out


class Arange(Op):
    """arange(start, end, step) of run-time values (Theano's ARange)."""
    __slots__ = ("dtype",)
    differentiable = False
    saves_inputs = False
    returns_new_array = True

    def __init__(self, dtype):
        self.dtype = dtype

    @property
    def name(self):
        return "arange"

    def forward(self, backend, start, end, step):
        start, end, step = start.item(), end.item(), step.item()
        if step == 0:
            raise ArgumentError(f"arange: step must be nonzero, got {step} (range {start} -> "
                                f"{end}, computed at run time)")
        if (end - start) * step < 0:
            raise ArgumentError(f"arange: step {step} points away from end: cannot go from "
                                f"{start} to {end} (computed at run time)")
        return backend.xp.arange(start, end, step).astype(self.dtype.np)

    def infer(self, start, end, step):
        for what, t in (("start", start), ("end", end), ("step", step)):
            if t.shape != ():
                raise ShapeError(f"arange: {what} must be a scalar (0-d), got a tensor of shape "
                                 f"{format_shape(t.shape)}")
        return TensorType(self.dtype, (None,))


def arange_symbolic(start, end, step, dtype):
    """arange with a symbolic bound or step; int64 when all three are integers."""
    values = []
    for what, v in (("start", start), ("end", end), ("step", step)):
        if isinstance(v, Tensor):
            if v.ndim != 0 or v.dtype.category == 0:
                raise TypeError(f"arange: {what} must be a number or a 0-d integer or floating "
                                f"tensor, got a {v.dtype.name} tensor of shape "
                                f"{format_shape(v.shape)}")
        elif v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"arange: {what} must be a number or a 0-d tensor, got {v!r}")
        values.append(v)
    if dtype is None:
        integer = all(v.dtype.category == 1 if isinstance(v, Tensor) else isinstance(v, int)
                      for v in values)
        dtype = dtypes.int64 if integer else dtypes.get_default_dtype()
    dtype = dtypes.as_dtype(dtype)
    inputs = [v if isinstance(v, Tensor) else _constant(v) for v in values]
    return apply(Arange(dtype), *inputs)


def _constant(value):
    xp = backend.xp
    return make_tensor(xp.asarray(value, dtype=xp.int64 if isinstance(value, int) else xp.float64),
                       cls=Constant)


class RandomDraw(Op):
    """Values drawn from ``generator.<method>(*params, size=...)`` each time a compiled function
    runs. ``generator`` is a NumPy Generator or RandomState (Theano's streams keep one per
    variable), or resolved then (``numpy_generator``): None is ganglion's global generator, as it
    is after the latest ``manual_seed``, or a ganglion Generator. ``typed`` passes ``dtype=`` to the
    method (NumPy's random / standard_normal draw float32 directly, as the eager functions do).
    Marked nondeterministic: never folded into a constant, never merged with another draw."""
    __slots__ = ("method", "template", "params", "dtype", "generator", "typed", "who")
    differentiable = False
    nondeterministic = True
    saves_inputs = False
    returns_new_array = True

    def __init__(self, method, template, params, dtype, generator, typed, who):
        self.method = method
        self.template = template
        self.params = params
        self.dtype = dtype
        self.generator = generator
        self.typed = typed
        self.who = who

    @property
    def name(self):
        return self.who.replace(" ", "_")  # rand, randn, randint, random_binomial ...

    def pp(self, args):
        return f"{self.name}({show_sizes(self.template, args)})"

    def forward(self, backend, *sizes):
        shape = resolve_sizes(self.who, self.template, sizes)
        source = self.generator
        if not isinstance(source, (np.random.Generator, np.random.RandomState)):
            source = numpy_generator(source, self.who)  # None (global) or a ganglion Generator
        draw = getattr(source, self.method)
        if self.typed:
            return draw(*self.params, size=shape, dtype=self.dtype.np)
        return backend.xp.asarray(draw(*self.params, size=shape), dtype=self.dtype.np)

    def infer(self, *sizes):
        return TensorType(self.dtype, static_sizes(self.template))


def random_draw(who, method, sizes, params, dtype, generator, typed=False):
    """A symbolic tensor of ``sizes`` (ints and symbolic scalars) drawn by ``method``."""
    template, inputs = split_sizes(who, sizes)
    for d in template:
        if not isinstance(d, SizeSlot) and d < 0:
            raise ShapeError(f"{who}: size {_show(template)} has negative dimension {d}; "
                             "dimensions must be non-negative")
    op = RandomDraw(method, template, tuple(params), dtypes.as_dtype(dtype), generator, typed, who)
    if not inputs:  # a static size: an op without inputs (apply needs one to be symbolic)
        out = make_tensor(None)
        out._type = op.infer()
        out._op = op
        out._inputs = ()
        return out
    return apply(op, *inputs)
