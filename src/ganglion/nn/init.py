"""Weight initialisers (nn.init) with PyTorch's fan computations."""

__all__ = []
