"""Samplers: the order in which a DataLoader visits a map-style dataset (PyTorch's
``torch.utils.data`` samplers, same names, arguments and errors).

A sampler is an iterable of dataset indices (a batch sampler: of lists of indices), drawn anew on
every ``iter()``. Random samplers take ``generator=``: a NumPy ``Generator`` or a
``ganglion.Generator``; without one, each ``iter()`` draws from ganglion's global generator, so
``ganglion.manual_seed`` makes them reproducible. The random streams are NumPy's, not PyTorch's:
the same seed gives a different (equally random) order than PyTorch.
"""
import math
import numbers

import numpy as np

from ganglion.core.random import numpy_generator

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_positive_count(value, name, owner):
    if not _is_int(value) or value <= 0:
        raise ValueError(f"{owner}: {name} should be a positive integer value, but got "
                         f"{name}={value!r}")


def _check_bool(value, name, owner, error=ValueError):
    if not isinstance(value, bool):
        raise error(f"{owner}: {name} should be a boolean value, but got {name}={value!r}")


class Sampler:
    """Base class: an iterable of indices. Subclasses define ``__iter__`` (and ``__len__`` when
    the count is known)."""

    def __init__(self, data_source=None):
        # PyTorch's Sampler takes (and ignores) data_source; kept for subclasses that pass it.
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __class_getitem__(cls, item):
        # Dataset[Tuple[Tensor, int]] / Sampler[int] in type hints, as PyTorch's are generic.
        return cls


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the dataset's indices; with ``replacement``, ``num_samples``
    independent draws; without, whole permutations (and a part of one) up to ``num_samples``
    (default: the dataset's length)."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        _check_bool(replacement, "replacement", "RandomSampler", TypeError)
        if num_samples is not None:
            _check_positive_count(num_samples, "num_samples", "RandomSampler")
        numpy_generator(generator, "RandomSampler")  # refuse a wrong generator now, not at iter
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = numpy_generator(self.generator, "RandomSampler")
        if self.replacement:
            return iter(rng.integers(n, size=self.num_samples).tolist())
        whole, part = divmod(self.num_samples, n) if n else (0, 0)
        order = [rng.permutation(n) for _ in range(whole)] + [rng.permutation(n)[:part]]
        return iter(np.concatenate(order).tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new one each epoch)."""

    def __init__(self, indices, generator=None):
        numpy_generator(generator, "SubsetRandomSampler")
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        rng = numpy_generator(self.generator, "SubsetRandomSampler")
        return (self.indices[i] for i in rng.permutation(len(self.indices)).tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probability proportional to
    ``weights`` (with ``replacement``, as PyTorch's default, or without)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        _check_positive_count(num_samples, "num_samples", "WeightedRandomSampler")
        _check_bool(replacement, "replacement", "WeightedRandomSampler")
        weights = np.asarray(getattr(weights, "_data", weights), dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given "
                             f"weights have shape {tuple(weights.shape)}")
        # PyTorch checks the distribution when sampling (multinomial); checking here instead
        # gives the same RuntimeError before any epoch starts.
        if weights.size == 0 or not (weights >= 0).all() or not np.isfinite(weights).all():
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution "
                               "(encountering probability entry < 0, inf or nan): weights must "
                               "be finite and non-negative")
        if weights.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution (sum of "
                               "probabilities <= 0): at least one weight must be positive")
        if not replacement and num_samples > np.count_nonzero(weights):
            raise RuntimeError(f"WeightedRandomSampler: cannot sample {num_samples} indices "
                               f"without replacement from {np.count_nonzero(weights)} non-zero "
                               "weights")
        numpy_generator(generator, "WeightedRandomSampler")
        self.weights = weights
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        rng = numpy_generator(self.generator, "WeightedRandomSampler")
        chosen = rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                            p=self.weights / self.weights.sum())
        return iter(chosen.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        _check_positive_count(batch_size, "batch_size", "BatchSampler")
        _check_bool(drop_last, "drop_last", "BatchSampler")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
