"""Residual networks: torchvision's ImageNet ResNets and the CIFAR ResNets of the paper.

Paper: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image Recognition",
CVPR 2016 (arXiv:1512.03385).

ImageNet models (``ResNet``, ``BasicBlock``, ``Bottleneck``, ``resnet18`` ... ``resnet152``,
``resnext50_32x4d``, ``resnext101_32x8d``, ``resnext101_64x4d``, ``wide_resnet50_2``,
``wide_resnet101_2``) follow torchvision's ``torchvision/models/resnet.py`` (the "ResNet v1.5"
variant: the stride of a bottleneck block is on its 3x3 convolution), with the same submodule
names, so ``state_dict()`` keys and shapes are torchvision's and a torchvision state dict loads
with ``strict=True``; the same options (``zero_init_residual``, ``groups``, ``width_per_group``,
``replace_stride_with_dilation``, ``norm_layer``) and the same initialisation (Kaiming normal,
fan_out, for convolutions; ones and zeros for normalisation layers; the Linear head keeps its
default initialisation). ResNeXt: Xie et al. 2017 (arXiv:1611.05431); wide ResNets: Zagoruyko and
Komodakis 2016 (arXiv:1605.07146), as torchvision builds them (bottleneck width doubled).

Parameter counts with 1000 classes (torchvision's): resnet18 11,689,512; resnet34 21,797,672;
resnet50 25,557,032; resnet101 44,549,160; resnet152 60,192,808; resnext50_32x4d 25,028,904;
resnext101_32x8d 88,791,336; resnext101_64x4d 83,455,272; wide_resnet50_2 68,883,240;
wide_resnet101_2 126,886,696.

CIFAR models (``CifarResNet``, ``resnet20``, ``resnet32``, ``resnet44``, ``resnet56``,
``resnet110``): section 4.2 of the paper, 6n+2 layers on 3x32x32 inputs (a 3x3 convolution with
16 channels, three stages of n basic blocks with 16, 32 and 64 channels at 32x32, 16x16 and 8x8,
global average pooling, a linear classifier), with option A shortcuts: parameter-free, the
identity where the shape is kept, and where the width doubles the input subsampled with stride 2
and zero-padded in channels. They follow the common reference implementation by Yerlan Idelbayev,
https://github.com/akamaster/pytorch_resnet_cifar10 (``resnet.py``): same submodule names
(``conv1``, ``bn1``, ``layer1``..``layer3``, ``linear``; blocks with ``conv1``, ``bn1``, ``conv2``,
``bn2``, ``shortcut``), so its state dicts load (after removing DataParallel's ``module.``
prefix), and the same initialisation (Kaiming normal, fan_in, for convolutions and the Linear
layer). Parameter counts with 10 classes, as that implementation reports them: resnet20 269,722;
resnet32 464,154; resnet44 658,586; resnet56 853,018; resnet110 1,727,962.
"""
from ganglion import nn
from ganglion.core.errors import ShapeError
from ganglion.models.registry import register_model
from ganglion.nn import functional as F
import ganglion

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
           "wide_resnet50_2", "wide_resnet101_2",
           "CifarResNet", "CifarBasicBlock", "resnet20", "resnet32", "resnet44", "resnet56",
           "resnet110"]


def _check_weights(name, weights):
    if weights is not None:
        raise ValueError(f"{name}(weights={weights!r}): ganglion downloads no pretrained weights; "
                         f"use weights=None and load a state dict from a file instead "
                         f"(model.load_state_dict(...))")


def _check_channels(model, x, name):
    expected = model.conv1.in_channels
    if x.dim() != 4 or x.shape[1] != expected:
        raise ShapeError(f"{name}: the first layer conv1 ({model.conv1!r}) expects input of shape "
                         f"(N, {expected}, H, W), got {tuple(x.shape)}")


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    """3x3 convolution with padding (no bias: a normalisation layer follows)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    """1x1 convolution (no bias)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18/34)."""
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, grouped, dilated), 1x1 expand by 4, with a residual connection
    (ResNet-50/101/152; the stride on the 3x3 convolution, torchvision's ResNet v1.5)."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64,
                 dilation=1, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """torchvision's ImageNet ResNet: a 7x7/2 stem and a 3x3/2 max pool, four stages of
    ``block`` (64, 128, 256, 512 planes; stages 2-4 start with stride 2, or dilation where
    ``replace_stride_with_dilation`` says so), adaptive average pooling to 1x1 and ``fc``.
    Takes any input of at least 32x32 (the adaptive pooling)."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False, groups=1,
                 width_per_group=64, replace_stride_with_dilation=None, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 64
        self.dilation = 1
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError("replace_stride_with_dilation should be None or a 3-element tuple, "
                             f"got {replace_stride_with_dilation}")
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2,
                                       dilate=replace_stride_with_dilation[0])
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2,
                                       dilate=replace_stride_with_dilation[1])
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2,
                                       dilate=replace_stride_with_dilation[2])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        # Zero-initialise the last normalisation of each residual branch, so that every block
        # starts as the identity (Goyal et al. 2017, arXiv:1706.02677).
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1, dilate=False):
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width,
                        previous_dilation, norm_layer)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups,
                                base_width=self.base_width, dilation=self.dilation,
                                norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def forward(self, x):
        _check_channels(self, x, type(self).__name__)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = ganglion.flatten(x, 1)
        return self.fc(x)


def _resnet(name, block, layers, weights, progress, **kwargs):
    _check_weights(name, weights)
    return ResNet(block, layers, **kwargs)


_IMAGENET = (3, 224, 224)


@register_model("resnet18", input_shape=_IMAGENET, description="ResNet-18 (torchvision)")
def resnet18(*, weights=None, progress=True, **kwargs):
    """ResNet-18 (He et al. 2016): BasicBlock x [2, 2, 2, 2], 11,689,512 parameters."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, progress, **kwargs)


@register_model("resnet34", input_shape=_IMAGENET, description="ResNet-34 (torchvision)")
def resnet34(*, weights=None, progress=True, **kwargs):
    """ResNet-34: BasicBlock x [3, 4, 6, 3], 21,797,672 parameters."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, progress, **kwargs)


@register_model("resnet50", input_shape=_IMAGENET, description="ResNet-50 (torchvision, v1.5)")
def resnet50(*, weights=None, progress=True, **kwargs):
    """ResNet-50: Bottleneck x [3, 4, 6, 3], 25,557,032 parameters."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, progress, **kwargs)


@register_model("resnet101", input_shape=_IMAGENET, description="ResNet-101 (torchvision, v1.5)")
def resnet101(*, weights=None, progress=True, **kwargs):
    """ResNet-101: Bottleneck x [3, 4, 23, 3], 44,549,160 parameters."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, progress, **kwargs)


@register_model("resnet152", input_shape=_IMAGENET, description="ResNet-152 (torchvision, v1.5)")
def resnet152(*, weights=None, progress=True, **kwargs):
    """ResNet-152: Bottleneck x [3, 8, 36, 3], 60,192,808 parameters."""
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, progress, **kwargs)


def _set(kwargs, name, value):
    if name in kwargs and kwargs[name] != value:
        raise ValueError(f"{name}={kwargs[name]!r} conflicts with this builder's {name}={value!r}")
    kwargs[name] = value


@register_model("resnext50_32x4d", input_shape=_IMAGENET,
                description="ResNeXt-50 32x4d (torchvision)")
def resnext50_32x4d(*, weights=None, progress=True, **kwargs):
    """ResNeXt-50 32x4d (Xie et al. 2017): 32 groups of width 4, 25,028,904 parameters."""
    _set(kwargs, "groups", 32)
    _set(kwargs, "width_per_group", 4)
    return _resnet("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], weights, progress, **kwargs)


@register_model("resnext101_32x8d", input_shape=_IMAGENET,
                description="ResNeXt-101 32x8d (torchvision)")
def resnext101_32x8d(*, weights=None, progress=True, **kwargs):
    """ResNeXt-101 32x8d: 88,791,336 parameters."""
    _set(kwargs, "groups", 32)
    _set(kwargs, "width_per_group", 8)
    return _resnet("resnext101_32x8d", Bottleneck, [3, 4, 23, 3], weights, progress, **kwargs)


@register_model("resnext101_64x4d", input_shape=_IMAGENET,
                description="ResNeXt-101 64x4d (torchvision)")
def resnext101_64x4d(*, weights=None, progress=True, **kwargs):
    """ResNeXt-101 64x4d: 83,455,272 parameters."""
    _set(kwargs, "groups", 64)
    _set(kwargs, "width_per_group", 4)
    return _resnet("resnext101_64x4d", Bottleneck, [3, 4, 23, 3], weights, progress, **kwargs)


@register_model("wide_resnet50_2", input_shape=_IMAGENET,
                description="Wide ResNet-50-2 (torchvision)")
def wide_resnet50_2(*, weights=None, progress=True, **kwargs):
    """Wide ResNet-50-2 (Zagoruyko and Komodakis 2016, as torchvision: bottleneck width x2),
    68,883,240 parameters."""
    _set(kwargs, "width_per_group", 64 * 2)
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], weights, progress, **kwargs)


@register_model("wide_resnet101_2", input_shape=_IMAGENET,
                description="Wide ResNet-101-2 (torchvision)")
def wide_resnet101_2(*, weights=None, progress=True, **kwargs):
    """Wide ResNet-101-2: 126,886,696 parameters."""
    _set(kwargs, "width_per_group", 64 * 2)
    return _resnet("wide_resnet101_2", Bottleneck, [3, 4, 23, 3], weights, progress, **kwargs)


# ---------------------------------------------------------------- CIFAR ResNets (section 4.2)

class ShortcutA(nn.Module):
    """Option A shortcut: no parameters. The input subsampled with ``stride`` and zero-padded in
    channels from ``in_planes`` to ``planes`` (half the padding before, half after, as
    Idelbayev's ``F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4))``)."""

    def __init__(self, in_planes, planes, stride):
        super().__init__()
        if planes < in_planes:
            raise ValueError(f"ShortcutA: cannot pad {in_planes} channels down to {planes}")
        self.in_planes, self.planes, self.stride = in_planes, planes, stride
        self._before = (planes - in_planes) // 2
        self._after = planes - in_planes - self._before

    def forward(self, x):
        if self.stride != 1:
            x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self._before, self._after), "constant", 0.0)

    def extra_repr(self):
        return f"{self.in_planes}, {self.planes}, stride={self.stride}"


class CifarBasicBlock(nn.Module):
    """The CIFAR basic block: two 3x3 convolutions with batch norm; the shortcut is the identity
    (an empty Sequential) or, where the shape changes, option A (``ShortcutA``, no parameters) or
    option B (a 1x1 convolution with batch norm)."""
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, option="A"):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            if option == "A":
                self.shortcut = ShortcutA(in_planes, planes, stride)
            elif option == "B":
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                    nn.BatchNorm2d(planes))
            else:
                raise ValueError(f"CifarBasicBlock: option must be 'A' or 'B', got {option!r}")

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class CifarResNet(nn.Module):
    """The 6n+2-layer CIFAR ResNet (He et al. 2016, section 4.2): ``num_blocks`` basic blocks
    per stage at 16, 32 and 64 channels, global average pooling and ``linear``. Input 3x32x32
    (any size works; the pooling is global)."""

    def __init__(self, block, num_blocks, num_classes=10, option="A"):
        super().__init__()
        self.in_planes = 16
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._make_layer(block, 16, num_blocks[0], 1, option)
        self.layer2 = self._make_layer(block, 32, num_blocks[1], 2, option)
        self.layer3 = self._make_layer(block, 64, num_blocks[2], 2, option)
        self.linear = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.kaiming_normal_(m.weight)

    def _make_layer(self, block, planes, blocks, stride, option):
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(block(self.in_planes, planes, s, option))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        _check_channels(self, x, type(self).__name__)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1)
        return self.linear(ganglion.flatten(out, 1))


def _cifar(name, depth, num_classes, option, weights):
    _check_weights(name, weights)
    n = (depth - 2) // 6
    return CifarResNet(CifarBasicBlock, [n, n, n], num_classes=num_classes, option=option)


_CIFAR = (3, 32, 32)


@register_model("resnet20", input_shape=_CIFAR, description="CIFAR ResNet-20 (He et al. 2016)")
def resnet20(num_classes=10, *, option="A", weights=None, progress=True):
    """CIFAR ResNet-20 (n=3), option A shortcuts: 269,722 parameters with 10 classes."""
    return _cifar("resnet20", 20, num_classes, option, weights)


@register_model("resnet32", input_shape=_CIFAR, description="CIFAR ResNet-32 (He et al. 2016)")
def resnet32(num_classes=10, *, option="A", weights=None, progress=True):
    """CIFAR ResNet-32 (n=5): 464,154 parameters with 10 classes."""
    return _cifar("resnet32", 32, num_classes, option, weights)


@register_model("resnet44", input_shape=_CIFAR, description="CIFAR ResNet-44 (He et al. 2016)")
def resnet44(num_classes=10, *, option="A", weights=None, progress=True):
    """CIFAR ResNet-44 (n=7): 658,586 parameters with 10 classes."""
    return _cifar("resnet44", 44, num_classes, option, weights)


@register_model("resnet56", input_shape=_CIFAR, description="CIFAR ResNet-56 (He et al. 2016)")
def resnet56(num_classes=10, *, option="A", weights=None, progress=True):
    """CIFAR ResNet-56 (n=9): 853,018 parameters with 10 classes."""
    return _cifar("resnet56", 56, num_classes, option, weights)


@register_model("resnet110", input_shape=_CIFAR, description="CIFAR ResNet-110 (He et al. 2016)")
def resnet110(num_classes=10, *, option="A", weights=None, progress=True):
    """CIFAR ResNet-110 (n=18): 1,727,962 parameters with 10 classes."""
    return _cifar("resnet110", 110, num_classes, option, weights)
