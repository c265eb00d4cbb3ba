"""Ordering, order statistics, scans and counting (issue 13): sort, argsort, topk, kthvalue,
median, cummax / cummin, cumprod, unique, bincount and histc.

Ops that select entries (sort, topk, kthvalue, median, cummax, cummin) compute the *indices*
with a non-differentiable op, and read the values with ``gather``: the gradient then flows
back to the selected entries through gather's vjp (a scatter-add), as in PyTorch, with no
rule of their own. Sorting is always stable (equal values keep their order; PyTorch's
``stable=False`` leaves that order unspecified, so a stable sort is a valid answer), and nan
counts as larger than every number, as in PyTorch.
"""
from collections import namedtuple

from ganglion.backend import current as backend
from ganglion.core import dtypes
from ganglion.core.dtypes import int64
from ganglion.core.errors import ArgumentError, ShapeError, UnsupportedDTypeError
from ganglion.core.op import Op, apply, format_shape, normalize_axes
from ganglion.core.ops.elementwise import cast
from ganglion.core.ops.indexing import Gather
from ganglion.core.ops.shape import flip, reshape, squeeze
from ganglion.core.tensor import Tensor, TensorType, make_tensor

__all__ = ["sort", "argsort", "topk", "kthvalue", "median", "cummax", "cummin", "cumprod",
           "unique", "bincount", "histc", "msort"]

SortResult = namedtuple("sort", ["values", "indices"])
TopKResult = namedtuple("topk", ["values", "indices"])
KthValueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])
CumMaxResult = namedtuple("cummax", ["values", "indices"])
CumMinResult = namedtuple("cummin", ["values", "indices"])


def _tensor(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor as input, got {type(x).__name__}")
    return x


def _axis(name, dim, ndim):
    return normalize_axes(name, dim, ndim)[0] if ndim else 0


def _argsort(xp, x, axis, descending):
    """Stable ascending or descending argsort along ``axis`` (nan last, or first descending)."""
    if not descending:
        return xp.argsort(x, axis=axis, kind="stable")
    # Descending and still stable: sort the reversed array ascending, reverse the order, and
    # map the positions back (equal values then keep their original order).
    n = x.shape[axis]
    order = xp.argsort(xp.flip(x, axis), axis=axis, kind="stable")
    return (n - 1) - xp.flip(order, axis)


class ArgSort(Op):
    """The indices that sort x along ``axis``; ``k`` keeps only the first k (topk)."""
    __slots__ = ("axis", "descending", "k")
    differentiable = False
    saves_inputs = False

    def __init__(self, axis, descending, k=None):
        self.axis = axis
        self.descending = descending
        self.k = k

    @property
    def name(self):
        return "sort" if self.k is None else "topk"

    def forward(self, backend, x):
        xp = backend.xp
        if x.ndim == 0:
            return xp.zeros((), xp.int64)
        order = _argsort(xp, x, self.axis, self.descending)
        if self.k is not None:
            order = order[(slice(None),) * self.axis + (slice(0, self.k),)]
        return xp.ascontiguousarray(order, dtype=xp.int64)

    def infer(self, x):
        shape = tuple(x.shape)
        if self.k is not None and shape:
            shape = shape[:self.axis] + (self.k,) + shape[self.axis + 1:]
        return TensorType(int64, shape)


def _take(x, axis, indices):
    """x's entries at ``indices`` along ``axis`` (differentiable in x through gather)."""
    if x.ndim == 0:
        return x
    return apply(Gather(axis), x, indices)


def sort(input, dim=-1, descending=False, stable=False):
    """Sorted values and the indices they came from, as a named tuple (values, indices)."""
    x = _tensor("sort", input)
    axis = _axis("sort", dim, x.ndim)
    indices = apply(ArgSort(axis, bool(descending)), x)
    return SortResult(_take(x, axis, indices), indices)


def msort(input):
    """sort along dim 0, values only."""
    return sort(input, 0).values


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (an int64 tensor)."""
    x = _tensor("argsort", input)
    return apply(ArgSort(_axis("argsort", dim, x.ndim), bool(descending)), x)


def _k(name, k, size, what="selected index k"):
    if isinstance(k, bool) or not hasattr(type(k), "__index__"):
        raise TypeError(f"{name}: k must be an integer, got {k!r} of type {type(k).__name__}")
    return int(k)


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest, ``largest=False``) entries along ``dim`` and their
    indices, largest first (a named tuple (values, indices)). The result is always sorted."""
    x = _tensor("topk", input)
    axis = _axis("topk", dim, x.ndim)
    size = x.shape[axis] if x.ndim else 1
    k = _k("topk", k, size)
    if k < 0 or type(size) is int and k > size:  # (an unknown symbolic size is checked by NumPy)
        raise ArgumentError(f"topk: selected index k out of range: k={k} for a dimension of size "
                            f"{size} (dim {axis} of a tensor of shape {format_shape(x.shape)}; k "
                            f"must be in [0, {size}])")
    indices = apply(ArgSort(axis, bool(largest), k), x)
    return TopKResult(_take(x, axis, indices), indices)


def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest entry (k counts from 1) along ``dim`` and its index."""
    x = _tensor("kthvalue", input)
    axis = _axis("kthvalue", dim, x.ndim)
    size = x.shape[axis] if x.ndim else 1
    k = _k("kthvalue", k, size)
    if k < 1 or type(size) is int and k > size:
        raise ArgumentError(f"kthvalue: selected number k out of range for dimension {axis}: "
                            f"k={k}, but the dimension has size {size} (k must be in [1, {size}])")
    return KthValueResult(*_select_rank(x, axis, k - 1, keepdim))


def _select_rank(x, axis, rank, keepdim):
    """The entry of rank ``rank`` (0 = smallest) along ``axis``, and its index."""
    if x.ndim == 0:
        return x, make_tensor(backend.xp.zeros((), backend.xp.int64))
    order = apply(ArgSort(axis, False, rank + 1), x)
    index = apply(_Narrow(axis, rank), order)
    values = _take(x, axis, index)
    if not keepdim:
        values, index = squeeze(values, axis), squeeze(index, axis)
    return values, index


class _Narrow(Op):
    """x[..., start:start + 1, ...] along ``axis``, on an index tensor (not differentiable)."""
    __slots__ = ("axis", "start")
    differentiable = False
    saves_inputs = False

    def __init__(self, axis, start):
        self.axis = axis
        self.start = start

    def forward(self, backend, x):
        return x[(slice(None),) * self.axis + (slice(self.start, self.start + 1),)]

    def infer(self, x):
        shape = tuple(x.shape)
        return TensorType(x.dtype, shape[:self.axis] + (1,) + shape[self.axis + 1:])


def median(input, dim=None, keepdim=False):
    """The lower median (of an even count, the smaller of the two middle entries), as in
    PyTorch. Without ``dim``: of all entries, a 0-d tensor; with ``dim``: a named tuple
    (values, indices). A nan anywhere in the reduced entries makes the median nan."""
    x = _tensor("median", input)
    if dim is None:
        if x.numel() == 0:
            from ganglion.core.ops.elementwise import constant
            if not x.dtype.is_floating_point:
                raise IndexError("median: cannot take the median of an empty integer tensor")
            return constant(float("nan"), x.dtype)
        return apply(MedianAll(), x)
    axis = _axis("median", dim, x.ndim)
    size = x.shape[axis] if x.ndim else 1
    if size == 0:
        raise IndexError(f"median: expected reduction dim {axis} to have non-zero size, got a "
                         f"tensor of shape {format_shape(x.shape)}")
    if _has_nan(x):
        # Rows with a nan take it as their median; the others, their lower median.
        nan_rows = backend.xp.isnan(x._data).any(axis=axis, keepdims=True)
        order = apply(ArgSort(axis, False), x)
        ranks = backend.xp.where(nan_rows, size - 1, (size - 1) // 2)
        index = make_tensor(backend.xp.take_along_axis(order._data, ranks, axis))
        values = _take(x, axis, index)
        if not keepdim:
            values, index = squeeze(values, axis), squeeze(index, axis)
        return MedianResult(values, index)
    return MedianResult(*_select_rank(x, axis, (size - 1) // 2, keepdim))


class MedianAll(Op):
    """The lower median of all entries (nan if there is one). As in PyTorch, the gradient is
    shared evenly among the entries equal to the median (or among the nans)."""
    __slots__ = ()
    saves_output = True

    def forward(self, backend, x):
        xp = backend.xp
        flat = x.reshape(-1)
        if x.dtype.kind == "f" and xp.isnan(flat).any():
            return xp.asarray(xp.nan, dtype=x.dtype)
        # The lower median is the entry of rank (n - 1) // 2: a partial sort finds it.
        rank = (flat.size - 1) // 2
        return xp.asarray(xp.partition(flat, rank)[rank], dtype=x.dtype)

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.elementwise import eq, where
        from ganglion.core.ops.pointwise import isnan
        x = out._inputs[0]
        hit = cast(where(isnan(out), isnan(x), eq(x, out)), grad.dtype)
        return (grad * hit / hit.sum(),)

    def infer(self, x):
        return TensorType(x.dtype, ())


def _has_nan(x):
    return (x._data is not None and x.dtype.is_floating_point
            and bool(backend.xp.isnan(x._data).any()))


# ----- scans -------------------------------------------------------------------------------

class CumExtremeIndex(Op):
    """The index of the running max (or min) along ``axis``: on ties the latest; once a nan is
    seen the running value stays nan, and its index is the latest nan's (PyTorch's rules)."""
    __slots__ = ("axis", "kind")
    differentiable = False
    saves_inputs = False

    def __init__(self, axis, kind):
        self.axis = axis
        self.kind = kind

    @property
    def name(self):
        return "cum" + self.kind

    def forward(self, backend, x):
        xp = backend.xp
        if x.ndim == 0:
            return xp.zeros((), xp.int64)
        accumulate = (xp.maximum if self.kind == "max" else xp.minimum).accumulate
        running = accumulate(x, axis=self.axis)
        hit = x == running
        if x.dtype.kind == "f":
            hit |= xp.isnan(x)
        shape = [1] * x.ndim
        shape[self.axis] = x.shape[self.axis]
        positions = xp.arange(x.shape[self.axis], dtype=xp.int64).reshape(shape)
        latest = xp.where(hit, positions, 0)
        return xp.maximum.accumulate(latest, axis=self.axis)

    def infer(self, x):
        return TensorType(int64, x.shape)


def _cum_extreme(kind, input, dim):
    x = _tensor("cum" + kind, input)
    axis = _axis("cum" + kind, dim, x.ndim)
    if x.dtype is dtypes.bool_:
        raise UnsupportedDTypeError(f"cum{kind}: not implemented for bool tensors")
    indices = apply(CumExtremeIndex(axis, kind), x)
    result = CumMaxResult if kind == "max" else CumMinResult
    return result(_take(x, axis, indices), indices)


def cummax(input, dim):
    """Running maximum along ``dim`` and the index where it was reached: (values, indices)."""
    return _cum_extreme("max", input, dim)


def cummin(input, dim):
    """Running minimum along ``dim`` and the index where it was reached: (values, indices)."""
    return _cum_extreme("min", input, dim)


class CumProd(Op):
    """Running product. Its gradient is exact with zeros too, as PyTorch's: where x is not 0 it
    is the reversed cumsum of grad * out divided by x; at a slice's first zero, the reversed
    cumsum of grad times the running product with that zero taken as 1; at later zeros, 0
    (every product there holds the first zero). Second derivatives are exact unless a slice
    holds more than one zero."""
    __slots__ = ("axis",)
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, backend, x):
        return x.cumprod(axis=self.axis)

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.elementwise import eq, where
        x = out._inputs[0]
        before_zeros = self._reverse_cumsum(grad * out)
        if x._data is not None and x._data.all():
            return (before_zeros / x,)
        is_zero = eq(x, 0)
        zeros_so_far = self._cumsum(cast(is_zero, int64))
        first_zero = eq(zeros_so_far, 1) & is_zero
        without_first = apply(CumProd(self.axis), where(first_zero, 1.0, x))
        at_first = self._reverse_cumsum(grad * without_first)
        # Where x is not 0 the quotient is exact (it is 0 after a zero, through out, and its
        # derivative is right too); at later zeros the gradient is 0.
        return (where(first_zero, at_first,
                      where(is_zero, 0.0, before_zeros / where(is_zero, 1.0, x))),)

    def _cumsum(self, t):
        from ganglion.core.ops.reduce import cumsum
        return cumsum(t, self.axis)

    def _reverse_cumsum(self, t):
        return flip(self._cumsum(flip(t, self.axis)), self.axis)

    def infer(self, x):
        return TensorType(int64 if x.dtype.category < 2 else x.dtype, x.shape)


def cumprod(input, dim, dtype=None):
    """Running product along ``dim``; integers and bools give int64, as in PyTorch."""
    x = _tensor("cumprod", input)
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.category < 2 and x.dtype is not int64:
        x = cast(x, int64)
    if x.ndim == 0:
        normalize_axes("cumprod", dim, 0)
        return reshape(apply(CumProd(0), reshape(x, 1)), ())
    return apply(CumProd(_axis("cumprod", dim, x.ndim)), x)


# ----- counting ----------------------------------------------------------------------------

def _eager(name, x):
    if x._data is None:
        raise ValueError(f"{name}: the result's size depends on the values, so the input must "
                         "hold values (it cannot be symbolic)")
    return x._data


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted, as PyTorch's CPU unique always is); with
    ``return_inverse``, each entry's position in them; with ``return_counts``, how often each
    occurs. Returns a tensor, or a tuple when either extra output is asked for."""
    x = _tensor("unique", input)
    data = _eager("unique", x)
    if dim is None:
        values, inverse, counts = backend.xp.unique(data, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(data.shape)
    else:
        axis = _axis("unique", dim, x.ndim)
        values, inverse, counts = backend.xp.unique(data, return_inverse=True, return_counts=True,
                                            axis=axis)
        inverse = inverse.reshape(-1)
    out = [make_tensor(backend.xp.ascontiguousarray(values))]
    if return_inverse:
        out.append(make_tensor(inverse.astype(backend.xp.int64)))
    if return_counts:
        out.append(make_tensor(counts.astype(backend.xp.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input, weights=None, minlength=0):
    """How often each value 0, 1, ... occurs in the 1-D non-negative integer ``input`` (or the
    sum of ``weights`` at each value); at least ``minlength`` bins. int64 without weights; with
    them, the weights' float dtype (float64 for integer weights, as in PyTorch)."""
    x = _tensor("bincount", input)
    if x.dtype.is_floating_point:
        raise UnsupportedDTypeError(f"bincount: not implemented for {x.dtype} tensors; expected "
                                    "a 1-d tensor of non-negative integers")
    if x.ndim != 1:
        raise ShapeError(f"bincount: only supports 1-d non-negative integral inputs, got a tensor "
                         f"of shape {format_shape(x.shape)}")
    if isinstance(minlength, bool) or not hasattr(type(minlength), "__index__") or minlength < 0:
        raise ArgumentError(f"bincount: minlength must be a non-negative integer, got "
                            f"{minlength!r}")
    data = _eager("bincount", x)
    if data.size and data.min() < 0:
        raise ArgumentError(f"bincount: only supports 1-d non-negative integral inputs, got the "
                            f"value {int(data.min())}")
    if weights is None:
        xp = backend.xp
        return make_tensor(xp.bincount(data, minlength=int(minlength)).astype(xp.int64))
    w = _tensor("bincount", weights)
    if tuple(w.shape) != tuple(x.shape):
        raise ShapeError(f"bincount: weights of shape {format_shape(w.shape)} must have the "
                         f"input's shape {format_shape(x.shape)}")
    dtype = w.dtype if w.dtype.is_floating_point else dtypes.float64
    counts = backend.xp.bincount(data, weights=_eager("bincount", w), minlength=int(minlength))
    return make_tensor(counts.astype(dtype.np))


def histc(input, bins=100, min=0, max=0):
    """A histogram of ``bins`` equal bins between ``min`` and ``max`` (both 0: the data's own
    range); entries outside are ignored. Floating-point input only, as in PyTorch."""
    x = _tensor("histc", input)
    if not x.dtype.is_floating_point:
        raise UnsupportedDTypeError(f"histc: not implemented for {x.dtype} tensors; expected a "
                                    "floating-point tensor")
    if isinstance(bins, bool) or not hasattr(type(bins), "__index__") or bins <= 0:
        raise ArgumentError(f"histc: bins must be a positive integer, got {bins!r}")
    if min > max:
        raise ArgumentError(f"histc: max must be larger than min, got min={min}, max={max}")
    data = _eager("histc", x).ravel()
    low, high = float(min), float(max)
    if low == high and data.size:
        low, high = float(data.min()), float(data.max())
    if not (backend.xp.isfinite(low) and backend.xp.isfinite(high)):
        raise ArgumentError(f"histc: range of [{low}, {high}] is not finite")
    if low == high:
        low, high = low - 1, high + 1  # PyTorch widens an empty range by 1 on each side
    counts, _ = backend.xp.histogram(data, bins=int(bins), range=(low, high))
    return make_tensor(counts.astype(x.dtype.np))
