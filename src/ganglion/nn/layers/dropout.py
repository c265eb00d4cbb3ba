"""Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout and FeatureAlphaDropout: dropout while training,
the identity in eval mode."""
from ganglion.nn.functional.dropout import (alpha_dropout, check_probability, dropout, dropout1d,
                                            dropout2d, dropout3d, feature_alpha_dropout)
from ganglion.nn.module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


class _DropoutLayer(Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool):
            raise TypeError(f"{type(self).__name__}: p must be a number between 0 and 1, got {p!r} "
                            f"of type {type(p).__name__}")
        check_probability(p, type(self).__name__)
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutLayer):
    """Zero each element with probability p while training (the rest scaled by 1 / (1 - p))."""

    def forward(self, input):
        return dropout(input, self.p, self.training, who="Dropout")


class Dropout2d(_DropoutLayer):
    """Zero whole channels of (N, C, H, W) input with probability p while training (other
    ranks warn, and 3-D input is read as (N, C, L), as in PyTorch: see F.dropout2d)."""

    def forward(self, input):
        return dropout2d(input, self.p, self.training, who="Dropout2d")


class Dropout1d(_DropoutLayer):
    """Zero whole channels of (N, C, L) or (C, L) input with probability p while training."""

    def forward(self, input):
        return dropout1d(input, self.p, self.training, who="Dropout1d")


class Dropout3d(_DropoutLayer):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input while training."""

    def forward(self, input):
        return dropout3d(input, self.p, self.training, who="Dropout3d")


class AlphaDropout(_DropoutLayer):
    """Dropout that keeps a SELU network's zero mean and unit variance."""

    def forward(self, input):
        return alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutLayer):
    """AlphaDropout by whole channels."""

    def forward(self, input):
        return feature_alpha_dropout(input, self.p, self.training)
