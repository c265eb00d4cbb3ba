"""ganglion.models.googlenet (Inception v1) and ganglion.models.inception (Inception v3) against
PyTorch twins written here with torch.nn.

The twins are compact copies of torchvision's ``torchvision/models/googlenet.py`` and
``torchvision/models/inception.py`` (torchvision is not installed), including torchvision's order
of GoogLeNet's training outputs. The tests compare parameter counts with torchvision's numbers
(issue 14's table), the exact ``state_dict`` keys and shapes, eval-mode outputs on copied weights
at the smallest input sizes (GoogLeNet 15x15 and 32x32, Inception v3 75x75), a GoogLeNet training
step (outputs of all three heads, batch-norm statistics, gradients) and the Inception v3
auxiliary head on its 17x17 grid. Inception-v4 and Inception-ResNet-v2 have no torchvision
model: their twins are compact copies of timm's ``timm/models/inception_v4.py`` and
``inception_resnet_v2.py`` (huggingface/pytorch-image-models), whose parameter counts (42.68 M,
55.84 M) the tests check.
"""
from collections import namedtuple

import numpy as np
import pytest

import ganglion as gn
import ganglion.nn as gnn
from ganglion.core.errors import ShapeError
from ganglion.models import get_model, model_info
from ganglion.models.googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from ganglion.models.inception import (Inception3, InceptionA, InceptionAux, InceptionB,
                                       InceptionC, InceptionD, InceptionE, InceptionOutputs,
                                       inception_v3)

torch = pytest.importorskip("torch")
tnn = torch.nn
tF = torch.nn.functional


# ------------------------------------------------------------------ PyTorch twins (torch.nn)

class TConv(tnn.Module):
    def __init__(self, i, o, **kw):
        super().__init__()
        self.conv = tnn.Conv2d(i, o, bias=False, **kw)
        self.bn = tnn.BatchNorm2d(o, eps=0.001)

    def forward(self, x):
        return tF.relu(self.bn(self.conv(x)))


def _transform(x):
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    return torch.cat([x[:, c:c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)], 1)


class TInception(tnn.Module):
    def __init__(self, i, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = TConv(i, c1, kernel_size=1)
        self.branch2 = tnn.Sequential(TConv(i, c3r, kernel_size=1),
                                      TConv(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = tnn.Sequential(TConv(i, c5r, kernel_size=1),
                                      TConv(c5r, c5, kernel_size=3, padding=1))
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1, ceil_mode=True),
                                      TConv(i, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TGAux(tnn.Module):
    def __init__(self, i, n, dropout=0.7):
        super().__init__()
        self.conv = TConv(i, 128, kernel_size=1)
        self.fc1, self.fc2 = tnn.Linear(2048, 1024), tnn.Linear(1024, n)
        self.dropout = tnn.Dropout(dropout)

    def forward(self, x):
        x = torch.flatten(self.conv(tF.adaptive_avg_pool2d(x, (4, 4))), 1)
        return self.fc2(self.dropout(tF.relu(self.fc1(x))))


TGoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class TGoogLeNet(tnn.Module):
    def __init__(self, num_classes=1000, aux_logits=True, transform_input=False, dropout=0.2,
                 dropout_aux=0.7):
        super().__init__()
        self.aux_logits, self.transform_input = aux_logits, transform_input
        self.conv1 = TConv(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = tnn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = TConv(64, 64, kernel_size=1)
        self.conv3 = TConv(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = tnn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception3a = TInception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = TInception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = tnn.MaxPool2d(3, 2, ceil_mode=True)
        self.inception4a = TInception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = TInception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = TInception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = TInception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = TInception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = tnn.MaxPool2d(2, 2, ceil_mode=True)
        self.inception5a = TInception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = TInception(832, 384, 192, 384, 48, 128, 128)
        self.aux1 = TGAux(512, num_classes, dropout_aux) if aux_logits else None
        self.aux2 = TGAux(528, num_classes, dropout_aux) if aux_logits else None
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.dropout = tnn.Dropout(dropout)
        self.fc = tnn.Linear(1024, num_classes)

    def _forward(self, x):
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        x = self.inception4a(self.maxpool3(self.inception3b(self.inception3a(x))))
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.inception5b(self.inception5a(self.maxpool4(self.inception4e(x))))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return x, aux2, aux1

    def forward(self, x):
        if self.transform_input:
            x = _transform(x)
        x, aux1, aux2 = self._forward(x)          # torchvision's (swapped) unpacking
        if self.training and self.aux_logits:
            return TGoogLeNetOutputs(x, aux2, aux1)
        return x


class TA(tnn.Module):
    def __init__(self, i, pf):
        super().__init__()
        self.branch1x1 = TConv(i, 64, kernel_size=1)
        self.branch5x5_1 = TConv(i, 48, kernel_size=1)
        self.branch5x5_2 = TConv(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = TConv(i, 64, kernel_size=1)
        self.branch3x3dbl_2 = TConv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = TConv(96, 96, kernel_size=3, padding=1)
        self.branch_pool = TConv(i, pf, kernel_size=1)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(tF.avg_pool2d(x, 3, 1, 1))], 1)


class TB(tnn.Module):
    def __init__(self, i):
        super().__init__()
        self.branch3x3 = TConv(i, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = TConv(i, 64, kernel_size=1)
        self.branch3x3dbl_2 = TConv(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = TConv(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          tF.max_pool2d(x, 3, 2)], 1)


class TC(tnn.Module):
    def __init__(self, i, c7):
        super().__init__()
        self.branch1x1 = TConv(i, 192, kernel_size=1)
        self.branch7x7_1 = TConv(i, c7, kernel_size=1)
        self.branch7x7_2 = TConv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = TConv(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = TConv(i, c7, kernel_size=1)
        self.branch7x7dbl_2 = TConv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = TConv(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = TConv(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = TConv(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = TConv(i, 192, kernel_size=1)

    def forward(self, x):
        d = self.branch7x7dbl_3(self.branch7x7dbl_2(self.branch7x7dbl_1(x)))
        return torch.cat([self.branch1x1(x),
                          self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
                          self.branch7x7dbl_5(self.branch7x7dbl_4(d)),
                          self.branch_pool(tF.avg_pool2d(x, 3, 1, 1))], 1)


class TD(tnn.Module):
    def __init__(self, i):
        super().__init__()
        self.branch3x3_1 = TConv(i, 192, kernel_size=1)
        self.branch3x3_2 = TConv(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = TConv(i, 192, kernel_size=1)
        self.branch7x7x3_2 = TConv(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = TConv(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = TConv(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b = self.branch7x7x3_2(self.branch7x7x3_1(x))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)),
                          self.branch7x7x3_4(self.branch7x7x3_3(b)), tF.max_pool2d(x, 3, 2)], 1)


class TE(tnn.Module):
    def __init__(self, i):
        super().__init__()
        self.branch1x1 = TConv(i, 320, kernel_size=1)
        self.branch3x3_1 = TConv(i, 384, kernel_size=1)
        self.branch3x3_2a = TConv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = TConv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = TConv(i, 448, kernel_size=1)
        self.branch3x3dbl_2 = TConv(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = TConv(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = TConv(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = TConv(i, 192, kernel_size=1)

    def forward(self, x):
        b = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat([self.branch1x1(x),
                          torch.cat([self.branch3x3_2a(b), self.branch3x3_2b(b)], 1),
                          torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1),
                          self.branch_pool(tF.avg_pool2d(x, 3, 1, 1))], 1)


class TAux3(tnn.Module):
    def __init__(self, i, n):
        super().__init__()
        self.conv0 = TConv(i, 128, kernel_size=1)
        self.conv1 = TConv(128, 768, kernel_size=5)
        self.fc = tnn.Linear(768, n)

    def forward(self, x):
        x = self.conv1(self.conv0(tF.avg_pool2d(x, 5, 3)))
        return self.fc(torch.flatten(tF.adaptive_avg_pool2d(x, (1, 1)), 1))


class TInception3(tnn.Module):
    def __init__(self, num_classes=1000, aux_logits=True, dropout=0.5):
        super().__init__()
        self.aux_logits = aux_logits
        self.Conv2d_1a_3x3 = TConv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = TConv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = TConv(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = tnn.MaxPool2d(3, 2)
        self.Conv2d_3b_1x1 = TConv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = TConv(80, 192, kernel_size=3)
        self.maxpool2 = tnn.MaxPool2d(3, 2)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = TA(192, 32), TA(256, 64), TA(288, 64)
        self.Mixed_6a = TB(288)
        self.Mixed_6b, self.Mixed_6c = TC(768, 128), TC(768, 160)
        self.Mixed_6d, self.Mixed_6e = TC(768, 160), TC(768, 192)
        self.AuxLogits = TAux3(768, num_classes) if aux_logits else None
        self.Mixed_7a, self.Mixed_7b, self.Mixed_7c = TD(768), TE(1280), TE(2048)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.dropout = tnn.Dropout(dropout)
        self.fc = tnn.Linear(2048, num_classes)

    def forward(self, x):
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(self.maxpool1(x))))
        x = self.Mixed_6a(self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x))))
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        x = self.fc(torch.flatten(self.dropout(self.avgpool(x)), 1))
        return (x, aux) if self.training and self.aux_logits else x


# ------------------------------------------------------------------ helpers and fixtures

def _count(model):
    return sum(p.numel() for p in model.parameters())


def _randomize(twin, seed):
    """Weights that keep activations O(1) through the depth (torchvision's std-0.01 init makes
    the logits almost constant): He-normal convolutions, random batch-norm affine parameters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in twin.modules():
            if isinstance(m, tnn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, tnn.BatchNorm2d):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))


def _calibrate(twin, x):
    """Running statistics equal to the statistics of ``x`` (cumulative averaging over one batch),
    so eval-mode batch norm sees realistic, non-trivial running means and variances."""
    momenta = {}
    for m in twin.modules():
        if isinstance(m, tnn.BatchNorm2d):
            momenta[m] = m.momentum
            m.momentum = None
            m.reset_running_stats()
    twin.train()
    aux = getattr(twin, "AuxLogits", None)
    with torch.no_grad():
        if aux is not None:                  # Inception v3's head needs 299x299 images:
            twin.AuxLogits = None            # calibrate it on its own 17x17 grid
            aux(torch.from_numpy(_image((4, 768, 17, 17), 99)))
        twin(x)
    if aux is not None:
        twin.AuxLogits = aux
    for m, momentum in momenta.items():
        m.momentum = momentum
    twin.eval()


def _copy(model, twin):
    model.load_state_dict({k: gn.from_numpy(v.detach().numpy().copy())
                           for k, v in twin.state_dict().items()})


def _keys_and_shapes(sd):
    return [(k, tuple(v.shape)) for k, v in sd.items()]


def _close(ours, theirs, rtol=1e-4):
    ours = ours.detach().numpy() if isinstance(ours, gn.Tensor) else ours
    theirs = theirs.detach().numpy()
    scale = max(float(np.abs(theirs).max()), 1e-6)
    assert ours.shape == theirs.shape
    err = float(np.abs(ours - theirs).max())
    assert err <= rtol * scale, f"max abs error {err:.3g} against output scale {scale:.3g}"


def _image(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.fixture(scope="module")
def googlenet_pair():
    torch.manual_seed(0)
    twin = TGoogLeNet(aux_logits=True)
    _randomize(twin, 1)
    _calibrate(twin, torch.from_numpy(_image((4, 3, 32, 32), 2)))
    model = GoogLeNet(aux_logits=True)
    _copy(model, twin)
    return model.eval(), twin


@pytest.fixture(scope="module")
def inception_pair():
    torch.manual_seed(0)
    twin = TInception3(aux_logits=True)
    _randomize(twin, 3)
    _calibrate(twin, torch.from_numpy(_image((2, 3, 75, 75), 4)))
    model = Inception3(aux_logits=True, init_weights=False)
    _copy(model, twin)
    return model.eval(), twin


# ------------------------------------------------------------------ parameter counts and keys

@pytest.mark.parametrize("builder, kwargs, params", [
    (googlenet, {}, 6_624_904), (googlenet, {"aux_logits": True}, 13_004_888),
    (inception_v3, {}, 23_834_568)])
def test_parameter_counts_are_torchvisions(builder, kwargs, params):
    assert _count(builder(init_weights=False, **kwargs)) == params


def test_inception_v3_with_its_auxiliary_head_counts_27_161_264(inception_pair):
    model, twin = inception_pair
    assert _count(model) == _count(twin) == 27_161_264


def test_state_dict_keys_and_shapes_are_torchvisions(googlenet_pair, inception_pair):
    for model, twin in (googlenet_pair, inception_pair):
        assert _keys_and_shapes(model.state_dict()) == _keys_and_shapes(twin.state_dict())
    # without the auxiliary heads: the same list less the heads' entries, in the same order
    for builder, twin, heads in ((googlenet, TGoogLeNet(aux_logits=False), ("aux1.", "aux2.")),
                                 (inception_v3, None, ("AuxLogits.",))):
        ours = _keys_and_shapes(builder(init_weights=False).state_dict())
        full = _keys_and_shapes((googlenet_pair if builder is googlenet else inception_pair)[0]
                                .state_dict())
        assert ours == [(k, s) for k, s in full if not k.startswith(heads)]
        if twin is not None:
            assert ours == _keys_and_shapes(twin.state_dict())


# ------------------------------------------------------------------ outputs on copied weights

@pytest.mark.parametrize("size", [15, 32])
def test_googlenet_eval_outputs_equal_pytorch(googlenet_pair, size):
    # 15x15 is the smallest input: inception5b then sees 1x1 maps through ceil-mode pooling
    model, twin = googlenet_pair
    x = _image((2, 3, size, size), 10 + size)
    with gn.no_grad():
        out = model(gn.from_numpy(x))
    with torch.no_grad():
        ref = twin(torch.from_numpy(x))
    assert isinstance(out, gn.Tensor) and out.shape == (2, 1000)
    _close(out, ref)


def test_googlenet_transform_input_equals_pytorch(googlenet_pair):
    model, twin = googlenet_pair
    x = _image((2, 3, 32, 32), 5)
    model.transform_input = twin.transform_input = True
    try:
        with gn.no_grad():
            out = model(gn.from_numpy(x))
        with torch.no_grad():
            ref = twin(torch.from_numpy(x))
    finally:
        model.transform_input = twin.transform_input = False
    _close(out, ref)


def test_inception_v3_eval_outputs_equal_pytorch_at_75x75(inception_pair):
    model, twin = inception_pair
    x = _image((2, 3, 75, 75), 6)
    with gn.no_grad():
        out = model(gn.from_numpy(x))
    with torch.no_grad():
        ref = twin(torch.from_numpy(x))
    assert isinstance(out, gn.Tensor) and out.shape == (2, 1000)
    _close(out, ref)


def test_inception_v3_auxiliary_head_equals_pytorch_on_the_17x17_grid(inception_pair):
    model, twin = inception_pair
    x = _image((2, 768, 17, 17), 7)
    with gn.no_grad():
        out = model.AuxLogits(gn.from_numpy(x))
    with torch.no_grad():
        ref = twin.AuxLogits(torch.from_numpy(x))
    _close(out, ref)


# ------------------------------------------------------------------ training mode

def test_googlenet_training_step_equals_pytorch():
    """Training mode with auxiliary heads and dropout off: torchvision's GoogLeNetOutputs (its
    field order), batch statistics, running-statistics updates and gradients.

    Batch norm on the statistics of a small batch at 2x2 maps is ill-conditioned in float32
    (PyTorch's own float32 gradients are up to 1e-3 of their scale away from float64 here, and
    1e-2 at batch 2), so the reference is the twin in float64, the batch is 4 and the loss a
    random weighting of the three heads' logits (a plain sum would be cancelled by batch norm)."""
    torch.manual_seed(1)
    twin = TGoogLeNet(aux_logits=True, dropout=0.0, dropout_aux=0.0)
    _randomize(twin, 8)
    model = GoogLeNet(aux_logits=True, dropout=0.0, dropout_aux=0.0, init_weights=False)
    _copy(model, twin)
    twin = twin.double()
    model.train()
    twin.train()
    x = _image((4, 3, 32, 32), 9)
    out = model(gn.from_numpy(x))
    ref = twin(torch.from_numpy(x).double())
    assert type(out) is GoogLeNetOutputs and out._fields == ref._fields
    for ours, theirs in zip(out, ref):
        assert ours.shape == (4, 1000)
        _close(ours, theirs)
    weights = [_image((4, 1000), 20 + i) for i in range(3)]
    sum((o * gn.from_numpy(w)).sum() for o, w in zip(out, weights)).backward()
    sum((r * torch.from_numpy(w).double()).sum() for r, w in zip(ref, weights)).backward()
    ours, theirs = dict(model.named_parameters()), dict(twin.named_parameters())
    for name in ("conv1.conv.weight", "inception4a.branch3.1.bn.weight", "aux1.fc1.weight",
                 "aux2.conv.conv.weight", "inception5b.branch4.1.conv.weight", "fc.bias"):
        _close(ours[name].grad, theirs[name].grad, rtol=1e-3)
    buffers = dict(model.named_buffers())
    for name, ref_buffer in twin.named_buffers():
        if "running" in name:
            _close(buffers[name], ref_buffer)


def test_googlenet_dropout_in_training_only_and_batch_norm_modes():
    gn.manual_seed(0)
    model = googlenet(num_classes=10, dropout=0.5)
    x = gn.from_numpy(_image((4, 3, 15, 15), 11))
    model.train()
    with gn.no_grad():
        a, b = model(x), model(x)
    assert isinstance(a, gn.Tensor)          # aux_logits=False: logits in training mode too
    assert not np.allclose(a.numpy(), b.numpy())
    bn = model.conv1.bn
    assert int(bn.num_batches_tracked) == 2 and bn.running_mean.abs().sum().item() > 0
    model.eval()
    stats = bn.running_mean.numpy().copy()
    with gn.no_grad():
        c, d = model(x), model(x)
    np.testing.assert_array_equal(c.numpy(), d.numpy())
    np.testing.assert_array_equal(bn.running_mean.numpy(), stats)
    # with auxiliary heads: the named tuple in training mode, the logits in eval mode
    aux_model = googlenet(num_classes=10, aux_logits=True)
    with gn.no_grad():
        assert isinstance(aux_model.eval()(x), gn.Tensor)
        outs = aux_model.train()(x)
    assert type(outs) is GoogLeNetOutputs and [o.shape for o in outs] == [(4, 10)] * 3


def test_inception_v3_training_mode_outputs_and_sizes():
    gn.manual_seed(0)
    model = inception_v3(num_classes=5)
    x = gn.from_numpy(_image((2, 3, 75, 75), 12))
    with gn.no_grad():
        out = model.train()(x)
    assert isinstance(out, gn.Tensor) and out.shape == (2, 5)
    aux_model = Inception3(num_classes=5, aux_logits=True)
    with gn.no_grad():
        assert aux_model.eval()(x).shape == (2, 5)
    with pytest.raises(ShapeError, match=r"Inception3: input of spatial size 75x75 is smaller "
                                         r"than the 299x299 minimum for the auxiliary head"):
        aux_model.train()(x)
    assert InceptionOutputs(1, 2)._fields == ("logits", "aux_logits")


# ------------------------------------------------------------------ the building blocks

def test_blocks_output_channels_and_factorized_kernels():
    x = gn.randn(1, 64, 9, 9)
    with gn.no_grad():
        assert InceptionA(64, pool_features=32)(x).shape == (1, 256, 9, 9)
        assert InceptionB(64)(x).shape == (1, 480 + 64, 4, 4)
        assert InceptionC(64, channels_7x7=16)(x).shape == (1, 768, 9, 9)
        assert InceptionD(64)(x).shape == (1, 512 + 64, 4, 4)
        assert InceptionE(64)(x).shape == (1, 2048, 9, 9)
        assert InceptionAux(64, 7)(gn.randn(2, 64, 17, 17)).shape == (2, 7)
    c = InceptionC(64, channels_7x7=16)
    assert c.branch7x7_2.conv.weight.shape == (16, 16, 1, 7)
    assert c.branch7x7_3.conv.weight.shape == (192, 16, 7, 1)
    assert c.branch7x7_2.conv.padding == (0, 3) and c.branch7x7_3.conv.padding == (3, 0)
    # the factorizations' savings, per input/output channel pair: 1x7 + 7x1 against 7x7, two
    # 3x3 against one 5x5, 1x3 + 3x1 against 3x3
    e = InceptionE(64)
    assert (e.branch3x3_2a.conv.weight[0, 0].numel() + e.branch3x3_2b.conv.weight[0, 0].numel()
            ) / 9 == pytest.approx(2 / 3)
    a = InceptionA(64, 32)
    assert (a.branch3x3dbl_2.conv.weight[0, 0].numel() * 2
            / a.branch5x5_2.conv.weight[0, 0].numel()) == pytest.approx(0.72)


def test_initialisation_follows_torchvision():
    gn.manual_seed(0)
    g = googlenet(aux_logits=True)
    w = g.inception4e.branch2[1].conv.weight.detach().numpy()
    assert abs(w.std() - 0.01) < 0.001 and abs(w.mean()) < 0.001
    assert float(g.conv1.bn.weight.min()) == 1.0 and float(g.conv1.bn.bias.abs().max()) == 0.0
    m = Inception3(aux_logits=True)
    assert abs(m.Mixed_6b.branch7x7_2.conv.weight.detach().numpy().std() - 0.1) < 0.01
    assert abs(m.AuxLogits.fc.weight.detach().numpy().std() - 0.001) < 0.0002
    # torchvision's stddev hint sits on the BasicConv2d, so its Conv2d gets the default 0.1
    assert abs(m.AuxLogits.conv1.conv.weight.detach().numpy().std() - 0.1) < 0.01


# ------------------------------------------------------------------ builders, registry, errors

def test_builders_refuse_weights_and_are_registered():
    for name, builder in (("googlenet", googlenet), ("inception_v3", inception_v3)):
        with pytest.raises(ValueError, match=f"{name}: weights='IMAGENET1K_V1' is not available"):
            builder(weights="IMAGENET1K_V1")
        assert model_info(name).builder is builder
    assert model_info("googlenet").input_shape == (3, 224, 224)
    assert model_info("inception_v3").input_shape == (3, 299, 299)
    assert _count(get_model("googlenet", num_classes=10, progress=False)) == \
        6_624_904 - 1000 * 1025 + 10 * 1025
    import ganglion.vision.models as vm
    assert vm.googlenet is googlenet and vm.inception_v3 is inception_v3
    assert vm.GoogLeNet is GoogLeNet and vm.Inception3 is Inception3


def test_bad_inputs_name_the_model_layer_and_shapes(googlenet_pair, inception_pair):
    with pytest.raises(ShapeError, match=r"GoogLeNet: expected input of shape \(N, 3, H, W\) "
                                         r"\(its first layer conv1 .*got \(2, 1, 32, 32\)"):
        googlenet_pair[0](gn.randn(2, 1, 32, 32))
    with pytest.raises(ShapeError, match=r"Inception3: expected input of shape \(N, 3, H, W\) "
                                         r"\(its first layer Conv2d_1a_3x3 .*got \(3, 75, 75\)"):
        inception_pair[0](gn.randn(3, 75, 75))
    with pytest.raises(ShapeError, match="Inception3: input of spatial size 74x80 is smaller "
                                         "than the 75x75 minimum"):
        inception_pair[0](gn.randn(1, 3, 74, 80))
    with pytest.raises(ShapeError, match="GoogLeNet: input of spatial size 14x14 is smaller "
                                         "than the 15x15 minimum"):
        googlenet_pair[0](gn.randn(1, 3, 14, 14))
    # the minimum sizes are PyTorch's: one pixel less fails there too
    with torch.no_grad():
        with pytest.raises(RuntimeError):
            inception_pair[1](torch.zeros(1, 3, 74, 74))
        with pytest.raises(RuntimeError):
            googlenet_pair[1](torch.zeros(1, 3, 14, 14))


@pytest.mark.parametrize("fn, size, kernel, stride, padding", [
    ("max_pool2d", 2, 3, 2, 0), ("avg_pool2d", 2, 3, 2, 0), ("max_pool2d", 1, 2, 2, 0),
    ("avg_pool2d", 2, 3, 3, 1), ("max_pool2d", 5, 2, 2, 1)])
def test_ceil_mode_pooling_keeps_a_window_longer_than_the_input(fn, size, kernel, stride, padding):
    # GoogLeNet at 15x15 max-pools 2x2 maps with 3x3 windows (ceil_mode=True): PyTorch gives one
    # output per axis; ganglion's pool_output_size returned 0 there before this family's fix
    x = _image((2, 3, size, size), 30 + size)
    ours = gn.from_numpy(x).requires_grad_()
    theirs = torch.from_numpy(x).requires_grad_()
    out = getattr(gnn.functional, fn)(ours, kernel, stride, padding, ceil_mode=True)
    ref = getattr(tF, fn)(theirs, kernel, stride, padding, ceil_mode=True)
    _close(out, ref, rtol=1e-6)
    weights = _image(tuple(ref.shape), 40)
    (out * gn.from_numpy(weights)).sum().backward()
    (ref * torch.from_numpy(weights)).sum().backward()
    _close(ours.grad, theirs.grad, rtol=1e-6)
    with pytest.raises(ShapeError):
        getattr(gnn.functional, fn)(gn.zeros(1, 1, 1, 1), 3, 2, ceil_mode=True)


# ------------------------------------------------------------------ Inception-v4 (timm's layout)

def _tc(i, o, k, s=1, p=0):
    return TConv(i, o, kernel_size=k, stride=s, padding=p)


def _tpool(i, o):
    return tnn.Sequential(tnn.AvgPool2d(3, 1, 1, count_include_pad=False), _tc(i, o, 1))


class TCat(tnn.Module):
    """A block whose named branches run in parallel and are concatenated in order."""

    def __init__(self, **branches):
        super().__init__()
        for name, module in branches.items():
            setattr(self, name, module)

    def forward(self, x):
        return torch.cat([m(x) for m in self.children()], 1)


class TV4C(tnn.Module):
    def __init__(self):
        super().__init__()
        self.branch0 = _tc(1536, 256, 1)
        self.branch1_0 = _tc(1536, 384, 1)
        self.branch1_1a = _tc(384, 256, (1, 3), p=(0, 1))
        self.branch1_1b = _tc(384, 256, (3, 1), p=(1, 0))
        self.branch2_0 = _tc(1536, 384, 1)
        self.branch2_1 = _tc(384, 448, (3, 1), p=(1, 0))
        self.branch2_2 = _tc(448, 512, (1, 3), p=(0, 1))
        self.branch2_3a = _tc(512, 256, (1, 3), p=(0, 1))
        self.branch2_3b = _tc(512, 256, (3, 1), p=(1, 0))
        self.branch3 = _tpool(1536, 256)

    def forward(self, x):
        b1 = self.branch1_0(x)
        b2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        return torch.cat([self.branch0(x), self.branch1_1a(b1), self.branch1_1b(b1),
                          self.branch2_3a(b2), self.branch2_3b(b2), self.branch3(x)], 1)


def _tv4():
    seq = tnn.Sequential
    a = lambda: TCat(branch0=_tc(384, 96, 1),  # noqa: E731
                     branch1=seq(_tc(384, 64, 1), _tc(64, 96, 3, p=1)),
                     branch2=seq(_tc(384, 64, 1), _tc(64, 96, 3, p=1), _tc(96, 96, 3, p=1)),
                     branch3=_tpool(384, 96))
    b = lambda: TCat(branch0=_tc(1024, 384, 1),  # noqa: E731
                     branch1=seq(_tc(1024, 192, 1), _tc(192, 224, (1, 7), p=(0, 3)),
                                 _tc(224, 256, (7, 1), p=(3, 0))),
                     branch2=seq(_tc(1024, 192, 1), _tc(192, 192, (7, 1), p=(3, 0)),
                                 _tc(192, 224, (1, 7), p=(0, 3)), _tc(224, 224, (7, 1), p=(3, 0)),
                                 _tc(224, 256, (1, 7), p=(0, 3))),
                     branch3=_tpool(1024, 128))
    features = seq(
        _tc(3, 32, 3, 2), _tc(32, 32, 3), _tc(32, 64, 3, p=1),
        TCat(maxpool=tnn.MaxPool2d(3, 2), conv=_tc(64, 96, 3, 2)),
        TCat(branch0=seq(_tc(160, 64, 1), _tc(64, 96, 3)),
             branch1=seq(_tc(160, 64, 1), _tc(64, 64, (1, 7), p=(0, 3)),
                         _tc(64, 64, (7, 1), p=(3, 0)), _tc(64, 96, 3))),
        TCat(conv=_tc(192, 192, 3, 2), maxpool=tnn.MaxPool2d(3, 2)),
        *[a() for _ in range(4)],
        TCat(branch0=_tc(384, 384, 3, 2),
             branch1=seq(_tc(384, 192, 1), _tc(192, 224, 3, p=1), _tc(224, 256, 3, 2)),
             branch2=tnn.MaxPool2d(3, 2)),
        *[b() for _ in range(7)],
        TCat(branch0=seq(_tc(1024, 192, 1), _tc(192, 192, 3, 2)),
             branch1=seq(_tc(1024, 256, 1), _tc(256, 256, (1, 7), p=(0, 3)),
                         _tc(256, 320, (7, 1), p=(3, 0)), _tc(320, 320, 3, 2)),
             branch2=tnn.MaxPool2d(3, 2)),
        *[TV4C() for _ in range(3)])
    model = seq()
    model.features = features
    model.global_pool = seq(tnn.AdaptiveAvgPool2d(1), tnn.Flatten())
    model.last_linear = tnn.Linear(1536, 1000)
    return model


def test_inception_v4_matches_timms_layout_and_pytorch_outputs():
    from ganglion.models.inception_v4 import InceptionV4, inception_v4
    torch.manual_seed(2)
    twin = _tv4()
    _randomize(twin, 5)
    _calibrate(twin, torch.from_numpy(_image((2, 3, 75, 75), 13)))
    model = inception_v4()
    # 42,679,816: timm's inception_v4 (its results tables list 42.68 M parameters)
    assert _count(model) == _count(twin) == 42_679_816
    assert _keys_and_shapes(model.state_dict()) == _keys_and_shapes(twin.state_dict())
    _copy(model, twin)
    x = _image((2, 3, 75, 75), 14)
    with gn.no_grad():
        out = model.eval()(gn.from_numpy(x))
    with torch.no_grad():
        ref = twin(torch.from_numpy(x))
    _close(out, ref)
    assert isinstance(model, InceptionV4) and model_info("inception_v4").builder is inception_v4
    with pytest.raises(ShapeError, match=r"InceptionV4: expected input of shape \(N, 3, H, W\) "
                                         r"\(its first layer features.0 "):
        model(gn.randn(1, 4, 75, 75))
    with pytest.raises(ValueError, match="inception_v4: weights="):
        inception_v4(weights="tf_in1k")


class TRes(tnn.Module):
    """timm's Block35 / Block17 / Block8: relu(x + scale * conv2d(cat(branches)))."""

    def __init__(self, scale, branches, conv2d, relu=True):
        super().__init__()
        self.scale = scale
        for i, branch in enumerate(branches):
            setattr(self, f"branch{i}", branch)
        self.n = len(branches)
        self.conv2d = conv2d
        self.relu = tnn.ReLU() if relu else None

    def forward(self, x):
        out = self.conv2d(torch.cat([getattr(self, f"branch{i}")(x) for i in range(self.n)], 1))
        out = out * self.scale + x
        return out if self.relu is None else self.relu(out)


class TIRv2(tnn.Module):
    def __init__(self):
        super().__init__()
        seq = tnn.Sequential
        self.conv2d_1a, self.conv2d_2a = _tc(3, 32, 3, 2), _tc(32, 32, 3)
        self.conv2d_2b = _tc(32, 64, 3, p=1)
        self.maxpool_3a = tnn.MaxPool2d(3, 2)
        self.conv2d_3b, self.conv2d_4a = _tc(64, 80, 1), _tc(80, 192, 3)
        self.maxpool_5a = tnn.MaxPool2d(3, 2)
        self.mixed_5b = TCat(branch0=_tc(192, 96, 1),
                             branch1=seq(_tc(192, 48, 1), _tc(48, 64, 5, p=2)),
                             branch2=seq(_tc(192, 64, 1), _tc(64, 96, 3, p=1), _tc(96, 96, 3, p=1)),
                             branch3=_tpool(192, 64))
        self.repeat = seq(*[TRes(0.17, [_tc(320, 32, 1), seq(_tc(320, 32, 1), _tc(32, 32, 3, p=1)),
                                        seq(_tc(320, 32, 1), _tc(32, 48, 3, p=1),
                                            _tc(48, 64, 3, p=1))], tnn.Conv2d(128, 320, 1))
                            for _ in range(10)])
        self.mixed_6a = TCat(branch0=_tc(320, 384, 3, 2),
                             branch1=seq(_tc(320, 256, 1), _tc(256, 256, 3, p=1),
                                         _tc(256, 384, 3, 2)),
                             branch2=tnn.MaxPool2d(3, 2))
        self.repeat_1 = seq(*[TRes(0.10, [_tc(1088, 192, 1),
                                          seq(_tc(1088, 128, 1), _tc(128, 160, (1, 7), p=(0, 3)),
                                              _tc(160, 192, (7, 1), p=(3, 0)))],
                                   tnn.Conv2d(384, 1088, 1)) for _ in range(20)])
        self.mixed_7a = TCat(branch0=seq(_tc(1088, 256, 1), _tc(256, 384, 3, 2)),
                             branch1=seq(_tc(1088, 256, 1), _tc(256, 288, 3, 2)),
                             branch2=seq(_tc(1088, 256, 1), _tc(256, 288, 3, p=1),
                                         _tc(288, 320, 3, 2)),
                             branch3=tnn.MaxPool2d(3, 2))

        def block8(scale, relu):
            return TRes(scale, [_tc(2080, 192, 1),
                                seq(_tc(2080, 192, 1), _tc(192, 224, (1, 3), p=(0, 1)),
                                    _tc(224, 256, (3, 1), p=(1, 0)))],
                        tnn.Conv2d(448, 2080, 1), relu)
        self.repeat_2 = seq(*[block8(0.20, True) for _ in range(9)])
        self.block8 = block8(1.0, False)
        self.conv2d_7b = _tc(2080, 1536, 1)
        self.classif = tnn.Linear(1536, 1000)

    def forward(self, x):
        for name in ("conv2d_1a", "conv2d_2a", "conv2d_2b", "maxpool_3a", "conv2d_3b",
                     "conv2d_4a", "maxpool_5a", "mixed_5b", "repeat", "mixed_6a", "repeat_1",
                     "mixed_7a", "repeat_2", "block8", "conv2d_7b"):
            x = getattr(self, name)(x)
        return self.classif(torch.flatten(tF.adaptive_avg_pool2d(x, 1), 1))


def test_inception_resnet_v2_matches_timms_layout_and_pytorch_outputs():
    from ganglion.models.inception_v4 import InceptionResnetV2, inception_resnet_v2
    torch.manual_seed(3)
    twin = TIRv2()
    _randomize(twin, 6)
    _calibrate(twin, torch.from_numpy(_image((2, 3, 75, 75), 15)))
    model = inception_resnet_v2()
    # 55,843,464: timm's inception_resnet_v2 (its results tables list 55.84 M parameters)
    assert _count(model) == _count(twin) == 55_843_464
    assert _keys_and_shapes(model.state_dict()) == _keys_and_shapes(twin.state_dict())
    _copy(model, twin)
    x = _image((2, 3, 75, 75), 16)
    with gn.no_grad():
        out = model.eval()(gn.from_numpy(x))
    with torch.no_grad():
        ref = twin(torch.from_numpy(x))
    _close(out, ref)
    assert isinstance(model, InceptionResnetV2)
    assert model_info("inception_resnet_v2").builder is inception_resnet_v2
    with pytest.raises(ShapeError, match="InceptionResnetV2: input of spatial size 60x75"):
        model(gn.randn(1, 3, 60, 75))
