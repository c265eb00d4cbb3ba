"""The exception types ganglion raises for bad input, in one place.

Where PyTorch raises RuntimeError for a bad call and NumPy-style code expects ValueError,
TypeError or IndexError, ganglion raises a class that is both, so an ``except`` clause written
for either library catches it. Messages name the op or function, the offending shapes or values,
and what was expected.
"""

__all__ = ["ShapeError", "ArgumentError", "DTypeError", "UnsupportedDTypeError",
           "IndexRangeError", "IntegerDivisionByZero"]


class ShapeError(ValueError, RuntimeError):
    """Shapes that an op cannot take. A ValueError for NumPy-style code and a RuntimeError for
    code ported from PyTorch, which raises RuntimeError for shape mismatches."""


class ArgumentError(ValueError, RuntimeError):
    """An argument outside the values a function accepts (a zero arange step, a negative count,
    label_smoothing above 1, probabilities outside [0, 1]): the RuntimeError PyTorch raises for
    these, and the ValueError NumPy raises."""


class DTypeError(TypeError, RuntimeError):
    """Data, a tensor or an index of the wrong type where PyTorch raises RuntimeError: None or an
    object given to ``tensor()`` ("Could not infer dtype of NoneType"), a mask that is not bool,
    float indices given to embedding or index_select."""


class UnsupportedDTypeError(TypeError, NotImplementedError):
    """A dtype a function cannot produce (``rand`` of int64): PyTorch's NotImplementedError,
    and a TypeError, since the dtype is the wrong kind."""


class IndexRangeError(IndexError, ValueError, RuntimeError):
    """An index (or class value) outside its dimension. PyTorch raises IndexError for some ops
    (x[idx], embedding, cross-entropy targets) and RuntimeError for others (gather, scatter_add,
    index_select on a matrix, one_hot); ganglion's one_hot raised ValueError. This error is all
    three, so code written against any of them catches it."""


class IntegerDivisionByZero(ZeroDivisionError, RuntimeError):
    """An integer tensor divided by a zero element. PyTorch raises a RuntimeError (its message
    is "ZeroDivisionError"); this is both, so either ``except`` clause catches it."""
