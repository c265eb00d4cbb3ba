"""The oneDNN provider's pooling kernels (backend/onednn/pool.py) against PyTorch (values,
return_indices, gradients through autograd) and against the NumPy backend's kernels
(backend/pool.py): max pooling over kernel / stride / padding / dilation / ceil_mode with ties,
its argmax in ganglion's tap numbering, and average pooling under both count_include_pad rules
and ceil_mode; plus the cases the predicates turn away."""
import numpy as np
import pytest
import torch

from ganglion.backend import pool as numpy_pool
from ganglion.backend.onednn import library

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")

if library.available():
    from ganglion.backend.onednn import pool

# in_shape, kernel, stride, padding, dilation, ceil_mode
MAX_CASES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False),     # tiling 2x2
    ((2, 3, 7, 9), (2, 2), (2, 2), (0, 0), (1, 1), False),     # odd sizes: last row dropped
    ((2, 4, 9, 9), (3, 3), (2, 2), (1, 1), (1, 1), False),     # ResNet's stem pool
    ((1, 2, 6, 7), (3, 3), (1, 1), (1, 1), (1, 1), False),     # overlapping, batch 1
    ((2, 3, 10, 10), (3, 3), (2, 2), (0, 0), (1, 1), True),    # ceil_mode adds a window
    ((2, 2, 11, 10), (3, 2), (1, 2), (1, 0), (2, 1), True),    # dilation, mixed sizes
    ((2, 3, 5, 5), (5, 5), (1, 1), (2, 2), (1, 1), False),     # 25 taps, wide padding
]


def max_id(case):
    shape, k, s, p, d, c = case
    return f"x{'x'.join(map(str, shape))}-k{k[0]}{k[1]}-s{s[0]}{s[1]}-p{p[0]}{p[1]}-d{d[0]}{d[1]}-c{int(c)}"


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("case", MAX_CASES, ids=max_id)
def test_max_pool_matches_pytorch_and_numpy_kernels(case, ties):
    shape, kernel, stride, padding, dilation, ceil_mode = case
    geometry = (kernel, stride, padding, dilation, ceil_mode)
    rng = np.random.default_rng(0)
    # With ties, values from {-1, 0, 1}: most windows hold their maximum more than once.
    x = (rng.integers(-1, 2, shape) if ties else rng.standard_normal(shape)).astype(np.float32)
    assert pool.supports_max_pool2d(x.shape, x.dtype, *geometry)
    out, arg = pool.max_pool2d_with_argmax(x, *geometry)
    xt = torch.tensor(x, requires_grad=True)
    t_out, t_indices = torch.nn.functional.max_pool2d(xt, kernel, stride, padding, dilation,
                                                      ceil_mode, return_indices=True)
    g = rng.standard_normal(t_out.shape).astype(np.float32)
    t_out.backward(torch.tensor(g))
    np.testing.assert_array_equal(out, t_out.detach().numpy())
    np.testing.assert_array_equal(pool.max_pool2d(x, *geometry), out)
    np.testing.assert_array_equal(pool.max_pool2d_argmax(x, out, *geometry), arg)
    # The argmax is ganglion's (int8 tap numbers, the first maximum) and PyTorch's indices.
    numpy_arg = numpy_pool.max_pool2d_argmax(x, out, *geometry)
    assert arg.dtype == numpy_arg.dtype == np.int8
    np.testing.assert_array_equal(arg, numpy_arg)
    np.testing.assert_array_equal(numpy_pool.max_pool2d_indices(arg, x.shape, *geometry),
                                  t_indices.numpy())
    grad_input = pool.max_pool2d_scatter(g, arg, x.shape, *geometry)
    np.testing.assert_allclose(grad_input, xt.grad.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad_input, numpy_pool.max_pool2d_scatter(g, arg, x.shape, *geometry),
                               rtol=1e-6, atol=1e-6)


# in_shape, kernel, stride, padding, ceil_mode, count_include_pad
AVG_CASES = [
    ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), False, True),
    ((2, 3, 9, 7), (3, 3), (2, 2), (1, 1), False, True),       # padding counted
    ((2, 3, 9, 7), (3, 3), (2, 2), (1, 1), False, False),      # padding not counted
    ((2, 3, 10, 10), (3, 3), (2, 2), (0, 0), True, True),      # ceil_mode, no padding
    ((2, 3, 10, 11), (3, 3), (2, 2), (1, 1), True, False),     # ceil_mode, padding not counted
    ((1, 4, 6, 6), (3, 2), (1, 2), (1, 1), False, True),       # batch 1, rectangular
]


def avg_id(case):
    shape, k, s, p, c, cip = case
    return f"x{'x'.join(map(str, shape))}-k{k[0]}{k[1]}-s{s[0]}{s[1]}-p{p[0]}{p[1]}-c{int(c)}-inc{int(cip)}"


@pytest.mark.parametrize("case", AVG_CASES, ids=avg_id)
def test_avg_pool_matches_pytorch_and_numpy_kernels(case):
    shape, kernel, stride, padding, ceil_mode, count_include_pad = case
    attrs = (kernel, stride, padding, ceil_mode, count_include_pad, None)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    assert pool.supports_avg_pool2d(x.shape, x.dtype, *attrs)
    out = pool.avg_pool2d(x, *attrs)
    xt = torch.tensor(x, requires_grad=True)
    t_out = torch.nn.functional.avg_pool2d(xt, kernel, stride, padding, ceil_mode, count_include_pad)
    g = rng.standard_normal(t_out.shape).astype(np.float32)
    t_out.backward(torch.tensor(g))
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, numpy_pool.avg_pool2d(x, *attrs), rtol=1e-5, atol=1e-6)
    grad_input = pool.avg_pool2d_backward(g, x.shape, *attrs)
    np.testing.assert_allclose(grad_input, xt.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad_input, numpy_pool.avg_pool2d_backward(g, x.shape, *attrs),
                               rtol=1e-5, atol=1e-6)


def test_unsupported_pooling_is_refused():
    f32 = np.float32
    max_geometry = ((3, 3), (2, 2), (1, 1), (1, 1), False)
    assert not pool.supports_max_pool2d((2, 3, 8, 8), np.float64, *max_geometry)
    assert not pool.supports_max_pool2d((0, 3, 8, 8), f32, *max_geometry)
    assert not pool.supports_max_pool2d((2, 3, 16, 16), f32, (12, 12), (1, 1), (0, 0), (1, 1), False)
    assert not pool.supports_max_pool2d((2, 3, 8, 8), f32, (2, 2), (2, 2), (2, 2), (1, 1), False)
    # Counted padding plus ceil_mode's extra padding: oneDNN would count the extra too.
    assert not pool.supports_avg_pool2d((2, 3, 10, 10), f32, (3, 3), (2, 2), (1, 1), True, True, None)
    assert pool.supports_avg_pool2d((2, 3, 10, 10), f32, (3, 3), (2, 2), (1, 1), True, False, None)
    assert not pool.supports_avg_pool2d((2, 3, 8, 8), f32, (2, 2), (2, 2), (0, 0), False, True, 3)
    with pytest.raises(ValueError, match=r"onednn.avg_pool2d: unsupported pooling .*divisor_override 3"):
        pool.avg_pool2d(np.zeros((2, 3, 8, 8), f32), (2, 2), (2, 2), (0, 0), False, True, 3)
    with pytest.raises(ValueError, match=r"onednn.max_pool2d: unsupported pooling .*float64"):
        pool.max_pool2d(np.zeros((2, 3, 8, 8)), *max_geometry)


def test_scatter_preference_follows_window_overlap():
    assert not pool.prefers_max_pool2d_scatter((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), (1, 1), False)
    assert not pool.prefers_max_pool2d_scatter((2, 3, 9, 9), (3, 3), (3, 3), (0, 0), (1, 1), True)
    assert pool.prefers_max_pool2d_scatter((2, 3, 9, 9), (3, 3), (2, 2), (1, 1), (1, 1), False)
    assert pool.prefers_max_pool2d_scatter((2, 3, 9, 9), (2, 2), (2, 2), (0, 0), (2, 2), False)
