"""The BLAS library's thread count, read and set through its C interface.

The convolution kernels split the batch over the cores themselves and run one single-threaded
GEMM per chunk of images on each core: BLAS's own threads would then compete with them. NumPy
does not expose the thread count, so it is set through the C functions of the OpenBLAS that
NumPy loaded (found, as threadpoolctl finds it, among the libraries mapped into the process).
Where that is not possible (another BLAS, or no /proc), ``available()`` is False and callers run
on one thread of their own instead, leaving the cores to BLAS.
"""
import ctypes
import re
import threading
from contextlib import contextmanager

__all__ = ["available", "single_threaded", "set_count"]

# (get, set) symbol names in OpenBLAS builds: NumPy's scipy-openblas (64-bit integers, with
# and without the trailing underscore), plain OpenBLAS.
_SYMBOLS = [("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
            ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
            ("openblas_get_num_threads", "openblas_set_num_threads")]
_functions = []
_lock = threading.Lock()
_depth = 0
_saved = None


def _load():
    """[(get, set)] for the OpenBLAS mapped into this process, or []; looked up once."""
    if _functions:
        return _functions[0]
    found = []
    try:
        import numpy  # noqa: F401  (make sure NumPy's BLAS is loaded before looking)
        with open("/proc/self/maps") as maps:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read())))
        for path in paths:
            library = ctypes.CDLL(path)
            for get_name, set_name in _SYMBOLS:
                if hasattr(library, get_name) and hasattr(library, set_name):
                    get, set_ = getattr(library, get_name), getattr(library, set_name)
                    get.restype, set_.restype, set_.argtypes = ctypes.c_int, None, [ctypes.c_int]
                    found.append((get, set_))
                    break
    except OSError:
        found = []
    _functions.append(found)
    return found


def available():
    """Whether this process's BLAS thread count can be set."""
    return bool(_load())


_initial = []


def set_count(count):
    """Set BLAS's thread count to ``count`` (None: back to the count it had before the first
    call); nothing where the count cannot be set. Inside a ``single_threaded`` block the new
    count applies when the block ends."""
    global _saved
    functions = _load()
    if not functions:
        return
    if not _initial:
        _initial.append([get() for get, _ in functions])
    counts = _initial[0] if count is None else [count] * len(functions)
    with _lock:
        if _depth:
            _saved = counts
            return
        for (_, set_), value in zip(functions, counts):
            set_(value)


@contextmanager
def single_threaded():
    """BLAS runs each call on the calling thread inside this block (nested blocks and blocks
    entered from several threads share one setting: the count is restored when the last
    leaves)."""
    global _depth, _saved
    functions = _load()
    with _lock:
        if _depth == 0:
            _saved = [get() for get, _ in functions]
            for (_, set_), count in zip(functions, _saved):
                if count != 1:
                    set_(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for (_, set_), count in zip(functions, _saved):
                    if count != 1:
                        set_(count)
