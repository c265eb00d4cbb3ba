"""The fixed problem that optimizer tests train on: a 2-layer tanh MLP regressing random data,
built with the same initial weights in ganglion (eager or symbolic) and in PyTorch."""
import numpy as np
import torch

import ganglion as gn
from ganglion.nn import Parameter

torch.set_num_threads(1)

STEPS = 20
FIRST_LAYER, SECOND_LAYER = slice(0, 2), slice(2, 4)
_rng = np.random.default_rng(1234)
INITIAL = [(_rng.standard_normal(shape) * 0.5).astype(np.float32)
           for shape in [(5, 8), (8,), (8, 3), (3,)]]
X = _rng.standard_normal((16, 5)).astype(np.float32)
Y = _rng.standard_normal((16, 3)).astype(np.float32)


def ganglion_params():
    return [Parameter(w.copy()) for w in INITIAL]


def torch_params():
    return [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in INITIAL]


def mlp_loss(params, x, y):
    """Mean squared error of the MLP; works for ganglion tensors (eager or symbolic) and torch."""
    w1, b1, w2, b2 = params
    out = (x @ w1 + b1).tanh() @ w2 + b2
    return ((out - y) ** 2).mean()


def grouped(params, groups):
    """The ``params`` argument of an optimizer: the list itself, or ``groups`` (a list of
    (slice, options)) applied to it."""
    if groups is None:
        return params
    return [{"params": params[s], **options} for s, options in groups]


def factory(module, name, options, groups):
    """``params -> optimizer`` for ``module`` (ganglion or torch) and a test case."""
    return lambda params: getattr(module, name)(grouped(params, groups), **options)


def case_id(case):
    name, options, groups = case
    text = ",".join(f"{k}={v}" for k, v in options.items())
    return f"{name}({text}{',groups' if groups else ''})"


def train_ganglion(make_optimizer, params, steps, optimizer=None):
    optimizer = optimizer or make_optimizer(params)
    x, y = gn.tensor(X), gn.tensor(Y)
    for _ in range(steps):
        optimizer.zero_grad()
        mlp_loss(params, x, y).backward()
        optimizer.step()
    return optimizer


def train_torch(make_optimizer, steps):
    params = torch_params()
    optimizer = make_optimizer(params)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(steps):
        optimizer.zero_grad()
        mlp_loss(params, x, y).backward()
        optimizer.step()
    return [p.detach().numpy() for p in params]


def values(params):
    return [p.detach().numpy().copy() for p in params]
