"""Where the fused Elman RNN op used to live: it is ``ganglion.core.ops.recurrent.rnn`` now, and
this module re-exports it so that existing imports keep working."""
from ganglion.core.ops.recurrent.rnn import RNNSequence, RNNSequenceBackward, rnn_sequence  # noqa: F401

__all__ = ["rnn_sequence"]
