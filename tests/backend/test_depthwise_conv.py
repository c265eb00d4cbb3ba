"""Depthwise convolution kernels (the numba provider's ``backend/depthwise_loops.py`` compiled
loops, and the NumPy reference passes of ``backend/conv.py``), called through the backend, against PyTorch: forward, input
gradient and weight gradient in float64 (to 1e-10) for stride 1 and 2, symmetric and uneven
padding, dilation, rectangular kernels and channel multipliers 1-3; MobileNet's float32 layer
shapes; the planes split over two cores; the depthwise transposed convolution; and that the
depthwise kernels, not the grouped GEMM, run for ``groups == in_channels``."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion.backend import NumpyBackend, conv, providers

rng = np.random.default_rng(21)

needs_numba = pytest.mark.skipif(not providers.provider("numba").available(),
                                 reason="the compiled loops need numba: pip install 'ganglion[jit]'")
PATHS = [pytest.param("numba", marks=needs_numba), "numpy"]
DEPTHWISE_ARGS = (np.ones((1, 2, 3, 3)), np.ones((2, 1, 3, 3)), None, (1, 1), ((0, 0), (0, 0)), (1, 1), 2)


@pytest.fixture
def path(request):
    """Run the test under kernels="numba" (the compiled loops) or "numpy" (the NumPy passes)."""
    with gn.config(kernels=request.param):
        assert providers.kernel_for("conv2d_forward", *DEPTHWISE_ARGS) == request.param
        yield request.param


def torch_reference(x, w, b, stride, padding, dilation, g):
    """PyTorch's output and gradients; ``padding`` is conv.py's ((top, bottom), (left, right))."""
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    padded = torch.nn.functional.pad(xt, (padding[1][0], padding[1][1], padding[0][0], padding[0][1]))
    out = torch.nn.functional.conv2d(padded, wt, bt, stride, 0, dilation, groups=x.shape[1])
    out.backward(torch.tensor(g))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


def kernels(x, w, b, stride, padding, dilation, g):
    groups = x.shape[1]
    return (NumpyBackend.conv2d_forward(x, w, b, stride, padding, dilation, groups),
            NumpyBackend.conv2d_backward_input(g, w, x.shape[2:], stride, padding, dilation, groups),
            NumpyBackend.conv2d_backward_weight(x, g, w.shape[2:], stride, padding, dilation, groups))


def case(x_shape, multiplier, k, stride, padding, dilation, bias=True, dtype=np.float64):
    n, c = x_shape[:2]
    out_hw = tuple(conv.conv2d_output_size(x_shape[2 + a], k[a], stride[a], padding[a], dilation[a])
                   for a in (0, 1))
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((c * multiplier, 1) + k).astype(dtype)
    b = rng.standard_normal(c * multiplier).astype(dtype) if bias else None
    g = rng.standard_normal((n, c * multiplier) + out_hw).astype(dtype)
    return x, w, b, g


# (N, C, H, W), multiplier, kernel, stride, padding ((top, bottom), (left, right)), dilation, bias
CASES = [
    ((2, 4, 9, 9), 1, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), True),     # MobileNet's stride 1
    ((2, 4, 9, 9), 1, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), False),    # its stride 2, odd size
    ((3, 3, 8, 8), 1, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), True),     # stride 2, even size
    ((2, 5, 7, 6), 2, (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), True),     # multiplier 2, no pad
    ((2, 3, 10, 9), 3, (5, 5), (2, 2), ((2, 2), (2, 2)), (1, 1), True),    # multiplier 3, 5x5
    ((2, 4, 8, 8), 1, (4, 4), (1, 1), ((1, 2), (2, 1)), (1, 1), False),    # uneven ('same', even k)
    ((2, 4, 11, 10), 1, (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), True),   # dilated
    ((1, 2, 9, 12), 2, (3, 5), (2, 1), ((0, 1), (2, 2)), (2, 1), True),    # every axis different
    ((4, 6, 4, 4), 1, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), True),     # 4x4 planes (CIFAR end)
    ((2, 3, 1, 1), 1, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), True),     # 1x1 input
]


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("x_shape, multiplier, k, stride, padding, dilation, bias", CASES)
def test_depthwise_kernels_match_pytorch_in_float64(path, x_shape, multiplier, k, stride, padding,
                                                    dilation, bias):
    x, w, b, g = case(x_shape, multiplier, k, stride, padding, dilation, bias)
    expected = torch_reference(x, w, b, stride, padding, dilation, g)
    for got, want in zip(kernels(x, w, b, stride, padding, dilation, g), expected):
        assert got.dtype == np.float64 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("path", PATHS, indirect=True)
@pytest.mark.parametrize("x_shape, stride", [((8, 32, 16, 16), (1, 1)), ((8, 24, 16, 16), (2, 2)),
                                             ((16, 96, 4, 4), (1, 1))])
def test_mobilenet_float32_layers_split_over_two_cores(monkeypatch, path, x_shape, stride):
    monkeypatch.setattr(conv, "DEPTHWISE_SPLIT_ELEMENTS", 1)
    padding = ((1, 1), (1, 1))
    x, w, b, g = case(x_shape, 1, (3, 3), stride, padding, (1, 1), dtype=np.float32)
    expected = torch_reference(x, w, b, stride, padding, (1, 1), g)
    with gn.config(num_threads=2):   # two ranges of planes even on a one-core machine
        results = kernels(x, w, b, stride, padding, (1, 1), g)
    for got, want in zip(results, expected):
        assert got.dtype == np.float32
        scale = float(np.abs(want).max())
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * scale)


@pytest.mark.parametrize("path", PATHS, indirect=True)
def test_through_the_autograd_ops_and_the_depthwise_transposed_convolution(path):
    """F.conv2d with groups == channels and F.conv_transpose2d with groups == channels (whose
    forward is the depthwise input gradient): outputs and all gradients as PyTorch's."""
    x = rng.standard_normal((2, 6, 7, 7))
    w = rng.standard_normal((12, 1, 3, 3))
    b = rng.standard_normal(12)
    wt_ = rng.standard_normal((6, 1, 3, 3))
    for ours_fn, theirs_fn, weight, bias, options in [
            (F.conv2d, torch.nn.functional.conv2d, w, b, dict(stride=2, padding=1, groups=6)),
            (F.conv_transpose2d, torch.nn.functional.conv_transpose2d, wt_, None,
             dict(stride=2, padding=1, output_padding=1, groups=6))]:
        inputs = [x, weight] + ([bias] if bias is not None else [])
        ours = [gn.from_numpy(a.copy()).requires_grad_() for a in inputs]
        theirs = [torch.tensor(a, requires_grad=True) for a in inputs]
        out, ref = ours_fn(*ours, **options), theirs_fn(*theirs, **options)
        g = rng.standard_normal(tuple(ref.shape))
        out.backward(gn.from_numpy(g))
        ref.backward(torch.tensor(g))
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-10)
        for a, t in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_depthwise_with_a_channel_multiplier_skips_the_grouped_gemm(monkeypatch):
    """groups == in_channels with 1, 2 or 3 outputs per channel runs the depthwise kernels: the
    GEMM paths (per-core ranges of im2col + matmul) must not be entered."""
    def refuse(*args):
        raise AssertionError("the GEMM path ran for a depthwise convolution")
    for name in ("_forward_range", "_backward_input_range", "_backward_weight_range"):
        monkeypatch.setattr(conv, name, refuse)
    for multiplier in (1, 2, 3):
        x, w, b, g = case((2, 4, 6, 6), multiplier, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
        expected = torch_reference(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1), g)
        for got, want in zip(kernels(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1), g), expected):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    assert not conv._is_depthwise(4, 6, 4)      # 6 outputs for 4 channels: not whole multiples
    assert not conv._is_depthwise(8, 8, 4)      # two channels per group: the grouped GEMM


@needs_numba
def test_compiled_loops_run_for_float32_and_float64_and_numpy_for_float16():
    x, w, b, g = case((2, 3, 5, 5), 1, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), dtype=np.float16)
    with gn.config(kernels="numba"):
        for dtype, provider in ((np.float32, "numba"), (np.float64, "numba"), (np.float16, "numpy")):
            assert providers.kernel_for("conv2d_forward", x.astype(dtype), w.astype(dtype), b,
                                        (1, 1), ((1, 1), (1, 1)), (1, 1), 3) == provider
        out = NumpyBackend.conv2d_forward(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1), 3)
    want = torch_reference(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                           (1, 1), ((1, 1), (1, 1)), (1, 1), g.astype(np.float64))[0]
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, want, rtol=0, atol=0.05)
