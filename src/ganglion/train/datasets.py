"""Image-classification datasets by name, as (train loader, test loader), for the command line
and the demo: 'mnist', 'cifar10' (the python batches, or the JPEG tree) and 'digits' (the 8x8
scikit-learn digits, which need no data folder).

Images are converted and normalized a whole batch at a time in the loader's threads
(``batch_transform``), so that loading overlaps the training step.
"""
from dataclasses import dataclass

from ganglion.data import CIFAR10, MNIST, DataLoader, Digits, transforms

__all__ = ["DATASETS", "DatasetInfo", "AUTO_AUGMENT", "classification_loaders"]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    input_shape: tuple
    classes: int
    default_model: str


DATASETS = {
    "mnist": DatasetInfo("mnist", (1, 28, 28), 10, "lenet5"),
    "cifar10": DatasetInfo("cifar10", (3, 32, 32), 10, "cifar_cnn"),
    "digits": DatasetInfo("digits", (1, 8, 8), 10, "digits_cnn"),
}

# Per-channel statistics of the training images (the values everyone uses).
_MNIST_STATS = ((0.1307,), (0.3081,))
_CIFAR_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


def dataset_info(name):
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known datasets: "
                         f"{', '.join(sorted(DATASETS))}") from None


# ``auto_augment`` names, as torchvision's reference training scripts name them.
AUTO_AUGMENT = {"imagenet": lambda: transforms.AutoAugment("imagenet"),
                "cifar10": lambda: transforms.AutoAugment("cifar10"),
                "svhn": lambda: transforms.AutoAugment("svhn"),
                "ra": transforms.RandAugment, "ta_wide": transforms.TrivialAugmentWide}


def _mixing(mixup_alpha, cutmix_alpha, classes):
    """The batch transform that mixes images and labels: MixUp, CutMix, or one of the two
    drawn per batch when both are on (torchvision's reference recipe); [] when neither."""
    mixers = [mix(alpha, classes) for mix, alpha in ((transforms.MixUp, mixup_alpha),
                                                     (transforms.CutMix, cutmix_alpha)) if alpha]
    return [transforms.RandomChoice(mixers)] if len(mixers) == 2 else mixers


def _datasets(name, data_dir, augment, random_erase, auto_augment, mixing):
    """(train set, test set, train batch transform, test batch transform)."""
    if name == "digits":
        if random_erase or auto_augment or mixing:
            raise ValueError("random erasing, auto-augmentation, MixUp and CutMix need an image "
                             "dataset (mnist or cifar10), not 'digits'")
        return Digits("train"), Digits("test"), None, None
    # A policy works on each uint8 image before batching; the rest on whole batches.
    per_image = None if auto_augment is None else AUTO_AUGMENT[auto_augment]()
    if name == "mnist":
        to_tensor = transforms.Compose([transforms.BatchToTensor(),
                                        transforms.BatchNormalize(*_MNIST_STATS)])
        train_set = MNIST(data_dir, train=True, transform=per_image)
        test_set = MNIST(data_dir, train=False)
        augmentation = []
    else:
        to_tensor = transforms.Compose([transforms.BatchToTensor(),
                                        transforms.BatchNormalize(*_CIFAR_STATS)])
        train_set = CIFAR10(data_dir, train=True, transform=per_image)
        test_set = CIFAR10(data_dir, train=False)
        augmentation = ([transforms.BatchRandomCrop(32, padding=4),
                         transforms.BatchRandomHorizontalFlip()] if augment else [])
    if random_erase:
        # After normalizing, as torchvision's recipes do: the erased box is the mean colour.
        augmentation.append(transforms.BatchRandomErasing(p=random_erase))
    augmentation += mixing
    train_transform = transforms.Compose([to_tensor, *augmentation]) if augmentation else to_tensor
    return train_set, test_set, train_transform, to_tensor


def classification_loaders(name, data_dir=None, batch_size=128, seed=0, augment=False,
                           num_workers=1, test_batch_size=1000, random_erase=0.0,
                           auto_augment=None, mixup_alpha=0.0, cutmix_alpha=0.0):
    """(train loader (shuffled with ``seed``), test loader, DatasetInfo) for dataset ``name``.
    ``augment`` adds random crops and flips (CIFAR-10 only); ``random_erase`` is the
    probability of erasing a random box of each training image (``BatchRandomErasing``);
    ``auto_augment`` names a policy applied to each training image first (``AUTO_AUGMENT``:
    AutoAugment's imagenet, cifar10 or svhn, 'ra' RandAugment, 'ta_wide' TrivialAugmentWide);
    ``mixup_alpha`` / ``cutmix_alpha`` (0: off) mix each training batch last, and its labels
    become (N, classes) class probabilities."""
    info = dataset_info(name)
    if auto_augment is not None and auto_augment not in AUTO_AUGMENT:
        raise ValueError(f"unknown auto-augment policy {auto_augment!r}; known: "
                         f"{', '.join(AUTO_AUGMENT)}")
    train_set, test_set, train_transform, test_transform = _datasets(
        name, data_dir, augment, random_erase, auto_augment,
        _mixing(mixup_alpha, cutmix_alpha, info.classes))
    train = DataLoader(train_set, batch_size, shuffle=True, seed=seed, num_workers=num_workers,
                       batch_transform=train_transform)
    test = DataLoader(test_set, test_batch_size, num_workers=num_workers,
                      batch_transform=test_transform)
    return train, test, info
