"""LeNet-5 (LeCun et al. 1998) in its common modern form: ReLU and max pooling.

28x28 inputs are padded by 2 in the first convolution, which gives the original 32x32 layout:
conv 1->6 5x5 -> 28x28, pool -> 14x14, conv 6->16 5x5 -> 10x10, pool -> 5x5, so 16*5*5 = 400
features for the classifier 400-120-84-10. The classifier fixes the input size: any other
image size is refused with an error naming the expected (N, 1, 28, 28).
"""
from ganglion import nn
from ganglion.models.input_checks import check_image_input
from ganglion.models.registry import register_model

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Sequential):
    """The layers of ``lenet5`` as a Sequential (state dict keys ``0.weight`` ... ``10.bias``)
    whose forward first checks for (N, in_channels, 28, 28) images."""

    def forward(self, x):
        check_image_input("lenet5", x, (self[0].in_channels, 28, 28),
                          " (28x28 images, padded by 2 in the first convolution to the "
                          "paper's 32x32)")
        return super().forward(x)


@register_model("lenet5", input_shape=(1, 28, 28), description="LeNet-5 for 28x28 digits (MNIST)")
def lenet5(num_classes=10, in_channels=1):
    """LeNet-5 for (N, in_channels, 28, 28) images (MNIST): 5x5 convolutions to 6 and 16 maps
    with ReLU and max pooling, then 120, 84 and ``num_classes`` units."""
    return LeNet5(
        nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )
