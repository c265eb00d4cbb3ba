"""Convolution forward + backward, layer by layer, on the shapes of LeNet-5, the CIFAR CNN and
ResNet-18 (CIFAR variant), batch 128, float32: ganglion's F.conv2d against PyTorch's.

Each step is a forward pass and a backward pass for the weight, the bias and (except in a
network's first layer, whose input needs no gradient) the input. The two frameworks alternate
step by step in one process with the same thread count, so the ratio stays fair on a busy
machine; times are medians. The network totals weight each shape by how often the network
uses it. Run: python benchmarks/conv_kernels.py [--quick] [--threads N]

On a machine that other jobs keep busy, multi-threaded BLAS timings swing wildly (each GEMM
synchronizes its threads many times, and a descheduled thread stalls the rest); --threads 1
then gives the steadier ratio.
"""
import os
import statistics
import sys
import time

if "--threads" in sys.argv:  # BLAS reads its thread count once, when NumPy loads
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = sys.argv[sys.argv.index("--threads") + 1]

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ganglion as gn  # noqa: E402
import ganglion.nn.functional as F  # noqa: E402
from common import machine, set_threads  # noqa: E402

# name, (C, H, W), out_channels, kernel, stride, padding, input needs grad, uses per network
NETWORKS = {
    "LeNet-5": [
        ("conv1 1->6 5x5 p2", (1, 28, 28), 6, 5, 1, 2, False, 1),
        ("conv2 6->16 5x5", (6, 14, 14), 16, 5, 1, 0, True, 1),
    ],
    "CIFAR CNN": [
        ("conv1 3->32", (3, 32, 32), 32, 3, 1, 1, False, 1),
        ("conv2 32->64", (32, 16, 16), 64, 3, 1, 1, True, 1),
        ("conv3 64->128", (64, 8, 8), 128, 3, 1, 1, True, 1),
    ],
    "ResNet-18": [
        ("stem 3->64", (3, 32, 32), 64, 3, 1, 1, False, 1),
        ("layer1 64->64", (64, 32, 32), 64, 3, 1, 1, True, 4),
        ("layer2 64->128 s2", (64, 32, 32), 128, 3, 2, 1, True, 1),
        ("layer2 128->128", (128, 16, 16), 128, 3, 1, 1, True, 3),
        ("layer2 shortcut 1x1 s2", (64, 32, 32), 128, 1, 2, 0, True, 1),
        ("layer3 128->256 s2", (128, 16, 16), 256, 3, 2, 1, True, 1),
        ("layer3 256->256", (256, 8, 8), 256, 3, 1, 1, True, 3),
        ("layer3 shortcut 1x1 s2", (128, 16, 16), 256, 1, 2, 0, True, 1),
        ("layer4 256->512 s2", (256, 8, 8), 512, 3, 2, 1, True, 1),
        ("layer4 512->512", (512, 4, 4), 512, 3, 1, 1, True, 3),
        ("layer4 shortcut 1x1 s2", (256, 8, 8), 512, 1, 2, 0, True, 1),
    ],
}
BATCH = 128


def make_steps(shape, out_channels, kernel, stride, padding, input_grad, seed=0):
    """One forward + backward step for each framework, on the same data."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH,) + shape).astype(np.float32)
    w = (rng.standard_normal((out_channels, shape[0], kernel, kernel)) * 0.1).astype(np.float32)
    b = np.zeros(out_channels, np.float32)
    gx, gw, gb = gn.from_numpy(x.copy()), gn.from_numpy(w.copy()), gn.from_numpy(b.copy())
    tx, tw, tb = torch.from_numpy(x.copy()), torch.from_numpy(w.copy()), torch.from_numpy(b.copy())
    for t in (gx, tx) if input_grad else ():
        t.requires_grad_(True)
    for t in (gw, gb, tw, tb):
        t.requires_grad_(True)
    out_shape = F.conv2d(gx.detach(), gw.detach(), stride=stride, padding=padding).shape
    seed_grad = rng.standard_normal(out_shape).astype(np.float32)
    g_seed, t_seed = gn.from_numpy(seed_grad), torch.from_numpy(seed_grad)

    def ganglion_step():
        F.conv2d(gx, gw, gb, stride=stride, padding=padding).backward(g_seed)
        gw.grad = gb.grad = gx.grad = None

    def torch_step():
        torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding).backward(t_seed)
        tw.grad = tb.grad = tx.grad = None

    return ganglion_step, torch_step


def interleaved_medians(steps, budget_ms=3000, most=30, least=3):
    """Median ms of each step, the steps alternating; repeats fit the time budget."""
    for step in steps:  # warm-up: scratch buffers, BLAS threads, allocator
        step()
    start = time.perf_counter()
    for step in steps:
        step()
    one_round = (time.perf_counter() - start) * 1000
    repeats = max(least, min(most, int(budget_ms / max(one_round, 1e-3))))
    times = [[] for _ in steps]
    for _ in range(repeats):
        for step, record in zip(steps, times):
            begin = time.perf_counter()
            step()
            record.append((time.perf_counter() - begin) * 1000)
    return [statistics.median(t) for t in times]


def run(quick=False, threads=None):
    threads = set_threads(threads)
    print(f"conv2d forward + backward, batch {BATCH}, float32, {threads} threads; {machine()}")
    print(f"{'network':10s} {'layer':26s} {'uses':>4s} {'ganglion ms':>12s} {'torch ms':>9s} {'ratio':>6s}")
    for network, layers in NETWORKS.items():
        total_gn = total_torch = 0.0
        for name, shape, out_channels, kernel, stride, padding, input_grad, uses in layers:
            steps = make_steps(shape, out_channels, kernel, stride, padding, input_grad)
            ours, theirs = interleaved_medians(steps, budget_ms=300 if quick else 3000,
                                               least=1 if quick else 3)
            total_gn += uses * ours
            total_torch += uses * theirs
            print(f"{network:10s} {name:26s} {uses:4d} {ours:12.2f} {theirs:9.2f} {ours / theirs:6.2f}",
                  flush=True)
        print(f"{network:10s} {'all conv layers':26s} {'':4s} {total_gn:12.2f} {total_torch:9.2f} "
              f"{total_gn / total_torch:6.2f}", flush=True)


if __name__ == "__main__":
    run(quick="--quick" in sys.argv,
        threads=int(os.environ["OPENBLAS_NUM_THREADS"]) if "--threads" in sys.argv else None)
