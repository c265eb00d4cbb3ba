"""Turning a list of samples into one batch: ``default_collate``.

Tensors, NumPy arrays and numbers are stacked into ganglion tensors; tuples, lists and dicts are
collated field by field; strings are kept as a list. Python and NumPy integers become int64
(class labels, as PyTorch's losses expect them), and float64 data becomes the default float dtype
so that NumPy-prepared data does not silently turn a model into float64.
"""
import numbers

import numpy as np

from ganglion.core.dtypes import get_default_dtype
from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["default_collate", "default_convert", "tensor_from_array"]


def tensor_from_array(array):
    """A tensor around ``array`` (no copy), float64 narrowed to the default float dtype."""
    if array.dtype == np.float64:
        array = array.astype(get_default_dtype().np)
    return make_tensor(array)


def _stack(arrays, what):
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: cannot stack {what} of different shapes "
                         f"{sorted(shapes)}; give a collate_fn that pads them")
    return np.stack(arrays)


def _type_names(batch):
    return sorted({type(sample).__name__ for sample in batch})


def _numbers(batch):
    # NumPy infers one dtype for the whole batch, as torch.tensor does: [1, 1.5] is a float
    # batch, not the int64 batch [1, 1] that casting to the first sample's type would give.
    array = np.array(batch)
    kind = array.dtype.kind
    if kind == "b":
        return make_tensor(array)
    if kind == "u" and array.dtype.itemsize == 8 and array.max() > np.iinfo(np.int64).max:
        raise OverflowError(f"default_collate: {array.max()} does not fit in int64")
    if kind in "iu":
        return make_tensor(array.astype(np.int64, copy=False))
    if kind == "f":
        dtype = get_default_dtype().np if array.dtype == np.float64 else array.dtype
        return make_tensor(array.astype(dtype, copy=False))
    raise TypeError(f"default_collate: samples mix numbers with other types "
                    f"{_type_names(batch)}; every sample must have the same kind of value")


def default_collate(batch):
    """Stack a list of samples into a batch (see the module docstring for the rules)."""
    first = batch[0]
    if isinstance(first, Tensor):
        if not all(isinstance(t, Tensor) for t in batch):
            raise TypeError(f"default_collate: samples mix tensors with {_type_names(batch)}")
        return tensor_from_array(_stack([t._data for t in batch], "tensors"))
    if isinstance(first, np.ndarray):
        return tensor_from_array(_stack([np.asarray(a) for a in batch], "arrays"))
    if isinstance(first, (bool, np.bool_, numbers.Real)):
        return _numbers(batch)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, dict):
        keys = set(first)
        for sample in batch:
            if not isinstance(sample, dict) or set(sample) != keys:
                found = sorted(sample) if isinstance(sample, dict) else type(sample).__name__
                # KeyError, as PyTorch's default_collate raises for a missing key.
                raise KeyError(f"default_collate: samples have different keys: {sorted(keys)} "
                               f"and {found}")
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(sample) != len(first) for sample in batch):
            counts = sorted({len(sample) for sample in batch})
            raise ValueError(f"default_collate: samples in a batch have different numbers of "
                             f"fields {counts}")
        fields = [default_collate(list(column)) for column in zip(*batch)]
        return fields if isinstance(first, list) else tuple(fields)
    hint = ("; a PIL image: add transforms.ToTensor() to the dataset's transform"
            if type(first).__module__.startswith("PIL.") else "")
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "expected tensors, arrays, numbers, strings, tuples, lists or dicts "
                    f"(or give a collate_fn){hint}")


def default_convert(data):
    """NumPy arrays (and NumPy scalars) to tensors, inside tuples, lists and dicts too; other
    values as they are. What a DataLoader with ``batch_size=None`` applies to each sample,
    which it does not batch. Arrays keep their dtype, as in PyTorch."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind not in "USO":
        return make_tensor(np.asarray(data))
    if isinstance(data, dict):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a namedtuple keeps its type
        return type(data)(*(default_convert(value) for value in data))
    if isinstance(data, (tuple, list)):
        return type(data)(default_convert(value) for value in data)
    return data
