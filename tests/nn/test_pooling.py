"""Pooling and resampling against PyTorch: forward values and input gradients in float64 over a
grid of configurations, float64 gradient checks on small cases, double backward, symbolic mode,
the layers' reprs and the errors they raise.

Tie rule: when several inputs of a max-pooling window hold the maximum, the whole gradient goes
to the first of them in row-major window order (PyTorch's CPU rule; adaptive max pooling uses
the same rule). The grids feed ReLU'd data, so many windows are all zeros and the rule is
exercised against PyTorch on every max-pooling case.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from tests.oracle import check_forward, check_op

RNG = np.random.default_rng(0)
# Odd sizes; about half the entries are zero, so max-pooling windows tie.
TIED = np.maximum(RNG.standard_normal((2, 3, 7, 9)), 0)
SMALL = RNG.standard_normal((1, 2, 5, 6))


def grid(kernels=(2, 3), strides=(1, 2, None), paddings=(0, 1), ceil=(False, True)):
    return [(k, s, p, c) for k in kernels for s in strides for p in paddings for c in ceil
            if 2 * p <= k]


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode", grid())
def test_max_pool2d_matches_torch_with_ties(kernel, stride, padding, ceil_mode):
    args = (kernel, stride, padding, 1, ceil_mode)
    check_op(lambda x: F.max_pool2d(x, *args), lambda x: TF.max_pool2d(x, *args), [TIED],
             gradcheck=False)


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode", grid())
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(kernel, stride, padding, ceil_mode, count_include_pad):
    args = (kernel, stride, padding, ceil_mode, count_include_pad)
    check_op(lambda x: F.avg_pool2d(x, *args), lambda x: TF.avg_pool2d(x, *args), [TIED],
             gradcheck=False)


@pytest.mark.parametrize("kernel,stride,padding,dilation",
                         [(3, 1, 1, 2), (2, 1, 0, 3), ((2, 3), (1, 2), (1, 0), (2, 1))])
def test_max_pool2d_dilation_and_rectangular_windows(kernel, stride, padding, dilation):
    args = (kernel, stride, padding, dilation)
    check_op(lambda x: F.max_pool2d(x, *args), lambda x: TF.max_pool2d(x, *args), [TIED],
             gradcheck=False)


def test_avg_pool2d_divisor_override_and_rectangular_windows():
    check_op(lambda x: F.avg_pool2d(x, (2, 3), (1, 2), (1, 1), True, False, 5),
             lambda x: TF.avg_pool2d(x, (2, 3), (1, 2), (1, 1), True, False, 5), [TIED],
             gradcheck=False)


@pytest.mark.parametrize("kernel,stride,padding,ceil_mode",
                         [(2, None, 0, False), (3, 2, 1, True), (3, 1, 0, False)])
def test_max_pool1d_matches_torch(kernel, stride, padding, ceil_mode):
    x = TIED.reshape(2, 3, 63)
    args = (kernel, stride, padding, 1, ceil_mode)
    check_op(lambda x: F.max_pool1d(x, *args), lambda x: TF.max_pool1d(x, *args), [x],
             gradcheck=False)


@pytest.mark.parametrize("fn", ["max_pool2d", "max_pool1d"])
def test_return_indices_match_torch(fn):
    x = TIED if fn == "max_pool2d" else TIED.reshape(2, 3, 63)
    out, indices = getattr(F, fn)(gn.from_numpy(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    ref, ref_indices = getattr(TF, fn)(torch.from_numpy(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    np.testing.assert_array_equal(indices.numpy(), ref_indices.numpy())
    assert indices.dtype is gn.int64


@pytest.mark.parametrize("size", [1, (1, 1), 3, (7, 3), (4, 5), (2, 9), (5, None), (3, 4)])
def test_adaptive_pooling_matches_torch(size):
    check_op(lambda x: F.adaptive_avg_pool2d(x, size), lambda x: TF.adaptive_avg_pool2d(x, size),
             [TIED], gradcheck=False)
    check_op(lambda x: F.adaptive_max_pool2d(x, size), lambda x: TF.adaptive_max_pool2d(x, size),
             [TIED], gradcheck=False)
    _, indices = F.adaptive_max_pool2d(gn.from_numpy(TIED), size, return_indices=True)
    _, ref = TF.adaptive_max_pool2d(torch.from_numpy(TIED), size, return_indices=True)
    np.testing.assert_array_equal(indices.numpy(), ref.numpy())


@pytest.mark.parametrize("mode,align_corners", [("nearest", None), ("bilinear", False), ("bilinear", True)])
@pytest.mark.parametrize("resize", [{"scale_factor": 2}, {"scale_factor": (1.5, 0.5)},
                                    {"size": (5, 13)}, {"size": (3, 4)}, {"size": 14}])
def test_interpolate_matches_torch(mode, align_corners, resize):
    check_op(lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **resize),
             lambda x: TF.interpolate(x, mode=mode, align_corners=align_corners, **resize),
             [TIED], gradcheck=False)


@pytest.mark.parametrize("mode,align_corners", [("nearest", None), ("linear", False), ("linear", True)])
def test_interpolate_1d_matches_torch(mode, align_corners):
    x = TIED.reshape(2, 3, 63)
    for resize in ({"scale_factor": 2}, {"size": 40}):
        check_op(lambda x: F.interpolate(x, mode=mode, align_corners=align_corners, **resize),
                 lambda x: TF.interpolate(x, mode=mode, align_corners=align_corners, **resize),
                 [x], gradcheck=False)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_interpolation_sources_match_torch_bit_for_bit_over_many_sizes(mode):
    """PyTorch rounds nearest sources in its own way (exact integers for a size, float32 for a
    scale factor) and copies the input when the size does not change: all mirrored here."""
    kwargs = {} if mode == "nearest" else {"align_corners": False}
    for n in range(1, 24):
        x = np.arange(n, dtype=np.float64).reshape(1, 1, n)
        resizes = [{"size": o} for o in range(1, 37)] + [
            {"scale_factor": s} for s in (0.3, 0.5, 1.1, 1.4, 2, 2.5, 3, 1 / 3) if int(n * s) >= 1]
        for resize in resizes:
            ours = F.interpolate(gn.from_numpy(x), mode=mode, **kwargs, **resize).numpy()
            ref = TF.interpolate(torch.from_numpy(x), mode=mode, **kwargs, **resize).numpy()
            np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12, err_msg=f"{n} {resize}")


@pytest.mark.parametrize("gn_fn,torch_fn", [
    (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), lambda x: TF.max_pool2d(x, 3, 2, 1, ceil_mode=True)),
    (lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    (lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), lambda x: TF.avg_pool2d(x, 3, 2, 1, True, False)),
    (lambda x: F.adaptive_avg_pool2d(x, (3, 4)), lambda x: TF.adaptive_avg_pool2d(x, (3, 4))),
    (lambda x: F.adaptive_max_pool2d(x, (3, 4)), lambda x: TF.adaptive_max_pool2d(x, (3, 4))),
    (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
     lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear")),
])
def test_gradcheck_on_small_untied_inputs(gn_fn, torch_fn):
    check_op(gn_fn, torch_fn, [SMALL])


@pytest.mark.parametrize("gn_fn,torch_fn", [
    (lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1)),
    (lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
    (lambda x: F.avg_pool2d(x, 3, 1, 1), lambda x: TF.avg_pool2d(x, 3, 1, 1)),
])
def test_double_backward_through_the_pooling_gradient(gn_fn, torch_fn):
    """d/dv of <grad_x(<pool(x), v>), u>: the backward ops' own vjps (gather / pool again)."""
    out_shape = torch_fn(torch.from_numpy(TIED)).shape
    v, u = RNG.standard_normal(out_shape), RNG.standard_normal(TIED.shape)
    results = []
    for lib, fn, wrap in ((gn, gn_fn, gn.from_numpy), (torch, torch_fn, torch.from_numpy)):
        x, seed = wrap(TIED.copy()).requires_grad_(), wrap(v.copy()).requires_grad_()
        grad = lib.autograd.grad(fn(x), x, seed, create_graph=True)[0]
        (dv,) = lib.autograd.grad((grad * wrap(u)).sum(), seed)
        results.append(dv.detach().numpy())
    np.testing.assert_allclose(results[0], results[1], atol=1e-10)


def test_float32_stays_float32():
    x = TIED.astype(np.float32)
    for gn_fn, torch_fn in [(lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2)),
                            (lambda x: F.avg_pool2d(x, 3, 2, 1), lambda x: TF.avg_pool2d(x, 3, 2, 1)),
                            (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
                             lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear"))]:
        check_forward(gn_fn, torch_fn, [x], atol=1e-5)


def test_symbolic_max_and_avg_pool_compile_with_their_gradient():
    x = gn.placeholder(gn.float64, (None, 3, 7, 9), name="x")
    y = F.max_pool2d(x, 3, 2, 1).sum() + F.avg_pool2d(x, 2).sum()
    assert F.max_pool2d(x, 3, 2, 1).shape == (None, 3, 4, 5)
    (gx,) = gn.grad(y, [x])
    run = gn.function([x], [y, gx])
    value, gradient = run(TIED)
    xt = torch.from_numpy(TIED).requires_grad_()
    ref = TF.max_pool2d(xt, 3, 2, 1).sum() + TF.avg_pool2d(xt, 2).sum()
    ref.backward()
    np.testing.assert_allclose(value, ref.item())
    np.testing.assert_allclose(gradient, xt.grad.numpy())


LAYERS = [
    ("MaxPool1d", (3,), {}), ("MaxPool1d", (3, 2, 1), {"ceil_mode": True}),
    ("MaxPool2d", (2,), {}), ("MaxPool2d", ((3, 2), 1, 1), {"dilation": 2}),
    ("AvgPool2d", (3, 2, 1), {}), ("AvgPool2d", (2,), {"count_include_pad": False}),
    ("AdaptiveAvgPool2d", ((5, 7),), {}), ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveMaxPool2d", ((3, None),), {}),
    ("Upsample", (), {"scale_factor": 2}), ("Upsample", ((5, 13),), {"mode": "bilinear"}),
    ("Upsample", (), {"scale_factor": 2, "mode": "bilinear", "align_corners": True}),
    ("UpsamplingNearest2d", (), {"scale_factor": 3}), ("UpsamplingBilinear2d", ((4, 4),), {}),
]


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_layers_match_torch_in_repr_and_output(name, args, kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    x = TIED.reshape(2, 3, 63) if name == "MaxPool1d" else TIED
    check_forward(ours, theirs, [x])
    if "Upsampl" not in name:  # pooling also takes unbatched input; interpolation does not
        check_forward(ours, theirs, [x[0]])


def test_layers_return_indices_when_asked():
    out, indices = nn.MaxPool2d(2, return_indices=True)(gn.from_numpy(TIED))
    assert out.shape == indices.shape == (2, 3, 3, 4)


@pytest.mark.parametrize("layer,shape,expected", [
    (nn.MaxPool2d(2), (5,),
     "MaxPool2d: expected a 3-D or 4-D input (C, H, W) or (N, C, H, W), got shape (5,)"),
    (nn.AvgPool2d(2), (1, 2, 3, 4, 5),
     "AvgPool2d: expected a 3-D or 4-D input (C, H, W) or (N, C, H, W), got shape (1, 2, 3, 4, 5)"),
    (nn.MaxPool1d(2), (4, 3, 2, 1),
     "MaxPool1d: expected a 2-D or 3-D input (C, L) or (N, C, L), got shape (4, 3, 2, 1)"),
    (nn.AdaptiveAvgPool2d(2), (8, 8), "AdaptiveAvgPool2d: expected a 3-D or 4-D input"),
    (nn.AdaptiveMaxPool2d(2), (8,), "AdaptiveMaxPool2d: expected a 3-D or 4-D input"),
    (nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 4),
     "interpolate: mode 'bilinear' expects a 4-D input"),
])
def test_wrong_rank_errors_name_the_layer_and_the_expected_shape(layer, shape, expected):
    with pytest.raises(ValueError) as error:
        layer(gn.zeros(shape))
    assert expected in str(error.value)


def test_bad_arguments_are_explained():
    x = gn.from_numpy(TIED)
    with pytest.raises(ValueError, match="at most half of the effective kernel size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="too small for kernel"):
        F.max_pool2d(x, 8)
    with pytest.raises(ValueError, match="divisor_override must not be zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(TypeError, match="floating-point"):
        F.max_pool2d(gn.zeros((1, 4, 4), dtype=gn.int64), 2)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("layout_propagation", [True, False])
@pytest.mark.parametrize("kernels", ["auto", "numba", "numpy"])
def test_max_pooling_gives_nan_for_every_window_that_holds_one(kernels, layout_propagation):
    """As PyTorch: NaN wherever a window holds a NaN, a whole window of NaN included, and -inf
    for a window of -inf (oneDNN's pooling skips NaN and gives -FLT_MAX for both; its
    providers must hand such inputs on), eager
    on plain and blocked (after a convolution) inputs, compiled, and with indices (PyTorch's
    in windows without NaN; in one with NaN, backend/pool.py's argmax documents its rule)."""
    x = RNG.standard_normal((2, 16, 8, 8)).astype(np.float32)
    x[0, :, :2, :2] = np.nan      # a whole window in each channel
    x[1, 3, 5, 2] = np.nan        # one element of a window
    x[1, 5, 6:, 6:] = -np.inf     # a window of -inf
    weight = (RNG.standard_normal((16, 16, 3, 3)) * 0.2).astype(np.float32)
    expected_plain = TF.max_pool2d(torch.from_numpy(x), 2).numpy()
    expected_conv = TF.max_pool2d(TF.conv2d(torch.from_numpy(x), torch.from_numpy(weight),
                                            padding=1), 2).numpy()
    expected_indices = TF.max_pool2d(torch.from_numpy(x), 2, return_indices=True)[1].numpy()
    assert np.isnan(expected_plain).sum() == 16 + 1 and expected_plain[1, 5, 3, 3] == -np.inf

    def after_conv(v):
        return F.max_pool2d(F.conv2d(v, gn.tensor(weight), padding=1), 2)

    def after_conv_and_relu(v):
        return F.max_pool2d(F.relu(F.conv2d(v, gn.tensor(weight), padding=1)), 2)
    with gn.config(kernels=kernels, layout_propagation=layout_propagation), gn.no_grad():
        np.testing.assert_array_equal(F.max_pool2d(gn.tensor(x), 2).numpy(), expected_plain)
        _, indices = F.max_pool2d(gn.tensor(x), 2, return_indices=True)
        clean = ~np.isnan(expected_plain)
        np.testing.assert_array_equal(indices.numpy()[clean], expected_indices[clean])
        for result in (after_conv(gn.tensor(x)), gn.jit(after_conv)(gn.tensor(x))):
            np.testing.assert_allclose(result.numpy(), expected_conv, rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(np.isnan(result.numpy()), np.isnan(expected_conv))
        expected_relu = np.where(np.isnan(expected_conv), np.nan, np.maximum(expected_conv, 0))
        for result in (after_conv_and_relu(gn.tensor(x)), gn.jit(after_conv_and_relu)(gn.tensor(x))):
            np.testing.assert_allclose(result.numpy(), expected_relu, rtol=1e-5, atol=1e-5)
            np.testing.assert_array_equal(np.isnan(result.numpy()), np.isnan(expected_relu))
