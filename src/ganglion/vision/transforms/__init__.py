"""``torchvision.transforms`` under ganglion: the objects of ``ganglion.data.transforms`` (one
implementation, two names). PIL images are transformed by Pillow as torchvision does; tensors
(C, H, W) by NumPy with torchvision's formulas; ``functional`` holds the function forms."""
from ganglion.data.transforms import (AutoAugment, AutoAugmentPolicy, CenterCrop, ColorJitter,
                                      Compose, GaussianBlur, Grayscale, InterpolationMode, Lambda,
                                      Normalize, Pad, PILToTensor, RandAugment,
                                      RandomAdjustSharpness, RandomAffine, RandomApply,
                                      RandomAutocontrast, RandomChoice, RandomCrop,
                                      RandomEqualize, RandomErasing, RandomGrayscale,
                                      RandomHorizontalFlip, RandomInvert, RandomOrder,
                                      RandomPosterize, RandomResizedCrop, RandomRotation,
                                      RandomSolarize, RandomVerticalFlip, Resize, ToPILImage,
                                      ToTensor, TrivialAugmentWide)
from ganglion.vision.transforms import functional

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize",
           "CenterCrop", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomRotation", "RandomAffine", "RandomErasing", "ColorJitter",
           "RandomGrayscale", "GaussianBlur", "RandomInvert", "RandomPosterize", "RandomSolarize",
           "RandomAdjustSharpness", "RandomAutocontrast", "RandomEqualize", "RandomApply",
           "RandomChoice", "RandomOrder", "AutoAugment", "AutoAugmentPolicy", "RandAugment",
           "TrivialAugmentWide", "Lambda", "Grayscale", "Pad", "InterpolationMode",
           "functional"]

# torchvision.transforms.v2 (imported last: it builds on the names above).
from ganglion.vision.transforms import v2  # noqa: E402
