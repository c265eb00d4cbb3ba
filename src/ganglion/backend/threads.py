"""One thread pool for the memory-bound passes of the CPU kernels.

NumPy releases the GIL in copies and ufuncs, so the convolution kernels' passes over large
arrays can use every core, as BLAS does. The pool is made on
first use and made again in a forked child, which inherits the pool object but none of its
threads.
"""
import os
from concurrent.futures import ThreadPoolExecutor

__all__ = ["CORES", "run_all"]

CORES = os.cpu_count() or 1
_workers = []


def run_all(jobs):
    """Call each of ``jobs`` (functions of no argument), spread over the cores; the calling
    thread runs the last one itself. Returns when all are done; re-raises a job's error."""
    if len(jobs) == 1:
        jobs[0]()
        return
    if not _workers or _workers[0][0] != os.getpid():
        _workers[:] = [(os.getpid(), ThreadPoolExecutor(max_workers=CORES, thread_name_prefix="ganglion"))]
    pool = _workers[0][1]
    futures = [pool.submit(job) for job in jobs[:-1]]
    jobs[-1]()
    for future in futures:
        future.result()
