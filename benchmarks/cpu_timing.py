"""Interleaved medians in CPU time (``time.process_time``) for a loaded machine: what
``common.interleaved_medians`` does, timing each call by the process's CPU time instead of the
wall clock, so that waiting for a core taken by other processes does not count. Meaningful on
one thread only (``OPENBLAS_NUM_THREADS=1``, ``set_threads(1)``): with several, the CPU time is
the sum over the threads, spinning ones included.
Used by ``symbolic_mlp.py`` and ``scan_lstm.py`` under ``--cpu-time``."""
import time

from common import interleaved_medians


def interleaved_cpu_medians(steps, warmup=5, repeats=30, block=10, settle=2):
    """{name: median CPU ms} for ``steps`` ({name: function of no argument}): rounds of
    ``block`` timed calls of each in turn, each block after ``settle`` untimed calls."""
    return interleaved_medians(steps, warmup, repeats, block, settle, clock=time.process_time)
