"""How tensors print: like PyTorch (``tensor([[1., 2.]], requires_grad=True)``).

The layout follows PyTorch's printer (``torch/_tensor_str.py``) with its default options: one
format for all elements, chosen from the nonzero finite values (integral floats print as ``1.``,
others with 4 decimals, scientific notation when the values span more than a factor of 1000, or
go above 1e8 or below 1e-4), every element padded to the widest, 80 columns, and tensors of more
than 1000 elements summarized by their first and last 3 items along each dimension.
"""
import math

from ganglion.core import dtypes

_DEFAULT_SHOWN = (dtypes.int64, dtypes.bool_)
_PRECISION = 4
_THRESHOLD = 1000
_EDGEITEMS = 3
_LINEWIDTH = 80


class _Formatter:
    """One format for every element of a tensor, as PyTorch's ``_Formatter``."""

    def __init__(self, values, floating):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not floating:
            for v in values:
                self.max_width = max(self.max_width, len(str(v)))
            return
        finite = [abs(v) for v in values if math.isfinite(v) and v != 0]
        if not finite:
            return
        low, high = min(finite), max(finite)
        self.int_mode = all(v == math.ceil(v) for v in finite)
        self.sci_mode = high / low > 1000.0 or high > 1.0e8 or (not self.int_mode and low < 1.0e-4)
        signed = [v for v in values if math.isfinite(v) and v != 0]
        for v in signed:
            if self.sci_mode:
                width = len(f"{v:.{_PRECISION}e}")
            elif self.int_mode:
                width = len(f"{v:.0f}") + 1
            else:
                width = len(f"{v:.{_PRECISION}f}")
            self.max_width = max(self.max_width, width)

    def format(self, value):
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{_PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if math.isfinite(value):
                text += "."
        else:
            text = f"{value:.{_PRECISION}f}"
        return " " * (self.max_width - len(text)) + text


def _summarized(array):
    """The elements that a summarized print shows (the edges of every dimension)."""
    if array.ndim == 0:
        return [array.item()]
    if array.ndim == 1:
        items = array.tolist()
        return items[:_EDGEITEMS] + items[-_EDGEITEMS:] if len(items) > 2 * _EDGEITEMS else items
    rows = range(array.shape[0])
    if array.shape[0] > 2 * _EDGEITEMS:
        rows = list(rows[:_EDGEITEMS]) + list(rows[-_EDGEITEMS:])
    return [v for i in rows for v in _summarized(array[i])]


def _vector(items, indent, summarize, formatter):
    per_line = max(1, (_LINEWIDTH - indent) // (formatter.max_width + 2))
    if summarize and len(items) > 2 * _EDGEITEMS:
        texts = ([formatter.format(v) for v in items[:_EDGEITEMS]] + [" ..."]
                 + [formatter.format(v) for v in items[-_EDGEITEMS:]])
    else:
        texts = [formatter.format(v) for v in items]
    lines = [", ".join(texts[i:i + per_line]) for i in range(0, len(texts), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(array, indent, summarize, formatter):
    if array.ndim == 0:
        return formatter.format(array.item())
    if array.ndim == 1:
        return _vector(array.tolist(), indent, summarize, formatter)
    n = array.shape[0]
    if summarize and n > 2 * _EDGEITEMS:
        parts = ([_nested(array[i], indent + 1, summarize, formatter) for i in range(_EDGEITEMS)]
                 + ["..."]
                 + [_nested(array[i], indent + 1, summarize, formatter) for i in range(n - _EDGEITEMS, n)])
    else:
        parts = [_nested(array[i], indent + 1, summarize, formatter) for i in range(n)]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_array(array, indent):
    """The bracketed values of a host array, as PyTorch prints them after ``indent`` columns."""
    if array.size == 0:
        return "[]"
    summarize = array.size > _THRESHOLD
    values = _summarized(array) if summarize else array.reshape(-1).tolist()
    formatter = _Formatter(values, array.dtype.kind == "f")
    return _nested(array, indent, summarize, formatter)


def _add_suffixes(text, suffixes, indent):
    last_line = len(text) - text.rfind("\n") + 1
    parts = [text]
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > _LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def tensor_repr(t):
    if t._data is None:
        name = f"{t.name!r}, " if t.name else ""
        dims = ", ".join("?" if d is None else str(d) for d in t._type.shape)
        return f"Symbolic({name}shape=({dims}{',' if t.ndim == 1 else ''}), dtype=ganglion.{t.dtype.name})"
    from ganglion.backend import current
    array = current.to_numpy(t._data)
    prefix = "tensor("
    dtype = t.dtype
    suffixes = []
    if array.size == 0:
        # Nothing shows the shape or (for int64) the dtype of an empty tensor: name them.
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype is not dtypes.get_default_dtype():
            suffixes.append(f"dtype=ganglion.{dtype.name}")
    elif dtype is not dtypes.get_default_dtype() and dtype not in _DEFAULT_SHOWN:
        suffixes.append(f"dtype=ganglion.{dtype.name}")
    if t._op is not None:
        suffixes.append(f"grad_fn=<{type(t._op).__name__}Backward>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + format_array(array, len(prefix)), suffixes, len(prefix))
