"""The engine: Tensor, Op, autograd, dtypes, devices and the op library."""
from ganglion.core import methods  # noqa: F401  (binds operators and methods to Tensor)
