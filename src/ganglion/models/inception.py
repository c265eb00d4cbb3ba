"""Inception v3: Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
CVPR 2016 (arXiv:1512.00567), built as torchvision 0.28 builds it (``torchvision/models/
inception.py``): same submodule names (``Conv2d_1a_3x3``, ``Mixed_5b``, ``AuxLogits``...), parameter
shapes and ``state_dict()`` keys, so a torchvision state dict loads with ``strict=True``.

The blocks are reusable modules; each docstring says which of the paper's factorizations it uses:

- ``InceptionA`` (35x35 grid, the paper's figure 5): a 5x5 convolution is replaced by two stacked
  3x3 convolutions (same 5x5 receptive field, 2 * 9 / 25 = 72% of the weights). torchvision's
  port (from TensorFlow) keeps one real 5x5 branch next to the double-3x3 branch;
- ``InceptionB`` / ``InceptionD``: grid-size reduction (35 -> 17, 17 -> 8) with stride-2
  convolution branches in parallel with a stride-2 max pool (section 5, figure 10);
- ``InceptionC`` (17x17, figure 6): an n x n convolution is factorized into 1 x n followed by
  n x 1 (n = 7: 2 * 7 / 49 = 29% of the weights of a 7x7);
- ``InceptionE`` (8x8, figure 7): 3x3 expanded into parallel 1x3 and 3x1 branches whose outputs
  are concatenated (a 1x3 + 3x1 pair has 6 / 9 = 67% of a 3x3's weights, saving 33%);
- ``InceptionAux``: the auxiliary classifier on the 17x17 grid (section 4).

Every convolution is a ``BasicConv2d`` (conv without bias, BatchNorm eps 0.001, ReLU), shared
with ``ganglion.models.googlenet``. Parameters at 1000 classes: 23,834,568 without the auxiliary
head (``inception_v3()``) and 27,161,264 with it (``inception_v3(aux_logits=True)``). Inputs are
N x 3 x 299 x 299 as designed; without the auxiliary head (or in eval mode) 75x75 is the minimum,
and the auxiliary head (run in training mode only) needs 299x299 (its 5x5 / stride 3 pooling must
leave 5x5 of the 17x17 grid). In training mode with ``aux_logits=True`` the forward returns
``InceptionOutputs(logits, aux_logits)``, otherwise the logits.

One difference from torchvision's builder: ``inception_v3()`` defaults to ``aux_logits=False``
(the 23,834,568-parameter network), where torchvision's builds the head; the ``Inception3`` class
keeps torchvision's default ``aux_logits=True``.
"""
from collections import namedtuple

import ganglion as gn
from ganglion import nn
from ganglion.models.googlenet import BasicConv2d, check_input, check_weights, transform_input
from ganglion.models.registry import register_model
from ganglion.nn import functional as F

__all__ = ["Inception3", "InceptionOutputs", "_InceptionOutputs", "InceptionA", "InceptionB",
           "InceptionC", "InceptionD", "InceptionE", "InceptionAux", "BasicConv2d",
           "inception_v3"]

InceptionOutputs = namedtuple("InceptionOutputs", ["logits", "aux_logits"])
_InceptionOutputs = InceptionOutputs  # torchvision's backwards-compatible alias


def _conv(conv_block):
    return BasicConv2d if conv_block is None else conv_block


class InceptionA(nn.Module):
    """The 35x35 Inception block (paper figure 5): the 5x5 -> two 3x3 factorization.

    Branches: 1x1 (64) | 1x1 (48) -> 5x5 (64) | 1x1 (64) -> 3x3 (96) -> 3x3 (96) | 3x3 average
    pool -> 1x1 (``pool_features``). The double 3x3 branch sees a 5x5 window with 2 * 9 = 18
    weights per channel pair instead of 25 (72%), with a nonlinearity in between. Output:
    224 + ``pool_features`` channels at the input's size.
    """

    def __init__(self, in_channels, pool_features, conv_block=None):
        super().__init__()
        conv_block = _conv(conv_block)
        self.branch1x1 = conv_block(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = conv_block(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = conv_block(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = conv_block(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = conv_block(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv_block(96, 96, kernel_size=3, padding=1)
        self.branch_pool = conv_block(in_channels, pool_features, kernel_size=1)

    def _forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return [branch1x1, branch5x5, branch3x3dbl, branch_pool]

    def forward(self, x):
        return gn.cat(self._forward(x), 1)


class InceptionB(nn.Module):
    """Grid reduction 35x35 -> 17x17 (paper section 5, figure 10): stride-2 branches in parallel
    with a stride-2 max pool, so the representation shrinks without a bottleneck.

    Branches: 3x3 stride 2 (384) | 1x1 (64) -> 3x3 (96) -> 3x3 stride 2 (96) (the double 3x3 again)
    | 3x3 max pool stride 2 (the input's channels). Output: 480 + ``in_channels`` channels.
    """

    def __init__(self, in_channels, conv_block=None):
        super().__init__()
        conv_block = _conv(conv_block)
        self.branch3x3 = conv_block(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = conv_block(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = conv_block(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = conv_block(96, 96, kernel_size=3, stride=2)

    def _forward(self, x):
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return [branch3x3, branch3x3dbl, branch_pool]

    def forward(self, x):
        return gn.cat(self._forward(x), 1)


class InceptionC(nn.Module):
    """The 17x17 Inception block (paper figure 6): the n x n -> 1 x n + n x 1 factorization, n = 7.

    A 7x7 convolution (49 weights per channel pair) becomes a 1x7 followed by a 7x1 (14, i.e. 29%)
    with the same receptive field. Branches: 1x1 (192) | 1x1 (c7) -> 1x7 (c7) -> 7x1 (192) | 1x1
    (c7) -> 7x1 -> 1x7 -> 7x1 -> 1x7 (192; two factorized 7x7s) | 3x3 average pool -> 1x1 (192),
    with c7 = ``channels_7x7``. Output: 768 channels at the input's size.
    """

    def __init__(self, in_channels, channels_7x7, conv_block=None):
        super().__init__()
        conv_block = _conv(conv_block)
        c7 = channels_7x7
        self.branch1x1 = conv_block(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = conv_block(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = conv_block(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = conv_block(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = conv_block(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = conv_block(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = conv_block(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = conv_block(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = conv_block(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = conv_block(in_channels, 192, kernel_size=1)

    def _forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b = self.branch7x7dbl_1(x)
        b = self.branch7x7dbl_3(self.branch7x7dbl_2(b))
        branch7x7dbl = self.branch7x7dbl_5(self.branch7x7dbl_4(b))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return [branch1x1, branch7x7, branch7x7dbl, branch_pool]

    def forward(self, x):
        return gn.cat(self._forward(x), 1)


class InceptionD(nn.Module):
    """Grid reduction 17x17 -> 8x8 (paper figure 10 at the second reduction).

    Branches: 1x1 (192) -> 3x3 stride 2 (320) | 1x1 (192) -> 1x7 -> 7x1 (the factorized 7x7) ->
    3x3 stride 2 (192) | 3x3 max pool stride 2. Output: 512 + ``in_channels`` channels.
    """

    def __init__(self, in_channels, conv_block=None):
        super().__init__()
        conv_block = _conv(conv_block)
        self.branch3x3_1 = conv_block(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = conv_block(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = conv_block(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = conv_block(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = conv_block(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = conv_block(192, 192, kernel_size=3, stride=2)

    def _forward(self, x):
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        b = self.branch7x7x3_2(self.branch7x7x3_1(x))
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(b))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return [branch3x3, branch7x7x3, branch_pool]

    def forward(self, x):
        return gn.cat(self._forward(x), 1)


class InceptionE(nn.Module):
    """The 8x8 Inception block (paper figure 7): 3x3 expanded into parallel 1x3 and 3x1.

    On the coarsest grid the factorized 1x3 / 3x1 pair runs side by side (outputs concatenated)
    rather than stacked, widening the representation (a 1x3 + 3x1 pair has 6/9 of a 3x3's weights).
    Branches: 1x1 (320) | 1x1 (384) -> [1x3 (384), 3x1 (384)] | 1x1 (448) -> 3x3 (384) -> [1x3
    (384), 3x1 (384)] | 3x3 average pool -> 1x1 (192). Output: 2048 channels.
    """

    def __init__(self, in_channels, conv_block=None):
        super().__init__()
        conv_block = _conv(conv_block)
        self.branch1x1 = conv_block(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = conv_block(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = conv_block(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = conv_block(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = conv_block(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = conv_block(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = conv_block(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = conv_block(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = conv_block(in_channels, 192, kernel_size=1)

    def _forward(self, x):
        branch1x1 = self.branch1x1(x)
        b = self.branch3x3_1(x)
        branch3x3 = gn.cat([self.branch3x3_2a(b), self.branch3x3_2b(b)], 1)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = gn.cat([self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b)], 1)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return [branch1x1, branch3x3, branch3x3dbl, branch_pool]

    def forward(self, x):
        return gn.cat(self._forward(x), 1)


class InceptionAux(nn.Module):
    """Inception v3's auxiliary classifier on the 17x17 grid (paper section 4): 5x5 average pool
    stride 3 -> 1x1 (128) -> 5x5 (768) -> global average pool -> fc ``num_classes``. It needs a
    17x17 input (299x299 images). ``stddev`` attributes are torchvision's initialisation hints."""

    def __init__(self, in_channels, num_classes, conv_block=None):
        super().__init__()
        conv_block = _conv(conv_block)
        self.conv0 = conv_block(in_channels, 128, kernel_size=1)
        self.conv1 = conv_block(128, 768, kernel_size=5)
        # As in torchvision: the hint sits on the BasicConv2d, not on its Conv2d, so Inception3's
        # initialisation (which looks at Conv2d and Linear modules) uses it only for self.fc.
        self.conv1.stddev = 0.01
        self.fc = nn.Linear(768, num_classes)
        self.fc.stddev = 0.001

    def forward(self, x):
        x = F.avg_pool2d(x, kernel_size=5, stride=3)        # N x 768 x 5 x 5
        x = self.conv1(self.conv0(x))                       # N x 768 x 1 x 1
        x = gn.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
        return self.fc(x)


class Inception3(nn.Module):
    """Inception v3 (torchvision's ``Inception3``, same arguments).

    ``inception_blocks`` replaces ``[BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD,
    InceptionE, InceptionAux]``. ``init_weights`` (None means True) draws every Conv2d and Linear
    weight from a normal distribution with std 0.1 (0.001 for the auxiliary fc) truncated to
    [-2, 2], and sets batch norm to weight 1, bias 0, as torchvision does.
    """

    _first_layer = "Conv2d_1a_3x3"
    _in_channels = 3
    _min_size = 75
    _min_size_aux = 299

    def __init__(self, num_classes=1000, aux_logits=True, transform_input=False,
                 inception_blocks=None, init_weights=None, dropout=0.5):
        super().__init__()
        if inception_blocks is None:
            inception_blocks = [BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD,
                                InceptionE, InceptionAux]
        if len(inception_blocks) != 7:
            raise ValueError(f"Inception3: inception_blocks must list 7 block types, got "
                             f"{len(inception_blocks)}")
        conv_block, inception_a, inception_b, inception_c, inception_d, inception_e, \
            inception_aux = inception_blocks
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.Conv2d_1a_3x3 = conv_block(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = conv_block(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = conv_block(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = conv_block(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = conv_block(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = inception_a(192, pool_features=32)
        self.Mixed_5c = inception_a(256, pool_features=64)
        self.Mixed_5d = inception_a(288, pool_features=64)
        self.Mixed_6a = inception_b(288)
        self.Mixed_6b = inception_c(768, channels_7x7=128)
        self.Mixed_6c = inception_c(768, channels_7x7=160)
        self.Mixed_6d = inception_c(768, channels_7x7=160)
        self.Mixed_6e = inception_c(768, channels_7x7=192)
        self.AuxLogits = inception_aux(768, num_classes) if aux_logits else None
        self.Mixed_7a = inception_d(768)
        self.Mixed_7b = inception_e(1280)
        self.Mixed_7c = inception_e(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)
        if init_weights is None or init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    stddev = float(getattr(m, "stddev", 0.1))
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=stddev, a=-2, b=2)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    def _transform_input(self, x):
        return transform_input(x) if self.transform_input else x

    def _forward(self, x):
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))  # N x 64 x 147 x 147
        x = self.maxpool1(x)                                                # N x 64 x 73 x 73
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))        # N x 192 x 35 x 35
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))                  # N x 288 x 35 x 35
        x = self.Mixed_6a(x)                                                # N x 768 x 17 x 17
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))   # N x 768 x 17 x 17
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))                  # N x 2048 x 8 x 8
        x = self.dropout(self.avgpool(x))                                   # N x 2048 x 1 x 1
        return self.fc(gn.flatten(x, 1)), aux

    def eager_outputs(self, x, aux):
        if self.training and self.aux_logits:
            return InceptionOutputs(x, aux)
        return x

    def forward(self, x):
        if self.training and self.AuxLogits is not None:
            check_input(self, x, self._min_size_aux,
                        " for the auxiliary head in training mode (use aux_logits=False or "
                        "eval() for smaller inputs)")
        else:
            check_input(self, x, self._min_size)
        x, aux = self._forward(self._transform_input(x))
        return self.eager_outputs(x, aux)


@register_model("inception_v3", input_shape=(3, 299, 299),
                description="Inception v3 (Szegedy et al. 2015), torchvision layout, 299x299")
def inception_v3(*, weights=None, progress=True, num_classes=1000, aux_logits=False,
                 transform_input=False, init_weights=None, dropout=0.5):
    """Inception v3 from "Rethinking the Inception Architecture for Computer Vision"
    (arXiv:1512.00567), as torchvision builds it: 23,834,568 parameters, 27,161,264 with
    ``aux_logits=True``.

    ``weights`` must be None (no downloads; ``progress`` is accepted and unused). Inputs are
    N x 3 x 299 x 299 (75x75 at least without the auxiliary head). See the module docstring for
    the one default that differs from torchvision's builder (``aux_logits=False``).
    """
    check_weights("inception_v3", weights)
    return Inception3(num_classes=num_classes, aux_logits=aux_logits,
                      transform_input=transform_input, init_weights=init_weights,
                      dropout=dropout)
