"""Gradient clipping and flat parameter vectors (PyTorch's ``torch.nn.utils``); variable-length
sequences (``rnn``: pad_sequence, pack_padded_sequence, PackedSequence, ...) in ``nn.utils.rnn``.

Clipping is the usual cure for exploding gradients in recurrent networks: by the norm of all
gradients together (``clip_grad_norm_``: the direction is kept) or element by element
(``clip_grad_value_``). Both change the ``.grad`` tensors in place and are written with Tensor
ops, so a training step traced by ``jit`` clips as well.
"""
from ganglion.core.grad_mode import no_grad
from ganglion.core.inplace import inplace
from ganglion.core.op import format_shape
from ganglion.core.ops.elementwise import clamp, maximum
from ganglion.core.ops.reduce import amax, sum as reduce_sum
from ganglion.core.ops.shape import concatenate, reshape
from ganglion.core.ops.unary import abs as absolute, sqrt
from ganglion.core.tensor import Tensor
from ganglion.core.versions import bump_storage
from ganglion.nn.utils import rnn  # noqa: F401

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector",
           "vector_to_parameters"]


def _tensors(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _update_grad(param, fn):
    """``param.grad = fn(param.grad)``, in place when the gradient has a value, so that other
    references to it see the change (as in PyTorch). A symbolic gradient (in a train step that
    jit traces) has no storage to write: the parameter's ``.grad`` is rebound instead."""
    grad = param.grad
    if grad._data is None:
        param.grad = fn(grad)
    else:
        inplace(grad, fn, name="gradient clipping")


def _power_sum(x, norm_type):
    """sum(|x|^p), or max(|x|) for p = inf: the part of the norm that adds up over tensors."""
    if norm_type == float("inf"):
        return amax(absolute(x))
    if norm_type == 2:
        return reduce_sum(x * x)
    if norm_type == 1:
        return reduce_sum(absolute(x))
    return reduce_sum(absolute(x) ** norm_type)


@no_grad()
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False):
    """The ``norm_type``-norm of all ``tensors`` taken together as one vector (a 0-d tensor).

    Equal to PyTorch's norm of the per-tensor norms, accumulated as one sum of powers instead,
    which takes fewer ops per tensor.
    """
    norm_type = float(norm_type)
    if norm_type <= 0:
        raise ValueError(f"get_total_norm: norm_type must be positive or inf, got {norm_type}")
    tensors = _tensors(tensors)
    if not tensors:
        from ganglion.core.creation import tensor
        return tensor(0.0)
    total = _power_sum(tensors[0], norm_type)
    for t in tensors[1:]:
        part = _power_sum(t, norm_type)
        total = maximum(total, part) if norm_type == float("inf") else total + part
    if norm_type == 2:
        total = sqrt(total)
    elif norm_type != 1 and norm_type != float("inf"):
        total = total ** (1.0 / norm_type)
    if error_if_nonfinite and total._data is not None and not abs(float(total)) < float("inf"):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {float(total)}, "
                           "so they cannot be clipped; pass error_if_nonfinite=False to clip anyway")
    return total


@no_grad()
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients of ``parameters`` (one tensor or an iterable) together so that their
    total ``norm_type``-norm (2, 1, inf, or any p > 0) is at most ``max_norm``. Returns the
    total norm before clipping, as a 0-d tensor."""
    params = [p for p in _tensors(parameters) if p.grad is not None]
    total = get_total_norm([p.grad for p in params], norm_type, error_if_nonfinite)
    # PyTorch's rule, scaled by min(1, ...) so that gradients under the limit stay as they are;
    # the 1e-6 keeps a zero norm from dividing by zero.
    scale = clamp(float(max_norm) / (total + 1e-6), max=1.0)
    for p in params:
        _update_grad(p, lambda g: g * scale.to(g.dtype))
    return total


@no_grad()
def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element of ``parameters`` to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    for p in _tensors(parameters):
        if p.grad is not None:
            _update_grad(p, lambda g: clamp(g, -clip_value, clip_value))


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-D tensor (differentiable)."""
    tensors = _tensors(parameters)
    if not tensors:
        raise ValueError("parameters_to_vector: no parameters given")
    return concatenate([reshape(p, -1) for p in tensors])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D tensor ``vec`` into ``parameters``, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, got {type(vec).__name__}")
    if vec._data is None:
        raise TypeError("vector_to_parameters: the vector is symbolic and has no value")
    tensors = _tensors(parameters)
    total = sum(p.numel() for p in tensors)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: expected a vector of shape ({total},) for "
                         f"parameters with {total} elements, got {format_shape(vec.shape)}")
    offset = 0
    for p in tensors:
        n = p.numel()
        p._data[...] = vec._data[offset:offset + n].reshape(p.shape)
        bump_storage(p._data)
        offset += n
