"""MobileNet v1, v2 and v3: networks built from depthwise-separable convolutions.

* ``mobilenet_v1``: Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for
  Mobile Vision Applications" (arXiv:1704.04861), Table 1: a 3x3 stride-2 convolution, then 13
  depthwise-separable blocks (a 3x3 depthwise convolution, ``groups=channels``, then a 1x1
  pointwise one, each followed by batch norm and a ReLU), global average pooling and one linear
  layer. The width multiplier alpha (``width_mult``) thins every layer to ``int(alpha * C)``
  channels (at least 8). torchvision has no MobileNet v1; the reference followed for what the
  paper leaves open is the authors' TF-slim code (tensorflow/models research/slim/nets/
  mobilenet_v1.py, also keras.applications.MobileNet): ReLU6 activations, batch norm without
  convolution biases, dropout 0.001 before the classifier, and the last depthwise convolution at
  stride 1 (Table 1 prints "s2", a typo: the feature map stays 7x7). At alpha = 1 with 1000
  classes it has 4,231,976 parameters: the paper's "4.2 million" (Table 8), and exactly the
  trainable parameter count keras.applications.MobileNet(alpha=1.0) reports.
* ``mobilenet_v2``: Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks"
  (arXiv:1801.04381), built as torchvision.models.mobilenetv2 builds it (same module tree, so
  torchvision's state dict keys and shapes), 3,504,872 parameters.
  ``mobilenet_v2(cifar=True)`` (registered as ``mobilenet_v2_cifar``, 10 classes) is the 32x32
  variant of chenyaofo/pytorch-cifar-models (pytorch_cifar_models/mobilenetv2.py, itself
  torchvision's code with two strides changed): the stem convolution and the first block of the
  24-channel stage at stride 1 instead of 2, so a 32x32 image reaches the last stage at 4x4 (the
  same change as kuangliu/pytorch-cifar's models/mobilenetv2.py). Same keys as the ImageNet model;
  2,236,682 parameters with 10 classes (that repository's 2.24 M).
* ``mobilenet_v3_small`` / ``mobilenet_v3_large``: Howard et al. 2019, "Searching for
  MobileNetV3" (arXiv:1905.02244), Tables 1 and 2, built as torchvision.models.mobilenetv3
  builds them (Hardswish / Hardsigmoid, squeeze-and-excitation, batch norm eps 0.001 momentum
  0.01), 2,542,856 and 5,483,032 parameters.

The building blocks carry torchvision's names: ``Conv2dNormActivation`` (a Sequential conv, norm,
activation: keys ``features.0.0.weight``, ``features.0.1.running_mean``) and
``SqueezeExcitation`` (``fc1``/``fc2`` 1x1 convolutions: ``block.2.fc1.weight``), as in
torchvision.ops.misc. Weights are initialised as torchvision does: convolutions kaiming normal
(fan_out), batch norm 1/0, linear layers N(0, 0.01) with zero bias. ``weights`` must be None
(nothing is downloaded); published weights load with ``model.load_state_dict``.
"""
from functools import partial

import ganglion as gn
from ganglion import nn
from ganglion.core.errors import ShapeError
from ganglion.core.op import format_shape
from ganglion.models.registry import register_model

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "DepthwiseSeparableConv", "MobileNetV1",
           "InvertedResidual", "MobileNetV2", "InvertedResidualConfig", "InvertedResidualV3",
           "MobileNetV3", "mobilenet_v1", "mobilenet_v2", "mobilenet_v2_cifar",
           "mobilenet_v3_small", "mobilenet_v3_large"]


def _make_divisible(v, divisor, min_value=None):
    """``v`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``), never more
    than 10% below ``v``: the channel rounding of the TensorFlow MobileNet code and torchvision."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _check_weights(builder, weights):
    if weights is not None:
        raise ValueError(f"{builder}: weights={weights!r} is not supported: ganglion downloads "
                         f"nothing. Build the model with weights=None and load a state dict "
                         f"saved by PyTorch with model.load_state_dict(...)")


def _check_input(model, input, channels=3):
    """One comparison on the fast path; a wrong rank or channel count names the model, its first
    layer and the shape it expects."""
    shape = input.shape
    if len(shape) == 4 and shape[1] in (channels, None):
        return
    raise ShapeError(f"{type(model).__name__}: expected input of shape (N, {channels}, H, W) "
                     f"(features.0.0 is Conv2d({channels}, ...)), got {format_shape(shape)}")


def _init_weights(model):
    """torchvision's MobileNet initialisation."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class Conv2dNormActivation(nn.Sequential):
    """Conv2d, then a norm layer, then an activation, as torchvision.ops.misc.Conv2dNormActivation:
    children ``0`` (conv), ``1`` (norm, if any), ``2`` (activation, if any). The convolution has
    a bias only without a norm layer (``bias=None``); padding defaults to ``(k - 1) // 2 *
    dilation`` ("same" at stride 1)."""

    def __init__(self, in_channels, out_channels, kernel_size=3, stride=1, padding=None, groups=1,
                 norm_layer=nn.BatchNorm2d, activation_layer=nn.ReLU, dilation=1, inplace=True,
                 bias=None):
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        if bias is None:
            bias = norm_layer is None
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding,
                            dilation=dilation, groups=groups, bias=bias)]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            kwargs = {} if inplace is None else {"inplace": inplace}
            layers.append(activation_layer(**kwargs))
        super().__init__(*layers)
        self.out_channels = out_channels


class SqueezeExcitation(nn.Module):
    """Hu et al. 2018's squeeze-and-excitation, as torchvision.ops.misc.SqueezeExcitation:
    global average pool, ``fc1`` (1x1 conv to ``squeeze_channels``), ``activation``, ``fc2``
    (back to ``input_channels``), ``scale_activation``, and the input scaled channel-wise."""

    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU,
                 scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, input):
        scale = self.avgpool(input)
        scale = self.fc2(self.activation(self.fc1(scale)))
        return self.scale_activation(scale) * input


# ---------------------------------------------------------------------------------------------
# MobileNet v1


class DepthwiseSeparableConv(nn.Module):
    """MobileNet v1's block (Howard et al. 2017, Figure 3): ``dw``, a 3x3 depthwise convolution
    (one filter per channel, ``groups=in_channels``) with norm and activation, then ``pw``, a 1x1
    pointwise convolution mixing the channels, with norm and activation."""

    def __init__(self, in_channels, out_channels, stride=1, norm_layer=nn.BatchNorm2d,
                 activation_layer=nn.ReLU6):
        super().__init__()
        self.dw = Conv2dNormActivation(in_channels, in_channels, 3, stride, groups=in_channels,
                                       norm_layer=norm_layer, activation_layer=activation_layer)
        self.pw = Conv2dNormActivation(in_channels, out_channels, 1, norm_layer=norm_layer,
                                       activation_layer=activation_layer)
        self.out_channels = out_channels

    def forward(self, input):
        return self.pw(self.dw(input))


# (output channels, stride) of the 13 depthwise-separable blocks, Howard et al. 2017 Table 1.
_V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
              (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]


class MobileNetV1(nn.Module):
    """MobileNet v1: ``features`` (the stem Conv2dNormActivation, then 13 DepthwiseSeparableConv
    blocks), ``avgpool``, ``classifier`` (Dropout, Linear). ``width_mult`` is the paper's width
    multiplier alpha: every layer gets ``max(int(alpha * C), min_channels)`` channels, as TF-slim's
    ``depth_multiplier``. Any input of at least 1x1 works (adaptive pooling); 224x224 is the
    paper's, with 5 stride-2 layers: 224 -> 7."""

    def __init__(self, num_classes=1000, width_mult=1.0, dropout=0.001, min_channels=8,
                 norm_layer=None, activation_layer=None):
        super().__init__()
        if width_mult <= 0:
            raise ValueError(f"MobileNetV1: width_mult must be positive, got {width_mult}")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        activation_layer = nn.ReLU6 if activation_layer is None else activation_layer

        def depth(c):
            return max(int(c * width_mult), min_channels)

        channels = depth(32)
        layers = [Conv2dNormActivation(3, channels, 3, stride=2, norm_layer=norm_layer,
                                       activation_layer=activation_layer)]
        for c, stride in _V1_BLOCKS:
            layers.append(DepthwiseSeparableConv(channels, depth(c), stride, norm_layer,
                                                 activation_layer))
            channels = depth(c)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(channels, num_classes))
        self.last_channel = channels
        _init_weights(self)

    def forward(self, x):
        _check_input(self, x)
        x = self.avgpool(self.features(x))
        return self.classifier(gn.flatten(x, 1))


# ---------------------------------------------------------------------------------------------
# MobileNet v2


class InvertedResidual(nn.Module):
    """MobileNet v2's inverted residual block (Sandler et al. 2018, Table 1), as torchvision's:
    ``conv`` holds a 1x1 expansion Conv2dNormActivation (ReLU6; absent when ``expand_ratio`` is
    1), the 3x3 depthwise Conv2dNormActivation (ReLU6), then the linear bottleneck: a 1x1 Conv2d
    and a norm layer with no activation. The input is added back at stride 1 when the widths
    match."""

    def __init__(self, inp, oup, stride, expand_ratio, norm_layer=None):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride should be 1 or 2, got {stride}")
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        self.stride = stride
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim,
                                 norm_layer=norm_layer, activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            norm_layer(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup
        self._is_cn = stride > 1

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    """MobileNet v2 as torchvision.models.MobileNetV2: ``features`` (stem, 17 InvertedResidual
    blocks, the 1x1 conv to ``last_channel``), global average pooling, ``classifier`` (Dropout,
    Linear). ``inverted_residual_setting`` is the paper's table of (t, c, n, s) rows;
    ``round_nearest`` the multiple the channels round to. ``cifar=True`` sets the stem's stride
    to 1 and, with the default setting, the 24-channel stage's to 1 (chenyaofo's CIFAR port)."""

    def __init__(self, num_classes=1000, width_mult=1.0, inverted_residual_setting=None,
                 round_nearest=8, block=None, norm_layer=None, dropout=0.2, cifar=False):
        super().__init__()
        block = InvertedResidual if block is None else block
        norm_layer = nn.BatchNorm2d if norm_layer is None else norm_layer
        input_channel = 32
        last_channel = 1280
        if inverted_residual_setting is None:
            inverted_residual_setting = [
                # t, c, n, s
                [1, 16, 1, 1],
                [6, 24, 2, 1 if cifar else 2],
                [6, 32, 3, 2],
                [6, 64, 4, 2],
                [6, 96, 3, 1],
                [6, 160, 3, 2],
                [6, 320, 1, 1],
            ]
        if len(inverted_residual_setting) == 0 or len(inverted_residual_setting[0]) != 4:
            raise ValueError("MobileNetV2: inverted_residual_setting should be a non-empty list "
                             f"of 4-element [t, c, n, s] lists, got {inverted_residual_setting}")
        input_channel = _make_divisible(input_channel * width_mult, round_nearest)
        self.last_channel = _make_divisible(last_channel * max(1.0, width_mult), round_nearest)
        features = [Conv2dNormActivation(3, input_channel, stride=1 if cifar else 2,
                                         norm_layer=norm_layer, activation_layer=nn.ReLU6)]
        for t, c, n, s in inverted_residual_setting:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(block(input_channel, output_channel, s if i == 0 else 1,
                                      expand_ratio=t, norm_layer=norm_layer))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1,
                                             norm_layer=norm_layer, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout),
                                        nn.Linear(self.last_channel, num_classes))
        _init_weights(self)

    def forward(self, x):
        _check_input(self, x)
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(gn.flatten(x, 1))


# ---------------------------------------------------------------------------------------------
# MobileNet v3


class InvertedResidualConfig:
    """One row of MobileNetV3's Tables 1 and 2: input, kernel, expanded and output channels,
    squeeze-excitation, activation ("RE" ReLU or "HS" Hardswish), stride and dilation."""

    def __init__(self, input_channels, kernel, expanded_channels, out_channels, use_se,
                 activation, stride, dilation, width_mult):
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels, width_mult):
        return _make_divisible(channels * width_mult, 8)


class InvertedResidualV3(nn.Module):
    """MobileNetV3's block (Howard et al. 2019, section 5; torchvision's mobilenetv3
    InvertedResidual): ``block`` holds the 1x1 expansion (absent when the widths are equal), the
    kxk depthwise convolution, a SqueezeExcitation with a Hardsigmoid gate (squeeze to
    ``make_divisible(expanded // 4, 8)``), and the linear 1x1 projection."""

    def __init__(self, cnf, norm_layer, se_layer=partial(SqueezeExcitation,
                                                          scale_activation=nn.Hardsigmoid)):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError(f"InvertedResidual: illegal stride value {cnf.stride}")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
        layers = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.expanded_channels,
                                               kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=activation_layer))
        stride = 1 if cnf.dilation > 1 else cnf.stride
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.expanded_channels,
                                           kernel_size=cnf.kernel, stride=stride,
                                           dilation=cnf.dilation, groups=cnf.expanded_channels,
                                           norm_layer=norm_layer,
                                           activation_layer=activation_layer))
        if cnf.use_se:
            squeeze_channels = _make_divisible(cnf.expanded_channels // 4, 8)
            layers.append(se_layer(cnf.expanded_channels, squeeze_channels))
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels
        self._is_cn = cnf.stride > 1

    def forward(self, input):
        result = self.block(input)
        if self.use_res_connect:
            result = result + input
        return result


class MobileNetV3(nn.Module):
    """MobileNetV3 as torchvision.models.MobileNetV3: ``features`` (Hardswish stem, the blocks,
    a 1x1 conv to 6x the last width), ``avgpool``, ``classifier`` (Linear to ``last_channel``,
    Hardswish, Dropout, Linear). Batch norm defaults to eps 0.001, momentum 0.01."""

    def __init__(self, inverted_residual_setting, last_channel, num_classes=1000, block=None,
                 norm_layer=None, dropout=0.2):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("MobileNetV3: the inverted_residual_setting should not be empty")
        if not all(isinstance(s, InvertedResidualConfig) for s in inverted_residual_setting):
            raise TypeError("MobileNetV3: the inverted_residual_setting should be a list of "
                            "InvertedResidualConfig")
        block = InvertedResidualV3 if block is None else block
        if norm_layer is None:
            norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        first = inverted_residual_setting[0].input_channels
        layers = [Conv2dNormActivation(3, first, kernel_size=3, stride=2, norm_layer=norm_layer,
                                       activation_layer=nn.Hardswish)]
        for cnf in inverted_residual_setting:
            layers.append(block(cnf, norm_layer))
        lastconv_input = inverted_residual_setting[-1].out_channels
        lastconv_output = 6 * lastconv_input
        layers.append(Conv2dNormActivation(lastconv_input, lastconv_output, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(lastconv_output, last_channel),
            nn.Hardswish(inplace=True),
            nn.Dropout(p=dropout, inplace=True),
            nn.Linear(last_channel, num_classes),
        )
        _init_weights(self)

    def forward(self, x):
        _check_input(self, x)
        x = self.avgpool(self.features(x))
        return self.classifier(gn.flatten(x, 1))


def _mobilenet_v3_conf(arch, width_mult=1.0, reduced_tail=False, dilated=False):
    """The block settings of Tables 1 (large) and 2 (small), as torchvision lists them;
    ``reduced_tail`` halves the last stage, ``dilated`` dilates it instead of striding."""
    reduce_divider = 2 if reduced_tail else 1
    dilation = 2 if dilated else 1
    bneck = partial(InvertedResidualConfig, width_mult=width_mult)
    adjust_channels = partial(InvertedResidualConfig.adjust_channels, width_mult=width_mult)
    r = reduce_divider
    if arch == "mobilenet_v3_large":
        setting = [
            bneck(16, 3, 16, 16, False, "RE", 1, 1),
            bneck(16, 3, 64, 24, False, "RE", 2, 1),  # C1
            bneck(24, 3, 72, 24, False, "RE", 1, 1),
            bneck(24, 5, 72, 40, True, "RE", 2, 1),  # C2
            bneck(40, 5, 120, 40, True, "RE", 1, 1),
            bneck(40, 5, 120, 40, True, "RE", 1, 1),
            bneck(40, 3, 240, 80, False, "HS", 2, 1),  # C3
            bneck(80, 3, 200, 80, False, "HS", 1, 1),
            bneck(80, 3, 184, 80, False, "HS", 1, 1),
            bneck(80, 3, 184, 80, False, "HS", 1, 1),
            bneck(80, 3, 480, 112, True, "HS", 1, 1),
            bneck(112, 3, 672, 112, True, "HS", 1, 1),
            bneck(112, 5, 672, 160 // r, True, "HS", 2, dilation),  # C4
            bneck(160 // r, 5, 960 // r, 160 // r, True, "HS", 1, dilation),
            bneck(160 // r, 5, 960 // r, 160 // r, True, "HS", 1, dilation),
        ]
        last_channel = adjust_channels(1280 // r)  # C5
    elif arch == "mobilenet_v3_small":
        setting = [
            bneck(16, 3, 16, 16, True, "RE", 2, 1),  # C1
            bneck(16, 3, 72, 24, False, "RE", 2, 1),  # C2
            bneck(24, 3, 88, 24, False, "RE", 1, 1),
            bneck(24, 5, 96, 40, True, "HS", 2, 1),  # C3
            bneck(40, 5, 240, 40, True, "HS", 1, 1),
            bneck(40, 5, 240, 40, True, "HS", 1, 1),
            bneck(40, 5, 120, 48, True, "HS", 1, 1),
            bneck(48, 5, 144, 48, True, "HS", 1, 1),
            bneck(48, 5, 288, 96 // r, True, "HS", 2, dilation),  # C4
            bneck(96 // r, 5, 576 // r, 96 // r, True, "HS", 1, dilation),
            bneck(96 // r, 5, 576 // r, 96 // r, True, "HS", 1, dilation),
        ]
        last_channel = adjust_channels(1024 // r)  # C5
    else:
        raise ValueError(f"unsupported MobileNetV3 model type {arch!r}")
    return setting, last_channel


# ---------------------------------------------------------------------------------------------
# Builders


@register_model("mobilenet_v1", input_shape=(3, 224, 224),
                description="MobileNet v1 (Howard et al. 2017), depthwise-separable convolutions")
def mobilenet_v1(*, weights=None, progress=True, num_classes=1000, width_mult=1.0, dropout=0.001,
                 **kwargs):
    """MobileNet v1; ``width_mult`` is the paper's alpha (1.0, 0.75, 0.5, 0.25 in Table 6).
    4,231,976 parameters at alpha = 1 with 1000 classes."""
    _check_weights("mobilenet_v1", weights)
    return MobileNetV1(num_classes=num_classes, width_mult=width_mult, dropout=dropout, **kwargs)


@register_model("mobilenet_v2", input_shape=(3, 224, 224),
                description="MobileNetV2 (Sandler et al. 2018), torchvision's layout")
def mobilenet_v2(*, weights=None, progress=True, num_classes=1000, width_mult=1.0,
                 round_nearest=8, dropout=0.2, cifar=False, **kwargs):
    """MobileNetV2 as torchvision's ``mobilenet_v2`` (3,504,872 parameters); ``cifar=True`` for
    32x32 inputs (stem and second stage at stride 1, chenyaofo/pytorch-cifar-models)."""
    _check_weights("mobilenet_v2", weights)
    return MobileNetV2(num_classes=num_classes, width_mult=width_mult, round_nearest=round_nearest,
                       dropout=dropout, cifar=cifar, **kwargs)


@register_model("mobilenet_v2_cifar", input_shape=(3, 32, 32),
                description="MobileNetV2 for 32x32 CIFAR images (stem and stage 2 at stride 1)")
def mobilenet_v2_cifar(*, weights=None, progress=True, num_classes=10, **kwargs):
    """``mobilenet_v2(cifar=True)`` with 10 classes: 2,236,682 parameters."""
    _check_weights("mobilenet_v2_cifar", weights)
    return mobilenet_v2(num_classes=num_classes, cifar=True, **kwargs)


def _mobilenet_v3(arch, weights, num_classes, width_mult, reduced_tail, dilated, dropout,
                  kwargs):
    _check_weights(arch, weights)
    setting, last_channel = _mobilenet_v3_conf(arch, width_mult, reduced_tail, dilated)
    return MobileNetV3(setting, last_channel, num_classes=num_classes, dropout=dropout, **kwargs)


@register_model("mobilenet_v3_small", input_shape=(3, 224, 224),
                description="MobileNetV3-Small (Howard et al. 2019), torchvision's layout")
def mobilenet_v3_small(*, weights=None, progress=True, num_classes=1000, width_mult=1.0,
                       reduced_tail=False, dilated=False, dropout=0.2, **kwargs):
    """MobileNetV3-Small as torchvision's ``mobilenet_v3_small`` (2,542,856 parameters)."""
    return _mobilenet_v3("mobilenet_v3_small", weights, num_classes, width_mult, reduced_tail,
                         dilated, dropout, kwargs)


@register_model("mobilenet_v3_large", input_shape=(3, 224, 224),
                description="MobileNetV3-Large (Howard et al. 2019), torchvision's layout")
def mobilenet_v3_large(*, weights=None, progress=True, num_classes=1000, width_mult=1.0,
                       reduced_tail=False, dilated=False, dropout=0.2, **kwargs):
    """MobileNetV3-Large as torchvision's ``mobilenet_v3_large`` (5,483,032 parameters)."""
    return _mobilenet_v3("mobilenet_v3_large", weights, num_classes, width_mult, reduced_tail,
                         dilated, dropout, kwargs)
