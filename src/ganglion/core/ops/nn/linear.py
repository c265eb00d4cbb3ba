"""The fused affine op ``Linear``: ``x @ W^T + b`` as one op (``ganglion.nn.functional.linear``
applies it).

A single op rather than transpose, matmul and add, because it runs once per layer per step and
each op applied costs Python time. Inputs with several leading dimensions are folded into one
matrix, so the forward pass and both weight gradients are one GEMM each.
"""
from ganglion.core.op import Op, ShapeError, format_shape
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.reduce import sum as reduce_sum
from ganglion.core.ops.shape import flatten, reshape_as, transpose, unsqueeze
from ganglion.core.tensor import TensorType

__all__ = ["Linear", "known_equal"]


class Linear(Op):
    """``x @ weight.T (+ bias)`` for x of shape (..., in), weight (out, in), bias (out,)."""

    __slots__ = ("has_bias",)
    returns_new_array = True

    def __init__(self, has_bias):
        self.has_bias = has_bias

    def forward(self, backend, x, weight, bias=None):
        if x.dtype != weight.dtype:
            # NumPy would silently promote; PyTorch refuses. infer() writes the message.
            raise TypeError("linear: dtypes differ")
        if x.ndim == 1:
            out = backend.matmul(x, weight.T)
            if bias is not None:
                out += bias
            return out
        # One backend method for the product and the bias (oneDNN adds it as it writes).
        if x.ndim > 2:
            return backend.linear_forward(x.reshape(-1, x.shape[-1]), weight, bias).reshape(
                x.shape[:-1] + weight.shape[:1])
        return backend.linear_forward(x, weight, bias)

    def vjp(self, out, grad, needs):
        x, weight = out._inputs[0], out._inputs[1]
        grad_x = None
        if needs[0]:
            # Folded to one matrix: NumPy's batched matmul would loop over the leading dims.
            grad_x = (reshape_as(matmul(flatten(grad, 0, -2), weight), x) if x.ndim > 2
                      else matmul(grad, weight))
        grad_weight = grad_bias = None
        if needs[1]:
            if x.ndim == 1:
                grad_weight = matmul(unsqueeze(grad, 1), unsqueeze(x, 0))
            else:
                rows = flatten(grad, 0, -2)
                grad_weight = matmul(transpose(rows, 0, 1), flatten(x, 0, -2))
        if self.has_bias and needs[2]:
            grad_bias = reduce_sum(grad, axis=tuple(range(grad.ndim - 1))) if grad.ndim > 1 else grad
        return (grad_x, grad_weight, grad_bias)[:len(out._inputs)]

    def infer(self, x, weight, bias=None):
        if len(weight.shape) != 2:
            raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                             f"{format_shape(weight.shape)}")
        out_features, in_features = weight.shape
        if len(x.shape) == 0 or not known_equal(x.shape[-1], in_features):
            raise ShapeError(f"linear: input of shape {format_shape(x.shape)} does not fit weight of "
                             f"shape {format_shape(weight.shape)}: expected the last dimension to "
                             f"be {in_features}")
        if bias is not None and (len(bias.shape) != 1 or not known_equal(bias.shape[0], out_features)):
            raise ShapeError(f"linear: bias must have shape ({out_features},), got "
                             f"{format_shape(bias.shape)}")
        for t in (weight,) + ((bias,) if bias is not None else ()):
            if t.dtype is not x.dtype:
                raise TypeError(f"linear: the input is {x.dtype.name} but the parameters are "
                                f"{t.dtype.name}; convert one of them (x.to(...) or module.to(...))")
        return TensorType(x.dtype, tuple(x.shape[:-1]) + (out_features,))


def known_equal(a, b):
    """Equal, or unknown (None) on either side."""
    return a is None or b is None or a == b
