"""``torchvision.models`` under ganglion: a namespace over ``ganglion.models``, the model zoo.

Every model that ``ganglion.models`` provides is available here under its name (today ``mlp``,
``lenet5``, ``cifar_cnn``, ``digits_cnn``, with ``get_model``, ``list_models`` and
``model_info``, which torchvision also has). torchvision's architectures (``resnet18``,
``vgg16``, ``mobilenet_v2``, ...) come from the model-zoo issue: once ``ganglion.models``
defines one under torchvision's name, it is found here without any change to this module.
Asking for one before then is an AttributeError that says so, rather than a bare "no attribute".
"""
import ganglion.models as _zoo
from ganglion.models import *  # noqa: F401,F403
from ganglion.models import __all__ as _zoo_names

__all__ = list(_zoo_names)

# torchvision's classification builders, recognised so that their absence is explained.
TORCHVISION_MODEL_NAMES = frozenset(
    ["alexnet", "convnext_tiny", "convnext_small", "convnext_base", "convnext_large",
     "densenet121", "densenet161", "densenet169", "densenet201", "efficientnet_b0",
     "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
     "efficientnet_b5", "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_s",
     "efficientnet_v2_m", "efficientnet_v2_l", "googlenet", "inception_v3", "mnasnet0_5",
     "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "mobilenet_v2", "mobilenet_v3_large",
     "mobilenet_v3_small", "regnet_x_400mf", "regnet_y_400mf", "resnet18", "resnet34",
     "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
     "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "squeezenet1_0", "squeezenet1_1", "vgg11",
     "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "vit_b_16",
     "vit_b_32", "vit_l_16", "wide_resnet50_2", "wide_resnet101_2", "swin_t", "maxvit_t"])


def __getattr__(name):
    # Models the zoo gains after this module was imported are found on demand.
    if hasattr(_zoo, name):
        return getattr(_zoo, name)
    if name in TORCHVISION_MODEL_NAMES:
        raise AttributeError(f"ganglion.vision.models: torchvision's {name!r} is not in "
                             f"ganglion's model zoo yet (available: "
                             f"{', '.join(_zoo.list_models())}); the zoo issue adds "
                             "torchvision's architectures")
    raise AttributeError(f"module 'ganglion.vision.models' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_zoo.__all__))
