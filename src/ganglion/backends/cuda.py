"""``ganglion.backends.cuda``: CUDA is not built in. ``matmul.allow_tf32`` and
``matmul.allow_fp16_reduced_precision_reduction`` are settable flags with PyTorch's defaults
that change nothing here."""
from types import SimpleNamespace

__all__ = ["is_built", "matmul"]

# A namespace, so that `torch.backends.cuda.matmul.allow_tf32 = True` is an attribute assignment.
matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                         allow_bf16_reduced_precision_reduction=True)


def is_built():
    """False: this build was not made with CUDA."""
    return False
