"""ganglion.models: the model zoo, built by name through one registry.

    from ganglion.models import get_model, list_models
    model = get_model("lenet5")          # list_models(): cifar_cnn, digits_cnn, lenet5, mlp
"""
from ganglion.models.cifar_cnn import cifar_cnn
from ganglion.models.digits_cnn import digits_cnn
from ganglion.models.lenet import lenet5
from ganglion.models.mlp import mlp
from ganglion.models.mobilenet import (Conv2dNormActivation, InvertedResidual, MobileNetV1,
                                        MobileNetV2, MobileNetV3, SqueezeExcitation, mobilenet_v1,
                                        mobilenet_v2, mobilenet_v2_cifar, mobilenet_v3_large,
                                        mobilenet_v3_small)
from ganglion.models.registry import get_model, list_models, model_info, register_model

__all__ = ["get_model", "list_models", "model_info", "register_model", "mlp", "lenet5",
           "cifar_cnn", "digits_cnn"]
__all__ += ["MobileNetV1", "MobileNetV2", "MobileNetV3", "InvertedResidual", "Conv2dNormActivation",
            "SqueezeExcitation", "mobilenet_v1", "mobilenet_v2", "mobilenet_v2_cifar",
            "mobilenet_v3_small", "mobilenet_v3_large"]
