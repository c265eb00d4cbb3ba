"""Datasets: indexable collections of samples, and the ways to combine and split them.

A dataset may also offer ``get_batch(indices)``, which returns a whole collated batch at once
(one fancy-indexing call per array instead of one Python call per sample). DataLoader uses it
when present and no custom ``collate_fn`` is given; that is what makes array-backed datasets
(TensorDataset, MNIST, CIFAR, cached ImageFolder) fast.
"""
import bisect
import math
import numbers
import operator

import numpy as np

from ganglion.core.random import numpy_generator
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.data.collate import tensor_from_array

__all__ = ["Dataset", "IterableDataset", "ChainDataset", "TensorDataset", "Subset", "ConcatDataset",
           "random_split"]


class Dataset:
    """A map-style dataset: ``len(ds)`` samples, ``ds[i]`` the i-th one. Subclasses define both."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])

    def __class_getitem__(cls, item):
        # Dataset[Tuple[Tensor, int]] / Sampler[int] in type hints, as PyTorch's are generic.
        return cls


class IterableDataset(Dataset):
    """A stream of samples: subclasses define ``__iter__`` (``__len__`` is optional). A
    DataLoader batches the stream in order; it has no indices, so no shuffle or sampler."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __len__(self):
        # TypeError, as len() of an object without __len__ (and PyTorch's IterableDataset)
        # raises: list() and length hints then simply go without a length.
        raise TypeError(f"object of type {type(self).__name__!r} has no len() (a stream has "
                        "no length unless its class defines __len__)")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise TypeError(f"ChainDataset: only IterableDatasets can be chained, got "
                                f"{type(dataset).__name__}")
            yield from dataset

    def __len__(self):
        return sum(len(dataset) for dataset in self.datasets)


def check_index(index, length, owner):
    """``index`` as a non-negative int below ``length`` (negative counts from the end), else an
    IndexError naming ``owner``; for the datasets' ``__getitem__``."""
    try:
        # operator.index, not int(): int(1.5) would silently serve sample 1. PyTorch's tensor
        # indexing raises IndexError for a float index too.
        index = operator.index(index)
    except TypeError:
        raise IndexError(f"{owner}: index must be an integer, got {index!r} of type "
                         f"{type(index).__name__}") from None
    if not -length <= index < length:
        raise IndexError(f"{owner}: index {index} is out of range for {length} samples")
    return index + length if index < 0 else index


class TensorDataset(Dataset):
    """Samples are the i-th rows of some tensors (or arrays) that share their first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        self.tensors = tuple(t.detach() if isinstance(t, Tensor)
                             else tensor_from_array(np.asarray(t)) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
            raise ValueError(f"TensorDataset: all tensors need the same first dimension, got "
                             f"shapes {shapes}")
        self._arrays = tuple(t._data for t in self.tensors)

    def __len__(self):
        return self._arrays[0].shape[0]

    def __getitem__(self, index):
        index = check_index(index, len(self), "TensorDataset")
        # asarray: indexing a 1-D array gives a NumPy scalar, and tensors hold arrays.
        return tuple(make_tensor(np.asarray(a[index])) for a in self._arrays)

    def get_batch(self, indices):
        """The samples at ``indices``, stacked: one indexing operation per tensor."""
        return tuple(make_tensor(a[indices]) for a in self._arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        given = np.asarray(indices).reshape(-1)
        if given.size and given.dtype.kind not in "iu":
            # Casting would truncate 1.5 to 1 and turn a boolean mask into indices 0 and 1.
            raise IndexError(f"Subset: indices must be integers, got an array of {given.dtype} "
                             f"(for a boolean mask use np.flatnonzero(mask))")
        self.indices = given.astype(np.int64)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            bad = self.indices[(self.indices < -n) | (self.indices >= n)][0]
            raise IndexError(f"Subset: index {bad} is out of range for a dataset of {n} samples "
                             f"(indices must lie in [-{n}, {n}))")
        if hasattr(dataset, "get_batch"):
            # Keep the loader's batch fast path through random_split: only when the wrapped
            # dataset has one, since the loader picks the path by the attribute's presence.
            self.get_batch = lambda batch_indices: dataset.get_batch(self.indices[batch_indices])

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[check_index(index, len(self), "Subset")])]


class ConcatDataset(Dataset):
    """Several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: give at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = check_index(index, len(self), "ConcatDataset")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def _split_lengths(lengths, total):
    lengths = list(lengths)
    if all(isinstance(v, float) and 0 <= v <= 1 for v in lengths) and math.isclose(sum(lengths), 1):
        # Fractions: floor each, then hand the remainder out one by one, as PyTorch does.
        counts = [int(math.floor(total * f)) for f in lengths]
        for i in range(total - sum(counts)):
            counts[i % len(counts)] += 1
        return counts
    for v in lengths:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"random_split: lengths must be numbers, got {v!r} in {lengths}")
        if v < 0:
            raise ValueError(f"random_split: lengths must be non-negative, got {v!r} in "
                             f"{lengths}")
        if v != int(v):
            # PyTorch also raises TypeError here (randperm of a float).
            raise TypeError(f"random_split: lengths must be whole counts or fractions summing "
                            f"to 1, got {v!r} in {lengths}")
    if sum(lengths) != total:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, but the dataset "
                         f"has {total} samples (give counts that sum to it, or fractions that "
                         "sum to 1)")
    return [int(v) for v in lengths]


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths (counts, or
    fractions summing to 1). ``seed`` (or a NumPy ``generator``) makes the split reproducible;
    without either the global ganglion generator is used."""
    if generator is None and seed is not None:
        generator = np.random.default_rng(seed)
    else:
        generator = numpy_generator(generator, "random_split")  # the global one for None
    counts = _split_lengths(lengths, len(dataset))
    order = generator.permutation(len(dataset))
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
