"""Kernel providers of the CPU backend, and the per-call choice between them.

A provider is a set of kernels for some of the backend's methods, with a name and an
``available()`` check (its library loads). Each of its kernels comes with an ``applies(*args)``
predicate that says, from the call's arguments alone (dtypes, shapes, options), whether the
kernel handles that call. The NumPy reference kernels (``backend/conv.py``, ``pool.py``,
``batchnorm.py`` and ``numpy_backend.py``) handle every call and come last.

Order (first that applies wins), by ``ganglion.config.kernels``:

=============  ====================================================================
``"auto"``     oneDNN, then the numba loops, then the NumPy reference
``"onednn"``   oneDNN where it applies, else the NumPy reference
``"numba"``    the numba loops where they apply, else the NumPy reference
``"numpy"``    the NumPy reference only
=============  ====================================================================

Forcing a provider therefore never fails: where it does not apply (oneDNN and float64, say) or
is not installed, the call runs on the NumPy reference, which gives the same results to
rounding. ``kernel_for(method, *args)`` names the provider a call would use.

Rule for speed: a backend method is a ``Dispatcher``; per call it reads the setting, looks up
the candidates for it in a dict (built once per setting, on first use: this is when numba or
oneDNN is imported) and tries their predicates in order, a few hundred nanoseconds in all.

Providers: ``numpy`` (the reference, always available), ``numba`` (``backend/numba_provider.py``,
needs the ``jit`` extra), ``onednn`` (``ganglion.backend.onednn``, the ``onednn`` extra), which is
imported on first use and whose kernels are registered from its own interface (``_onednn_kernels``).
"""
import importlib

from ganglion import config

__all__ = ["ORDER", "Kernel", "Provider", "Dispatcher", "dispatched", "providers", "provider", "register",
           "available_providers", "kernel_for"]

# The providers tried before the NumPy reference, in order, for each setting.
ORDER = {"auto": ("onednn", "numba"), "onednn": ("onednn",), "numba": ("numba",), "numpy": ()}


class Kernel:
    """One provider's implementation of one backend method, and when it applies."""

    __slots__ = ("function", "applies")

    def __init__(self, function, applies):
        self.function, self.applies = function, applies


class Provider:
    """A named set of kernels, loaded on first use.

    ``load()`` returns {method name: Kernel}; it may raise ImportError or OSError (the library
    is missing or does not load), in which case the provider is unavailable and ``reason`` says
    why. It runs once per process."""

    def __init__(self, name, load):
        self.name = name
        self._load = load
        self._kernels = None
        self.reason = None

    def kernels(self):
        """{method name: Kernel}; empty when the provider is not available."""
        if self._kernels is None:
            try:
                self._kernels = dict(self._load())
            except (ImportError, OSError) as error:
                self._kernels = {}
                self.reason = f"{type(error).__name__}: {error}"
        return self._kernels

    def available(self):
        """Whether the provider loaded (and so has kernels)."""
        return bool(self.kernels())

    def __repr__(self):
        state = "available" if self.available() else f"unavailable ({self.reason})"
        return f"<kernel provider {self.name!r}: {state}>"


_providers = {}
_dispatchers = []


def register(provider):
    """Add (or replace) a provider by name; the dispatchers forget their candidate lists."""
    _providers[provider.name] = provider
    for dispatcher in _dispatchers:
        dispatcher.forget()
    return provider


def providers():
    """{name: Provider} of the registered providers (the NumPy reference is not one)."""
    return dict(_providers)


def provider(name):
    """The registered provider called ``name``."""
    if name not in _providers:
        raise KeyError(f"no kernel provider {name!r}; registered: {', '.join(_providers)}")
    return _providers[name]


def available_providers():
    """The names of the providers that load here, in the "auto" order, then "numpy"."""
    return [name for name in ORDER["auto"] if name in _providers and _providers[name].available()] + ["numpy"]


def _candidates(method, setting):
    """(applies, function) pairs for ``method`` under the kernels setting, in order."""
    found = []
    for name in ORDER[setting]:
        kernel = _providers[name].kernels().get(method) if name in _providers else None
        if kernel is not None:
            found.append((kernel.applies, kernel.function))
    return tuple(found)


class Dispatcher:
    """A backend method: calls the first candidate kernel whose predicate accepts the
    arguments, else the NumPy reference ``reference``. ``dispatcher.call`` is the function the
    backend class holds (a closure: cheaper to call than an object's ``__call__``)."""

    def __init__(self, method, reference):
        self.method, self.reference = method, reference
        by_setting = self._by_setting = {}
        settings = config.settings
        candidates = self.candidates

        def call(*args, **kwargs):
            found = by_setting.get(settings.kernels)
            if found is None:
                found = candidates()
            for applies, function in found:
                if applies(*args, **kwargs):
                    return function(*args, **kwargs)
            return reference(*args, **kwargs)

        call.__name__ = call.__qualname__ = method
        call.__doc__ = reference.__doc__
        call.__wrapped__ = reference
        call.dispatcher = self
        self.call = call
        _dispatchers.append(self)

    def forget(self):
        self._by_setting.clear()

    def candidates(self):
        """The (applies, function) pairs tried, under the current setting."""
        setting = config.settings.kernels
        found = self._by_setting.get(setting)
        if found is None:
            found = self._by_setting[setting] = _candidates(self.method, setting)
        return found

    def choose(self, *args, **kwargs):
        """(provider name, function) that a call with these arguments runs."""
        for applies, function in self.candidates():
            if applies(*args, **kwargs):
                return _owner(self.method, function), function
        return "numpy", self.reference


def dispatched(method, reference):
    """The backend method ``method``: a function that dispatches between the providers' kernels
    and ``reference`` (see ``Dispatcher``)."""
    return Dispatcher(method, reference).call


def _owner(method, function):
    for name, registered in _providers.items():
        kernel = registered.kernels().get(method)
        if kernel is not None and kernel.function is function:
            return name
    return "numpy"


def kernel_for(method, *args):
    """The name of the provider that ``backend.<method>(*args)`` runs on now."""
    from ganglion.backend import current
    return getattr(type(current), method).dispatcher.choose(*args)[0]


# ----- the built-in providers ----------------------------------------------------------------

def _numba_kernels():
    from ganglion.backend import numba_provider
    return numba_provider.kernels()


def _onednn_kernels():
    """The oneDNN provider's kernels, from the interface documented at the top of
    ``ganglion.backend.onednn`` (float32 kernels with the NumPy kernels' signatures, and
    ``supports_*`` predicates over shapes, dtype and options, adapted here to the call's
    arguments): convolutions, pooling and matrix products. A kernel family whose module is not
    there is left out."""
    onednn = importlib.import_module("ganglion.backend.onednn")
    if not onednn.available():
        raise ImportError(f"oneDNN did not load: {onednn.unavailable_reason() or 'no reason given'}")
    found = {}
    try:
        conv = importlib.import_module("ganglion.backend.onednn.conv")
    except ImportError:
        conv = None
    if conv is not None:
        supports = conv.supports_conv2d

        def forward_applies(x, w, bias, stride, padding, dilation, groups):
            return (w.dtype == x.dtype and (bias is None or bias.dtype == x.dtype)
                    and supports(x.shape, w.shape, x.dtype, stride, padding, dilation, groups))

        def backward_input_applies(g, w, input_hw, stride, padding, dilation, groups):
            return w.dtype == g.dtype and supports(
                (g.shape[0], w.shape[1] * groups) + tuple(input_hw), w.shape, g.dtype, stride,
                padding, dilation, groups)

        def backward_weight_applies(x, g, kernel_hw, stride, padding, dilation, groups):
            return g.dtype == x.dtype and x.shape[1] % groups == 0 and supports(
                x.shape, (g.shape[1], x.shape[1] // groups) + tuple(kernel_hw), x.dtype, stride,
                padding, dilation, groups)

        found["conv2d_forward"] = Kernel(conv.conv2d_forward, forward_applies)
        found["conv2d_backward_input"] = Kernel(conv.conv2d_backward_input, backward_input_applies)
        found["conv2d_backward_weight"] = Kernel(conv.conv2d_backward_weight, backward_weight_applies)
    try:
        pool = importlib.import_module("ganglion.backend.onednn.pool")
    except ImportError:
        pool = None
    if pool is not None:
        found.update(_onednn_pool_kernels(pool))
    try:
        matmul = importlib.import_module("ganglion.backend.onednn.matmul")
    except ImportError:
        matmul = None
    if matmul is not None:
        found.update(_onednn_matmul_kernels(matmul))
    # Batch norm stays with numba / NumPy: on plain NCHW arrays oneDNN's batch normalization is
    # slower than both (the onednn package's interface notes).
    return found


def _onednn_matmul_kernels(matmul):
    """oneDNN's matmul for float32 2-D products of at least ``matmul.SMALLEST_PRODUCT``
    multiply-adds whose left operand is not a transposed view (that module's rule), outside
    the kernels that split their work over the pool
    (``backend.matmul.inside_split``); smaller, batched, float64 and integer products stay
    with the NumPy reference (OpenBLAS). Each is followed by ``backend.matmul.after_onednn``."""
    import numpy as np

    from ganglion.backend.matmul import after_onednn, inside_split
    f32, usable = np.dtype(np.float32), matmul.library.usable

    def then_keep_blas_single_threaded(function):
        def run(*args, **kwargs):
            result = function(*args, **kwargs)
            after_onednn()
            return result
        run.__name__ = run.__qualname__ = function.__name__
        run.__doc__ = function.__doc__
        return run

    def large(m, k, n):
        return m * k * n >= matmul.SMALLEST_PRODUCT

    def matmul_applies(a, b, out=None):
        return (a.ndim == 2 and b.ndim == 2 and a.dtype == f32 and b.dtype == f32
                and a.shape[1] == b.shape[0] and large(a.shape[0], a.shape[1], b.shape[1])
                and a.strides[0] >= a.strides[1]
                and (out is None or out.dtype == f32) and not inside_split() and usable())

    def linear_applies(x, weight, bias=None):
        return (x.ndim == 2 and weight.ndim == 2 and x.dtype == f32 and weight.dtype == f32
                and x.shape[1] == weight.shape[1] and large(x.shape[0], x.shape[1], weight.shape[0])
                and x.strides[0] >= x.strides[1]
                and (bias is None or (bias.dtype == f32 and bias.shape == weight.shape[:1]))
                and not inside_split() and usable())

    def fixed_right_applies(b, rows):
        return (b.ndim == 2 and b.dtype == f32 and large(rows, b.shape[0], b.shape[1])
                and not inside_split() and usable())

    # After each (for fixed_right: when the loop's product is made), BLAS's next products keep
    # to one thread (backend.matmul.after_onednn).
    return {"matmul": Kernel(then_keep_blas_single_threaded(matmul.matmul), matmul_applies),
            "linear_forward": Kernel(then_keep_blas_single_threaded(matmul.linear), linear_applies),
            "fixed_right_product": Kernel(then_keep_blas_single_threaded(matmul.fixed_right),
                                          fixed_right_applies)}


def _onednn_pool_kernels(pool):
    """oneDNN's pooling: max pooling forward and argmax and average pooling wherever supported,
    the max-pooling scatter only where the package prefers it (overlapping windows)."""
    supports_max, supports_avg = pool.supports_max_pool2d, pool.supports_avg_pool2d

    # Inputs with NaN or -inf go to the next provider (pool.outside_max_pooling says why). The
    # argmax checks the pooled values, a quarter of the input for 2x2 windows: they hold NaN
    # or -inf wherever the forward pass had to leave oneDNN.
    def max_applies(x, kernel, stride, padding, dilation, ceil_mode):
        return (supports_max(x.shape, x.dtype, kernel, stride, padding, dilation, ceil_mode)
                and not pool.outside_max_pooling(x))

    def argmax_applies(x, out, kernel, stride, padding, dilation, ceil_mode):
        return (supports_max(x.shape, x.dtype, kernel, stride, padding, dilation, ceil_mode)
                and not pool.outside_max_pooling(out))

    def scatter_applies(grad, arg, in_shape, kernel, stride, padding, dilation, ceil_mode):
        return (supports_max(tuple(in_shape), grad.dtype, kernel, stride, padding, dilation, ceil_mode)
                and pool.prefers_max_pool2d_scatter(tuple(in_shape), kernel, stride, padding, dilation,
                                                    ceil_mode))

    def avg_applies(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
        return supports_avg(x.shape, x.dtype, kernel, stride, padding, ceil_mode, count_include_pad,
                            divisor_override)

    def avg_backward_applies(grad, in_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                             divisor_override):
        return supports_avg(tuple(in_shape), grad.dtype, kernel, stride, padding, ceil_mode,
                            count_include_pad, divisor_override)

    return {"max_pool2d": Kernel(pool.max_pool2d, max_applies),
            "max_pool2d_argmax": Kernel(pool.max_pool2d_argmax, argmax_applies),
            "max_pool2d_scatter": Kernel(pool.max_pool2d_scatter, scatter_applies),
            "avg_pool2d": Kernel(pool.avg_pool2d, avg_applies),
            "avg_pool2d_backward": Kernel(pool.avg_pool2d_backward, avg_backward_applies)}


register(Provider("numba", _numba_kernels))
register(Provider("onednn", _onednn_kernels))
