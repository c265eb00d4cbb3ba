"""Layout propagation for oneDNN (issue 19): in a compiled graph, chains of convolutions, ReLUs
and max poolings, and their gradients, run on activations kept in oneDNN's blocked layout,
with reorders to plain NCHW only at the chain's edges.

Reference: oneDNN's "Memory Format Propagation" (primitives made with format ``any`` choose
their layouts; reorder only where a consumer needs another one), as PyTorch's mkldnn / TorchScript
graph rewrite does for frozen models.

Unlike the other rewrites (one node at a time, ``rewrites.optimize``), this is a pass over the
whole graph, because whether a value may stay blocked depends on all its consumers. It runs
after ``optimize`` and before elementwise fusion. Walking the graph in topological order:

- a ``Conv2d`` that oneDNN supports becomes ``BlockedConv2d`` (not a pointwise one: the eager
  kernels run those on plain NCHW, faster); when its only consumer is a
  ``Relu``, the ReLU joins it (the pair is one node; the ReLU runs over the result's buffer,
  keeping NaN, which oneDNN's eltwise post-op would map to 0);
- a ``MaxPool2d`` of a blocked value becomes ``BlockedMaxPool2d`` (forward_training, keeping
  its workspace); the ``MaxPool2dArgmax`` / ``MaxPool2dScatter`` pair of its gradient becomes
  one ``BlockedMaxPool2dBackward`` that reads that workspace (when every reader of the argmax is
  such a scatter);
- ``ReluBackward`` of a blocked ReLU output becomes ``BlockedReluBackward`` (oneDNN's eltwise
  backward from the output, blocked);
- ``ConvTranspose2d`` without bias (the input gradient) becomes ``BlockedConv2dBackwardInput``;
  ``Conv2dWeightGrad`` becomes ``BlockedConv2dWeightGrad``, which also computes the bias
  gradient when the graph sums the same output gradient over (N, H, W);
- every other reader of a blocked value (an op without a blocked form, a function output, a
  view or reshape, the optimizer) reads it through one ``ToPlain`` node per value; a
  ``ReshapeAs`` that reads a blocked value only for its shape becomes a ``Reshape``;
- finally, a chain one op long (a convolution of plain data whose result is only reordered
  back, as before a batch norm, which has no blocked form here) runs as the plain op again.

The kernels run the same oneDNN primitives as the eager path, so results are the same to
float32 rounding (identical on the tested networks). The pass applies only where the eager
path would run oneDNN: ``ganglion.config.kernels`` is "auto" or "onednn" when the function is
compiled, oneDNN loads, float32, known shapes; elsewhere (float64, ``kernels="numba"``, no
oneDNN) the graph is returned unchanged. The choice is made at compile time: a function
compiled under "auto" keeps its oneDNN kernels when the setting changes later, and raises (as
a direct oneDNN kernel call does) in a child forked after oneDNN ran.
``ganglion.config.layout_propagation = False`` switches it off (and the eager form with it).
"""
from ganglion import config
from ganglion.core import dtypes
from ganglion.core.ops.conv import Conv2d, Conv2dWeightGrad, ConvTranspose2d
from ganglion.core.ops.pool import MaxPool2d, MaxPool2dArgmax, MaxPool2dScatter
from ganglion.core.ops.reduce import Sum
from ganglion.core.ops.shape import Reshape, ReshapeAs
from ganglion.core.ops.unary import Relu, ReluBackward
from ganglion.core.tensor import TensorType
from ganglion.symbolic.graph import Node, toposort

__all__ = ["applies", "propagate_layout"]

def applies():
    """Whether the rewrite runs on graphs compiled now (see the module docstring)."""
    settings = config.settings
    if not settings.layout_propagation or settings.kernels not in ("auto", "onednn"):
        return False
    from ganglion.backend import onednn
    return onednn.available()


def _known_float32(node, ndim):
    t = node.type
    return (t.dtype is dtypes.float32 and len(t.shape) == ndim and None not in t.shape
            and type(t) is TensorType)


def _conv_supported(op, x_shape, w_shape):
    from ganglion.backend.onednn.layout import supports_conv2d
    return supports_conv2d(x_shape, w_shape, op.stride, op.padding, op.dilation, op.groups)


def _pool_supported(op, shape):
    from ganglion.backend.onednn.layout import supports_max_pool2d
    return supports_max_pool2d(shape, *op.geometry)


def _is_bias_sum(node, gy):
    """Whether ``node`` is sum(gy, axis=(0, 2, 3)): a convolution's bias gradient."""
    op = node.op
    return (type(op) is Sum and node.inputs[0] is gy and not op.keepdims
            and op.axes is not None and tuple(sorted(a % 4 for a in op.axes)) == (0, 2, 3)
            and _known_float32(node, 1))


def propagate_layout(outputs):
    """The graph of ``outputs`` (nodes) with the oneDNN chains blocked; ``outputs`` unchanged
    where the rewrite does not apply or finds nothing."""
    if not applies():
        return outputs
    return _Pass(outputs).run()


class _Pass:
    def __init__(self, outputs):
        self.outputs = outputs
        self.order = toposort(outputs)
        self.readers = {}            # id(node) -> [(reader node, input position)]
        for node in self.order:
            for position, i in enumerate(node.inputs):
                self.readers.setdefault(id(i), []).append((node, position))
        for node in outputs:
            self.readers.setdefault(id(node), []).append((None, None))
        self.new = {}                # id(old node) -> new node computing the same value (plain)
        self.blocked = {}            # id(old node) -> new node computing it as a BlockedArray
        self.plain_of_blocked = {}   # id(old node) -> its ToPlain node
        self.absorbed = set()        # ids of old nodes computed inside another new node
        self.origin = {}             # id(new blocked node) -> the plain op it replaces
        self.scatters = {}           # id(MaxPool2dScatter) -> the MaxPool2d it is the backward of
        self.changed = False
        # Bias gradients computed with their weight gradient: id(Sum) -> the Conv2dWeightGrad
        self.position = {id(node): k for k, node in enumerate(self.order)}
        self.bias_partner = {}
        for node in self.order:
            if node.kind == "apply" and type(node.op) is Conv2dWeightGrad and self._weight_grad_ok(node):
                gy = node.inputs[1]
                for reader, _ in self.readers.get(id(gy), []):
                    if reader is not None and _is_bias_sum(reader, gy):
                        self.bias_partner[id(reader)] = node
                        break

    # -- the value of an old node as a new node, plain or as it is -----------------------
    def plain(self, node):
        key = id(node)
        if key in self.blocked:
            to_plain = self.plain_of_blocked.get(key)
            if to_plain is None:
                from ganglion.core.ops.nn.blocked import ToPlain
                to_plain = self.plain_of_blocked[key] = Node(
                    "apply", TensorType(dtypes.float32, node.type.shape), op=ToPlain(),
                    inputs=(self.blocked[key],), tensor=node.tensor)
            return to_plain
        return self.new.get(key, node)

    def either(self, node):
        return self.blocked.get(id(node)) or self.plain(node)

    def _make_blocked(self, old, op, inputs):
        from ganglion.core.ops.nn.blocked import BlockedType
        node = Node("apply", BlockedType(dtypes.float32, old.type.shape), op=op, inputs=tuple(inputs))
        self.blocked[id(old)] = node
        self.origin[id(node)] = old.op
        self.changed = True
        return node

    def _only_readers(self, node, accept):
        readers = self.readers.get(id(node), [])
        return bool(readers) and all(r is not None and accept(r, p) for r, p in readers)

    # -- the pass ---------------------------------------------------------------------------
    def run(self):
        for node in self.order:
            if node.kind != "apply" or id(node) in self.absorbed or id(node) in self.blocked \
                    or id(node) in self.new:
                continue
            if not self._block(node):
                self._copy(node)
        if not self.changed:
            return self.outputs
        outputs = [self.plain(o) for o in self.outputs]
        self._unblock_lone_kernels(outputs)
        return outputs

    def _unblock_lone_kernels(self, outputs):
        """A blocked convolution or input gradient that reads plain data and whose result is
        only reordered back (a chain one op long, e.g. a convolution followed by batch norm)
        runs as the plain op it replaced: the plain kernel makes the same two reorders, into
        one shared scratch buffer instead of two arrays (compiled ResNet-20 and VGG-11-BN
        steps were 6-9% slower without this). A weight gradient of two plain inputs stays
        blocked only where it also gives the bias gradient (one pass over the gradient less).
        The nodes changed here were made by this pass: they are changed in place."""
        from ganglion.core.ops.nn import blocked as ops
        order = toposort(outputs)
        readers = {}
        for node in order:
            for i in node.inputs:
                readers.setdefault(id(i), []).append(node)
        for node in order:
            origin = self.origin.get(id(node))
            if origin is None or any(isinstance(i.type, ops.BlockedType) for i in node.inputs):
                continue
            op = node.op
            if type(op) is ops.BlockedConv2dWeightGrad:
                if not op.bias:
                    node.op = origin
                continue
            if getattr(op, "relu", False):
                continue
            users = readers.get(id(node), [])
            if len(users) == 1 and type(users[0].op) is ops.ToPlain:
                users[0].op, users[0].inputs = origin, node.inputs

    def _copy(self, node):
        """The node with its inputs' new (plain) values."""
        op = node.op
        if type(op) is ReshapeAs and id(node.inputs[1]) in self.blocked:
            # (the second input is read for its shape only, known here: no reorder for it)
            self.new[id(node)] = Node("apply", node.type, op=Reshape(tuple(node.type.shape)),
                                      inputs=(self.plain(node.inputs[0]),), tensor=node.tensor)
            return
        inputs = tuple(self.plain(i) for i in node.inputs)
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            self.new[id(node)] = Node("apply", node.type, op=op, inputs=inputs, tensor=node.tensor)

    def _block(self, node):
        """Replace ``node`` by its blocked form where it has one; False where it stays."""
        from ganglion.core.ops.nn import blocked as ops
        op, inputs = node.op, node.inputs
        kind = type(op)
        if kind is Conv2d:
            x, w = inputs[:2]
            if not (_known_float32(x, 4) and _known_float32(w, 4) and _known_float32(node, 4)
                    and (len(inputs) == 2 or _known_float32(inputs[2], 1))
                    and _conv_supported(op, x.type.shape, w.type.shape)):
                return False
            new_inputs = [self.either(x)] + [self.plain(i) for i in inputs[1:]]
            readers = self.readers.get(id(node), [])
            relu = (len(readers) == 1 and readers[0][0] is not None
                    and type(readers[0][0].op) is Relu and _known_float32(readers[0][0], 4))
            blocked_op = ops.BlockedConv2d(op.stride, op.padding, op.dilation, op.groups, relu)
            if relu:
                self._make_blocked(readers[0][0], blocked_op, new_inputs)
                self.absorbed.add(id(node))
            else:
                self._make_blocked(node, blocked_op, new_inputs)
            return True
        if kind is MaxPool2d:
            x = inputs[0]
            if id(x) not in self.blocked or not _pool_supported(op, x.type.shape):
                return False
            self._make_blocked(node, ops.BlockedMaxPool2d(*op.geometry), [self.blocked[id(x)]])
            for reader, position in self.readers.get(id(node), []):
                # The argmax of this pooling, read only by scatters: the workspace replaces it.
                if (reader is not None and type(reader.op) is MaxPool2dArgmax and position == 1
                        and reader.op.geometry == op.geometry and reader.inputs[0] is x
                        and self._only_readers(reader, lambda r, p: type(r.op) is MaxPool2dScatter
                                               and p == 1 and r.op.geometry == op.geometry)):
                    self.absorbed.add(id(reader))
                    for scatter, _ in self.readers[id(reader)]:
                        self.scatters[id(scatter)] = node
            return True
        if kind is ReluBackward:
            grad, out = inputs
            if id(out) not in self.blocked or not _known_float32(grad, 4):
                return False
            self._make_blocked(node, ops.BlockedReluBackward(),
                               [self.either(grad), self.blocked[id(out)]])
            return True
        if kind is MaxPool2dScatter and id(node) in self.scatters:
            pool = self.scatters[id(node)]
            self._make_blocked(node, ops.BlockedMaxPool2dBackward(),
                               [self.either(inputs[0]), self.blocked[id(pool)]])
            return True
        if kind is ConvTranspose2d:
            if len(inputs) != 2:
                return False
            g, w = inputs
            if not (_known_float32(g, 4) and _known_float32(w, 4) and _known_float32(node, 4)
                    and _conv_supported(op, node.type.shape, w.type.shape)):
                return False
            self._make_blocked(node, ops.BlockedConv2dBackwardInput(
                op.stride, op.padding, op.dilation, op.groups, node.type.shape),
                [self.either(g), self.plain(w)])
            return True
        if kind is Conv2dWeightGrad:
            if not self._weight_grad_ok(node):
                return False
            sums = [total for total, partner in self.bias_partner.items() if partner is node]
            self._weight_grad(node, sums[0] if sums else None)
            return True
        if kind is Sum and id(node) in self.bias_partner:
            weight_grad = self.bias_partner[id(node)]
            x = weight_grad.inputs[0]
            if self.position.get(id(x), -1) > self.position[id(node)]:
                # (x comes later: the weight gradient cannot be made here; no pairing)
                del self.bias_partner[id(node)]
                return False
            self._weight_grad(weight_grad, id(node), sum_node=node)
            return True
        return False

    def _weight_grad_ok(self, node):
        x, gy = node.inputs
        return (_known_float32(x, 4) and _known_float32(gy, 4) and _known_float32(node, 4)
                and _conv_supported(node.op, x.type.shape, node.type.shape))

    def _weight_grad(self, node, sum_id, sum_node=None):
        """BlockedConv2dWeightGrad for Conv2dWeightGrad ``node``, computing with it the bias
        gradient of the Sum node whose id is ``sum_id`` (None: none)."""
        from ganglion.core.ops.nn import blocked as ops
        op = node.op
        args = (op.stride, op.padding, op.dilation, op.groups, op.kernel_size)
        new_inputs = (self.either(node.inputs[0]), self.either(node.inputs[1]))
        self.changed = True
        if sum_id is None:
            new = self.new[id(node)] = Node("apply", node.type, op=ops.BlockedConv2dWeightGrad(*args, False),
                                            inputs=new_inputs, tensor=node.tensor)
            self.origin[id(new)] = op
            return
        if sum_node is None:
            sum_node = next(n for n in self.order if id(n) == sum_id)
        both = Node("apply", ops.BlockedType(dtypes.float32, ()),
                    op=ops.BlockedConv2dWeightGrad(*args, True), inputs=new_inputs)
        self.new[id(node)] = Node("apply", node.type, op=ops.TupleItem(0), inputs=(both,),
                                  tensor=node.tensor)
        self.new[sum_id] = Node("apply", sum_node.type, op=ops.TupleItem(1), inputs=(both,),
                                tensor=sum_node.tensor)
        del self.bias_partner[sum_id]
