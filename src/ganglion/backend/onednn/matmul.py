"""2-D float32 matrix products on oneDNN's matmul primitive: ``a @ b``, ``a @ b + bias`` (a
Linear layer's forward in one primitive) and products by one fixed right operand whose blocked
copy is made once (a recurrent layer's W_hh, used at every time step).

Reference: oneDNN 3.x's matmul primitive (``dnnl_matmul_primitive_desc_create``): src (M, K),
weights (K, N), optional bias (1, N) broadcast over the rows, dst (M, N).

Operands are described to oneDNN by their strides, so row-major arrays, transposed row-major
arrays (``w.T`` of a Linear layer's (out, in) weight) and row slices of wider arrays (a gate
block of an LSTM's packed result) are bound where they lie, as is ``out``; other layouts
(negative or zero strides, both strides > 1) are copied into a contiguous array first, and an
``out`` that oneDNN cannot describe gets the result copied in.
"""
import numpy as np

from ganglion.backend import array_cache
from ganglion.backend.onednn import _capi, _runtime, library

__all__ = ["supports_matmul", "matmul", "linear", "fixed_right", "SMALLEST_PRODUCT"]

_F32 = np.dtype(np.float32)

# Routing rule (the provider registry applies it): products of at least this many
# multiply-adds (M * K * N) whose left operand is not a transposed view run here; the rest on
# OpenBLAS. Why: there oneDNN took 0.8-1.0 of OpenBLAS's time at one thread on the MLP's and
# the LSTM's and GRU's GEMMs (0.75-0.9 with the right operand packed once), while a
# transposed left operand (a weight gradient x.T @ g) took it 1.0-1.4, and below the size a
# call's fixed cost (10-20 us: binding each buffer through ctypes, the lock, the stream) lost:
# an Elman RNN's (64, 256) @ (256, 256) step (4.2M) took 1.15 of OpenBLAS's time, the 10-class
# head's products 2.4-5x.
SMALLEST_PRODUCT = 1 << 23


def supports_matmul(a_shape, b_shape, dtype):
    """Whether ``matmul`` runs a @ b: float32 2-D operands with matching inner sizes, none empty."""
    if not library.usable():
        return False
    return (np.dtype(dtype) == _F32 and len(a_shape) == 2 and len(b_shape) == 2
            and a_shape[1] == b_shape[0] and min(a_shape) >= 1 and b_shape[1] >= 1)


def _layout(a):
    """(array to bind, layout): layout ('n', leading dimension) for rows of unit-stride elements
    or ('t', leading dimension) for columns of them (a transposed row-major array, bound as its
    transpose), in elements; arrays neither describes are copied into a contiguous one."""
    rows, columns = a.shape
    row_stride, column_stride = a.strides
    # The stride along an axis of length 1 is never used: give it the value that fits.
    if columns == 1:
        column_stride = 4
    if rows == 1:
        row_stride = 4 * columns if column_stride == 4 else 4
    if row_stride > 0 and column_stride > 0 and not (row_stride | column_stride) & 3:
        row_stride, column_stride = row_stride >> 2, column_stride >> 2
        if column_stride == 1 and row_stride >= columns:
            return a, ("n", row_stride)
        if row_stride == 1 and column_stride >= rows:
            # (its transpose, at the same address: a plan binds a C-contiguous array faster)
            return a.T, ("t", column_stride)
    return np.ascontiguousarray(a), ("n", columns)


def _desc(shape, layout):
    kind, leading = layout
    return _runtime.MemoryDesc(shape, strides=(leading, 1) if kind == "n" else (1, leading))


def _plan(m, k, n, a_layout, b_layout, c_layout, bias, packed_b=False):
    def build():
        a, c = _desc((m, k), a_layout), _desc((m, n), c_layout)
        b = _desc((k, n), b_layout)
        # A packed right operand is described as "any": oneDNN picks its blocked layout and
        # the plan gets a reorder into it, run once by ``Plan.prepare``.
        b_wanted = _runtime.MemoryDesc((k, n), any_layout=True) if packed_b else b
        bias_desc = _runtime.MemoryDesc((1, n)) if bias else None
        pd = _runtime.PrimitiveDesc("dnnl_matmul_primitive_desc_create", a.handle, b_wanted.handle,
                                    bias_desc.handle if bias else None, c.handle, None,
                                    detail=f"({m}, {k}) @ ({k}, {n})")
        bindings = [(_capi.ARG_SRC, "a", a, False), (_capi.ARG_WEIGHTS, "b", b, False),
                    (_capi.ARG_DST, "c", c, True)]
        if bias:
            bindings.append((_capi.ARG_BIAS, "bias", bias_desc, False))
        return _runtime.Plan(pd, bindings, keep=[b_wanted])
    return _runtime.cached_plan(("matmul", m, k, n, a_layout, b_layout, c_layout, bias, packed_b), build)


def _check(name, a, b, bias=None):
    if not (a.dtype == _F32 and b.dtype == _F32 and a.ndim == 2 and b.ndim == 2
            and a.shape[1] == b.shape[0]
            and (bias is None or (bias.dtype == _F32 and bias.shape == (b.shape[1],)))):
        extra = "" if bias is None else f" + bias {bias.shape} {bias.dtype}"
        raise ValueError(f"onednn.{name}: unsupported operands {a.shape} {a.dtype} @ {b.shape} "
                         f"{b.dtype}{extra}; expected float32 (M, K) @ (K, N)"
                         + ("" if bias is None else " + (N,)"))


def _destination(out, m, n, name):
    """(array oneDNN writes, its layout, the ``out`` to copy into afterwards or None)."""
    if out is None:
        return array_cache.empty((m, n), _F32), ("n", n), None
    if out.shape != (m, n) or out.dtype != _F32:
        raise ValueError(f"onednn.{name}: out has shape {out.shape} and dtype {out.dtype}; "
                         f"expected ({m}, {n}) float32")
    row_stride, column_stride = out.strides
    if (column_stride == 4 or n == 1) and row_stride > 0 and row_stride % 4 == 0 and row_stride >= 4 * n:
        return out, ("n", row_stride >> 2), None
    return np.empty((m, n), _F32), ("n", n), out


def _run(name, a, b, out, bias):
    (m, k), n = a.shape, b.shape[1]
    target, c_layout, copy_to = _destination(out, m, n, name)
    if m == 0 or n == 0:
        return out if out is not None else target
    if k == 0:
        target.fill(0)
        if bias is not None:
            target += bias
    else:
        a, a_layout = _layout(a)
        b, b_layout = _layout(b)
        plan = _plan(m, k, n, a_layout, b_layout, c_layout, bias is not None)
        if bias is None:
            plan.run(a=a, b=b, c=target)
        else:
            plan.run(a=a, b=b, c=target, bias=np.ascontiguousarray(bias))
    if copy_to is not None:
        copy_to[...] = target
        return copy_to
    return target


def matmul(a, b, out=None):
    """a @ b for float32 (M, K) and (K, N) arrays, into ``out`` ((M, N) float32) or a new
    C-contiguous array; empty sizes give an empty (or, K = 0, zero) result."""
    library.check_usable()
    _check("matmul", a, b)
    return _run("matmul", a, b, out, None)


def linear(x, weight, bias=None):
    """x @ weight.T + bias for float32 x (M, K), weight (N, K), bias (N,) or None, as one
    primitive (the bias is added as the result is written, not in a second pass)."""
    library.check_usable()
    _check("linear", x, weight.T, bias)
    return _run("linear", x, weight.T, None, bias)


def fixed_right(b, rows):
    """A function ``product(a, b, out=None)`` = a @ b for the many products of one loop by the
    same float32 (K, N) ``b``, each ``a`` having ``rows`` rows: b is copied once into the
    blocked layout oneDNN prefers, which every call then reads (at one thread, 0.7-0.9 of a
    plain product's time on an LSTM's (64, 256) @ (256, 1024) step). Calls with another
    right operand, row count or dtype go to ``matmul``."""
    library.check_usable()
    if b.dtype != _F32 or b.ndim != 2 or rows < 1:
        raise ValueError(f"onednn.fixed_right: unsupported right operand {b.shape} {b.dtype} for "
                         f"{rows} rows; expected a float32 (K, N) array and at least one row")
    k, n = b.shape
    b_plain, b_layout = _layout(b)
    state = {}
    left = np.empty((rows, k), _F32)

    def product(a, right, out=None):
        if right is not b or a.shape != (rows, k) or a.dtype != _F32 or not k or not n:
            return matmul(a, right, out=out)
        target, c_layout, copy_to = _destination(out, rows, n, "fixed_right")
        if not a.flags.c_contiguous:
            # oneDNN runs a strided left operand on its slower generic GEMM (gemm:jit, which
            # reads no blocked copy): copying the rows first is faster.
            a = np.copyto(left, a) or left
        a_layout = ("n", k)
        key = c_layout
        prepared = state.get(key)
        if prepared is None:
            plan = _plan(rows, k, n, a_layout, b_layout, c_layout, False, packed_b=True)
            packed = plan.prepare("b", b_plain)
            # (None: oneDNN reads b as it lies, no blocked copy)
            prepared = state[key] = (plan, None if packed is None else {"b": packed})
        plan, packed = prepared
        if packed is None:
            plan.run(a=a, b=b_plain, c=target)
        else:
            plan.run(prepared=packed, a=a, c=target)
        if copy_to is not None:
            copy_to[...] = target
            return copy_to
        return target
    return product
