"""ganglion.data: datasets, DataLoader, transforms, and where data lives.

::

    from ganglion.data import DataLoader, MNIST, transforms
    loader = DataLoader(MNIST(train=True), batch_size=128, shuffle=True, seed=0, num_workers=2,
                        batch_transform=transforms.BatchToTensor())
"""
from ganglion.data import transforms
from ganglion.data.collate import default_collate, default_convert
from ganglion.data.dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset,
                                   TensorDataset, random_split)
from ganglion.data.datasets import (CIFAR10, CIFAR100, KMNIST, MNIST, CaliforniaHousing,
                                    CharVocabulary, ChecksumError, Digits, DownloadError,
                                    FashionMNIST, ImageArrayDataset, ImageFolder, TextFile,
                                    TinyShakespeare, UnsafePickleError, digit_panels, logic_gate,
                                    make_circles, make_moons, make_quadratic, make_sine,
                                    make_spirals, make_xor, read_csv_columns, sequence_batches)
from ganglion.data.loader import DataLoader, WorkerInfo, get_worker_info
from ganglion.data.paths import data_root
from ganglion.data.distributed_sampler import DistributedSampler
from ganglion.data.samplers import (BatchSampler, RandomSampler, Sampler,
                                    SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["transforms", "default_collate", "Dataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split", "DataLoader", "data_root", "ImageArrayDataset", "MNIST", "FashionMNIST",
           "KMNIST", "CIFAR10", "CIFAR100", "UnsafePickleError", "ImageFolder", "TextFile",
           "TinyShakespeare", "CharVocabulary", "sequence_batches", "CaliforniaHousing",
           "read_csv_columns", "Digits", "ChecksumError", "DownloadError", "make_xor",
           "make_moons", "make_circles", "make_spirals", "make_sine", "make_quadratic",
           "logic_gate", "digit_panels", "default_convert", "IterableDataset", "ChainDataset",
           "get_worker_info", "WorkerInfo", "Sampler", "SequentialSampler", "RandomSampler",
           "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler", "DistributedSampler"]
