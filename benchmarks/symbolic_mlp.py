"""The MLP train step (784-512-512-10, batch 128, Adam) compiled as one symbolic function.

Four implementations of the same step on the same data, in one process:

- ganglion ``function(..., updates=...)``: forward, symbolic gradient and Adam updates compiled
  into one schedule;
- ganglion ``function(..., updates=Adam(...).updates(cost))`` on an ``nn.Sequential`` over
  placeholders of unknown batch size (issue 16's target: at least as fast as eager and <= 0.8 of
  PyTorch eager);
- ganglion eager and PyTorch eager (the step of ``mlp_step.py``);
- PyTensor (``pip install pytensor``, or the ``bench`` extra), if importable: the same graph
  with ``pytensor.grad`` and Adam updates, in its default mode.

Prints ms/step, the ratio to PyTorch eager and each one's compile time (the time of building
and compiling the function plus its first call).
Run: python benchmarks/symbolic_mlp.py [threads] [--cpu-time] (on one thread:
OPENBLAS_NUM_THREADS=1 ... 1; --cpu-time times by process CPU time, steadier on a loaded machine)
"""
import sys
import time

import numpy as np

from common import interleaved_medians, machine, median_ms, set_threads
from mlp_step import (BATCH, BETA1, BETA2, EPS, LR, SIZES, batch, ganglion_step_fn,
                      initial_weights, torch_step_fn)


def adam_updates(params, grads, moments, t, sqrt):
    """Adam's (variable, new value) pairs for shared ``params``, their shared (m, v) ``moments``
    and step counter ``t``, written with operators only, so that ganglion and PyTensor
    expressions both fit."""
    t_new = t + 1
    scale = LR * sqrt(1 - BETA2 ** t_new) / (1 - BETA1 ** t_new)
    updates = [(t, t_new)]
    for p, g, (m, v) in zip(params, grads, moments):
        m_new = BETA1 * m + (1 - BETA1) * g
        v_new = BETA2 * v + (1 - BETA2) * g * g
        updates += [(m, m_new), (v, v_new), (p, p - scale * m_new / (sqrt(v_new) + EPS))]
    return updates


def ganglion_compiled_step_fn():
    import ganglion as gn
    start = time.perf_counter()
    params = [gn.shared(w, name=f"p{k}") for k, w in enumerate(initial_weights())]
    moments = [(gn.shared(np.zeros_like(w)), gn.shared(np.zeros_like(w))) for w in initial_weights()]
    t = gn.shared(np.float32(0), name="t")
    x = gn.placeholder(gn.float32, (BATCH, SIZES[0]), name="x")
    y = gn.placeholder(gn.int64, (BATCH, 1), name="y")
    h = x
    for i in range(0, len(params) - 2, 2):
        h = (h @ params[i] + params[i + 1]).relu()
    logits = h @ params[-2] + params[-1]
    loss = -logits.log_softmax(1).gather(1, y).mean()
    grads = gn.grad(loss, params)
    train = gn.function([x, y], loss, updates=adam_updates(params, grads, moments, t, gn.sqrt))
    x_np, y_np = batch()
    y_np = y_np.reshape(-1, 1)
    train(x_np, y_np)
    compile_s = time.perf_counter() - start
    return (lambda: train(x_np, y_np)), compile_s


def ganglion_optimizer_updates_step_fn():
    """Issue 16's form: an ``nn.Sequential`` on placeholders of unknown batch size, the cost
    compiled with ``updates=Adam(model.parameters()).updates(cost)``."""
    import ganglion as gn
    import ganglion.nn as nn
    import ganglion.nn.functional as F
    start = time.perf_counter()
    weights = initial_weights()
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]),
                          nn.ReLU(), nn.Linear(SIZES[2], SIZES[3]))
    with gn.no_grad():
        for layer, k in zip(model[::2], range(0, len(weights), 2)):
            layer.weight.copy_(gn.from_numpy(np.ascontiguousarray(weights[k].T)))
            layer.bias.copy_(gn.from_numpy(weights[k + 1]))
    x = gn.placeholder(gn.float32, (None, SIZES[0]), name="x")
    y = gn.placeholder(gn.int64, (None,), name="y")
    cost = F.cross_entropy(model(x), y)
    optimizer = gn.optim.Adam(model.parameters(), lr=LR, betas=(BETA1, BETA2), eps=EPS)
    train = gn.function([x, y], cost, updates=optimizer.updates(cost))
    x_np, y_np = batch()
    train(x_np, y_np)
    compile_s = time.perf_counter() - start
    return (lambda: train(x_np, y_np)), compile_s


def pytensor_step_fn():
    import pytensor
    import pytensor.tensor as pt
    start = time.perf_counter()
    params = [pytensor.shared(w, name=f"p{k}") for k, w in enumerate(initial_weights())]
    moments = [(pytensor.shared(np.zeros_like(w)), pytensor.shared(np.zeros_like(w)))
               for w in initial_weights()]
    t = pytensor.shared(np.float32(0), name="t")
    x = pt.matrix("x", dtype="float32")
    y = pt.vector("y", dtype="int64")
    h = x
    for i in range(0, len(params) - 2, 2):
        h = pt.maximum(pt.dot(h, params[i]) + params[i + 1], 0)
    logits = pt.dot(h, params[-2]) + params[-1]
    logp = pt.special.log_softmax(logits, axis=1)
    loss = -logp[pt.arange(BATCH), y].mean()
    grads = pytensor.grad(loss, params)
    updates = [(v, pt.cast(e, v.dtype)) for v, e in adam_updates(params, grads, moments, t, pt.sqrt)]
    train = pytensor.function([x, y], loss, updates=updates)
    x_np, y_np = batch()
    train(x_np, y_np)
    compile_s = time.perf_counter() - start
    return (lambda: train(x_np, y_np)), compile_s


def run(threads=None, cpu_time=False):
    threads = set_threads(threads)
    steps, compile_times = {}, {}
    steps["ganglion function"], compile_times["ganglion function"] = ganglion_compiled_step_fn()
    steps["function, Adam.updates"], compile_times["function, Adam.updates"] = (
        ganglion_optimizer_updates_step_fn())
    steps["ganglion eager"] = ganglion_step_fn()
    steps["PyTorch eager"] = torch_step_fn()
    if cpu_time:
        from cpu_timing import interleaved_cpu_medians
        medians = interleaved_cpu_medians(steps, repeats=150)
    else:
        medians = interleaved_medians(steps, repeats=150)
    # PyTensor goes last, on its own: after its calls, threads of its runtime keep spinning on
    # the second core long enough to slow whatever runs next (measured: the compiled ganglion
    # step took 8.1 ms right after PyTensor's blocks, 4.2-4.4 ms otherwise).
    try:
        step, compile_times["PyTensor (default mode)"] = pytensor_step_fn()
        medians["PyTensor (default mode)"] = median_ms(step, repeats=150)
    except ImportError:
        print("PyTensor is not installed (pip install pytensor): its row is left out")
    rows = {name: (ms, compile_times.get(name)) for name, ms in medians.items()}
    torch_ms = rows["PyTorch eager"][0]
    eager_ms = rows["ganglion eager"][0]
    clock = "CPU time" if cpu_time else "wall time"
    print(f"MLP 784-512-512-10 Adam train step, batch {BATCH}, float32, {threads} threads, {clock}")
    print(machine())
    print(f"{'implementation':<26}{'ms/step':>9}{'/ PyTorch':>11}{'/ ganglion eager':>18}{'compile s':>11}")
    for name, (ms, compile_s) in rows.items():
        compiled = "" if compile_s is None else f"{compile_s:.2f}"
        print(f"{name:<26}{ms:>9.2f}{ms / torch_ms:>11.2f}{ms / eager_ms:>18.2f}{compiled:>11}")
    return rows


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if not a.startswith("--")]
    run(int(numbers[0]) if numbers else None, cpu_time="--cpu-time" in sys.argv)
