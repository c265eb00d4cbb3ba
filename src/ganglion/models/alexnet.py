"""AlexNet: torchvision's one-tower variant and the 2012 paper's two-tower network.

``alexnet`` / ``AlexNet`` follow torchvision's definition (torchvision/models/alexnet.py), the
single-tower network of Krizhevsky, "One weird trick for parallelizing convolutional neural
networks" (2014, arXiv:1404.5997): 64-192-384-256-256 channels, no LRN, adaptive average pooling
to 6x6 so that any image of at least 63x63 works. Submodule names, parameter shapes and
``state_dict`` keys are torchvision's, so its state dict loads with ``strict=True``;
61,100,840 parameters with 1000 classes. Like torchvision, it keeps PyTorch's default layer
initialisation.

``alexnet_original`` / ``AlexNetOriginal`` is the network of Krizhevsky, Sutskever & Hinton,
"ImageNet Classification with Deep Convolutional Neural Networks" (NIPS 2012), Figure 2 and
section 3, whose two towers ran on two GPUs:

- conv1 96 11x11/4 (227x227 input: the paper's "224" does not divide, 227 gives its 55x55 maps),
  ReLU, local response normalisation, 3x3/2 overlapping max pooling;
- conv2 256 5x5 with ``groups=2`` (each tower sees only its own 48 maps), ReLU, LRN, max pooling;
- conv3 384 3x3 over both towers (the layer where the GPUs communicate);
- conv4 384 3x3 and conv5 256 3x3 with ``groups=2``; max pooling to 256x6x6;
- fc6 4096 and fc7 4096 each preceded by dropout 0.5, fc8 ``num_classes``.

The paper's LRN is ``b = a / (k + alpha * sum a^2)^beta`` over n=5 neighbouring maps with
k=2, alpha=1e-4, beta=0.75; ``nn.LocalResponseNorm`` (PyTorch's) divides alpha by n, so the
paper's response normalisation is ``LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)``.
(Caffe's bvlc_alexnet reference model, models/bvlc_alexnet/deploy.prototxt in BVLC/caffe, writes
alpha 1e-4 in Caffe's own alpha/n convention and k=1, and puts LRN before pooling as here.)
Initialisation follows section 5: weights N(0, 0.01^2), biases 1 in conv2, conv4, conv5 and the
fully connected layers, 0 elsewhere. The fixed-size classifier has no adaptive pooling, so other
image sizes are refused with an error naming the expected 3x227x227.

Parameters (1000 classes): conv1 34,944 + conv2 307,456 + conv3 885,120 + conv4 663,936 +
conv5 442,624 + fc6 37,752,832 + fc7 16,781,312 + fc8 4,097,000 = 60,965,224, the "60 million
parameters" of the paper's abstract, and the count of Caffe's grouped bvlc_alexnet. Without the
grouping (one tower) conv2/4/5 would have twice the weights: 62,378,344.
"""
from ganglion import flatten
from ganglion import nn
from ganglion.core.op import ShapeError, format_shape
from ganglion.models.registry import register_model

__all__ = ["AlexNet", "AlexNetOriginal", "alexnet", "alexnet_original"]


def _check_weights(name, weights):
    if weights is not None:
        raise ValueError(f"{name}: weights={weights!r} is not supported (ganglion downloads "
                         "nothing); build with weights=None and load a saved state dict with "
                         "model.load_state_dict(...)")


def _check_image(model, x, channels, layer, size=None, min_size=None):
    """A clear error for an input that is not (N, channels, H, W) images: of exactly ``size``, or
    at least ``min_size`` (below it the last pooling would have nothing left), when given."""
    shape = tuple(x.shape)
    if (len(shape) == 4 and shape[1] == channels and (size is None or shape[2:] == size)
            and (min_size is None or min(shape[2:]) >= min_size)):
        return
    expected = f"(N, {channels}, {size[0]}, {size[1]})" if size else f"(N, {channels}, H, W)"
    if min_size is not None:
        expected += f" with H, W >= {min_size}"
    raise ShapeError(f"{model}: expected images of shape {expected} (the first layer is "
                     f"{layer}), got input of shape {format_shape(shape)}")


class AlexNet(nn.Module):
    """torchvision's AlexNet (one tower, 64-192-384-256-256 channels)."""

    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        _check_image("AlexNet", x, 3, "features.0 = Conv2d(3, 64, kernel_size=11, stride=4)",
                     min_size=63)
        x = self.features(x)
        x = self.avgpool(x)
        x = flatten(x, 1)
        return self.classifier(x)


class AlexNetOriginal(nn.Module):
    """The two-tower AlexNet of Krizhevsky et al. (2012), towers as ``groups=2`` convolutions.

    ``features``: conv1 (0), relu, lrn (2), pool, conv2 (4), relu, lrn (6), pool, conv3 (8), relu,
    conv4 (10), relu, conv5 (12), relu, pool; ``classifier`` as torchvision's (dropout, fc6, relu,
    dropout, fc7, relu, fc8). Input: 3x227x227.
    """

    input_size = (227, 227)

    def __init__(self, num_classes=1000, dropout=0.5, init_weights=True):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, kernel_size=11, stride=4),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(256, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            self._initialize_weights()

    def _initialize_weights(self):
        # Section 5 of the paper: N(0, 0.01^2) weights; biases 1 in conv2, conv4, conv5 and the
        # fully connected layers (ReLUs start with positive inputs), 0 in conv1 and conv3.
        ones = {id(m) for m in (self.features[4], self.features[10], self.features[12],
                                self.classifier[1], self.classifier[4], self.classifier[6])}
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.constant_(m.bias, 1.0 if id(m) in ones else 0.0)

    def forward(self, x):
        _check_image("AlexNetOriginal (alexnet_original, the 2012 paper's fixed-size network)",
                     x, 3, "features.0 = Conv2d(3, 96, kernel_size=11, stride=4)",
                     self.input_size)
        x = self.features(x)
        x = flatten(x, 1)
        return self.classifier(x)


@register_model("alexnet", input_shape=(3, 224, 224),
                description="AlexNet, torchvision's one-tower variant (Krizhevsky 2014)")
def alexnet(*, weights=None, progress=True, **kwargs):
    """torchvision's AlexNet (``num_classes=1000``, ``dropout=0.5``); ``weights`` must be None."""
    _check_weights("alexnet", weights)
    return AlexNet(**kwargs)


@register_model("alexnet_original", input_shape=(3, 227, 227),
                description="AlexNet as in the 2012 paper: two towers (groups=2), LRN, 227x227")
def alexnet_original(*, weights=None, progress=True, **kwargs):
    """The 2012 paper's AlexNet (``num_classes=1000``, ``dropout=0.5``, ``init_weights=True``)."""
    _check_weights("alexnet_original", weights)
    return AlexNetOriginal(**kwargs)
