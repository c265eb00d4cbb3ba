"""A small CNN for the 8x8 scikit-learn digits (``ganglion.data.Digits``), the offline demo's
network: two 3x3 convolutions (16 and 32 channels), one 2x2 max pool to 4x4, then 512-64-10."""
from ganglion import nn
from ganglion.models.registry import register_model

__all__ = ["digits_cnn"]


@register_model("digits_cnn", input_shape=(1, 8, 8), description="small CNN for 8x8 digits")
def digits_cnn(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, num_classes),
    )
