"""ONNX's LSTM, GRU and RNN operators for ``ganglion.onnx.load``, run by ganglion's fused
recurrent functions (``F.lstm`` / ``F.gru`` / ``F.rnn``).

Reference: the ONNX operator specification of LSTM, GRU and RNN (opset 7 to 22): inputs X, W,
R, B, sequence_lens, initial_h (and initial_c, P), attributes hidden_size, direction, layout,
activations, clip, linear_before_reset, input_forget.
"""
import ganglion as gn
import ganglion.nn.functional as F
from ganglion.onnx._load_common import (as_tensor, optional as _optional,
                                        reshape_target as _reshape_target, static_ints,
                                        unsupported as _unsupported)

__all__ = ["recurrent"]


# ONNX orders the gate blocks of W, R and B as LSTM i, o, f, c and GRU z, r, h; PyTorch (and
# ganglion's fused loops) as i, f, g, o and r, z, n. The blocks are reordered with tensor ops
# on every call, so gradients reach the ONNX-layout parameters.
_GATE_ORDER = {"LSTM": (0, 2, 3, 1), "GRU": (1, 0, 2), "RNN": (0,)}


def _reorder(matrix, order, hidden):
    if order == (0,):
        return matrix
    return gn.concatenate([matrix[k * hidden:(k + 1) * hidden] for k in order], axis=0)


def recurrent(kind):
    def run(node, inputs, attrs):
        x, w, r = (as_tensor(v) for v in inputs[:3])
        b = _optional(inputs, 3)
        lengths = _optional(inputs, 4)
        initial_h = _optional(inputs, 5)
        initial_c = _optional(inputs, 6) if kind == "LSTM" else None
        if kind == "LSTM" and _optional(inputs, 7) is not None:
            _unsupported(node, "peephole weights (input P)")
        if attrs.get("clip") is not None:
            _unsupported(node, "the clip attribute")
        if attrs.get("input_forget", 0):
            _unsupported(node, "input_forget=1")
        layout = attrs.get("layout", 0)
        direction = attrs.get("direction", "forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction not in ("forward", "reverse", "bidirectional"):
            _unsupported(node, f"direction {direction!r}")
        hidden = attrs["hidden_size"]
        defaults = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                    "RNN": ["Tanh"]}[kind]
        activations = [a.decode() if isinstance(a, bytes) else a
                       for a in attrs.get("activations", defaults)]
        nonlinearity = "tanh"
        if kind == "RNN":
            if activations[0] not in ("Tanh", "Relu"):
                _unsupported(node, f"activation {activations[0]}")
            nonlinearity = activations[0].lower()
        elif activations[:len(defaults)] != defaults:
            _unsupported(node, f"activations {activations} (only {defaults} are)")
        if kind == "GRU" and not attrs.get("linear_before_reset", 0):
            _unsupported(node, "linear_before_reset=0 (PyTorch's GRU, and ganglion's, apply the "
                               "reset gate after the recurrent product: linear_before_reset=1)")
        if layout:
            x = gn.transpose(x, 0, 1)
        steps, batch = x.shape[0], x.shape[1]
        if lengths is not None:
            lengths = static_ints(node, lengths, "sequence_lens")
            if any(n != steps for n in lengths):
                _unsupported(node, f"sequence_lens {list(lengths)} shorter than the sequence "
                                   f"({steps} steps)")
        order = _GATE_ORDER[kind]
        directions = 2 if direction == "bidirectional" else 1
        weights = []
        for d in range(directions):
            w_ih, w_hh = _reorder(w[d], order, hidden), _reorder(r[d], order, hidden)
            if b is None:
                b_ih = b_hh = None
            else:
                bias = as_tensor(b)[d]
                gates = len(order) * hidden
                b_ih = _reorder(bias[:gates], order, hidden)
                b_hh = _reorder(bias[gates:], order, hidden)
            weights.append((w_ih, w_hh, b_ih, b_hh))
        if direction == "reverse":
            x = gn.flip(x, (0,))
        h0 = None if initial_h is None else as_tensor(initial_h)
        if layout and h0 is not None:
            h0 = gn.transpose(h0, 0, 1)
        if kind == "LSTM":
            c0 = None if initial_c is None else as_tensor(initial_c)
            if layout and c0 is not None:
                c0 = gn.transpose(c0, 0, 1)
            if h0 is None and c0 is not None or h0 is not None and c0 is None:
                zeros = gn.zeros(directions, batch, hidden, dtype=x.dtype)
                h0, c0 = (zeros if h0 is None else h0), (zeros if c0 is None else c0)
            state = None if h0 is None else (h0, c0)
            y, (h_n, c_n) = F.lstm(x, state, weights, bidirectional=directions == 2)
            finals = (h_n, c_n)
        elif kind == "GRU":
            y, h_n = F.gru(x, h0, weights, bidirectional=directions == 2)
            finals = (h_n,)
        else:
            y, h_n = F.rnn(x, h0, weights, nonlinearity=nonlinearity,
                           bidirectional=directions == 2)
            finals = (h_n,)
        if direction == "reverse":
            y = gn.flip(y, (0,))
        # y is (T, N, D*H); ONNX's Y is (T, D, N, H), or (N, T, D, H) in layout 1.
        y = gn.reshape(y, _reshape_target(node, (steps, batch, directions, hidden)))
        y = gn.permute(y, (1, 0, 2, 3)) if layout else gn.permute(y, (0, 2, 1, 3))
        if layout:
            finals = tuple(gn.transpose(f, 0, 1) for f in finals)
        return (y,) + finals
    return run
