"""Timing helpers shared by the benchmarks: median of N timed steps after warm-up, one process.

Both frameworks run in the same process with the same thread count, so their ratio is fair
on a shared, noisy machine even when the absolute numbers drift.
"""
import os
import platform
import statistics
import time


def median_ms(step, warmup=5, repeats=30):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def set_threads(n=None):
    """Give PyTorch the same thread count as NumPy's BLAS (all cores unless told otherwise)."""
    import torch
    n = n or os.cpu_count()
    torch.set_num_threads(n)
    return n


def machine():
    import numpy
    import torch
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, NumPy {numpy.__version__}, PyTorch {torch.__version__}")
