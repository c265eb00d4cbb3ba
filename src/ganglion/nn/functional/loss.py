"""Loss functions (PyTorch's torch.nn.functional names and semantics).

Every loss takes ``reduction='mean' | 'sum' | 'none'``, and ``who``, the name that error
messages give (a loss module passes its own, so errors name the layer). Cross-entropy and NLL with class-index
targets run as one fused op (``ganglion.core.ops.nn.loss``); the others are short compositions of core
ops, except binary cross-entropy, whose op keeps PyTorch's finite gradient at probabilities of
exactly 0 or 1 (a sigmoid saturates there in float32, as GAN discriminators do).
"""
import warnings

from ganglion.core import ops
from ganglion.core.creation import as_tensor
from ganglion.core.errors import ArgumentError, DTypeError
from ganglion.core.op import ShapeError, apply, broadcast_shapes, format_shape
from ganglion.core.ops.elementwise import cast, where
from ganglion.core.ops.indexing import one_hot
from ganglion.core.ops.shape import permute, reshape, reshape_as, unsqueeze
from ganglion.core.ops.unary import to_float
from ganglion.core.ops.nn.loss import BinaryCrossEntropy, class_index_loss
from ganglion.core.tensor import Tensor

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "hinge_embedding_loss", "perceptron_loss", "one_hot"]

REDUCTIONS = ("mean", "sum", "none")


def legacy_reduction(size_average, reduce, reduction, who):
    """``reduction`` from PyTorch's deprecated ``size_average`` / ``reduce`` pair when either is
    given (with PyTorch's warning), as ``torch.nn._reduction.legacy_get_string``: both true (or
    None) mean 'mean', ``reduce`` alone 'sum', ``reduce=False`` 'none'."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    legacy = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"{who}: size_average and reduce args will be deprecated, please use "
                  f"reduction='{legacy}' instead.", UserWarning, stacklevel=3)
    return legacy


def check_reduction(reduction, who, allowed=REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{who}: reduction must be one of {', '.join(map(repr, allowed))}, got "
                         f"{reduction!r}")
    return reduction


def apply_reduction(loss, reduction, who="loss"):
    """The elementwise ``loss`` averaged, summed, or left as it is."""
    check_reduction(reduction, who)
    if reduction == "mean":
        return ops.mean(loss)
    if reduction == "sum":
        return ops.sum(loss)
    return loss


def _pair(input, target, who):
    """Both operands as float tensors of one dtype, after checking that they broadcast."""
    input = to_float(input)
    target = to_float(target) if isinstance(target, Tensor) else to_float(as_tensor(target))
    broadcast_shapes(who, tuple(input.shape), tuple(target.shape))
    if target.dtype is not input.dtype:
        target = cast(target, input.dtype)
    return input, target


# ----- regression -----------------------------------------------------------------------------

def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", *, who="mse_loss"):
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    input, target = _pair(input, target, who)
    difference = input - target
    return apply_reduction(difference * difference, reduction, who)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", *, who="l1_loss"):
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    input, target = _pair(input, target, who)
    return apply_reduction(ops.abs(input - target), reduction, who)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0, *,
                   who="smooth_l1_loss"):
    """0.5 d**2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (L1 when beta is 0)."""
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    if beta < 0:
        raise ArgumentError(f"{who}: beta must be non-negative, got {beta}")
    input, target = _pair(input, target, who)
    distance = ops.abs(input - target)
    if beta == 0:
        return apply_reduction(distance, reduction, who)
    quadratic = distance * distance * (0.5 / beta)
    return apply_reduction(where(distance < beta, quadratic, distance - 0.5 * beta), reduction, who)


def huber_loss(input, target, reduction="mean", delta=1.0, *, who="huber_loss"):
    """0.5 d**2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere; that is
    delta * smooth_l1(beta=delta)."""
    if delta <= 0:
        raise ArgumentError(f"{who}: delta must be positive, got {delta}")
    input, target = _pair(input, target, who)
    distance = ops.abs(input - target)
    linear = (distance - 0.5 * delta) * delta
    return apply_reduction(where(distance < delta, distance * distance * 0.5, linear), reduction, who)


# ----- classification -------------------------------------------------------------------------

def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0, *, who="cross_entropy"):
    """Cross-entropy of logits ``input`` (N, C) or (N, C, d1, ...) or (C,) against class indices
    (N,) / (N, d1, ...) / () or class probabilities (same shape as ``input``)."""
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    check_reduction(reduction, who)
    if not 0.0 <= label_smoothing <= 1.0:
        # Stricter than PyTorch, which lets negative and nan smoothing through.
        raise ArgumentError(f"{who}: label_smoothing must be in [0, 1], got {label_smoothing}")
    input, target, weight = _class_operands(input, target, weight, who)
    if target.dtype.is_floating_point:
        if ignore_index != -100:
            raise ArgumentError(f"{who}: ignore_index={ignore_index} works only with class-"
                                    "index targets, not with class-probability (float) targets")
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing, who)
    return _class_index_loss(input, target, weight, True, ignore_index, reduction,
                             label_smoothing, who)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean", *, who="nll_loss"):
    """Negative log-likelihood of log-probabilities ``input`` (N, C) or (N, C, d1, ...) at the
    class indices ``target``."""
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    check_reduction(reduction, who)
    input, target, weight = _class_operands(input, target, weight, who)
    return _class_index_loss(input, target, weight, False, ignore_index, reduction, 0.0, who)


def _class_operands(input, target, weight, who):
    """Float input, target as a tensor, and weight in the input's dtype, one per class."""
    input = to_float(input)
    if not isinstance(target, Tensor):
        target = as_tensor(target)
    if weight is not None:
        weight = cast(to_float(weight), input.dtype)
        classes = input.tensor_type.shape[0 if input.ndim == 1 else 1] if input.ndim else None
        if classes is not None and None not in weight.shape and tuple(weight.shape) != (classes,):
            raise ShapeError(f"{who}: weight must have shape ({classes},), one weight per class "
                             f"of the input {format_shape(input.shape)}, got "
                             f"{format_shape(weight.shape)}")
    return input, target, weight


def _class_index_loss(input, target, weight, from_logits, ignore_index, reduction, smoothing, who):
    if target.dtype.category != 1:
        # PyTorch takes int64 and uint8 targets and refuses bool (a mask is not class indices).
        raise DTypeError(f"{who}: class-index targets must be an integer tensor, got "
                             f"{target.dtype}" + (" (float targets are class probabilities, which "
                                                  "only cross_entropy takes)"
                                                  if target.dtype.is_floating_point else ""))
    ndim = input.ndim
    expected = "(N,)" if ndim == 2 else "(N, d1, ...) with input (N, C, d1, ...)"
    if ndim == 0 or target.ndim != ndim - 1:
        raise ShapeError(f"{who}: class-index targets must have one dimension less than the "
                         f"input: expected {'()' if ndim == 1 else expected} for input "
                         f"{format_shape(input.shape)}, got {format_shape(target.shape)}")
    if ndim >= 2:
        batch, target_batch = input.shape[0], target.shape[0]
        if None not in (batch, target_batch) and batch != target_batch:
            raise ShapeError(f"{who}: input batch size {batch} does not match target batch size "
                             f"{target_batch} (input {format_shape(input.shape)}, target "
                             f"{format_shape(target.shape)})")
        spatial = tuple(input.shape[2:])
        if None not in spatial + tuple(target.shape[1:]) and spatial != tuple(target.shape[1:]):
            raise ShapeError(f"{who}: expected target of shape {format_shape((batch,) + spatial)} "
                             f"for input {format_shape(input.shape)}, got "
                             f"{format_shape(target.shape)}")
    if ndim == 2:
        return class_index_loss(input, target, weight, from_logits, ignore_index, smoothing,
                                reduction, who)
    if ndim == 1:
        scores, rows = unsqueeze(input, 0), reshape(target, (1,))
    else:
        # Classes last, then one row per position: the fused op works on (rows, classes).
        scores = reshape(permute(input, (0,) + tuple(range(2, ndim)) + (1,)), (-1, input.shape[1]))
        rows = reshape(target, (-1,))
    loss = class_index_loss(scores, rows, weight, from_logits, ignore_index, smoothing, reduction,
                            who)
    return reshape_as(loss, target) if reduction == "none" else loss


def _cross_entropy_probabilities(input, target, weight, reduction, smoothing, who):
    shapes = tuple(input.shape), tuple(target.shape)
    if shapes[0] != shapes[1] and None not in shapes[0] + shapes[1]:
        raise ShapeError(f"{who}: class-probability targets must have the input's shape "
                         f"{format_shape(input.shape)}, got {format_shape(target.shape)}")
    class_axis = 0 if input.ndim == 1 else 1
    target = cast(target, input.dtype)
    if smoothing:
        target = target * (1.0 - smoothing) + smoothing / input.shape[class_axis]
    log_probabilities = ops.log_softmax(input, dim=class_axis)
    product = log_probabilities * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_axis] = -1
        product = product * reshape(weight, tuple(shape))
    return apply_reduction(-ops.sum(product, dim=class_axis), reduction, who)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean", *, who="binary_cross_entropy"):
    """Cross-entropy of probabilities ``input`` in [0, 1] against targets in [0, 1]."""
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    input, target = _pair(input, target, who)
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeError(f"{who}: target {format_shape(target.shape)} must have the input's shape "
                         f"{format_shape(input.shape)}")
    check_reduction(reduction, who)
    _check_probabilities(input, "input", who, " (use binary_cross_entropy_with_logits for raw "
                                              "scores)")
    _check_probabilities(target, "target", who, "")
    loss = apply(BinaryCrossEntropy(), input, target)
    if weight is not None:
        loss = loss * _elementwise_weight(weight, input, "weight", who)
    return apply_reduction(loss, reduction, who)


def _check_probabilities(tensor, role, who, hint):
    """Refuse values outside [0, 1], nan included, as PyTorch does (min and max only: nan makes
    both comparisons false)."""
    data = tensor._data
    if data is not None and data.size:
        low, high = data.min(), data.max()
        if not (low >= 0 and high <= 1):
            raise ArgumentError(f"{who}: {role} values must be probabilities in [0, 1], got "
                                    f"values from {low} to {high}{hint}")


def _elementwise_weight(weight, input, role, who):
    """``weight`` as a tensor that broadcasts to the input's shape (PyTorch's rule), checked
    here so that the error names the loss rather than the multiplication inside it."""
    if not isinstance(weight, Tensor):
        weight = as_tensor(weight)
    shape, weight_shape = tuple(input.shape), tuple(weight.shape)
    if None not in shape + weight_shape:
        try:
            fits = broadcast_shapes(who, weight_shape, shape) == shape
        except ShapeError:
            fits = False
        if not fits:
            raise ShapeError(f"{who}: {role} of shape {format_shape(weight_shape)} must broadcast "
                             f"to the input's shape {format_shape(shape)}")
    return weight


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None, *,
                                     who="binary_cross_entropy_with_logits"):
    """sigmoid + binary cross-entropy in the stable form (1 - y) x + l * softplus(-x), where
    l = 1 + (pos_weight - 1) y weighs the positive term."""
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    input, target = _pair(input, target, who)
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeError(f"{who}: target {format_shape(target.shape)} must have the input's shape "
                         f"{format_shape(input.shape)}")
    check_reduction(reduction, who)
    negative_log_sigmoid = ops.softplus(-input)
    if pos_weight is not None:
        pos_weight = _elementwise_weight(pos_weight, input, "pos_weight", who)
        negative_log_sigmoid = negative_log_sigmoid * ((pos_weight - 1) * target + 1)
    loss = (1 - target) * input + negative_log_sigmoid
    if weight is not None:
        loss = loss * _elementwise_weight(weight, input, "weight", who)
    return apply_reduction(loss, reduction, who)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False, *,
           who="kl_div"):
    """KL(target || exp(input)) pointwise: target (log target - input), 0 where target is 0.
    ``input`` holds log-probabilities; 'batchmean' divides the sum by the batch size."""
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    check_reduction(reduction, who, REDUCTIONS + ("batchmean",))
    input, target = _pair(input, target, who)
    if log_target:
        pointwise = ops.exp(target) * (target - input)
    else:
        positive = target > 0
        safe_log = ops.log(where(positive, target, 1.0))
        pointwise = where(positive, target * (safe_log - input), 0.0)
    if reduction == "batchmean":
        if pointwise.ndim == 0:
            return pointwise
        # The mean over the batch of per-sample sums: the batch size may be known only at run time.
        if pointwise.ndim > 1:
            pointwise = ops.sum(pointwise, axis=tuple(range(1, pointwise.ndim)))
        return ops.mean(pointwise)
    return apply_reduction(pointwise, reduction, who)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean", *, who="hinge_embedding_loss"):
    """x where y = 1, max(0, margin - x) where y = -1 (PyTorch's: other labels get both terms)."""
    reduction = legacy_reduction(size_average, reduce, reduction, who)
    input, target = _pair(input, target, who)
    margin_term = where(target != 1, ops.relu(margin - input), 0.0)
    self_term = where(target != -1, input, 0.0)
    return apply_reduction(margin_term + self_term, reduction, who)


def perceptron_loss(input, target, reduction="mean", *, who="perceptron_loss"):
    """Rosenblatt's perceptron criterion max(0, -y s) for scores s and labels y in {-1, +1}:
    zero for correctly classified samples, -y s for misclassified ones (gradient -y x)."""
    input, target = _pair(input, target, who)
    return apply_reduction(ops.relu(-(target * input)), reduction, who)
