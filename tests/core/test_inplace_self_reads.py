"""In-place methods (add_, mul_, clamp_, copy_, masked_fill_, ... in core/inplace.py) whose
operands were computed from the tensor they change: ``y.add_(y * 3)`` must read y's value from
before the change. Eager autograd is checked against PyTorch, and the same code compiled with
gn.function (where the change used to be dropped silently) against eager."""
import numpy as np
import pytest
import torch

import ganglion as gn

X0 = np.array([1.0, -2.0, 0.5, 3.0])

# name -> (change, same): change(y) applies in-place methods to y (a float64 tensor of X0's
# shape) with operands read from y itself; same(y) is the out-of-place PyTorch equivalent, the
# oracle (PyTorch's own in-place version refuses backward when an operand's gradient needs y).
CHANGES = {
    "add_": (lambda y: y.add_(y * 3), lambda y: y + y * 3),
    "add_alpha": (lambda y: y.add_(y * y, alpha=2), lambda y: y + 2 * y * y),
    "sub_": (lambda y: y.sub_(y.exp()), lambda y: y - y.exp()),
    "mul_": (lambda y: y.mul_(y + 1), lambda y: y * (y + 1)),
    "mul_self": (lambda y: y.mul_(y), lambda y: y * y),
    "div_": (lambda y: y.div_(y * y + 1), lambda y: y / (y * y + 1)),
    "pow_": (lambda y: y.pow_(2).add_(y.sin()), lambda y: (y ** 2) + (y ** 2).sin()),
    "clamp_": (lambda y: y.clamp_(min=-1.0, max=2.0).mul_(y.sum()),
               lambda y: y.clamp(-1.0, 2.0) * y.clamp(-1.0, 2.0).sum()),
    "copy_": (lambda y: y.copy_(y.flip(0) * 2), lambda y: y.flip(0) * 2),
    "masked_fill_": (lambda y: y.masked_fill_(y < 0, 0.25).add_(y * 2),
                     lambda y: y.masked_fill(y < 0, 0.25) * 3),
    "fill_": (lambda y: y.mul_(3).fill_(y.sum()),
              lambda y: (y * 3).sum().expand(4) + 0 * y),
    "clamp_min_": (lambda y: y.clamp_min_(0.0).add_(y.exp()),
                   lambda y: y.clamp_min(0.0) + y.clamp_min(0.0).exp()),
    "lerp_": (lambda y: y.lerp_(y * y, 0.25), lambda y: y + 0.25 * (y * y - y)),
    "index_add_": (lambda y: y.index_add_(0, INDEX[0], y[:2] * y[2:]),
                   lambda y: y.index_add(0, INDEX[1], y[:2] * y[2:])),
    "twice": (lambda y: y.add_(y * 3).mul_(y - 1), lambda y: (4 * y) * (4 * y - 1)),
}
WEIGHTS = np.arange(1.0, 5.0)
INDEX = (gn.tensor([3, 0]), torch.tensor([3, 0]))


def _torch_oracle(name):
    t = torch.tensor(X0, requires_grad=True)
    y = CHANGES[name][1](t * 2)
    (y * torch.tensor(WEIGHTS)).sum().backward()
    return y.detach().numpy(), t.grad.numpy()


def test_pytorch_in_place_agrees_where_it_allows_backward():
    # y.add_(y * 3) is fine in PyTorch itself (mul by a number saves nothing): t.grad == 8.
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    y = t * 2
    y.add_(y * 3)
    y.sum().backward()
    g = gn.tensor([1.0, 2.0], requires_grad=True)
    z = g * 2
    z.add_(z * 3)
    z.sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy())
    np.testing.assert_allclose(g.grad.numpy(), [8.0, 8.0])


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_eager_backward_matches_pytorch(name):
    t = gn.tensor(X0, dtype=gn.float64, requires_grad=True)
    y = t * 2
    CHANGES[name][0](y)
    (y * gn.tensor(WEIGHTS, dtype=gn.float64)).sum().backward()
    want_value, want_grad = _torch_oracle(name)
    np.testing.assert_allclose(y.detach().numpy(), want_value, rtol=1e-12)
    np.testing.assert_allclose(t.grad.numpy(), want_grad, rtol=1e-12)


# index_add on a symbolic tensor of unknown length is refused by index_add itself (its range
# check needs the length), in place or not.
COMPILED = sorted(set(CHANGES) - {"index_add_"})


@pytest.mark.parametrize("name", COMPILED)
def test_compiled_matches_eager(name):
    x = gn.dvector("x")
    y = x * 2
    CHANGES[name][0](y)
    (g,) = gn.grad((y * gn.tensor(WEIGHTS, dtype=gn.float64)).sum(), [x])
    f = gn.function([x], [y, g])
    value, grad = f(X0)
    # The eager result (itself checked against PyTorch above).
    t = gn.tensor(X0, dtype=gn.float64, requires_grad=True)
    z = t * 2
    CHANGES[name][0](z)
    (z * gn.tensor(WEIGHTS, dtype=gn.float64)).sum().backward()
    want_value, want_grad = z.detach().numpy(), t.grad.numpy()
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12)


def test_eager_without_grad_changes_the_array_in_place():
    y = gn.tensor(X0, dtype=gn.float64)
    array = y._data
    y.add_(y * 3)
    assert y._data is array
    np.testing.assert_allclose(y.numpy(), X0 * 4)


def test_symbolic_change_is_seen_by_later_readers():
    x = gn.dvector("x")
    y = x * 2
    y.add_(1.0)
    after = y * 5
    f = gn.function([x], [after, y])
    a, v = f(X0)
    np.testing.assert_allclose(a, 10 * X0 + 5)
    np.testing.assert_allclose(v, 2 * X0 + 1)


def test_symbolic_reader_made_before_the_change_reads_the_old_value():
    # A node names the tensor object it read; core/rebinds.py finds the value from before the
    # change (more cases in test_inplace_versions.py).
    x = gn.dvector("x")
    y = x * 2
    before = y * 5
    y.add_(1.0)
    np.testing.assert_allclose(gn.function([x], before)(X0), 10 * X0)


def test_symbolic_input_cannot_be_changed_in_place():
    x = gn.dvector("x")
    with pytest.raises(RuntimeError, match="add_: the symbolic input 'x' cannot be changed in place"):
        x.add_(1.0)


class _CountingDict(dict):
    """inplace._walked_for that counts lookups: one per tensor the walk visits."""
    lookups = 0

    def get(self, key, default=None):
        type(self).lookups += 1
        return super().get(key, default)


def test_loop_of_changes_walks_each_operand_once(monkeypatch):
    # h.add_(g) with g a chain built step by step: each change walks only the new step of g
    # (the previous g was walked by the previous change of h), not the whole chain.
    from ganglion.core import inplace as inplace_module
    monkeypatch.setattr(inplace_module, "_walked_for", _CountingDict())
    t = gn.tensor(X0, dtype=gn.float64, requires_grad=True)
    h = t * 1
    g = t * 1
    steps = 200
    for _ in range(steps):
        g = g * 1.001
        h.add_(g)
    assert _CountingDict.lookups <= 2 * steps
    h.sum().backward()
    want = 1 + sum(1.001 ** k for k in range(1, steps + 1))
    np.testing.assert_allclose(t.grad.numpy(), np.full(4, want), rtol=1e-9)


def test_residual_blocks_changed_in_place_match_pytorch_and_stop_at_ancestors(monkeypatch):
    # out += h, h an ancestor of out: the walk from h stops among out's nearest ancestors
    # instead of going through every block before it.
    from ganglion.core import inplace as inplace_module
    monkeypatch.setattr(inplace_module, "_walked_for", _CountingDict())
    _CountingDict.lookups = 0
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((4, 4)) * 0.5 for _ in range(30)]
    grads = []
    for lib in (gn, torch):
        x = lib.tensor(X0.reshape(1, 4), dtype=lib.float64, requires_grad=True)
        h = x * 1
        for w in weights:
            out = (h @ lib.tensor(w, dtype=lib.float64)).sin()  # saves its input, not out
            out += h
            h = out
        (h * h).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
    assert _CountingDict.lookups <= 3 * len(weights)


def test_long_operand_that_reads_the_target_deep_inside():
    # The operand is 40 ops deep before it reads y: the walk goes past the ancestor stops
    # (which cannot contain it) and still re-points the read of y.
    for lib in (gn, torch):
        t = lib.tensor(X0, dtype=lib.float64, requires_grad=True)
        y = t * 2
        z = y * 1
        for _ in range(40):
            z = z * 1.01 + 0.001
        y.add_(z)
        (y * y).sum().backward()
        if lib is gn:
            got = y.detach().numpy(), t.grad.numpy()
    np.testing.assert_allclose(got[0], y.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(got[1], t.grad.numpy(), rtol=1e-12)
