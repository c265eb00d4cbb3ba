"""2-D float32 matrix products on oneDNN's matmul primitive, as an alternative to NumPy's
OpenBLAS for the fully connected and recurrent layers' GEMMs (issue 19 asks to measure it and
route products where it wins; see benchmarks/onednn_kernels.py, section "matmul").

Either operand may be row-major or a transposed row-major array (``w.T`` of a Linear layer's
(out, in) weight): both are described to oneDNN by their strides, so neither is copied.
Other layouts are copied into a contiguous array first.
"""
import numpy as np

from ganglion.backend import array_cache
from ganglion.backend.onednn import _capi, _runtime, library

__all__ = ["supports_matmul", "matmul"]


def supports_matmul(a_shape, b_shape, dtype):
    """Whether ``matmul`` runs a @ b: float32 2-D operands with matching inner sizes, none empty."""
    if not library.usable():
        return False
    return (np.dtype(dtype) == np.float32 and len(a_shape) == 2 and len(b_shape) == 2
            and a_shape[1] == b_shape[0] and min(a_shape) >= 1 and b_shape[1] >= 1)


def _layout(a):
    """(the array to bind, 'n' for row-major or 't' for a transposed row-major array)."""
    if a.flags.c_contiguous:
        return a, "n"
    if a.flags.f_contiguous:
        return a, "t"
    return np.ascontiguousarray(a), "n"


def _desc(shape, layout):
    rows, columns = shape
    return _runtime.MemoryDesc(shape, strides=(columns, 1) if layout == "n" else (1, rows))


def _plan(m, k, n, a_layout, b_layout):
    def build():
        a, b, c = _desc((m, k), a_layout), _desc((k, n), b_layout), _desc((m, n), "n")
        pd = _runtime.PrimitiveDesc("dnnl_matmul_primitive_desc_create", a.handle, b.handle, None,
                                    c.handle, None, detail=f"({m}, {k}) @ ({k}, {n})")
        return _runtime.Plan(pd, [(_capi.ARG_SRC, "a", a, False), (_capi.ARG_WEIGHTS, "b", b, False),
                                  (_capi.ARG_DST, "c", c, True)])
    return _runtime.cached_plan(("matmul", m, k, n, a_layout, b_layout), build)


def matmul(a, b):
    """a @ b for float32 (M, K) and (K, N) arrays, as a new (M, N) array."""
    library.check_usable()
    if a.dtype != np.float32 or b.dtype != np.float32 or not supports_matmul(a.shape, b.shape, a.dtype):
        raise ValueError(f"onednn.matmul: unsupported operands {a.shape} {a.dtype} @ {b.shape} "
                         f"{b.dtype}; expected float32 (M, K) @ (K, N)")
    (m, k), n = a.shape, b.shape[1]
    a, a_layout = _layout(a)
    b, b_layout = _layout(b)
    out = array_cache.empty((m, n), np.float32)
    _plan(m, k, n, a_layout, b_layout).run(a=a, b=b, c=out)
    return out
