"""The oneDNN layout rewrite of compiled graphs (symbolic/rewrites/onednn_layout.py): train steps
and gradients of CNNs compiled with it equal the same computations without it (numba kernels,
eager) to float32 tolerance; the chains are blocked (ReLU fused into the convolution, pooling
backward through its workspace, the bias gradient from the weight-gradient primitive) and read
through a reorder where a value leaves them (a function output, a reshape or view); the
rewrite does nothing for float64, under kernels="numba", or switched off."""
import numpy as np
import pytest

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from ganglion.backend.onednn import library
from ganglion.symbolic.rewrites import onednn_layout

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")


def cifar_like():
    layers = []
    for c_in, c_out in ((3, 8), (8, 16), (16, 32)):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(32 * 2 * 2, 24), nn.ReLU(), nn.Linear(24, 10))


def lenet_like():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 2 * 2, 32), nn.ReLU(), nn.Linear(32, 10))


def odd_sizes():
    """Batch 1, odd spatial sizes, overlapping 3x3 windows with padding, ceil_mode, no bias."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(16, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Flatten(), nn.Linear(8 * 3 * 2, 10))


def copies(builder, n, dtype=np.float32):
    gn.manual_seed(0)
    reference = builder()
    models = []
    for _ in range(n):
        model = builder()
        model.load_state_dict(reference.state_dict())
        models.append(model.double() if dtype == np.float64 else model)
    return models


def batch(shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return (gn.from_numpy(rng.standard_normal(shape).astype(dtype)),
            gn.from_numpy(rng.integers(0, 10, shape[0])))


def jit_step(model):
    optimizer = gn.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    return step


def compiled_ops(jitted):
    (function, _), = jitted.cache.values()
    return [type(i.node.op).__name__ for i in function.schedule.instructions]


def run_steps(step, x, y, n, kernels=None):
    losses = []
    for _ in range(n):
        with gn.config(kernels=kernels or gn.config.kernels):
            losses.append(float(step(x, y).item()))
    return losses


@pytest.mark.parametrize("builder, shape", [(cifar_like, (4, 3, 16, 16)), (lenet_like, (3, 1, 16, 16))])
def test_train_steps_match_numba_compiled_and_eager(builder, shape):
    x, y = batch(shape)
    blocked_model, numba_model, eager_model = copies(builder, 3)
    blocked = gn.jit(jit_step(blocked_model))
    with gn.config(layout_propagation=True):
        blocked_losses = run_steps(blocked, x, y, 4)
    ops = compiled_ops(blocked)
    convolutions = sum(isinstance(m, nn.Conv2d) for m in blocked_model)
    assert ops.count("BlockedConv2d") == convolutions and "Conv2d" not in ops
    assert "Relu" in ops  # (the fully connected layer's)
    assert ops.count("BlockedMaxPool2dBackward") == convolutions and "MaxPool2dArgmax" not in ops
    assert "BlockedReluBackward" in ops and "ToPlain" in ops

    numba = gn.jit(jit_step(numba_model))
    with gn.config(kernels="numba"):
        numba_losses = run_steps(numba, x, y, 4, kernels="numba")
    assert not any(op.startswith("Blocked") for op in compiled_ops(numba))
    eager_losses = run_steps(jit_step(eager_model), x, y, 4)

    np.testing.assert_allclose(blocked_losses, numba_losses, rtol=1e-5)
    np.testing.assert_allclose(blocked_losses, eager_losses, rtol=1e-5)
    assert blocked_losses[-1] < blocked_losses[0]
    for a, b, c in zip(blocked_model.parameters(), numba_model.parameters(), eager_model.parameters()):
        a, b, c = (p.detach().numpy() for p in (a, b, c))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=2e-5)


def loss_and_gradients(model, x_shape, dtype=np.float32, extra_outputs=lambda hidden, loss: []):
    """A compiled function of (x, y): [loss, *extra outputs, *parameter gradients]; the
    extra outputs read the first ReLU's output ``hidden``."""
    x = gn.placeholder(gn.float32 if dtype == np.float32 else gn.float64, x_shape, name="x")
    y = gn.placeholder(gn.int64, (x_shape[0],), name="y")
    hidden = model[1](model[0](x))
    loss = F.cross_entropy(model[2:](hidden), y)
    params = list(model.parameters())
    return gn.function([x, y], [loss, *extra_outputs(hidden, loss), *gn.grad(loss, params)])


def schedule_ops(function):
    return [type(i.node.op).__name__ for i in function.schedule.instructions]


@pytest.mark.parametrize("builder, shape", [(cifar_like, (2, 3, 16, 16)), (odd_sizes, (1, 3, 9, 7)),
                                            (lenet_like, (1, 1, 16, 16))])
def test_gradients_match_the_rewrite_off(builder, shape):
    model, = copies(builder, 1)
    with gn.config(layout_propagation=True):
        blocked = loss_and_gradients(model, shape)
    with gn.config(layout_propagation=False):
        plain = loss_and_gradients(model, shape)
    assert any(op.startswith("Blocked") for op in schedule_ops(blocked))
    assert not any(op.startswith("Blocked") for op in schedule_ops(plain))
    x, y = batch(shape, seed=1)
    for a, b in zip(blocked(x.numpy(), y.numpy()), plain(x.numpy(), y.numpy())):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_bias_gradients_come_from_the_weight_gradient_primitive():
    model, = copies(cifar_like, 1)
    with gn.config(layout_propagation=True):
        ops = schedule_ops(loss_and_gradients(model, (2, 3, 16, 16)))
    # One primitive per layer for both gradients: its tuple read twice, no Sum over (N, H, W).
    assert ops.count("BlockedConv2dWeightGrad") == 3 and ops.count("TupleItem") == 6
    assert "Conv2dWeightGrad" not in ops


def test_a_middle_activation_read_outside_the_chain_is_reordered():
    """The first ReLU's output is also a function output, and viewed and reshaped: each
    reader gets the plain value through one reorder, and the values are those of the
    function compiled without the rewrite."""
    model, = copies(cifar_like, 1)

    def extra(hidden, loss):
        return [hidden, hidden[:, :2, 1:5].reshape(hidden.shape[0], -1) * 2.0, hidden.sum((2, 3))]
    with gn.config(layout_propagation=True):
        blocked = loss_and_gradients(model, (2, 3, 16, 16), extra_outputs=extra)
    with gn.config(layout_propagation=False):
        plain = loss_and_gradients(model, (2, 3, 16, 16), extra_outputs=extra)
    ops = schedule_ops(blocked)
    assert ops.count("ToPlain") == 2   # the hidden activation (once for all readers), the flatten
    assert ops.count("BlockedConv2d") == 3
    x, y = batch((2, 3, 16, 16), seed=2)
    results, expected = blocked(x.numpy(), y.numpy()), plain(x.numpy(), y.numpy())
    assert results[1].shape == (2, 8, 16, 16) and (results[1] == 0).any() and (results[1] > 0).any()
    for a, b in zip(results, expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_a_convolution_output_read_twice_is_not_fused_with_its_relu():
    """conv2's output is read by a ReLU and returned: conv2 stays blocked (its input is),
    unfused, and both readers get the plain value; a lone convolution of plain data whose
    result is only reordered back (conv3, read by a plain sum) runs as the plain op."""
    conv1, conv2, conv3 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(3, 4, 3)
    x = gn.placeholder(gn.float32, (2, 3, 6, 6), name="x")
    z = conv2(conv1(x).relu())
    with gn.config(layout_propagation=True):
        f = gn.function([x], [z.relu().sum(), z, conv3(x).sum()])
    ops = schedule_ops(f)
    assert ops[:4] == ["BlockedConv2d", "BlockedConv2d", "ToPlain", "Relu"] and ops.count("ToPlain") == 1
    assert ops.count("Conv2d") == 1
    data = np.random.default_rng(3).standard_normal((2, 3, 6, 6)).astype(np.float32)
    total, out, lone = f(data)
    eager = gn.from_numpy(data)
    expected = conv2(conv1(eager).relu()).detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(total, np.maximum(expected, 0).sum(), rtol=1e-5)
    np.testing.assert_allclose(lone, conv3(eager).sum().item(), rtol=1e-5)


def test_no_rewrite_for_float64_numba_kernels_or_when_switched_off():
    model64, = copies(cifar_like, 1, dtype=np.float64)
    with gn.config(layout_propagation=True):
        f64 = loss_and_gradients(model64, (2, 3, 16, 16), dtype=np.float64)
    ops64 = schedule_ops(f64)
    assert "Conv2d" in ops64 and not any(op.startswith("Blocked") or op == "ToPlain" for op in ops64)
    x, y = batch((2, 3, 16, 16), dtype=np.float64)
    with gn.config(kernels="numba"):
        expected = loss_and_gradients(model64, (2, 3, 16, 16), dtype=np.float64)(x.numpy(), y.numpy())
    for a, b in zip(f64(x.numpy(), y.numpy()), expected):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)

    model, = copies(cifar_like, 1)
    for setting in ("numba", "numpy"):
        with gn.config(kernels=setting, layout_propagation=True):
            assert not onednn_layout.applies()
            ops = schedule_ops(loss_and_gradients(model, (2, 3, 16, 16)))
        assert "Conv2d" in ops and not any(op.startswith("Blocked") for op in ops)
    with gn.config(layout_propagation=False):
        assert not onednn_layout.applies()
    with gn.config(kernels="onednn"), gn.config(layout_propagation=True):
        assert onednn_layout.applies()


def test_strided_depthwise_pointwise_dilated_and_transposed_layers():
    """Gradients of a network mixing stride 2, a depthwise and a 1x1 convolution, overlapping
    pooling, a transposed convolution with output_padding (left plain: it has a bias) and a
    dilated one equal those of the function compiled without the rewrite."""
    gn.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.ReLU(),
        nn.Conv2d(16, 24, 1), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.ConvTranspose2d(24, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.Conv2d(8, 4, 3, dilation=2, padding=2), nn.Flatten(), nn.Linear(4 * 8 * 8, 10))
    x = gn.placeholder(gn.float32, (2, 3, 15, 15), name="x")
    y = gn.placeholder(gn.int64, (2,), name="y")
    params = list(model.parameters())

    def compiled():
        loss = F.cross_entropy(model(x), y)
        return gn.function([x, y], [loss, *gn.grad(loss, params)])
    with gn.config(layout_propagation=True):
        blocked = compiled()
    with gn.config(layout_propagation=False):
        plain = compiled()
    ops = schedule_ops(blocked)
    # Blocked: the chain conv1 -> ReLU -> depthwise -> ReLU and its gradients. Plain: the 1x1
    # convolution (as in the eager kernels, conv.PLAIN_POINTWISE) and its gradients, and the
    # lone convolutions between plain ops (their kernels reorder inside), but the dilated one's
    # weight gradient, which gives its bias gradient too.
    assert ops.count("BlockedConv2d") == 2 and ops.count("Conv2d") == 3
    assert ops.count("BlockedConv2dBackwardInput") == 1 and ops.count("ConvTranspose2d") == 3
    assert ops.count("BlockedConv2dWeightGrad") == 3 and ops.count("Conv2dWeightGrad") == 2
    rng = np.random.default_rng(4)
    data, labels = rng.standard_normal((2, 3, 15, 15)).astype(np.float32), rng.integers(0, 10, 2)
    for a, b in zip(blocked(data, labels), plain(data, labels)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_convolutions_between_batch_norms_stay_plain():
    """Batch norm has no blocked form here: each convolution of conv -> BN -> ReLU blocks is a
    chain of one op, run as the plain op, so the graph is the one compiled without the rewrite."""
    gn.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                          nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    with gn.config(layout_propagation=True):
        blocked = loss_and_gradients(model, (4, 3, 8, 8))
    with gn.config(layout_propagation=False):
        plain = loss_and_gradients(model, (4, 3, 8, 8))
    assert schedule_ops(blocked) == schedule_ops(plain)
    assert schedule_ops(blocked).count("Conv2d") == 2


def test_pooling_indices_and_average_pooling_read_blocked_values_plain():
    """max_pool2d(..., return_indices=True) reads the argmax for its indices: the argmax and
    its scatter stay plain ops (reading the pooling's blocked input and output through
    reorders), and an average pooling after a blocked ReLU reads it plain; results as without
    the rewrite."""
    gn.manual_seed(0)
    conv1, conv2 = nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)
    x = gn.placeholder(gn.float32, (2, 3, 8, 8), name="x")
    pooled, indices = F.max_pool2d(conv1(x).relu(), 2, return_indices=True)
    averaged = F.avg_pool2d(conv2(pooled).relu(), 2)
    loss = (averaged * averaged).sum()
    params = list(conv1.parameters()) + list(conv2.parameters())

    def compiled():
        return gn.function([x], [loss, indices, *gn.grad(loss, params)])
    with gn.config(layout_propagation=True):
        blocked = compiled()
    with gn.config(layout_propagation=False):
        plain = compiled()
    ops = schedule_ops(blocked)
    assert "BlockedMaxPool2d" in ops and "MaxPool2dArgmax" in ops and "MaxPool2dScatter" in ops
    assert "BlockedMaxPool2dBackward" not in ops and "AvgPool2d" in ops
    data = np.random.default_rng(5).standard_normal((2, 3, 8, 8)).astype(np.float32)
    for a, b in zip(blocked(data), plain(data)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_no_rewrite_without_onednn(monkeypatch):
    """Where oneDNN does not load, graphs compile as before (the eager kernels are numba's)."""
    from ganglion.backend import onednn
    monkeypatch.setattr(onednn, "available", lambda: False)
    model, = copies(cifar_like, 1)
    with gn.config(layout_propagation=True):
        assert not onednn_layout.applies()
        ops = schedule_ops(loss_and_gradients(model, (2, 3, 16, 16)))
    assert ops.count("Conv2d") == 3 and not any(op.startswith("Blocked") for op in ops)
