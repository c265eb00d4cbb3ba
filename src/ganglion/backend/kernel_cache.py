"""The on-disk cache of compiled loops, and the checks that keep it from being a way to run code.

numba's disk cache is a pickle: each function's index (``.nbi``) and each compiled overload
(``.nbc``) are unpickled when a process loads them, and unpickling can run any code. So whoever
can write into the cache folder can run code in every process that uses ganglion's compiled
loops; the folder must be as trusted as ganglion's own source. This module keeps every
compiled loop of ganglion (the fused elementwise loops of ``backend.fused_loops`` and the NN
loops of ``backend.nn_loops``) in one per-user folder (``cache_dir()``) and uses it only when

- each folder from the cache root down (``ganglion.config.kernel_cache_dir``, set by
  ``$GANGLION_KERNEL_CACHE_DIR``, or ``$XDG_CACHE_HOME`` /
  ``~/.cache`` and its ``ganglion`` folder, then ``kernels`` and the numba/Python version
  folder) is owned by the current user and not writable by group or others; folders that are
  missing are created with mode 0700, one level at a time (``os.makedirs`` gives intermediate
  folders the umask's mode, which may be group-writable). An existing folder that is readable
  by others (0755, say) is used as it is: reading a compiled loop leaks nothing, and only write
  access lets someone plant a pickle. A folder that fails the check is not tightened (files may
  already have been planted in it, and chmod would not make them trustworthy): a
  ``KernelCacheWarning`` names it, its owner and mode and what is expected, and the loops are
  compiled in memory instead (same results, a slower first call in every process). The check
  runs once per process and cache folder (a few ``os.stat`` calls).
- each cache file, when it is read, is owned by the current user and not writable by group or
  others (checked with ``fstat`` on the opened file, so the file checked is the file read);
  otherwise it is ignored with a warning and the loop is compiled again (and the file replaced).
  Files are written 0600 (whatever the umask) and renamed into place.

The checks need POSIX owners and modes; where ``os.getuid`` does not exist (Windows) they are
skipped and the folder's ACLs are what protects it.

numba's own cache options are not used for ganglion's functions: ``cache=True`` writes next to
the source file (into the installed package's ``__pycache__``), and ``NUMBA_CACHE_DIR`` /
``numba.config.CACHE_DIR`` is read by numba for every cached function, so setting it would move
the user's own numba caches too. ``njit_cached`` instead gives each ganglion dispatcher a
numba ``Cache`` whose locator points at the checked folder; the user's numba functions keep
numba's defaults, and ``NUMBA_CACHE_DIR`` / ``NUMBA_CACHE_LOCATOR_CLASSES`` do not move
ganglion's loops.

Two settings name caches, for different things: ``config.kernel_cache_dir``
(``GANGLION_KERNEL_CACHE_DIR``) is this compiled-kernel cache, ``config.dataset_cache_dir``
(``GANGLION_DATASET_CACHE_DIR``, ``ganglion.data.paths``) the dataset caches.
"""
import functools
import hashlib
import inspect
import io
import os
import pickle
import stat
import sys
import threading
import uuid
import warnings
from contextlib import contextmanager

from ganglion import config

__all__ = ["KernelCacheWarning", "cache_dir", "trusted_directory", "njit_cached",
           "register_source", "untrusted_reason"]


class KernelCacheWarning(UserWarning):
    """A compiled-loop cache folder or file was not used because someone else could have
    written it (see ``backend.kernel_cache``)."""


def _cache_chain():
    """The folders from the cache root down to the compiled-loop folder, outermost first:
    the folders whose owner and mode decide whether the cache can be trusted."""
    import numba
    override = config.settings.kernel_cache_dir
    if override:
        chain = [os.path.abspath(os.path.expanduser(override))]
    else:
        home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.path.expanduser("~"), ".cache")
        home_cache = os.path.abspath(home_cache)
        chain = [home_cache, os.path.join(home_cache, "ganglion")]
    version = f"numba-{numba.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
    chain.append(os.path.join(chain[-1], "kernels"))
    chain.append(os.path.join(chain[-1], version))
    return chain


def cache_dir():
    """Where compiled loops are kept: ``<config.kernel_cache_dir>/kernels/<numba and Python version>``,
    else the same under ``$XDG_CACHE_HOME/ganglion``, else under ``~/.cache/ganglion``.
    (``config.dataset_cache_dir``, not this, is where datasets are cached.)"""
    return _cache_chain()[-1]


def untrusted_reason(status, what):
    """Why a file or folder with ``os.stat`` result ``status`` must not be trusted (a sentence
    naming ``what``, its owner and mode, and what is expected), or None when it may be."""
    if not hasattr(os, "getuid"):
        return None
    user = os.getuid()
    mode = stat.S_IMODE(status.st_mode)
    problems = []
    if status.st_uid != user:
        problems.append(f"owned by uid {status.st_uid}")
    writers = [who for who, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH)) if mode & bit]
    if writers:
        problems.append(f"writable by {' and '.join(writers)}")
    if not problems:
        return None
    return (f"{what} is {' and '.join(problems)} (owner uid {status.st_uid}, mode {mode:#o}); "
            f"expected owner uid {user} (the current user) and no write permission for group or "
            f"others (e.g. mode 0o700)")


_warned = set()


def _warn(key, message):
    """One warning per folder or file and process."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, KernelCacheWarning, stacklevel=3)


_checked = {}           # compiled-loop folder -> that folder, or None where it must not be used
_check_lock = threading.Lock()


def trusted_directory():
    """``cache_dir()``, created (mode 0700) where missing, when it and the folders above it up to
    the cache root pass the ownership check; None (after a ``KernelCacheWarning``) when one
    fails, or when the folder cannot be created: then loops compile in memory. Checked once per
    process and folder."""
    chain = _cache_chain()
    folder = chain[-1]
    try:
        return _checked[folder]
    except KeyError:
        pass
    with _check_lock:
        if folder not in _checked:
            _checked[folder] = _check_chain(chain)
        return _checked[folder]


def _check_chain(chain):
    folder = chain[-1]
    for path in chain:
        try:
            if not os.path.isdir(path):
                # Above the root, missing folders come with the umask's mode; they are not ours
                # to judge (the root may be any folder the user names).
                os.makedirs(os.path.dirname(path), exist_ok=True)
                try:
                    os.mkdir(path, 0o700)
                except FileExistsError:
                    pass            # another process made it at the same moment
            status = os.stat(path)
        except OSError:
            # No writable cache (a read-only home, say): compile in memory, as numba does.
            return None
        if not stat.S_ISDIR(status.st_mode):
            return None
        reason = untrusted_reason(status, f"the folder {path}")
        if reason is not None:
            _warn(folder, f"ganglion: not using the compiled-kernel cache {folder}: {reason}. numba "
                          "loads that cache with pickle, which can run code, so a folder others "
                          "can write is a way to run code in this process. Compiling in memory "
                          "instead (same results, a slower first call). To use the cache, fix "
                          f"the folder's owner or mode (chmod go-w; remove {folder} if you did not "
                          "make its files) or set GANGLION_KERNEL_CACHE_DIR (ganglion.config.kernel_cache_dir) to a private folder.")
            return None
    return folder


# ----- source stamps -----------------------------------------------------------------------------
# numba marks a cache index with a stamp of the function's source and ignores an index whose
# stamp differs. For a module file it is a hash of the file; generated loops (fused_loops) are
# compiled from a string, whose hash is the stamp even where a copy of it is on disk.

_generated_sources = {}


def register_source(filename, source):
    """Record the source compiled under ``filename`` (a generated module), whose hash stamps
    its functions' cache entries."""
    _generated_sources[filename] = hashlib.sha256(source.encode()).hexdigest()


@functools.lru_cache(maxsize=None)
def _file_hash(path, mtime, size):
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def _source_stamp(filename):
    stamp = _generated_sources.get(filename)
    if stamp is None:
        status = os.stat(filename)
        stamp = _file_hash(filename, status.st_mtime_ns, status.st_size)
    return stamp


# ----- numba integration -------------------------------------------------------------------------

def njit_cached(**options):
    """``numba.njit(**options)`` whose compiled overloads are cached in ``trusted_directory()``
    (in memory only when that is None). Use it instead of ``cache=True``, which writes into
    the package folder."""
    if "cache" in options:
        raise TypeError(f"njit_cached: got cache={options['cache']!r}; the disk cache is ganglion's "
                        "checked kernel cache (backend/kernel_cache.py), so 'cache' is not an "
                        "option here (use numba.njit for a function without it)")
    from numba import njit

    def decorate(function):
        dispatcher = njit(**options)(function)
        folder = trusted_directory()
        # ``_cache`` is what numba's ``enable_caching`` sets (numba 0.59-0.68); a dispatcher
        # without it (NUMBA_DISABLE_JIT returns the plain function) just runs uncached.
        if folder is not None and hasattr(dispatcher, "_cache"):
            dispatcher._cache = _numba_classes()["cache"](function, folder)
        return dispatcher
    return decorate


@functools.lru_cache(maxsize=None)
def _numba_classes():
    """numba's cache classes specialized for ganglion (built on first use: numba is optional)."""
    from numba.core import caching

    class Locator(caching._CacheLocator):
        """The checked folder for every ganglion function, whatever its source file."""

        def __init__(self, function, folder):
            self._py_file = inspect.getfile(function)
            self._lineno = function.__code__.co_firstlineno
            self._folder = folder

        def ensure_cache_path(self):
            # The folder may have been removed since the check: made again, private.
            os.makedirs(self._folder, mode=0o700, exist_ok=True)

        def get_cache_path(self):
            return self._folder

        def get_source_stamp(self):
            return _source_stamp(self._py_file)

        def get_disambiguator(self):
            return str(self._lineno)

    class Impl(caching.CompileResultCacheImpl):
        # CacheImpl.__init__ would pick a locator from numba's list (or from
        # NUMBA_CACHE_LOCATOR_CLASSES); ganglion's functions always get the checked folder.
        def __init__(self, function, folder):
            self._lineno = function.__code__.co_firstlineno
            self._locator = Locator(function, folder)
            module = os.path.splitext(os.path.basename(inspect.getfile(function)))[0]
            self._filename_base = self.get_filename_base(
                f"{module}.{function.__qualname__}", getattr(sys, "abiflags", ""))

    class CheckedFile(caching.IndexDataCacheFile):
        """numba's index and data files, each read only after its owner and mode pass."""

        def _read_trusted(self, path):
            """The file's bytes, or None when it is missing or must not be trusted."""
            try:
                file = open(path, "rb")
            except FileNotFoundError:
                return None
            with file:
                reason = untrusted_reason(os.fstat(file.fileno()), f"the cache file {path}")
                if reason is not None:
                    _warn(path, f"ganglion: not loading {reason}. numba loads it with pickle, "
                                "which can run code; compiling the loop again instead (the file "
                                "is replaced by one owned by you, mode 0600).")
                    return None
                return file.read()

        def _load_index(self):
            raw = self._read_trusted(self._index_path)
            if raw is None:
                return {}
            stream = io.BytesIO(raw)
            if pickle.load(stream) != self._version:
                return {}
            stamp, overloads = pickle.loads(stream.read())
            return overloads if stamp == self._source_stamp else {}

        def _load_data(self, name):
            raw = self._read_trusted(self._data_path(name))
            if raw is None:
                # numba's load() treats a missing data file as a cache miss
                raise FileNotFoundError(self._data_path(name))
            return pickle.loads(raw)

        @contextmanager
        def _open_for_write(self, filepath):
            # 0600 whatever the umask (a group-writable file would fail the check above), and
            # renamed into place so that no process reads half a file.
            temporary = f"{filepath}.tmp.{uuid.uuid4().hex[:16]}"
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
                with os.fdopen(os.open(temporary, flags, 0o600), "wb") as file:
                    yield file
                os.replace(temporary, filepath)
            except BaseException:
                try:
                    os.unlink(temporary)
                except OSError:
                    pass
                raise

    class CheckedCache(caching.FunctionCache):
        _impl_class = Impl

        def __init__(self, function, folder):
            # numba's Cache.__init__ with ganglion's Impl and file classes
            self._name = repr(function)
            self._py_func = function
            self._impl = Impl(function, folder)
            self._cache_path = folder
            self._cache_file = CheckedFile(cache_path=folder,
                                           filename_base=self._impl.filename_base,
                                           source_stamp=self._impl.locator.get_source_stamp())
            self.enable()

    return {"cache": CheckedCache, "file": CheckedFile}
