"""LSTM classifier train step: LSTM(64, 256) over 35 steps, batch 64, FC on the last step to 10
classes, softmax cross-entropy, Adam.

ganglion (nn.LSTM, whose time loop is one fused op, with a hand-written Adam on raw arrays) and
PyTorch eager (torch.nn.LSTM, torch.optim.Adam) run the same step from the same initial weights
on the same data in one process, taking turns step by step (median of 30 after warm-up).
Target (issue 4): ratio <= 1.0.
Run: python benchmarks/lstm.py [threads]
"""
import sys

import numpy as np

from common import interleaved_medians, machine, set_threads
from mlp_step import LR, adam_buffers, adam_update

STEPS, BATCH, INPUT, HIDDEN, CLASSES = 35, 64, 64, 256, 10


def batch(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32)
    return x, rng.integers(0, CLASSES, BATCH)


def torch_model():
    import torch
    torch.manual_seed(0)
    return torch.nn.LSTM(INPUT, HIDDEN), torch.nn.Linear(HIDDEN, CLASSES)


def ganglion_step_fn():
    import ganglion as gn
    import ganglion.nn  # noqa: F401  (ganglion does not import nn by itself)
    lstm_ref, fc_ref = torch_model()
    lstm, fc = gn.nn.LSTM(INPUT, HIDDEN), gn.nn.Linear(HIDDEN, CLASSES)
    for module, reference in ((lstm, lstm_ref), (fc, fc_ref)):
        module.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    params = list(lstm.parameters()) + list(fc.parameters())
    moments = [adam_buffers(p.detach().numpy()) for p in params]
    x_np, y_np = batch()
    x, y = gn.from_numpy(x_np), gn.from_numpy(y_np)
    state = {"t": 0}

    def step():
        _, (h_n, _) = lstm(x)
        loss = gn.nn.functional.cross_entropy(fc(h_n[0]), y)
        loss.backward()
        state["t"] += 1
        for p, buffers in zip(params, moments):
            adam_update(p.detach().numpy(), p.grad.numpy(), buffers, state["t"])
            p.grad = None
        return loss
    return step


def torch_step_fn():
    import torch
    lstm, fc = torch_model()
    params = list(lstm.parameters()) + list(fc.parameters())
    optimizer = torch.optim.Adam(params, lr=LR)
    x_np, y_np = batch()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)

    def step():
        _, (h_n, _) = lstm(x)
        loss = torch.nn.functional.cross_entropy(fc(h_n[0]), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss
    return step


def check_same_loss():
    """Both steps start from the same weights, so the first losses must agree."""
    first_gn = float(ganglion_step_fn()().item())
    first_torch = float(torch_step_fn()().item())
    assert abs(first_gn - first_torch) < 1e-4, (first_gn, first_torch)


def run(threads=None):
    threads = set_threads(threads)
    check_same_loss()
    results = interleaved_medians({"ganglion eager": ganglion_step_fn(),
                                     "PyTorch eager": torch_step_fn()})
    torch_ms = results["PyTorch eager"]
    print(f"LSTM classifier train step (T={STEPS}, N={BATCH}, {INPUT}->{HIDDEN}, FC to "
          f"{CLASSES}), float32, {threads} threads")
    print(machine())
    print(f"{'implementation':<22}{'ms/step':>10}{'ratio to PyTorch':>20}")
    for name, ms in results.items():
        print(f"{name:<22}{ms:>10.2f}{ms / torch_ms:>20.2f}")
    return results


if __name__ == "__main__":
    # An optional argument sets the thread count (default: all cores, as the other benchmarks).
    run(int(sys.argv[1]) if len(sys.argv) > 1 else None)
