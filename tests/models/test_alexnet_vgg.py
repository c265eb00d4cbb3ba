"""AlexNet and VGG (issue 14) against PyTorch twins written here.

torchvision is not installed, so the twins are compact copies of torchvision's definitions
(torchvision/models/alexnet.py, vgg.py) written with torch.nn, plus twins of the architectures
torchvision lacks (the 2012 two-tower AlexNet, VGG "A-LRN", kuangliu/pytorch-cifar's CIFAR VGG).
The tests compare parameter counts (the issue's table, and the twins' for the others), the exact
state_dict keys and shapes, and eval-mode outputs on copied weights.

Building a 130M-parameter VGG in ganglion spends seconds drawing random initial weights, which
neither the counts, the keys nor the outputs on copied weights depend on: those models are built
with ganglion's initialisers switched off (``no_init``), and the initialisation is tested on its
own on the small models. The twins whose weights are not used are built on torch's meta device.
"""
import contextlib

import numpy as np
import pytest

import ganglion as gn
import ganglion.models as zoo
from ganglion import nn as gnn
from ganglion.core.op import ShapeError

torch = pytest.importorskip("torch")
tnn = torch.nn


# --- the PyTorch twins ------------------------------------------------------------------------

class TorchAlexNet(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(3, 64, 11, 4, 2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(64, 192, 5, padding=2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(192, 384, 3, padding=1), tnn.ReLU(True),
            tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(True),
            tnn.Conv2d(256, 256, 3, padding=1), tnn.ReLU(True), tnn.MaxPool2d(3, 2))
        self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
        self.classifier = tnn.Sequential(
            tnn.Dropout(), tnn.Linear(9216, 4096), tnn.ReLU(True), tnn.Dropout(),
            tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _paper_lrn():
    # Krizhevsky et al. 2012: k=2, n=5, alpha=1e-4 (not divided by n), beta=0.75.
    return tnn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)


class TorchAlexNetOriginal(tnn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(3, 96, 11, 4), tnn.ReLU(True), _paper_lrn(), tnn.MaxPool2d(3, 2),
            tnn.Conv2d(96, 256, 5, padding=2, groups=2), tnn.ReLU(True), _paper_lrn(),
            tnn.MaxPool2d(3, 2),
            tnn.Conv2d(256, 384, 3, padding=1), tnn.ReLU(True),
            tnn.Conv2d(384, 384, 3, padding=1, groups=2), tnn.ReLU(True),
            tnn.Conv2d(384, 256, 3, padding=1, groups=2), tnn.ReLU(True), tnn.MaxPool2d(3, 2))
        self.classifier = tnn.Sequential(
            tnn.Dropout(), tnn.Linear(9216, 4096), tnn.ReLU(True), tnn.Dropout(),
            tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}
CFGS["A-LRN"] = CFGS["A"][:1] + ["LRN"] + CFGS["A"][1:]


def torch_features(cfg, bn):
    layers, c = [], 3
    for v in CFGS[cfg]:
        if v == "M":
            layers.append(tnn.MaxPool2d(2, 2))
        elif v == "LRN":
            layers.append(_paper_lrn())
        else:
            layers += [tnn.Conv2d(c, v, 3, padding=1)] + ([tnn.BatchNorm2d(v)] if bn else [])
            layers.append(tnn.ReLU(True))
            c = v
    return tnn.Sequential(*layers)


class TorchVGG(tnn.Module):
    def __init__(self, cfg, bn, num_classes=1000, cifar=False):
        super().__init__()
        self.features = torch_features(cfg, bn)
        if cifar:  # kuangliu/pytorch-cifar: flatten the 1x1x512 maps into one linear layer
            self.avgpool = tnn.AdaptiveAvgPool2d(1)
            self.classifier = tnn.Linear(512, num_classes)
        else:
            self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
            self.classifier = tnn.Sequential(
                tnn.Linear(25088, 4096), tnn.ReLU(True), tnn.Dropout(),
                tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(),
                tnn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


VGG_CFG = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E", "vgg11_lrn": "A-LRN"}


def twin(name):
    if name == "alexnet":
        return TorchAlexNet()
    if name == "alexnet_original":
        return TorchAlexNetOriginal()
    cifar = name.endswith("_cifar")
    base = name[:-len("_cifar")] if cifar else name
    bn = base.endswith("_bn")
    cfg = VGG_CFG[base[:-3] if bn else base]
    return TorchVGG(cfg, bn, num_classes=10 if cifar else 1000, cifar=cifar)


# --- helpers --------------------------------------------------------------------------------

@contextlib.contextmanager
def initialisers_off():
    """Switch off ganglion's random initialisers while building (the weights are replaced)."""
    names = ("uniform_", "normal_", "kaiming_uniform_", "kaiming_normal_", "constant_")
    saved = {n: getattr(gnn.init, n) for n in names}
    for n in names:
        setattr(gnn.init, n, lambda tensor, *args, **kwargs: tensor)
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(gnn.init, n, f)


@pytest.fixture
def no_init():
    with initialisers_off():
        yield


def count(model):
    return sum(p.numel() for p in model.parameters())


def keys_and_shapes(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def copy_weights(ours, theirs):
    ours.load_state_dict({k: gn.from_numpy(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})


def randomise_batch_norm(model, seed=0):
    """Give the twin's BatchNorm layers non-trivial affine parameters and running statistics."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, tnn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(1 + 0.2 * torch.randn(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))


def assert_close(ours, theirs):
    ours = ours.numpy() if hasattr(ours, "numpy") else np.asarray(ours)
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape
    scale = max(float(np.abs(theirs).max()), 1e-12)
    assert float(np.abs(ours - theirs).max()) <= 1e-4 * scale


# --- counts, keys and shapes ------------------------------------------------------------------

TABLE = {"alexnet": 61_100_840, "vgg11": 132_863_336, "vgg16": 138_357_544,
         "vgg16_bn": 138_365_992, "vgg19": 143_667_240}
ALL = ["alexnet", "alexnet_original", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
       "vgg16_bn", "vgg19", "vgg19_bn", "vgg11_lrn", "vgg11_cifar", "vgg11_bn_cifar",
       "vgg13_cifar", "vgg13_bn_cifar", "vgg16_cifar", "vgg16_bn_cifar", "vgg19_cifar",
       "vgg19_bn_cifar"]


@pytest.mark.parametrize("name", ALL)
def test_parameter_count_and_state_dict_keys_equal_the_twins(name, no_init):
    model = zoo.get_model(name)
    with torch.device("meta"):
        reference = twin(name)
    assert count(model) == sum(p.numel() for p in reference.parameters())
    if name in TABLE:
        assert count(model) == TABLE[name]
    assert keys_and_shapes(model) == keys_and_shapes(reference)


def test_alexnet_original_parameter_count_is_the_papers(no_init):
    # Krizhevsky et al. 2012, Figure 2 with the two towers as groups=2 convolutions, the count of
    # Caffe's bvlc_alexnet (BVLC/caffe models/bvlc_alexnet): about 60.97 million parameters.
    def conv(c_in, c_out, k, groups=1):
        return c_out * (c_in // groups) * k * k + c_out

    layers = [conv(3, 96, 11), conv(96, 256, 5, 2), conv(256, 384, 3), conv(384, 384, 3, 2),
              conv(384, 256, 3, 2), 9216 * 4096 + 4096, 4096 * 4096 + 4096, 4096 * 1000 + 1000]
    assert sum(layers) == 60_965_224
    model = zoo.alexnet_original()
    assert count(model) == 60_965_224
    # without the towers conv2/4/5 hold twice the weights
    assert sum(layers) + sum(conv(a, b, k) - conv(a, b, k, 2) for a, b, k in
                             [(96, 256, 5), (384, 384, 3), (384, 256, 3)]) == 62_378_344
    assert [m.groups for m in model.features if isinstance(m, gnn.Conv2d)] == [1, 2, 1, 2, 2]
    assert [type(m).__name__ for m in model.features].count("LocalResponseNorm") == 2
    assert all(m.p == 0.5 for m in model.classifier if isinstance(m, gnn.Dropout))


def test_vgg11_lrn_is_vgg11_with_lrn_after_the_first_conv(no_init):
    model = zoo.vgg11_lrn()
    assert count(model) == TABLE["vgg11"]
    lrn = model.features[2]
    assert isinstance(lrn, gnn.LocalResponseNorm)
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 5e-4, 0.75, 2.0)
    assert isinstance(model.features[1], gnn.ReLU) and isinstance(model.features[3], gnn.MaxPool2d)


def test_registry_names_and_torchvision_namespace():
    import ganglion.vision.models as tvm
    for name in ALL:
        assert name in zoo.list_models()
    assert zoo.model_info("alexnet_original").input_shape == (3, 227, 227)
    assert zoo.model_info("vgg11_bn_cifar").input_shape == (3, 32, 32)
    assert zoo.model_info("vgg16").input_shape == (3, 224, 224)
    assert tvm.vgg16_bn is zoo.vgg16_bn and tvm.alexnet is zoo.alexnet
    assert set(zoo.vgg.cfgs) >= {"A", "B", "D", "E"} and zoo.vgg.cfgs["D"] == CFGS["D"]


# --- outputs on copied weights -----------------------------------------------------------------

@pytest.fixture(scope="module")
def pairs():
    """(ours, twin) for the models whose outputs are compared, built once."""
    torch.manual_seed(0)
    built = {}
    for name in ["alexnet", "alexnet_original", "vgg11_bn", "vgg11_bn_cifar", "vgg11_cifar"]:
        reference = twin(name).eval()
        randomise_batch_norm(reference)
        with initialisers_off():
            ours = zoo.get_model(name)
        copy_weights(ours, reference)
        built[name] = (ours.eval(), reference)
    return built


SIZES = {"alexnet": 64, "alexnet_original": 227, "vgg11_bn": 32, "vgg11_bn_cifar": 32,
         "vgg11_cifar": 32}


@pytest.mark.parametrize("name", list(SIZES))
def test_eval_outputs_equal_pytorch_on_copied_weights(name, pairs):
    ours, reference = pairs[name]
    ours.eval()
    reference.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, SIZES[name], SIZES[name]))
    x = x.astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x))
    with gn.no_grad():
        got = ours(gn.from_numpy(x))
    assert tuple(got.shape) == (2, 10 if name.endswith("cifar") else 1000)
    assert float(expected.abs().max()) > 0
    assert_close(got, expected)


def test_vgg_takes_larger_images_than_its_minimum(pairs):
    ours, reference = pairs["vgg11_bn_cifar"]
    x = np.random.default_rng(2).standard_normal((1, 3, 48, 40)).astype(np.float32)
    with torch.no_grad():
        expected = reference.eval()(torch.from_numpy(x))
    with gn.no_grad():
        assert_close(ours.eval()(gn.from_numpy(x)), expected)


def test_vgg11_lrn_features_equal_pytorch_on_copied_weights():
    # vgg11_lrn's classifier is vgg11's (compared above on vgg11_bn); its features hold the LRN.
    torch.manual_seed(5)
    reference = torch_features("A-LRN", bn=False).eval()
    ours = zoo.vgg.make_layers(zoo.vgg.cfgs["A-LRN"]).eval()
    copy_weights(ours, reference)
    assert keys_and_shapes(ours) == keys_and_shapes(reference)
    x = np.random.default_rng(5).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x))
    with gn.no_grad():
        assert_close(ours(gn.from_numpy(x)), expected)


# --- train / eval behaviour ----------------------------------------------------------------------

def test_dropout_is_active_in_training_and_off_in_eval(pairs):
    ours, _ = pairs["alexnet"]
    x = gn.from_numpy(np.random.default_rng(3).standard_normal((2, 3, 64, 64)).astype(np.float32))
    try:
        ours.train()
        with gn.no_grad():
            a, b = ours(x).numpy(), ours(x).numpy()
        assert not np.allclose(a, b)
        ours.eval()
        with gn.no_grad():
            a, b = ours(x).numpy(), ours(x).numpy()
        np.testing.assert_array_equal(a, b)
    finally:
        ours.eval()


def test_batch_norm_uses_batch_statistics_in_training_and_updates_running_ones():
    torch.manual_seed(4)
    reference = twin("vgg11_bn_cifar")
    randomise_batch_norm(reference)
    ours = zoo.vgg11_bn_cifar()
    copy_weights(ours, reference)
    ours.train()
    reference.train()
    x = np.random.default_rng(4).standard_normal((4, 3, 32, 32)).astype(np.float32)
    expected = reference(torch.from_numpy(x))
    got = ours(gn.from_numpy(x))
    assert_close(got.detach(), expected)
    ours_state, ref_state = ours.state_dict(), reference.state_dict()
    for key in ("features.1.running_mean", "features.1.running_var",
                "features.26.running_mean", "features.26.running_var",
                "features.1.num_batches_tracked"):
        np.testing.assert_allclose(ours_state[key].numpy(), ref_state[key].numpy(),
                                   rtol=1e-4, atol=1e-5)
    # eval mode reads the running statistics and leaves them alone
    before = ours.state_dict()["features.1.running_mean"].numpy().copy()
    ours.eval()
    with gn.no_grad():
        ours(gn.from_numpy(x))
    np.testing.assert_array_equal(ours.state_dict()["features.1.running_mean"].numpy(), before)


def test_training_step_reaches_every_parameter():
    model = zoo.vgg11_cifar(num_classes=3)
    x = gn.randn(2, 3, 32, 32)
    loss = gn.nn.functional.cross_entropy(model(x), gn.tensor([0, 2]))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


# --- initialisation ------------------------------------------------------------------------------

def test_vgg_initialises_as_torchvision():
    model = zoo.vgg11_bn(cifar=True, num_classes=10)
    conv = model.features[4]          # 64 -> 128, fan_out = 128 * 9
    w = conv.weight.detach().numpy()
    assert abs(w.std() - np.sqrt(2.0 / (128 * 9))) < 0.05 * np.sqrt(2.0 / (128 * 9))
    assert not conv.bias.detach().numpy().any()
    bn = model.features[1]
    assert (bn.weight.detach().numpy() == 1).all() and not bn.bias.detach().numpy().any()
    head = model.classifier.weight.detach().numpy()
    assert abs(head.std() - 0.01) < 0.001 and not model.classifier.bias.detach().numpy().any()
    plain = zoo.vgg11_cifar(init_weights=False)  # PyTorch's default: biases not all zero
    assert plain.features[0].bias.detach().numpy().any()


def test_alexnet_original_initialises_as_the_paper():
    # the fully connected layers are made small here (drawing 57M normals takes seconds); the
    # initialisation reads the layers at its call, as the constructor calls it
    with initialisers_off():
        model = zoo.alexnet_original(num_classes=10)
    model.classifier[1] = gnn.Linear(9216, 64)
    model.classifier[4] = gnn.Linear(64, 64)
    model.classifier[6] = gnn.Linear(64, 10)
    model._initialize_weights()
    convs = [m for m in model.features if isinstance(m, gnn.Conv2d)]
    linears = [m for m in model.classifier if isinstance(m, gnn.Linear)]
    assert [set(m.bias.detach().numpy().tolist()) for m in convs] == [{0.0}, {1.0}, {0.0},
                                                                      {1.0}, {1.0}]
    assert all((m.bias.detach().numpy() == 1).all() for m in linears)
    for m in convs[1:] + linears[:1]:
        assert abs(m.weight.detach().numpy().std() - 0.01) < 0.0005
        assert abs(m.weight.detach().numpy().mean()) < 0.001


# --- bad inputs and options ----------------------------------------------------------------------

def test_wrong_channel_count_names_the_model_the_layer_and_the_shapes(pairs):
    for name in ["alexnet", "alexnet_original", "vgg11_bn", "vgg11_bn_cifar"]:
        ours, _ = pairs[name]
        size = SIZES[name]
        with pytest.raises(ShapeError, match=r"expected images of shape \(N, 3, .*features\.0 = "
                                             r"Conv2d\(3, .*got input of shape \(2, 1, "):
            ours(gn.zeros(2, 1, size, size))


def test_wrong_image_size_names_the_expected_input(pairs):
    with pytest.raises(ShapeError, match=r"alexnet_original.*\(N, 3, 227, 227\).*\(1, 3, 224, 224\)"):
        pairs["alexnet_original"][0](gn.zeros(1, 3, 224, 224))
    with pytest.raises(ShapeError, match=r"AlexNet.*H, W >= 63.*\(1, 3, 62, 62\)"):
        pairs["alexnet"][0](gn.zeros(1, 3, 62, 62))
    with pytest.raises(ShapeError, match=r"VGG.*H, W >= 32.*\(1, 3, 31, 32\)"):
        pairs["vgg11_cifar"][0](gn.zeros(1, 3, 31, 32))
    with pytest.raises(ShapeError, match=r"got input of shape \(3, 32, 32\)"):
        pairs["vgg11_cifar"][0](gn.zeros(3, 32, 32))


def test_builders_refuse_pretrained_weights_and_take_torchvision_options(no_init):
    for builder in (zoo.alexnet, zoo.alexnet_original, zoo.vgg16, zoo.vgg11_lrn,
                    zoo.vgg11_bn_cifar):
        with pytest.raises(ValueError, match="weights='IMAGENET1K_V1' is not supported"):
            builder(weights="IMAGENET1K_V1")
    model = zoo.vgg13(num_classes=7, dropout=0.2, progress=False)
    assert model.classifier[6].out_features == 7 and model.classifier[2].p == 0.2
    assert zoo.alexnet(dropout=0.1).classifier[0].p == 0.1
    assert zoo.vgg19_bn(cifar=True).classifier.out_features == 10
    assert zoo.vgg16_cifar(num_classes=100).classifier.out_features == 100
