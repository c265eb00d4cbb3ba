"""Triangles and diagonals of matrices (issue 13): tril, triu, diagonal, diag, diag_embed and
trace, with PyTorch's arguments (``diagonal=`` for the triangles, ``offset``/``dim1``/``dim2``
for diagonals).

tril and triu work on the last two dims of a batch, and their vjp is the same triangle of the
gradient. ``diagonal`` reads a copy of a diagonal; its vjp writes the gradient back onto the
diagonal of zeros (``DiagonalScatter``), whose own vjp is ``diagonal`` again.
"""
from ganglion.core.dtypes import bool_, int64
from ganglion.core.errors import ShapeError, UnsupportedDTypeError
from ganglion.core.op import Op, apply, format_shape, normalize_axes
from ganglion.core.ops.elementwise import cast
from ganglion.core.tensor import Tensor, TensorType

__all__ = ["tril", "triu", "diagonal", "diag", "diag_embed", "trace"]


def _tensor(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor as input, got {type(x).__name__}")
    return x


def _offset(name, value, what="diagonal"):
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{name}: {what} must be an integer, got {value!r} of type "
                        f"{type(value).__name__}")
    return int(value)


class Triangle(Op):
    """The lower (tril) or upper (triu) triangle of the last two dims, the rest zeroed."""
    __slots__ = ("kind", "k")
    saves_inputs = False

    def __init__(self, kind, k):
        self.kind = kind
        self.k = k

    @property
    def name(self):
        return self.kind

    def forward(self, backend, x):
        return getattr(backend.xp, self.kind)(x, self.k)

    def vjp(self, out, grad, needs):
        return (apply(Triangle(self.kind, self.k), grad),)

    def infer(self, x):
        if len(x.shape) < 2:
            raise ShapeError(f"{self.kind}: input tensor must have at least 2 dimensions, got "
                             f"shape {format_shape(x.shape)}")
        return TensorType(x.dtype, x.shape)


def _check_matrix(name, x):
    # NumPy's tril would turn a 1-D input into a matrix; PyTorch refuses it.
    if x.ndim < 2:
        raise ShapeError(f"{name}: input tensor must have at least 2 dimensions, got shape "
                         f"{format_shape(x.shape)}")


def tril(input, diagonal=0):
    """The lower triangle (on and below the ``diagonal``-th diagonal) of the last two dims."""
    x = _tensor("tril", input)
    _check_matrix("tril", x)
    return apply(Triangle("tril", _offset("tril", diagonal)), x)


def triu(input, diagonal=0):
    """The upper triangle (on and above the ``diagonal``-th diagonal) of the last two dims."""
    x = _tensor("triu", input)
    _check_matrix("triu", x)
    return apply(Triangle("triu", _offset("triu", diagonal)), x)


def _diagonal_length(rows, cols, offset):
    if offset >= 0:
        return max(min(rows, cols - offset), 0)
    return max(min(rows + offset, cols), 0)


def _diagonal_shape(shape, offset, dim1, dim2):
    """The shape of diagonal(x): x's other dims, then the diagonal's length (NumPy's order)."""
    rest = tuple(d for i, d in enumerate(shape) if i not in (dim1, dim2))
    rows, cols = shape[dim1], shape[dim2]
    n = None if rows is None or cols is None else _diagonal_length(rows, cols, offset)
    return rest + (n,)


class Diagonal(Op):
    __slots__ = ("offset", "dim1", "dim2")
    saves_inputs = False

    def __init__(self, offset, dim1, dim2):
        self.offset = offset
        self.dim1 = dim1
        self.dim2 = dim2

    def forward(self, backend, x):
        return backend.xp.diagonal(x, self.offset, self.dim1, self.dim2).copy()

    def vjp(self, out, grad, needs):
        x = out._inputs[0]
        return (apply(DiagonalScatter(self.offset, self.dim1, self.dim2), grad, x),)

    def infer(self, x):
        return TensorType(x.dtype, _diagonal_shape(x.shape, self.offset, self.dim1, self.dim2))


class DiagonalScatter(Op):
    """zeros_like(like) with ``values`` written on the diagonal that ``Diagonal`` reads."""
    __slots__ = ("offset", "dim1", "dim2")
    saves_inputs = False

    def __init__(self, offset, dim1, dim2):
        self.offset = offset
        self.dim1 = dim1
        self.dim2 = dim2

    def forward(self, backend, values, like):
        xp = backend.xp
        out = xp.zeros(like.shape, values.dtype)
        n = values.shape[-1]
        rows = xp.arange(n) + (-self.offset if self.offset < 0 else 0)
        cols = xp.arange(n) + (self.offset if self.offset > 0 else 0)
        # With the two diagonal dims moved last, out[..., rows, cols] is the diagonal.
        view = xp.moveaxis(out, (self.dim1, self.dim2), (-2, -1))
        view[..., rows, cols] = values
        return out

    def vjp(self, out, grad, needs):
        return (apply(Diagonal(self.offset, self.dim1, self.dim2), grad), None)

    def infer(self, values, like):
        return TensorType(values.dtype, like.shape)


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The ``offset``-th diagonal of the matrices in dims ``dim1`` and ``dim2``, as the last
    dim of the result (a copy, not a view as in PyTorch)."""
    x = _tensor("diagonal", input)
    offset = _offset("diagonal", offset, "offset")
    if x.ndim < 2:
        raise ShapeError(f"diagonal: expected a tensor of at least 2 dimensions, got shape "
                         f"{format_shape(x.shape)}")
    a = normalize_axes("diagonal", dim1, x.ndim)[0]
    b = normalize_axes("diagonal", dim2, x.ndim)[0]
    if a == b:
        raise ShapeError(f"diagonal: dim1 and dim2 cannot be the same dimension, got dim1={dim1}, "
                         f"dim2={dim2}")
    return apply(Diagonal(offset, a, b), x)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Matrices with the last dim of ``input`` on their ``offset``-th diagonal (in dims
    ``dim1`` and ``dim2`` of the result)."""
    from ganglion.core.creation import zeros
    x = _tensor("diag_embed", input)
    offset = _offset("diag_embed", offset, "offset")
    ndim = x.ndim + 1
    a, b = normalize_axes("diag_embed", dim1, ndim)[0], normalize_axes("diag_embed", dim2, ndim)[0]
    if a == b:
        raise ShapeError(f"diag_embed: dim1 and dim2 cannot be the same dimension, got "
                         f"dim1={dim1}, dim2={dim2}")
    if x.ndim == 0:
        raise ShapeError("diag_embed: expected a tensor of at least 1 dimension, got a 0-d tensor")
    n = x.shape[-1] + abs(offset)
    batch = iter(x.shape[:-1])
    shape = tuple(n if i in (a, b) else next(batch) for i in range(ndim))
    like = zeros(shape, dtype=x.dtype)
    return apply(DiagonalScatter(offset, a, b), x, like)


def diag(input, diagonal=0):
    """A 1-D input becomes a square matrix with it on the ``diagonal``-th diagonal; a 2-D
    input gives that diagonal (1-D)."""
    x = _tensor("diag", input)
    k = _offset("diag", diagonal)
    if x.ndim == 1:
        return diag_embed(x, k, 0, 1)
    if x.ndim == 2:
        return apply(Diagonal(k, 0, 1), x)
    raise ShapeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D (shape "
                     f"{format_shape(x.shape)})")


def trace(input):
    """The sum of the main diagonal of a matrix; integers sum as int64, as in PyTorch."""
    x = _tensor("trace", input)
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a matrix, but got tensor with dim {x.ndim} (shape "
                         f"{format_shape(x.shape)})")
    if x.dtype is bool_:
        raise UnsupportedDTypeError("trace: not implemented for bool tensors (as in PyTorch); "
                                    "cast to an integer dtype first")
    d = apply(Diagonal(0, 0, 1), x)
    if x.dtype.category < 2:
        d = cast(d, int64)
    return d.sum()
