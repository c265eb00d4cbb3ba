"""VGG: Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition"
(ICLR 2015, arXiv:1409.1556).

``VGG``, ``make_layers``, ``cfgs`` and the builders ``vgg11`` ... ``vgg19_bn`` follow torchvision's
definition (torchvision/models/vgg.py): configurations "A" (11 weight layers), "B" (13), "D" (16)
and "E" (19) of the paper's Table 1, 3x3 convolutions with padding 1, 2x2 max pooling, adaptive
average pooling to 7x7, and the classifier 25088-4096-4096-``num_classes`` with ReLU and dropout;
``_bn`` variants put ``BatchNorm2d`` after every convolution (not in the paper; torchvision's).
Submodule names and ``state_dict`` keys are torchvision's, so its state dicts load with
``strict=True``. Weights start as torchvision's: Kaiming normal (fan_out, ReLU) convolutions,
N(0, 0.01^2) linear weights, zero biases, BatchNorm weight 1 and bias 0.
Parameters with 1000 classes: vgg11 132,863,336; vgg11_bn 132,868,840; vgg13 133,047,848;
vgg13_bn 133,053,736; vgg16 138,357,544; vgg16_bn 138,365,992; vgg19 143,667,240;
vgg19_bn 143,678,248.

Where torchvision has none:

- ``vgg11_lrn``: the paper's configuration "A-LRN" (Table 1): configuration A with a local
  response normalisation layer after the first convolution (and its ReLU), with the parameters of
  Krizhevsky et al. (2012) as the paper says: n=5, k=2, alpha=1e-4, beta=0.75 in the AlexNet
  paper's formula, i.e. ``nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)`` (PyTorch's
  layer divides alpha by n). LRN has no parameters: 132,863,336 like vgg11, but from the LRN on
  the ``features`` indices are shifted by one (features.2 is the LRN, features.4 the 2nd conv).
- CIFAR-10 VGG (32x32 images): ``cifar=True`` on any builder, or ``vgg11_cifar``,
  ``vgg11_bn_cifar``, ... ``vgg19_bn_cifar``, following the widely used CIFAR VGG of
  kuangliu/pytorch-cifar (models/vgg.py): the same ``features`` (five 2x2 poolings take 32x32 to
  1x1x512), then a single ``classifier = Linear(512, num_classes)``; ``num_classes`` defaults to
  10. Its ``avgpool`` is ``AdaptiveAvgPool2d(1)`` (the identity on 32x32 images, and it lets
  larger images through); the state dict keys are those of kuangliu's VGG (features.N...,
  classifier.weight/bias) for the ``_bn`` variants. vgg11_bn_cifar has 9,231,114 parameters
  (9,225,610 without BatchNorm), vgg16_bn_cifar 14,728,266.
"""
from ganglion import flatten
from ganglion import nn
from ganglion.core.op import ShapeError, format_shape
from ganglion.models.registry import register_model

__all__ = ["VGG", "make_layers", "cfgs", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
           "vgg16_bn", "vgg19", "vgg19_bn", "vgg11_lrn", "vgg11_cifar", "vgg11_bn_cifar",
           "vgg13_cifar", "vgg13_bn_cifar", "vgg16_cifar", "vgg16_bn_cifar", "vgg19_cifar",
           "vgg19_bn_cifar"]

# The paper's Table 1: numbers are 3x3 convolutions' output channels, "M" a 2x2 max pooling,
# "LRN" a local response normalisation (configuration A-LRN).
cfgs = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512,
          512, 512, "M"],
}


def make_layers(cfg, batch_norm=False, in_channels=3):
    """The ``features`` Sequential of a configuration (a list as in ``cfgs``)."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        elif v == "LRN":
            layers.append(nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG over a ``features`` Sequential (from ``make_layers``).

    ImageNet head (default): ``avgpool = AdaptiveAvgPool2d((7, 7))`` and ``classifier`` =
    Linear(512*7*7, 4096), ReLU, Dropout, Linear(4096, 4096), ReLU, Dropout, Linear(4096,
    num_classes). ``cifar=True``: ``avgpool = AdaptiveAvgPool2d(1)`` and ``classifier =
    Linear(512, num_classes)`` (kuangliu/pytorch-cifar).

    Builders (``vgg11`` ...) take ``num_classes=1000``, ``dropout=0.5``, ``init_weights=True``
    and ``cifar=False`` (True: 10 classes by default), ``weights=None`` only (anything else is a
    ValueError: nothing is downloaded) and ``progress`` (accepted, ignored).
    """

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5, cifar=False):
        super().__init__()
        self.features = features
        self.cifar = cifar
        if cifar:
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.classifier = nn.Linear(512, num_classes)
        else:
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(p=dropout),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(p=dropout),
                nn.Linear(4096, num_classes),
            )
        first = features[0]
        self._in_channels = first.in_channels if isinstance(first, nn.Conv2d) else None
        self._first_layer = f"features.0 = {first!r}"
        # Each 2x2 pooling halves the image: below 2**pools pixels the last one has nothing left.
        self._min_size = 2 ** sum(isinstance(m, nn.MaxPool2d) for m in features.modules())
        if init_weights:
            self._initialize_weights()

    def _initialize_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        if self._in_channels is not None:
            shape = tuple(x.shape)
            if (len(shape) != 4 or shape[1] != self._in_channels
                    or min(shape[2:]) < self._min_size):
                raise ShapeError(f"VGG: expected images of shape (N, {self._in_channels}, H, W) "
                                 f"with H, W >= {self._min_size} (the first layer is "
                                 f"{self._first_layer}), got input of shape {format_shape(shape)}")
        x = self.features(x)
        x = self.avgpool(x)
        x = flatten(x, 1)
        return self.classifier(x)


def _vgg(arch, cfg, batch_norm, weights, cifar=False, **kwargs):
    if weights is not None:
        raise ValueError(f"{arch}: weights={weights!r} is not supported (ganglion downloads "
                         "nothing); build with weights=None and load a saved state dict with "
                         "model.load_state_dict(...)")
    if cifar:
        kwargs.setdefault("num_classes", 10)
    return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), cifar=cifar, **kwargs)


@register_model("vgg11", input_shape=(3, 224, 224),
                description="VGG 11-layer (configuration A), torchvision's")
def vgg11(*, weights=None, progress=True, **kwargs):
    """VGG 11-layer (configuration "A"), torchvision's; options as ``VGG``'s."""
    return _vgg("vgg11", "A", False, weights, **kwargs)


@register_model("vgg11_bn", input_shape=(3, 224, 224),
                description="VGG 11-layer (configuration A, batch norm), torchvision's")
def vgg11_bn(*, weights=None, progress=True, **kwargs):
    """VGG 11-layer (configuration "A") with batch norm, torchvision's; options as ``VGG``'s."""
    return _vgg("vgg11_bn", "A", True, weights, **kwargs)


@register_model("vgg13", input_shape=(3, 224, 224),
                description="VGG 13-layer (configuration B), torchvision's")
def vgg13(*, weights=None, progress=True, **kwargs):
    """VGG 13-layer (configuration "B"), torchvision's; options as ``VGG``'s."""
    return _vgg("vgg13", "B", False, weights, **kwargs)


@register_model("vgg13_bn", input_shape=(3, 224, 224),
                description="VGG 13-layer (configuration B, batch norm), torchvision's")
def vgg13_bn(*, weights=None, progress=True, **kwargs):
    """VGG 13-layer (configuration "B") with batch norm, torchvision's; options as ``VGG``'s."""
    return _vgg("vgg13_bn", "B", True, weights, **kwargs)


@register_model("vgg16", input_shape=(3, 224, 224),
                description="VGG 16-layer (configuration D), torchvision's")
def vgg16(*, weights=None, progress=True, **kwargs):
    """VGG 16-layer (configuration "D"), torchvision's; options as ``VGG``'s."""
    return _vgg("vgg16", "D", False, weights, **kwargs)


@register_model("vgg16_bn", input_shape=(3, 224, 224),
                description="VGG 16-layer (configuration D, batch norm), torchvision's")
def vgg16_bn(*, weights=None, progress=True, **kwargs):
    """VGG 16-layer (configuration "D") with batch norm, torchvision's; options as ``VGG``'s."""
    return _vgg("vgg16_bn", "D", True, weights, **kwargs)


@register_model("vgg19", input_shape=(3, 224, 224),
                description="VGG 19-layer (configuration E), torchvision's")
def vgg19(*, weights=None, progress=True, **kwargs):
    """VGG 19-layer (configuration "E"), torchvision's; options as ``VGG``'s."""
    return _vgg("vgg19", "E", False, weights, **kwargs)


@register_model("vgg19_bn", input_shape=(3, 224, 224),
                description="VGG 19-layer (configuration E, batch norm), torchvision's")
def vgg19_bn(*, weights=None, progress=True, **kwargs):
    """VGG 19-layer (configuration "E") with batch norm, torchvision's; options as ``VGG``'s."""
    return _vgg("vgg19_bn", "E", True, weights, **kwargs)


@register_model("vgg11_cifar", input_shape=(3, 32, 32),
                description="VGG 11-layer for 32x32 CIFAR images (kuangliu)")
def vgg11_cifar(*, weights=None, progress=True, **kwargs):
    """``vgg11(cifar=True)``: features, then Linear(512, num_classes=10)."""
    return _vgg("vgg11_cifar", "A", False, weights, cifar=True, **kwargs)


@register_model("vgg11_bn_cifar", input_shape=(3, 32, 32),
                description="VGG 11-layer with batch norm for 32x32 CIFAR images (kuangliu)")
def vgg11_bn_cifar(*, weights=None, progress=True, **kwargs):
    """``vgg11_bn(cifar=True)``: features, then Linear(512, num_classes=10)."""
    return _vgg("vgg11_bn_cifar", "A", True, weights, cifar=True, **kwargs)


@register_model("vgg13_cifar", input_shape=(3, 32, 32),
                description="VGG 13-layer for 32x32 CIFAR images (kuangliu)")
def vgg13_cifar(*, weights=None, progress=True, **kwargs):
    """``vgg13(cifar=True)``: features, then Linear(512, num_classes=10)."""
    return _vgg("vgg13_cifar", "B", False, weights, cifar=True, **kwargs)


@register_model("vgg13_bn_cifar", input_shape=(3, 32, 32),
                description="VGG 13-layer with batch norm for 32x32 CIFAR images (kuangliu)")
def vgg13_bn_cifar(*, weights=None, progress=True, **kwargs):
    """``vgg13_bn(cifar=True)``: features, then Linear(512, num_classes=10)."""
    return _vgg("vgg13_bn_cifar", "B", True, weights, cifar=True, **kwargs)


@register_model("vgg16_cifar", input_shape=(3, 32, 32),
                description="VGG 16-layer for 32x32 CIFAR images (kuangliu)")
def vgg16_cifar(*, weights=None, progress=True, **kwargs):
    """``vgg16(cifar=True)``: features, then Linear(512, num_classes=10)."""
    return _vgg("vgg16_cifar", "D", False, weights, cifar=True, **kwargs)


@register_model("vgg16_bn_cifar", input_shape=(3, 32, 32),
                description="VGG 16-layer with batch norm for 32x32 CIFAR images (kuangliu)")
def vgg16_bn_cifar(*, weights=None, progress=True, **kwargs):
    """``vgg16_bn(cifar=True)``: features, then Linear(512, num_classes=10)."""
    return _vgg("vgg16_bn_cifar", "D", True, weights, cifar=True, **kwargs)


@register_model("vgg19_cifar", input_shape=(3, 32, 32),
                description="VGG 19-layer for 32x32 CIFAR images (kuangliu)")
def vgg19_cifar(*, weights=None, progress=True, **kwargs):
    """``vgg19(cifar=True)``: features, then Linear(512, num_classes=10)."""
    return _vgg("vgg19_cifar", "E", False, weights, cifar=True, **kwargs)


@register_model("vgg19_bn_cifar", input_shape=(3, 32, 32),
                description="VGG 19-layer with batch norm for 32x32 CIFAR images (kuangliu)")
def vgg19_bn_cifar(*, weights=None, progress=True, **kwargs):
    """``vgg19_bn(cifar=True)``: features, then Linear(512, num_classes=10)."""
    return _vgg("vgg19_bn_cifar", "E", True, weights, cifar=True, **kwargs)


@register_model("vgg11_lrn", input_shape=(3, 224, 224),
                description="VGG configuration A-LRN: vgg11 with LRN after the first conv")
def vgg11_lrn(*, weights=None, progress=True, **kwargs):
    """VGG configuration "A-LRN" of Simonyan & Zisserman (2015): vgg11 with local response
    normalisation after the first convolution. Options as ``vgg11``; ``weights`` must be None."""
    return _vgg("vgg11_lrn", "A-LRN", False, weights, **kwargs)
