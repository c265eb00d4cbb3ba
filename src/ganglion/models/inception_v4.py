"""Inception-v4: Szegedy, Ioffe, Vanhoucke and Alemi, "Inception-v4, Inception-ResNet and the
Impact of Residual Connections on Learning", AAAI 2017 (arXiv:1602.07261), figures 3-9.

torchvision has no Inception-v4; the reference followed is timm's ``timm/models/inception_v4.py``
(huggingface/pytorch-image-models, itself from Cadene's port of Google's TensorFlow model), with
its module names (``features.0`` ... ``features.21``, ``last_linear``) and therefore its
``state_dict()`` keys, so timm's ``inception_v4`` weights load with ``strict=True``. Every
convolution is conv (no bias) -> BatchNorm (eps 0.001) -> ReLU, kept under the names ``conv``
and ``bn`` as timm's ConvNormAct does. 42,679,816 parameters at 1000 classes (timm reports
42.68 M); inputs 299x299 as designed, 75x75 at the least.

Inception-ResNet-v2 (the same paper, figures 9, 15-19) adds residual connections to Inception
blocks: each ``Block35`` / ``Block17`` / ``Block8`` concatenates its branches, projects them back
to the input's width with a 1x1 convolution (with bias, no batch norm), scales the result (0.17,
0.10, 0.20: the paper's residual scaling, section 3.3, which keeps very deep residual Inception
networks stable) and adds it to its input before the ReLU. Reference: timm's
``timm/models/inception_resnet_v2.py`` (names ``conv2d_1a`` ... ``repeat``, ``repeat_1``,
``repeat_2``, ``block8``, ``conv2d_7b``, ``classif``); 55,843,464 parameters at 1000 classes
(timm: 55.84 M); 75x75 at the least.

The blocks are the paper's: the stem (``Mixed3a``/``Mixed4a``/``Mixed5a``: parallel stride-2
pooling and convolution, a factorized 7x7 as 1x7 + 7x1), 4 x ``InceptionA`` (35x35, 5x5 as two
3x3), ``ReductionA`` (35 -> 17), 7 x ``InceptionB`` (17x17, 7x7 as 1x7 + 7x1), ``ReductionB``
(17 -> 8), 3 x ``InceptionC`` (8x8, 3x3 as parallel 1x3 and 3x1). Average pooling in the blocks
excludes the padding from its divisor (``count_include_pad=False``), as TensorFlow's does.
"""
import ganglion as gn
from ganglion import nn
from ganglion.models.googlenet import check_input, check_weights
from ganglion.models.registry import register_model

__all__ = ["InceptionV4", "inception_v4", "InceptionResnetV2", "inception_resnet_v2"]


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


# ------------------------------------------------------------------ Inception-ResNet-v2

class Mixed_5b(nn.Module):  # noqa: N801 (timm's name)
    """35x35 entry block: 1x1 (96) | 1x1 -> 5x5 (64) | 1x1 -> 3x3 -> 3x3 (96) | avg pool -> 1x1
    (64); 320 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = ConvBN(192, 96, 1)
        self.branch1 = nn.Sequential(ConvBN(192, 48, 1), ConvBN(48, 64, 5, padding=2))
        self.branch2 = nn.Sequential(ConvBN(192, 64, 1), ConvBN(64, 96, 3, padding=1),
                                     ConvBN(96, 96, 3, padding=1))
        self.branch3 = _avg_pool_conv(192, 64)

    def forward(self, x):
        return gn.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class _Residual(nn.Module):
    """What the residual Inception blocks share: relu(x + scale * conv2d(cat(branches)))."""

    def forward(self, x):
        out = self.conv2d(gn.cat([branch(x) for branch in self._branches()], 1))
        out = out * self.scale + x
        return out if self.relu is None else self.relu(out)


class Block35(_Residual):
    """Inception-ResNet-A (35x35, figure 16): 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 -> 3x3 -> 1x1 to 320."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = scale
        self.branch0 = ConvBN(320, 32, 1)
        self.branch1 = nn.Sequential(ConvBN(320, 32, 1), ConvBN(32, 32, 3, padding=1))
        self.branch2 = nn.Sequential(ConvBN(320, 32, 1), ConvBN(32, 48, 3, padding=1),
                                     ConvBN(48, 64, 3, padding=1))
        self.conv2d = nn.Conv2d(128, 320, 1)
        self.relu = nn.ReLU()

    def _branches(self):
        return self.branch0, self.branch1, self.branch2


class Mixed_6a(nn.Module):  # noqa: N801 (timm's name)
    """Reduction 35 -> 17 (figure 7, k=256, l=256, m=384, n=384); 1088 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = ConvBN(320, 384, 3, stride=2)
        self.branch1 = nn.Sequential(ConvBN(320, 256, 1), ConvBN(256, 256, 3, padding=1),
                                     ConvBN(256, 384, 3, stride=2))
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return gn.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class Block17(_Residual):
    """Inception-ResNet-B (17x17, figure 17): 1x1 | 1x1 -> 1x7 -> 7x1 -> 1x1 to 1088."""

    def __init__(self, scale=1.0):
        super().__init__()
        self.scale = scale
        self.branch0 = ConvBN(1088, 192, 1)
        self.branch1 = nn.Sequential(ConvBN(1088, 128, 1), ConvBN(128, 160, (1, 7), padding=(0, 3)),
                                     ConvBN(160, 192, (7, 1), padding=(3, 0)))
        self.conv2d = nn.Conv2d(384, 1088, 1)
        self.relu = nn.ReLU()

    def _branches(self):
        return self.branch0, self.branch1


class Mixed_7a(nn.Module):  # noqa: N801 (timm's name)
    """Reduction 17 -> 8 (figure 18); 2080 channels."""

    def __init__(self):
        super().__init__()
        self.branch0 = nn.Sequential(ConvBN(1088, 256, 1), ConvBN(256, 384, 3, stride=2))
        self.branch1 = nn.Sequential(ConvBN(1088, 256, 1), ConvBN(256, 288, 3, stride=2))
        self.branch2 = nn.Sequential(ConvBN(1088, 256, 1), ConvBN(256, 288, 3, padding=1),
                                     ConvBN(288, 320, 3, stride=2))
        self.branch3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return gn.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class Block8(_Residual):
    """Inception-ResNet-C (8x8, figure 19): 1x1 | 1x1 -> 1x3 -> 3x1 -> 1x1 to 2080."""

    def __init__(self, scale=1.0, no_relu=False):
        super().__init__()
        self.scale = scale
        self.branch0 = ConvBN(2080, 192, 1)
        self.branch1 = nn.Sequential(ConvBN(2080, 192, 1), ConvBN(192, 224, (1, 3), padding=(0, 1)),
                                     ConvBN(224, 256, (3, 1), padding=(1, 0)))
        self.conv2d = nn.Conv2d(448, 2080, 1)
        self.relu = None if no_relu else nn.ReLU()

    def _branches(self):
        return self.branch0, self.branch1


class InceptionResnetV2(nn.Module):
    """Inception-ResNet-v2 in timm's layout; PyTorch's default initialisation, as in timm."""

    _first_layer = "conv2d_1a"
    _min_size = 75

    def __init__(self, num_classes=1000, in_chans=3, drop_rate=0.0):
        super().__init__()
        self._in_channels = in_chans
        self.drop_rate = drop_rate
        self.num_classes = num_classes
        self.num_features = 1536
        self.conv2d_1a = ConvBN(in_chans, 32, 3, stride=2)
        self.conv2d_2a = ConvBN(32, 32, 3)
        self.conv2d_2b = ConvBN(32, 64, 3, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = ConvBN(64, 80, 1)
        self.conv2d_4a = ConvBN(80, 192, 3)
        self.maxpool_5a = nn.MaxPool2d(3, stride=2)
        self.mixed_5b = Mixed_5b()
        self.repeat = nn.Sequential(*[Block35(scale=0.17) for _ in range(10)])
        self.mixed_6a = Mixed_6a()
        self.repeat_1 = nn.Sequential(*[Block17(scale=0.10) for _ in range(20)])
        self.mixed_7a = Mixed_7a()
        self.repeat_2 = nn.Sequential(*[Block8(scale=0.20) for _ in range(9)])
        self.block8 = Block8(no_relu=True)
        self.conv2d_7b = ConvBN(2080, self.num_features, 1)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.head_drop = nn.Dropout(drop_rate)
        self.classif = nn.Linear(self.num_features, num_classes)

    def forward_features(self, x):
        x = self.conv2d_2b(self.conv2d_2a(self.conv2d_1a(x)))
        x = self.conv2d_4a(self.conv2d_3b(self.maxpool_3a(x)))
        x = self.repeat(self.mixed_5b(self.maxpool_5a(x)))
        x = self.repeat_1(self.mixed_6a(x))
        x = self.block8(self.repeat_2(self.mixed_7a(x)))
        return self.conv2d_7b(x)

    def forward(self, x):
        check_input(self, x, self._min_size)
        x = gn.flatten(self.global_pool(self.forward_features(x)), 1)
        return self.classif(self.head_drop(x))


@register_model("inception_resnet_v2", input_shape=(3, 299, 299),
                description="Inception-ResNet-v2 (Szegedy et al. 2016), timm's layout, 299x299")
def inception_resnet_v2(*, weights=None, progress=True, num_classes=1000, in_chans=3,
                        drop_rate=0.0):
    """Inception-ResNet-v2 (arXiv:1602.07261) in timm's layout: 55,843,464 parameters at 1000
    classes. ``weights`` must be None (no downloads); ``progress`` is accepted and unused."""
    check_weights("inception_resnet_v2", weights)
    return InceptionResnetV2(num_classes=num_classes, in_chans=in_chans, drop_rate=drop_rate)
