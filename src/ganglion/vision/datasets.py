"""``torchvision.datasets`` under ganglion: MNIST, FashionMNIST, KMNIST, CIFAR10, CIFAR100,
ImageFolder and FakeData with torchvision's signatures and samples.

Each is a thin subclass of the ``ganglion.data`` dataset that reads the files (one loader,
validated as ganglion's are): only the sample changes, to torchvision's ``(image, label)`` where
``image`` is a PIL image (mode 'L' for the MNIST family, 'RGB' for CIFAR and ImageFolder) before
``transform``, so that ``transforms.ToTensor()`` and the PIL transforms see what they see under
torchvision. The MNIST family holds ``data`` and ``targets`` as Tensors, as torchvision does;
CIFAR keeps a uint8 NumPy ``data`` (torchvision too). Without transforms a DataLoader batches
``data`` directly.

Where the files are: ``root``, then (if they are not there) ``$GANGLION_DATA`` or ganglion's
default data folder, so a script's ``root="../data"`` finds a shared copy; ``download=True``
fetches into ``root`` only when neither has them. When no files are found the error
(DatasetNotFoundError, both a FileNotFoundError and torchvision's RuntimeError) names every
folder searched.
"""

import numpy as np

from ganglion.core.tensor import Tensor, make_tensor
from ganglion.data import datasets as _data
from ganglion.data.dataset import Dataset, check_index
from ganglion.data.paths import data_root

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "CIFAR10", "CIFAR100", "ImageFolder", "FakeData",
           "DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError, RuntimeError):
    """A dataset's files are in none of the folders searched (torchvision raises RuntimeError,
    ganglion.data FileNotFoundError: this is both)."""


def _construct(init, root, download, **kwargs):
    """Run the ganglion dataset's ``init`` on ``root``, else on the shared data folder, else
    (``download``) download into ``root``; DatasetNotFoundError naming every place tried."""
    candidates = [data_root(root)]
    shared = data_root(None)
    if shared.resolve() != candidates[0].resolve():
        candidates.append(shared)
    failures = []
    for candidate in candidates:
        try:
            init(candidate, download=False, **kwargs)
            return
        except FileNotFoundError as error:
            failures.append(str(error))
    if download:
        init(candidates[0], download=True, **kwargs)
        return
    raise DatasetNotFoundError("dataset not found: " + "; then ".join(failures))


def _pil(array):
    from PIL import Image
    return Image.fromarray(array)


class MNIST(_data.MNIST):
    """MNIST (``root``, ``train``, ``transform``, ``target_transform``, ``download``): samples
    are (PIL image of mode 'L', int label) before the transforms. As in torchvision, ``data``
    (N, 28, 28) uint8 and ``targets`` (N,) int64 are Tensors (scripts call
    ``dataset.data.unsqueeze(1)`` or compare ``dataset.targets == 3``); they share memory with
    the arrays ganglion's loader reads, and assigning either takes a Tensor or an array."""

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        _construct(super().__init__, root, download, train=train, transform=transform,
                   target_transform=target_transform)

    @property
    def data(self):
        return self.__dict__.get("_data_tensor")

    @data.setter
    def data(self, value):
        self._data_tensor = None if value is None else _as_tensor(value)

    @property
    def targets(self):
        return self.__dict__.get("_targets_tensor")

    @targets.setter
    def targets(self, value):
        self._targets_tensor = _as_tensor(value)

    def __len__(self):
        return len(self.targets._data)

    def _image(self, index):
        return _pil(self.data._data[index])

    def get_batch(self, indices):
        if self.transform is None and self.target_transform is None:
            return (make_tensor(self.data._data[indices]),
                    make_tensor(self.targets._data[indices]))
        return super().get_batch(indices)


def _as_tensor(value):
    return value if isinstance(value, Tensor) else make_tensor(np.asarray(value))


class FashionMNIST(MNIST, _data.FashionMNIST):
    """Fashion-MNIST with torchvision's samples (see MNIST)."""


class KMNIST(MNIST, _data.KMNIST):
    """Kuzushiji-MNIST with torchvision's samples (see MNIST)."""


class CIFAR10(_data.CIFAR10):
    """CIFAR-10 (``root``, ``train``, ``transform``, ``target_transform``, ``download``):
    samples are (PIL image of mode 'RGB', int label) before the transforms."""

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        _construct(super().__init__, root, download, train=train, transform=transform,
                   target_transform=target_transform)

    def _image(self, index):
        return _pil(self.data[index])


class CIFAR100(CIFAR10, _data.CIFAR100):
    """CIFAR-100 with torchvision's samples (see CIFAR10)."""


def default_loader(path):
    """The image at ``path`` as an RGB PIL image (torchvision's default loader)."""
    from PIL import Image
    with open(path, "rb") as f:
        image = Image.open(f)
        return image.convert("RGB")


class ImageFolder(_data.ImageFolder):
    """Images in one subfolder per class (``root``, ``transform``, ``target_transform``,
    ``loader``): samples are (``loader(path)``, by default an RGB PIL image, int label).
    ``samples``, ``imgs``, ``classes``, ``class_to_idx`` and ``targets`` are torchvision's.
    Unlike torchvision, a file that is not an image is an error naming it (ganglion's loader
    is strict), not skipped. ganglion's keywords (``mode``, ``in_memory``, ...) pass through."""

    def __init__(self, root, transform=None, target_transform=None, loader=None, **options):
        super().__init__(root, transform=transform, target_transform=target_transform,
                         **options)
        self.loader = default_loader if loader is None else loader
        self.imgs = self.samples

    def _image(self, index):
        if self.data is not None:
            return _pil(self.data[index])
        return self.loader(self.samples[index][0])


class FakeData(Dataset):
    """``size`` random images of ``image_size`` (C, H, W) and random labels below
    ``num_classes``: sample ``i`` is always the same (drawn from a generator seeded with
    ``i + random_offset``). Images are PIL images (C = 1: mode 'L', 3: 'RGB') of uniform
    random uint8 pixels; torchvision draws them differently, so the values differ."""

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"FakeData: size must be a non-negative int, got {size!r}")
        image_size = tuple(image_size)
        if len(image_size) != 3 or image_size[0] not in (1, 3) \
                or not all(isinstance(v, int) and v > 0 for v in image_size):
            raise ValueError(f"FakeData: image_size must be (C, H, W) with C 1 or 3 and positive "
                             f"sizes, got {image_size!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"FakeData: num_classes must be a positive int, got "
                             f"{num_classes!r}")
        self.size, self.image_size, self.num_classes = size, image_size, num_classes
        self.transform, self.target_transform = transform, target_transform
        self.random_offset = random_offset

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        index = check_index(index, self.size, "FakeData")
        rng = np.random.default_rng(index + self.random_offset)
        channels, height, width = self.image_size
        pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
        image = _pil(pixels[:, :, 0] if channels == 1 else pixels)
        target = int(rng.integers(self.num_classes))
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self):
        return f"FakeData({self.size} images of {self.image_size}, {self.num_classes} classes)"


