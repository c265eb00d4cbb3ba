"""ganglion.vision: torchvision's namespace over ganglion, so that ``import ganglion.vision as
torchvision`` ports a torchvision script.

- ``datasets``: MNIST, FashionMNIST, KMNIST, CIFAR10, CIFAR100, ImageFolder, FakeData, with
  torchvision's constructor signatures and samples (a PIL image, or what ``transform`` makes
  of it, and an int label); the files are read by ``ganglion.data``'s loaders.
- ``transforms``: ``ganglion.data.transforms`` under torchvision's names (one implementation);
  ``transforms.v2`` adds v2's MixUp, CutMix, ToImage and ToDtype.
- ``utils``: ``make_grid`` and ``save_image`` (torchvision's pixel layout).
- ``io``: ``read_image`` (a uint8 (C, H, W) tensor) and ``write_png``.
- ``models``: ``ganglion.models`` under torchvision's names where the zoo has them.
"""
from ganglion.vision import datasets, io, models, transforms, utils

__all__ = ["datasets", "io", "models", "transforms", "utils"]
