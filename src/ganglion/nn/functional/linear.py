"""Affine maps: ``linear`` (x @ W^T + b, one fused op: ``ganglion.core.ops.nn.linear``) and
``bilinear`` (x1^T A x2 + b).
"""
from ganglion.core.op import ShapeError, apply, format_shape
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.nn.linear import Linear, known_equal
from ganglion.core.ops.reduce import sum as reduce_sum
from ganglion.core.ops.shape import permute, reshape, reshape_or_symbolic, unsqueeze

__all__ = ["linear", "bilinear"]

_WITH_BIAS = Linear(True)
_WITHOUT_BIAS = Linear(False)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``; weight has PyTorch's layout (out_features, in_features)."""
    if bias is None:
        return apply(_WITHOUT_BIAS, input, weight)
    return apply(_WITH_BIAS, input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """``y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]``."""
    if weight.ndim != 3:
        raise ShapeError(f"bilinear: weight must be 3-D (out, in1, in2), got shape "
                         f"{format_shape(weight.shape)}")
    _, in1, in2 = weight.shape
    for name, x, size in (("input1", input1, in1), ("input2", input2, in2)):
        if x.ndim == 0 or not known_equal(x.shape[-1], size):
            raise ShapeError(f"bilinear: {name} of shape {format_shape(x.shape)} does not fit weight "
                             f"of shape {format_shape(weight.shape)}: expected the last dimension "
                             f"to be {size}")
    if input1.ndim != input2.ndim or not all(known_equal(a, b) for a, b in zip(input1.shape[:-1],
                                                                         input2.shape[:-1])):
        raise ShapeError(f"bilinear: input1 {format_shape(input1.shape)} and input2 "
                         f"{format_shape(input2.shape)} must have the same leading dimensions")
    # One GEMM: input1 @ weight viewed as (in1, out * in2), then a product with input2 summed
    # over in2. (An einsum would redo its contraction planning on every call.)
    out_features = weight.shape[0]
    mixed = matmul(input1, reshape(permute(weight, (1, 0, 2)), (in1, out_features * in2)))
    mixed = reshape_or_symbolic(mixed, tuple(input1.shape[:-1]) + (out_features, in2))
    out = reduce_sum(mixed * unsqueeze(input2, -2), axis=-1)
    return out if bias is None else out + bias
