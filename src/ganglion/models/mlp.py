"""A multilayer perceptron: Flatten, then Linear + ReLU layers, then a Linear classifier.

The default is the classic 784-300-100-10 network of LeCun et al. (1998) for MNIST. Each
example is flattened, so (N, 784) rows and (N, 1, 28, 28) images both work; an input with
another number of values per example is refused with an error naming ``in_features``.
"""
from ganglion import nn
from ganglion.models.input_checks import check_feature_input
from ganglion.models.registry import register_model

__all__ = ["MLP", "mlp"]


class MLP(nn.Sequential):
    """The layers of ``mlp`` as a Sequential (state dict keys ``1.weight`` ...) whose forward
    first checks that each example has ``in_features`` values."""

    def forward(self, x):
        check_feature_input("mlp", x, self[1].in_features)
        return super().forward(x)


@register_model("mlp", input_shape=(1, 28, 28), description="MLP 784-300-100-10 (MNIST)")
def mlp(in_features=784, hidden=(300, 100), num_classes=10, dropout=0.0):
    """``in_features`` inputs (images are flattened), ReLU hidden layers of the sizes in
    ``hidden``, each followed by dropout when ``dropout`` > 0, and ``num_classes`` outputs."""
    layers = [nn.Flatten()]
    width = in_features
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, num_classes))
    return MLP(*layers)
