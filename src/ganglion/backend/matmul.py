"""Matrix products for the ops, on BLAS's threads or, while the convolution kernels split work
over ganglion's own thread pool (backend/threads.py), on that pool: BLAS on one thread per
call, large products split over the cores.

Why switch: after a multi-threaded call, OpenBLAS's worker threads spin for new work for tens
of milliseconds before they sleep, and meanwhile they hold the cores that the convolution
kernels split their work over. Measured here: a convolution's weight gradient took 18 ms
right after one 2-thread OpenBLAS product (and still 18 ms with 20 ms of Python between them)
against 11 ms otherwise, and the CIFAR CNN's train step took 180 ms with the fully connected
layers' products on OpenBLAS's threads against 137 ms with every product on one BLAS thread.
ganglion's pool threads wait on a queue, so they hold no core while idle.

Why not always: handing half a product to a pool thread costs more than OpenBLAS's own
hand-off, which spins. Measured with products on the pool, the MLP train step (784-512-512-10,
batch 128) took 5.4-5.9 ms against 5.0, and the LSTM classifier 56 ms against 43. Networks
without convolutions therefore keep BLAS's threads, and so does a network trained after a
convolutional one in the same process: products use the pool for ``_SHARING_SECONDS`` after a
kernel last split work over it (within a train step of a convolutional network, the products
run between convolutions, milliseconds apart even in ResNet-18's 3-5 s steps). Measured with
2 s instead, an LSTM timed right after the CIFAR CNN in one process ran its first steps on the
pool, 1.50x PyTorch's time against 1.1-1.35.
"""
import time

import numpy as np

from ganglion.backend import array_cache, blas_threads, threads

__all__ = ["matmul", "share_cores", "on_each_core", "split_rows"]

_SHARING_SECONDS = 0.5
_shared_at = [-1e300]  # time.monotonic() of the last share_cores()

# Products of fewer multiply-adds than this run on the calling thread: handing half of one to
# another thread costs about 20-30 us.
_PARALLEL_MULTIPLY_ADDS = 1 << 21
# A part keeps at least this many rows (or columns): thinner GEMMs run at a fraction of speed.
_MIN_PART = 32


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``; shortly after ``share_cores()``, with BLAS single-threaded
    and a large 2-D float product split into one block of rows (or of columns) per core."""
    plain = a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.dtype.kind != "f"
    if out is None and not plain:
        # Large results reuse memory (array_cache): a fresh 9 MB result faults its pages in,
        # which took longer than the product itself when two threads did so at once.
        out = array_cache.empty((a.shape[0], b.shape[1]), a.dtype)
    if time.monotonic() - _shared_at[0] > _SHARING_SECONDS:
        return np.matmul(a, b, out=out)
    with blas_threads.single_threaded():
        if plain or threads.CORES == 1 or a.shape[0] * a.shape[1] * b.shape[1] < _PARALLEL_MULTIPLY_ADDS:
            return np.matmul(a, b, out=out)
        m, n = a.shape[0], b.shape[1]
        # Split the longer side: halves of a 64-row product ran at 80% of column halves' speed.
        if m >= 2 * _MIN_PART and m >= n:
            parts = _bounds(m)
            jobs = [lambda lo=lo, hi=hi: np.matmul(a[lo:hi], b, out=out[lo:hi]) for lo, hi in parts]
        elif n >= 2 * _MIN_PART:
            parts = _bounds(n)
            jobs = [lambda lo=lo, hi=hi: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi]) for lo, hi in parts]
        else:
            return np.matmul(a, b, out=out)
        threads.run_all(jobs)
        return out


def share_cores():
    """Run products on ganglion's thread pool for the next _SHARING_SECONDS (called by kernels
    that split their work over it with BLAS single-threaded)."""
    _shared_at[0] = time.monotonic()


def on_each_core(count, work, part=1, least=1):
    """work(lo, hi) over [0, count) split into one contiguous range per core, each a multiple of
    ``part`` long (but the last) and at least ``least`` long, with BLAS single-threaded
    meanwhile; returns the results in range order. Runs work(0, count) on the calling thread
    alone where there is one core, one range, or no control of BLAS's thread count (its threads
    would then compete with ours).

    For kernels whose rows are independent (a convolution's images, an LSTM's sequences):
    each core then runs its own single-threaded GEMMs and elementwise passes with no hand-off
    inside, and products share the pool for the next _SHARING_SECONDS (see ``matmul``)."""
    parts = -(-count // part)
    cores = min(threads.CORES, parts, count // least) if blas_threads.available() else 1
    if cores <= 1:
        return [work(0, count)]
    bounds = [min(count, (parts * k // cores) * part) for k in range(cores + 1)]
    results = [None] * cores

    def run(k):
        results[k] = work(bounds[k], bounds[k + 1])
    share_cores()
    with blas_threads.single_threaded():
        threads.run_all([lambda k=k: run(k) for k in range(cores)])
    return results


# A memory-bound pass is split over the cores only when each core gets at least this many
# elements: below it, handing half of the work to another thread (20-50 us) costs more than
# it saves.
SPLIT_ELEMENTS = 1 << 19


def split_rows(rows, row_size, work):
    """work(lo, hi) over rows [0, rows) of ``row_size`` elements each: one range per core when
    each gets at least SPLIT_ELEMENTS elements, else all on the calling thread."""
    on_each_core(rows, work, least=-(-SPLIT_ELEMENTS // max(1, row_size)))


def _bounds(length):
    """One contiguous part of ``length`` per core, no part thinner than _MIN_PART."""
    cores = max(1, min(threads.CORES, length // _MIN_PART))
    cuts = [length * k // cores for k in range(cores + 1)]
    return list(zip(cuts[:-1], cuts[1:]))
