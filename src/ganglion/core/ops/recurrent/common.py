"""What the fused recurrent ops (LSTM, GRU, Elman RNN) share: their shape checks, the number
of time steps of an input projection, the hidden state entering each step (for W_hh's
gradient), and the error a backward-through-time op raises when differentiated itself."""
from ganglion.core.op import ShapeError, format_shape
from ganglion.core.ops.indexing import getitem
from ganglion.core.ops.shape import concatenate, unsqueeze

__all__ = ["check_shapes", "double_backward_error", "previous_hidden", "sequence_length"]


def double_backward_error(layer):
    """What a fused loop's backward-through-time op raises when differentiated itself."""
    return RuntimeError(f"{layer.lower()}_sequence: double backward through a fused {layer} is "
                        f"not supported; build the recurrence from {layer}Cell (ordinary ops) "
                        "for higher-order gradients")


def sequence_length(op_name, rows, batch):
    """The number of time steps of a fused loop's (T*N, G*H) input projection of ``rows`` rows.

    A batch of 0 sequences has no rows whatever T is, so T is lost: the recurrent layers
    (``nn.functional.recurrent``) handle an empty batch before reaching a fused op, and only a
    compiled graph whose batch size was unknown when it was built gets here with one."""
    if batch == 0:
        raise RuntimeError(f"{op_name}: a batch of 0 sequences reached the fused loop of a graph "
                           "built for an unknown batch size, which cannot tell the number of "
                           "time steps; skip empty batches, or run the layer eagerly (it gives "
                           "PyTorch's empty results)")
    return rows // batch


def check_shapes(op_name, expected):
    """``expected`` maps an input's name to (its type, the shape it must have; None = any)."""
    for name, (t, shape) in expected.items():
        if len(t.shape) != len(shape) or any(
                a is not None and b is not None and a != b for a, b in zip(t.shape, shape)):
            raise ShapeError(f"{op_name}: {name} must have shape {format_shape(shape)}, "
                             f"got {format_shape(t.shape)}")


def previous_hidden(hiddens, h0, reverse):
    """The hidden state entering each step, (T, N, H), from ``hiddens`` (T, N, H), the output
    of every step: h0 for the first step visited, the neighbouring step's output for the
    others. (The fused LSTM, GRU and RNN all take W_hh's gradient against it.)"""
    if reverse:
        return concatenate([getitem(hiddens, slice(1, None)), unsqueeze(h0, 0)])
    return concatenate([unsqueeze(h0, 0), getitem(hiddens, slice(None, -1))])
