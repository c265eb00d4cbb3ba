"""A small CNN for CIFAR-10: three conv blocks (3x3, padding 1, ReLU, 2x2 max pool) doubling
the channels 32 -> 64 -> 128 while halving 32x32 -> 4x4, then 2048-256 with dropout 0.5 and a
256-10 classifier."""
from ganglion import nn
from ganglion.models.registry import register_model

__all__ = ["cifar_cnn"]


def _block(in_channels, out_channels):
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]


@register_model("cifar_cnn", input_shape=(3, 32, 32), description="3-block CNN for CIFAR-10")
def cifar_cnn(num_classes=10, dropout=0.5):
    return nn.Sequential(
        *_block(3, 32), *_block(32, 64), *_block(64, 128),
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Dropout(dropout),
        nn.Linear(256, num_classes),
    )
