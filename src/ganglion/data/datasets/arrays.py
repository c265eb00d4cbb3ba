"""ImageArrayDataset: the common shape of datasets held in memory as one uint8 image array.

MNIST, CIFAR and a cached ImageFolder all end up as ``data`` (N, H, W) or (N, H, W, C) uint8
and ``targets`` (N,) int64. A sample is ``(transform(image), target_transform(label))``. Without
transforms ``get_batch`` slices whole batches out of the arrays, which is the DataLoader's fast
path; with them it falls back to one sample at a time. A subclass that decodes images on access
(ImageFolder without ``in_memory``) leaves ``data`` None and overrides ``_image``.
"""
import numpy as np

from ganglion.core.tensor import make_tensor
from ganglion.data.collate import default_collate
from ganglion.data.dataset import Dataset, check_index

__all__ = ["ImageArrayDataset"]


class ImageArrayDataset(Dataset):
    """Images and integer labels held as arrays; see the module docstring."""

    def __init__(self, data, targets, classes, transform=None, target_transform=None):
        if data is not None and len(data) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(data)} images but {len(targets)} labels")
        self.data = data
        self.targets = np.asarray(targets, dtype=np.int64)
        self.classes = list(classes)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        index = check_index(index, len(self), type(self).__name__)
        image, label = self._image(index), int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def _image(self, index):
        return self.data[index]

    def get_batch(self, indices):
        """(images, labels) at ``indices``: uint8 images and int64 labels sliced from the arrays
        when there are no transforms, else the transformed samples collated."""
        if self.data is not None and self.transform is None and self.target_transform is None:
            return make_tensor(self.data[indices]), make_tensor(self.targets[indices])
        return default_collate([self[int(i)] for i in indices])

    def __repr__(self):
        shape = f" of shape {self.data.shape[1:]}" if self.data is not None else ""
        return f"{type(self).__name__}({len(self)} images{shape}, {len(self.classes)} classes)"
