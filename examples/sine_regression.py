"""Fit a two-layer network to noisy sine data with raw tensors (the engine alone).

Only tensors, autograd and no_grad are used, no layers or optimizers: the loss falls as plain
gradient descent with momentum trains the weights, and the final mean-squared error on clean
held-out points is printed.
Run: python examples/sine_regression.py [--steps N] [--quick] [--quiet]
"""
import argparse
import math
import time

import ganglion as gn

QUICK_STEPS = 300


def make_data(n, noise, seed):
    """n points of sin(x) on [-pi, pi] plus Gaussian noise of standard deviation ``noise``."""
    gn.manual_seed(seed)
    x = gn.rand(n, 1) * (2 * math.pi) - math.pi
    y = gn.sin(x) + noise * gn.randn(n, 1)
    return x, y


def init_params(hidden, seed):
    """Weights scaled by 1/sqrt(fan_in) (PyTorch's Linear scale), zero biases."""
    gn.manual_seed(seed)
    w1 = gn.randn(1, hidden, requires_grad=True)
    b1 = gn.zeros(hidden, requires_grad=True)
    w2 = (gn.randn(hidden, 1) * (1 / math.sqrt(hidden))).requires_grad_()
    b2 = gn.zeros(1, requires_grad=True)
    return [w1, b1, w2, b2]


def predict(params, x):
    w1, b1, w2, b2 = params
    return gn.tanh(x @ w1 + b1) @ w2 + b2


def train(steps=2000, hidden=32, lr=0.05, momentum=0.9, log_every=200, print_fn=print):
    x, y = make_data(256, noise=0.1, seed=0)
    params = init_params(hidden, seed=1)
    velocity = [gn.zeros_like(p) for p in params]
    history = []
    for step in range(1, steps + 1):
        loss = ((predict(params, x) - y) ** 2).mean()
        loss.backward()
        with gn.no_grad():
            for p, v in zip(params, velocity):
                v.mul_(momentum).add_(p.grad)
                p -= lr * v
                p.grad = None
        history.append(loss.item())
        if print_fn and (step == 1 or step % log_every == 0):
            print_fn(f"step {step:5d}   training loss {loss.item():.5f}")
    x_test = gn.linspace(-math.pi, math.pi, 200).reshape(200, 1)
    with gn.no_grad():
        test_mse = ((predict(params, x_test) - gn.sin(x_test)) ** 2).mean().item()
    return history, test_mse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="gradient steps (default 2000)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps (for tests)")
    parser.add_argument("--quiet", action="store_true", help="print only the final line")
    args = parser.parse_args(argv)
    steps = QUICK_STEPS if args.quick else args.steps
    if not args.quiet:
        print("a 1-32-1 tanh network learns sin(x) from 256 noisy points")
    start = time.perf_counter()
    history, test_mse = train(steps, print_fn=None if args.quiet else print)
    if not args.quiet:
        print(f"trained in {time.perf_counter() - start:.1f} s; loss {history[0]:.4f} -> "
              f"{history[-1]:.4f}")
    print(f"final mean-squared error against sin(x) on 200 held-out points: {test_mse:.5f}")
    return test_mse


if __name__ == "__main__":
    main()
