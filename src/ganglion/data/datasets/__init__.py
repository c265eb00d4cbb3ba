"""Datasets read from their canonical files (MNIST family, CIFAR, image folders, text, CSV),
generated (synthetic teaching problems) or bundled (scikit-learn's digits)."""
from ganglion.data.datasets.arrays import ImageArrayDataset
from ganglion.data.datasets.cifar import CIFAR10, CIFAR100, UnsafePickleError
from ganglion.data.datasets.digits import Digits
from ganglion.data.datasets.download import ChecksumError, DownloadError
from ganglion.data.datasets.image_folder import ImageFolder
from ganglion.data.datasets.mnist import KMNIST, MNIST, FashionMNIST
from ganglion.data.datasets.synthetic import (digit_panels, logic_gate, make_circles, make_moons,
                                              make_quadratic, make_sine, make_spirals, make_xor)
from ganglion.data.datasets.tabular import CaliforniaHousing, read_csv_columns
from ganglion.data.datasets.text import CharVocabulary, TextFile, TinyShakespeare, sequence_batches

__all__ = ["ImageArrayDataset", "CIFAR10", "CIFAR100", "UnsafePickleError", "Digits",
           "ChecksumError", "DownloadError", "ImageFolder", "MNIST", "FashionMNIST", "KMNIST",
           "digit_panels", "logic_gate", "make_circles", "make_moons", "make_quadratic",
           "make_sine", "make_spirals", "make_xor", "CaliforniaHousing", "read_csv_columns",
           "CharVocabulary", "TextFile", "TinyShakespeare", "sequence_batches"]
