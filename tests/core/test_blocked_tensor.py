"""Eager layout propagation (core/blocked_tensor.py): convolution activations that stay in
oneDNN's blocked layout between eager ops give the values and gradients of the plain path, and
turn into ordinary tensors the moment anything else reads them."""
import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from ganglion.backend import onednn
from ganglion.core.blocked_tensor import BlockedTensor, is_blocked

pytestmark = pytest.mark.skipif(not onednn.available(),
                                reason="oneDNN (the onednn extra) is not installed here")


@pytest.fixture(autouse=True)
def _default_kernels():
    with gn.config(kernels="auto", layout_propagation=True):
        yield


@pytest.fixture(autouse=True)
def _poisoned_buffers(monkeypatch):
    """Blocked buffers come from the array cache, reused and never cleared: hand out NaN-filled
    ones, so that a kernel that leaves a padded layout's padding unwritten shows."""
    from ganglion.backend.onednn import layout
    aligned = layout._aligned

    def poisoned(size):
        buffer = aligned(size)
        buffer.fill(0xFF)
        return buffer
    monkeypatch.setattr(layout, "_aligned", poisoned)


def _image(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _cnn(seed=0, bias=True, stride=1, groups=1, norm=False):
    gn.manual_seed(seed)
    # (16 channels: oneDNN's layout for them is not padded, where batch norm runs blocked)
    layers = [nn.Conv2d(4, 16, 3, stride=stride, padding=1, bias=bias)]
    layers += [nn.BatchNorm2d(16)] if norm else []
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 16, 3, padding=1, groups=groups, bias=bias),
               nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    return nn.Sequential(*layers)


def _forward_backward(model, x_np, layout, create_graph=False):
    with gn.config(layout_propagation=layout):
        model.zero_grad()
        x = gn.from_numpy(x_np.copy()).requires_grad_()
        out = model(x)
        loss = (out * out).sum()
        if create_graph:
            (gx,) = gn.autograd.grad(loss, [x], create_graph=True)
            gx.sum().backward()
        else:
            loss.backward()
            gx = x.grad
        return (out.detach().numpy().copy(), gx.detach().numpy().copy(),
                [p.grad.numpy().copy() for p in model.parameters()])


def _assert_same(a, b):
    """Equal to float32 rounding; gradients through batch norm subtract nearly equal sums, so
    their error is relative to the largest element, not to each."""
    (out_a, gx_a, grads_a), (out_b, gx_b, grads_b) = a, b
    np.testing.assert_allclose(out_a, out_b, rtol=1e-5, atol=1e-5)
    for ga, gb in zip([gx_a, *grads_a], [gx_b, *grads_b]):
        np.testing.assert_allclose(ga, gb, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(gb).max()))


@pytest.mark.parametrize("options", [dict(), dict(bias=False), dict(stride=2), dict(groups=2),
                                     dict(norm=True)], ids=["bias", "no-bias", "stride-2",
                                                            "groups-2", "batch-norm"])
@pytest.mark.parametrize("batch", [1, 3])
def test_values_and_gradients_equal_the_plain_path(options, batch):
    x = _image(batch, 4, 12, 12)
    model = _cnn(**options)
    _assert_same(_forward_backward(model, x, layout=True), _forward_backward(model, x, layout=False))


def test_batch_norm_in_a_padded_layout_runs_plain():
    """oneDNN's batch norm leaves a padded layout's padding unwritten (20 channels in blocks of
    16): there it runs on NCHW, and the results are the plain path's."""
    x = _image(2, 4, 6, 6)
    gn.manual_seed(0)
    conv, norm = nn.Conv2d(4, 20, 3, padding=1), nn.BatchNorm2d(20)
    model = nn.Sequential(conv, norm, nn.ReLU(), nn.Conv2d(20, 8, 3, padding=1), nn.Flatten())
    assert not is_blocked(norm(conv(gn.from_numpy(x))))
    _assert_same(_forward_backward(model, x, True), _forward_backward(model, x, False))


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_stays_blocked_in_training(affine):
    x = _image(3, 4, 6, 6)
    gn.manual_seed(0)
    conv, norm = nn.Conv2d(4, 16, 3, padding=1), nn.BatchNorm2d(16, affine=affine)
    model = nn.Sequential(conv, norm, nn.ReLU(), nn.Conv2d(16, 8, 3, padding=1), nn.Flatten())
    states = {}
    for layout in (True, False):
        norm.reset_running_stats()
        with gn.config(layout_propagation=layout):
            h = norm(conv(gn.from_numpy(x)))
            assert is_blocked(h) == layout
        states[layout] = _forward_backward(model, x, layout), norm.running_mean.numpy().copy(), \
            norm.running_var.numpy().copy()
    _assert_same(states[True][0], states[False][0])
    for got, want in zip(states[True][1:], states[False][1:]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    model.eval()
    _assert_same(_forward_backward(model, x, True), _forward_backward(model, x, False))


def test_second_order_gradients_equal_the_plain_path():
    x = _image(2, 4, 8, 8)
    model = _cnn()
    _assert_same(_forward_backward(model, x, True, create_graph=True),
                 _forward_backward(model, x, False, create_graph=True))


def test_the_chain_stays_blocked_until_read():
    x = gn.from_numpy(_image(2, 4, 8, 8))
    conv = nn.Conv2d(4, 8, 3, padding=1)
    h = conv(x)
    assert type(h) is BlockedTensor and is_blocked(h)
    r = F.relu(h)
    p = F.max_pool2d(r, 2)
    assert is_blocked(r) and is_blocked(p)
    # What the tensor is, read without converting it.
    assert h.shape == (2, 8, 8, 8) and h.dtype == gn.float32 and h.ndim == 4
    assert is_blocked(h)
    with gn.config(layout_propagation=False):
        expected = F.max_pool2d(F.relu(conv(x)), 2).detach().numpy()
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-6, atol=1e-6)
    assert not is_blocked(p)        # converted once, and a plain tensor from then on
    assert p.detach().numpy() is not None and not is_blocked(p)


def test_an_in_place_change_converts_first_and_the_result_is_plain():
    x = gn.from_numpy(_image(2, 4, 6, 6))
    conv = nn.Conv2d(4, 8, 3, padding=1)
    with gn.no_grad():
        h = conv(x)
        h.add_(1.0)
        assert not is_blocked(h)
        with gn.config(layout_propagation=False):
            expected = conv(x).numpy() + 1.0
        np.testing.assert_allclose(h.numpy(), expected, rtol=1e-6, atol=1e-6)
        # A plain input: ReLU runs its plain kernel.
        assert type(F.relu(h)) is gn.Tensor


def test_backward_refuses_a_saved_value_changed_in_place_as_the_plain_path_does():
    def attempt(layout):
        with gn.config(layout_propagation=layout):
            x = gn.from_numpy(_image(2, 4, 6, 6))
            conv = nn.Conv2d(4, 8, 3, padding=1)
            y = F.relu(conv(x))          # ReLU's backward reads its output
            z = y.sum()
            with gn.no_grad():
                y.mul_(2.0)              # a write into the saved value's storage
            with pytest.raises(RuntimeError, match="was modified by an in-place operation"):
                z.backward()
    attempt(True)
    attempt(False)


def test_an_in_place_change_under_grad_gives_the_plain_paths_gradient():
    """Recorded in-place changes rebind the tensor (core/rebinds.py): readers made before it
    keep the value they read, blocked or not."""
    def gradients(layout):
        with gn.config(layout_propagation=layout):
            x = gn.from_numpy(_image(2, 4, 6, 6))
            gn.manual_seed(0)
            conv = nn.Conv2d(4, 8, 3, padding=1)
            y = F.relu(conv(x))
            before = F.max_pool2d(y, 2)
            y.mul_(3.0)
            (before.sum() + y.sum()).backward()
            return [p.grad.numpy().copy() for p in conv.parameters()]
    for got, want in zip(gradients(True), gradients(False)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_pooling_backward_after_its_output_was_converted():
    """The pooled output is read by Flatten (converted), yet its backward still uses the
    workspace: the gradients equal the plain path's (test above) and the workspace is kept."""
    x = gn.from_numpy(_image(2, 4, 8, 8))
    conv = nn.Conv2d(4, 8, 3, padding=1)
    p = F.max_pool2d(F.relu(conv(x)), 2)
    flat = p.flatten(1)
    assert not is_blocked(p) and p._pooled is not None
    flat.sum().backward()
    with gn.config(layout_propagation=False):
        expected = [t.grad.numpy().copy() for t in conv.parameters()]
        conv.zero_grad()
        F.max_pool2d(F.relu(conv(x)), 2).flatten(1).sum().backward()
    for got, want in zip(expected, conv.parameters()):
        np.testing.assert_allclose(got, want.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("setting", [dict(layout_propagation=False), dict(kernels="numba"),
                                     dict(kernels="numpy")])
def test_the_settings_that_turn_it_off(setting):
    x = gn.from_numpy(_image(1, 4, 6, 6))
    conv = nn.Conv2d(4, 8, 3, padding=1)
    with gn.config(**setting):
        assert type(conv(x)) is gn.Tensor


def test_float64_and_symbolic_inputs_take_the_plain_path():
    conv = nn.Conv2d(4, 8, 3, padding=1).double()
    assert type(conv(gn.from_numpy(_image(1, 4, 6, 6, dtype=np.float64)))) is gn.Tensor
    x = gn.placeholder(gn.float32, (1, 4, 6, 6))
    y = F.relu(nn.Conv2d(4, 8, 3, padding=1)(x))
    assert type(y) is gn.Tensor and y.is_symbolic


def test_a_copy_holds_the_plain_value():
    x = gn.from_numpy(_image(1, 4, 6, 6))
    conv = nn.Conv2d(4, 8, 3, padding=1)
    with gn.no_grad():
        h = conv(x)
        with gn.config(layout_propagation=False):
            expected = conv(x).numpy()
    copied = copy.deepcopy(h)
    np.testing.assert_allclose(copied.numpy(), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(h.clone().numpy(), expected, rtol=1e-6, atol=1e-6)


def test_a_convolution_whose_result_is_converted_first_runs_plain_for_a_while(monkeypatch):
    """A blocked result pays where a layout-aware op reads it; converted by its first reader,
    it only added a reorder: the convolution then runs plain, and tries again after
    RETRY_AFTER calls."""
    from ganglion.core import blocked_tensor
    monkeypatch.setattr(blocked_tensor, "RETRY_AFTER", 3)
    x = gn.from_numpy(_image(2, 4, 6, 6))
    conv, norm, plain_reader = nn.Conv2d(4, 16, 3, padding=1), nn.BatchNorm2d(16), nn.LeakyReLU()
    kinds = []
    for _ in range(5):
        h = conv(x)
        kinds.append(type(h).__name__)
        plain_reader(h)
    assert kinds == ["BlockedTensor", "Tensor", "Tensor", "Tensor", "BlockedTensor"]
    # Read by batch norm first: it stays blocked, whatever reads what follows.
    other = nn.Conv2d(4, 16, 3, padding=1)
    for _ in range(3):
        h = other(x)
        assert is_blocked(h)
        plain_reader(F.relu(norm(h)))


def test_a_value_converted_into_reused_memory_keeps_its_version():
    """Large plain arrays come from the array cache, whose buffers keep the storage counters of
    in-place writes made to earlier arrays in them (``out += identity`` in a residual block); a
    blocked value converted into such memory must keep the version backward recorded."""
    from ganglion.backend import array_cache
    array_cache.clear()
    x = gn.from_numpy(_image(4, 16, 32, 32))      # 256 KiB: arrays the cache hands out
    with gn.no_grad():
        written = F.relu(x)                       # memory from the cache ...
        written.add_(1.0)                         # ... whose counter an in-place write bumps
    del written
    conv = nn.Conv2d(16, 16, 3, padding=1, bias=False)
    y = F.relu(conv(x))                           # blocked; ReLU's backward reads y
    total = y.sum()                               # converts y, into the freed memory
    total.backward()                              # (raised "modified by an in-place operation")
    with gn.config(layout_propagation=False):
        expected = conv.weight.grad.numpy().copy()
        conv.zero_grad()
        F.relu(conv(x)).sum().backward()
    np.testing.assert_allclose(expected, conv.weight.grad.numpy(), rtol=1e-4, atol=1e-3)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 3), channels=st.sampled_from([3, 8, 16, 20]),
       width=st.sampled_from([8, 16, 20, 24, 32]),
       size=st.integers(5, 12), kernel=st.sampled_from([1, 3, 5]), stride=st.sampled_from([1, 2]),
       padding=st.sampled_from([0, 1, 2]), dilation=st.sampled_from([1, 2]),
       depthwise=st.booleans(), pool=st.booleans(), norm=st.booleans(),
       activation=st.sampled_from(["relu", "relu6", "hardtanh"]))
def test_any_chain_equals_the_plain_path(batch, channels, width, size, kernel, stride, padding,
                                          dilation, depthwise, pool, norm, activation):
    """conv -> [batch norm] -> ReLU / ReLU6 / hardtanh -> [max pool] -> conv over convolution
    geometries and widths (padded layouts among them): the layout-aware path gives the plain
    path's values and gradients (where a geometry is one that oneDNN or the blocked kernels do
    not take, both are the plain path)."""
    reach = dilation * (kernel - 1) + 1
    if size + 2 * padding < reach:
        return                                  # (no output: an error either way)
    gn.manual_seed(0)
    out_size = (size + 2 * padding - reach) // stride + 1
    if norm and batch * out_size * out_size < 2:
        return                                  # (batch norm needs two values per channel)
    # (no bias before batch norm, as in the networks that use it: its gradient is 0 up to
    # rounding, which a relative tolerance cannot compare)
    layers = [nn.Conv2d(channels, width, kernel, stride=stride, padding=padding,
                        dilation=dilation, bias=not norm)]
    layers += [nn.BatchNorm2d(width)] if norm else []
    layers += [{"relu": nn.ReLU(), "relu6": nn.ReLU6(), "hardtanh": nn.Hardtanh(-0.5, 0.5)}[activation]]
    if pool and out_size >= 2:
        layers.append(nn.MaxPool2d(2))
    layers.append(nn.Conv2d(width, width if depthwise else 16, 3, padding=1,
                            groups=width if depthwise else 1))
    model = nn.Sequential(*layers)
    x = _image(batch, channels, size, size, seed=size)
    _assert_same(_forward_backward(model, x, True), _forward_backward(model, x, False))


def _residual_gradients(layout, change_in_place, read_before=False):
    with gn.config(layout_propagation=layout):
        gn.manual_seed(0)
        conv1, bn1 = nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        conv2, bn2 = nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        x = gn.from_numpy(_image(2, 16, 8, 8))
        identity = F.relu(bn1(conv1(x)))
        out = bn2(conv2(identity))
        before = F.relu(out) if read_before else None
        if change_in_place:
            out += identity
        else:
            out = out + identity
        kinds = (type(out).__name__, is_blocked(out))
        h = F.relu(out)
        loss = (h * h).sum() + (0 if before is None else (before * before).sum())
        loss.backward()
        grads = [p.grad.numpy().copy() for m in (conv1, bn1, conv2, bn2) for p in m.parameters()]
        return h.detach().numpy().copy(), grads, kinds


@pytest.mark.parametrize("change_in_place", [True, False], ids=["out+=identity", "out+identity"])
@pytest.mark.parametrize("read_before", [False, True], ids=["", "read-before-change"])
def test_a_residual_sum_stays_blocked_and_gives_the_plain_paths_gradients(change_in_place,
                                                                          read_before):
    blocked = _residual_gradients(True, change_in_place, read_before)
    plain = _residual_gradients(False, change_in_place, read_before)
    assert blocked[2] == ("BlockedTensor", True) and plain[2][1] is False
    np.testing.assert_allclose(blocked[0], plain[0], rtol=1e-5, atol=1e-5)
    for got, want in zip(blocked[1], plain[1]):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(want).max()))


def test_sums_that_cannot_stay_blocked_are_plain():
    x = gn.from_numpy(_image(2, 4, 6, 6))
    with gn.no_grad():
        a = nn.Conv2d(4, 16, 3, padding=1)(x)
        b = nn.Conv2d(4, 16, 3, padding=1, stride=2)(x)
        assert type(nn.Conv2d(4, 16, 3, padding=1)(x) + 1.0) is gn.Tensor  # a scalar: plain
        c = nn.Conv2d(4, 16, 3, padding=1)(x)
        total = a + c
        assert is_blocked(total)
        with gn.config(layout_propagation=False):
            expected = a.numpy() + c.numpy()
        np.testing.assert_allclose(total.numpy(), expected, rtol=1e-6, atol=1e-6)
        d = a.clone()
        d += F.relu(nn.Conv2d(4, 16, 3, padding=1)(x))    # in place, outside a graph: written
        assert type(d) is gn.Tensor
        with pytest.raises(RuntimeError, match="shape"):
            a + b                                        # shapes differ: the plain op's error
