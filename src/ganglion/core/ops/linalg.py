"""Linear algebra: matmul (NumPy's 1-D and batched broadcasting rules), dot, outer and einsum;
PyTorch's strict mm / bmm (no broadcasting, no promotion) and addmm / baddbmm. Norms are in
norms.py.

The matmul gradients are matmuls again (g @ b^T and a^T @ g). Transposes are views: the BLAS
call reads them in place through its transpose flags, so no copy is made around the GEMM.
"""
from ganglion.core.op import (Op, ShapeError, apply, broadcast_shapes, format_shape,
                              refuse_non_tensor)
from ganglion.core.ops.indexing import getitem
from ganglion.core.ops.shape import expand, expand_as, reshape, sum_to, transpose, unsqueeze
from ganglion.core.tensor import TensorType

__all__ = ["matmul", "dot", "outer", "einsum", "mm", "bmm", "addmm", "baddbmm"]


class MatMul(Op):
    __slots__ = ()
    returns_new_array = True

    def forward(self, backend, a, b):
        if a.dtype.kind == "b" or b.dtype.kind == "b":
            raise TypeError("matmul of bool")
        return backend.matmul(a, b)

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

    def pp(self, args):
        return f"dot({args[0]}, {args[1]})"

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
        if "..." in self.equation:
            # The gradient of an operand without '...' would take the ellipsis in its inputs but
            # not its output, which NumPy's einsum refuses (ShapeError when compiled): the
            # ellipsis gets letters of its own, so that the broadcast dims it drops are summed.
            inputs, output = _ellipsis_spelled(inputs, output, [x.ndim for x in out._inputs],
                                               self.equation)
        grads = []
        for i, (x, need) in enumerate(zip(out._inputs, needs)):
            if not need:
                grads.append(None)
                continue
            subs = inputs[i]
            others = [s for j, s in enumerate(inputs) if j != i]
            operands = [grad] + [t for j, t in enumerate(out._inputs) if j != i]
            if len(set(subs.replace("...", ""))) != len(subs.replace("...", "")):
                subs, identities = _undiagonal(subs, x, self.equation)
                others += [sub for sub, _ in identities]
                operands += [eye for _, eye in identities]
            # A letter that appears nowhere else was summed away within this operand alone:
            # the product of the others does not carry it.
            elsewhere = set(output) | set("".join(others))
            kept = "".join(c for c in subs if c in elsewhere)
            equation = ",".join([output] + others) + "->" + kept
            g = apply(Einsum(equation), *operands)
            if kept != subs:
                g = reshape(g, _with_summed_dims(subs, kept, g.shape))
            grads.append(_broadcast_back(g, x))
        return tuple(grads)

    def infer(self, *types):
        from ganglion.backend import current
        xp = current.xp
        inputs, output = _parse_einsum(self.equation, len(types))
        # Each letter's size is the one any operand knows; letters no operand knows stay unknown.
        # NumPy then checks the equation on size-1 stand-ins for the unknown dims.
        known, lettered = {}, []
        for subs, t in zip(inputs, types):
            letters = _right_aligned_letters(subs, len(t.shape))
            lettered.append(letters)
            for c, d in zip(letters, t.shape):
                if d is not None and d != 1:
                    known[c] = d
        stand_ins = [xp.broadcast_to(xp.zeros((), t.dtype.np),
                                     tuple(known.get(c, 1) if d is None else d for c, d in zip(letters, t.shape)))
                     for letters, t in zip(lettered, types)]
        try:
            result = xp.einsum(self.equation, *stand_ins)
        except ValueError as error:
            raise ShapeError(f"einsum {self.equation!r}: {error} (operand shapes "
                             + ", ".join(format_shape(t.shape) for t in types) + ")") from None
        unknown = {c for letters, t in zip(lettered, types) for c, d in zip(letters, t.shape)
                   if d is None and c not in known}
        out_letters = _right_aligned_letters(output, result.ndim)
        shape = tuple(None if c in unknown else d for c, d in zip(out_letters, result.shape))
        return TensorType(types[0].dtype, shape)


def _right_aligned_letters(subs, ndim):
    """One letter per dim; '...' dims get upper-case letters aligned from the right, so that
    broadcast ellipsis dims of different operands share a letter."""
    if "..." not in subs:
        return subs
    n = ndim - len(subs.replace("...", ""))
    return subs.replace("...", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[26 - n:] if n else "")


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


def _ellipsis_spelled(inputs, output, ndims, equation):
    """``inputs`` and ``output`` with each '...' written as upper-case letters not in
    ``equation``, aligned from the right as NumPy broadcasts them (operands of ``ndims`` dims)."""
    counts = [ndim - len(subs.replace("...", "")) if "..." in subs else 0
              for subs, ndim in zip(inputs, ndims)]
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in equation]
    n = max(counts)
    names = "".join(free[:n])
    spelled = [subs.replace("...", names[n - k:] if k else "") for subs, k in zip(inputs, counts)]
    return spelled, output.replace("...", names)


def _with_summed_dims(subs, kept, kept_shape):
    """The shape of a gradient of ``kept_shape`` (subscripts ``kept``) with a size-1 dim put
    back for each letter of the operand's subscripts ``subs`` that it lacks."""
    # An ellipsis is always kept: einsum() spells it as letters when the output leaves it out.
    kept_letters = len(kept.replace("...", ""))
    kept_dims = iter(kept_shape)
    shape = []
    for token in _tokens(subs):
        if token == "...":
            shape += [next(kept_dims) for _ in range(len(kept_shape) - kept_letters)]
        else:
            shape.append(next(kept_dims) if token in kept else 1)
    return tuple(shape)


def _undiagonal(subs, x, equation):
    """Subscripts without repeated letters, and (subscripts, identity matrix) pairs that tie the
    renamed letters back to the originals: x read along a diagonal ('ii') is x ('ij') times
    the identity ('ij'), and the gradient of that form needs no special rule."""
    from ganglion.core.creation import eye
    free = iter(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation)
    tokens = _tokens(subs)
    if "..." in tokens:
        head = tokens.index("...")
        tail = len(tokens) - head - 1
        sizes = list(x.shape[:head]) + [None] + list(x.shape[x.ndim - tail:])
    else:
        sizes = list(x.shape)
    renamed, identities, seen = [], [], set()
    for token, size in zip(tokens, sizes):
        if token in seen:
            fresh = next(free)
            identities.append((token + fresh, eye(size, dtype=x.dtype)))
            token = fresh
        seen.add(token)
        renamed.append(token)
    return "".join(renamed), identities


def _tokens(subs):
    """Subscripts as a list of letters and '...'."""
    head, dots, tail = subs.partition("...")
    return list(head) + ([dots] if dots else []) + list(tail)


def _broadcast_back(g, x):
    """The gradient ``g`` of the broadcast operand, brought to the shape of ``x``: dims that
    ``x`` broadcast are summed, dims that ``g`` lacks (size 1, or missing in front) expanded."""
    if g.shape == x.shape:
        return g
    target = broadcast_shapes("einsum", g.shape, x.shape)
    if target == tuple(x.shape):
        return expand_as(g, x)
    if target != tuple(g.shape):
        g = expand(g, target)
    return sum_to(g, x)


# ----- functions ----------------------------------------------------------------------------

_MATMUL = MatMul()


def matmul(input, other):
    """The matrix product of ``input`` and ``other`` (NumPy's broadcasting rules), as
    ``torch.matmul``; ``out=`` through ``core/ops/out.py``."""
    a, b = input, other
    try:
        mixed = a.dtype is not b.dtype and a._data is not None and b._data is not None
    except AttributeError:  # not a Tensor: PyTorch's TypeError, not an AttributeError
        refuse_non_tensor("matmul", (a, b))
        raise
    if mixed:
        from ganglion.core.ops.elementwise import common_dtype_tensors
        # Mixed number types promote as in a + b (int64 @ float32 is float32, not NumPy's
        # float64); bool stays an error, which infer() explains.
        if a.dtype.category and b.dtype.category:
            a, b = common_dtype_tensors("matmul", [a, b])
    return apply(_MATMUL, a, b)


def dot(a, b):
    """The inner product of two 1-D tensors (PyTorch's ``torch.dot``)."""
    if a.ndim != 1 or b.ndim != 1:
        if a.ndim <= 2 and b.ndim <= 2:
            return matmul(a, b)
        raise ShapeError(f"dot: expected 1-D or 2-D tensors, got shapes {format_shape(a.shape)} "
                         f"and {format_shape(b.shape)}")
    return matmul(a, b)


def outer(a, b):
    """The outer product ``a[i] * b[j]`` of two 1-D tensors (PyTorch's ``torch.outer``)."""
    return unsqueeze(a, 1) * unsqueeze(b, 0)


def einsum(equation, *operands):
    """Einstein summation over ``operands`` as ``equation`` says, e.g. ``'ij,jk->ik'``
    (PyTorch's ``torch.einsum``)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    equation = equation.replace(" ", "")
    lhs, arrow, output = equation.partition("->")
    if arrow and "..." in lhs and "..." not in output:
        equation = _ellipsis_as_letters(lhs, output, operands)
    return apply(Einsum(equation), *operands)


def _ellipsis_as_letters(lhs, output, operands):
    """The equation with each '...' spelled as letters of its own. PyTorch sums broadcast dims
    that the output leaves out; NumPy refuses, unless they have names."""
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ValueError(f"einsum: {lhs}->{output!r} names {len(inputs)} operands, got {len(operands)}")
    counts = [t.ndim - len(subs.replace("...", "")) if "..." in subs else 0
              for subs, t in zip(inputs, operands)]
    free = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in lhs + output]
    n = max(counts)
    if n > len(free):
        raise ValueError(f"einsum: too many dimensions under '...' in {lhs}->{output!r}")
    names = "".join(free[:n])
    # Broadcast dims line up from the right, as in NumPy broadcasting.
    spelled = [subs.replace("...", names[n - k:] if k else "") for subs, k in zip(inputs, counts)]
    return ",".join(spelled) + "->" + output


# ----- PyTorch's strict matrix products (issue 13) ---------------------------------------------

def _matrix_operands(name, a, b, ndim, first="self", second="mat2"):
    """Refuse what torch.mm / torch.bmm refuse: other ranks, mixed dtypes, sizes that do not
    align (matmul itself would broadcast or promote)."""
    from ganglion.core.errors import DTypeError
    from ganglion.core.tensor import Tensor
    for what, t in ((first, a), (second, b)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected {what} to be a Tensor, got {type(t).__name__}")
        if t.ndim != ndim:
            kind = "a matrix" if ndim == 2 else f"a {ndim}D tensor"
            raise ShapeError(f"{name}: {what} must be {kind}, got a tensor of shape "
                             f"{format_shape(t.shape)}")
    if a.dtype is not b.dtype:
        raise DTypeError(f"{name}: expected {first} and {second} to have the same dtype, but got: "
                         f"{a.dtype} != {b.dtype}")


def mm(input, mat2):
    """The matrix product of two matrices (no broadcasting, no promotion, as torch.mm)."""
    _matrix_operands("mm", input, mat2, 2)
    if input.shape[1] != mat2.shape[0]:
        raise ShapeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x"
                         f"{input.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    return apply(_MATMUL, input, mat2)


def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (torch.bmm: no broadcasting)."""
    _matrix_operands("bmm", input, mat2, 3, "batch1", "batch2")
    expected = (input.shape[0], input.shape[2])
    if tuple(mat2.shape[:2]) != expected:
        raise ShapeError(f"bmm: expected size for first two dimensions of batch2 tensor to be: "
                         f"{list(expected)} but got: {list(mat2.shape[:2])} (batch1 "
                         f"{format_shape(input.shape)}, batch2 {format_shape(mat2.shape)})")
    return apply(_MATMUL, input, mat2)


def _scaled_sum(name, input, product, beta, alpha):
    for what, v in (("beta", beta), ("alpha", alpha)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"{name}: {what} must be a number, got {v!r}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        # PyTorch ignores input entirely then: nan and inf in it do not propagate. (The callers
        # checked that it broadcasts to the product's shape.)
        return product
    return (input if beta == 1 else input * beta) + product


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape."""
    out = mm(mat1, mat2)
    if tuple(broadcast_shapes("addmm", tuple(input.shape), tuple(out.shape))) != tuple(out.shape):
        raise ShapeError(f"addmm: input of shape {format_shape(input.shape)} cannot be broadcast "
                         f"to the product's shape {format_shape(out.shape)}")
    return _scaled_sum("addmm", input, out, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * bmm(batch1, batch2), input broadcast to the product's shape."""
    out = bmm(batch1, batch2)
    if tuple(broadcast_shapes("baddbmm", tuple(input.shape), tuple(out.shape))) != tuple(out.shape):
        raise ShapeError(f"baddbmm: input of shape {format_shape(input.shape)} cannot be "
                         f"broadcast to the product's shape {format_shape(out.shape)}")
    return _scaled_sum("baddbmm", input, out, beta, alpha)
