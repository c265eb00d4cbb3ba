"""One thread pool for the memory-bound passes of the CPU kernels.

NumPy releases the GIL in copies and ufuncs, so the convolution kernels' passes over large
arrays can use every core, as BLAS does. Work is split into ``count()`` parts:
``ganglion.config.num_threads``, else one per core; setting num_threads sets OpenBLAS's thread
count too (None gives it back the count it started with). The pool is made on first use, made again
when that count changes, and made again in a forked child, which inherits the pool object but
none of its threads.
"""
import os
from concurrent.futures import ThreadPoolExecutor

from ganglion import config
from ganglion.backend import blas_threads

__all__ = ["CORES", "count", "run_all"]

CORES = os.cpu_count() or 1
_workers = []


def count():
    """How many threads the kernels split work over (``config.num_threads``, else CORES)."""
    return config.settings.num_threads or CORES


@config.on_change
def _apply_thread_count(name, value):
    """num_threads set in code or the environment also sets OpenBLAS's thread count."""
    if name == "num_threads":
        blas_threads.set_count(value)


if config.settings.num_threads is not None:
    blas_threads.set_count(config.settings.num_threads)


def run_all(jobs):
    """Call each of ``jobs`` (functions of no argument), spread over the threads; the calling
    thread runs the last one itself. Returns when all are done; re-raises a job's error."""
    if len(jobs) == 1:
        jobs[0]()
        return
    key = (os.getpid(), count())
    if not _workers or _workers[0][0] != key:
        if _workers and _workers[0][0][0] == key[0]:
            _workers[0][1].shutdown(wait=False)  # (a forked child's copy has no threads to stop)
        _workers[:] = [(key, ThreadPoolExecutor(max_workers=key[1], thread_name_prefix="ganglion"))]
    pool = _workers[0][1]
    futures = [pool.submit(job) for job in jobs[:-1]]
    jobs[-1]()
    for future in futures:
        future.result()
