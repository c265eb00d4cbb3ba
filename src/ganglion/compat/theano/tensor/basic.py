"""Theano's ``theano.tensor`` functions that need more than a rename of ganglion's: subtensor
assignment, dot products with NumPy's rules, allocation, reductions with Theano's defaults,
constants, ``Rop`` / ``Lop``.

Reference: Theano 1.0's ``theano/tensor/basic.py``, ``subtensor.py`` (``set_subtensor``,
``inc_subtensor``), ``nlinalg`` / ``blas`` (``dot``, ``tensordot``, ``batched_dot``) and
``gradient.py`` (``Rop``, ``Lop``).
"""
import string

import numpy as np

import ganglion as _gn
from ganglion.core import dtypes
from ganglion.core.op import Op, apply
from ganglion.core.ops import indexing as _indexing
from ganglion.core.ops import shape as _shape
from ganglion.core.tensor import Constant, Tensor, TensorType, make_tensor
from ganglion.compat.theano.tensor.var import as_variable

__all__ = ["set_subtensor", "inc_subtensor", "dot", "tensordot", "batched_dot", "outer", "alloc",
           "zeros", "ones", "zeros_like", "ones_like", "prod", "var", "std", "constant",
           "as_tensor_variable", "Rop", "Lop", "join", "specify_shape", "SpecifyShape", "and_", "or_",
           "xor", "invert", "transpose", "shape_padleft", "shape_padright", "shape_padaxis",
           "addbroadcast", "unbroadcast", "patternbroadcast", "sort", "argsort", "cumsum", "log2",
           "log10", "inv", "neg", "true_div", "int_div", "mod", "eye", "identity_like", "fill",
           "horizontal_stack", "vertical_stack", "squeeze", "largest", "smallest", "shape",
           "with_constants"]


def _config():
    from ganglion.compat.theano.tensor import config
    return config


def _text(shape):
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _as_tensor(value, dtype=None):
    if isinstance(value, Tensor):
        return value
    return constant(value, dtype=dtype)


# ----- subtensor assignment -----------------------------------------------------------------

def set_subtensor(x, y, inplace=False, tolerate_inplace_aliasing=False):
    """A new variable: the tensor that ``x`` indexes (``x`` is a view such as ``a[1:3]``,
    ``a[idx]`` or ``a[i, :, j]``) with ``y`` written over that region (broadcast to it)."""
    return _assign_subtensor("set_subtensor", x, y, accumulate=False)


def inc_subtensor(x, y, inplace=False, set_instead_of_inc=False, tolerate_inplace_aliasing=False):
    """A new variable: the tensor that ``x`` indexes with ``y`` added over that region. An index
    array that repeats a position adds once per repeat (as Theano's AdvancedIncSubtensor)."""
    return _assign_subtensor("inc_subtensor", x, y, accumulate=not set_instead_of_inc)


def _assign_subtensor(name, view, value, accumulate):
    from ganglion.core.ops.elementwise import cast
    op = view._op if isinstance(view, Tensor) else None
    if not isinstance(op, _indexing.GetItem):
        kind = "not a tensor" if not isinstance(view, Tensor) else (
            f"made by {op.name}" if op is not None else "not made by indexing")
        raise TypeError(f"{name}: the first argument must be a subtensor such as x[2:5] or x[idx] "
                        f"(the region to write), got one {kind}")
    base, *arrays = view._inputs
    value = cast(_as_tensor(value, base.dtype), base.dtype)
    if accumulate:
        same = value.tensor_type.shape == view.tensor_type.shape and None not in view.tensor_type.shape
        region = value if same else _shape.expand_as(value, view)
        added = apply(_indexing.IndexAdd(op.spec), region, base, *arrays)
        new_base = base + added
    else:
        new_base = apply(_indexing.IndexPut(op.spec), base, value, *arrays)
    # x[i][j]: base is itself a view, so the change is written into its own base in turn.
    if isinstance(base._op, _indexing.GetItem):
        return _assign_subtensor(name, base, new_base, accumulate=False)
    return new_base


# ----- products -----------------------------------------------------------------------------

def dot(a, b):
    """NumPy's dot, as Theano's: a product for a scalar, matmul for b of up to 2 dims (a may
    have any number: its last dim meets b's first), and over a's last and b's second-to-last
    dim for b of 3 or more."""
    a, b = _as_tensor(a), _as_tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim <= 2:
        return _gn.matmul(a, b)
    return tensordot(a, b, [[a.ndim - 1], [b.ndim - 2]])


def tensordot(a, b, axes=2):
    """NumPy's tensordot: ``axes`` an int n (a's last n dims meet b's first n) or a pair of
    lists of dims. Computed as one einsum."""
    a, b = _as_tensor(a), _as_tensor(b)
    if isinstance(axes, int) and not isinstance(axes, bool):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} needs both tensors to have at least {axes} "
                             f"dims, got {a.ndim} and {b.ndim}")
        a_axes, b_axes = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        try:
            a_axes, b_axes = axes
        except (TypeError, ValueError):
            raise ValueError(f"tensordot: axes must be an int or a pair of lists of dims, got "
                             f"{axes!r}") from None
        a_axes = [a_axes] if isinstance(a_axes, int) else list(a_axes)
        b_axes = [b_axes] if isinstance(b_axes, int) else list(b_axes)
        if len(a_axes) != len(b_axes):
            raise ValueError(f"tensordot: axes {axes!r} pair {len(a_axes)} dims of a with "
                             f"{len(b_axes)} of b")
        a_axes = [d + a.ndim if d < 0 else d for d in a_axes]
        b_axes = [d + b.ndim if d < 0 else d for d in b_axes]
    letters = iter(string.ascii_letters)
    a_sub = [next(letters) for _ in range(a.ndim)]
    b_sub = [next(letters) for _ in range(b.ndim)]
    a_shape, b_shape = a.tensor_type.shape, b.tensor_type.shape
    for da, db in zip(a_axes, b_axes):
        if a_shape[da] is not None and b_shape[db] is not None and a_shape[da] != b_shape[db]:
            raise ValueError(f"tensordot: dim {da} of a (shape {_text(a_shape)}) and dim {db} of "
                             f"b (shape {_text(b_shape)}) differ in size")
        b_sub[db] = a_sub[da]
    out = [c for k, c in enumerate(a_sub) if k not in a_axes] + \
          [c for k, c in enumerate(b_sub) if k not in b_axes]
    return _gn.einsum(f"{''.join(a_sub)},{''.join(b_sub)}->{''.join(out)}", a, b)


def batched_dot(a, b):
    """dot(a[i], b[i]) for each i of the first (batch) dim: (B, n) . (B, n) is (B,),
    (B, n, m) . (B, m) is (B, n), (B, n, m) . (B, m, p) is (B, n, p)."""
    a, b = _as_tensor(a), _as_tensor(b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"batched_dot: both tensors need a batch dim and at least one more, got "
                         f"shapes {_text(a.tensor_type.shape)} and {_text(b.tensor_type.shape)}")
    letters = iter(string.ascii_letters)
    batch = next(letters)
    a_sub = [batch] + [next(letters) for _ in range(a.ndim - 1)]
    b_sub = [batch] + [next(letters) for _ in range(b.ndim - 1)]
    b_sub[b.ndim - 2 if b.ndim > 2 else 1] = a_sub[-1]
    out = a_sub[:-1] + [c for c in b_sub[1:] if c != a_sub[-1]]
    return _gn.einsum(f"{''.join(a_sub)},{''.join(b_sub)}->{''.join(out)}", a, b)


def outer(x, y):
    """The outer product of x and y, each flattened to a vector first (as Theano's)."""
    x, y = _as_tensor(x), _as_tensor(y)
    return _gn.outer(_gn.reshape(x, (-1,)) if x.ndim != 1 else x,
                     _gn.reshape(y, (-1,)) if y.ndim != 1 else y)


# ----- making tensors -----------------------------------------------------------------------

def alloc(value, *shape):
    """``value`` (a scalar or a tensor that broadcasts) repeated to ``shape``; its gradient
    sums back to value's shape."""
    value = _as_tensor(value, _config().floatX if isinstance(value, float) else None)
    if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
        shape = tuple(shape[0])
    return _shape.broadcast_to(value, tuple(shape))


def _shape_arg(name, shape):
    if isinstance(shape, (int, Tensor)) and not isinstance(shape, bool):
        return (shape,)
    if not isinstance(shape, (list, tuple)):
        raise TypeError(f"{name}: shape must be a list or tuple of sizes, got {shape!r}")
    return tuple(shape)


def zeros(shape, dtype=None):
    """Zeros of ``shape`` (sizes may be symbolic) and ``dtype`` (default config.floatX)."""
    return _gn.zeros(_shape_arg("zeros", shape), dtype=dtype or _config().floatX)


def ones(shape, dtype=None):
    """Ones of ``shape`` (sizes may be symbolic) and ``dtype`` (default config.floatX)."""
    return _gn.ones(_shape_arg("ones", shape), dtype=dtype or _config().floatX)


def zeros_like(model, dtype=None, opt=False):
    """Zeros of model's shape, of ``dtype`` (default model's)."""
    result = _gn.zeros_like(_as_tensor(model))
    return result if dtype is None or result.dtype == dtype else result.astype(dtype)


def ones_like(model, dtype=None, opt=False):
    """Ones of model's shape, of ``dtype`` (default model's)."""
    result = _gn.ones_like(_as_tensor(model))
    return result if dtype is None or result.dtype == dtype else result.astype(dtype)


def constant(x, name=None, ndim=None, dtype=None):
    """A TensorConstant holding ``x``: Python ints are int64, floats config.floatX (unless
    ``dtype``), arrays keep their dtype. ``ndim`` checks the rank (adding leading 1-dims, as
    Theano drops or adds broadcastable dims)."""
    if isinstance(x, Tensor):
        x = x.numpy() if x._data is not None else None
        if x is None:
            raise TypeError("constant: needs a value, got a symbolic tensor")
    if dtype is None and isinstance(x, float):
        dtype = _config().floatX
    array = np.asarray(x, dtype=dtypes.as_dtype(dtype).np if dtype is not None else None)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"constant: cannot make a tensor of {x!r} (dtype {array.dtype})")
    if ndim is not None:
        if array.ndim > ndim:
            squeezed = array.reshape([d for d in array.shape if d != 1][-ndim:] if ndim else ())
            if squeezed.size != array.size or squeezed.ndim != ndim:
                raise ValueError(f"constant: {array.ndim}-d value of shape {array.shape} cannot "
                                 f"become {ndim}-d")
            array = squeezed
        array = array.reshape((1,) * (ndim - array.ndim) + array.shape)
    result = make_tensor(np.array(array), cls=Constant)
    result.name = name
    return as_variable(result)


def as_tensor_variable(x, name=None, ndim=None):
    """``x`` itself when it is a tensor (checked against ``ndim``), else a constant of it."""
    if isinstance(x, Tensor):
        if ndim is not None and x.ndim != ndim:
            raise ValueError(f"as_tensor_variable: {x.ndim}-d tensor of shape {_text(x.tensor_type.shape)} "
                             f"given where a {ndim}-d one is needed")
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(v, Tensor) for v in x):
        return _gn.stack([as_tensor_variable(v) for v in x])
    return constant(x, name=name, ndim=ndim)


def join(axis, *tensors):
    """Theano's join: the tensors concatenated along ``axis`` (``concatenate`` with the axis
    first)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    return _gn.concatenate([_as_tensor(t) for t in tensors], axis=axis)


class SpecifyShape(Op):
    """x, whose shape is declared ``shape`` (None: a dim left unknown): known to the graph from
    now on, checked when the function runs."""

    __slots__ = ("shape",)
    saves_inputs = False

    def __init__(self, shape):
        self.shape = shape

    @property
    def name(self):
        return "specify_shape"

    def forward(self, backend, x):
        if len(x.shape) != len(self.shape) or any(
                d is not None and d != s for d, s in zip(self.shape, x.shape)):
            raise ValueError(f"specify_shape: expected a value of shape {_text(self.shape)}, got "
                             f"one of shape {_text(x.shape)}")
        return x

    def vjp(self, out, grad, needs):
        return (grad,)

    def infer(self, x):
        if len(x.shape) != len(self.shape) or any(
                d is not None and s is not None and d != s for d, s in zip(x.shape, self.shape)):
            raise ValueError(f"specify_shape: shape {_text(self.shape)} does not fit a tensor of "
                             f"shape {_text(x.shape)}")
        return TensorType(x.dtype, tuple(s if s is not None else d
                                         for d, s in zip(x.shape, self.shape)))


def specify_shape(x, shape):
    """x with its shape declared (Theano's SpecifyShape; None leaves a dim unknown): later ops
    know it when the graph is built, and a value of another shape is refused when the function
    runs."""
    shape = tuple(None if d is None else int(d) for d in shape)
    return apply(SpecifyShape(shape), _as_tensor(x))


# ----- reductions with Theano's defaults ----------------------------------------------------

def prod(input, axis=None, dtype=None, keepdims=False, acc_dtype=None, no_zeros_in_input=False):
    result = _gn.prod(input, axis=axis, keepdims=keepdims)
    return result.astype(dtype) if dtype is not None else result


def var(input, axis=None, ddof=0, keepdims=False, corrected=False):
    """The variance, divided by n - ddof (Theano's default: the population variance, n)."""
    return _gn.var(input, axis=axis, ddof=ddof, keepdims=keepdims)


def std(input, axis=None, ddof=0, keepdims=False, corrected=False):
    """The standard deviation, sqrt(var) with n - ddof (Theano's default: n)."""
    return _gn.std(input, axis=axis, ddof=ddof, keepdims=keepdims)


# ----- R and L operators --------------------------------------------------------------------

def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """v^T J: the gradient of f with respect to ``wrt`` seeded by ``eval_points`` (one per
    output in ``f``). One tensor or a list, as ``wrt``."""
    single = not isinstance(wrt, (list, tuple))
    outputs = list(f) if isinstance(f, (list, tuple)) else [f]
    seeds = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    grads = _gn.grad(outputs, [wrt] if single else list(wrt), grad_outputs=seeds,
                     create_graph=True, allow_unused=disconnected_inputs != "raise")
    return grads[0] if single else list(grads)


def Rop(f, wrt, eval_points, disconnected_outputs="raise", return_disconnected="zero"):
    """J v: the directional derivative of f along ``eval_points`` (one per tensor in ``wrt``).
    Computed by the double-backward identity J v = d/du (u^T J) v, where u is any
    tensor of f's type whose value the result does not depend on (u^T J is linear in u)."""
    wrt_list = list(wrt) if isinstance(wrt, (list, tuple)) else [wrt]
    points = list(eval_points) if isinstance(eval_points, (list, tuple)) else [eval_points]
    if len(points) != len(wrt_list):
        raise ValueError(f"Rop: {len(wrt_list)} variables in wrt but {len(points)} eval_points")
    for w, v in zip(wrt_list, points):
        if w.ndim != v.ndim:
            raise ValueError(f"Rop: eval point of shape {_text(v.tensor_type.shape)} for a variable "
                             f"of shape {_text(w.tensor_type.shape)}: the number of dims must match")
    single = not isinstance(f, (list, tuple))
    results = []
    for output in ([f] if single else list(f)):
        # Any tensor of output's type serves as u; one computed from the graph's own inputs
        # keeps the result free of a placeholder that no function would be given.
        seed = output * 0
        grads = _gn.grad([output], wrt_list, grad_outputs=[seed], create_graph=True,
                         allow_unused=True)
        pairs = [(g, v) for g, v in zip(grads, points) if g is not None]
        if not pairs:
            raise ValueError("Rop: the output does not depend on any variable in wrt")
        directional = _gn.grad([g for g, _ in pairs], [seed], grad_outputs=[v for _, v in pairs],
                               create_graph=True, allow_unused=True)[0]
        results.append(directional if directional is not None else _gn.zeros_like(output))
    return results[0] if single else results


# ----- more of theano.tensor: logic, shapes, sorting, arithmetic ----------------------------

def _logical_or_bitwise(logical, bitwise):
    def combine(a, b):
        a, b = _as_tensor(a), _as_tensor(b)
        both_bool = a.dtype == "bool" and b.dtype == "bool"
        return logical(a, b) if both_bool else bitwise(a, b)
    return combine


and_ = _logical_or_bitwise(_gn.logical_and, _gn.bitwise_and)
and_.__name__, and_.__doc__ = "and_", "a & b: logical for bool tensors, bitwise for integers."
or_ = _logical_or_bitwise(_gn.logical_or, _gn.bitwise_or)
or_.__name__, or_.__doc__ = "or_", "a | b: logical for bool tensors, bitwise for integers."
xor = _logical_or_bitwise(_gn.logical_xor, _gn.bitwise_xor)
xor.__name__, xor.__doc__ = "xor", "a ^ b: logical for bool tensors, bitwise for integers."


def invert(a):
    """~a: logical not for a bool tensor, bitwise not for integers."""
    a = _as_tensor(a)
    return _gn.logical_not(a) if a.dtype == "bool" else _gn.bitwise_not(a)


def transpose(x, axes=None):
    """NumPy's transpose: the dims reversed, or permuted as ``axes`` lists them."""
    x = _as_tensor(x)
    return _shape.permute(x, tuple(axes) if axes is not None else tuple(range(x.ndim - 1, -1, -1)))


def shape_padleft(t, n_ones=1):
    """t with ``n_ones`` dims of size 1 put in front."""
    t = _as_tensor(t)
    for _ in range(n_ones):
        t = _shape.unsqueeze(t, 0)
    return t


def shape_padright(t, n_ones=1):
    """t with ``n_ones`` dims of size 1 put after its own."""
    t = _as_tensor(t)
    for _ in range(n_ones):
        t = _shape.unsqueeze(t, t.ndim)
    return t


def shape_padaxis(t, axis):
    """t with a dim of size 1 inserted at ``axis``."""
    return _shape.unsqueeze(_as_tensor(t), axis)


def addbroadcast(x, *axes):
    """x with the dims ``axes`` declared of size 1 (checked when the function runs)."""
    static = x.tensor_type.shape
    axes = {a % x.ndim for a in axes}
    return specify_shape(x, tuple(1 if k in axes else d for k, d in enumerate(static)))


def unbroadcast(x, *axes):
    """x itself: ganglion broadcasts a dim by its size alone, so there is no flag to clear."""
    return x


def patternbroadcast(x, broadcastable):
    """x with the dims marked True in ``broadcastable`` declared of size 1."""
    return addbroadcast(x, *[k for k, b in enumerate(broadcastable) if b])


def sort(a, axis=-1, kind="quicksort", order=None):
    """The values sorted along ``axis`` (the flattened tensor when None), as NumPy's sort."""
    a = _as_tensor(a)
    if axis is None:
        a, axis = _gn.reshape(a, (-1,)), 0
    return _gn.sort(a, dim=axis).values


def argsort(a, axis=-1, kind="quicksort", order=None):
    """The indices that sort ``a`` along ``axis`` (the flattened tensor when None)."""
    a = _as_tensor(a)
    if axis is None:
        a, axis = _gn.reshape(a, (-1,)), 0
    return _gn.argsort(a, dim=axis)


def cumsum(x, axis=None):
    """The running sum along ``axis`` (over the flattened tensor when None, as NumPy's)."""
    return _gn.cumsum(_as_tensor(x), axis=axis)


def log2(x):
    return _gn.log(x) * (1.0 / np.log(2.0))


def log10(x):
    return _gn.log(x) * (1.0 / np.log(10.0))


def inv(x):
    """1 / x."""
    return 1.0 / _as_tensor(x)


def neg(x):
    return -_as_tensor(x)


def true_div(x, y):
    """x / y, a float result whatever the dtypes."""
    return _gn.true_divide(_as_tensor(x), y)


def int_div(x, y):
    """x // y, rounded toward minus infinity (as Python's and NumPy's)."""
    return _gn.floor_divide(_as_tensor(x), y)


def mod(x, y):
    """x % y, with the sign of y (as Python's and NumPy's)."""
    return _gn.remainder(_as_tensor(x), y)


def eye(n, m=None, k=0, dtype=None):
    """The n x m matrix with ones on diagonal ``k``."""
    if k != 0:
        return constant(np.eye(n, m, k, dtype=dtypes.as_dtype(dtype or _config().floatX).np))
    return _gn.eye(n, m, dtype=dtype or _config().floatX)


def identity_like(x):
    """Ones on the diagonal of a matrix of x's shape (known when the graph is built)."""
    rows, cols = x.tensor_type.shape
    if rows is None or cols is None:
        raise ValueError(f"identity_like: needs x's shape, got {_text(x.tensor_type.shape)}")
    return eye(rows, cols, dtype=x.dtype)


def fill(model, value):
    """``value`` repeated to model's shape (Theano's fill)."""
    value = _as_tensor(value, model.dtype if isinstance(value, (int, float)) else None)
    return value + _gn.zeros_like(model).astype(value.dtype)


def horizontal_stack(*tensors):
    """The matrices side by side (joined along axis 1)."""
    return join(1, *tensors)


def vertical_stack(*tensors):
    """The matrices one above the other (joined along axis 0)."""
    return join(0, *tensors)


def squeeze(x):
    """x without its dims known to be of size 1 (Theano's broadcastable dims)."""
    ones = tuple(k for k, d in enumerate(x.tensor_type.shape) if d == 1)
    return _shape.squeeze(x, ones) if ones else x


def largest(*tensors):
    """The elementwise maximum of all the arguments."""
    result = _as_tensor(tensors[0])
    for t in tensors[1:]:
        result = _gn.maximum(result, _as_tensor(t))
    return result


def smallest(*tensors):
    """The elementwise minimum of all the arguments."""
    result = _as_tensor(tensors[0])
    for t in tensors[1:]:
        result = _gn.minimum(result, _as_tensor(t))
    return result


def shape(x):
    """x's shape as one int64 vector (symbolic for a symbolic x), as Theano's T.shape."""
    x = _as_tensor(x)
    dims = x.shape
    if hasattr(dims, "to_tensor"):
        return dims.to_tensor()
    return constant(list(dims), dtype="int64")


# ----- graphs with some variables held constant (grad's consider_constant) -----------------

def with_constants(outputs, constants):
    """``outputs`` (a list) rebuilt with each tensor in ``constants`` replaced by a copy that no
    gradient goes through (``detach``): what ``T.grad(..., consider_constant=)`` differentiates.
    Parts of the graph that do not depend on a constant are kept as they are. Returns the new
    outputs and {id(old tensor): new tensor} for every tensor rebuilt."""
    from ganglion.core.rebinds import correct_graph
    correct_graph(outputs)  # nodes made before an in-place change read the old value
    memo = {id(c): c.detach() for c in constants}
    for c in constants:
        memo[id(memo[id(c)])] = memo[id(c)]
    stack = list(outputs)
    while stack:
        t = stack[-1]
        if id(t) in memo:
            stack.pop()
            continue
        if t._op is None:
            memo[id(t)] = t
            stack.pop()
            continue
        pending = [i for i in t._inputs if id(i) not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        inputs = tuple(memo[id(i)] for i in t._inputs)
        if all(new is old for new, old in zip(inputs, t._inputs)):
            memo[id(t)] = t
        else:
            rebuilt = apply(t._op, *inputs)
            rebuilt.name = t.name
            memo[id(t)] = rebuilt
    return [memo[id(o)] for o in outputs], memo
