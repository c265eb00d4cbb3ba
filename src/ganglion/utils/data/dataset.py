"""``torch.utils.data.dataset``: the dataset classes of ``ganglion.data`` under their module
path."""
from ganglion.data.dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset,
                                   TensorDataset, random_split)

__all__ = ["Dataset", "IterableDataset", "ChainDataset", "TensorDataset", "Subset",
           "ConcatDataset", "random_split"]
