"""``ganglion.linalg``: PyTorch's ``torch.linalg`` namespace (issue 13).

Norms (``norm``, ``vector_norm``, ``matrix_norm``) and the NumPy-backed matrix functions
``svd``, ``svdvals``, ``eigh``, ``eigvalsh``, ``qr``, ``inv``, ``det``, ``slogdet``, ``solve`` and ``cholesky``, with
PyTorch's names, arguments and vjps; ``matmul`` and ``vecdot`` for completeness. The ops live in
``ganglion.core.ops.norms``.
"""
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.norms import (cholesky, det, eigh, eigvalsh, inv, matrix_norm, norm, qr,
                                     slogdet, solve, svd, svdvals, vector_norm)

__all__ = ["norm", "vector_norm", "matrix_norm", "svd", "svdvals", "eigh", "eigvalsh", "qr", "inv", "det",
           "slogdet", "solve", "cholesky", "matmul", "vecdot"]


def vecdot(x, y, *, dim=-1):
    """The dot product of x and y along ``dim`` (broadcast in the other dims)."""
    return (x * y).sum(dim=dim)
