"""Version counters: how backward notices that a value it needs was changed in place.

A tensor's version is the sum of two counters:

- its own ``_own_version``, bumped when an in-place op on a tensor inside a recorded graph *rebinds*
  it to a newly computed value (core/inplace.py);
- the counter of its storage, bumped when an in-place op writes into the array's memory. Views
  (slices, reshapes, transposes, ``detach()``) share the memory of the array that owns it, so
  they share this counter, as PyTorch's views share one version counter.

Ops record the versions of the values their vjp reads (core/op.py ``record``); backward compares
them with the current ones (core/autograd.py). Storage counters are keyed by the id of the
owning array, and dropped when that array is freed.

``Tensor.data`` is the exception, as in PyTorch: it shares the memory but has a version counter
of its own, so that writes through it (``p.data.add_(u)``) do not make a backward that saved
``p`` refuse to run. Its array is a ``detached_alias``: an array over the same memory reached
through a memoryview, which ``owner`` does not see through, so the alias owns its own counter
(and views of it share that one).
"""

import weakref

import numpy as np

__all__ = ["version_of", "bump_storage", "owner", "detached_alias"]

_storage_versions = {}


def owner(array):
    """The array that owns ``array``'s memory (views chain to it through ``.base``)."""
    while array.base is not None and hasattr(array.base, "base"):
        array = array.base
    return array


def detached_alias(array):
    """An array over ``array``'s memory (same shape, strides and dtype; writes reach it) that is
    its own owner, so that in-place writes through it bump a counter of its own (``Tensor.data``).
    About 0.4 microseconds: NumPy builds it from the buffer protocol."""
    return np.asarray(memoryview(array))


#: The class whose value may not have a plain array yet (core/blocked_tensor.py registers it):
#: its version is read without converting it.
lazy_class = [None]


def version_of(t):
    if type(t) is lazy_class[0] and t._blocked is not None:
        return t._own_version   # (no plain storage yet, so no storage counter)
    data = t._data
    if data is None or not _storage_versions:
        return t._own_version
    return t._own_version + _storage_versions.get(id(owner(data)), 0)


def bump_storage(array):
    """Record that ``array``'s memory was written in place."""
    base = owner(array)
    key = id(base)
    count = _storage_versions.get(key)
    if count is None:
        # Forget the counter when the memory is freed, so that a new array that reuses the
        # address (and so the id) starts at version 0.
        weakref.finalize(base, _storage_versions.pop, key, None)
        count = 0
    _storage_versions[key] = count + 1
