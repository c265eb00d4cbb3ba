"""MobileNet v1 / v2 / v3 (ganglion.models.mobilenet) against PyTorch twins written here.

torchvision is not installed, so the twins below are compact torch.nn copies of torchvision's
mobilenetv2.py / mobilenetv3.py / ops.misc (Conv2dNormActivation, SqueezeExcitation) and of
ganglion's own MobileNet v1 layout. Each test compares the exact state_dict key list and shapes,
then copies the weights torch -> ganglion and compares eval-mode outputs on one small batch.
Parameter counts are torchvision 0.28's (issue 14's table); MobileNet v1's are Howard et al.
2017's (Tables 6 and 8: 4.2 / 2.6 / 1.3 / 0.5 million at alpha 1 / 0.75 / 0.5 / 0.25), exactly
4,231,976 at alpha 1 (keras.applications.MobileNet's trainable count); the CIFAR MobileNetV2's
2,236,682 with 10 classes is chenyaofo/pytorch-cifar-models' "2.24 M".
"""
from functools import partial

import numpy as np
import pytest
import torch
from torch import nn as tnn

import ganglion as gn
from ganglion.core.errors import ShapeError
from ganglion.models import get_model, list_models, model_info
from ganglion.models import mobilenet as gm

torch.set_num_threads(1)


# --------------------------------------------------------------------------------------------
# PyTorch twins


def _div(v, d=8):
    new_v = max(d, int(v + d / 2) // d * d)
    return new_v + d if new_v < 0.9 * v else new_v


class TConvNormAct(tnn.Sequential):
    def __init__(self, cin, cout, k=3, stride=1, groups=1, norm=tnn.BatchNorm2d, act=tnn.ReLU,
                 dilation=1):
        layers = [tnn.Conv2d(cin, cout, k, stride, (k - 1) // 2 * dilation, dilation=dilation,
                             groups=groups, bias=norm is None)]
        if norm is not None:
            layers.append(norm(cout))
        if act is not None:
            layers.append(act(inplace=True))
        super().__init__(*layers)


class TSqueezeExcitation(tnn.Module):
    def __init__(self, cin, csq):
        super().__init__()
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc1 = tnn.Conv2d(cin, csq, 1)
        self.fc2 = tnn.Conv2d(csq, cin, 1)
        self.activation = tnn.ReLU()
        self.scale_activation = tnn.Hardsigmoid()

    def forward(self, x):
        s = self.fc2(self.activation(self.fc1(self.avgpool(x))))
        return self.scale_activation(s) * x


class TMobileNetV1(tnn.Module):
    class Block(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.dw = TConvNormAct(cin, cin, 3, stride, groups=cin, act=tnn.ReLU6)
            self.pw = TConvNormAct(cin, cout, 1, act=tnn.ReLU6)

        def forward(self, x):
            return self.pw(self.dw(x))

    def __init__(self, num_classes=1000, alpha=1.0):
        super().__init__()
        def depth(c):
            return max(int(c * alpha), 8)
        c = depth(32)
        layers = [TConvNormAct(3, c, 3, 2, act=tnn.ReLU6)]
        for out, s in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 \
                + [(1024, 2), (1024, 1)]:
            layers.append(self.Block(c, depth(out), s))
            c = depth(out)
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.classifier = tnn.Sequential(tnn.Dropout(0.001), tnn.Linear(c, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class TInvertedResidual(tnn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hidden = int(round(inp * t))
        self.use_res = stride == 1 and inp == oup
        layers = [TConvNormAct(inp, hidden, 1, act=tnn.ReLU6)] if t != 1 else []
        layers += [TConvNormAct(hidden, hidden, 3, stride, groups=hidden, act=tnn.ReLU6),
                   tnn.Conv2d(hidden, oup, 1, 1, 0, bias=False), tnn.BatchNorm2d(oup)]
        self.conv = tnn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class TMobileNetV2(tnn.Module):
    def __init__(self, num_classes=1000, width_mult=1.0, cifar=False):
        super().__init__()
        setting = [[1, 16, 1, 1], [6, 24, 2, 1 if cifar else 2], [6, 32, 3, 2], [6, 64, 4, 2],
                   [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
        c = _div(32 * width_mult)
        last = _div(1280 * max(1.0, width_mult))
        layers = [TConvNormAct(3, c, 3, 1 if cifar else 2, act=tnn.ReLU6)]
        for t, ch, n, s in setting:
            out = _div(ch * width_mult)
            for i in range(n):
                layers.append(TInvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        layers.append(TConvNormAct(c, last, 1, act=tnn.ReLU6))
        self.features = tnn.Sequential(*layers)
        self.classifier = tnn.Sequential(tnn.Dropout(0.2), tnn.Linear(last, num_classes))

    def forward(self, x):
        x = tnn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class TBlockV3(tnn.Module):
    def __init__(self, cin, k, exp, cout, se, hs, stride, dilation, norm):
        super().__init__()
        act = tnn.Hardswish if hs else tnn.ReLU
        self.use_res = stride == 1 and cin == cout
        layers = [TConvNormAct(cin, exp, 1, norm=norm, act=act)] if exp != cin else []
        layers.append(TConvNormAct(exp, exp, k, 1 if dilation > 1 else stride, groups=exp,
                                   norm=norm, act=act, dilation=dilation))
        if se:
            layers.append(TSqueezeExcitation(exp, _div(exp // 4)))
        layers.append(TConvNormAct(exp, cout, 1, norm=norm, act=None))
        self.block = tnn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return y + x if self.use_res else y


_LARGE = [(16, 3, 16, 16, 0, 0, 1), (16, 3, 64, 24, 0, 0, 2), (24, 3, 72, 24, 0, 0, 1),
          (24, 5, 72, 40, 1, 0, 2), (40, 5, 120, 40, 1, 0, 1), (40, 5, 120, 40, 1, 0, 1),
          (40, 3, 240, 80, 0, 1, 2), (80, 3, 200, 80, 0, 1, 1), (80, 3, 184, 80, 0, 1, 1),
          (80, 3, 184, 80, 0, 1, 1), (80, 3, 480, 112, 1, 1, 1), (112, 3, 672, 112, 1, 1, 1),
          (112, 5, 672, 160, 1, 1, 2), (160, 5, 960, 160, 1, 1, 1), (160, 5, 960, 160, 1, 1, 1)]
_SMALL = [(16, 3, 16, 16, 1, 0, 2), (16, 3, 72, 24, 0, 0, 2), (24, 3, 88, 24, 0, 0, 1),
          (24, 5, 96, 40, 1, 1, 2), (40, 5, 240, 40, 1, 1, 1), (40, 5, 240, 40, 1, 1, 1),
          (40, 5, 120, 48, 1, 1, 1), (48, 5, 144, 48, 1, 1, 1), (48, 5, 288, 96, 1, 1, 2),
          (96, 5, 576, 96, 1, 1, 1), (96, 5, 576, 96, 1, 1, 1)]


class TMobileNetV3(tnn.Module):
    def __init__(self, arch, num_classes=1000, dropout=0.2, reduced_tail=False, dilated=False):
        super().__init__()
        norm = partial(tnn.BatchNorm2d, eps=0.001, momentum=0.01)
        rows, last = (_LARGE, 1280) if arch == "large" else (_SMALL, 1024)
        r = 2 if reduced_tail else 1
        tail = len(rows) - 3  # the last three rows form the reduced / dilated stage
        layers = [TConvNormAct(3, rows[0][0], 3, 2, norm=norm, act=tnn.Hardswish)]
        for i, (cin, k, exp, cout, se, hs, s) in enumerate(rows):
            dil = 1
            if i >= tail:
                cin = cin if i == tail else cin // r
                exp, cout, dil = exp if i == tail else exp // r, cout // r, 2 if dilated else 1
            layers.append(TBlockV3(cin, k, exp, cout, se, hs, s, dil, norm))
        cout = layers[-1].block[-1][0].out_channels
        layers.append(TConvNormAct(cout, 6 * cout, 1, norm=norm, act=tnn.Hardswish))
        self.features = tnn.Sequential(*layers)
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.classifier = tnn.Sequential(tnn.Linear(6 * cout, last // r), tnn.Hardswish(),
                                         tnn.Dropout(dropout), tnn.Linear(last // r, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


# --------------------------------------------------------------------------------------------
# helpers


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _realistic_stats(twin, x):
    """Random weights everywhere, then batch norm running statistics taken from one batch (the
    statistics a trained network has), so the eval-mode comparison exercises every buffer. The
    batch is 8 images: with 2 images at 32x32 the last layers' variances come from 2 values and
    can be near zero, which makes float32 itself (torch against torch in float64) the error."""
    g = torch.Generator().manual_seed(0)
    bns = [m for m in twin.modules() if isinstance(m, tnn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
            m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        for m in twin.modules():
            if isinstance(m, tnn.Linear):
                tnn.init.normal_(m.weight, 0, 0.05, generator=g)
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        momenta = [m.momentum for m in bns]
        for m in bns:
            m.momentum = 1.0
        twin.train()
        twin(x)
        for m, momentum in zip(bns, momenta):
            m.momentum = momentum
    twin.eval()


def _copy(model, twin):
    model.load_state_dict({k: gn.from_numpy(v.detach().numpy().copy())
                           for k, v in twin.state_dict().items()})


def _keys_and_shapes(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def _assert_close(out, ref):
    out = np.asarray(out.detach())
    ref = ref.detach().numpy()
    assert out.shape == ref.shape
    scale = max(1.0, float(np.abs(ref).max()))
    assert np.abs(out - ref).max() <= 1e-4 * scale, (np.abs(out - ref).max(), scale)


# name -> (ganglion builder, torch twin builder, input size: 64x64, CIFAR's 32x32)
_CASES = {
    "mobilenet_v1": (lambda: gm.mobilenet_v1(), lambda: TMobileNetV1(), 64),
    "mobilenet_v2": (lambda: gm.mobilenet_v2(), lambda: TMobileNetV2(), 64),
    "mobilenet_v2_cifar": (lambda: gm.mobilenet_v2_cifar(),
                           lambda: TMobileNetV2(num_classes=10, cifar=True), 32),
    "mobilenet_v3_small": (lambda: gm.mobilenet_v3_small(), lambda: TMobileNetV3("small"), 64),
    "mobilenet_v3_large": (lambda: gm.mobilenet_v3_large(), lambda: TMobileNetV3("large"), 64),
}


@pytest.fixture(scope="module")
def pairs():
    """Each model and its twin built once, the twin's weights copied into the model."""
    built = {}
    for name, (make, make_twin, size) in _CASES.items():
        torch.manual_seed(0)
        model, twin = make(), make_twin()
        x = torch.randn(8, 3, size, size, generator=torch.Generator().manual_seed(1))
        _realistic_stats(twin, x)
        built[name] = (model, twin, x[:2])
    return built


# --------------------------------------------------------------------------------------------
# parameter counts


@pytest.mark.parametrize("name, params", [
    ("mobilenet_v2", 3_504_872), ("mobilenet_v3_small", 2_542_856),
    ("mobilenet_v3_large", 5_483_032), ("mobilenet_v1", 4_231_976),
    ("mobilenet_v2_cifar", 2_236_682)])
def test_parameter_counts(pairs, name, params):
    model, twin, _ = pairs[name]
    assert _count(model) == params
    assert sum(p.numel() for p in twin.parameters()) == params


@pytest.mark.parametrize("alpha, millions", [(1.0, 4.2), (0.75, 2.6), (0.5, 1.3), (0.25, 0.5)])
def test_mobilenet_v1_width_multiplier_matches_the_paper(alpha, millions):
    # Howard et al. 2017, Table 6 (224x224, 1000 classes): parameters in millions.
    model = gm.mobilenet_v1(width_mult=alpha)
    assert round(_count(model) / 1e6, 1) == millions
    assert model.features[0][0].out_channels == max(int(32 * alpha), 8)
    assert model.classifier[1].in_features == int(1024 * alpha)
    # the depthwise convolutions have one 3x3 filter per channel
    dw = model.features[2].dw[0]
    assert dw.groups == dw.in_channels == dw.out_channels
    assert tuple(dw.weight.shape[1:]) == (1, 3, 3)


# --------------------------------------------------------------------------------------------
# state dicts and outputs against the twins


@pytest.mark.parametrize("name", list(_CASES))
def test_state_dict_keys_and_shapes_equal_the_torch_twin(pairs, name):
    model, twin, _ = pairs[name]
    assert _keys_and_shapes(model) == _keys_and_shapes(twin)


def test_torchvision_key_names(pairs):
    v2 = pairs["mobilenet_v2"][0].state_dict()
    v3 = pairs["mobilenet_v3_large"][0].state_dict()
    for key in ["features.0.0.weight", "features.0.1.running_mean", "features.1.conv.0.0.weight",
                "features.1.conv.1.weight", "features.2.conv.3.num_batches_tracked",
                "features.18.0.weight", "classifier.1.weight"]:
        assert key in v2, key
    assert len(v2) == 314
    for key in ["features.4.block.2.fc1.weight", "features.4.block.2.fc2.bias",
                "features.4.block.3.1.running_var", "features.16.0.weight", "classifier.0.weight",
                "classifier.3.bias"]:
        assert key in v3, key
    assert "features.1.dw.0.weight" in pairs["mobilenet_v1"][0].state_dict()


@pytest.mark.parametrize("name", list(_CASES))
def test_eval_outputs_equal_the_torch_twin_on_copied_weights(pairs, name):
    model, twin, x = pairs[name]
    _copy(model, twin)
    model.eval()
    with torch.no_grad():
        ref = twin(x)
    with gn.no_grad():
        out = model(gn.from_numpy(x.numpy()))
    _assert_close(out, ref)


def test_cifar_variant_keeps_a_4x4_map_at_32x32_and_the_imagenet_model_1x1(pairs):
    x = gn.randn(2, 3, 32, 32)
    with gn.no_grad():
        assert pairs["mobilenet_v2_cifar"][0].features(x).shape == (2, 1280, 4, 4)
        assert pairs["mobilenet_v2"][0].features(x).shape == (2, 1280, 1, 1)
    assert gm.mobilenet_v2(cifar=True, num_classes=100).classifier[1].out_features == 100


@pytest.mark.parametrize("make, make_twin, size", [
    (lambda: gm.mobilenet_v2(width_mult=0.5, num_classes=7),
     lambda: TMobileNetV2(num_classes=7, width_mult=0.5), 32),
    (lambda: gm.mobilenet_v3_small(reduced_tail=True, dilated=True, num_classes=5),
     lambda: TMobileNetV3("small", num_classes=5, reduced_tail=True, dilated=True), 32),
    (lambda: gm.mobilenet_v1(width_mult=0.25, num_classes=3),
     lambda: TMobileNetV1(num_classes=3, alpha=0.25), 32),
])
def test_options_match_the_twin(make, make_twin, size):
    torch.manual_seed(0)
    model, twin = make(), make_twin()
    assert _keys_and_shapes(model) == _keys_and_shapes(twin)
    x = torch.randn(8, 3, size, size)
    _realistic_stats(twin, x)
    x = x[:2]
    _copy(model, twin)
    model.eval()
    with torch.no_grad():
        ref = twin(x)
    with gn.no_grad():
        _assert_close(model(gn.from_numpy(x.numpy())), ref)


# --------------------------------------------------------------------------------------------
# training behaviour, on the smallest model


def test_train_mode_batch_norm_and_gradients_match_torch_and_dropout_only_in_training():
    torch.manual_seed(0)
    model, twin = gm.mobilenet_v3_small(dropout=0.0), TMobileNetV3("small", dropout=0.0)
    _copy(model, twin)
    x = torch.randn(4, 3, 32, 32)
    model.train()
    twin.train()
    out = model(gn.from_numpy(x.numpy()))
    ref = twin(x)
    _assert_close(out, ref)  # batch statistics in training mode
    # running statistics: momentum 0.01, unbiased variance, as PyTorch
    ours = model.state_dict()
    for k, v in twin.state_dict().items():
        if "running" in k or "num_batches" in k:
            np.testing.assert_allclose(np.asarray(ours[k]), v.numpy(), rtol=1e-4, atol=1e-6,
                                       err_msg=k)
    # gradients of every parameter equal PyTorch's
    w = torch.randn(ref.shape)
    (out * gn.from_numpy(w.numpy())).sum().backward()
    (ref * w).sum().backward()
    grads = dict(twin.named_parameters())
    for k, p in model.named_parameters():
        g = grads[k].grad.numpy()
        assert p.grad is not None, k
        np.testing.assert_allclose(np.asarray(p.grad), g, atol=1e-4 * max(1.0, np.abs(g).max()),
                                   rtol=1e-3, err_msg=k)

    # dropout: random in training, off in eval; eval uses (and leaves) the running statistics
    model = gm.mobilenet_v3_small(num_classes=10, dropout=0.5)
    xg = gn.randn(2, 3, 32, 32)
    model.train()
    with gn.no_grad():
        a, b = model(xg), model(xg)
    assert not np.allclose(np.asarray(a), np.asarray(b))
    model.eval()
    before = np.asarray(model.features[0][1].running_mean).copy()
    with gn.no_grad():
        a, b = model(xg), model(xg)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(model.features[0][1].running_mean), before)


def test_initialisation_follows_torchvision():
    model = gm.mobilenet_v1(width_mult=0.25)
    conv = model.features[13].pw[0].weight  # 1x1, fan_out = 256
    assert abs(float(np.asarray(conv).std()) - (2 / 256) ** 0.5) < 0.01
    bn = model.features[0][1]
    assert np.all(np.asarray(bn.weight) == 1) and np.all(np.asarray(bn.bias) == 0)
    fc = model.classifier[1]
    assert abs(float(np.asarray(fc.weight).std()) - 0.01) < 0.002
    assert np.all(np.asarray(fc.bias) == 0)
    v3 = gm.mobilenet_v3_small()
    bn = v3.features[0][1]
    assert (bn.eps, bn.momentum) == (0.001, 0.01)
    assert np.all(np.asarray(v3.features[1].block[1].fc1.bias) == 0)


# --------------------------------------------------------------------------------------------
# bad input, registry


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v2", "mobilenet_v3_small"])
def test_wrong_channel_count_names_the_model_and_the_expected_input(pairs, name):
    model = pairs[name][0]
    cls = type(model).__name__
    with pytest.raises(ShapeError, match=rf"{cls}: expected input of shape \(N, 3, H, W\).*"
                                         rf"got \(2, 1, 32, 32\)"):
        model(gn.randn(2, 1, 32, 32))
    with pytest.raises(ShapeError, match=rf"{cls}: .*got \(3, 32, 32\)"):
        model(gn.randn(3, 32, 32))


def test_weights_other_than_none_are_refused():
    for builder in (gm.mobilenet_v1, gm.mobilenet_v2, gm.mobilenet_v2_cifar,
                    gm.mobilenet_v3_small, gm.mobilenet_v3_large):
        with pytest.raises(ValueError, match="weights='IMAGENET1K_V1' is not supported"):
            builder(weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="should be 1 or 2"):
        gm.InvertedResidual(8, 8, 3, 6)


def test_registry_and_vision_namespace():
    names = {"mobilenet_v1", "mobilenet_v2", "mobilenet_v2_cifar", "mobilenet_v3_small",
             "mobilenet_v3_large"}
    assert names <= set(list_models())
    assert model_info("mobilenet_v2_cifar").input_shape == (3, 32, 32)
    assert model_info("mobilenet_v3_large").input_shape == (3, 224, 224)
    model = get_model("mobilenet_v3_small", num_classes=4)
    assert model.classifier[3].out_features == 4
    import ganglion.vision.models as vm
    assert vm.mobilenet_v2 is gm.mobilenet_v2 and vm.MobileNetV3 is gm.MobileNetV3
