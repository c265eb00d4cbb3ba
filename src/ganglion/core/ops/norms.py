"""Norms and the NumPy-backed matrix functions of ``ganglion.linalg`` (issue 13):
vector_norm, matrix_norm, norm (torch.linalg.norm and torch.norm), cdist, svd, svdvals, eigh,
eigvalsh, qr, inv, det, slogdet, solve and cholesky.

Vector p-norms are one op whose vjp is written in Tensor ops. At a zero vector the gradient is
0 (PyTorch's choice of subgradient), not the nan that sqrt(sum(x**2)) would give. The matrix
functions compute with NumPy's LAPACK routines and have PyTorch's vjps (inv: -A^-T g A^-T,
det: g det A^-T, solve: through A^-T, cholesky, svd, eigh and qr: PyTorch's formulas), written
with Tensor ops, so higher derivatives follow from the same rules.
"""
import math
from collections import namedtuple

from ganglion.core.errors import ArgumentError, DTypeError, ShapeError
from ganglion.core.op import Op, apply, format_shape, normalize_axes
from ganglion.core.ops import elementwise as ew
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.reduce import _reduced_shape, amax, amin, sum as reduce_sum
from ganglion.core.ops.shape import permute, reshape, squeeze, transpose, unsqueeze
from ganglion.core.tensor import Tensor, TensorType

# ``norm`` here is torch.linalg.norm (ganglion.linalg.norm); ganglion.norm is ``tensor_norm``.
__all__ = ["vector_norm", "matrix_norm", "tensor_norm", "cdist", "svdvals"]

SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])
SVDResult = namedtuple("svd", ["U", "S", "Vh"])
EighResult = namedtuple("eigh", ["eigenvalues", "eigenvectors"])
QRResult = namedtuple("qr", ["Q", "R"])


def _float_tensor(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor as input, got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise DTypeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                         f"{x.dtype}")
    return x


# ----- vector norms ----------------------------------------------------------------------------

class VectorNorm(Op):
    """(sum |x|**p)**(1/p) over ``axes`` (all when None), for a finite p > 0."""
    __slots__ = ("p", "axes", "keepdims")
    saves_output = True

    def __init__(self, p, axes, keepdims):
        self.p = p
        self.axes = axes
        self.keepdims = keepdims

    @property
    def name(self):
        return "vector_norm"

    def forward(self, backend, x):
        xp = backend.xp
        if self.p == 2:
            return xp.sqrt((x * x).sum(axis=self.axes, keepdims=self.keepdims))
        if self.p == 1:
            return xp.abs(x).sum(axis=self.axes, keepdims=self.keepdims)
        total = (xp.abs(x) ** self.p).sum(axis=self.axes, keepdims=self.keepdims)
        return total ** (1 / self.p)

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.unary import abs as absolute, sign
        x = out._inputs[0]
        shape = _reduced_shape(x.shape, self.axes, True)
        if not self.keepdims:
            grad, out = reshape(grad, shape), reshape(out, shape)
        if self.p == 1:
            return (grad * sign(x),)
        # d||x||_p / dx = sign(x) |x|**(p-1) / ||x||**(p-1); at a zero norm PyTorch gives 0.
        zero = ew.eq(out, 0)
        safe = ew.where(zero, 1.0, out)
        if self.p == 2:
            scaled = x / safe
        elif self.p > 1:
            scaled = sign(x) * absolute(x) ** (self.p - 1) / safe ** (self.p - 1)
        else:
            # |x|**(p-1) is inf at a zero entry for p < 1; PyTorch's gradient there is 0.
            zero_entry = ew.eq(x, 0)
            base = ew.where(zero_entry, 1.0, absolute(x))
            scaled = ew.where(zero_entry, 0.0, sign(x) * base ** (self.p - 1) / safe ** (self.p - 1))
        return (ew.where(zero, 0.0, grad) * scaled,)

    def infer(self, x):
        return TensorType(x.dtype, _reduced_shape(x.shape, self.axes, self.keepdims))


def _ord(name, ord):
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise TypeError(f"{name}: ord must be a number, got {ord!r} of type {type(ord).__name__}")
    return float(ord)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The ``ord``-norm of ``x`` seen as a vector over ``dim`` (an int, a tuple, or None for
    every entry): (sum |x|**ord)**(1/ord); inf / -inf give max / min |x|, 0 the count of
    non-zero entries."""
    if dtype is not None:
        x = ew.cast(_float_tensor("linalg.vector_norm", x), dtype)
    x = _float_tensor("linalg.vector_norm", x)
    ord = _ord("linalg.vector_norm", ord)
    axes = normalize_axes("linalg.vector_norm", dim, x.ndim) if x.ndim else None
    keep = bool(keepdim)
    if x.ndim == 0 and keep and dim is None:
        keep = False
    if math.isinf(ord):
        from ganglion.core.ops.unary import abs as absolute
        if x.numel() == 0 and ord < 0:
            raise ArgumentError("linalg.vector_norm: cannot compute the -inf norm of an empty "
                                "tensor because the operation does not have an identity")
        if x.numel() == 0:
            return ew.cast(reduce_sum(ew.ne(x, 0), axes, keep), x.dtype)
        return (amax if ord > 0 else amin)(absolute(x), axes, keep)
    if ord == 0:
        return ew.cast(reduce_sum(ew.ne(x, 0), axes, keep), x.dtype)
    if ord < 0:
        from ganglion.core.ops.unary import abs as absolute
        return reduce_sum(absolute(x) ** ord, axes, keep) ** (1 / ord)
    return apply(VectorNorm(ord, axes, keep), x)


# ----- singular values -------------------------------------------------------------------------

class SVD(Op):
    """One factor of the SVD of the last two dims: ``part`` 0 is U, 1 the singular values S
    (descending), 2 is Vh (A = U diag(S) Vh). Each part's vjp is its share of PyTorch's
    svd_backward (the formula is linear in the three incoming gradients, so the shares add
    up to it); the other factors it reads are SVD ops again, so higher derivatives follow."""
    __slots__ = ("part", "full_matrices")

    def __init__(self, part, full_matrices=False):
        self.part = part
        self.full_matrices = full_matrices

    @property
    def name(self):
        return "svd" if self.part != 1 else "svdvals"

    def forward(self, backend, a):
        xp = backend.xp
        if self.part == 1:
            return xp.linalg.svd(a, compute_uv=False)
        u, s, vh = xp.linalg.svd(a, full_matrices=self.full_matrices)
        return u if self.part == 0 else vh

    def vjp(self, out, grad, needs):
        a = out._inputs[0]
        m, n = a.shape[-2], a.shape[-1]
        if self.full_matrices and m != n:
            raise RuntimeError("linalg.svd: the derivative of full_matrices=True is not defined "
                               "for a non-square matrix (as in PyTorch); use full_matrices=False")
        u, s, vh = (apply(SVD(p), a) for p in (0, 1, 2))
        v = _mT(vh)
        if self.part == 1:
            return (matmul(u * unsqueeze(grad, -2), vh),)
        k = s.shape[-1]
        s2 = s * s
        # E_jk = s_k**2 - s_j**2 off the diagonal, 1 on it (the skew parts are 0 there).
        gap = unsqueeze(s2, -2) - unsqueeze(s2, -1)
        from ganglion.core.creation import eye
        gap = gap + eye(k, dtype=gap.dtype)
        if self.part == 0:
            skew = matmul(_mT(u), grad)
            skew = skew - _mT(skew)
            inner = matmul(u, (skew / gap) * unsqueeze(s, -2))
            if m > k:
                g_over_s = grad / unsqueeze(s, -2)
                inner = inner + g_over_s - matmul(u, matmul(_mT(u), g_over_s))
            return (matmul(inner, vh),)
        g_v = _mT(grad)
        skew = matmul(_mT(v), g_v)
        skew = skew - _mT(skew)
        inner = matmul(unsqueeze(s, -1) * (skew / gap), vh)
        if n > k:
            s_inv_gvh = grad / unsqueeze(s, -1)
            inner = inner + s_inv_gvh - matmul(matmul(s_inv_gvh, v), vh)
        return (matmul(u, inner),)

    def infer(self, a):
        *batch, m, n = a.shape
        k = None if m is None or n is None else min(m, n)
        if self.part == 1:
            return TensorType(a.dtype, tuple(batch) + (k,))
        if self.part == 0:
            return TensorType(a.dtype, tuple(batch) + (m, m if self.full_matrices else k))
        return TensorType(a.dtype, tuple(batch) + (n if self.full_matrices else k, n))


def svd(A, full_matrices=True):
    """(U, S, Vh) with A = U diag(S) Vh, as a named tuple; S descending. The signs of the
    singular vectors are LAPACK's (as PyTorch's on the CPU), so only sign-invariant functions
    of them have well-defined gradients."""
    A = _float_tensor("linalg.svd", A)
    if A.ndim < 2:
        raise ShapeError(f"linalg.svd: the input tensor A must have at least 2 dimensions, got "
                         f"shape {format_shape(A.shape)}")
    full = bool(full_matrices)
    return SVDResult(apply(SVD(0, full), A), apply(SVD(1), A), apply(SVD(2, full), A))


def _matrix_last(name, x, dim):
    """x with the two matrix dims ``dim`` moved last, and those two dims (normalized)."""
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise ShapeError(f"{name}: dim must be a 2-tuple of ints, got {dim!r}")
    if x.ndim < 2:
        raise ShapeError(f"{name}: the input tensor must be a matrix or a batch of matrices, got "
                         f"shape {format_shape(x.shape)}")
    a = normalize_axes(name, dim[0], x.ndim)[0]
    b = normalize_axes(name, dim[1], x.ndim)[0]
    if a == b:
        raise ShapeError(f"{name}: dims must be different, got dim={tuple(dim)}")
    rest = [i for i in range(x.ndim) if i not in (a, b)]
    return permute(x, tuple(rest) + (a, b)), a, b


def svdvals(A):
    """The singular values of the matrices in the last two dims, in descending order."""
    A = _float_tensor("linalg.svdvals", A)
    if A.ndim < 2:
        raise ShapeError(f"linalg.svdvals: the input tensor A must have at least 2 dimensions, "
                         f"got shape {format_shape(A.shape)}")
    return apply(SVD(1), A)


_MATRIX_ORDS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The ``ord`` norm of the matrices in dims ``dim``: 'fro' (Frobenius), 'nuc' (sum of
    singular values), 1 / -1 (max / min column sum of |A|), inf / -inf (max / min row sum),
    2 / -2 (largest / smallest singular value)."""
    name = "linalg.matrix_norm"
    if dtype is not None:
        A = ew.cast(_float_tensor(name, A), dtype)
    A = _float_tensor(name, A)
    if isinstance(ord, bool) or ord not in _MATRIX_ORDS:
        raise ArgumentError(f"{name}: Order {ord!r} not supported (expected 'fro', 'nuc', 1, -1, "
                            "2, -2, inf or -inf)")
    moved, a, b = _matrix_last(name, A, tuple(dim) if isinstance(dim, list) else dim)
    if ord == "fro":
        result = vector_norm(moved, 2, (-2, -1))
    elif ord in ("nuc", 2, -2):
        values = svdvals(moved)
        result = reduce_sum(values, -1) if ord == "nuc" else (amax if ord == 2 else amin)(values, -1)
    else:
        from ganglion.core.ops.unary import abs as absolute
        # Column sums (ord 1) reduce over the rows first; row sums (inf) over the columns.
        summed = reduce_sum(absolute(moved), -2 if abs(ord) == 1 else -1)
        result = (amax if ord > 0 else amin)(summed, -1)
    if keepdim:
        for axis in sorted((a, b)):
            result = unsqueeze(result, axis)
    return result


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm when ``dim`` is an int (or ord is None and dim is
    None: the 2-norm of every entry), a matrix norm when ``dim`` is a 2-tuple or the input is
    a matrix and ``ord`` is given."""
    name = "linalg.norm"
    if isinstance(dim, int) or (isinstance(dim, (tuple, list)) and len(dim) == 1):
        if isinstance(ord, str):
            raise ArgumentError(f"{name}: ord={ord!r} is a matrix norm, but dim={dim!r} names one "
                                "dimension")
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is not None:
        return matrix_norm(A, "fro" if ord is None else ord, tuple(dim), keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    ndim = A.ndim if isinstance(A, Tensor) else 0
    if ndim == 1:
        if isinstance(ord, str):
            raise ArgumentError(f"{name}: ord={ord!r} is a matrix norm, but the input is 1-D")
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise ShapeError(f"{name}: If dim is not specified but ord is, the input must be 1D or 2D. "
                     f"Got {ndim}D (shape {format_shape(A.shape) if ndim else '()'})")


def tensor_norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """torch.norm / Tensor.norm: p='fro' (or None) is the 2-norm over ``dim`` (every entry
    when None), 'nuc' the nuclear norm of a matrix, a number the vector p-norm over ``dim``
    (an int or a tuple of dims)."""
    if isinstance(dim, int):
        dim = (dim,)
    if p is None or p == "fro":
        if dim is not None and len(dim) > 2:
            raise ArgumentError(f"norm: p='fro' takes at most 2 dims, got dim={dim!r}")
        return vector_norm(input, 2, dim, keepdim, dtype=dtype)
    if p == "nuc":
        return matrix_norm(input, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim,
                           dtype=dtype)
    if isinstance(p, str):
        raise ArgumentError(f"norm: p must be 'fro', 'nuc' or a number, got {p!r}")
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """The p-norm distance between each row of ``x1`` (..., P, M) and each row of ``x2``
    (..., R, M): a (..., P, R) tensor."""
    for what, t in (("x1", x1), ("x2", x2)):
        _float_tensor("cdist", t)
        if t.ndim < 2:
            raise ShapeError(f"cdist: only supports at least 2D tensors, {what} got: {t.ndim}D "
                             f"(shape {format_shape(t.shape)})")
    if x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(f"cdist: X1 and X2 must have the same number of columns. X1: "
                         f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if _ord("cdist", p) < 0:
        raise ArgumentError(f"cdist: only supports non-negative p values, got {p}")
    difference = unsqueeze(x1, -2) - unsqueeze(x2, -3)
    return vector_norm(difference, p, -1)


# ----- matrix functions ------------------------------------------------------------------------

def _square(name, A):
    A = _float_tensor(name, A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"{name}: A must be batches of square matrices, but they are "
                         f"{' by '.join(str(d) for d in A.shape[-2:]) if A.ndim >= 2 else 'not matrices'}"
                         f" matrices (shape {format_shape(A.shape)})")
    return A


def _mT(x):
    return transpose(x, -2, -1)


class _LinalgOp(Op):
    """A NumPy linalg call on the last two dims; a singular matrix raises PyTorch's error."""
    __slots__ = ()

    def forward(self, backend, *arrays):
        try:
            return self.compute(backend.xp, *arrays)
        except backend.xp.linalg.LinAlgError as error:
            raise ArgumentError(f"linalg.{self.name}: {error} (the input is singular or not "
                                "positive-definite)") from None


class Inv(_LinalgOp):
    __slots__ = ()
    saves_inputs = False
    saves_output = True

    @property
    def name(self):
        return "inv"

    def compute(self, xp, a):
        return xp.linalg.inv(a)

    def vjp(self, out, grad, needs):
        inverse_t = _mT(out)
        return (-matmul(matmul(inverse_t, grad), inverse_t),)

    def infer(self, a):
        return TensorType(a.dtype, a.shape)


def inv(A):
    """The inverse of each square matrix in the last two dims."""
    return apply(Inv(), _square("linalg.inv", A))


class Det(_LinalgOp):
    __slots__ = ()
    saves_output = True

    @property
    def name(self):
        return "det"

    def compute(self, xp, a):
        return xp.linalg.det(a)

    def vjp(self, out, grad, needs):
        a = out._inputs[0]
        return (unsqueeze(unsqueeze(grad * out, -1), -1) * _mT(inv(a)),)

    def infer(self, a):
        return TensorType(a.dtype, tuple(a.shape[:-2]))


def det(A):
    """The determinant of each square matrix (its gradient needs an invertible matrix)."""
    return apply(Det(), _square("linalg.det", A))


class Solve(_LinalgOp):
    """X with A X = B (B a batch of matrices of A's size)."""
    __slots__ = ()
    saves_output = True

    @property
    def name(self):
        return "solve"

    def compute(self, xp, a, b):
        return xp.linalg.solve(a, b)

    def vjp(self, out, grad, needs):
        a, b = out._inputs
        gb = solve(_mT(a), grad)
        ga = -matmul(gb, _mT(out)) if needs[0] else None
        return ga, gb if needs[1] else None

    def infer(self, a, b):
        return TensorType(a.dtype, tuple(b.shape))


def solve(A, B, *, left=True):
    """The solution X of A X = B (B a vector or a matrix; batches broadcast)."""
    A = _square("linalg.solve", A)
    B = _float_tensor("linalg.solve", B)
    if not left:
        raise NotImplementedError("linalg.solve: left=False is not implemented; solve the "
                                  "transposed system instead")
    if A.dtype is not B.dtype:
        raise DTypeError(f"linalg.solve: expected A and B to have the same dtype, got {A.dtype} "
                         f"and {B.dtype}")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    b = unsqueeze(B, -1) if vector else B
    if b.shape[-2] != A.shape[-1]:
        raise ShapeError(f"linalg.solve: incompatible shapes of A and B for the equation AX = B "
                         f"({format_shape(A.shape)} and {format_shape(B.shape)})")
    x = apply(Solve(), A, b)
    return squeeze(x, -1) if vector else x


def slogdet(A):
    """(sign, log|det|) of each square matrix, as a named tuple."""
    from ganglion.core.ops.unary import abs as absolute, log, sign
    d = det(A)
    return SlogdetResult(sign(d).detach(), log(absolute(d)))


class Cholesky(_LinalgOp):
    __slots__ = ()
    saves_inputs = False
    saves_output = True

    @property
    def name(self):
        return "cholesky"

    def compute(self, xp, a):
        return xp.linalg.cholesky(a)

    def vjp(self, out, grad, needs):
        # PyTorch's formula: phi(L^T gL) sandwiched by L^-T ... L^-1, symmetrized.
        from ganglion.core.ops.triangular import tril
        el = out
        el_inv = inv(el)
        phi = tril(matmul(_mT(el), grad))
        phi = phi - 0.5 * _diag_part(phi)
        s = matmul(matmul(_mT(el_inv), phi), el_inv)
        return (0.5 * (s + _mT(s)),)

    def infer(self, a):
        return TensorType(a.dtype, a.shape)


def _diag_part(x):
    """x with everything but the main diagonal of its last two dims zeroed."""
    from ganglion.core.ops.triangular import tril, triu
    return triu(tril(x))


def cholesky(A, *, upper=False):
    """The lower Cholesky factor L (A = L L^T) of each symmetric positive-definite matrix;
    ``upper=True`` gives L^T."""
    el = apply(Cholesky(), _square("linalg.cholesky", A))
    return _mT(el) if upper else el


class Eigh(_LinalgOp):
    """Eigenvalues (part 0, ascending) or eigenvectors (part 1) of symmetric matrices, from
    the lower (UPLO='L') or upper triangle. The vjps are PyTorch's: V diag(gL) V^T for the
    values, V (skew(V^T gV) / 2 / (L_j - L_i)) V^T for the vectors."""
    __slots__ = ("part", "uplo")

    def __init__(self, part, uplo):
        self.part = part
        self.uplo = uplo

    @property
    def name(self):
        return "eigh" if self.part else "eigvalsh"

    def compute(self, xp, a):
        values, vectors = xp.linalg.eigh(a, UPLO=self.uplo)
        return vectors if self.part else values

    def vjp(self, out, grad, needs):
        a = out._inputs[0]
        values, vectors = apply(Eigh(0, self.uplo), a), apply(Eigh(1, self.uplo), a)
        if self.part == 0:
            return (matmul(vectors * unsqueeze(grad, -2), _mT(vectors)),)
        from ganglion.core.creation import eye
        n = values.shape[-1]
        gap = unsqueeze(values, -2) - unsqueeze(values, -1) + eye(n, dtype=values.dtype)
        projected = matmul(_mT(vectors), grad)
        projected = (projected - _mT(projected)) * 0.5
        return (matmul(matmul(vectors, projected / gap), _mT(vectors)),)

    def infer(self, a):
        return TensorType(a.dtype, tuple(a.shape) if self.part else tuple(a.shape[:-1]))


def eigh(A, UPLO="L"):
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix, as a named
    tuple; only the ``UPLO`` triangle ('L' or 'U') is read."""
    A = _square("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"linalg.eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return EighResult(apply(Eigh(0, UPLO), A), apply(Eigh(1, UPLO), A))


def eigvalsh(A, UPLO="L"):
    """The eigenvalues (ascending) of each symmetric matrix."""
    A = _square("linalg.eigvalsh", A)
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"linalg.eigvalsh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return apply(Eigh(0, UPLO), A)


class QR(_LinalgOp):
    """Q (part 0) or R (part 1) of A = QR, NumPy's mode. The vjp is PyTorch's for a tall or
    square A in reduced mode: gA = (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q, where
    copyltu(M) is the symmetric matrix with M's lower triangle; each part gives its share (the
    formula is linear in gQ and gR)."""
    __slots__ = ("part", "mode")

    def __init__(self, part, mode):
        self.part = part
        self.mode = mode

    @property
    def name(self):
        return "qr"

    def compute(self, xp, a):
        if self.mode == "r":
            return xp.linalg.qr(a, mode="r") if self.part else xp.zeros(a.shape[:-2] + (0,), a.dtype)
        q, r = xp.linalg.qr(a, mode=self.mode)
        return r if self.part else q

    def vjp(self, out, grad, needs):
        from ganglion.core.ops.triangular import tril
        a = out._inputs[0]
        m, n = a.shape[-2], a.shape[-1]
        if self.mode == "r" or (self.mode == "complete" and m > n) or m < n:
            raise RuntimeError(f"linalg.qr: the derivative is implemented for mode='reduced' (or "
                               f"'complete' of a square matrix) with rows >= columns, got "
                               f"mode={self.mode!r} for a {m}x{n} matrix")
        q, r = apply(QR(0, self.mode), a), apply(QR(1, self.mode), a)
        if self.part == 0:
            g_q, middle = grad, -matmul(_mT(grad), q)
        else:
            g_q, middle = None, matmul(r, _mT(grad))
        lower = tril(middle)
        symmetric = lower + _mT(tril(middle, -1))
        total = matmul(q, symmetric) if g_q is None else g_q + matmul(q, symmetric)
        # total @ R^-T is the solution X of X R^T = total, i.e. R X^T = total^T.
        return (_mT(solve(r, _mT(total))),)

    def infer(self, a):
        *batch, m, n = a.shape
        k = None if m is None or n is None else min(m, n)
        if self.part == 0:
            return TensorType(a.dtype, tuple(batch) + ((m, m) if self.mode == "complete"
                                                       else (0,) if self.mode == "r" else (m, k)))
        return TensorType(a.dtype, tuple(batch) + ((m, n) if self.mode == "complete" else (k, n)))


def qr(A, mode="reduced"):
    """(Q, R) with A = QR, Q's columns orthonormal and R upper triangular, as a named tuple.
    ``mode`` 'reduced' (Q is m x k), 'complete' (Q is m x m) or 'r' (R only; Q is empty)."""
    A = _float_tensor("linalg.qr", A)
    if A.ndim < 2:
        raise ShapeError(f"linalg.qr: the input tensor A must have at least 2 dimensions, got "
                         f"shape {format_shape(A.shape)}")
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(f"linalg.qr: qr received unrecognized mode {mode!r} but expected one "
                            "of 'reduced' (default), 'r', or 'complete'")
    return QRResult(apply(QR(0, mode), A), apply(QR(1, mode), A))
