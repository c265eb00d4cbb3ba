"""A small CNN for the 8x8 scikit-learn digits (``ganglion.data.Digits``), the offline demo's
network: two 3x3 convolutions (16 and 32 channels), one 2x2 max pool to 4x4, then 512-64-10.
The 512 inputs of the classifier fix the input at 1x8x8; other shapes are refused with an
error naming it."""
from ganglion import nn
from ganglion.models.input_checks import check_image_input
from ganglion.models.registry import register_model

__all__ = ["DigitsCNN", "digits_cnn"]


class DigitsCNN(nn.Sequential):
    """The layers of ``digits_cnn`` as a Sequential (state dict keys ``0.weight`` ...
    ``8.bias``) whose forward first checks for (N, 1, 8, 8) images."""

    def forward(self, x):
        check_image_input("digits_cnn", x, (1, 8, 8), " (the 8x8 scikit-learn digits)")
        return super().forward(x)


@register_model("digits_cnn", input_shape=(1, 8, 8), description="small CNN for 8x8 digits")
def digits_cnn(num_classes=10):
    """A small CNN for the (N, 1, 8, 8) scikit-learn digits: two 3x3 convolutions (16, 32
    channels), one max pooling, a 64-unit hidden layer and ``num_classes`` logits."""
    return DigitsCNN(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, num_classes),
    )
