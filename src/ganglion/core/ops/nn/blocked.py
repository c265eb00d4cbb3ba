"""Ops on activations in oneDNN's blocked layouts (``backend/onednn/layout.py``), which only the
compiler's layout rewrite (``symbolic/rewrites/onednn_layout.py``) puts into a graph: each
replaces a plain op (or a pair: convolution + ReLU, weight + bias gradient) whose result it
computes with the same oneDNN primitive the eager kernels use, keeping its activation inputs and
outputs in oneDNN's layout. ``ToPlain`` is the reorder back to NCHW at the edges.

Their values are ``layout.BlockedArray`` objects, typed ``BlockedType``: a TensorType that
equals no other, so that a compiled schedule never hands such a value to an elementwise op as
a buffer to write into. They have no vjp: the rewrite runs after the gradient graph is built.
Differentiable ops of the same results are the plain ones they replace (``core/ops/conv.py``,
``pool.py``, ``unary.py``).
"""
from ganglion.core import dtypes
from ganglion.core.op import Op
from ganglion.core.tensor import TensorType

__all__ = ["BlockedType", "ToPlain", "BlockedConv2d", "BlockedConv2dBackwardInput",
           "BlockedConv2dWeightGrad", "TupleItem", "BlockedMaxPool2d", "BlockedMaxPool2dBackward",
           "BlockedReluBackward"]


def _layout():
    # (imported on first run: loading the oneDNN package is for graphs that use it)
    from ganglion.backend.onednn import layout
    return layout


class BlockedType(TensorType):
    """The type of a value held in a oneDNN layout (or a tuple of results): equal only to itself."""
    __slots__ = ()

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return "Blocked" + super().__repr__()


class _BlockedOp(Op):
    __slots__ = ()
    differentiable = False
    saves_inputs = False
    # (results are arrays or BlockedArrays of their own, never an input or a view of one)
    returns_new_array = True


class ToPlain(_BlockedOp):
    """A BlockedArray reordered into a plain C-contiguous NCHW float32 array."""
    __slots__ = ()

    def forward(self, backend, x):
        return _layout().to_plain(x)

    def infer(self, x):
        return TensorType(dtypes.float32, x.shape)


class BlockedConv2d(_BlockedOp):
    """conv2d(x, w) + b, followed by ReLU when ``relu`` (the backend's ReLU over the result's
    buffer: oneDNN's eltwise post-op would map NaN to 0): a BlockedArray. x may be blocked or
    plain."""
    __slots__ = ("stride", "padding", "dilation", "groups", "relu")

    def __init__(self, stride, padding, dilation, groups, relu):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.relu = relu

    def forward(self, backend, x, w, b=None):
        layout = _layout()
        out = layout.conv2d_forward(x, w, b, self.stride, self.padding, self.dilation, self.groups)
        # (into a second buffer from the array cache: the loop is faster than in place)
        return layout.relu(out, backend.relu_nan_free) if self.relu else out


class BlockedConv2dBackwardInput(_BlockedOp):
    """The input gradient of conv2d (ConvTranspose2d without bias) for an input of shape
    ``x_shape``, from output gradient g (blocked or plain): a BlockedArray."""
    __slots__ = ("stride", "padding", "dilation", "groups", "x_shape")

    def __init__(self, stride, padding, dilation, groups, x_shape):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.x_shape = tuple(x_shape)

    def forward(self, backend, g, w):
        return _layout().conv2d_backward_input(g, w, self.x_shape, self.stride, self.padding,
                                               self.dilation, self.groups)


class BlockedConv2dWeightGrad(_BlockedOp):
    """conv2d's weight gradient from x and the output gradient g (each blocked or plain): a
    plain array, or with ``bias`` the tuple (weight gradient, bias gradient) of one primitive."""
    __slots__ = ("stride", "padding", "dilation", "groups", "kernel_size", "bias")

    def __init__(self, stride, padding, dilation, groups, kernel_size, bias):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.kernel_size, self.bias = tuple(kernel_size), bias

    def forward(self, backend, x, g):
        gw, gb = _layout().conv2d_backward_weight_bias(x, g, self.kernel_size, self.stride,
                                                       self.padding, self.dilation, self.groups,
                                                       bias=self.bias)
        return (gw, gb) if self.bias else gw


class TupleItem(_BlockedOp):
    """Item ``index`` of a tuple-valued node (BlockedConv2dWeightGrad with its bias)."""
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def forward(self, backend, values):
        return values[self.index]


class BlockedMaxPool2d(_BlockedOp):
    """Max pooling (forward_training) of a blocked or plain x: a BlockedArray in x's layout that
    carries the workspace its backward reads."""
    __slots__ = ("kernel", "stride", "padding", "dilation", "ceil_mode")

    def __init__(self, kernel, stride, padding, dilation, ceil_mode):
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation, self.ceil_mode = dilation, ceil_mode

    def forward(self, backend, x):
        return _layout().max_pool2d(x, self.kernel, self.stride, self.padding, self.dilation,
                                    self.ceil_mode)


class BlockedMaxPool2dBackward(_BlockedOp):
    """(output gradient, the BlockedMaxPool2d result) -> the input gradient, a BlockedArray."""
    __slots__ = ()

    def forward(self, backend, g, pooled):
        return _layout().max_pool2d_backward(g, pooled)


class BlockedReluBackward(_BlockedOp):
    """(gradient, ReLU output as a BlockedArray) -> gradient where the output is positive."""
    __slots__ = ()

    def forward(self, backend, g, y):
        return _layout().relu_backward(g, y)
