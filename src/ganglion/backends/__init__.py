"""``ganglion.backends``: PyTorch's backend switches and queries (``torch.backends``), answered for
this build, which computes with NumPy and its own compiled loops on the CPU.

``cudnn``, ``mps``, ``cuda``, ``mkldnn``, ``mkl`` and ``openmp`` each say ``is_available()`` False
(ganglion links none of those libraries); the settable flags (``cudnn.benchmark``,
``cudnn.deterministic``, ``cudnn.enabled``, ``cudnn.allow_tf32``, ``mkldnn.enabled``,
``cuda.matmul.allow_tf32``) exist with PyTorch's defaults, so that scripts setting them run;
they change nothing here (ganglion's CPU results are already deterministic run to run).
Not to be confused with ``ganglion.backend``, the array backend the engine computes with.
"""
from ganglion.backends import cuda, cudnn, mkl, mkldnn, mps, openmp

__all__ = ["cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp"]
