"""Whether eager ops record the graph: ``no_grad`` and ``enable_grad``.

Both are context managers and decorators, as in PyTorch. The flag lives in a one-element list
so that the hot path in ``op.apply`` reads it with one index.
"""
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

grad_enabled = [True]


def is_grad_enabled():
    return grad_enabled[0]


class set_grad_enabled:
    """Set whether ops record gradients, for the block (or the decorated function)."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._saved = []

    def __enter__(self):
        self._saved.append(grad_enabled[0])
        grad_enabled[0] = self.mode
        return self

    def __exit__(self, *exc):
        grad_enabled[0] = self._saved.pop()
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """Ops inside do not record the graph: results never require grad.

    Use as ``with no_grad():``, ``@no_grad()`` or ``@no_grad``.
    """

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self(func) if callable(func) else self

    def __init__(self, func=None):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turn recording back on inside a ``no_grad`` block (``with`` or decorator, like no_grad)."""

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self(func) if callable(func) else self

    def __init__(self, func=None):
        super().__init__(True)
