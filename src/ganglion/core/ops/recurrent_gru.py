"""Where the fused GRU op used to live: it is ``ganglion.core.ops.recurrent.gru`` now, and this
module re-exports it so that existing imports keep working."""
from ganglion.core.ops.recurrent.gru import (GRUOutputs, GRUSequence, GRUSequenceBackward,  # noqa: F401
                                             gru_sequence)

__all__ = ["gru_sequence"]
