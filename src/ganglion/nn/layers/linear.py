"""Linear layers and shape adapters: Linear, Bilinear, Identity, Flatten and Unflatten.

Weights use PyTorch's layout and default initialization, so PyTorch state dicts load as they
are and fresh layers start from the same distribution. Each layer checks its input with one
comparison on the fast path and only builds an error message when that comparison fails;
symbolic inputs (unknown dims are None) pass where the dims they know fit.
"""
import math

from ganglion.core.dtypes import as_dtype, get_default_dtype
from ganglion.core.device import check_available as check_device
from ganglion.core.op import ShapeError, format_shape
from ganglion.core.creation import empty
from ganglion.core.ops.shape import flatten, reshape_or_symbolic
from ganglion.nn import init
from ganglion.nn.layers.arguments import count
from ganglion.nn.functional.linear import bilinear, linear
from ganglion.nn.module import Module, Parameter

__all__ = ["Linear", "Bilinear", "Identity", "Flatten", "Unflatten"]


def _new_parameter(shape, dtype, device):
    if device is not None:
        check_device(device)
    dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
    return Parameter(empty(*shape, dtype=dtype))


def _last_dim_error(layer, x, expected):
    """The error for an input whose last dimension is not ``expected`` (None if it fits)."""
    shape = x.tensor_type.shape
    if shape and (shape[-1] is None or shape[-1] == expected):
        return None
    return ShapeError(f"{layer}: expected input with last dimension {expected}, got shape "
                      f"{format_shape(shape)}")


class Linear(Module):
    """``y = x @ weight.T + bias`` over the last dimension: (..., in_features) -> (..., out_features).

    ``weight`` has shape (out_features, in_features); both it and ``bias`` start as
    U(-1/sqrt(in_features), 1/sqrt(in_features)), as in PyTorch.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        # 0 is allowed for either (an empty layer), as in PyTorch.
        name = f"Linear({in_features}, {out_features})"
        self.in_features = count(name, "in_features", in_features)
        self.out_features = count(name, "out_features", out_features)
        in_features, out_features = self.in_features, self.out_features
        self.weight = _new_parameter((out_features, in_features), dtype, device)
        if bias:
            self.bias = _new_parameter((out_features,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # PyTorch's kaiming_uniform_ with a = sqrt(5) amounts to the bound 1/sqrt(fan_in).
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        shape = input.shape
        if not shape or shape[-1] != self.in_features:
            error = _last_dim_error(f"Linear({self.in_features}, {self.out_features})", input,
                                    self.in_features)
            if error is not None:
                raise error
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """``y[..., o] = x1[...] @ weight[o] @ x2[...] + bias[o]``: two inputs (..., in1_features)
    and (..., in2_features) to (..., out_features); weight (out, in1, in2)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        name = f"Bilinear({in1_features}, {in2_features}, {out_features})"
        self.in1_features = count(name, "in1_features", in1_features)
        self.in2_features = count(name, "in2_features", in2_features)
        self.out_features = count(name, "out_features", out_features)
        in1_features, in2_features = self.in1_features, self.in2_features
        out_features = self.out_features
        self.weight = _new_parameter((out_features, in1_features, in2_features), dtype, device)
        if bias:
            self.bias = _new_parameter((out_features,), dtype, device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        name = f"Bilinear({self.in1_features}, {self.in2_features}, {self.out_features})"
        for x, size in ((input1, self.in1_features), (input2, self.in2_features)):
            error = _last_dim_error(name, x, size)
            if error is not None:
                raise error
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Identity(Module):
    """Returns its input; any constructor arguments are accepted and ignored (as in PyTorch),
    so it can stand in for a layer that is switched off."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Merge dimensions ``start_dim`` to ``end_dim`` into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim
        # The fewest dimensions for which both start_dim and end_dim exist.
        self._min_ndim = max(d + 1 if d >= 0 else -d for d in (start_dim, end_dim))

    def forward(self, input):
        ndim = input.ndim
        if ndim < self._min_ndim and ndim:
            raise ShapeError(f"{self!r}: expected input with at least {self._min_ndim} dimensions, "
                             f"got shape {format_shape(input.shape)}")
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``: Unflatten(1, (C, H, W)) turns
    (N, C*H*W) into (N, C, H, W). One entry of the size may be -1 (inferred)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)
        if any(not isinstance(d, int) for d in self.unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, got "
                            f"{unflattened_size!r}")
        if self.unflattened_size.count(-1) > 1:
            raise ValueError(f"Unflatten: only one entry of unflattened_size may be -1, got "
                             f"{self.unflattened_size}")

    def forward(self, input):
        shape = input.tensor_type.shape  # None for a dim known only at run time
        ndim = len(shape)
        if not -ndim <= self.dim < ndim:
            raise ShapeError(f"{self!r}: dimension {self.dim} is out of range for input of shape "
                             f"{format_shape(shape)}")
        dim = self.dim % ndim
        sizes = self._sizes(shape[dim], shape)
        return reshape_or_symbolic(input, shape[:dim] + sizes + shape[dim + 1:])

    def _sizes(self, size, shape):
        """The split sizes with -1 resolved; None stays for what only run time will tell."""
        known = 1
        for d in self.unflattened_size:
            if d != -1:
                known *= d
        if size is None:
            return tuple(None if d == -1 else d for d in self.unflattened_size)
        if -1 in self.unflattened_size:
            if known == 0 or size % known:
                raise ShapeError(f"{self!r}: dimension {self.dim} of size {size} (input shape "
                                 f"{format_shape(shape)}) cannot be split into {self.unflattened_size}")
            return tuple(size // known if d == -1 else d for d in self.unflattened_size)
        if known != size:
            raise ShapeError(f"{self!r}: dimension {self.dim} of size {size} (input shape "
                             f"{format_shape(shape)}) cannot be split into {self.unflattened_size}: "
                             f"expected size {known}")
        return self.unflattened_size

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
