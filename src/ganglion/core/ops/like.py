"""Tensor.new_zeros / new_ones / new_full / new_empty / new_tensor (issue 13): new tensors
that take the dtype (and device) of an existing one unless told otherwise, as in PyTorch. The
result never shares memory or a graph with the tensor the method is called on."""
from ganglion.core import creation
from ganglion.core.tensor import Tensor

__all__ = ["new_zeros", "new_ones", "new_full", "new_empty", "new_tensor"]


def _self(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    return x


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """zeros(size) of self's dtype (or ``dtype``); size as separate ints or one sequence."""
    _self("new_zeros", self)
    return creation.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad,
                          device=device)


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    _self("new_ones", self)
    return creation.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad,
                         device=device)


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    _self("new_empty", self)
    return creation.empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad,
                          device=device)


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    _self("new_full", self)
    return creation.full(size, fill_value, dtype=dtype or self.dtype,
                         requires_grad=requires_grad, device=device)


def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` (numbers, lists, an array or a tensor, always copied and detached)
    with self's dtype unless ``dtype`` is given."""
    _self("new_tensor", self)
    if isinstance(data, Tensor):
        data = data.detach().numpy()
    out = creation.tensor(data, dtype=dtype or self.dtype, device=device)
    if out._data is data:
        out = out.clone()
    if requires_grad:
        out.requires_grad_(True)
    return out
