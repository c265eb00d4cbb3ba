"""oneDNN kernels on blocked activations (backend/onednn/layout.py) against PyTorch: convolution
forward (with and without the fused ReLU, bias on and off), both gradients, max pooling forward
and backward through its workspace, ReLU backward from the output, each fed blocked or plain
inputs, in the layout the primitive wants or another one (the reorder path); and the explicit
to_plain / from_plain reorders."""
import numpy as np
import pytest
import torch

from ganglion.backend.onednn import library

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")

if library.available():
    from ganglion.backend.onednn import layout


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)


def torch_block(x, w, b, stride, padding, dilation, groups, pool, g):
    """PyTorch's y = relu(conv2d) -> max_pool2d, its outputs and the gradients for g (gy: the
    gradient of y, the ReLU's output)."""
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    y = torch.relu(torch.nn.functional.conv2d(xt, wt, bt, stride, padding, dilation, groups))
    y.retain_grad()
    kernel, pool_stride, pool_padding, ceil_mode = pool
    p = torch.nn.functional.max_pool2d(y, kernel, pool_stride, pool_padding, ceil_mode=ceil_mode)
    p.backward(torch.tensor(g))
    return dict(y=y.detach().numpy(), p=p.detach().numpy(), gy=y.grad.numpy(), gx=xt.grad.numpy(),
                gw=wt.grad.numpy(), gb=None if bt is None else bt.grad.numpy())


CASES = [
    # (N, C, H, W), O, kernel, stride, padding, dilation, groups, bias, pool (k, s, p, ceil)
    ((4, 3, 16, 16), 32, 3, 1, 1, 1, 1, True, (2, 2, 0, False)),        # CIFAR's first layer
    ((2, 32, 8, 8), 64, 3, 1, 1, 1, 1, True, (2, 2, 0, False)),
    ((1, 16, 9, 7), 24, 3, 1, 1, 1, 1, False, (3, 2, 1, False)),       # batch 1, odd, overlapping
    ((3, 8, 11, 13), 16, 5, 2, 2, 1, 2, True, (2, 2, 0, True)),        # stride 2, groups, ceil
    ((2, 6, 12, 12), 16, 3, 1, 2, 2, 1, True, (2, 1, 0, False)),       # dilation
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("blocked_input", [False, True])
def test_chain_forward_and_backward_match_pytorch(case, blocked_input):
    shape, o, k, s, p, d, groups, bias, pool = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((o, shape[1] // groups, k, k)) * 0.3).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) if bias else None
    expected_p_shape = torch.nn.functional.max_pool2d(
        torch.zeros((shape[0], o) + torch.nn.functional.conv2d(
            torch.zeros(shape), torch.zeros(w.shape), None, s, p, d, groups).shape[2:]),
        pool[0], pool[1], pool[2], ceil_mode=pool[3]).shape
    g = rng.standard_normal(tuple(expected_p_shape)).astype(np.float32)
    expected = torch_block(x, w, b, s, p, d, groups, pool, g)
    geometry = ((s, s), ((p, p), (p, p)), (d, d), groups)

    x_in = x
    if blocked_input:
        # A BlockedArray in the plain layout that a pooling of plain data keeps (1x1 windows):
        # the convolution must reorder it into the layout it chose.
        x_in = layout.max_pool2d(x, (1, 1), (1, 1), (0, 0), (1, 1), False)
        assert isinstance(x_in, layout.BlockedArray)
    y = conv_relu(x_in, w, b, *geometry)
    assert isinstance(y, layout.BlockedArray) and y.shape == expected["y"].shape
    close(layout.to_plain(y), expected["y"])
    pooled = layout.max_pool2d(y, (pool[0],) * 2, (pool[1],) * 2, (pool[2],) * 2, (1, 1), pool[3])
    close(layout.to_plain(pooled), expected["p"])
    g_relu_out = layout.max_pool2d_backward(g, pooled)
    close(layout.to_plain(g_relu_out), expected["gy"])
    gy = layout.relu_backward(g_relu_out, y)
    close(layout.to_plain(gy), expected["gy"] * (expected["y"] > 0))
    gx = layout.conv2d_backward_input(gy, w, shape, *geometry)
    close(layout.to_plain(gx), expected["gx"])
    gw, gb = layout.conv2d_backward_weight_bias(x_in, gy, (k, k), *geometry, bias=bias)
    assert isinstance(gw, np.ndarray) and gw.shape == w.shape
    close(gw, expected["gw"])
    if bias:
        close(gb, expected["gb"])
    else:
        assert gb is None


def conv_relu(*args):
    """layout.conv2d_forward, then ReLU over the result's buffer (as the compiled pass's
    BlockedConv2d with ``relu``)."""
    import ganglion as gn
    return layout.relu(layout.conv2d_forward(*args), gn.backend.current.relu_nan_free)


def test_conv_without_relu_keeps_negative_values():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((8, 4, 3, 3)).astype(np.float32)
    y = layout.to_plain(layout.conv2d_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1))
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1).numpy()
    assert (expected < 0).any()
    close(y, expected)


def test_relu_backward_takes_a_plain_gradient():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 16, 5, 5)).astype(np.float32)
    w = rng.standard_normal((16, 16, 1, 1)).astype(np.float32)
    y = conv_relu(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    g = rng.standard_normal(y.shape).astype(np.float32)
    plain_y = layout.to_plain(y)
    np.testing.assert_array_equal(layout.to_plain(layout.relu_backward(g, y)), g * (plain_y > 0))


def test_to_plain_and_from_plain_round_trip():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 32, 5, 7)).astype(np.float32)
    w = rng.standard_normal((32, 32, 3, 3)).astype(np.float32)
    like = layout.conv2d_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    blocked = layout.from_plain(x, like)
    assert isinstance(blocked, layout.BlockedArray) and blocked.shape == x.shape
    np.testing.assert_array_equal(layout.to_plain(blocked), x)
    # (a plain array passes through to_plain unchanged)
    assert layout.to_plain(x) is x
    with pytest.raises(ValueError, match=r"from_plain: array of shape \(3, 32, 5, 6\)"):
        layout.from_plain(x[..., :6], like)


def test_results_outlive_evicted_kernels():
    """A BlockedArray keeps the kernel that owns its descriptor: clearing the kernel cache
    must not invalidate it."""
    from ganglion.backend.onednn import _runtime
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 8, 6, 6)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    y = conv_relu(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    _runtime.clear_cache()
    expected = torch.relu(torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1))
    close(layout.to_plain(y), expected.numpy())


def test_relu_after_a_convolution_keeps_nan_in_compiled_steps():
    """The compiled pass's convolution + ReLU node runs ReLU over the result (oneDNN's eltwise
    post-op would map NaN to 0, where PyTorch's ReLU keeps it)."""
    import ganglion as gn
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 16, 6, 6)).astype(np.float32)
    x[0, 2, 3, 3] = np.nan
    w = (rng.standard_normal((16, 16, 3, 3)) * 0.2).astype(np.float32)
    expected = torch.relu(torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), padding=1))
    with gn.config(layout_propagation=True), gn.no_grad():
        step = gn.jit(lambda v: gn.relu(gn.nn.functional.conv2d(v, gn.tensor(w), padding=1)))
        result = step(gn.tensor(x)).numpy()
    assert np.isnan(expected.numpy()).sum() == 9 * 16
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected.numpy()))
    np.testing.assert_allclose(result, expected.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernels", ["auto", "numpy"])
def test_relu_records_whether_it_met_nan_and_pooling_trusts_it(kernels, monkeypatch):
    """A blocked ReLU's result says whether its input held NaN (found in the ReLU's own pass);
    max pooling of a result without NaN skips its search for NaN, and says the same of its own
    result; one with NaN still gives NaN windows."""
    import ganglion as gn
    from ganglion.backend.onednn import pool
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 16, 6, 6)).astype(np.float32)
    w = (rng.standard_normal((16, 16, 3, 3)) * 0.2).astype(np.float32)
    geometry = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    with gn.config(kernels=kernels):
        clean = conv_relu(x, w, None, *geometry)
        x[1, 4, 2, 2] = np.nan
        dirty = conv_relu(x, w, None, *geometry)
    assert clean.nan_free and not dirty.nan_free
    expected = torch.nn.functional.max_pool2d(torch.tensor(layout.to_plain(dirty)), 2).numpy()
    dirty_pooled = layout.max_pool2d(dirty, (2, 2), (2, 2), (0, 0), (1, 1), False)
    np.testing.assert_array_equal(layout.to_plain(dirty_pooled), expected)
    assert np.isnan(expected).any() and not dirty_pooled.nan_free

    def no_search(values):
        raise AssertionError("searched a ReLU result known to hold no NaN")
    monkeypatch.setattr(pool, "outside_max_pooling", no_search)
    pooled = layout.max_pool2d(clean, (2, 2), (2, 2), (0, 0), (1, 1), False)
    assert pooled.nan_free
    np.testing.assert_array_equal(
        layout.to_plain(pooled),
        torch.nn.functional.max_pool2d(torch.tensor(layout.to_plain(clean)), 2).numpy())
