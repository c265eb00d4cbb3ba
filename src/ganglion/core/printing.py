"""How tensors print: like PyTorch (``tensor([[1., 2.]], requires_grad=True)``)."""
from ganglion.core import dtypes

_DEFAULT_SHOWN = (dtypes.int64, dtypes.bool_)


def _format_array(array):
    from ganglion.backend import current
    xp = current.xp
    array = current.to_numpy(array)
    kwargs = dict(separator=", ", prefix="tensor(", threshold=1000, edgeitems=3)
    if array.dtype.kind == "f" and array.size:
        finite = array[xp.isfinite(array)]
        if finite.size and (finite != xp.round(finite)).any():
            large = xp.abs(finite).max()
            if large >= 1e8 or large < 1e-4:
                kwargs["formatter"] = {"float_kind": lambda v: f"{v:.4e}"}
            else:
                kwargs.update(precision=4, floatmode="fixed")
    return xp.array2string(array, **kwargs)


def tensor_repr(t):
    if t.data is None:
        name = f"{t.name!r}, " if t.name else ""
        dims = ", ".join("?" if d is None else str(d) for d in t.shape)
        return f"Symbolic({name}shape=({dims}{',' if t.ndim == 1 else ''}), dtype=ganglion.{t.dtype.name})"
    parts = [_format_array(t.data)]
    dtype = t.dtype
    if dtype is not dtypes.get_default_dtype() and dtype not in _DEFAULT_SHOWN:
        parts.append(f"dtype=ganglion.{dtype.name}")
    if t._op is not None:
        parts.append(f"grad_fn=<{type(t._op).__name__}Backward>")
    elif t.requires_grad:
        parts.append("requires_grad=True")
    return "tensor(" + ", ".join(parts) + ")"
