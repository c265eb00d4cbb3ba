"""Finding and loading oneDNN's shared library (libdnnl.so.3), and its OpenMP thread count.

The library comes from the ``onednn-cpu-gomp`` wheel (ganglion's ``onednn`` extra: oneDNN 3.2
built against the GNU OpenMP runtime), which installs it into ``<environment>/lib``, outside
site-packages. It is looked for, in order, at ``$DNNL_LIBRARY`` (a full path), in the lib
folders of ``sys.prefix`` and ``sys.base_prefix``, and by name through the system's loader.
Loading happens once, on the first call of ``load()`` or ``available()``; a failure is kept
as a reason string and ganglion runs its own kernels instead.

Before the library (and with it GNU OpenMP) is loaded, OMP_WAIT_POLICY is set to PASSIVE unless
the user set it or an OpenMP runtime is already loaded (``_prefer_passive_waiting`` says why).

The GNU OpenMP build takes its thread count from ``omp_set_num_threads`` of the libgomp that
libdnnl was linked against. OpenMP's thread count is a per-thread setting, so before each
primitive runs the calling thread's count (``omp_get_max_threads``) is compared with
``num_threads()`` (the backend's current thread count, ``ganglion.config.num_threads``
included) and set only when it differs (``apply_num_threads``).
"""
import ctypes
import ctypes.util
import os
import sys
import sysconfig
import threading

from ganglion.backend import threads

__all__ = ["available", "unavailable_reason", "usable", "check_usable", "mark_ran", "load", "version", "set_num_threads",
           "num_threads", "apply_num_threads", "openmp_max_threads"]

LIBRARY_NAME = "libdnnl.so.3"
# The C API this binding declares (oneDNN 3.x: memory descriptors are opaque handles).
REQUIRED_MAJOR = 3

_lock = threading.Lock()
_state = {}          # "library", "gomp", "reason", "version" once load() has run
_threads = [None]       # None: the backend's thread count at each call, backend/threads.py count()
# [a primitive ran in this process], [this process was forked from one where primitives ran]:
# GNU OpenMP's worker threads do not survive fork, and its next parallel region in the child
# waits for them forever (even at one thread), so oneDNN is off in such a child.
_ran = [False]
_forked_after_use = [False]


def _after_fork_in_child():
    if _ran[0]:
        _forked_after_use[0] = True


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint),
                ("gpu_runtime", ctypes.c_uint)]


def _candidates():
    """Paths (or bare names for the system loader) to try, in order."""
    override = os.environ.get("DNNL_LIBRARY")
    if override:
        return [override]
    folders = []
    for prefix in (sys.prefix, sys.base_prefix, sysconfig.get_config_var("prefix")):
        if prefix:
            folder = os.path.join(prefix, "lib")
            if folder not in folders:
                folders.append(folder)
    paths = [os.path.join(folder, LIBRARY_NAME) for folder in folders]
    return [p for p in paths if os.path.exists(p)] + [LIBRARY_NAME]


def _prefer_passive_waiting():
    """Ask GNU OpenMP for passive waiting (OMP_WAIT_POLICY=PASSIVE) unless the user chose a
    policy or an OpenMP runtime is already loaded (it read its settings then; PyTorch brings
    one). Between primitives, idle OpenMP threads then sleep instead of spinning for cores,
    as ganglion's own pool threads do: on this project's shared 2-core machine, 2-thread
    convolutions took 0.2-0.65x the time with passive waiting (benchmarks/onednn_kernels.py)."""
    if "OMP_WAIT_POLICY" in os.environ:
        return
    try:
        with open("/proc/self/maps") as maps:
            if "libgomp" in maps.read():
                return
    except OSError:
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def _load_once():
    _prefer_passive_waiting()
    errors = []
    for candidate in _candidates():
        try:
            library = ctypes.CDLL(candidate)
        except OSError as error:
            errors.append(f"{candidate}: {error}")
            continue
        try:
            library.dnnl_version.restype = ctypes.POINTER(_Version)
            info = library.dnnl_version().contents
        except AttributeError:
            errors.append(f"{candidate}: no dnnl_version symbol")
            continue
        found = (info.major, info.minor, info.patch)
        if info.major != REQUIRED_MAJOR:
            errors.append(f"{candidate}: oneDNN {'.'.join(map(str, found))}, this binding needs "
                          f"{REQUIRED_MAJOR}.x")
            continue
        _state["library"], _state["version"] = library, found
        # The OpenMP runtime libdnnl links (already loaded with it, so this finds that copy).
        try:
            gomp = ctypes.CDLL("libgomp.so.1")
            gomp.omp_set_num_threads.argtypes = [ctypes.c_int]
            gomp.omp_set_num_threads.restype = None
            gomp.omp_get_max_threads.restype = ctypes.c_int
            _state["gomp"] = gomp
        except (OSError, AttributeError):
            _state["gomp"] = None
        return
    _state["reason"] = ("oneDNN (libdnnl.so.3) could not be loaded; install ganglion's 'onednn' "
                        "extra (pip install 'ganglion[onednn]') or set DNNL_LIBRARY to the "
                        "library's path. Tried: " + "; ".join(errors))


def load():
    """The loaded libdnnl as a ctypes.CDLL; raises RuntimeError (with the reason) when it
    cannot be loaded."""
    if "library" not in _state:
        with _lock:
            if "library" not in _state and "reason" not in _state:
                try:
                    _load_once()
                except Exception as error:  # an unexpected loader failure must not escape
                    _state["reason"] = f"loading oneDNN failed: {error!r}"
    if "library" in _state:
        return _state["library"]
    raise RuntimeError(_state["reason"])


def usable():
    """False in a process forked from one in which oneDNN's primitives ran (GNU OpenMP would
    hang there); the kernels' ``supports_*`` predicates are then False too. A cheap check."""
    return not _forked_after_use[0]


def check_usable():
    """Raise RuntimeError (saying why) where ``usable()`` is False."""
    if _forked_after_use[0]:
        raise RuntimeError("oneDNN cannot run in a process forked after oneDNN ran in its parent "
                           "(GNU OpenMP's threads do not survive fork and it would hang); the "
                           "NumPy kernels serve this process")


def mark_ran():
    """Record that a primitive is about to run in this process (``Plan.run`` calls it)."""
    check_usable()
    _ran[0] = True


def available():
    """Whether oneDNN can be used in this process (never raises)."""
    if _forked_after_use[0]:
        return False
    try:
        load()
        return True
    except Exception:
        return False


def unavailable_reason():
    """Why ``available()`` is False, or None when it is True."""
    if available():
        return None
    if _forked_after_use[0]:
        return "this process was forked after oneDNN ran in its parent (GNU OpenMP would hang)"
    return _state.get("reason", "oneDNN could not be loaded")


def version():
    """(major, minor, patch) of the loaded oneDNN."""
    load()
    return _state["version"]


def set_num_threads(count):
    """The number of OpenMP threads oneDNN's primitives run on; None follows the backend's thread
    count at each call (``ganglion.backend.threads.count()``: ``ganglion.config.num_threads``,
    else one per core)."""
    if count is not None:
        count = int(count)
        if count < 1:
            raise ValueError(f"onednn.set_num_threads: expected a positive thread count or None, "
                             f"got {count}")
    _threads[0] = count


def num_threads():
    """The OpenMP thread count oneDNN's primitives run on."""
    if _threads[0] is not None:
        return _threads[0]
    return threads.count()


def openmp_max_threads():
    """omp_get_max_threads() of the calling thread (what the next primitive runs on), or None
    where the OpenMP runtime was not found."""
    load()
    gomp = _state.get("gomp")
    return None if gomp is None else gomp.omp_get_max_threads()


def apply_num_threads():
    """Set the calling thread's OpenMP thread count to ``num_threads()`` where it differs
    (omp_set_num_threads acts per calling thread). The current count is read each time, not
    remembered: other users of the same libgomp change it too (PyTorch sets its own thread
    count there before its parallel regions)."""
    gomp = _state.get("gomp")
    if gomp is not None:  # (before the library is loaded there is nothing to set)
        wanted = num_threads()
        if gomp.omp_get_max_threads() != wanted:
            gomp.omp_set_num_threads(wanted)
