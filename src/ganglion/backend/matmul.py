"""Matrix products for the ops: dispatched backend methods (backend/providers.py) whose NumPy
reference runs on BLAS's threads or, around the convolution kernels, on ganglion's own thread
pool (backend/threads.py): BLAS on one thread per call, large products split over the cores.

Methods: ``matmul(a, b, out=None)`` (every op's product), ``linear_forward(x, weight, bias)``
(x @ weight.T + bias, a Linear layer's forward: one oneDNN primitive adds the bias as it writes
the result) and ``fixed_right_product(b, rows)`` (a function for the many products of a loop by
one right operand, a recurrent layer's W_hh: oneDNN copies it once into its blocked layout).
Under ``ganglion.config.kernels`` "auto" or "onednn", float32 2-D products of at least
``onednn.matmul.SMALLEST_PRODUCT`` multiply-adds whose left operand is not a transposed view
run on oneDNN's matmul primitive (that module says why), except inside a kernel that split its
work over the pool (a oneDNN call there would wait for the library's lock and bring its own
threads); "numpy" and "numba" keep OpenBLAS. A oneDNN product on several threads counts as a
convolution for the rule below (``after_onednn``): the smaller products between two oneDNN
ones then keep off BLAS's spinning threads, which would hold the core oneDNN's next product
needs.

Rule: products run on the pool inside a convolution kernel (``convolution_scope``) and for the
next ``PRODUCTS_AFTER_CONVOLUTION`` products after one, or after any kernel that split its work
over the pool (``on_each_core``: batch norm, pooling, an LSTM's batch blocks) or ran on
oneDNN's threads (``after_onednn``); otherwise on BLAS's threads. The choice depends only on
what has run, never on the clock.

Why: after a multi-threaded call, OpenBLAS's worker threads spin for new work for tens of
milliseconds before they sleep, holding the cores that the convolution kernels split their work
over (which slowed a convolution right after a 2-thread product by half); ganglion's pool
threads wait on a queue and hold no core while idle. So a convolutional network's other
products (its fully connected layers, between convolutions) also stay off BLAS's threads. But
handing half a product to a pool thread costs more than OpenBLAS's own hand-off, so networks
without convolutions keep BLAS's threads, and a network trained after a convolutional one in
the same process gets them back after a few products (an LSTM step makes hundreds).
"""
from contextlib import contextmanager

import numpy as np

from ganglion.backend import array_cache, blas_threads, providers, threads

__all__ = ["matmul", "linear_forward", "fixed_right_product", "blas_matmul", "convolution_scope",
           "on_each_core", "split_rows", "splits", "inside_split", "after_onednn", "PRODUCTS_AFTER_CONVOLUTION"]

# How many products after a convolution kernel still run on the pool: more than a network's
# products between two of its convolutions (forward and backward of a few fully connected
# layers and their bias sums), far fewer than one step of a recurrent network.
PRODUCTS_AFTER_CONVOLUTION = 64
# [convolution kernels running, products left on the pool after the last one]
_scope = [0, 0]
# on_each_core calls whose work is running on the pool's threads
_splitting = [0]


@contextmanager
def convolution_scope():
    """Products inside run on the pool, and so do the next PRODUCTS_AFTER_CONVOLUTION after it
    (the backend runs every convolution inside one)."""
    _scope[0] += 1
    try:
        yield
    finally:
        _scope[0] -= 1
        _scope[1] = PRODUCTS_AFTER_CONVOLUTION


def on_pool():
    """Whether the next product runs on ganglion's pool (see the module's rule)."""
    return _scope[0] > 0 or _scope[1] > 0


def after_onednn():
    """Record that a oneDNN kernel ran on several threads: the next PRODUCTS_AFTER_CONVOLUTION
    products that stay with BLAS run on the pool, BLAS single-threaded (the module's rule)."""
    if threads.count() > 1:
        _scope[1] = PRODUCTS_AFTER_CONVOLUTION


def inside_split():
    """Whether a convolution kernel or an ``on_each_core`` split is running: products made now
    belong to one core's share of the work (the oneDNN provider then leaves them to BLAS)."""
    return _scope[0] > 0 or _splitting[0] > 0


# Products of fewer multiply-adds than this run on the calling thread: handing half of one to
# another thread costs about 20-30 us.
_PARALLEL_MULTIPLY_ADDS = 1 << 21
# A part keeps at least this many rows (or columns): thinner GEMMs run at a fraction of speed.
_MIN_PART = 32


def blas_matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``; around the convolution kernels (see the module's rule) with
    BLAS single-threaded and a large 2-D float product split into one block of rows (or of
    columns) per core."""
    plain = a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.dtype.kind != "f"
    if out is None and not plain:
        # Large results reuse memory (array_cache): a fresh 9 MB result faults its pages in,
        # which took longer than the product itself when two threads did so at once.
        out = array_cache.empty((a.shape[0], b.shape[1]), a.dtype)
    if not _scope[0]:
        if _scope[1] <= 0:
            return np.matmul(a, b, out=out)
        _scope[1] -= 1
    cores = threads.count()
    with blas_threads.single_threaded():
        if plain or cores == 1 or a.shape[0] * a.shape[1] * b.shape[1] < _PARALLEL_MULTIPLY_ADDS:
            return np.matmul(a, b, out=out)
        m, n = a.shape[0], b.shape[1]
        # Split the longer side: halves of a 64-row product ran at 80% of column halves' speed.
        if m >= 2 * _MIN_PART and m >= n:
            parts = _bounds(m, cores)
            jobs = [lambda lo=lo, hi=hi: np.matmul(a[lo:hi], b, out=out[lo:hi]) for lo, hi in parts]
        elif n >= 2 * _MIN_PART:
            parts = _bounds(n, cores)
            jobs = [lambda lo=lo, hi=hi: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi]) for lo, hi in parts]
        else:
            return np.matmul(a, b, out=out)
        threads.run_all(jobs)
        return out


# The dispatched product (the NumPy reference above, or oneDNN's where it applies).
matmul = providers.dispatched("matmul", blas_matmul)


def _linear_forward_reference(x, weight, bias=None):
    """x @ weight.T (+ bias) for x (M, K), weight (N, K), bias (N,) or None."""
    out = matmul(x, weight.T)
    if bias is not None:
        out += bias
    return out


def _fixed_right_product_reference(b, rows):
    """``matmul`` itself: a function product(a, b, out=None) for a loop's products by ``b``."""
    return matmul


linear_forward = providers.dispatched("linear_forward", _linear_forward_reference)
fixed_right_product = providers.dispatched("fixed_right_product", _fixed_right_product_reference)


def on_each_core(count, work, part=1, least=1):
    """work(lo, hi) over [0, count) split into one contiguous range per core, each a multiple of
    ``part`` long (but the last) and at least ``least`` long, with BLAS single-threaded
    meanwhile; returns the results in range order. Runs work(0, count) on the calling thread
    alone where there is one core, one range, or no control of BLAS's thread count (its threads
    would then compete with ours).

    For kernels whose rows are independent (a convolution's images, an LSTM's sequences):
    each core then runs its own single-threaded GEMMs and elementwise passes with no hand-off
    inside."""
    parts = -(-count // part)
    cores = min(threads.count(), parts, count // least) if blas_threads.available() else 1
    if cores <= 1:
        return [work(0, count)]
    bounds = [min(count, (parts * k // cores) * part) for k in range(cores + 1)]
    results = [None] * cores

    def run(k):
        results[k] = work(bounds[k], bounds[k + 1])
    _splitting[0] += 1
    try:
        with blas_threads.single_threaded():
            threads.run_all([lambda k=k: run(k) for k in range(cores)])
    finally:
        _splitting[0] -= 1
    # The pool's threads just ran: keep the next products off BLAS's spinning threads too.
    _scope[1] = PRODUCTS_AFTER_CONVOLUTION
    return results


# A memory-bound pass is split over the cores only when each core gets at least this many
# elements: below it, handing half of the work to another thread (20-50 us) costs more than
# it saves.
SPLIT_ELEMENTS = 1 << 19


def splits(rows, row_size):
    """Whether ``split_rows`` could hand part of rows [0, rows) to another core (else a kernel
    may run on the whole array directly, skipping the per-range slicing)."""
    return rows >= 2 * -(-SPLIT_ELEMENTS // max(1, row_size))


def split_rows(rows, row_size, work):
    """work(lo, hi) over rows [0, rows) of ``row_size`` elements each: one range per core when
    each gets at least SPLIT_ELEMENTS elements, else all on the calling thread."""
    if not splits(rows, row_size):
        # One range (what on_each_core decides too), without its bookkeeping: most calls.
        work(0, rows)
        return
    on_each_core(rows, work, least=-(-SPLIT_ELEMENTS // max(1, row_size)))


def _bounds(length, cores):
    """One contiguous part of ``length`` per core, no part thinner than _MIN_PART."""
    cores = max(1, min(cores, length // _MIN_PART))
    cuts = [length * k // cores for k in range(cores + 1)]
    return list(zip(cuts[:-1], cuts[1:]))
