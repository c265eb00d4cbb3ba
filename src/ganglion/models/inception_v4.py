"""Inception-v4: Szegedy, Ioffe, Vanhoucke and Alemi, "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", AAAI 2017 (arXiv:1602.07261), figures 3-9.

torchvision has no Inception-v4; the reference followed is timm's ``timm/models/inception_v4.py``
(huggingface/pytorch-image-models, itself from Cadene's port of Google's TensorFlow model), with
its module names (``features.0`` ... ``features.21``, ``last_linear``) and therefore its
``state_dict()`` keys, so timm's ``inception_v4`` weights load with ``strict=True``. Every
convolution is conv (no bias) -> BatchNorm (eps 0.001) -> ReLU, kept under the names ``conv``
and ``bn`` as timm's ConvNormAct does. 42,679,816 parameters at 1000 classes (timm reports
42.68 M); inputs 299x299 as designed, 75x75 at the least.

The blocks are the paper's: the stem (``Mixed3a``/``Mixed4a``/``Mixed5a``: parallel stride-2
pooling and convolution, a factorized 7x7 as 1x7 + 7x1), 4 x ``InceptionA`` (35x35, 5x5 as two
3x3), ``ReductionA`` (35 -> 17), 7 x ``InceptionB`` (17x17, 7x7 as 1x7 + 7x1), ``ReductionB``
(17 -> 8), 3 x ``InceptionC`` (8x8, 3x3 as parallel 1x3 and 3x1). Average pooling in the blocks
excludes the padding from its divisor (``count_include_pad=False``), as TensorFlow's does.
Inception-ResNet-v2 is not provided.
"""
import ganglion as gn
from ganglion import nn
from ganglion.models.googlenet import check_input, check_weights
from ganglion.models.registry import register_model

__all__ = ["InceptionV4", "inception_v4"]


class ConvBN(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d(eps=0.001) -> ReLU, timm's ConvNormAct layout."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                              padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return nn.functional.relu(self.bn(self.conv(x)), inplace=True)


def _avg_pool_conv(in_channels, out_channels):
    return nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
                         ConvBN(in_channels, out_channels, 1))


class Mixed3a(nn.Module):
    """Stem, 147 -> 73: 3x3 max pool stride 2 | 3x3 conv stride 2 (96), concatenated (160)."""

    def __init__(self):
        super().__init__()
        self.maxpool = nn.MaxPool2d(3, stride=2)
        self.conv = ConvBN(64, 96, 3, stride=2)

    def forward(self, x):
        return gn.cat([self.maxpool(x), self.conv(x)], 1)


class Mixed4a(nn.Module):
    """Stem: 1x1 -> 3x3 | 1x1 -> 1x7 -> 7x1 -> 3x3 (a factorized 7x7), concatenated (192)."""

    def __init__(self):
        super().__init__()
        self.branch0 = nn.Sequential(ConvBN(160, 64, 1), ConvBN(64, 96, 3))
        self.branch1 = nn.Sequential(ConvBN(160, 64, 1), ConvBN(64, 64, (1, 7), padding=(0, 3)),
                                     ConvBN(64, 64, (7, 1), padding=(3, 0)), ConvBN(64, 96, 3))

    def forward(self, x):
        return gn.cat([self.branch0(x), self.branch1(x)], 1)


class Mixed5a(nn.Module):
    """Stem, 71 -> 35: 3x3 conv stride 2 (192) | 3x3 max pool stride 2, concatenated (384)."""

    def __init__(self):
        super().__init__()
        self.conv = ConvBN(192, 192, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return gn.cat([self.conv(x), self.maxpool(x)], 1)


class InceptionA(nn.Module):
    """35x35 block (figure 4): 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 -> 3x3 (5x5 as two 3x3) | avg pool
    -> 1x1; 4 x 96 = 384 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = ConvBN(384, 96, 1)
        self.branch1 = nn.Sequential(ConvBN(384, 64, 1), ConvBN(64, 96, 3, padding=1))
        self.branch2 = nn.Sequential(ConvBN(384, 64, 1), ConvBN(64, 96, 3, padding=1),
                                     ConvBN(96, 96, 3, padding=1))
        self.branch3 = _avg_pool_conv(384, 96)

    def forward(self, x):
        return gn.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class ReductionA(nn.Module):
    """35 -> 17 (figure 7, k=192, l=224, m=256, n=384): 3x3 stride 2 | 1x1 -> 3x3 -> 3x3 stride 2
    | max pool stride 2; 1024 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = ConvBN(384, 384, 3, stride=2)
        self.branch1 = nn.Sequential(ConvBN(384, 192, 1), ConvBN(192, 224, 3, padding=1),
                                     ConvBN(224, 256, 3, stride=2))
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return gn.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class InceptionB(nn.Module):
    """17x17 block (figure 5): 7x7 factorized as 1x7 + 7x1, once and twice; 1024 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = ConvBN(1024, 384, 1)
        self.branch1 = nn.Sequential(ConvBN(1024, 192, 1), ConvBN(192, 224, (1, 7), padding=(0, 3)),
                                     ConvBN(224, 256, (7, 1), padding=(3, 0)))
        self.branch2 = nn.Sequential(ConvBN(1024, 192, 1), ConvBN(192, 192, (7, 1), padding=(3, 0)),
                                     ConvBN(192, 224, (1, 7), padding=(0, 3)),
                                     ConvBN(224, 224, (7, 1), padding=(3, 0)),
                                     ConvBN(224, 256, (1, 7), padding=(0, 3)))
        self.branch3 = _avg_pool_conv(1024, 128)

    def forward(self, x):
        return gn.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class ReductionB(nn.Module):
    """17 -> 8 (figure 8): 1x1 -> 3x3 stride 2 | 1x1 -> 1x7 -> 7x1 -> 3x3 stride 2 | max pool;
    1536 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = nn.Sequential(ConvBN(1024, 192, 1), ConvBN(192, 192, 3, stride=2))
        self.branch1 = nn.Sequential(ConvBN(1024, 256, 1), ConvBN(256, 256, (1, 7), padding=(0, 3)),
                                     ConvBN(256, 320, (7, 1), padding=(3, 0)),
                                     ConvBN(320, 320, 3, stride=2))
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return gn.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class InceptionC(nn.Module):
    """8x8 block (figure 6): 3x3 expanded into parallel 1x3 and 3x1 branches; 1536 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = ConvBN(1536, 256, 1)
        self.branch1_0 = ConvBN(1536, 384, 1)
        self.branch1_1a = ConvBN(384, 256, (1, 3), padding=(0, 1))
        self.branch1_1b = ConvBN(384, 256, (3, 1), padding=(1, 0))
        self.branch2_0 = ConvBN(1536, 384, 1)
        self.branch2_1 = ConvBN(384, 448, (3, 1), padding=(1, 0))
        self.branch2_2 = ConvBN(448, 512, (1, 3), padding=(0, 1))
        self.branch2_3a = ConvBN(512, 256, (1, 3), padding=(0, 1))
        self.branch2_3b = ConvBN(512, 256, (3, 1), padding=(1, 0))
        self.branch3 = _avg_pool_conv(1536, 256)

    def forward(self, x):
        b1 = self.branch1_0(x)
        b2 = self.branch2_2(self.branch2_1(self.branch2_0(x)))
        return gn.cat([self.branch0(x), self.branch1_1a(b1), self.branch1_1b(b1),
                       self.branch2_3a(b2), self.branch2_3b(b2), self.branch3(x)], 1)


class InceptionV4(nn.Module):
    """Inception-v4 in timm's layout: ``features`` (stem and 17 blocks), global average pool,
    dropout ``drop_rate``, ``last_linear``. Weights keep PyTorch's default initialisation, as in
    timm."""

    _first_layer = "features.0"
    _min_size = 75

    def __init__(self, num_classes=1000, in_chans=3, drop_rate=0.0):
        super().__init__()
        self._in_channels = in_chans
        self.num_classes = num_classes
        self.num_features = 1536
        self.features = nn.Sequential(
            ConvBN(in_chans, 32, 3, stride=2), ConvBN(32, 32, 3), ConvBN(32, 64, 3, padding=1),
            Mixed3a(), Mixed4a(), Mixed5a(),
            *[InceptionA() for _ in range(4)], ReductionA(),
            *[InceptionB() for _ in range(7)], ReductionB(),
            *[InceptionC() for _ in range(3)])
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.head_drop = nn.Dropout(drop_rate)
        self.last_linear = nn.Linear(self.num_features, num_classes)

    def forward(self, x):
        check_input(self, x, self._min_size)
        x = gn.flatten(self.global_pool(self.features(x)), 1)
        return self.last_linear(self.head_drop(x))


@register_model("inception_v4", input_shape=(3, 299, 299),
                description="Inception-v4 (Szegedy et al. 2016), timm's layout, 299x299")
def inception_v4(*, weights=None, progress=True, num_classes=1000, in_chans=3, drop_rate=0.0):
    """Inception-v4 (arXiv:1602.07261) in timm's layout: 42,679,816 parameters at 1000 classes.
    ``weights`` must be None (no downloads); ``progress`` is accepted and unused."""
    check_weights("inception_v4", weights)
    return InceptionV4(num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)
