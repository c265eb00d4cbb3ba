"""Where the fused cross-entropy op used to live: it is ``ganglion.core.ops.nn.loss`` now, and
this module re-exports it so that existing imports keep working."""
from ganglion.core.ops.nn.loss import ClassIndexLoss, TargetWeights, class_index_loss

__all__ = ["ClassIndexLoss", "TargetWeights", "class_index_loss"]
