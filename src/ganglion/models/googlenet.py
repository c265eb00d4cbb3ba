"""GoogLeNet (Inception v1): Szegedy et al., "Going Deeper with Convolutions", CVPR 2015
(arXiv:1409.4842), built as torchvision 0.28 builds it (``torchvision/models/googlenet.py``), so
submodule names, parameter shapes and ``state_dict()`` keys are torchvision's and a torchvision
state dict loads with ``strict=True``.

What torchvision (and so this module) does differently from the paper:

- every convolution is a ``BasicConv2d``: convolution without bias, BatchNorm (eps 0.001), ReLU
  (the paper predates batch norm; this is the "Inception v1 with BN" that TensorFlow's slim
  weights, ported to torchvision, use);
- the "5x5" branch of each Inception block is a 3x3 convolution (a known bug of the port kept for
  weight compatibility, pytorch/vision#906);
- the auxiliary heads average-pool adaptively to 4x4 (the paper: 5x5 average pool, stride 3), and
  max pooling uses ``ceil_mode=True`` as Caffe did.

Parameters at 1000 classes: 6,624,904 without the auxiliary heads (``googlenet()``) and
13,004,888 with them (``googlenet(aux_logits=True)``). The smallest input is 15x15; 224x224 is
the size the network was designed for. In training mode with ``aux_logits=True`` the forward
returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)`` exactly as torchvision does,
which means (logits, the logits of head ``aux1`` (after inception4a), those of ``aux2`` (after
inception4d)): torchvision's field names are swapped against its head names, and the values are
kept where torchvision puts them. In eval mode, or without auxiliary heads, the logits.

One difference from torchvision's builder: ``googlenet()`` defaults to ``aux_logits=False`` (the
6,624,904-parameter network torchvision's published weights describe), where torchvision's
``googlenet()`` without weights builds the heads; the ``GoogLeNet`` class keeps torchvision's
default ``aux_logits=True``.
"""
from collections import namedtuple

import ganglion as gn
from ganglion import nn
from ganglion.core.errors import ShapeError
from ganglion.models.registry import register_model
from ganglion.nn import functional as F

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "_GoogLeNetOutputs", "Inception", "InceptionAux",
           "BasicConv2d", "googlenet"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
_GoogLeNetOutputs = GoogLeNetOutputs  # torchvision's backwards-compatible alias

# ImageNet's per-channel mean and std: transform_input maps inputs normalised with them to the
# [-1, 1] scaling the TensorFlow-trained weights expect.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def check_weights(builder, weights):
    """``weights=None`` only: the zoo downloads nothing (pretrained weights come from a file)."""
    if weights is not None:
        raise ValueError(f"{builder}: weights={weights!r} is not available: ganglion downloads no "
                         f"weights; build {builder}(weights=None) and load a torchvision state "
                         "dict from a file with model.load_state_dict(...)")


def check_input(model, x, min_size, why=""):
    """A clear error for an input that is not (N, C, H, W) with the first convolution's C
    channels, or is smaller than ``min_size`` x ``min_size``; costs a few comparisons."""
    shape = tuple(x.shape)
    channels = model._in_channels
    if len(shape) != 4 or shape[1] != channels:
        raise ShapeError(f"{type(model).__name__}: expected input of shape (N, {channels}, H, W) "
                         f"(its first layer {model._first_layer} is a Conv2d({channels}, ...)), "
                         f"got {shape}")
    if shape[2] < min_size or shape[3] < min_size:
        raise ShapeError(f"{type(model).__name__}: input of spatial size {shape[2]}x{shape[3]} is "
                         f"smaller than the {min_size}x{min_size} minimum{why}")


def transform_input(x):
    """torchvision's ``_transform_input``: undo ImageNet normalisation, rescale to [-1, 1]."""
    channels = [gn.unsqueeze(x[:, c], 1) * (_STD[c] / 0.5) + (_MEAN[c] - 0.5) / 0.5
                for c in range(3)]
    return gn.cat(channels, 1)


class BasicConv2d(nn.Module):
    """Convolution (no bias) -> BatchNorm2d(eps=0.001) -> ReLU; ``kwargs`` go to ``nn.Conv2d``."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """The Inception v1 block: four parallel branches concatenated along the channels,

    1x1 (``ch1x1``) | 1x1 (``ch3x3red``) -> 3x3 (``ch3x3``) | 1x1 (``ch5x5red``) -> "5x5"
    (``ch5x5``; a 3x3 in torchvision's port, kept for weight compatibility) | 3x3 max pool ->
    1x1 (``pool_proj``). The 1x1 reductions before the large kernels are what makes the block
    cheap; the output has ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels at the input's size.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj,
                 conv_block=None):
        super().__init__()
        conv_block = BasicConv2d if conv_block is None else conv_block
        self.branch1 = conv_block(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_block(in_channels, ch3x3red, kernel_size=1),
            conv_block(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(
            conv_block(in_channels, ch5x5red, kernel_size=1),
            conv_block(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
            conv_block(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return gn.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """GoogLeNet's auxiliary classifier: adaptive 4x4 average pool -> 1x1 conv (128) -> fc 1024
    -> ReLU -> dropout (0.7) -> fc ``num_classes``. Used in training only."""

    def __init__(self, in_channels, num_classes, conv_block=None, dropout=0.7):
        super().__init__()
        conv_block = BasicConv2d if conv_block is None else conv_block
        self.conv = conv_block(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4)))
        x = F.relu(self.fc1(gn.flatten(x, 1)), inplace=True)
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    """GoogLeNet / Inception v1 (torchvision's ``GoogLeNet``, same arguments).

    ``blocks`` replaces ``[BasicConv2d, Inception, InceptionAux]``. ``init_weights`` (None means
    True; torchvision warns there about a since-removed slow SciPy path) draws convolution and
    linear weights from a normal distribution with std 0.01 truncated to [-2, 2], and sets batch
    norm to weight 1, bias 0; linear biases keep their default initialisation.
    """

    _first_layer = "conv1"
    _in_channels = 3
    _min_size = 15

    def __init__(self, num_classes=1000, aux_logits=True, transform_input=False,
                 init_weights=None, blocks=None, dropout=0.2, dropout_aux=0.7):
        super().__init__()
        if blocks is None:
            blocks = [BasicConv2d, Inception, InceptionAux]
        if len(blocks) != 3:
            raise ValueError(f"GoogLeNet: blocks must list 3 block types (conv, inception, aux), "
                             f"got {len(blocks)}")
        conv_block, inception_block, inception_aux_block = blocks
        self.aux_logits = aux_logits
        self.transform_input = transform_input

        self.conv1 = conv_block(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = conv_block(64, 64, kernel_size=1)
        self.conv3 = conv_block(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception3a = inception_block(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = inception_block(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        self.inception4a = inception_block(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = inception_block(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = inception_block(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = inception_block(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = inception_block(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)

        self.inception5a = inception_block(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = inception_block(832, 384, 192, 384, 48, 128, 128)

        if aux_logits:
            self.aux1 = inception_aux_block(512, num_classes, dropout=dropout_aux)
            self.aux2 = inception_aux_block(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = None
            self.aux2 = None

        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)

        if init_weights is None or init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x):
        return transform_input(x) if self.transform_input else x

    def _forward(self, x):
        x = self.maxpool1(self.conv1(x))                     # N x 64 x 56 x 56 (at 224)
        x = self.maxpool2(self.conv3(self.conv2(x)))         # N x 192 x 28 x 28
        x = self.maxpool3(self.inception3b(self.inception3a(x)))   # N x 480 x 14 x 14
        x = self.inception4a(x)                              # N x 512 x 14 x 14
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # N x 528 x 14 x 14
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))               # N x 832 x 7 x 7
        x = self.inception5b(self.inception5a(x))            # N x 1024 x 7 x 7
        x = gn.flatten(self.avgpool(x), 1)                   # N x 1024
        x = self.fc(self.dropout(x))                         # N x num_classes
        return x, aux2, aux1

    def eager_outputs(self, x, aux2, aux1):
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x

    def forward(self, x):
        check_input(self, x, self._min_size)
        x = self._transform_input(x)
        x, aux2, aux1 = self._forward(x)
        # torchvision's forward unpacks _forward's (x, aux2, aux1) as (x, aux1, aux2), so its
        # GoogLeNetOutputs holds the aux1 head's logits (after inception4a) in the field named
        # aux_logits2 and the aux2 head's (after inception4d) in aux_logits1; kept as it is.
        return self.eager_outputs(x, aux1, aux2)


@register_model("googlenet", input_shape=(3, 224, 224),
                description="GoogLeNet / Inception v1 (Szegedy et al. 2014), torchvision layout")
def googlenet(*, weights=None, progress=True, num_classes=1000, aux_logits=False,
              transform_input=False, init_weights=None, dropout=0.2, dropout_aux=0.7):
    """GoogLeNet (Inception v1) from "Going Deeper with Convolutions" (arXiv:1409.4842), as
    torchvision builds it: 6,624,904 parameters, 13,004,888 with ``aux_logits=True``.

    ``weights`` must be None (no downloads; ``progress`` is accepted and unused). Inputs are
    N x 3 x H x W with H, W >= 15 (224 as designed). See the module docstring for the one
    default that differs from torchvision's builder (``aux_logits=False``).
    """
    check_weights("googlenet", weights)
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits,
                     transform_input=transform_input, init_weights=init_weights, dropout=dropout,
                     dropout_aux=dropout_aux)
