"""LSTM classifier train step written with ``scan`` (Theano's way: the step as a graph, the loop
one compiled op, backpropagation through time by ``ScanGradOp``) against the fused ``nn.LSTM``
eager step and PyTorch eager, on the sizes of benchmarks/lstm.py (LSTM(64, 256) over 35 steps,
batch 64, FC on the last step to 10 classes, softmax cross-entropy, Adam).

The scan step is one compiled ``function`` with ``Adam(...).updates(cost)``, written as the
DeepLearningTutorials' lstm.py writes it: the input projection of all steps is one product before
the loop, and the step computes the four gates as h @ U plus that step's projection.
All three start from the same weights and data (the first losses are checked to agree).
Issue 16's target: scan within 1.3x of the fused nn.LSTM.
Run: python benchmarks/scan_lstm.py [threads] [--cpu-time] (--cpu-time: process CPU time, one
thread only, steadier on a loaded machine)
"""
import sys

import numpy as np

from common import interleaved_medians, machine, set_threads
from lstm import BATCH, CLASSES, HIDDEN, INPUT, STEPS, batch, ganglion_step_fn, torch_model
from lstm import torch_step_fn
from mlp_step import LR


def scan_step_fn():
    import ganglion as gn
    import ganglion.nn.functional as F
    from ganglion.optim import Adam
    lstm_ref, fc_ref = torch_model()
    w = {k: v.detach().numpy() for k, v in lstm_ref.state_dict().items()}
    # As the DeepLearningTutorials' lstm.py: the input projection of every step is one product
    # before the loop; the step multiplies h by U.
    W = gn.nn.Parameter(gn.from_numpy(np.ascontiguousarray(w["weight_ih_l0"].T)))
    U = gn.nn.Parameter(gn.from_numpy(np.ascontiguousarray(w["weight_hh_l0"].T)))
    bias = gn.nn.Parameter(gn.from_numpy(w["bias_ih_l0"] + w["bias_hh_l0"]))
    fc_w = gn.nn.Parameter(gn.from_numpy(np.ascontiguousarray(fc_ref.weight.detach().numpy().T)))
    fc_b = gn.nn.Parameter(gn.from_numpy(fc_ref.bias.detach().numpy()))
    params = [W, U, bias, fc_w, fc_b]

    def lstm_step(x_t, h, c, U):
        gates = h @ U + x_t
        i, f, g, o = (gates[:, k * HIDDEN:(k + 1) * HIDDEN] for k in range(4))
        c = gn.sigmoid(f) * c + gn.sigmoid(i) * gn.tanh(g)
        return gn.sigmoid(o) * gn.tanh(c), c

    x, y = gn.placeholder(gn.float32, (STEPS, BATCH, INPUT)), gn.placeholder(gn.int64, (BATCH,))
    zeros = gn.zeros((BATCH, HIDDEN))
    (hs, _), _ = gn.scan(lstm_step, sequences=x @ W + bias, outputs_info=[zeros, zeros],
                         non_sequences=[U])
    loss = F.cross_entropy(hs[-1] @ fc_w + fc_b, y)
    train = gn.function([x, y], loss, updates=Adam(params, lr=LR).updates(loss))
    x_np, y_np = batch()
    return lambda: train(x_np, y_np)


def run(threads=None, cpu_time=False):
    threads = set_threads(threads)
    steps = {"ganglion scan (compiled)": scan_step_fn(),
             "ganglion nn.LSTM eager": ganglion_step_fn(), "PyTorch eager": torch_step_fn()}
    # Fresh steps from the same weights: their first losses must agree.
    first = [float(step().item()) for step in (scan_step_fn(), ganglion_step_fn(), torch_step_fn())]
    assert max(first) - min(first) < 1e-4, first
    if cpu_time:
        from cpu_timing import interleaved_cpu_medians
        results = interleaved_cpu_medians(steps)
    else:
        results = interleaved_medians(steps)
    fused = results["ganglion nn.LSTM eager"]
    torch_ms = results["PyTorch eager"]
    print(f"LSTM classifier train step with scan (T={STEPS}, N={BATCH}, {INPUT}->{HIDDEN}, FC to "
          f"{CLASSES}), float32, Adam, {threads} threads, {'CPU' if cpu_time else 'wall'} time")
    print(machine())
    print(f"{'implementation':<28}{'ms/step':>10}{'to nn.LSTM':>12}{'to PyTorch':>12}")
    for name, ms in results.items():
        print(f"{name:<28}{ms:>10.2f}{ms / fused:>12.2f}{ms / torch_ms:>12.2f}")
    return results


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if not a.startswith("--")]
    run(int(numbers[0]) if numbers else None, cpu_time="--cpu-time" in sys.argv)
