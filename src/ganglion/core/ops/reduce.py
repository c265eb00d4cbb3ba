"""Reductions along axes: sum, mean, prod, max/min, argmax/argmin, var/std, logsumexp, all/any,
and the scan cumsum.

Every reduction accepts ``axis=`` or PyTorch's ``dim=``, and ``keepdims=`` or ``keepdim=``.
Gradients are broadcast back over the reduced axes through a keepdims-shaped view of the grad.
"""
import warnings
from collections import namedtuple

from ganglion.core import dtypes
from ganglion.core.dtypes import bool_, int64
from ganglion.core.op import Op, apply, format_shape, normalize_axes, refuse_non_tensor
from ganglion.core.ops.elementwise import cast, eq
from ganglion.core.ops.shape import expand_as, flip, reshape, reshape_or_symbolic
from ganglion.core.tensor import Tensor, TensorType

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
           "logsumexp", "all", "any", "cumsum"]

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _reduced_shape(shape, axes, keepdims):
    if axes is None:
        return (1,) * len(shape) if keepdims else ()
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _quietly(reduce, axes, keepdims, **options):
    """NumPy's mean or var of an empty tensor without its RuntimeWarnings ("Mean of empty
    slice", "invalid value encountered"): PyTorch gives the same nan (0 / 0) silently."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reduce(axis=axes, keepdims=keepdims, **options)


def _count(shape, axes):
    n = 1
    for i, d in enumerate(shape):
        if axes is None or i in axes:
            n = None if n is None or d is None else n * d
    return n


class Reduction(Op):
    __slots__ = ("axes", "keepdims")
    returns_new_array = True

    def __init__(self, axes, keepdims):
        self.axes = axes
        self.keepdims = keepdims

    def infer(self, x):
        normalize_axes(self.name, self.axes, len(x.shape))
        return TensorType(self._out_dtype(x.dtype), _reduced_shape(x.shape, self.axes, self.keepdims))

    def _out_dtype(self, dtype):
        return dtype

    def _grad_keepdims(self, grad, x):
        """``grad`` with the reduced axes put back as size-1 dims, to broadcast against ``x``."""
        if self.keepdims or self.axes is None and grad.ndim == len(x.shape):
            return grad
        shape = _reduced_shape(x.shape, self.axes, True)
        return reshape_or_symbolic(grad, shape)


class Sum(Reduction):
    __slots__ = ()
    saves_inputs = False

    def forward(self, backend, x):
        return backend.sum(x, self.axes, self.keepdims)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (expand_as(self._grad_keepdims(grad, x), x),)

    def _out_dtype(self, dtype):
        return int64 if dtype.category < 2 else dtype


class Mean(Reduction):
    __slots__ = ()
    saves_inputs = False

    def forward(self, backend, x):
        if x.size == 0:
            return _quietly(x.mean, self.axes, self.keepdims)
        return x.mean(axis=self.axes, keepdims=self.keepdims)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        n = _count(x.tensor_type.shape, self.axes)
        if n is None:  # a symbolic input with unknown dims: count the elements at run time
            from ganglion.core.ops.elementwise import constant
            count = apply(Sum(self.axes, True), expand_as(constant(1, grad.dtype), x))
            return (expand_as(self._grad_keepdims(grad, x), x) / count,)
        # An empty reduction's mean is nan (0 / 0), and so is its gradient, as in PyTorch.
        return (expand_as(self._grad_keepdims(grad, x) * (1.0 / n if n else float("nan")), x),)


class Prod(Reduction):
    __slots__ = ()
    saves_output = True

    def forward(self, backend, x):
        return x.prod(axis=self.axes, keepdims=self.keepdims)

    def vjp(self, out, grad, needs):
        # d prod / d x_i = prod / x_i; exact unless some x_i is zero (documented limitation).
        x = out._inputs[0]
        return (expand_as(self._grad_keepdims(grad * out, x), x) / x,)

    def _out_dtype(self, dtype):
        return int64 if dtype.category < 2 else dtype


def check_empty_reduction(name, shape, axes, whole_error):
    """A reduction without an identity (max, min, argmax, argmin) on an empty tensor of
    ``shape``: as in PyTorch, fine over dims that are not empty (the result is empty too), an
    IndexError over an empty dim, and ``whole_error`` (RuntimeError for max/min, IndexError for
    argmax/argmin, PyTorch's types) over the whole tensor."""
    if axes is None:
        raise whole_error(f"{name}: expected a reduction dim to be given for an empty tensor of "
                          f"shape {format_shape(shape)} (the {name} of no elements is undefined); "
                          "give dim= to reduce over a dim that is not empty")
    for axis in axes:
        if shape[axis] == 0:
            raise IndexError(f"{name}: expected reduction dim {axis} to have non-zero size, got "
                             f"a tensor of shape {format_shape(shape)} (the {name} of no "
                             "elements is undefined)")


class Extreme(Reduction):
    """max or min over axes (values only). The gradient is shared evenly among ties, as
    PyTorch's amax/amin do."""
    __slots__ = ("kind", "label")
    saves_output = True

    def __init__(self, axes, keepdims, kind, label=None):
        super().__init__(axes, keepdims)
        self.kind = kind
        self.label = label or kind  # the function the user called (amax computes a max)

    @property
    def name(self):
        return self.label

    def forward(self, backend, x):
        if x.size == 0:
            check_empty_reduction(self.label, x.shape, self.axes, RuntimeError)
        return getattr(x, self.kind)(axis=self.axes, keepdims=self.keepdims)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        hit = cast(eq(x, self._grad_keepdims(out, x)), grad.dtype)
        count = hit.sum(axis=self.axes, keepdims=True)
        return (expand_as(self._grad_keepdims(grad, x), x) * hit / count,)


class ArgExtreme(Reduction):
    __slots__ = ("kind",)
    differentiable = False

    def __init__(self, axes, keepdims, kind):
        super().__init__(axes, keepdims)
        self.kind = kind

    @property
    def name(self):
        return self.kind

    def forward(self, backend, x):
        if x.size == 0:
            check_empty_reduction(self.kind, x.shape, self.axes, IndexError)
        axis = None if self.axes is None else self.axes[0]
        result = getattr(x, self.kind)(axis=axis, keepdims=self.keepdims)
        return backend.xp.asarray(result, dtype=backend.xp.int64)

    def _out_dtype(self, dtype):
        return int64


class Var(Reduction):
    __slots__ = ("ddof",)

    def __init__(self, axes, keepdims, ddof):
        super().__init__(axes, keepdims)
        self.ddof = ddof

    def forward(self, backend, x):
        if x.size == 0:
            return _quietly(x.var, self.axes, self.keepdims, ddof=self.ddof)
        return x.var(axis=self.axes, keepdims=self.keepdims, ddof=self.ddof)

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        n = _count(x.tensor_type.shape, self.axes)
        centred = x - x.mean(axis=self.axes, keepdims=True)
        # No degrees of freedom left (n <= ddof): the variance is nan, and so is its gradient,
        # as in PyTorch, rather than a ZeroDivisionError in backward.
        if n is None:  # a symbolic input with unknown dims: count the elements at run time
            from ganglion.core.ops.elementwise import constant
            count = apply(Sum(self.axes, True), expand_as(constant(1, grad.dtype), x))
            return (self._grad_keepdims(grad, x) * centred * (2.0 / (count - self.ddof)),)
        dof = n - self.ddof
        scale = 2.0 / dof if dof > 0 else float("inf")
        return (self._grad_keepdims(grad, x) * centred * scale,)


class LogSumExp(Reduction):
    __slots__ = ()
    saves_output = True

    def forward(self, backend, x):
        xp = backend.xp
        if x.size == 0:
            # max has no identity; the sum of no exponentials is 0, whose log is -inf (PyTorch).
            with xp.errstate(divide="ignore"):
                total = xp.log(xp.exp(x).sum(axis=self.axes, keepdims=self.keepdims))
            return xp.asarray(total, dtype=x.dtype)
        peak = x.max(axis=self.axes, keepdims=True)
        # Rows that are all -inf would give inf - inf; shift them by 0 instead.
        peak = xp.where(xp.isfinite(peak), peak, 0)
        total = xp.log(xp.exp(x - peak).sum(axis=self.axes, keepdims=True)) + peak
        return total if self.keepdims else total.reshape(_reduced_shape(x.shape, self.axes, False))

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.unary import exp
        x = out._inputs[0]
        return (self._grad_keepdims(grad, x) * exp(x - self._grad_keepdims(out, x)),)


class Truth(Reduction):
    __slots__ = ("kind",)
    differentiable = False

    def __init__(self, axes, keepdims, kind):
        super().__init__(axes, keepdims)
        self.kind = kind

    @property
    def name(self):
        return self.kind

    def forward(self, backend, x):
        return getattr(x, self.kind)(axis=self.axes, keepdims=self.keepdims)

    def _out_dtype(self, dtype):
        return bool_


class CumSum(Op):
    __slots__ = ("axis",)
    saves_inputs = False

    def __init__(self, axis):
        self.axis = axis

    def forward(self, backend, x):
        return x.cumsum(axis=self.axis)

    def vjp(self, out, grad, needs):
        return (flip(cumsum(flip(grad, self.axis), self.axis), self.axis),)

    def infer(self, x):
        normalize_axes("cumsum", self.axis, len(x.shape))
        return TensorType(int64 if x.dtype.category < 2 else x.dtype, x.shape)


# ----- functions ----------------------------------------------------------------------------

def _args(name, x, axis, dim, keepdims, keepdim):
    if not isinstance(x, Tensor):  # before x.ndim and x.dtype are read (an array has them too)
        refuse_non_tensor(name, (x,))
    axis = dim if dim is not None else axis
    if axis is not None and x.ndim == 0:
        # PyTorch reduces a 0-d tensor over dim 0 or -1 as if it were 1-d: over its one element.
        normalize_axes(name, axis, 0)
        axis = None
    return normalize_axes(name, axis, x.ndim), bool(keepdims or keepdim)


def sum(x, axis=None, keepdims=False, dim=None, keepdim=False, dtype=None):
    """Sum of the elements over ``dim``/``axis`` (one or several; all when None),
    ``keepdim``/``keepdims`` keeps the reduced dims as size 1; ``dtype`` casts first (PyTorch's
    ``torch.sum``)."""
    axes, keep = _args("sum", x, axis, dim, keepdims, keepdim)
    if dtype is not None:
        x = cast(x, dtype)
    return apply(Sum(axes, keep), x)


def mean(x, axis=None, keepdims=False, dim=None, keepdim=False, dtype=None):
    """Mean of the elements over ``dim``/``axis`` (one or several; all when None),
    ``keepdim``/``keepdims`` keeps the reduced dims as size 1 (PyTorch's ``torch.mean``)."""
    axes, keep = _args("mean", x, axis, dim, keepdims, keepdim)
    if dtype is not None:
        x = cast(x, dtype)
    if not x.dtype.is_floating_point:
        raise TypeError(f"mean: expected a floating-point tensor, got {x.dtype}; convert with "
                        ".float() first")
    return apply(Mean(axes, keep), x)


def prod(x, axis=None, keepdims=False, dim=None, keepdim=False):
    """Product of the elements over ``dim``/``axis`` (one or several; all when None),
    ``keepdim``/``keepdims`` keeps the reduced dims as size 1 (PyTorch's ``torch.prod``)."""
    axes, keep = _args("prod", x, axis, dim, keepdims, keepdim)
    return apply(Prod(axes, keep), x)


def _extreme(kind, x, axis, keepdims, dim, keepdim):
    if dim is not None:
        # PyTorch style: with dim= the result is (values, indices).
        axes, keep = _args(kind, x, None, dim, keepdims, keepdim)
        values = apply(Extreme(axes, keep, kind), x)
        indices = apply(ArgExtreme(axes, keep, "arg" + kind), x)
        return MaxResult(values, indices)
    axes, keep = _args(kind, x, axis, None, keepdims, keepdim)
    return apply(Extreme(axes, keep, kind), x)


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Largest values. With ``axis=`` (NumPy style) or no axis: the values. With ``dim`` given,
    by keyword or position (PyTorch style: ``values, indices = x.max(1)``): a (values, indices)
    pair. With a tensor as the second argument: the elementwise maximum."""
    from ganglion.core.tensor import Tensor
    if isinstance(dim, Tensor):
        from ganglion.core.ops.elementwise import maximum
        return maximum(x, dim)
    return _extreme("max", x, axis, keepdims, dim, keepdim)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=False):
    """Smallest values; see ``max`` for the two calling styles."""
    from ganglion.core.tensor import Tensor
    if isinstance(dim, Tensor):
        from ganglion.core.ops.elementwise import minimum
        return minimum(x, dim)
    return _extreme("min", x, axis, keepdims, dim, keepdim)


def amax(x, axis=None, keepdims=False, dim=None, keepdim=False):
    """Maximum over ``dim``/``axis`` (one or several; all when None), ``keepdim``/``keepdims``
    keeps the reduced dims as size 1; ties share the gradient evenly (PyTorch's ``torch.amax``)."""
    axes, keep = _args("amax", x, axis, dim, keepdims, keepdim)
    return apply(Extreme(axes, keep, "max", "amax"), x)


def amin(x, axis=None, keepdims=False, dim=None, keepdim=False):
    """Minimum over ``dim``/``axis`` (one or several; all when None), ``keepdim``/``keepdims``
    keeps the reduced dims as size 1; ties share the gradient evenly (PyTorch's ``torch.amin``)."""
    axes, keep = _args("amin", x, axis, dim, keepdims, keepdim)
    return apply(Extreme(axes, keep, "min", "amin"), x)


def _arg(kind, x, axis, keepdims, dim, keepdim):
    axes, keep = _args(kind, x, axis, dim, keepdims, keepdim)
    if axes is not None and len(axes) != 1:
        raise ValueError(f"{kind}: expected one axis, got {axes}")
    return apply(ArgExtreme(axes, keep, kind), x)


def argmax(x, axis=None, keepdims=False, dim=None, keepdim=False):
    """Index of the maximum over ``dim``/``axis`` (of the flattened tensor when None), int64
    (PyTorch's ``torch.argmax``)."""
    return _arg("argmax", x, axis, keepdims, dim, keepdim)


def argmin(x, axis=None, keepdims=False, dim=None, keepdim=False):
    """Index of the minimum over ``dim``/``axis`` (of the flattened tensor when None), int64
    (PyTorch's ``torch.argmin``)."""
    return _arg("argmin", x, axis, keepdims, dim, keepdim)


def var(x, axis=None, ddof=None, keepdims=False, dim=None, keepdim=False, correction=None,
        unbiased=None):
    """Variance. PyTorch's default is the unbiased estimate (correction=1); NumPy's ddof=0.
    Give ``ddof`` or ``correction`` to choose; with neither, the PyTorch default applies."""
    axes, keep = _args("var", x, axis, dim, keepdims, keepdim)
    if ddof is None:
        ddof = correction
    if ddof is None:
        ddof = 1 if unbiased is None or unbiased else 0
    if not x.dtype.is_floating_point:
        x = cast(x, dtypes.get_default_dtype())
    return apply(Var(axes, keep, ddof), x)


def std(x, axis=None, ddof=None, keepdims=False, dim=None, keepdim=False, correction=None,
        unbiased=None):
    """Standard deviation over ``dim``/``axis`` (one or several; all when None),
    ``keepdim``/``keepdims`` keeps the reduced dims as size 1; ``correction`` (or NumPy's
    ``ddof``) defaults to 1, Bessel's (PyTorch's ``torch.std``)."""
    from ganglion.core.ops.unary import sqrt
    return sqrt(var(x, axis, ddof, keepdims, dim, keepdim, correction, unbiased))


def logsumexp(x, axis=None, keepdims=False, dim=None, keepdim=False):
    """``log(sum(exp(x)))`` over ``dim``/``axis`` (one or several; all when None),
    ``keepdim``/``keepdims`` keeps the reduced dims as size 1, computed without overflow
    (PyTorch's ``torch.logsumexp``)."""
    axes, keep = _args("logsumexp", x, axis, dim, keepdims, keepdim)
    return apply(LogSumExp(axes, keep), x)


def all(x, axis=None, keepdims=False, dim=None, keepdim=False):
    """True where every element is nonzero over ``dim``/``axis`` (one or several; all when
    None), ``keepdim``/``keepdims`` keeps the reduced dims as size 1 (PyTorch's ``torch.all``)."""
    axes, keep = _args("all", x, axis, dim, keepdims, keepdim)
    return apply(Truth(axes, keep, "all"), x)


def any(x, axis=None, keepdims=False, dim=None, keepdim=False):
    """True where some element is nonzero over ``dim``/``axis`` (one or several; all when None),
    ``keepdim``/``keepdims`` keeps the reduced dims as size 1 (PyTorch's ``torch.any``)."""
    axes, keep = _args("any", x, axis, dim, keepdims, keepdim)
    return apply(Truth(axes, keep, "any"), x)


def cumsum(x, axis=None, dim=None):
    """Cumulative sum along ``dim``/``axis`` (PyTorch's ``torch.cumsum``)."""
    axis = dim if dim is not None else axis
    if axis is None:
        from ganglion.core.ops.shape import flatten
        x, axis = flatten(x), 0
    if x.ndim == 0:
        # A 0-d tensor is scanned as a 1-d one of one element and keeps its shape (PyTorch).
        normalize_axes("cumsum", axis, 0)
        return reshape(apply(CumSum(0), reshape(x, 1)), ())
    axis = normalize_axes("cumsum", axis, x.ndim)[0]
    return apply(CumSum(axis), x)

