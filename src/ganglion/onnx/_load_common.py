"""Helpers shared by the operator files of ``ganglion.onnx.load``: the error for what cannot
run, and conversions between static (NumPy) values and ganglion tensors (see _load_ops)."""
import numpy as np

import ganglion as gn

__all__ = ["UnsupportedOnnxError", "unsupported", "is_static", "as_tensor", "static_ints",
           "known", "reshape_target", "optional"]


class UnsupportedOnnxError(NotImplementedError):
    """An operator, attribute value or input form that ganglion.onnx.load cannot run."""


def unsupported(node, what):
    raise UnsupportedOnnxError(f"ganglion.onnx.load: node {node.name!r} ({node.op_type}, opset "
                               f"{node.opset}): {what} is not supported")


# ----- conversions between static (NumPy) values and tensors ------------------------------

def is_static(value):
    return isinstance(value, np.ndarray)


def as_tensor(value):
    """A NumPy value as a tensor sharing its memory (a constant in a compiled graph)."""
    if isinstance(value, np.ndarray):
        return gn.from_numpy(np.ascontiguousarray(value))
    return value


def static_ints(node, value, what):
    """``value`` (a static array or a tensor holding a value) as a tuple of Python ints."""
    if value is None:
        return None
    if isinstance(value, gn.Tensor):
        if value.is_symbolic:
            unsupported(node, f"a {what} computed from the model's inputs (it must be known "
                               "when the graph runs)")
        value = value.detach().numpy()
    return tuple(int(v) for v in np.asarray(value).reshape(-1))


def known(size):
    """Whether a dimension is a number now (a symbolic placeholder's free dims are not)."""
    return isinstance(size, (int, np.integer))


def reshape_target(node, shape):
    """A shape for gn.reshape: the one dimension not known now becomes -1."""
    free = [k for k, d in enumerate(shape) if not known(d) or d == -1]
    if len(free) > 1:
        unsupported(node, f"a reshape to {len(free)} dimensions unknown when the graph is built")
    return tuple(-1 if k in free else int(d) for k, d in enumerate(shape))


def optional(inputs, k):
    return inputs[k] if len(inputs) > k else None
