"""Pooling and resampling forward + backward, ganglion against PyTorch eager, float32.

Each row pools a ReLU'd batch (so windows hold ties, as in a real network) and back-propagates
a fixed gradient; both frameworks run in one process with the same thread count, their steps
interleaved (so that load from other processes hits both alike), and each time is the median
of 30 steps after warm-up.
Run: python benchmarks/pool_kernels.py [--threads N]   (default: all cores; on a shared, loaded
machine --threads 1 keeps BLAS and PyTorch threads from spinning against other processes)
"""
import os
import sys

if "--threads" in sys.argv:  # must be set before NumPy loads OpenBLAS
    THREADS = int(sys.argv[sys.argv.index("--threads") + 1])
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(THREADS)
else:
    THREADS = None

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as TF  # noqa: E402

import ganglion as gn  # noqa: E402
import ganglion.nn.functional as F  # noqa: E402
import time  # noqa: E402

from common import machine, set_threads  # noqa: E402

CASES = [
    # name, input shape, ganglion function, torch function
    ("LeNet pool1 max 2x2", (128, 6, 28, 28),
     lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    ("LeNet pool2 max 2x2", (128, 16, 10, 10),
     lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    ("CIFAR pool1 max 2x2", (128, 32, 32, 32),
     lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    ("ResNet max 3x3 s2 p1", (128, 64, 32, 32),
     lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1)),
    ("CIFAR avg 2x2", (128, 32, 32, 32),
     lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2)),
    ("ResNet global avg", (128, 512, 4, 4),
     lambda x: F.adaptive_avg_pool2d(x, 1), lambda x: TF.adaptive_avg_pool2d(x, 1)),
    ("upsample nearest x2", (64, 64, 16, 16),
     lambda x: F.interpolate(x, scale_factor=2), lambda x: TF.interpolate(x, scale_factor=2)),
    ("upsample bilinear x2", (64, 64, 16, 16),
     lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
     lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear")),
]


def step(fn, x, seed):
    y = fn(x)
    y.backward(seed)
    x.grad = None


def interleaved_medians(steps, warmup=3, repeats=30):
    """Median ms of each step, the steps taking turns."""
    for _ in range(warmup):
        for run in steps:
            run()
    times = [[] for _ in steps]
    for _ in range(repeats):
        for run, record in zip(steps, times):
            start = time.perf_counter()
            run()
            record.append((time.perf_counter() - start) * 1000)
    return [float(np.median(t)) for t in times]


def main():
    threads = set_threads(THREADS)
    print(f"# {machine()}, {threads} threads; forward + backward, median ms of 30")
    print(f"{'case':24s} {'input':>20s} {'ganglion':>9s} {'torch':>9s} {'ratio':>6s}")
    rng = np.random.default_rng(0)
    for name, shape, gn_fn, torch_fn in CASES:
        data = np.maximum(rng.standard_normal(shape), 0).astype(np.float32)
        x_gn, x_torch = gn.from_numpy(data).requires_grad_(), torch.from_numpy(data).requires_grad_()
        out_shape = torch_fn(x_torch).shape
        grad = rng.standard_normal(out_shape).astype(np.float32)
        seed_gn, seed_torch = gn.from_numpy(grad), torch.from_numpy(grad)
        ours, theirs = interleaved_medians([lambda: step(gn_fn, x_gn, seed_gn),
                                            lambda: step(torch_fn, x_torch, seed_torch)])
        print(f"{name:24s} {str(shape):>20s} {ours:9.2f} {theirs:9.2f} {ours / theirs:6.2f}")


if __name__ == "__main__":
    main()
