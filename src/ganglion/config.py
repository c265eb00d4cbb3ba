"""ganglion's settings: one place that reads the environment, once, and that code can change.

Every behaviour switch of the library is an attribute of this module, read by the code that
uses it at the time of each call (so a change takes effect on the next call)::

    import ganglion as gn
    gn.config.kernels = "numpy"                 # from here on
    with gn.config(kernels="numba", fusion=False):
        ...                                     # inside the block only; restored on exit

- ``kernels`` (``GANGLION_KERNELS``): which kernel providers the CPU backend uses. ``"auto"``
  (default): every available one, in the order oneDNN, numba loops, NumPy; ``"numpy"``: the
  NumPy reference kernels only; ``"numba"`` / ``"onednn"``: that provider wherever it applies,
  else the NumPy reference (``ganglion.backend.providers``).
- ``fusion`` (``GANGLION_FUSION``): compile chains of elementwise ops in ``gn.function`` graphs
  into one numba loop (default on; ``0`` / ``False`` turns it off; needs the ``jit`` extra).
- ``layout_propagation`` (``GANGLION_LAYOUT_PROPAGATION``): keep convolution activations in
  oneDNN's blocked layout between the ops that read it, converting only where another op reads
  them: eagerly (``core/blocked_tensor.py``) and in compiled functions
  (``symbolic/rewrites/onednn_layout.py``); default on, where oneDNN runs the convolutions.
- ``array_cache_mb`` (``GANGLION_ARRAY_CACHE_MB``): megabytes of unused large arrays kept for
  reuse by the kernels (default 2048; 0 keeps none).
- ``num_threads`` (``GANGLION_NUM_THREADS``): threads ganglion's CPU kernels split work over
  (default None: one per core); when set, OpenBLAS's thread count is set to it as well.
- ``kernel_cache_dir`` (``GANGLION_KERNEL_CACHE_DIR``): root of the compiled-loop cache
  (default None: ``$XDG_CACHE_HOME/ganglion`` or ``~/.cache/ganglion``).
- ``dataset_cache_dir`` (``GANGLION_DATASET_CACHE_DIR``): where derived dataset files
  (decoded-image caches) go (default None: ``~/.cache/ganglion/cache``).

The cache variables were called ``GANGLION_CACHE_DIR`` (compiled loops) and ``GANGLION_CACHE``
(datasets), names that did not say which cache they were; both still work, with a
``DeprecationWarning``. ``GANGLION_DATA`` (where datasets are read from) is not a setting here: the
dataset classes read it (``ganglion.data.paths``).

A bad value, in code or in the environment, raises a ``ValueError`` that names the setting and
the values it takes. The module object itself is the settings object (its class is replaced
below, as the Python documentation's "customizing module attribute access" describes), so
``ganglion.config``, ``import ganglion.config`` and ``from ganglion import config`` are one thing.
"""
import os
import sys
import types
import warnings
from contextlib import contextmanager

__all__ = ["KERNEL_CHOICES", "SETTINGS", "settings", "reset"]

KERNEL_CHOICES = ("auto", "numpy", "numba", "onednn")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _switch(name):
    def check(value):
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        elif isinstance(value, (bool, int)) and value in (0, 1):
            return bool(value)
        raise ValueError(f"ganglion.config: {name} must be True or False (or one of "
                         f"{', '.join(_TRUE + _FALSE)} as a string), got {value!r}")
    return check


_fusion = _switch("fusion")


def _kernels(value):
    if isinstance(value, str) and value.strip().lower() in KERNEL_CHOICES:
        return value.strip().lower()
    raise ValueError(f"ganglion.config: kernels must be one of {', '.join(map(repr, KERNEL_CHOICES))}, "
                     f"got {value!r}")


def _array_cache_mb(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not number >= 0 or number == float("inf"):
        raise ValueError(f"ganglion.config: array_cache_mb must be a finite number of megabytes "
                         f">= 0 (0 turns the array cache off), got {value!r}")
    return number


def _num_threads(value):
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "auto")):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or number < 1 or number != float(value):
        raise ValueError(f"ganglion.config: num_threads must be a whole number >= 1, or None for "
                         f"one thread per core, got {value!r}")
    return number


def _directory(name):
    def check(value):
        if value is None or value == "":
            return None
        if isinstance(value, (str, os.PathLike)):
            return os.path.abspath(os.path.expanduser(os.fspath(value)))
        raise ValueError(f"ganglion.config: {name} must be a folder path (str or os.PathLike) or "
                         f"None for the default, got {value!r}")
    return check


# name -> (environment variable, deprecated environment variable or None, default, validator)
SETTINGS = {
    "kernels": ("GANGLION_KERNELS", None, "auto", _kernels),
    "fusion": ("GANGLION_FUSION", None, True, _fusion),
    "layout_propagation": ("GANGLION_LAYOUT_PROPAGATION", None, True, _switch("layout_propagation")),
    "array_cache_mb": ("GANGLION_ARRAY_CACHE_MB", None, 2048.0, _array_cache_mb),
    "num_threads": ("GANGLION_NUM_THREADS", None, None, _num_threads),
    "kernel_cache_dir": ("GANGLION_KERNEL_CACHE_DIR", "GANGLION_CACHE_DIR", None,
                         _directory("kernel_cache_dir")),
    "dataset_cache_dir": ("GANGLION_DATASET_CACHE_DIR", "GANGLION_CACHE", None,
                          _directory("dataset_cache_dir")),
}


class _Values:
    """The current values, as plain attributes: what hot paths read (``config.settings.kernels``
    is one attribute lookup; the module's properties add a function call)."""

    __slots__ = tuple(SETTINGS)


settings = _Values()
# Functions called as hook(name, value) after a setting changes (the backend registers the one
# that applies num_threads to OpenBLAS).
_hooks = []


def _from_environment(environ):
    """{name: value} read from ``environ``; a deprecated variable is used (with a warning) only
    where the new one is unset."""
    values = {}
    for name, (variable, old_variable, default, check) in SETTINGS.items():
        raw = environ.get(variable)
        if raw is None and old_variable is not None and environ.get(old_variable) is not None:
            raw = environ[old_variable]
            warnings.warn(f"the environment variable {old_variable} is deprecated: set {variable} "
                          f"instead (ganglion.config.{name})", DeprecationWarning, stacklevel=3)
        if raw is None:
            values[name] = default
            continue
        try:
            values[name] = check(raw)
        except ValueError as error:
            raise ValueError(f"{error} (from the environment variable "
                             f"{variable if environ.get(variable) is not None else old_variable})") from None
    return values


def _assign(name, value):
    """Validate and store one setting, then run the hooks."""
    if name not in SETTINGS:
        raise AttributeError(f"ganglion.config has no setting {name!r}; the settings are "
                             f"{', '.join(SETTINGS)}")
    value = SETTINGS[name][3](value)
    setattr(settings, name, value)
    for hook in _hooks:
        hook(name, value)


def reset(environ=None):
    """Set every setting from ``environ`` (default ``os.environ``) again, as at import."""
    for name, value in _from_environment(os.environ if environ is None else environ).items():
        _assign(name, value)


def on_change(hook):
    """Call ``hook(name, value)`` after each change of a setting (for the backend's own use)."""
    _hooks.append(hook)
    return hook


def _setting_property(name):
    """The module attribute ``name``: reads the current value, validates an assignment (a data
    descriptor, so ``monkeypatch.setattr(gn.config, name, value)`` restores it too)."""
    return property(lambda module: getattr(settings, name),
                    lambda module, value: _assign(name, value),
                    doc=f"The ``{name}`` setting (environment variable {SETTINGS[name][0]}).")


class _ConfigModule(types.ModuleType):
    """This module, with each setting a validated attribute and a call that opens a scope."""

    def __getattr__(self, name):
        # Only reached for names that are neither settings nor in the module's namespace.
        raise AttributeError(f"module 'ganglion.config' has no attribute {name!r}; the settings "
                             f"are {', '.join(SETTINGS)}")

    def __setattr__(self, name, value):
        if name in SETTINGS:
            super().__setattr__(name, value)
        elif name.startswith("__") or name in self.__dict__:
            # Module machinery (__spec__, __loader__ after reload) and monkeypatching helpers.
            super().__setattr__(name, value)
        else:
            raise AttributeError(f"ganglion.config has no setting {name!r}; the settings are "
                                 f"{', '.join(SETTINGS)}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(SETTINGS))

    def __call__(self, **changes):
        """A context manager: the given settings inside the ``with`` block, the previous values
        restored on exit (also when the block raises). Every value is checked before any is
        set, so a bad one changes nothing."""
        for name, value in changes.items():
            if name not in SETTINGS:
                raise AttributeError(f"ganglion.config has no setting {name!r}; the settings are "
                                     f"{', '.join(SETTINGS)}")
            SETTINGS[name][3](value)
        return _scope(changes)

    def as_dict(self):
        """{setting: current value}."""
        return {name: getattr(settings, name) for name in SETTINGS}

    def __repr__(self):
        return "ganglion.config(" + ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items()) + ")"


for _name in SETTINGS:
    setattr(_ConfigModule, _name, _setting_property(_name))


@contextmanager
def _scope(changes):
    previous = {name: getattr(settings, name) for name in changes}
    try:
        for name, value in changes.items():
            _assign(name, value)
        yield sys.modules[__name__]
    finally:
        for name, value in previous.items():
            _assign(name, value)


for _name, _value in _from_environment(os.environ).items():
    setattr(settings, _name, _value)
del _name, _value

sys.modules[__name__].__class__ = _ConfigModule
