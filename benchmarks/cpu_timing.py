"""Interleaved medians in CPU time (``time.process_time``) for a loaded machine: what
``common.interleaved_medians`` does, timing each call by the process's CPU time instead of the
wall clock, so that waiting for a core taken by other processes does not count. Meaningful on
one thread only (``OPENBLAS_NUM_THREADS=1``, ``set_threads(1)``): with several, the CPU time is
the sum over the threads, spinning ones included.
Used by ``symbolic_mlp.py`` and ``scan_lstm.py`` under ``--cpu-time``."""
import statistics
import time


def interleaved_cpu_medians(steps, warmup=5, repeats=30, block=10, settle=2):
    """{name: median CPU ms} for ``steps`` ({name: function of no argument}): rounds of
    ``block`` timed calls of each in turn, each block after ``settle`` untimed calls."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(max(1, repeats // block)):
        for name, step in steps.items():
            for _ in range(settle):
                step()
            for _ in range(block):
                start = time.process_time()
                step()
                times[name].append((time.process_time() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}
