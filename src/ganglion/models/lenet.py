"""LeNet-5 (LeCun et al. 1998) in its common modern form: ReLU and max pooling.

28x28 inputs are padded by 2 in the first convolution, which gives the original 32x32 layout:
conv 1->6 5x5 -> 28x28, pool -> 14x14, conv 6->16 5x5 -> 10x10, pool -> 5x5, so 16*5*5 = 400
features for the classifier 400-120-84-10.
"""
from ganglion import nn
from ganglion.models.registry import register_model

__all__ = ["lenet5"]


@register_model("lenet5", input_shape=(1, 28, 28), description="LeNet-5 for 28x28 digits (MNIST)")
def lenet5(num_classes=10, in_channels=1):
    return nn.Sequential(
        nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )
