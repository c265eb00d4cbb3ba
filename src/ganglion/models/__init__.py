"""ganglion.models: the model zoo, built by name through one registry.

    from ganglion.models import get_model, list_models
    model = get_model("resnet18", num_classes=10)      # or ganglion.models.resnet18(...)

From the perceptron and logistic regression through LeNet-5 to the networks of CNN history
with torchvision's names, layouts and state_dict keys (AlexNet, VGG, ResNet, GoogLeNet,
Inception v3/v4, MobileNet v1-v3), CIFAR-size variants, and ``compare`` for their parameters,
multiply-accumulates and depth side by side. ``ganglion.vision.models`` is the same zoo.
"""
from ganglion.models.alexnet import AlexNet, AlexNetOriginal, alexnet, alexnet_original
from ganglion.models.cifar_cnn import cifar_cnn
from ganglion.models.compare import ComparisonRow, compare, compare_figure, compare_table
from ganglion.models.digits_cnn import digits_cnn
from ganglion.models.googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from ganglion.models.inception import Inception3, InceptionOutputs, inception_v3
from ganglion.models.inception_v4 import (InceptionResnetV2, InceptionV4, inception_resnet_v2,
                                          inception_v4)
from ganglion.models.lenet import lenet5
from ganglion.models.linear_models import (LogisticRegression, Perceptron, logistic_regression,
                                           perceptron)
from ganglion.models.mlp import mlp
from ganglion.models.mobilenet import (Conv2dNormActivation, InvertedResidual, MobileNetV1,
                                        MobileNetV2, MobileNetV3, SqueezeExcitation, mobilenet_v1,
                                        mobilenet_v2, mobilenet_v2_cifar, mobilenet_v3_large,
                                        mobilenet_v3_small)
from ganglion.models.resnet import (BasicBlock, Bottleneck, CifarBasicBlock, CifarResNet, ResNet,
                                     resnet18, resnet20, resnet32, resnet34, resnet44, resnet50,
                                     resnet56, resnet101, resnet110, resnet152, resnext50_32x4d,
                                     resnext101_32x8d, resnext101_64x4d, wide_resnet50_2,
                                     wide_resnet101_2)
from ganglion.models.vgg import (VGG, vgg11, vgg11_bn, vgg11_bn_cifar, vgg11_cifar, vgg11_lrn,
                                  vgg13, vgg13_bn, vgg13_bn_cifar, vgg13_cifar, vgg16, vgg16_bn,
                                  vgg16_bn_cifar, vgg16_cifar, vgg19, vgg19_bn, vgg19_bn_cifar,
                                  vgg19_cifar)
from ganglion.models.registry import get_model, list_models, model_info, register_model
from ganglion.models.transfer import (FeatureExtractor, feature_extractor, freeze, module_names,
                                      unfreeze)

__all__ = [
    # the registry and the comparison of architectures
    "get_model", "list_models", "model_info", "register_model", "compare", "compare_table",
    "compare_figure", "ComparisonRow",
    # the smallest networks
    "perceptron", "Perceptron", "logistic_regression", "LogisticRegression", "mlp", "lenet5",
    "cifar_cnn", "digits_cnn",
    # AlexNet and VGG
    "AlexNet", "AlexNetOriginal", "alexnet", "alexnet_original", "VGG", "vgg11", "vgg11_bn",
    "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "vgg11_lrn", "vgg11_cifar",
    "vgg11_bn_cifar", "vgg13_cifar", "vgg13_bn_cifar", "vgg16_cifar", "vgg16_bn_cifar",
    "vgg19_cifar", "vgg19_bn_cifar",
    # ResNet
    "ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50", "resnet101",
    "resnet152", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
    "wide_resnet101_2", "CifarResNet", "CifarBasicBlock", "resnet20", "resnet32", "resnet44",
    "resnet56", "resnet110",
    # GoogLeNet and Inception
    "GoogLeNet", "GoogLeNetOutputs", "googlenet", "Inception3", "InceptionOutputs",
    "inception_v3", "InceptionV4", "inception_v4", "InceptionResnetV2", "inception_resnet_v2",
    # MobileNet
    "MobileNetV1", "MobileNetV2", "MobileNetV3", "InvertedResidual", "Conv2dNormActivation",
    "SqueezeExcitation", "mobilenet_v1", "mobilenet_v2", "mobilenet_v2_cifar",
    "mobilenet_v3_small", "mobilenet_v3_large",
    # transfer learning
    "feature_extractor", "FeatureExtractor", "module_names", "freeze", "unfreeze",
]
