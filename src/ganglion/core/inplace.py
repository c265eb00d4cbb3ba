"""In-place operations (``x += y``, ``x.add_(y)``, ``x[i] = v``, ``zero_()``, ...).

Outside a recorded graph they write into the existing array, so views of it see the change, and
bump the tensor's version counter, which backward checks to refuse gradients computed from
overwritten values. On a tensor inside a recorded graph the result is computed out of place and
the tensor is *rebound* to it: its previous value and node move to a hidden tensor that the new
node takes as input, so the graph stays correct (views made earlier do not see that change).
A leaf that requires grad cannot be changed in place while grad mode is on, as in PyTorch.
"""
from ganglion.core import tracing
from ganglion.core.grad_mode import grad_enabled, no_grad
from ganglion.core.op import format_shape
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.core.versions import bump_storage, version_of

__all__ = ["inplace", "rebind"]


def inplace(x, fn, *args, name="in-place op"):
    """``x = fn(x, *args)`` performed in place on x (see the module docstring)."""
    if tracing.active:  # jit is tracing: the change becomes an update of the compiled function
        return tracing.active[-1].inplace(x, fn, args, name)
    if x._data is None:
        return fn(x, *args)
    records = grad_enabled[0] and (x.requires_grad or any(
        isinstance(a, Tensor) and a.requires_grad for a in args))
    if records:
        if x._op is None and x.requires_grad:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be changed in place (its "
                "gradient would be wrong). Do it inside `with ganglion.no_grad():`, or use an "
                "out-of-place op (x = x + y).")
        new = fn(x, *args)
        _check_result(name, x, new)
        if new.dtype is not x.dtype:
            new = new.to(x.dtype)
        return rebind(x, new)
    with no_grad():
        new = fn(x, *args)
    if new._data is None:
        raise TypeError(f"{name}: a tensor holding a value cannot be changed in place by a symbolic "
                        "expression outside ganglion.jit; compile the change as an update "
                        "instead: ganglion.function(..., updates=[(tensor, new_value)])")
    _check_result(name, x, new)
    try:
        x._data[...] = new._data
    except ValueError:
        if x._data.flags.writeable:
            raise
        from ganglion.core.dlpack import read_only_error
        raise read_only_error(name) from None
    bump_storage(x._data)
    return x


def _check_result(name, x, new):
    if new.shape != x.shape:
        raise RuntimeError(f"{name}: the result has shape {format_shape(new.shape)} but the tensor "
                           f"changed in place has shape {format_shape(x.shape)}; in-place ops cannot "
                           "broadcast the tensor they change")
    if new.dtype.category > x.dtype.category:
        raise RuntimeError(f"{name}: result type {new.dtype} cannot be stored in place in a tensor "
                           f"of type {x.dtype}")


def rebind(x, new):
    """Make ``x`` hold ``new``'s value and node; x's old value and node move to a hidden tensor."""
    old = make_tensor(x._data)
    old.requires_grad = x.requires_grad
    old._op = x._op
    old._inputs = x._inputs
    old._saved_versions = x._saved_versions
    old._own_version = x._own_version
    old._hooks = x._hooks
    old._type = x._type  # a symbolic value's dtype and shape (it has no array to read them from)
    if new._inputs:
        new._inputs = tuple(old if i is x else i for i in new._inputs)
    x._data = new._data
    x._type = new._type
    x.requires_grad = new.requires_grad
    x._op = new._op
    x._inputs = new._inputs
    x._hooks = None
    x._own_version += 1
    saved = new._saved_versions
    x._saved_versions = None if saved is None else (version_of(x),) + saved[1:]
    return x
