"""Compile time of ``function`` for the LeNet-5 training graph (forward, symbolic gradient, Adam
updates from ``optimizer.updates``), the time of its first call, and of one compiled step,
batch 128.

Fused loops (the ``jit`` extra) are compiled by numba on their first call: the first call is the
one that pays for that, once per machine; later processes load them from the disk cache
(``GANGLION_KERNEL_CACHE_DIR`` points it elsewhere: an empty folder shows the cold cost).

The model is ``models.lenet`` built from ``ganglion.nn`` (conv, pool and linear layers), applied
to placeholders.
Run: python benchmarks/symbolic_compile_time.py
"""
import time

import numpy as np

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from common import median_ms
from models import lenet

BATCH = 128


def lenet_train_function():
    gn.manual_seed(0)
    model = lenet(nn)
    optimizer = gn.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    images = gn.placeholder(gn.float32, (None, 1, 28, 28), name="images")
    labels = gn.placeholder(gn.int64, (None,), name="labels")
    loss = F.cross_entropy(model(images), labels)
    updates = optimizer.updates(loss)
    built = time.perf_counter()
    train = gn.function([images, labels], loss, updates=updates)
    compiled = time.perf_counter()
    return train, built - start, compiled - built


def run():
    train, build_s, compile_s = lenet_train_function()
    rng = np.random.default_rng(1)
    images = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, BATCH)
    start = time.perf_counter()
    train(images, labels)
    first_s = time.perf_counter() - start
    step_ms = median_ms(lambda: train(images, labels), warmup=2, repeats=10)
    print(f"LeNet-5 train graph (Adam updates), batch {BATCH}: {len(train.schedule.instructions)} "
          f"kernel calls after rewriting")
    print(f"build the expression, its gradient and the updates: {build_s:.3f} s")
    print(f"compile (extract, rewrite, schedule):               {compile_s:.3f} s")
    print(f"first call (loads or compiles the fused loops):    {first_s:.3f} s")
    print(f"compiled step: {step_ms:.1f} ms")
    return compile_s


if __name__ == "__main__":
    run()
