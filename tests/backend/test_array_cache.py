"""The array cache (``backend/array_cache.py``): memory is handed out again only once nothing
holds it, whatever views were made of it; small arrays bypass it; its limit releases memory."""
import threading

import numpy as np
import pytest

import ganglion as gn
from ganglion.backend import array_cache


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.setattr(array_cache, "_by_size", {})
    with gn.config(array_cache_mb=1024):
        yield


def address(a):
    return a.__array_interface__["data"][0]


def test_memory_is_reused_once_released():
    a = array_cache.empty((512, 256), np.float32)
    where = address(a)
    assert a.shape == (512, 256) and a.dtype == np.float32 and a.flags.c_contiguous
    b = array_cache.empty((512, 256), np.float32)
    assert address(b) != where                     # a is still held
    del a
    c = array_cache.empty((256, 256), np.float64)  # the same byte size, another dtype
    assert address(c) == where


def test_a_view_holds_the_memory():
    a = array_cache.empty((512, 256), np.float32)
    view = a[100:, ::2].T
    del a
    b = array_cache.empty((512, 256), np.float32)
    assert not np.shares_memory(b, view)
    view[...] = 1
    b[...] = 2
    assert (view == 1).all()
    del view
    assert array_cache.cached_bytes() == (2 * 512 * 256 * 4, 512 * 256 * 4)


def test_small_arrays_are_not_cached():
    a = array_cache.empty((10, 10), np.float32)
    assert array_cache.cached_bytes() == (0, 0)
    assert a.shape == (10, 10)


def test_zeros_are_zero_even_in_reused_memory():
    a = array_cache.empty((512, 256), np.float32)
    a.fill(7)
    del a
    z = array_cache.zeros((512, 256), np.float32)
    assert (z == 0).all()


def test_the_limit_releases_memory_nobody_holds():
    gn.config.array_cache_mb = 3   # read at each allocation; the fixture restores it
    assert array_cache.limit_bytes() == 3 << 20
    arrays = [array_cache.empty((1 << 20,), np.uint8) for _ in range(4)]
    assert array_cache.cached_bytes() == (4 << 20, 0)
    del arrays
    assert array_cache.cached_bytes() == (4 << 20, 4 << 20)
    kept = array_cache.empty((2 << 20,), np.uint8)   # another size: trims to the limit first
    total, unheld = array_cache.cached_bytes()
    assert unheld <= 3 << 20 and total == unheld + (2 << 20)
    assert kept.nbytes == 2 << 20


def test_a_limit_of_zero_switches_caching_off():
    gn.config.array_cache_mb = 0
    array_cache.empty((512, 256), np.float32)
    assert array_cache.cached_bytes() == (0, 0)
    gn.config.array_cache_mb = 1                   # a change takes effect at the next call
    kept = array_cache.empty((512, 256), np.float32)
    assert array_cache.cached_bytes() == (kept.nbytes, 0)


def test_threads_never_share_an_array():
    seen = []
    lock = threading.Lock()

    def work(k):
        for _ in range(200):
            a = array_cache.empty((256, 256), np.float32)
            a.fill(k)
            with lock:
                seen.append(bool((a == k).all()))
            del a

    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert all(seen) and len(seen) == 800
