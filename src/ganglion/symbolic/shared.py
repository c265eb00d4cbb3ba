"""Shared variables: values with persistent storage that compiled functions read and update.

As in Theano, a shared variable is symbolic inside expressions: ``state * 2`` is a graph, not a
number computed now, so ``givens`` can replace it and every compiled function reads its current
value when called. Its value lives in ``storage``, with ``get_value`` / ``set_value``. Python
floats stay float64 and ints int64, as in Theano.

Any other tensor that holds a value (an ``nn.Parameter``, a tensor made eagerly) also acts as a
shared variable inside a graph: its ``data`` is read at call time and it may be updated.
"""
from ganglion.backend import current as backend
from ganglion.core.dtypes import from_numpy_dtype
from ganglion.core.tensor import Tensor, TensorType, make_tensor

__all__ = ["SharedVariable", "shared", "value_attribute"]


class SharedVariable(Tensor):
    """A symbolic tensor whose value is kept in ``storage`` between calls."""

    __slots__ = ("storage",)

    def get_value(self, borrow=False):
        """The current value as an array (a copy unless ``borrow``)."""
        return self.storage if borrow else backend.to_numpy(self.storage).copy()

    def set_value(self, value, borrow=False):
        """Replace the value; its dtype is kept. A new shape needs functions compiled again."""
        array = backend.asarray(value)
        if not backend.xp.can_cast(array.dtype, self.storage.dtype, "same_kind"):
            raise TypeError(f"set_value: shared variable {self.name!r} has dtype "
                            f"{self.storage.dtype}, cannot store a value of dtype {array.dtype}")
        self.storage = array.astype(self.storage.dtype, copy=not borrow)
        self._type = TensorType(self._type.dtype, self.storage.shape)
        self._version += 1


def shared(value, name=None, borrow=False):
    """A SharedVariable holding ``value`` (a copy unless ``borrow``). Floating ones require grad,
    so that ``grad(cost, [w, b])`` can differentiate with respect to them."""
    if isinstance(value, Tensor):
        value = value._value("shared")
    array = backend.asarray(value)
    if not borrow:
        array = array.copy()
    dtype = from_numpy_dtype(array.dtype)
    variable = make_tensor(None, cls=SharedVariable)
    variable.storage = array
    variable._type = TensorType(dtype, array.shape)
    variable.requires_grad = dtype.is_floating_point
    variable.name = name
    return variable


def value_attribute(t):
    """Where a compiled function reads and writes the value of ``t``: ``storage`` or ``_data``."""
    return "storage" if isinstance(t, SharedVariable) else "_data"
