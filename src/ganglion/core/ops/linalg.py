"""Linear algebra: matmul (NumPy's 1-D and batched broadcasting rules), dot, outer and einsum.

The matmul gradients are matmuls again (g @ b^T and a^T @ g). Transposes are views: the BLAS
call reads them in place through its transpose flags, so no copy is made around the GEMM.
"""
from ganglion.core.op import Op, ShapeError, apply, broadcast_shapes, format_shape
from ganglion.core.ops.indexing import getitem
from ganglion.core.ops.shape import expand_as, reshape, sum_to, transpose, unsqueeze
from ganglion.core.tensor import TensorType

__all__ = ["matmul", "dot", "outer", "einsum"]


class MatMul(Op):
    __slots__ = ()

    def forward(self, backend, a, b):
        if a.dtype.kind == "b" or b.dtype.kind == "b":
            raise TypeError("matmul of bool")
        return a @ b

    def vjp(self, out, grad, needs):
        a, b = out._inputs
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            ga = grad * b if needs[0] else None
            gb = grad * a if needs[1] else None
        elif a.ndim == 1:
            # (k,) @ (..., k, m): the vector acts as a (1, k) matrix.
            g = unsqueeze(grad, -2)
            ga = sum_to(matmul(g, transpose(b)), a) if needs[0] else None
            gb = sum_to(matmul(unsqueeze(a, -1), g), b) if needs[1] else None
        elif b.ndim == 1:
            g = unsqueeze(grad, -1)
            ga = sum_to(matmul(g, unsqueeze(b, 0)), a) if needs[0] else None
            gb = sum_to(getitem(matmul(transpose(a), g), (Ellipsis, 0)), b) if needs[1] else None
        else:
            ga = sum_to(matmul(grad, transpose(b)), a) if needs[0] else None
            gb = sum_to(matmul(transpose(a), grad), b) if needs[1] else None
        return ga, gb

    def infer(self, a, b):
        for t in (a, b):
            if t.dtype.category == 0:
                raise TypeError(f"matmul: bool tensors are not supported (shapes {format_shape(a.shape)} "
                                f"and {format_shape(b.shape)}); convert with .float() first")
            if len(t.shape) == 0:
                raise ShapeError(f"matmul: both arguments need at least one dimension, got shapes "
                                 f"{format_shape(a.shape)} and {format_shape(b.shape)}")
        if a.dtype is not b.dtype:
            raise TypeError(f"matmul: dtypes {a.dtype} and {b.dtype} differ; cast one of them")
        k_a = a.shape[-1]
        k_b = b.shape[0] if len(b.shape) == 1 else b.shape[-2]
        if k_a is not None and k_b is not None and k_a != k_b:
            raise ShapeError(f"matmul: shapes {format_shape(a.shape)} and {format_shape(b.shape)} "
                             f"do not align: {k_a} != {k_b}")
        if len(a.shape) == 1 and len(b.shape) == 1:
            shape = ()
        elif len(a.shape) == 1:
            shape = b.shape[:-2] + b.shape[-1:]
        elif len(b.shape) == 1:
            shape = a.shape[:-1]
        else:
            batch = broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2])
            shape = batch + (a.shape[-2], b.shape[-1])
        return TensorType(a.dtype, shape)


class Einsum(Op):
    __slots__ = ("equation",)

    def __init__(self, equation):
        self.equation = equation

    def forward(self, backend, *arrays):
        return backend.xp.einsum(self.equation, *arrays, optimize=len(arrays) > 1)

    def vjp(self, out, grad, needs):
        inputs, output = _parse_einsum(self.equation, len(out._inputs))
        grads = []
        for i, (x, need) in enumerate(zip(out._inputs, needs)):
            if not need:
                grads.append(None)
                continue
            subs = inputs[i]
            letters = subs.replace("...", "")
            if len(set(letters)) != len(letters):
                raise NotImplementedError(
                    f"einsum: the gradient of an operand with a repeated index ({subs!r} in "
                    f"{self.equation!r}, a diagonal or trace) is not supported")
            others = [s for j, s in enumerate(inputs) if j != i]
            elsewhere = set(output) | set("".join(others))
            kept = "".join(c for c in subs if c in elsewhere or c == ".")
            equation = ",".join([output] + others) + "->" + kept
            operands = [grad] + [t for j, t in enumerate(out._inputs) if j != i]
            g = apply(Einsum(equation), *operands)
            if kept != subs:
                # Letters summed away in this operand alone: broadcast the gradient over them.
                shape = []
                kept_dims = iter(g.shape)
                for c in _expand_letters(subs, x.ndim):
                    shape.append(next(kept_dims) if c in elsewhere or c.isupper() else 1)
                g = expand_as(reshape(g, tuple(shape)), x)
            grads.append(sum_to(g, x))
        return tuple(grads)

    def infer(self, *types):
        from ganglion.backend import current
        xp = current.xp
        stand_ins = [xp.broadcast_to(xp.zeros((), t.dtype.np), tuple(1 if d is None else d for d in t.shape))
                     for t in types]
        try:
            result = xp.einsum(self.equation, *stand_ins)
        except ValueError as error:
            raise ShapeError(f"einsum {self.equation!r}: {error} (operand shapes "
                             + ", ".join(format_shape(t.shape) for t in types) + ")") from None
        return TensorType(types[0].dtype, result.shape)


def _parse_einsum(equation, n_operands):
    """(input subscripts, output subscripts), with the implicit output made explicit."""
    equation = equation.replace(" ", "")
    if "->" in equation:
        lhs, output = equation.split("->")
    else:
        lhs = equation
        letters = lhs.replace("...", "").replace(",", "")
        output = ("..." if "..." in lhs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    inputs = lhs.split(",")
    if len(inputs) != n_operands:
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operands, got {n_operands}")
    return inputs, output


def _expand_letters(subs, ndim):
    """Subscripts with '...' replaced by one upper-case placeholder letter per broadcast dim."""
    if "..." not in subs:
        return subs
    n = ndim - len(subs.replace("...", ""))
    return subs.replace("...", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n])


# ----- functions ----------------------------------------------------------------------------

_MATMUL = MatMul()


def matmul(a, b):
    if a.dtype is not b.dtype and a.data is not None and b.data is not None:
        from ganglion.core.ops.elementwise import common_dtype_tensors
        if a.dtype.category == b.dtype.category and a.dtype.category:
            a, b = common_dtype_tensors("matmul", [a, b])
    return apply(_MATMUL, a, b)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        if a.ndim <= 2 and b.ndim <= 2:
            return matmul(a, b)
        raise ShapeError(f"dot: expected 1-D or 2-D tensors, got shapes {format_shape(a.shape)} "
                         f"and {format_shape(b.shape)}")
    return matmul(a, b)


def outer(a, b):
    return unsqueeze(a, 1) * unsqueeze(b, 0)


def einsum(equation, *operands):
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return apply(Einsum(equation.replace(" ", "")), *operands)
