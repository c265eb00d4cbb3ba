"""Compile time of ``function`` for a LeNet-5-sized training graph (forward, symbolic gradient,
Adam updates), and the time of one compiled step, batch 64.

The foundation has no convolution op yet, so each 5x5 convolution is written with the ops it
has: 25 shifted slices stacked, then one einsum with the filters (im2col by hand). That makes
the graph larger than a conv-op LeNet's, so the compile time measured here is an upper bound.
Run: python benchmarks/symbolic_compile_time.py
"""
import time

import numpy as np

import ganglion as gn
from common import median_ms

BATCH = 64
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def conv5x5(x, weight, bias, size):
    """'Valid' 5x5 convolution of x (N, C, size, size) with weight (O, C, 5, 5)."""
    out = size - 4
    patches = gn.stack([x[:, :, i:i + out, j:j + out] for i in range(5) for j in range(5)], 2)
    filters = gn.reshape(weight, weight.shape[0], weight.shape[1], 25)
    return gn.einsum("nckhw,ock->nohw", patches, filters) + gn.reshape(bias, 1, -1, 1, 1)


def max_pool2(x, channels, size):
    half = size // 2
    return gn.amax(gn.reshape(x, -1, channels, half, 2, half, 2), (3, 5))


def lenet_train_function():
    rng = np.random.default_rng(0)

    def param(*shape):
        return gn.shared((rng.standard_normal(shape) * 0.1).astype(np.float32))

    params = [param(6, 1, 5, 5), param(6), param(16, 6, 5, 5), param(16),
              param(400, 120), param(120), param(120, 84), param(84), param(84, 10), param(10)]
    moments = [(gn.shared(np.zeros(p.shape, np.float32)), gn.shared(np.zeros(p.shape, np.float32)))
               for p in params]
    t = gn.shared(np.float32(0))
    start = time.perf_counter()
    images = gn.placeholder(gn.float32, (BATCH, 1, 32, 32), name="images")
    labels = gn.placeholder(gn.int64, (BATCH, 1), name="labels")
    h = max_pool2(gn.relu(conv5x5(images, params[0], params[1], 32)), 6, 28)
    h = max_pool2(gn.relu(conv5x5(h, params[2], params[3], 14)), 16, 10)
    h = gn.reshape(h, BATCH, 400)
    for k in (4, 6):
        h = gn.relu(h @ params[k] + params[k + 1])
    logits = h @ params[8] + params[9]
    loss = -gn.log(gn.softmax(logits, 1)).gather(1, labels).mean()
    grads = gn.grad(loss, params)
    t_new = t + 1
    scale = LR * gn.sqrt(1 - BETA2 ** t_new) / (1 - BETA1 ** t_new)
    updates = [(t, t_new)]
    for p, g, (m, v) in zip(params, grads, moments):
        m_new = BETA1 * m + (1 - BETA1) * g
        v_new = BETA2 * v + (1 - BETA2) * g * g
        updates += [(m, m_new), (v, v_new), (p, p - scale * m_new / (gn.sqrt(v_new) + EPS))]
    built = time.perf_counter()
    train = gn.function([images, labels], loss, updates=updates)
    compiled = time.perf_counter()
    return train, built - start, compiled - built


def run():
    train, build_s, compile_s = lenet_train_function()
    rng = np.random.default_rng(1)
    images = rng.standard_normal((BATCH, 1, 32, 32)).astype(np.float32)
    labels = rng.integers(0, 10, (BATCH, 1))
    step_ms = median_ms(lambda: train(images, labels), warmup=2, repeats=10)
    print(f"LeNet-5-sized train graph (Adam), batch {BATCH}: {len(train.schedule.instructions)} "
          f"kernel calls after rewriting")
    print(f"build the expression and its gradient: {build_s:.3f} s")
    print(f"compile (extract, rewrite, schedule):  {compile_s:.3f} s")
    print(f"compiled step: {step_ms:.1f} ms")
    return compile_s


if __name__ == "__main__":
    run()
