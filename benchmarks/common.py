"""Timing helpers shared by the benchmarks: median of N timed steps after warm-up, one process.

Both frameworks run in the same process with the same thread count, so their ratio is fair
on a shared, noisy machine even when the absolute numbers drift. ``interleaved_medians`` goes
further: it times blocks of steps of each implementation in turn, round after round, so that a
slow spell of the machine (they last seconds here) falls on all of them alike.
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


def interleaved_medians(steps, warmup=5, repeats=30, block=10, settle=2, before_block=None,
                        clock=time.perf_counter):
    """{name: median ms} for ``steps`` ({name: function of no argument}): rounds of ``block``
    timed calls of each in turn, each block after ``settle`` untimed calls (and after
    ``before_block(name)``, if given). Blocks, not single calls: a framework's idle threads spin
    for a while after its last op, and would slow the next framework's first calls. ``clock`` is
    the wall clock by default; ``time.process_time`` / ``time.thread_time`` time CPU instead."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(max(1, repeats // block)):
        for name, step in steps.items():
            if before_block is not None:
                before_block(name)
            for _ in range(settle):
                step()
            for _ in range(block):
                start = clock()
                step()
                times[name].append((clock() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def set_threads(n=None):
    """Give PyTorch the same thread count as NumPy's BLAS (all cores unless told otherwise)."""
    import torch
    n = n or os.cpu_count()
    torch.set_num_threads(n)
    return n


def one_thread():
    """One thread for each framework, for timing by CPU time: PyTorch's intra-op pool, OpenBLAS
    (threadpoolctl, for as long as the returned object lives) and ganglion's kernels and oneDNN
    (``config.num_threads``), which then run on the calling thread."""
    from threadpoolctl import threadpool_limits
    import ganglion
    set_threads(1)
    ganglion.config.num_threads = 1
    return threadpool_limits(1, user_api="blas")


def thread_setting(cpu_time):
    """(object to keep while timing, how the threads are set as words): one thread per framework
    timed by CPU time (``one_thread``), or every core (``set_threads``) timed by the clock."""
    if cpu_time:
        return one_thread(), "CPU time of one thread each"
    return None, f"{set_threads()} threads each"


def blas_kernels():
    """NumPy's BLAS and the kernel set it runs (OpenBLAS picks AVX2 or AVX-512 kernels from the
    CPU, or from OPENBLAS_CORETYPE: GEMMs differ up to 2x between them), as threadpoolctl reads
    them; None without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    import numpy  # noqa: F401  (load NumPy's BLAS before asking)
    found = [f"{info['internal_api']} {info.get('version')} {info.get('architecture')}"
             for info in threadpool_info() if info.get("user_api") == "blas"]
    return ", ".join(found) or None


def machine():
    import numpy
    import torch
    kernels = blas_kernels()
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, NumPy {numpy.__version__}"
            + (f" ({kernels} kernels)" if kernels else "")
            + f", PyTorch {torch.__version__}")


def adam_step(framework, model, x, target, loss="cross_entropy", lr=1e-3):
    """A train step of ``model`` (forward, ``loss`` from ``framework.nn.functional``, backward,
    Adam) on NumPy inputs, written once for both frameworks: ``framework`` is the ``torch`` or
    the ``ganglion`` module, whose APIs are the same. Returns a function of no argument that runs
    one step and returns the loss."""
    optimizer = framework.optim.Adam(model.parameters(), lr=lr)
    x, target = framework.from_numpy(x), framework.from_numpy(target)
    loss_function = getattr(framework.nn.functional, loss)

    def step():
        optimizer.zero_grad(set_to_none=True)
        value = loss_function(model(x), target)
        value.backward()
        optimizer.step()
        return value
    return step
