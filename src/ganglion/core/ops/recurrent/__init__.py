"""The fused recurrent ops: the whole time loop of one LSTM, GRU or Elman RNN layer direction as
one graph node (``lstm.py``, ``gru.py``, ``rnn.py``; shared helpers in ``common.py``).

A graph of per-step Tensor ops costs tens of op calls per time step, forward and backward; at
small batch sizes that Python overhead, not the arithmetic, decides the speed. Each op instead
calls one backend method per pass (``backend.lstm_sequence_forward`` / ``_backward``, and the
same for ``gru`` and ``rnn``), which runs the loop on raw arrays; the input projection of all
steps is an ordinary matmul outside the op. Double backward through a fused loop is not
supported (the cells, built from ordinary ops, support it).
"""
from ganglion.core.ops.recurrent.common import (check_shapes, double_backward_error,  # noqa: F401
                                                previous_hidden, sequence_length)
from ganglion.core.ops.recurrent.gru import (GRUOutputs, GRUSequence,  # noqa: F401
                                             GRUSequenceBackward, gru_sequence)
from ganglion.core.ops.recurrent.lstm import (LSTMOutputs, LSTMSequence,  # noqa: F401
                                              LSTMSequenceBackward, lstm_sequence)
from ganglion.core.ops.recurrent.rnn import (RNNSequence, RNNSequenceBackward,  # noqa: F401
                                             rnn_sequence)

__all__ = ["lstm_sequence", "gru_sequence", "rnn_sequence"]
