"""ONNX forms of the fused recurrent loops: ONNX's LSTM, GRU and RNN operators.

ganglion's layers compute the input projection of all steps outside the loop op (one GEMM,
``x W_ih^T + b_ih``) and hand the loop ``x_proj``, ``b_hh``, ``h0`` (``c0``) and ``W_hh``. Where
``x_proj`` is that GEMM on a (T, N, input) tensor, the ONNX operator is given the layer's own
input and weights (``W_ih``, ``b_ih``), so the file holds the usual LSTM; otherwise it is given
``x_proj`` itself with an identity input weight. The gate blocks are reordered from PyTorch's
order to ONNX's (LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h) by a Gather on the weights, which
keeps the initializers as the state_dict holds them (runtimes fold the Gather once).
PyTorch's GRU applies the reset gate after the hidden projection and its bias, ONNX's
``linear_before_reset=1``. Specification: https://onnx.ai/onnx/operators/onnx__LSTM.html
(and onnx__GRU, onnx__RNN).

The loop ops ``LSTMSequence`` / ``GRUSequence`` pack internal buffers into one result that only
``LSTMOutputs`` / ``GRUOutputs`` read; they get no ONNX node of their own (``PACKED``).
"""
import numpy as np

from ganglion.core.ops.elementwise import Add
from ganglion.core.ops.linalg import MatMul
from ganglion.core.ops.recurrent import (GRUOutputs, GRUSequence, LSTMOutputs, LSTMSequence,
                                         RNNSequence)
from ganglion.core.ops.shape import Permute, Reshape
from ganglion.onnx._export_ops import converts

__all__ = []

#: The value a packed loop result stands for: nothing in the ONNX graph.
PACKED = object()


def _gate_order(blocks, hidden):
    """Row indices that take gate blocks in ``blocks`` order (PyTorch's block numbers)."""
    return np.concatenate([np.arange(b * hidden, (b + 1) * hidden) for b in blocks]).astype(np.int64)


@converts(LSTMSequence, GRUSequence)
def _packed(w, op, node, ins):
    return PACKED


def _input_projection(w, x_proj):
    """(layer input value, W_ih value, b_ih value) when ``x_proj`` is ``reshape(x, (-1, in)) @
    W_ih^T + b_ih`` with x of shape (T, N, in); None otherwise."""
    if x_proj.kind != "apply" or type(x_proj.op) is not Add or len(x_proj.inputs) != 2:
        return None
    product, b_ih = x_proj.inputs
    if product.kind != "apply" or type(product.op) is not MatMul or b_ih.kind != "shared":
        return None
    rows, weight_t = product.inputs
    if (rows.kind != "apply" or type(rows.op) is not Reshape or weight_t.kind != "apply"
            or type(weight_t.op) is not Permute or tuple(weight_t.op.axes) != (1, 0)
            or weight_t.inputs[0].kind != "shared"):
        return None
    x = rows.inputs[0]
    if len(x.type.shape) != 3 or tuple(rows.op.shape) != (-1, x.type.shape[2]):
        return None
    return w.values[id(x)], w.values[id(weight_t.inputs[0])], w.values[id(b_ih)]


def _recurrent(w, onnx_op, node, ins, gates, order, x_proj_at, **attributes):
    """The ONNX recurrent node's outputs (Y, Y_h[, Y_c]) for a fused loop whose inputs are
    ``ins`` (x_proj at ``x_proj_at``, then b_hh, h0, [c0,] w_hh)."""
    x_proj_node = node.inputs[x_proj_at]
    x_proj, b_hh, h0 = ins[x_proj_at:x_proj_at + 3]
    w_hh = ins[-1]
    hidden = node.inputs[-1].type.shape[1]
    dtype = np.dtype(node.type.dtype.np)
    permutation = w.constant(_gate_order(order, hidden))

    def reordered(value):
        return w.add("Gather", [value, permutation], axis=0)

    def leading_axis(value):
        return w.add("Unsqueeze", [value, w.ints([0])])

    matched = _input_projection(w, x_proj_node)
    if matched is not None:
        x, w_ih, b_ih = matched
        weight, input_bias = leading_axis(reordered(w_ih)), reordered(b_ih)
    else:
        # x_proj (T*N, G*H) as the input of a layer whose input weight is the gate reordering.
        batch = w.add("Reshape", [w.add("Gather", [w.add("Shape", [h0]),
                                                   w.constant(np.asarray(0, np.int64))], axis=0),
                                  w.ints([1])])
        steps_shape = w.add("Concat", [w.ints([-1]), batch, w.ints([gates * hidden])], axis=0)
        x = w.add("Reshape", [x_proj, steps_shape])
        identity = np.eye(gates * hidden, dtype=dtype)[_gate_order(order, hidden)]
        weight = w.constant(identity[None])
        input_bias = w.constant(np.zeros(gates * hidden, dtype))
    recurrence = leading_axis(reordered(w_hh))
    bias = leading_axis(w.add("Concat", [input_bias, reordered(b_hh)], axis=0))
    initial = [leading_axis(value) for value in ins[x_proj_at + 2:-1]]
    direction = "reverse" if node.op.reverse else "forward"
    outputs = 3 if onnx_op == "LSTM" else 2
    return w.add(onnx_op, [x, weight, recurrence, bias, ""] + initial, outputs=outputs,
                 hidden_size=int(hidden), direction=direction, **attributes)


@converts(LSTMOutputs)
def _lstm_outputs(w, op, node, ins):
    """(c_n, h_1 ... h_T) stacked, as ``LSTMOutputs`` gives them."""
    y, _, y_c = _recurrent(w, "LSTM", node, ins, 4, (0, 3, 1, 2), 1)
    hidden_states = w.add("Squeeze", [y, w.ints([1])])
    return w.add("Concat", [y_c, hidden_states], axis=0)


@converts(GRUOutputs)
def _gru_outputs(w, op, node, ins):
    y, _ = _recurrent(w, "GRU", node, ins, 3, (1, 0, 2), 1, linear_before_reset=1)
    return w.add("Squeeze", [y, w.ints([1])])


@converts(RNNSequence)
def _rnn_sequence(w, op, node, ins):
    activation = {"tanh": "Tanh", "relu": "Relu"}[op.nonlinearity]
    y, _ = _recurrent(w, "RNN", node, ins, 1, (0,), 0, activations=[activation])
    return w.add("Squeeze", [y, w.ints([1])])
