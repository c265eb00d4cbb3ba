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

__all__ = ["default_collate", "tensor_from_array"]


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


def default_collate(batch):
    """Stack a list of samples into a batch (see the module docstring for the rules)."""
    first = batch[0]
    if isinstance(first, Tensor):
        return tensor_from_array(_stack([t.data for t in batch], "tensors"))
    if isinstance(first, np.ndarray):
        return tensor_from_array(_stack(batch, "arrays"))
    if isinstance(first, (bool, np.bool_)):
        return make_tensor(np.array(batch, dtype=np.bool_))
    if isinstance(first, (numbers.Integral, np.integer)):
        return make_tensor(np.array(batch, dtype=np.int64))
    if isinstance(first, np.floating) and first.dtype != np.float64:
        return make_tensor(np.array(batch, dtype=first.dtype))
    if isinstance(first, numbers.Real):
        return make_tensor(np.array(batch, dtype=get_default_dtype().np))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, dict):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(sample) != len(first) for sample in batch):
            raise ValueError("default_collate: samples in a batch have different numbers of fields")
        fields = [default_collate(list(column)) for column in zip(*batch)]
        return fields if isinstance(first, list) else tuple(fields)
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; "
                    "expected tensors, arrays, numbers, strings, tuples, lists or dicts "
                    "(or give a collate_fn)")
