"""Theano's variables on ganglion: ``TensorVariable``, ``TensorSharedVariable``,
``TensorConstant`` and the ``TensorType`` that ``x.type`` gives.

Reference: Theano 1.0's ``theano/tensor/var.py`` (``_tensor_py_operators``) and
``theano/tensor/type.py`` (``TensorType.__str__``).

Theano's methods differ from PyTorch's under the same name: ``x.flatten(2)`` keeps 2 dims in
Theano but flattens *from* dim 2 in PyTorch, and ``x.type`` is an attribute (a TensorType that
prints ``TensorType(float64, matrix)``) where PyTorch has a method. So the variables the compat
layer makes (``T.matrix``, ``theano.shared``, ``T.constant`` ...) are instances of these Tensor
subclasses, and ops applied to them give TensorVariables too (``symbolic_result_class``, read by
``core.op``): ``(x * 2).flatten(2)`` follows Theano, while ganglion's own tensors and
placeholders keep PyTorch's methods. The classes add no storage, only methods.

Theano's meaning, where PyTorch's differs: ``flatten(ndim)``, ``var``/``std`` (divided by n),
``max``/``min`` (values only), ``transpose(*axes)`` (NumPy's), ``dot`` (NumPy's); called with
PyTorch's own keywords (``dim=``, ``start_dim=`` ...) they keep PyTorch's. Theano's own:
``dimshuffle``, ``type``, ``broadcastable``, ``eval``, ``rng`` of a random variable; a variable is
true unless it is a comparison; NumPy array operands keep their dtype; variables pickle with
their graph.
"""
import numpy as np

from ganglion.core import dtypes
from ganglion.core.op import Op, apply
from ganglion.core.ops import reduce as _reduce
from ganglion.core.ops import shape as _shape
from ganglion.core.tensor import Constant, Tensor, make_tensor
from ganglion.core.tensor import TensorType as TensorType_
from ganglion.symbolic.shared import SharedVariable

__all__ = ["TensorVariable", "TensorSharedVariable", "TensorConstant", "TensorType",
           "as_variable", "dimshuffle", "flatten"]

# Theano's names for the broadcast patterns of low ranks (TensorType.__str__).
_PATTERN_NAMES = {(): "scalar", (False,): "vector", (False, True): "col", (True, False): "row",
                  (False, False): "matrix"}


class TensorType:
    """Theano's type of a tensor variable: a dtype (a string) and a broadcastable pattern (one
    bool per dim: True where the dim is known to be 1). ``TensorType('float64', (False,) * 3)``
    makes one; calling it makes a new placeholder of the type, as in Theano."""

    def __init__(self, dtype, broadcastable, name=None):
        self.dtype = dtypes.as_dtype(dtype).name
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.name = name

    @property
    def ndim(self):
        return len(self.broadcastable)

    def __call__(self, name=None):
        from ganglion.symbolic.placeholders import tensor
        shape = tuple(1 if b else None for b in self.broadcastable)
        return as_variable(tensor(self.dtype, shape, name))

    def __eq__(self, other):
        return (isinstance(other, TensorType) and other.dtype == self.dtype
                and other.broadcastable == self.broadcastable)

    def __hash__(self):
        return hash((self.dtype, self.broadcastable))

    def __str__(self):
        if self.name:
            return self.name
        b = self.broadcastable
        pattern = _PATTERN_NAMES.get(b) or (str(b) if any(b) else f"{len(b)}D")
        return f"TensorType({self.dtype}, {pattern})"

    __repr__ = __str__


class TensorVariable(Tensor):
    """A symbolic tensor with Theano's methods (module docstring)."""

    __slots__ = ()

    @property
    def type(self):
        """Theano's TensorType of this variable: ``TensorType(float64, matrix)``."""
        shared = isinstance(self, SharedVariable)  # Theano's shared variables broadcast nowhere
        return TensorType(self.dtype, tuple(d == 1 and not shared for d in self.tensor_type.shape))

    @property
    def broadcastable(self):
        return self.type.broadcastable

    def __bool__(self):
        """Theano's rule: a variable is true (``if not W:`` tests for None, as in the
        tutorials), except a comparison's result, whose truth is asked by ``a < b < c``."""
        from ganglion.core.ops.elementwise import Compare
        if isinstance(self._op, Compare):
            raise TypeError("Variables do not support boolean operations (a comparison of "
                            "symbolic variables has no truth value; use T.and_ / T.switch)")
        return True

    @property
    def rng(self):
        """For a random variable (from RandomStreams or MRG_RandomStreams): its random state,
        with ``get_value`` / ``set_value`` (shared_randomstreams.RandomStateVariable)."""
        from ganglion.compat.theano.tensor.shared_randomstreams import RandomStateVariable
        from ganglion.symbolic.random import RandomDraw
        if not isinstance(self._op, RandomDraw):
            raise AttributeError("rng: only a random variable (made by a RandomStreams) has an rng")
        return RandomStateVariable(self._op)

    def __reduce__(self):
        """Theano's variables pickle with their graph (the tutorials pickle a trained model and
        compile its prediction after loading): ops and inputs are pickled with the variable, a
        shared variable with its value; variables reached twice stay one object."""
        return _rebuild_tensor, _tensor_state(self)

    def dimshuffle(self, *pattern):
        return dimshuffle(self, *pattern)

    # Methods whose PyTorch namesakes mean something else follow Theano (and NumPy) here. Called
    # with PyTorch's own keywords (ganglion's library code may call them on these variables),
    # they keep PyTorch's meaning.
    def flatten(self, *args, **kwargs):
        """Theano's ``flatten(ndim=1)``: the result has ``ndim`` dims (PyTorch's
        ``flatten(start_dim, end_dim)`` with those keywords, or with two arguments)."""
        if len(args) == 2 or "start_dim" in kwargs or "end_dim" in kwargs:
            return Tensor.flatten(self, *args, **kwargs)
        return flatten(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        """Theano's ``var(axis=None, ddof=0, keepdims=False)``: divided by n - ddof (n by
        default, where PyTorch divides by n - 1)."""
        if _torch_keywords(kwargs):
            return Tensor.var(self, *args, **kwargs)
        return _theano_moment(_reduce.var, self, *args, **kwargs)

    def std(self, *args, **kwargs):
        """Theano's ``std(axis=None, ddof=0, keepdims=False)`` (n - ddof, n by default)."""
        if _torch_keywords(kwargs):
            return Tensor.std(self, *args, **kwargs)
        return _theano_moment(_reduce.std, self, *args, **kwargs)

    def max(self, *args, **kwargs):
        """Theano's ``max(axis=None, keepdims=False)``: the values only (PyTorch's max(dim)
        also gives the indices)."""
        if _torch_keywords(kwargs):
            return Tensor.max(self, *args, **kwargs)
        return _reduce.amax(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        """Theano's ``min(axis=None, keepdims=False)``: the values only."""
        if _torch_keywords(kwargs):
            return Tensor.min(self, *args, **kwargs)
        return _reduce.amin(self, *args, **kwargs)

    def transpose(self, *axes):
        """NumPy's transpose: the dims reversed, or permuted as ``axes`` lists them."""
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = tuple(axes[0])
        return _shape.permute(self, axes or tuple(range(self.ndim - 1, -1, -1)))

    def dot(self, other):
        """NumPy's dot (``T.dot``); PyTorch's takes only vectors."""
        from ganglion.compat.theano.tensor.basic import dot
        return dot(self, other)

    def eval(self, inputs_to_values=None):
        """The value of this variable, with ``inputs_to_values`` ({placeholder: value}) fed in:
        a function is compiled once per set of placeholders and kept (as Theano's eval does)."""
        from ganglion.symbolic.function import function
        inputs_to_values = dict(inputs_to_values or {})
        inputs = list(inputs_to_values)
        key = (id(self),) + tuple(id(i) for i in inputs)
        compiled = _EVAL_CACHE.pop(key, None)
        if compiled is None:
            compiled = function(inputs, self)
            if len(_EVAL_CACHE) >= _EVAL_CACHE_SIZE:
                _EVAL_CACHE.pop(next(iter(_EVAL_CACHE)))
        _EVAL_CACHE[key] = compiled  # the most recently used last
        return compiled(*[inputs_to_values[i] for i in inputs])


def _torch_keywords(kwargs):
    return any(k in kwargs for k in ("dim", "keepdim", "unbiased", "correction"))


def _theano_moment(reduction, x, axis=None, ddof=0, keepdims=False, corrected=False):
    return reduction(x, axis=axis, ddof=ddof, keepdims=keepdims)


def _tensor_state(t):
    inputs = None if t._inputs is None else tuple(
        i if isinstance(i, TensorVariable) else _PickledTensor(i) for i in t._inputs)
    storage = t.storage if isinstance(t, SharedVariable) else None
    return (type(t), t._data, t._type, t._op, inputs, t.requires_grad, t.name, storage)


def _rebuild_tensor(cls, data, tensor_type, op, inputs, requires_grad, name, storage):
    t = make_tensor(data, requires_grad, cls=cls)
    t._type, t._op, t._inputs, t.name = tensor_type, op, inputs, name
    if storage is not None:
        t.storage = storage
    return t


class _PickledTensor:
    """A tensor of another class inside a Theano variable's graph (a constant made from a
    Python number, a shape's dim): pickled as its fields, since ganglion's tensors refuse pickle."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce__(self):
        return _rebuild_tensor, _tensor_state(self.tensor)


# Compiled functions of the latest eval() calls, keyed by the ids of the variable and its inputs
# (the function holds both, so the ids cannot be reused while the entry lives); the least
# recently used is dropped beyond the size, so that evaluating many variables keeps no graphs.
_EVAL_CACHE = {}
_EVAL_CACHE_SIZE = 32

TensorVariable.symbolic_result_class = TensorVariable


def _keeping_array_dtype(method):
    """Tensor's operator ``method`` with a NumPy array operand taken as a constant of its own
    dtype, as Theano does (ganglion.tensor(ndarray) makes float64 arrays float32, so that
    ``x * weights`` would round a float64 array to float32 before multiplying)."""
    def operator(self, other):
        if isinstance(other, np.ndarray):
            other = _array_constant(other)
        return method(self, other)
    operator.__name__ = method.__name__
    operator.__doc__ = method.__doc__
    return operator


def _array_constant(array):
    constant = make_tensor(np.array(array), cls=Constant)
    constant.__class__ = TensorConstant
    return constant


for _name in ("add", "radd", "sub", "rsub", "mul", "rmul", "truediv", "rtruediv", "floordiv",
              "rfloordiv", "mod", "rmod", "pow", "rpow", "matmul", "rmatmul", "lt", "le", "gt",
              "ge", "eq", "ne", "and", "rand", "or", "ror", "xor", "rxor"):
    _dunder = f"__{_name}__"
    if hasattr(Tensor, _dunder):
        setattr(TensorVariable, _dunder, _keeping_array_dtype(getattr(Tensor, _dunder)))


class TensorSharedVariable(SharedVariable, TensorVariable):
    """``theano.shared``'s result: a SharedVariable with Theano's methods."""

    __slots__ = ()


class TensorConstant(Constant, TensorVariable):
    """``T.constant``'s result: a Constant with Theano's methods."""

    __slots__ = ()


def as_variable(t):
    """``t`` (a tensor the compat layer just made) as the matching Theano class, in place."""
    if isinstance(t, SharedVariable):
        t.__class__ = TensorSharedVariable
    elif isinstance(t, Constant):
        t.__class__ = TensorConstant
    else:
        t.__class__ = TensorVariable
    return t


def dimshuffle(x, *pattern):
    """Theano's dimshuffle: ``pattern`` lists x's dims in their new order, with 'x' for a new
    broadcast dim of size 1; a dim left out must have size 1 and is dropped.
    ``x.dimshuffle('x', 0)`` is a row, ``x.dimshuffle(1, 0)`` the transpose."""
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = tuple(pattern[0])
    ndim = x.ndim
    kept = [p for p in pattern if p != "x"]
    for p in kept:
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < ndim:
            raise ValueError(f"dimshuffle: pattern {pattern!r} must list dims of a {ndim}-d tensor "
                             f"(0 to {ndim - 1}) or 'x', got {p!r}")
    if len(set(kept)) != len(kept):
        raise ValueError(f"dimshuffle: pattern {pattern!r} lists a dim twice")
    dropped = [d for d in range(ndim) if d not in kept]
    static = x.tensor_type.shape
    for d in dropped:
        if static[d] != 1:
            size = "?" if static[d] is None else static[d]
            raise ValueError(f"dimshuffle: pattern {pattern!r} drops dim {d} of a tensor of shape "
                             f"{_shape_text(static)}, whose size is {size}; only dims of size 1 "
                             "can be dropped")
    y = _shape.squeeze(x, tuple(dropped)) if dropped else x
    # The kept dims renumbered after the squeeze, then put in the pattern's order.
    renumber = {d: k for k, d in enumerate(d for d in range(ndim) if d in kept)}
    order = [renumber[p] for p in kept]
    if order != sorted(order):
        y = _shape.permute(y, order)
    for position, p in enumerate(pattern):
        if p == "x":
            y = _shape.unsqueeze(y, position)
    return y


def flatten(x, ndim=1, outdim=None):
    """Theano's flatten: the result has ``ndim`` dims, the last holding all of x's dims from
    ``ndim - 1`` on (``flatten(x, 2)`` of a (n, c, h, w) batch is (n, c*h*w)). Not PyTorch's
    ``flatten(start_dim)``: ``ganglion.flatten(x, ndim - 1)`` is the same thing."""
    if outdim is not None:
        ndim = outdim
    if isinstance(ndim, bool) or not isinstance(ndim, int) or not 1 <= ndim <= max(x.ndim, 1):
        raise ValueError(f"flatten: ndim must be an int from 1 to x.ndim = {x.ndim} (the number of "
                         f"dims of the result), got {ndim!r} for a tensor of shape "
                         f"{_shape_text(x.tensor_type.shape)}")
    if x.ndim == 0:
        return _shape.reshape(x, (1,))
    if ndim == x.ndim:
        return x
    return apply(Flatten(ndim), x)


class Flatten(Op):
    """Theano's flatten to ``ndim`` dims, for any unknown dims (a reshape to a fixed shape
    would need all but one of them known)."""

    __slots__ = ("ndim",)
    saves_inputs = False

    def __init__(self, ndim):
        self.ndim = ndim

    def forward(self, backend, x):
        return x.reshape(x.shape[:self.ndim - 1] + (-1,))

    def vjp(self, out, grad, needs):
        return (_shape.reshape_as(grad, out._inputs[0]),)

    def infer(self, x):
        merged = x.shape[self.ndim - 1:]
        size = None if None in merged else int(np.prod(merged, dtype=np.int64))
        return TensorType_(x.dtype, tuple(x.shape[:self.ndim - 1]) + (size,))


def _shape_text(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
