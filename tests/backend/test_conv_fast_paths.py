"""The convolution kernels' shortcuts for the model zoo's layers (``backend/conv.py``): pointwise
(1x1, stride 1, unpadded) convolutions that use the input planes as their column matrices, and
fewer images than cores (inference on one image), whose GEMMs are split over the cores; against
PyTorch in float64, forward and both backward passes."""
import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.backend import conv, matmul

rng = np.random.default_rng(5)


def torch_reference(x, w, b, stride, padding, groups, g):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    out = torch.nn.functional.conv2d(xt, wt, None if b is None else torch.tensor(b), stride,
                                     padding, 1, groups)
    out.backward(torch.tensor(g))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


def kernels(x, w, b, stride, padding, groups, g):
    pads = ((padding, padding), (padding, padding))
    return (conv.conv2d_forward(x, w, b, (stride, stride), pads, (1, 1), groups),
            conv.conv2d_backward_input(g, w, x.shape[2:], (stride, stride), pads, (1, 1), groups),
            conv.conv2d_backward_weight(x, g, w.shape[2:], (stride, stride), pads, (1, 1), groups))


def check(x_shape, o, k, stride, padding, groups, bias=True):
    n, c, h, w_ = x_shape
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((o, c // groups, k, k))
    b = rng.standard_normal(o) if bias else None
    out_hw = [(s + 2 * padding - k) // stride + 1 for s in (h, w_)]
    g = rng.standard_normal((n, o, *out_hw))
    expected = torch_reference(x, w, b, stride, padding, groups, g)
    for got, want in zip(kernels(x, w, b, stride, padding, groups, g), expected):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("x_shape, o, groups", [
    ((3, 8, 20, 20), 6, 1),     # 400 columns an image: per-image GEMMs straight on x's planes
    ((5, 8, 4, 4), 12, 1),      # 16 columns: one GEMM over the chunk, x transposed once
    ((4, 6, 17, 16), 9, 3),     # grouped 1x1 (ShuffleNet), per image
    ((6, 4, 3, 5), 8, 2),       # grouped 1x1, chunk-wide
])
def test_pointwise_convolutions_match_pytorch(monkeypatch, x_shape, o, groups):
    monkeypatch.setattr(gn.config, "num_threads", 2)
    shape = conv._Shape(x_shape[0], x_shape[1], x_shape[2:], o, groups, (1, 1), (1, 1),
                        ((0, 0), (0, 0)), (1, 1), np.float64)
    assert shape.pointwise
    check(x_shape, o, 1, 1, 0, groups)


def test_pointwise_forward_reads_a_non_contiguous_input():
    x = rng.standard_normal((2, 5, 18, 18)).transpose(0, 1, 3, 2)
    w = rng.standard_normal((3, 5, 1, 1))
    out = conv.conv2d_forward(x, w, None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    want = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_allclose(out, want, rtol=1e-10, atol=1e-10)


def test_strided_or_padded_1x1_is_not_pointwise():
    for stride, padding in (((2, 2), ((0, 0), (0, 0))), ((1, 1), ((1, 1), (0, 0)))):
        assert not conv._Shape(2, 3, (8, 8), 4, 1, (1, 1), stride, padding, (1, 1), np.float64).pointwise
    check((3, 4, 9, 9), 5, 1, 2, 0, 1)
    check((3, 4, 6, 6), 5, 1, 1, 1, 1)


@pytest.mark.parametrize("x_shape, o, k, stride, padding, bias", [
    ((1, 3, 30, 30), 8, 7, 2, 3, True),     # ResNet's stem on one image
    ((1, 16, 20, 20), 24, 1, 1, 0, False),  # a pointwise layer on one image
    ((1, 8, 6, 6), 8, 3, 1, 1, True),       # a narrow 3x3 layer on one image
])
def test_one_image_splits_its_gemm_over_the_cores(monkeypatch, x_shape, o, k, stride, padding, bias):
    """Batches smaller than the core count: forward through _forward_few_images, whose GEMM is
    split over the pool inside the convolution scope (the backend runs every convolution in
    one, see backend/matmul.py)."""
    monkeypatch.setattr(gn.config, "num_threads", 2)
    monkeypatch.setattr(matmul, "_PARALLEL_MULTIPLY_ADDS", 1)
    calls = []
    original = conv._forward_few_images
    monkeypatch.setattr(conv, "_forward_few_images", lambda *a: calls.append(1) or original(*a))
    with matmul.convolution_scope():
        check(x_shape, o, k, stride, padding, 1, bias)
    assert calls
