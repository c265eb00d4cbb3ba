"""``torchvision.transforms`` under ganglion: the objects of ``ganglion.data.transforms`` (one
implementation, two names). PIL images are transformed by Pillow as torchvision does; tensors
(C, H, W) by NumPy with torchvision's formulas; ``functional`` holds the function forms."""
from ganglion.data.transforms import (CenterCrop, ColorJitter, Compose, Grayscale,
                                      InterpolationMode, Lambda, Normalize, Pad, PILToTensor,
                                      RandomAffine, RandomApply, RandomChoice, RandomCrop,
                                      RandomErasing,
                                      RandomGrayscale, RandomHorizontalFlip, RandomOrder,
                                      RandomResizedCrop, RandomRotation, RandomVerticalFlip,
                                      Resize, ToPILImage, ToTensor)
from ganglion.vision.transforms import functional

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize",
           "CenterCrop", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip",
           "RandomVerticalFlip", "RandomRotation", "RandomAffine", "RandomErasing", "ColorJitter",
           "RandomGrayscale", "RandomApply", "RandomChoice", "RandomOrder", "Lambda",
           "Grayscale", "Pad", "InterpolationMode", "functional"]
