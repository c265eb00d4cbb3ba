"""Convolution: functional conv1d / conv2d / conv_transpose2d and the Conv1d / Conv2d /
ConvTranspose2d layers against PyTorch (forward, input / weight / bias gradients, second order),
float64 central differences, default initialization, symbolic mode and the error messages.

The conv2d grid picks configurations that reach every kernel path (im2col + GEMM, grouped,
depthwise) with kernel sizes 1/2/3/4/5, stride 1/2/3, padding
0/1/2/'same'/'valid', dilation 1/2, odd and non-square shapes, rather than the full product.
"""
import math

import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from ganglion.backend.conv import conv2d_backward_input, conv2d_forward
from tests.oracle import check_op

rng = np.random.default_rng(0)


# (N, C, H, W), out_channels, kernel, stride, padding, dilation, groups, bias
CONV2D_GRID = [
    ((2, 4, 7, 6), 5, 1, 1, 0, 1, 1, True),           # 1x1: the column matrix is the input
    ((2, 4, 7, 6), 3, 1, 2, 0, 1, 1, False),          # strided pointwise, odd sizes
    ((2, 3, 5, 5), 4, 1, 1, 1, 1, 1, True),           # 1x1 with padding
    ((2, 3, 8, 7), 6, 3, 1, 1, 1, 1, True),
    ((2, 3, 9, 7), 4, 3, 2, 1, 1, 1, False),          # strided, odd sizes
    ((2, 4, 9, 8), 6, 3, 1, 0, 2, 2, True),           # grouped, dilated
    ((2, 4, 9, 9), 4, 3, 2, 1, 2, 4, False),          # depthwise, strided, dilated
    ((1, 4, 8, 8), 4, 3, 1, 1, 1, 4, True),           # depthwise, stride 1
    ((2, 3, 9, 8), 4, 5, 1, 2, 1, 1, True),
    ((2, 2, 11, 9), 3, 5, 2, 0, 1, 1, False),
    ((2, 4, 12, 10), 6, 5, 2, 2, 1, 2, True),         # grouped, strided
    ((2, 3, 8, 9), 2, 3, 1, "same", 2, 1, True),
    ((2, 3, 7, 8), 2, 4, 1, "same", 1, 1, False),     # even kernel: uneven 'same' padding
    ((2, 3, 7, 8), 2, 3, 1, "valid", 1, 1, True),
    ((2, 3, 9, 8), 4, (3, 5), (2, 1), (1, 2), 1, 1, True),  # non-square kernel and stride
    ((2, 2, 6, 9), 3, (2, 3), 1, "same", (2, 1), 1, False),
    ((2, 2, 10, 11), 4, 2, 3, 0, 1, 1, True),         # stride larger than the kernel: gaps
    ((2, 3, 7, 7), 6, 3, 1, 1, 1, 3, False),          # channel multiplier 2 (grouped GEMM path)
    # Wider outputs: one image per chunk at these sizes, the GEMM written straight into NCHW.
    ((2, 3, 5, 14), 4, 3, 1, 1, 1, 1, True),
    ((2, 4, 6, 27), 6, 5, 2, 2, 1, 2, False),
    ((2, 3, 5, 13), 2, 3, 1, "same", 2, 1, True),
]


def _pair(v):
    return (v, v) if isinstance(v, int) else v


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("x_shape, out_channels, kernel, stride, padding, dilation, groups, bias",
                         CONV2D_GRID)
def test_conv2d_matches_torch(x_shape, out_channels, kernel, stride, padding, dilation, groups, bias):
    kh, kw = _pair(kernel)
    arrays = [rng.standard_normal(x_shape),
              rng.standard_normal((out_channels, x_shape[1] // groups, kh, kw))]
    if bias:
        arrays.append(rng.standard_normal(out_channels))
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_op(lambda *a: F.conv2d(*a, **kwargs), lambda *a: torch.nn.functional.conv2d(*a, **kwargs),
             arrays, atol=1e-9, rtol=1e-7, gradcheck=False)


def test_wide_3x3_layer_matches_torch():
    """ResNet-like channel counts: long GEMM reductions, and the copies split over the cores."""
    arrays = [rng.standard_normal((4, 128, 17, 16)), rng.standard_normal((128, 128, 3, 3)) / 30,
              rng.standard_normal(128)]
    check_op(lambda *a: F.conv2d(*a, padding=1), lambda *a: torch.nn.functional.conv2d(*a, padding=1),
             arrays, atol=1e-9, rtol=1e-7, gradcheck=False)


@pytest.mark.parametrize("kernel, stride, padding, dilation, groups", [
    (3, 1, 1, 1, 1), (5, 2, 2, 1, 1), (4, 1, "same", 1, 1), (3, 1, 0, 2, 2), (3, 2, "valid", 1, 4),
])
def test_conv1d_matches_torch(kernel, stride, padding, dilation, groups):
    arrays = [rng.standard_normal((2, 4, 13)), rng.standard_normal((4, 4 // groups, kernel)),
              rng.standard_normal(4)]
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    check_op(lambda *a: F.conv1d(*a, **kwargs), lambda *a: torch.nn.functional.conv1d(*a, **kwargs),
             arrays, atol=1e-9, rtol=1e-7, gradcheck=False)


@pytest.mark.parametrize("x_shape, out_per_group, kernel, stride, padding, output_padding, groups, dilation", [
    ((2, 4, 5, 4), 3, 4, 2, 1, 0, 1, 1),      # the DCGAN generator's upsampling step
    ((2, 4, 5, 5), 3, 3, 2, 1, 1, 1, 1),
    ((2, 4, 4, 3), 2, 3, 1, 0, 0, 2, 1),
    ((2, 3, 4, 5), 2, (3, 2), (3, 2), (1, 0), (2, 1), 1, 1),
    ((2, 2, 4, 4), 3, 3, 2, 1, 1, 1, 2),
    ((2, 4, 6, 5), 1, 1, 1, 0, 0, 1, 1),      # pointwise
    ((1, 4, 3, 13), 3, 3, 2, 1, 1, 2, 1),     # 13 columns in: the batch-second storage
])
def test_conv_transpose2d_matches_torch(x_shape, out_per_group, kernel, stride, padding,
                                        output_padding, groups, dilation):
    kh, kw = _pair(kernel)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal((x_shape[1], out_per_group, kh, kw)),
              rng.standard_normal(out_per_group * groups)]
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                  dilation=dilation)
    check_op(lambda *a: F.conv_transpose2d(*a, **kwargs),
             lambda *a: torch.nn.functional.conv_transpose2d(*a, **kwargs),
             arrays, atol=1e-9, rtol=1e-7, gradcheck=False)


def test_numerical_gradients_float64():
    conv = dict(stride=2, padding=1, groups=2)
    check_op(lambda *a: F.conv2d(*a, **conv), lambda *a: torch.nn.functional.conv2d(*a, **conv),
             [rng.standard_normal((1, 4, 5, 4)), rng.standard_normal((2, 2, 3, 3)),
              rng.standard_normal(2)], atol=1e-8, rtol=1e-6)
    transposed = dict(stride=2, padding=1, output_padding=1)
    check_op(lambda *a: F.conv_transpose2d(*a, **transposed),
             lambda *a: torch.nn.functional.conv_transpose2d(*a, **transposed),
             [rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 3, 3, 3))], atol=1e-8, rtol=1e-6)
    check_op(lambda *a: F.conv1d(*a, padding="same"),
             lambda *a: torch.nn.functional.conv1d(*a, padding="same"),
             [rng.standard_normal((1, 2, 6)), rng.standard_normal((3, 2, 4))], atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("fn, torch_fn, shapes", [
    (lambda *a: F.conv2d(*a, stride=2, padding=1), lambda *a: torch.nn.functional.conv2d(*a, stride=2, padding=1),
     [(2, 3, 7, 6), (4, 3, 3, 3)]),
    (lambda *a: F.conv_transpose2d(*a, stride=2, padding=1, output_padding=1),
     lambda *a: torch.nn.functional.conv_transpose2d(*a, stride=2, padding=1, output_padding=1),
     [(2, 3, 4, 3), (3, 2, 3, 3)]),
])
def test_second_order_matches_torch(fn, torch_fn, shapes):
    check_op(fn, torch_fn, [rng.standard_normal(s) for s in shapes], atol=1e-9, rtol=1e-7,
             gradcheck=False, second_order=True)


def test_gradient_penalty_trains_the_weights():
    """WGAN-GP: the norm of d(output)/d(input) is differentiated again, down to the weights."""
    x_np, w_np = rng.standard_normal((2, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    x, w = gn.from_numpy(x_np.copy()).requires_grad_(), gn.from_numpy(w_np.copy()).requires_grad_()
    xt, wt = torch.tensor(x_np, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    for conv, a, b in ((F.conv2d, x, w), (torch.nn.functional.conv2d, xt, wt)):
        out = conv(a, b, padding=1).tanh().sum()
        (grad_x,) = (gn.grad if conv is F.conv2d else torch.autograd.grad)(out, [a], create_graph=True)
        ((grad_x * grad_x).sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_float32_stays_float32_and_results_are_fresh_arrays():
    """Kernels reuse scratch buffers: a result must survive the next call unchanged."""
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    first = conv2d_forward(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    kept = first.copy()
    conv2d_forward(2 * x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, kept)
    # One image, one channel, no padding: the cropped gradient view is contiguous, yet it must
    # not be the scratch buffer itself.
    g = rng.standard_normal((1, 2, 4, 4))
    w1 = rng.standard_normal((2, 1, 3, 3))
    gx = conv2d_backward_input(g, w1, (6, 6), (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    kept = gx.copy()
    conv2d_backward_input(2 * g, w1, (6, 6), (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    np.testing.assert_array_equal(gx, kept)


def test_symbolic_conv_compiles_and_differentiates():
    w_np = rng.standard_normal((4, 3, 3, 3))
    x_np = rng.standard_normal((2, 3, 6, 5))
    x = gn.placeholder("float64", (None, 3, 6, 5), name="x")
    w = gn.from_numpy(w_np.copy()).requires_grad_()
    loss = F.conv2d(x, w, padding=1, stride=2).square().sum()
    (grad_w,) = gn.grad(loss, [w])
    value, gradient = gn.function([x], [loss, grad_w])(x_np)
    xt, wt = torch.tensor(x_np), torch.tensor(w_np, requires_grad=True)
    expected = torch.nn.functional.conv2d(xt, wt, padding=1, stride=2).square().sum()
    expected.backward()
    np.testing.assert_allclose(float(np.asarray(value)), expected.item(), rtol=1e-9)
    np.testing.assert_allclose(np.asarray(gradient), wt.grad.numpy(), rtol=1e-9)


# ----- layers --------------------------------------------------------------------------------

def _copy_from_torch(layer, torch_layer):
    layer.load_state_dict({k: v.detach().numpy() for k, v in torch_layer.state_dict().items()})


@pytest.mark.parametrize("make", [
    lambda nn_: nn_.Conv2d(3, 6, 5, padding=2),
    lambda nn_: nn_.Conv2d(4, 4, 3, stride=2, padding=1, groups=4, bias=False),
    lambda nn_: nn_.Conv2d(3, 4, (3, 1), padding="same", dilation=2),
    lambda nn_: nn_.Conv1d(3, 6, 3, stride=2, padding=1),
    lambda nn_: nn_.ConvTranspose2d(4, 3, 4, stride=2, padding=1),
    lambda nn_: nn_.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2),
])
def test_layers_with_copied_weights_match_torch(make):
    torch_layer = make(torch.nn).double()
    layer = make(nn).double()
    _copy_from_torch(layer, torch_layer)
    assert repr(layer) == repr(torch_layer)
    shape = (2, layer.in_channels) + ((11,) if isinstance(layer, nn.Conv1d) else (7, 8))
    x_np = rng.standard_normal(shape)
    x, xt = gn.from_numpy(x_np.copy()).requires_grad_(), torch.tensor(x_np, requires_grad=True)
    out, out_t = layer(x), torch_layer(xt)
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), rtol=1e-9, atol=1e-12)
    seed = rng.standard_normal(out_t.shape)
    (out * gn.from_numpy(seed)).sum().backward()
    (out_t * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (name, p), (_, pt) in zip(layer.named_parameters(), torch_layer.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_conv_transpose2d_output_size_argument():
    layer, torch_layer = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = rng.standard_normal((1, 2, 4, 5)).astype(np.float32)
    out = layer(gn.tensor(x), output_size=(8, 10))
    assert out.shape == torch_layer(torch.tensor(x), output_size=(8, 10)).shape == (1, 3, 8, 10)


@pytest.mark.parametrize("make, fan_in, shape", [
    (lambda: nn.Conv2d(16, 32, 3), 16 * 9, (32, 16, 3, 3)),
    (lambda: nn.Conv2d(16, 32, 5, groups=4), 4 * 25, (32, 4, 5, 5)),
    (lambda: nn.Conv1d(8, 32, 7), 8 * 7, (32, 8, 7)),
    (lambda: nn.ConvTranspose2d(16, 32, 4, groups=2), 16 * 16, (16, 16, 4, 4)),
])
def test_default_init_has_pytorch_distribution(make, fan_in, shape):
    gn.manual_seed(0)
    layer = make()
    weight, bias = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    bound = 1 / math.sqrt(fan_in)
    assert weight.shape == shape and weight.dtype == np.float32 and bias.shape == (32,)
    assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
    # U(-b, b) has standard deviation b / sqrt(3).
    assert abs(weight.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


# ----- errors --------------------------------------------------------------------------------

def test_wrong_channel_count_names_the_layer_and_the_expected_shape():
    with pytest.raises(ValueError, match=r"^Conv2d\(3, 32\): expected input of shape \(N, 3, H, W\), "
                                         r"got \(128, 1, 28, 28\)$"):
        nn.Conv2d(3, 32, 5)(gn.zeros(128, 1, 28, 28))
    with pytest.raises(ValueError, match=r"Conv1d\(4, 8\): expected input of shape \(N, 4, L\), got \(2, 3, 9\)"):
        nn.Conv1d(4, 8, 3)(gn.zeros(2, 3, 9))
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(4, 2\): expected input of shape \(N, 4, H, W\)"):
        nn.ConvTranspose2d(4, 2, 3)(gn.zeros(1, 2, 5, 5))


def test_wrong_rank_is_an_error():
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8\): expected input of shape \(N, 3, H, W\), got \(3, 28\)"):
        nn.Conv2d(3, 8, 3)(gn.zeros(3, 28))
    with pytest.raises(ValueError, match=r"conv2d: expected a 3-D \(unbatched\) or 4-D input"):
        F.conv2d(gn.zeros(1, 1, 3, 8, 8), gn.zeros(2, 1, 3, 3))


def test_functional_errors_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(2, 4, 8, 8\) has 4 channels, but "
                                         r"the weight of shape \(6, 3, 3, 3\) with groups=1 expects 3"):
        F.conv2d(gn.zeros(2, 4, 8, 8), gn.zeros(6, 3, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(1, 3, 2, 2\) is too small"):
        F.conv2d(gn.zeros(1, 3, 2, 2), gn.zeros(6, 3, 3, 3))
    with pytest.raises(TypeError, match="same floating dtype"):
        F.conv2d(gn.zeros(1, 3, 5, 5), gn.zeros(6, 3, 3, 3, dtype=gn.float64))
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        F.conv2d(gn.zeros(1, 3, 5, 5), gn.zeros(6, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(gn.zeros(1, 3, 5, 5), gn.zeros(3, 2, 3, 3), stride=2, output_padding=2)
    with pytest.raises(ValueError, match="divisible by groups=3"):
        nn.Conv2d(4, 6, 3, groups=3)
