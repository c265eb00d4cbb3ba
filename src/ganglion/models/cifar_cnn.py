"""A small CNN for CIFAR-10: three conv blocks (3x3, padding 1, ReLU, 2x2 max pool) doubling
the channels 32 -> 64 -> 128 while halving 32x32 -> 4x4, then 2048-256 with dropout 0.5 and a
256-10 classifier. The 2048 inputs of the classifier fix the input at 3x32x32; other shapes
are refused with an error naming it."""
from ganglion import nn
from ganglion.models.input_checks import check_image_input
from ganglion.models.registry import register_model

__all__ = ["CifarCNN", "cifar_cnn"]


def _block(in_channels, out_channels):
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]


class CifarCNN(nn.Sequential):
    """The layers of ``cifar_cnn`` as a Sequential (state dict keys ``0.weight`` ...
    ``13.bias``) whose forward first checks for (N, 3, 32, 32) images."""

    def forward(self, x):
        check_image_input("cifar_cnn", x, (3, 32, 32),
                          " (its classifier takes the 128x4x4 maps of 32x32 images)")
        return super().forward(x)


@register_model("cifar_cnn", input_shape=(3, 32, 32), description="3-block CNN for CIFAR-10")
def cifar_cnn(num_classes=10, dropout=0.5):
    """A 3-block CNN for (N, 3, 32, 32) CIFAR-10 images: three blocks of a 3x3 convolution,
    ReLU and 2x2 max pooling (32, 64, 128 channels), then a 256-unit hidden layer with dropout
    and ``num_classes`` logits."""
    return CifarCNN(
        *_block(3, 32), *_block(32, 64), *_block(64, 128),
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(256, num_classes),
    )
