"""ganglion.models.resnet against PyTorch twins written here with torch.nn.

The twins are compact copies of torchvision's ``torchvision/models/resnet.py`` (torchvision is
not installed) and of Yerlan Idelbayev's CIFAR ResNet
(https://github.com/akamaster/pytorch_resnet_cifar10, ``resnet.py``). The tests compare
parameter counts with torchvision's and that implementation's numbers, the exact ``state_dict``
keys and shapes, and outputs (and, for resnet20, a training step's gradients and batch-norm
statistics) on copied weights.
"""
import numpy as np
import pytest

import ganglion as gn
import ganglion.nn as gnn
import ganglion.models as zoo
from ganglion.core.errors import ShapeError
from ganglion.models import get_model, list_models

torch = pytest.importorskip("torch")
tnn = torch.nn
tF = torch.nn.functional


# ------------------------------------------------------------------ PyTorch twins (torch.nn)

def _c3(i, o, stride=1, groups=1, dilation=1):
    return tnn.Conv2d(i, o, 3, stride, padding=dilation, groups=groups, bias=False,
                      dilation=dilation)


class TBasic(tnn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1):
        super().__init__()
        self.conv1, self.bn1 = _c3(inplanes, planes, stride), tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2, self.bn2 = _c3(planes, planes), tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TBottleneck(tnn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1, self.bn1 = tnn.Conv2d(inplanes, width, 1, bias=False), tnn.BatchNorm2d(width)
        self.conv2 = _c3(width, width, stride, groups, dilation)
        self.bn2 = tnn.BatchNorm2d(width)
        self.conv3 = tnn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000, groups=1, width_per_group=64,
                 replace_stride_with_dilation=(False, False, False)):
        super().__init__()
        self.inplanes, self.dilation, self.groups, self.base_width = 64, 1, groups, width_per_group
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2, replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], 2, replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], 2, replace_stride_with_dilation[2])
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        downsample, previous_dilation = None, self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = tnn.Sequential(
                tnn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                tnn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                         dilation=self.dilation) for _ in range(1, blocks)]
        return tnn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TLambda(tnn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class TCifarBlock(tnn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.shortcut = tnn.Sequential()
        if stride != 1 or in_planes != planes:   # option A, as Idelbayev's LambdaLayer
            self.shortcut = TLambda(lambda x: tF.pad(x[:, :, ::2, ::2],
                                                     (0, 0, 0, 0, planes // 4, planes // 4)))

    def forward(self, x):
        out = self.bn2(self.conv2(tF.relu(self.bn1(self.conv1(x)))))
        return tF.relu(out + self.shortcut(x))


class TCifarResNet(tnn.Module):
    def __init__(self, n, num_classes=10):
        super().__init__()
        self.in_planes = 16
        self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(16)
        self.layer1 = self._make_layer(16, n, 1)
        self.layer2 = self._make_layer(32, n, 2)
        self.layer3 = self._make_layer(64, n, 2)
        self.linear = tnn.Linear(64, num_classes)

    def _make_layer(self, planes, n, stride):
        layers = []
        for s in [stride] + [1] * (n - 1):
            layers.append(TCifarBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return tnn.Sequential(*layers)

    def forward(self, x):
        out = tF.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = tF.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


_TWINS = {
    "resnet18": lambda: TResNet(TBasic, [2, 2, 2, 2]),
    "resnet34": lambda: TResNet(TBasic, [3, 4, 6, 3]),
    "resnet50": lambda: TResNet(TBottleneck, [3, 4, 6, 3]),
    "resnet101": lambda: TResNet(TBottleneck, [3, 4, 23, 3]),
    "resnet152": lambda: TResNet(TBottleneck, [3, 8, 36, 3]),
    "resnext50_32x4d": lambda: TResNet(TBottleneck, [3, 4, 6, 3], groups=32, width_per_group=4),
    "resnet20": lambda: TCifarResNet(3),
    "resnet32": lambda: TCifarResNet(5),
    "resnet44": lambda: TCifarResNet(7),
    "resnet56": lambda: TCifarResNet(9),
    "resnet110": lambda: TCifarResNet(18),
}

# torchvision 0.28's counts (1000 classes); the CIFAR ones as Idelbayev's implementation reports
# them (10 classes).
PARAMS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "resnext50_32x4d": 25_028_904,
    "resnet20": 269_722, "resnet32": 464_154, "resnet44": 658_586, "resnet56": 853_018,
    "resnet110": 1_727_962,
}
BIG_PARAMS = {"wide_resnet50_2": 68_883_240, "resnext101_32x8d": 88_791_336,
              "resnext101_64x4d": 83_455_272,
              "wide_resnet101_2": 126_886_696}

_cache = {}


def _pair(name):
    """(ganglion model, torch twin) of ``name``, built once per session."""
    if name not in _cache:
        torch.manual_seed(0)
        _cache[name] = (get_model(name), _TWINS[name]())
    return _cache[name]


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _randomise_bn(twin, seed=0):
    """Non-trivial batch-norm affine parameters and running statistics in the twin, so that an
    eval-mode comparison exercises them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in twin.modules():
            if isinstance(m, tnn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.1 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))


def _copy(model, twin):
    model.load_state_dict({k: gn.from_numpy(v.detach().numpy().copy())
                           for k, v in twin.state_dict().items()})


def _assert_close(ours, theirs, rtol=1e-4):
    theirs = theirs.detach().numpy()
    ours = ours.detach().numpy() if hasattr(ours, "detach") else np.asarray(ours)
    scale = max(float(np.abs(theirs).max()), 1.0)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=rtol * scale)


# ------------------------------------------------------------------ counts, keys, shapes

@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count_and_state_dict_keys_match_the_twin(name):
    model, twin = _pair(name)
    assert _count(model) == PARAMS[name] == _count(twin)
    ours, theirs = model.state_dict(), twin.state_dict()
    assert list(ours) == list(theirs)
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in theirs.values()]


def test_parameter_counts_of_the_largest_variants(monkeypatch):
    """Counts only (their keys follow resnet50's pattern, tested above). A count depends on the
    shapes alone, so the random initialisers (most of the build time of 400 M numbers) are
    skipped here; the initialisation itself is tested below."""
    for fn in ("kaiming_normal_", "kaiming_uniform_", "uniform_"):
        monkeypatch.setattr(gnn.init, fn, lambda tensor, *args, **kwargs: tensor)
    for name, expected in BIG_PARAMS.items():
        assert _count(get_model(name)) == expected, name


def test_registered_and_exported():
    names = set(list_models())
    import ganglion.vision.models as tvm
    for name in list(PARAMS) + list(BIG_PARAMS):
        assert name in names and name in zoo.__all__
        assert getattr(tvm, name) is getattr(zoo, name)
    assert zoo.model_info("resnet20").input_shape == (3, 32, 32)
    assert zoo.model_info("resnet50").input_shape == (3, 224, 224)


# ------------------------------------------------------------------ outputs on copied weights

@pytest.mark.parametrize("name,size", [("resnet18", 64), ("resnet50", 64),
                                       ("resnext50_32x4d", 32), ("resnet20", 32)])
def test_eval_outputs_equal_pytorch(name, size):
    model, twin = _pair(name)
    _randomise_bn(twin)
    _copy(model, twin)
    model.eval()
    twin.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x))
    with gn.no_grad():
        out = model(gn.from_numpy(x))
    assert tuple(out.shape) == (2, 10 if name == "resnet20" else 1000)
    _assert_close(out, expected)


def test_options_dilation_groupnorm_and_zero_init_match_pytorch():
    torch.manual_seed(0)     # one bottleneck per stage: the code paths of resnet50, smaller
    twin = TResNet(TBottleneck, [1, 1, 1, 1], num_classes=7,
                   replace_stride_with_dilation=(False, True, True))
    model = zoo.ResNet(zoo.Bottleneck, [1, 1, 1, 1], num_classes=7,
                       replace_stride_with_dilation=[False, True, True])
    assert list(model.state_dict()) == list(twin.state_dict())
    _randomise_bn(twin)
    _copy(model, twin)
    model.eval()
    twin.eval()
    x = np.random.default_rng(2).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x))
    out = model(gn.from_numpy(x))
    _assert_close(out, expected)
    # dilation keeps layer4 at stride 8: a 32x32 input gives 4x4 there
    feats = model.layer4(model.layer3(model.layer2(model.layer1(
        model.maxpool(model.relu(model.bn1(model.conv1(gn.from_numpy(x)))))))))
    assert tuple(feats.shape) == (2, 2048, 4, 4)

    gnorm = zoo.resnet18(norm_layer=lambda c: gnn.GroupNorm(8, c), zero_init_residual=True,
                         num_classes=3)
    assert isinstance(gnorm.layer1[0].bn1, gnn.GroupNorm)
    assert float(gnorm.layer1[0].bn2.weight.abs().sum()) == 0.0
    assert float(gnorm.layer1[0].bn1.weight.min()) == 1.0
    assert tuple(gnorm(gn.randn(2, 3, 32, 32)).shape) == (2, 3)
    zb = zoo.ResNet(zoo.Bottleneck, [1, 2, 1, 1], zero_init_residual=True)
    assert all(float(b.bn3.weight.abs().sum()) == 0.0 for b in zb.layer2)
    assert float(zb.layer2[0].bn2.weight.min()) == 1.0

    with pytest.raises(ValueError, match="BasicBlock only supports groups=1"):
        zoo.resnet18(groups=2)
    with pytest.raises(NotImplementedError, match="Dilation"):
        zoo.resnet18(replace_stride_with_dilation=[False, False, True])
    with pytest.raises(ValueError, match="3-element"):
        zoo.resnet18(replace_stride_with_dilation=[False, True])


def test_initialisation_as_torchvision_and_idelbayev():
    model = zoo.resnet18()
    w = model.layer3[0].conv2.weight.detach().numpy()          # 256 out, 3x3: fan_out 2304
    assert abs(w.std() - np.sqrt(2.0 / (256 * 9))) < 0.05 * np.sqrt(2.0 / (256 * 9))
    assert float(model.bn1.weight.min()) == 1.0 and float(model.bn1.bias.abs().max()) == 0.0
    cifar = zoo.resnet110()
    w = cifar.layer3[5].conv1.weight.detach().numpy()           # 64 in, 3x3: fan_in 576
    assert abs(w.std() - np.sqrt(2.0 / 576)) < 0.05 * np.sqrt(2.0 / 576)


# ------------------------------------------------------------------ training behaviour (resnet20)

def test_resnet20_training_step_matches_pytorch():
    torch.manual_seed(3)
    twin = TCifarResNet(3)
    model = zoo.resnet20()
    _copy(model, twin)
    model.train()
    twin.train()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 4)
    loss_t = tF.cross_entropy(twin(torch.from_numpy(x)), torch.from_numpy(y))
    loss_t.backward()
    loss_g = gnn.functional.cross_entropy(model(gn.from_numpy(x)), gn.from_numpy(y))
    loss_g.backward()
    expected_loss = float(loss_t.detach())
    assert abs(float(loss_g) - expected_loss) < 1e-4 * max(1.0, abs(expected_loss))
    tparams = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        _assert_close(p.grad, tparams[name].grad, rtol=1e-3)
    # batch-norm running statistics were updated in train mode as in PyTorch
    tstate = twin.state_dict()
    for key in ("bn1.running_mean", "layer2.0.bn1.running_var", "layer3.2.bn2.running_mean",
                "layer3.2.bn2.num_batches_tracked"):
        _assert_close(model.state_dict()[key], tstate[key])
    # eval mode uses the running statistics: the output no longer depends on the batch
    model.eval()
    with gn.no_grad():
        both = model(gn.from_numpy(x[:2])).numpy()
        one = model(gn.from_numpy(x[:1])).numpy()
    np.testing.assert_allclose(one, both[:1], atol=1e-5)
    model.train()
    one_train = model(gn.from_numpy(x[:1])).detach().numpy()
    assert not np.allclose(one_train, both[:1], atol=1e-3)


def test_resnet20_recipe_steps_match_pytorch():
    """Six steps of the command line's CIFAR recipe (``ganglion train resnet20 --optimizer sgd
    --weight-decay 5e-4 --norm-weight-decay 0 --label-smoothing 0.1``: Nesterov momentum 0.9,
    batch norm's parameters undecayed, a cosine schedule stepped each time) leave the same
    weights and running statistics as PyTorch's same recipe from the same start. (Learning rate
    0.02: at 0.1 these random batches drive the loss up to 9 and rounding differences with it.)"""
    from ganglion.cli import _parameter_groups
    torch.manual_seed(4)
    twin = TCifarResNet(3)
    model = zoo.resnet20()
    _copy(model, twin)
    groups = _parameter_groups(model, 5e-4, 0.0)
    norm_names = {name for name, module in twin.named_modules()
                  if isinstance(module, torch.nn.BatchNorm2d)}
    twin_groups = [{"params": [p for n, p in twin.named_parameters()
                               if n.rsplit(".", 1)[0] not in norm_names], "weight_decay": 5e-4},
                   {"params": [p for n, p in twin.named_parameters()
                               if n.rsplit(".", 1)[0] in norm_names], "weight_decay": 0.0}]
    assert [len(g["params"]) for g in twin_groups] == [len(g["params"]) for g in groups]
    optimizer = gn.optim.SGD(groups, lr=0.02, momentum=0.9, nesterov=True)
    twin_optimizer = torch.optim.SGD(twin_groups, lr=0.02, momentum=0.9, nesterov=True)
    schedule = gn.optim.lr_scheduler.CosineAnnealingLR(optimizer, 10)
    twin_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(twin_optimizer, 10)
    loss_fn = gnn.CrossEntropyLoss(label_smoothing=0.1)
    twin_loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    rng = np.random.default_rng(4)
    for _ in range(6):
        x = rng.standard_normal((8, 3, 32, 32)).astype(np.float32)
        y = rng.integers(0, 10, 8)
        optimizer.zero_grad()
        loss = loss_fn(model(gn.from_numpy(x)), gn.from_numpy(y))
        loss.backward()
        optimizer.step()
        schedule.step()
        twin_optimizer.zero_grad()
        twin_loss = twin_loss_fn(twin(torch.from_numpy(x)), torch.from_numpy(y))
        twin_loss.backward()
        twin_optimizer.step()
        twin_schedule.step()
        assert abs(float(loss) - twin_loss.item()) < 1e-5
    assert optimizer.param_groups[0]["lr"] == pytest.approx(twin_optimizer.param_groups[0]["lr"])
    twin_state = twin.state_dict()
    for key, value in model.state_dict().items():
        _assert_close(value, twin_state[key], rtol=1e-3)


def test_option_a_shortcut_has_no_parameters_and_option_b_has():
    a = zoo.resnet20()
    assert list(a.layer2[0].shortcut.parameters()) == []
    x = gn.randn(2, 16, 8, 8)
    out = a.layer2[0].shortcut(x).numpy()
    assert out.shape == (2, 32, 4, 4)
    np.testing.assert_array_equal(out[:, 8:24], x.numpy()[:, :, ::2, ::2])
    assert not out[:, :8].any() and not out[:, 24:].any()
    b = zoo.resnet20(option="B")
    # two projections: 1x1 16->32 with batch norm, 1x1 32->64 with batch norm
    assert _count(b) == 269_722 + (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert tuple(b(gn.randn(2, 3, 32, 32)).shape) == (2, 10)


# ------------------------------------------------------------------ transfer, errors, weights

def test_head_replacement_as_torchvision():
    model = zoo.resnet18()
    model.fc = gnn.Linear(512, 4)
    assert tuple(model.state_dict()["fc.weight"].shape) == (4, 512)
    model.requires_grad_(False)
    model.fc.requires_grad_(True)
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert tuple(model(gn.randn(2, 3, 32, 32)).shape) == (2, 4)
    cifar = zoo.resnet20(num_classes=4)
    assert tuple(cifar.linear.weight.shape) == (4, 64)


def test_wrong_channel_count_names_the_layer_and_shapes():
    for model, size in ((zoo.resnet20(), 32), (_pair("resnet18")[0], 64)):
        with pytest.raises(ShapeError, match=r"conv1.*\(N, 3, H, W\).*\(2, 1, %d, %d\)"
                           % (size, size)):
            model(gn.randn(2, 1, size, size))


def test_weights_other_than_none_are_refused():
    for builder in (zoo.resnet18, zoo.resnet50, zoo.resnet20):
        with pytest.raises(ValueError, match="weights=None"):
            builder(weights="IMAGENET1K_V1")
        builder(weights=None, progress=False)
