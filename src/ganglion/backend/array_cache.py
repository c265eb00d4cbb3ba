"""Reuse of large arrays between calls: kernels take their big outputs from here.

A training step allocates the same large arrays every step (each layer's activation and its
gradient), and frees them when the step's graph goes. glibc returns such memory to the system
(mmap for large blocks, trimming the top of the heap), so the next step's allocations fault
every page in again, a cost comparable to a small network's arithmetic. PyTorch's CPU allocator
has the same problem; its GPU allocator caches. This module caches on the CPU, for the arrays ganglion's kernels allocate themselves.

``empty(shape, dtype)`` hands out a view of a cached byte buffer that nobody else holds any
more, or allocates a new one. A buffer is held as long as any array made from it lives (every
NumPy view of it references it as its ``base``), so "free" is read off its reference count:
no one has to give memory back explicitly, and an array kept by the caller (a tensor's value,
a result returned to the user) is never handed out twice.

Only arrays of at least ``MIN_BYTES`` are cached (smaller ones come from the heap without
faults). The buffers nobody holds are capped at ``ganglion.config.array_cache_mb`` megabytes in
all (``GANGLION_ARRAY_CACHE_MB``; 0 switches caching off), read at each allocation: a new
allocation beyond that releases unheld buffers first.
"""
import sys
import threading

import numpy as np

from ganglion import config

_settings = config.settings

__all__ = ["empty", "zeros", "clear", "cached_bytes", "limit_bytes"]

MIN_BYTES = 1 << 18

_by_size = {}              # byte size -> the uint8 buffers of that size
_lock = threading.Lock()
# References to a buffer nobody else holds, as counted inside the loops below: its list's
# entry, the loop variable, and getrefcount's own argument.
_UNHELD = 3


def empty(shape, dtype):
    """An uninitialized array of ``shape`` and ``dtype`` (like ``np.empty``), C-contiguous."""
    dtype = np.dtype(dtype)
    shape = tuple(shape)
    size = dtype.itemsize
    for d in shape:
        size *= d
    if size < MIN_BYTES or _settings.array_cache_mb <= 0:
        return np.empty(shape, dtype)
    with _lock:
        buffers = _by_size.setdefault(size, [])
        for buffer in buffers:
            if sys.getrefcount(buffer) == _UNHELD:
                return buffer.view(dtype).reshape(shape)
        _trim()
        buffer = np.empty(size, np.uint8)
        buffers.append(buffer)
        return buffer.view(dtype).reshape(shape)


def limit_bytes():
    """The cap on unheld cached bytes (``config.array_cache_mb`` in bytes)."""
    return int(_settings.array_cache_mb * (1 << 20))


def zeros(shape, dtype):
    """``empty`` filled with zeros (reused memory is not zero, unlike fresh pages)."""
    out = empty(shape, dtype)
    out.fill(0)
    return out


def _trim():
    """Release buffers nobody holds while they exceed the limit."""
    unheld = []
    for size, buffers in _by_size.items():
        for buffer in buffers:
            if sys.getrefcount(buffer) == _UNHELD:
                unheld.append((size, id(buffer)))
    total = sum(size for size, _ in unheld)
    limit = limit_bytes()
    for size, key in unheld:
        if total <= limit:
            break
        _by_size[size] = [b for b in _by_size[size] if id(b) != key]
        total -= size


def cached_bytes():
    """(bytes in cached buffers, of which bytes nobody holds)."""
    with _lock:
        total = unheld = 0
        for size, buffers in _by_size.items():
            for buffer in buffers:
                total += size
                if sys.getrefcount(buffer) == _UNHELD:
                    unheld += size
        return total, unheld


def clear():
    """Forget every cached buffer (arrays still in use stay valid: they hold their buffer)."""
    with _lock:
        _by_size.clear()
