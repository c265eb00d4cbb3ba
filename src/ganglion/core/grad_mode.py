"""Whether eager ops record the graph: ``no_grad``, ``enable_grad`` and ``set_grad_enabled``.

All three are context managers and decorators, as in PyTorch. ``set_grad_enabled(mode)`` also
works as a plain call: like PyTorch's, it sets the mode at once. The flag lives in a
one-element list so that the hot path in ``op.apply`` reads it with one index.
"""
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]

grad_enabled = [True]


def is_grad_enabled():
    """Whether operations now record the graph for backward (False inside ``no_grad``)."""
    return grad_enabled[0]


class _GradMode:
    """Sets the mode for a ``with`` block or for each call of a decorated function."""

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
            with _GradMode(mode):
                return fn(*args, **kwargs)
        return wrapper


class set_grad_enabled(_GradMode):
    """Set whether ops record gradients: at once (``set_grad_enabled(False)`` on its own line
    turns recording off until it is turned on again), or for a ``with`` block or a decorated
    function, after which the previous mode comes back."""

    def __init__(self, mode):
        super().__init__(mode)
        self._previous = grad_enabled[0]
        grad_enabled[0] = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        grad_enabled[0] = self._previous
        return False

    def __call__(self, fn):
        # Decorating must not change the mode of the code around the definition.
        grad_enabled[0] = self._previous
        return super().__call__(fn)


class no_grad(_GradMode):
    """Ops inside do not record the graph: results never require grad.

    Use as ``with no_grad():``, ``@no_grad()`` or ``@no_grad``.
    """

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if callable(func):
            # Used bare as ``@no_grad``: __init__ is skipped when __new__ returns the wrapper.
            self.__init__()
            return self(func)
        return self

    def __init__(self, func=None):
        super().__init__(False)


class enable_grad(_GradMode):
    """Turn recording back on inside a ``no_grad`` block (``with`` or decorator, like no_grad)."""

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if callable(func):
            self.__init__()
            return self(func)
        return self

    def __init__(self, func=None):
        super().__init__(True)
