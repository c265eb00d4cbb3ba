"""Eager layout propagation: activations that stay in oneDNN's blocked layout between eager ops.

An eager convolution on oneDNN returns a ``BlockedTensor``: a Tensor whose value is still the
primitive's output in oneDNN's own layout (``backend/onednn/layout.BlockedArray``), not yet
reordered into NCHW. The ops that can read that layout take it as it is, and give their results
in it too:

- ``conv2d`` (its next convolution reads the blocked input without a reorder);
- ``relu`` and ``hardtanh`` / ``relu6`` with bounds around 0 (elementwise over the buffer: they
  keep the zeros oneDNN leaves in a padded layout's padding);
- ``max_pool2d`` (oneDNN's pooling, whose workspace its backward then reads; it searches its
  input for NaN and -inf, which oneDNN does not pool as PyTorch does, unless a ReLU made the
  input and found no NaN: ``BlockedArray.nan_free``);
- batch norm in training, on unpadded layouts (its statistics from the blocked input, and the
  normalization in its layout; oneDNN's batch norm does not write a padded layout's padding);
- the sum of two blocked tensors in one layout (a residual connection ``out += identity``,
  which rebinds ``out`` to the blocked sum under grad, and gradients summed in backward);

and in backward (when gradients are not being recorded, ``create_graph=False``): the
convolution's input gradient (blocked) and weight and bias gradients (one primitive) from a
blocked input or output gradient, ReLU's and hardtanh's backward, max pooling's backward from
its workspace, and batch norm's backward as one primitive. Gradients may so be BlockedTensors
too; any reader that is not layout-aware converts them.

Every other reader converts: ``_data`` is a property on this class only (a Tensor's ``_data``
stays a plain slot, so the engine's hot path pays nothing), which on first read reorders the
value into a C-contiguous NCHW array, keeps that array, and forgets the blocked one. From then
on the tensor is an ordinary one: in-place ops, views, ``.numpy()``, hooks and version counters
work on the plain array. Writing ``_data`` (an in-place rebind) also ends the blocked state.

Keeping a convolution's result blocked pays where a layout-aware op reads it; where its first
reader converts it to NCHW (a residual add, a 1x1 convolution run plain, any other op), it only
added a step, and that convolution runs plain for its next ``RETRY_AFTER`` calls: a model
repeats its graph every step, and so learns per layer where to keep the layout (``_Chain``).

The recorded op of each result is the plain op (``Conv2d``, ``Relu``, ``MaxPool2d``, ...), so
``grad_fn``, higher-order gradients and the version checks are those of the plain path
(``versions.version_of`` reads a blocked tensor's own counter without converting it).

It runs where the eager kernels would run oneDNN (``config.kernels`` "auto" or "onednn", the
library loads, float32, a 4-D input, a convolution oneDNN takes and that is not a pointwise one
run on plain NCHW) and ``config.layout_propagation`` is on; never while ``jit`` traces (the
compiled form is ``symbolic/rewrites/onednn_layout.py``). Results equal the plain path's: the
same primitives compute them.
"""
import weakref

import numpy as np

from ganglion import config
from ganglion.core.grad_mode import grad_enabled
from ganglion.core import tracing
from ganglion.core.op import record
from ganglion.core.tensor import Size, Tensor, TensorType, make_tensor
from ganglion.core import dtypes
from ganglion.core.versions import lazy_class, version_of

__all__ = ["BlockedTensor", "value_of", "is_blocked", "eager_applies", "run", "conv2d",
           "conv2d_backward", "relu", "relu_backward", "max_pool2d", "max_pool2d_backward",
           "batch_statistics", "batch_normalize", "batch_norm_backward", "add", "hardtanh", "hardtanh_backward", "value_holder",
           "take_value"]

_settings = config.settings
_plain_slot = Tensor._data          # the slot's descriptor, which the property below wraps


def _layout():
    # (imported on first use: loading oneDNN is for programs that run it)
    from ganglion.backend.onednn import layout
    return layout


class BlockedTensor(Tensor):
    """A Tensor whose value may still be a BlockedArray (``_blocked``), reordered into NCHW on
    first read of ``_data``."""
    # _pooled: a max pooling's blocked result, kept for its workspace (max_pool2d_backward);
    # _chain: the _Chain of layout-aware ops it belongs to (None for gradients)
    __slots__ = ("_blocked", "_pooled", "_chain")

    @property
    def _data(self):
        data = _plain_slot.__get__(self)
        if data is None and self._blocked is not None:
            chain = self._chain
            if chain is not None and not chain.paid:
                _note_converted_first(chain.weight)
                chain.paid = True       # (noted once)
            version = self._own_version
            data = _layout().to_plain(self._blocked)
            _plain_slot.__set__(self, data)
            self._blocked = None
            # The plain array's memory may come from the array cache with a storage counter of
            # its own (in-place writes made to earlier arrays in it): the tensor's version must
            # stay what backward recorded while it was blocked.
            self._own_version = version - (version_of(self) - self._own_version)
        return data

    @_data.setter
    def _data(self, value):
        _plain_slot.__set__(self, value)
        self._blocked = None

    # What the tensor is, read without converting it.
    @property
    def dtype(self):
        return dtypes.float32 if self._blocked is not None else super().dtype

    @property
    def shape(self):
        blocked = self._blocked
        return Size(blocked.shape) if blocked is not None else super().shape

    @property
    def ndim(self):
        return 4 if self._blocked is not None else super().ndim

    @property
    def is_symbolic(self):
        return False if self._blocked is not None else super().is_symbolic

    @property
    def tensor_type(self):
        blocked = self._blocked
        if blocked is not None:
            return TensorType(dtypes.float32, blocked.shape)
        return super().tensor_type


lazy_class[0] = BlockedTensor


def _wrap(result):
    """A BlockedArray as a BlockedTensor, a plain array as a Tensor."""
    if type(result) is np.ndarray:
        return make_tensor(result)
    t = make_tensor(None, cls=BlockedTensor)
    t._blocked = result
    t._pooled = t._chain = None
    return t


def is_blocked(t):
    """Whether ``t``'s value is still in a blocked layout."""
    return type(t) is BlockedTensor and t._blocked is not None


def value_of(t):
    """The value a layout-aware kernel reads: the BlockedArray, or the plain array."""
    if type(t) is BlockedTensor:
        blocked = t._blocked
        if blocked is not None:
            if t._chain is not None:
                t._chain.paid = True
            return blocked
    return t._data


class _Chain:
    """The blocked values that follow from one convolution's result (through ReLU, batch norm,
    max pooling): it ``paid`` once a layout-aware op read one of them in the layout. Each such
    op at least saves the reorder the convolution would have made, and batch norm and max
    pooling run faster on the blocked layout than on NCHW; a result converted to NCHW by its
    first reader only added work (the reorder, done apart from the convolution)."""
    __slots__ = ("weight", "paid")

    def __init__(self, weight):
        self.weight, self.paid = weight, False


def _continue_chain(out, x):
    out._chain = x._chain
    return out


# Where a convolution's result was converted by its first reader (a residual add, a 1x1
# convolution run plain), keeping it blocked only added a step: that convolution runs plain for
# its next RETRY_AFTER calls (a model repeats its graph every step), then tries again.
# id(weight) -> [weak reference to the weight, calls left to run plain]
RETRY_AFTER = 64
_plain_runs = {}


def _note_converted_first(weight):
    if len(_plain_runs) > 4096:     # (entries of freed weights otherwise stay until met again)
        _plain_runs.clear()
    _plain_runs[id(weight)] = [weakref.ref(weight), RETRY_AFTER]


def _runs_plain(weight):
    entry = _plain_runs.get(id(weight))
    if entry is None:
        return False
    if entry[0]() is not weight:
        del _plain_runs[id(weight)]
        return False
    entry[1] -= 1
    if entry[1] <= 0:
        del _plain_runs[id(weight)]
    return True


def eager_applies(*tensors):
    """Whether the layout-aware eager path may run on ``tensors`` now: the settings allow it,
    nothing is being traced, every tensor is eager and float32, and oneDNN loads."""
    if (not _settings.layout_propagation or _settings.kernels not in ("auto", "onednn")
            or tracing.active):
        return False
    for t in tensors:
        if not is_blocked(t) and (t._data is None or t._data.dtype != np.float32):
            return False
    from ganglion.backend import onednn
    return onednn.available()


def run(op, compute, inputs):
    """``op``'s result on ``inputs`` computed by ``compute(*values)`` (values as ``value_of``
    gives them; it returns a BlockedArray or an ndarray), recorded as ``op`` for autograd as
    ``core.op.apply`` records it."""
    out = _wrap(compute(*[value_of(t) for t in inputs]))
    if grad_enabled[0] and op.differentiable and any(t.requires_grad for t in inputs):
        record(out, op, inputs)     # (version_of reads a blocked tensor's without converting)
    return out


# ----- the ops ---------------------------------------------------------------------------------

def conv2d(op, x, w, b):
    """Conv2d ``op`` on x (blocked or plain), w and b (plain, b may be None): a BlockedTensor,
    or None where the layout-aware path does not apply (the caller then runs the plain op)."""
    tensors = (x, w) if b is None else (x, w, b)
    if x.ndim != 4 or w.ndim != 4 or not eager_applies(*tensors) or _runs_plain(w):
        return None
    layout = _layout()
    if not layout.supports_conv2d(tuple(x.shape), tuple(w.shape), op.stride, op.padding,
                                  op.dilation, op.groups):
        return None

    def compute(xv, wv, bv=None):
        return layout.conv2d_forward(xv, wv, bv, op.stride, op.padding, op.dilation, op.groups)
    out = run(op, compute, tensors)
    out._chain = _Chain(w)
    return out


def conv2d_backward(op, x, w, grad, needs):
    """Conv2d ``op``'s input, weight and bias gradients (as its vjp returns them) from a blocked
    x or output gradient, in a backward that records nothing: the input gradient blocked, the
    weight and bias gradients (one primitive) plain; None where this path does not apply."""
    if grad_enabled[0] or not (is_blocked(x) or is_blocked(grad)) or not eager_applies(x, w, grad):
        return None
    layout = _layout()
    x_shape, w_shape = tuple(x.shape), tuple(w.shape)
    geometry = (op.stride, op.padding, op.dilation, op.groups)
    if not layout.supports_conv2d(x_shape, w_shape, *geometry):
        return None
    g = value_of(grad)
    gx = gw = gb = None
    if needs[0]:
        gx = _wrap(layout.conv2d_backward_input(g, w._data, x_shape, *geometry))
    with_bias = len(needs) == 3 and needs[2]
    if needs[1] or with_bias:
        gw, gb = layout.conv2d_backward_weight_bias(value_of(x), g, w_shape[2:], *geometry,
                                                    bias=with_bias)
        gw = make_tensor(gw) if needs[1] else None
        gb = None if gb is None else make_tensor(gb)
    return (gx, gw) if len(needs) == 2 else (gx, gw, gb)


def relu(op, x):
    """Relu ``op`` on a blocked x, in its layout; None for a plain x."""
    if not is_blocked(x) or not eager_applies(x):
        return None
    from ganglion.backend import current as backend
    layout = _layout()
    return _continue_chain(run(op, lambda xv: layout.relu(xv, backend.relu_nan_free), (x,)), x)


def add(op, a, b):
    """Add ``op`` of two blocked tensors in one layout (a residual connection, two gradients
    summed): blocked, over their buffers; None otherwise."""
    if not (is_blocked(a) and is_blocked(b)) or not eager_applies(a, b):
        return None
    layout = _layout()
    if not layout.same_layout(a._blocked, b._blocked):
        return None
    return _continue_chain(run(op, layout.add, (a, b)), a)


def value_holder(t):
    """A new tensor holding ``t``'s value as it is, blocked or plain, without converting it (the
    hidden old value of an in-place change, core/inplace.py)."""
    if not is_blocked(t):
        return make_tensor(t._data)
    held = _wrap(t._blocked)
    held._pooled, held._chain = t._pooled, t._chain
    return held


def take_value(x, new):
    """Give ``x`` the value of ``new``: blocked where both can hold one, else plain."""
    if type(x) is BlockedTensor and is_blocked(new):
        _plain_slot.__set__(x, None)
        x._blocked, x._pooled, x._chain = new._blocked, new._pooled, new._chain
    else:
        x._data = new._data


def hardtanh(op, x):
    """Hardtanh ``op`` (ReLU6) on a blocked x, in its layout, where its bounds keep 0 (the
    padding); None otherwise."""
    if not (op.min_val <= 0 <= op.max_val) or not is_blocked(x) or not eager_applies(x):
        return None
    from ganglion.backend import current as backend
    layout = _layout()
    return _continue_chain(
        run(op, lambda xv: layout.hardtanh(xv, op.min_val, op.max_val, backend.hardtanh), (x,)), x)


def hardtanh_backward(op, grad, x):
    """HardtanhBackward ``op`` from a blocked input x (in a backward that records nothing): a
    blocked gradient, or None where this path does not apply."""
    if grad_enabled[0] or not is_blocked(x) or not eager_applies(grad):
        return None
    from ganglion.backend import current as backend
    layout = _layout()
    return run(op, lambda gv, xv: layout.hardtanh_backward(gv, xv, op.min_val, op.max_val,
                                                           backend.hardtanh_backward), (grad, x))


def relu_backward(op, grad, out):
    """ReluBackward ``op`` from a blocked ReLU output (in a backward that records nothing): a
    blocked gradient, or None where this path does not apply."""
    if grad_enabled[0] or not is_blocked(out) or not eager_applies(grad):
        return None
    return run(op, _layout().relu_backward, (grad, out))


def max_pool2d(op, x):
    """MaxPool2d ``op`` on a blocked x: a BlockedTensor carrying the workspace its backward
    reads; None for a plain x or a pooling oneDNN does not take."""
    if not is_blocked(x) or not eager_applies(x):
        return None
    layout = _layout()
    if not layout.supports_max_pool2d(tuple(x.shape), *op.geometry):
        return None
    out = run(op, lambda xv: layout.max_pool2d(xv, *op.geometry), (x,))
    out._pooled = out._blocked
    return _continue_chain(out, x)


def batch_statistics(op, x):
    """BatchStatistics ``op`` of a blocked x: the plain (2, C) mean and variance; None for a
    plain x."""
    if not is_blocked(x) or x._blocked.padded or not eager_applies(x):
        return None
    return run(op, _layout().batch_statistics, (x,))


def batch_normalize(op, inputs):
    """Training-mode BatchNormalize ``op`` on ``inputs`` (x, mean, var[, weight, bias]) with a
    blocked x in an unpadded layout: a BlockedTensor in x's layout; None for a plain x, a padded
    layout (``layout.batch_statistics`` says why) or eval mode. (In eval mode
    only the forward runs, where the numba loops on NCHW were as fast: a ResNet-50 at batch 1
    took 1.06-1.08x the time with it blocked.)"""
    x = inputs[0]
    if (not op.batch_statistics or not is_blocked(x) or x._blocked.padded
            or not eager_applies(*inputs)):
        return None
    layout = _layout()

    def compute(x, *statistics_and_affine):
        return layout.batch_normalize(x, *op.scale_and_shift(np, x.dtype, *statistics_and_affine))
    return _continue_chain(run(op, compute, inputs), inputs[0])


def batch_norm_backward(op, out, grad, needs):
    """Training-mode BatchNormalize ``op``'s gradients (as its vjp returns them: none for the
    batch statistics, whose paths the input gradient includes) for a blocked input, in a
    backward that records nothing: one fused primitive, the input gradient blocked; None where
    this path does not apply."""
    inputs = out._inputs
    x = inputs[0]
    if (grad_enabled[0] or not op.batch_statistics or not is_blocked(x) or x._blocked.padded
            or not eager_applies(grad)):
        return None
    mean, var = inputs[1]._data, inputs[2]._data
    weight = inputs[3]._data if op.affine else None
    gx, gw, gb = _layout().batch_norm_backward(value_of(grad), x._blocked, mean, var, weight,
                                               op.eps)
    grads = (_wrap(gx) if needs[0] else None, None, None)
    if op.affine:
        grads += (make_tensor(gw) if needs[3] else None, make_tensor(gb) if needs[4] else None)
    return grads


def max_pool2d_backward(op, grad, out):
    """The input gradient of MaxPool2d from its blocked output's workspace (in a backward that
    records nothing): a blocked gradient, or None where this path does not apply. The workspace
    outlives the output's conversion to NCHW: backward's version check has already refused an
    output or input changed in place since."""
    if grad_enabled[0] or type(out) is not BlockedTensor or out._pooled is None \
            or not eager_applies(grad):
        return None
    return _wrap(_layout().max_pool2d_backward(value_of(grad), out._pooled))
