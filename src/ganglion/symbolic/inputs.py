"""Inputs of compiled functions: ``In`` (defaults and keyword names) and the conversion of the
values a caller passes (numbers, lists, arrays, tensors) to the input's dtype.

Conversion follows Theano: a value is cast to the input's dtype when no information is lost
(an int to a float input, float32 to float64); a float for an integer input, a float64 array for
a float32 input (unless ``allow_input_downcast``) or a wrong number of dimensions is a TypeError
that names the input.
"""
from ganglion.backend import current as backend
from ganglion.core.tensor import Tensor
from ganglion.symbolic.graph import describe
from ganglion.symbolic.shared import SharedVariable

__all__ = ["In", "InputSpec"]


class In:
    """A function input with a default ``value`` and the keyword ``name`` that overrides it."""

    def __init__(self, variable, value=None, name=None):
        if (not isinstance(variable, Tensor) or variable._data is not None or variable._op is not None
                or isinstance(variable, SharedVariable)):
            raise TypeError(f"function: inputs must be placeholders (e.g. dscalar('x')), got "
                            f"{variable!r}; shared variables and computed tensors are read "
                            "inside the graph, not passed in")
        self.variable = variable
        self.value = value
        self.name = name if name is not None else variable.name
        self.has_default = value is not None


class InputSpec:
    """How one input of a compiled function is bound: its slot, name, default and conversion."""

    __slots__ = ("variable", "name", "default", "has_default", "slot", "np_dtype", "ndim",
                 "known_dims", "downcast")

    def __init__(self, item, position, allow_downcast):
        item = item if isinstance(item, In) else In(item)
        self.variable = item.variable
        self.name = item.name or f"input {position}"
        self.has_default = item.has_default
        self.slot = None
        self.np_dtype = backend.xp.dtype(self.variable.dtype.np)
        self.ndim = self.variable.ndim
        self.known_dims = tuple((axis, d) for axis, d in
                                enumerate(self.variable.tensor_type.shape) if d is not None)
        self.downcast = allow_downcast
        self.default = self.convert(item.value) if item.has_default else None

    def convert(self, value):
        """``value`` as an array of this input's dtype and rank, or a TypeError naming the input."""
        xp = backend.xp
        if isinstance(value, Tensor):
            value = value._value(f"input {self.name!r}")
        if isinstance(value, xp.ndarray) and value.dtype == self.np_dtype and value.ndim == self.ndim:
            array = value
        else:
            array = self._cast(value)
        for axis, d in self.known_dims:
            if array.shape[axis] != d:
                raise TypeError(f"function: input {self.name!r} needs shape "
                                f"{describe(self.variable).split(' ', 1)[-1]}, got an array of "
                                f"shape {tuple(array.shape)} (dimension {axis} is "
                                f"{array.shape[axis]}, expected {d})")
        return array

    def _cast(self, value):
        xp = backend.xp
        is_array = isinstance(value, xp.ndarray) or hasattr(value, "dtype")
        array = xp.asarray(value)
        if array.dtype.kind in "OSUV":
            raise TypeError(f"function: input {self.name!r} expects numbers of dtype "
                            f"{self.np_dtype}, got {type(value).__name__} {value!r}")
        if array.ndim != self.ndim:
            raise TypeError(f"function: input {self.name!r} expects a {self.ndim}-d value "
                            f"({describe(self.variable)}), got {array.ndim}-d data of shape "
                            f"{tuple(array.shape)}")
        # Python numbers and lists carry no precision of their own: only their kind counts.
        rule = "same_kind" if self.downcast or not is_array else "safe"
        if not xp.can_cast(array.dtype, self.np_dtype, rule):
            raise TypeError(f"function: input {self.name!r} has dtype {self.np_dtype}; a value of "
                            f"dtype {array.dtype} cannot be converted to it without loss of "
                            "precision. Cast the data first (or pass allow_input_downcast=True "
                            "to function for float64 data to a float32 input)")
        return array.astype(self.np_dtype, copy=False)
