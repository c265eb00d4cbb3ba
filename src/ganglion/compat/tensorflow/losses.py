"""``tf.losses``: TF 1's reduced losses.

Reference: TF 1.15 ``tf.losses``: each loss multiplies the per-element losses by ``weights``
(broadcast to their shape) and, with the default reduction SUM_BY_NONZERO_WEIGHTS, divides the
sum by the number of non-zero weights, so unit weights give the mean. The loss is added to
``tf.GraphKeys.LOSSES``.
"""
import ganglion as gn
from ganglion.compat.tensorflow import nn
from ganglion.compat.tensorflow.graph import (GraphKeys, add_to_collection, get_collection,
                                              static_shape)
from ganglion.compat.tensorflow.ops import _tensor, add_n
from ganglion.core.ops.elementwise import cast as _cast
from ganglion.core.tensor import Tensor

__all__ = ["Reduction", "compute_weighted_loss", "sparse_softmax_cross_entropy",
           "softmax_cross_entropy", "sigmoid_cross_entropy", "mean_squared_error",
           "absolute_difference", "huber_loss", "log_loss", "get_losses",
           "get_regularization_loss", "get_total_loss", "add_loss"]


class Reduction:
    NONE = "none"
    SUM = "weighted_sum"
    MEAN = "weighted_mean"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"


def _count(losses):
    """The number of elements of ``losses`` (a symbolic size where the batch size is unknown)."""
    count = 1
    for d in losses.shape:
        count = count * d
    return count if isinstance(count, int) else _cast(count, losses.dtype)


def compute_weighted_loss(losses, weights=1.0, scope=None, loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """The per-element ``losses`` times ``weights``, reduced as ``reduction`` says; a division
    by zero (all weights zero) gives 0, as TF's safe division."""
    scalar_weight = not isinstance(weights, Tensor)
    weighted = losses if scalar_weight and weights == 1 else losses * weights
    if reduction == Reduction.NONE:
        result = weighted
    elif reduction == Reduction.SUM:
        result = gn.sum(weighted)
    else:
        total = gn.sum(weighted)
        if reduction == Reduction.MEAN:
            divisor = gn.sum(gn.ones_like(losses) * weights)
        elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
            divisor = _count(losses)
        elif reduction == Reduction.SUM_BY_NONZERO_WEIGHTS:
            if scalar_weight:
                divisor = _count(losses) if weights != 0 else 0
            else:
                divisor = gn.sum(_cast(gn.ones_like(losses) * weights != 0, losses.dtype))
        else:
            raise ValueError(f"compute_weighted_loss: unknown reduction {reduction!r}")
        if isinstance(divisor, int):
            result = total / divisor if divisor else total * 0
        else:
            safe = gn.where(divisor == 0, gn.ones_like(divisor), divisor)
            result = gn.where(divisor == 0, gn.zeros_like(total), total / safe)
    if loss_collection is not None:
        add_to_collection(loss_collection, result)
    return result


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None,
                                 loss_collection=GraphKeys.LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Cross-entropy of ``logits`` [batch, classes] with integer ``labels`` [batch]: the mean over
    the batch by default."""
    losses = nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Cross-entropy with one-hot (or probability) labels; ``label_smoothing`` mixes them with
    the uniform distribution."""
    labels = _cast(_tensor(onehot_labels, logits), logits.dtype)
    if label_smoothing:
        classes = static_shape(logits)[-1]
        labels = labels * (1 - label_smoothing) + label_smoothing / classes
    losses = nn.softmax_cross_entropy_with_logits_v2(labels=labels.detach(), logits=logits)
    return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=GraphKeys.LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels = _cast(_tensor(multi_class_labels, logits), logits.dtype)
    if label_smoothing:
        labels = labels * (1 - label_smoothing) + 0.5 * label_smoothing
    losses = nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
    return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def _pair(labels, predictions):
    labels = _cast(_tensor(labels, predictions), predictions.dtype)
    return labels, predictions


def mean_squared_error(labels, predictions, weights=1.0, scope=None,
                       loss_collection=GraphKeys.LOSSES,
                       reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """The mean (by default) of (predictions - labels) ** 2 over every element."""
    labels, predictions = _pair(labels, predictions)
    difference = predictions - labels
    return compute_weighted_loss(difference * difference, weights, scope, loss_collection,
                                 reduction)


def absolute_difference(labels, predictions, weights=1.0, scope=None,
                        loss_collection=GraphKeys.LOSSES,
                        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    labels, predictions = _pair(labels, predictions)
    return compute_weighted_loss(gn.abs(predictions - labels), weights, scope, loss_collection,
                                 reduction)


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None,
               loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """0.5 e^2 where |e| <= delta, else delta (|e| - 0.5 delta)."""
    labels, predictions = _pair(labels, predictions)
    error = gn.abs(predictions - labels)
    quadratic = gn.clamp(error, max=delta)
    losses = 0.5 * quadratic * quadratic + delta * (error - quadratic)
    return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def log_loss(labels, predictions, weights=1.0, epsilon=1e-7, scope=None,
             loss_collection=GraphKeys.LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """-(labels log(p + eps) + (1 - labels) log(1 - p + eps))."""
    labels, predictions = _pair(labels, predictions)
    losses = -(labels * gn.log(predictions + epsilon)
               + (1 - labels) * gn.log(1 - predictions + epsilon))
    return compute_weighted_loss(losses, weights, scope, loss_collection, reduction)


def add_loss(loss, loss_collection=GraphKeys.LOSSES):
    add_to_collection(loss_collection, loss)


def get_losses(scope=None, loss_collection=GraphKeys.LOSSES):
    return get_collection(loss_collection)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of the regularizers' penalties (0.0 when there are none)."""
    penalties = get_collection(GraphKeys.REGULARIZATION_LOSSES)
    return add_n(penalties) if penalties else gn.tensor(0.0)


def get_total_loss(add_regularization_losses=True, name="total_loss"):
    losses = get_losses() + (get_collection(GraphKeys.REGULARIZATION_LOSSES)
                             if add_regularization_losses else [])
    if not losses:
        raise ValueError("get_total_loss: no losses have been added")
    return add_n(losses)
