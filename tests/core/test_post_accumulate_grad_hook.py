"""Tensor.register_post_accumulate_grad_hook and autograd.queue_backward_end_callback (the
autograd engine's hooks that DistributedDataParallel builds on), checked against PyTorch's."""
import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.core import autograd


def _chain(lib, events, weights):
    """loss = sum(tanh(x @ w1) @ w2 + x @ w1 @ w3): w1 used twice; records hook events."""
    x = lib.tensor(np.arange(6.0).reshape(2, 3) / 7, dtype=lib.float64)
    w1, w2, w3 = (lib.tensor(w, dtype=lib.float64, requires_grad=True) for w in weights)
    for name, w in (("w1", w1), ("w2", w2), ("w3", w3)):
        w.register_post_accumulate_grad_hook(
            lambda p, name=name: events.append((name, p.grad.numpy().copy())))
    h1 = x @ w1
    h1.register_hook(lambda g: events.append(("h1", None)))
    loss = (lib.tanh(h1) @ w2).sum() + (h1 @ w3).sum()
    loss.backward()
    return (w1, w2, w3)


def test_post_accumulate_hooks_fire_once_in_pytorchs_order_with_the_complete_grad():
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(s) for s in ((3, 4), (4, 2), (4, 2))]
    ours, theirs = [], []
    params = _chain(gn, ours, weights)
    _chain(torch, theirs, weights)
    names = [name for name, _ in ours]
    # w2 and w3 (in either order: independent branches, PyTorch runs w3 first) are complete
    # before h1's gradient is used for w1's: the engine hands them over while backward still
    # has work to do, and each hook fires once.
    assert sorted(names[:2]) == ["w2", "w3"] and names[2:] == ["h1", "w1"]
    assert names[2:] == [name for name, _ in theirs][2:]
    torch_grads = dict(theirs)
    for name, g in ours:
        if g is not None:
            np.testing.assert_allclose(g, torch_grads[name], rtol=1e-12, err_msg=name)
    for p, (name, g) in zip(params, sorted((e for e in ours if e[0] != "h1"))):
        np.testing.assert_array_equal(p.grad.numpy(), g)  # what the hook saw is the final .grad


def test_hook_sees_accumulated_grad_handle_removes_and_grad_does_not_fire():
    w = gn.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.tolist()))
    (w * 3).sum().backward()
    (w * w).sum().backward()
    assert seen == [[3.0, 3.0], [5.0, 7.0]]  # the second sees .grad after accumulation
    gn.autograd.grad((w * 2).sum(), [w])
    assert len(seen) == 2  # grad() accumulates nothing, so no post-accumulate hook
    handle.remove()
    (w * 3).sum().backward()
    assert len(seen) == 2 and id(w) not in autograd._post_accumulate_hooks


def test_backward_end_callback_runs_after_every_grad_and_is_dropped_on_error():
    a = gn.tensor([1.0], requires_grad=True)
    b = gn.tensor([2.0], requires_grad=True)
    order = []

    def queue(p):
        order.append("a")
        autograd.queue_backward_end_callback(lambda: order.append(("end", b.grad.tolist())))
    a.register_post_accumulate_grad_hook(queue)
    (a * b * 2).sum().backward()
    assert order == ["a", ("end", [2.0])]

    def fail(g):
        raise ValueError("boom")
    b.register_hook(fail)
    with pytest.raises(ValueError, match="boom"):
        (a * b).sum().backward()
    assert not autograd._backward_end_callbacks


@pytest.mark.parametrize("make, message", [
    (lambda: gn.tensor([1.0], requires_grad=True) * 2, "non-leaf"),
    (lambda: gn.tensor([1.0]), "doesn't require gradient")])
def test_post_accumulate_hook_refused_where_pytorch_refuses(make, message):
    with pytest.raises(RuntimeError, match=message):
        make().register_post_accumulate_grad_hook(lambda p: None)
