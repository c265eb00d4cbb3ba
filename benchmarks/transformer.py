"""Transformer encoder layer train step: ganglion vs PyTorch eager in one process.

One nn.TransformerEncoderLayer(d_model=256, nhead=8, dim_feedforward=1024, dropout=0.1,
batch_first=True) in training mode on a batch of 32 sequences of 64 tokens, an MSE loss against
a fixed target, backward, Adam. ganglion's layer loads the PyTorch layer's state dict, so both
start from the same weights; the first losses agree (checked with dropout off, since the two
frameworks draw different dropout masks). Median of N steps after warm-up, the two frameworks
timed in alternating blocks (common.interleaved_medians). Target (issue 13): ratio <= 1.5.
``--cpu-time`` measures instead the CPU time of the calling thread per step, with one thread
for each framework (PyTorch's intra-op threads and OpenBLAS's set to 1, so all work runs on
that thread): on a shared machine whose other jobs come and go, wall times of either framework
swing by 2-4x between runs, and PyTorch's OpenMP threads suffer most, while CPU time does not
count the time a step waits for a core.
Run: python benchmarks/transformer.py [--repeats N] [--threads N] [--cpu-time]
"""
import argparse
import statistics
import time

import numpy as np

from common import adam_step, interleaved_medians, machine, set_threads

D_MODEL, HEADS, FEEDFORWARD, SEQUENCE, BATCH, DROPOUT = 256, 8, 1024, 64, 32, 0.1


def batch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SEQUENCE, D_MODEL)).astype(np.float32)
    return x, rng.standard_normal((BATCH, SEQUENCE, D_MODEL)).astype(np.float32)


def layers(dropout=DROPOUT):
    """The PyTorch layer and a ganglion layer with its weights."""
    import torch
    import ganglion.nn as gnn
    torch.manual_seed(0)
    arguments = dict(dim_feedforward=FEEDFORWARD, dropout=dropout, batch_first=True)
    torch_layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, **arguments)
    layer = gnn.TransformerEncoderLayer(D_MODEL, HEADS, **arguments)
    layer.load_state_dict(torch_layer.state_dict())
    return layer, torch_layer


def torch_step(layer, x, target):
    import torch
    return adam_step(torch, layer, x, target, loss="mse_loss", lr=1e-4)


def ganglion_step(layer, x, target):
    import ganglion
    return adam_step(ganglion, layer, x, target, loss="mse_loss", lr=1e-4)


def check_same_loss():
    """With dropout off, the first step's losses agree (same weights, same data)."""
    layer, torch_layer = layers(dropout=0.0)
    x, target = batch()
    first = float(ganglion_step(layer, x, target)().item())
    first_torch = float(torch_step(torch_layer, x, target)().item())
    assert abs(first - first_torch) <= 1e-4 * abs(first_torch), (first, first_torch)
    return first, first_torch


def run(repeats=30, threads=None):
    threads = set_threads(threads)
    check_same_loss()
    layer, torch_layer = layers()
    x, target = batch()
    medians = interleaved_medians({"ganglion": ganglion_step(layer, x, target),
                                   "torch": torch_step(torch_layer, x, target)},
                                  repeats=repeats, block=max(1, min(10, repeats // 3)))
    ganglion_ms, torch_ms = medians["ganglion"], medians["torch"]
    print(f"TransformerEncoderLayer train step (d_model={D_MODEL}, nhead={HEADS}, "
          f"dim_feedforward={FEEDFORWARD}, seq {SEQUENCE}, batch {BATCH}, dropout {DROPOUT}, "
          f"batch_first, MSE, Adam), float32, {threads} threads")
    print(machine())
    print(f"{'workload':<20}{'ganglion ms':>14}{'PyTorch ms':>14}{'ratio':>8}")
    print(f"{'encoder layer':<20}{ganglion_ms:>14.1f}{torch_ms:>14.1f}"
          f"{ganglion_ms / torch_ms:>8.2f}")
    return ganglion_ms, torch_ms


def run_cpu_time(repeats=30, block=5):
    """Median CPU ms of the calling thread per step, one thread each, in alternating blocks."""
    from threadpoolctl import threadpool_limits
    set_threads(1)
    check_same_loss()
    layer, torch_layer = layers()
    x, target = batch()
    steps = {"ganglion": ganglion_step(layer, x, target),
             "torch": torch_step(torch_layer, x, target)}
    times = {name: [] for name in steps}
    with threadpool_limits(1, user_api="blas"):
        for step in steps.values():
            for _ in range(3):
                step()
        for _ in range(max(1, repeats // block)):
            for name, step in steps.items():
                for _ in range(block):
                    start = time.thread_time()
                    step()
                    times[name].append((time.thread_time() - start) * 1000)
    ganglion_ms, torch_ms = (statistics.median(times[n]) for n in ("ganglion", "torch"))
    print("TransformerEncoderLayer train step (as above), float32, CPU time of one thread")
    print(machine())
    print(f"{'workload':<20}{'ganglion ms':>14}{'PyTorch ms':>14}{'ratio':>8}")
    print(f"{'encoder layer':<20}{ganglion_ms:>14.1f}{torch_ms:>14.1f}"
          f"{ganglion_ms / torch_ms:>8.2f}")
    return ganglion_ms, torch_ms


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cpu-time", action="store_true",
                        help="CPU time of one thread per step instead of wall time")
    args = parser.parse_args()
    if args.cpu_time:
        run_cpu_time(args.repeats)
    else:
        run(args.repeats, args.threads)
