"""MLP train step: 784-512-512-10, batch 128, ReLU, softmax cross-entropy, Adam.

Raw tensors and autograd (no nn modules), each framework's own Adam: this measures the engine's
overhead around the GEMMs. ganglion and PyTorch eager run the same step on the same data in one
process; a hand-written NumPy step (in-place Adam on raw arrays) shows the floor for an engine
built on NumPy.
Run: python benchmarks/mlp_step.py
"""
import numpy as np

from common import machine, median_ms, set_threads

BATCH, SIZES = 128, (784, 512, 512, 10)
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    weights = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return weights


def batch(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((BATCH, SIZES[0])).astype(np.float32), rng.integers(0, 10, BATCH)


def adam_buffers(array):
    return np.zeros_like(array), np.zeros_like(array), np.empty_like(array)


def adam_update(param, grad, buffers, t):
    """Adam on raw arrays, in place, with one scratch buffer: no temporaries are allocated."""
    m, v, scratch = buffers
    m *= BETA1
    np.multiply(grad, 1 - BETA1, out=scratch)
    m += scratch
    v *= BETA2
    np.multiply(grad, grad, out=scratch)
    scratch *= 1 - BETA2
    v += scratch
    np.sqrt(v, out=scratch)
    scratch += EPS
    np.divide(m, scratch, out=scratch)
    scratch *= LR * np.sqrt(1 - BETA2 ** t) / (1 - BETA1 ** t)
    param -= scratch


def framework_step_fn(framework):
    """The train step in ``framework`` (the ganglion or the torch module): the code is the same
    for both, which is the point of PyTorch-compatible names."""
    params = [framework.from_numpy(w.copy()).requires_grad_() for w in initial_weights()]
    optimizer = framework.optim.Adam(params, lr=LR, betas=(BETA1, BETA2), eps=EPS)
    x_np, y_np = batch()
    x, y = framework.from_numpy(x_np), framework.from_numpy(y_np.reshape(-1, 1))

    def step():
        h = x
        for i in range(0, len(params) - 2, 2):
            h = (h @ params[i] + params[i + 1]).relu()
        logits = h @ params[-2] + params[-1]
        loss = -logits.log_softmax(1).gather(1, y).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return step


def ganglion_step_fn():
    import ganglion
    return framework_step_fn(ganglion)


def torch_step_fn():
    import torch
    return framework_step_fn(torch)


def numpy_step_fn():
    """The same step written by hand in NumPy: the floor for an engine built on NumPy."""
    params = [w.copy() for w in initial_weights()]
    moments = [adam_buffers(p) for p in params]
    x, y = batch()
    state = {"t": 0}

    def step():
        acts = [x]
        for i in range(0, len(params) - 2, 2):
            acts.append(np.maximum(acts[-1] @ params[i] + params[i + 1], 0))
        logits = acts[-1] @ params[-2] + params[-1]
        shifted = logits - logits.max(1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(1, keepdims=True)
        g = probs
        g[np.arange(BATCH), y] -= 1
        g /= BATCH
        grads = [None] * len(params)
        for i in range(len(params) - 2, -1, -2):
            grads[i] = acts[i // 2].T @ g
            grads[i + 1] = g.sum(0)
            if i:
                g = (g @ params[i].T) * (acts[i // 2] > 0)
        state["t"] += 1
        for p, gr, buffers in zip(params, grads, moments):
            adam_update(p, gr, buffers, state["t"])
    return step


def run():
    threads = set_threads()
    results = {
        "ganglion eager": median_ms(ganglion_step_fn()),
        "PyTorch eager": median_ms(torch_step_fn()),
        "hand-written NumPy": median_ms(numpy_step_fn()),
    }
    torch_ms = results["PyTorch eager"]
    print(f"MLP 784-512-512-10 train step, batch {BATCH}, float32, {threads} threads")
    print(machine())
    print(f"{'implementation':<22}{'ms/step':>10}{'ratio to PyTorch':>20}")
    for name, ms in results.items():
        print(f"{name:<22}{ms:>10.2f}{ms / torch_ms:>20.2f}")
    return results


if __name__ == "__main__":
    run()
