"""The convolution kernels' batch chunking (``backend/conv.py``): every way the batch is cut into
per-core ranges and chunks of images (one image, several, a shorter last chunk, one core, BLAS
whose thread count cannot be set), and both input-gradient methods (col2im and the flipped-kernel
convolution), against PyTorch in float64, forward and both backward passes."""
import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion.backend import blas_threads, conv, threads

rng = np.random.default_rng(7)


def torch_reference(x, w, b, stride, padding, dilation, groups, g):
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    # conv.py takes ((top, bottom), (left, right)): pad the input explicitly for PyTorch.
    xt_padded = torch.nn.functional.pad(xt, (padding[1][0], padding[1][1], padding[0][0], padding[0][1]))
    out = torch.nn.functional.conv2d(xt_padded, wt, torch.tensor(b), stride, 0, dilation, groups)
    out.backward(torch.tensor(g))
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


def run_kernels(x, w, b, stride, padding, dilation, groups, g):
    out = conv.conv2d_forward(x, w, b, stride, padding, dilation, groups)
    gx = conv.conv2d_backward_input(g, w, x.shape[2:], stride, padding, dilation, groups)
    gw = conv.conv2d_backward_weight(x, g, w.shape[2:], stride, padding, dilation, groups)
    return out, gx, gw


# (N, C, H, W), O, kernel, stride, padding ((top, bottom), (left, right)), dilation, groups
CASES = [
    ((5, 3, 16, 16), 4, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),    # odd N: uneven ranges
    ((7, 2, 4, 4), 3, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),      # tiny images
    ((9, 4, 5, 6), 6, (2, 3), (1, 1), ((0, 1), (1, 1)), (1, 1), 2),      # grouped, uneven padding
    ((6, 3, 9, 8), 12, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),     # g much wider: col2im
    ((6, 4, 9, 9), 5, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1),      # strided: col2im
    ((4, 3, 10, 9), 4, (3, 3), (1, 1), ((0, 0), (2, 2)), (2, 2), 1),     # dilated flipped kernel
    ((3, 2, 6, 6), 3, (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),      # no padding, stride 1
]


@pytest.mark.parametrize("x_shape, o, k, stride, padding, dilation, groups", CASES)
@pytest.mark.parametrize("setting", ["default", "one image a chunk", "per-image GEMMs, two a chunk",
                                     "chunk-wide GEMMs, two a chunk", "one core", "no BLAS control"])
def test_chunked_kernels_match_torch(monkeypatch, x_shape, o, k, stride, padding, dilation, groups, setting):
    out_hw = tuple(conv.conv2d_output_size(x_shape[2 + a], k[a], stride[a], padding[a], dilation[a])
                   for a in (0, 1))
    if setting == "one core":
        monkeypatch.setattr(gn.config, "num_threads", 1)
    elif setting == "no BLAS control":
        monkeypatch.setattr(blas_threads, "available", lambda: False)
    else:
        monkeypatch.setattr(gn.config, "num_threads", 2)  # two ranges even on a one-core machine
    columns = out_hw[0] * out_hw[1]
    if "a chunk" in setting:  # these small images would otherwise go a core's share a chunk
        # _MIN_COLUMNS = L: each image gets its own GEMM; 2 L: one GEMM over a chunk of two.
        monkeypatch.setattr(conv, "_MIN_COLUMNS", (2 if "chunk-wide" in setting else 1) * columns)
        per_image_work = o * (x_shape[1] // groups) * k[0] * k[1] * columns
        monkeypatch.setattr(conv, "_MIN_MULTIPLY_ADDS", 1 if "one image" in setting else 2 * per_image_work)
    n, c = x_shape[:2]
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((o, c // groups) + k)
    b = rng.standard_normal(o)
    g = rng.standard_normal((n, o) + out_hw)
    shape = conv._Shape(n, c, x_shape[2:], o, groups, k, stride, padding, dilation, x.dtype)
    if "a chunk" in setting:
        assert shape.chunk == (1 if "one image" in setting else 2)
        assert shape.per_image == ("chunk-wide" not in setting)
    expected = torch_reference(x, w, b, stride, padding, dilation, groups, g)
    for got, want in zip(run_kernels(x, w, b, stride, padding, dilation, groups, g), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_chunking_follows_the_work_per_image():
    """Images go in chunks of at least 256 columns and 16 M multiply-adds; a single image
    with more than both is a chunk; never more than a core's share."""
    def chunk(n, c, hw, o, k, pad):
        return conv._Shape(n, c, hw, o, 1, (k, k), (1, 1), ((pad, pad),) * 2, (1, 1), np.float32).chunk
    assert chunk(128, 256, (16, 16), 256, 3, 1) == 1       # 151 M multiply-adds, 256 columns
    assert chunk(128, 32, (16, 16), 64, 3, 1) == 4         # 4.7 M multiply-adds an image
    assert chunk(128, 512, (4, 4), 512, 3, 1) == 16        # 16 columns an image
    assert chunk(128, 6, (14, 14), 16, 5, 0) == -(-128 // threads.count())  # 0.24 M: a core's share
    assert chunk(8, 6, (14, 14), 16, 5, 0) == -(-8 // threads.count())


def test_first_layer_wide_gradient_uses_col2im_and_stride_one_uses_the_flipped_kernel():
    shape = conv._Shape(2, 6, (14, 14), 16, 1, (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), np.float32)
    assert conv._full_correlation_padding(shape) is None          # g 5x larger than x's columns
    shape = conv._Shape(2, 32, (16, 16), 64, 1, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), np.float32)
    assert conv._full_correlation_padding(shape) == ((1, 1), (1, 1))
    shape = conv._Shape(2, 32, (16, 16), 64, 1, (3, 3), (1, 1), ((2, 0), (1, 1)), (1, 1), np.float32)
    assert conv._full_correlation_padding(shape) == ((0, 2), (1, 1))


def test_blas_runs_single_threaded_inside_the_block_and_is_restored():
    if not blas_threads.available():
        pytest.skip("NumPy's BLAS here is not an OpenBLAS whose thread count can be set")
    (get, set_), = blas_threads._load()[:1]
    before = get()
    set_(2)
    try:
        with blas_threads.single_threaded():
            assert get() == 1
            with blas_threads.single_threaded():
                assert get() == 1
            assert get() == 1
        assert get() == 2
    finally:
        set_(before)
