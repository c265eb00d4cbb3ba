"""The fused loss ops: ``ClassIndexLoss`` (cross-entropy and NLL with class-index targets) and
``BinaryCrossEntropy``. The loss functions that apply them are in ``ganglion.nn.functional.loss``.

The fused op behind cross_entropy and nll_loss with class-index targets.

Cross-entropy sits in every classifier's train step, so log-softmax, picking the target's
log-probability, weighting, label smoothing and the reduction run as one op on raw arrays instead
of a chain of ops. Its vjp, ``(softmax(x) * sum(a) - a) * upstream gradient`` (a: the rows'
weighted target distributions, from the non-differentiable op TargetWeights; a is one-hot
divided by N in the plain case), is written with Tensor ops, so the loss stays differentiable
twice and works in symbolic graphs.

For one row with target t, weights w (all ones without ``weight``), smoothing e over C classes:
    loss = -(1 - e) * w[t] * logp[t] - (e / C) * sum_c w[c] * logp[c]
and rows whose target is ``ignore_index`` count zero. 'mean' divides the sum by sum(w[t]) over
the rows that count (PyTorch's weighted mean; nan when every row is ignored, as in PyTorch).

``BinaryCrossEntropy`` is an op (not a composition of log and clamps) so that its gradient is
PyTorch's, finite at probabilities of exactly 0 or 1 (a sigmoid saturates there in float32, as
GAN discriminators do).
"""
from ganglion.core.errors import DTypeError
from ganglion.core.op import Op, ShapeError, apply, broadcast_shapes, format_shape
from ganglion.core.ops.elementwise import maximum
from ganglion.core.ops.shape import unsqueeze
from ganglion.core.ops.softmax import softmax
from ganglion.core.ops.unary import log
from ganglion.core.tensor import TensorType

__all__ = ["ClassIndexLoss", "TargetWeights", "class_index_loss", "BinaryCrossEntropy"]


class ClassIndexLoss(Op):
    """Inputs: scores (M, C) (logits, or log-probabilities when ``from_logits`` is False),
    targets (M,) of class indices, and optionally the class weights (C,). ``who`` names the
    function or layer in error messages."""
    __slots__ = ("from_logits", "ignore_index", "label_smoothing", "reduction", "who")

    def __init__(self, from_logits, ignore_index, label_smoothing, reduction, who):
        self.from_logits = from_logits
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.reduction = reduction
        self.who = who

    @property
    def name(self):
        return self.who

    def forward(self, backend, scores, target, weight=None):
        xp = backend.xp
        classes = scores.shape[1]
        # Targets first: with no classes at all, log-softmax below would fail with NumPy's
        # message about an empty reduction instead of naming the bad target.
        valid = target != self.ignore_index
        safe = xp.where(valid, target, 0)
        if safe.size and (safe.min() < 0 or safe.max() >= classes):
            bad = target[valid & ((target < 0) | (target >= classes))][0]
            raise IndexError(f"{self.who}: target {bad} is out of range for {classes} classes "
                             f"(expected 0 <= target < {classes}, or ignore_index="
                             f"{self.ignore_index})")
        if self.from_logits:
            logp = scores - scores.max(axis=1, keepdims=True)
            logp -= xp.log(xp.exp(logp).sum(axis=1, keepdims=True))
        else:
            logp = scores
        picked = xp.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
        row_weight = valid.astype(scores.dtype) if weight is None else weight[safe] * valid
        loss = picked * row_weight
        loss *= self.label_smoothing - 1
        if self.label_smoothing:
            spread = logp.sum(axis=1) if weight is None else logp @ weight
            loss -= (self.label_smoothing / classes) * spread * valid
        if self.reduction == "none":
            return loss
        total = loss.sum()
        if self.reduction == "mean":
            with xp.errstate(invalid="ignore"):  # every row ignored: nan, as in PyTorch
                total = total / row_weight.sum()
        return xp.asarray(total, dtype=scores.dtype)

    def vjp(self, out, grad, needs):
        # d loss / d logp = -a, with a the rows' weighted target distributions (TargetWeights);
        # through log-softmax that becomes softmax(x) * sum(a) - a.
        scores, target = out._inputs[:2]
        extra = out._inputs[2:]
        weights = apply(TargetWeights(scores.shape[1], self.ignore_index, self.label_smoothing,
                                      self.reduction == "mean", scores.dtype), target, *extra)
        row_scale = unsqueeze(grad, 1) if self.reduction == "none" else grad
        if self.from_logits:
            total = weights.sum(axis=1, keepdims=True)
            grad_scores = (softmax(scores, dim=1) * total - weights) * row_scale
        else:
            grad_scores = -weights * row_scale
        return (grad_scores,) + (None,) * (len(out._inputs) - 1)

    def infer(self, scores, target, weight=None):
        if len(scores.shape) != 2 or len(target.shape) != 1:
            raise ShapeError(f"{self.who}: expected scores (N, C) and targets (N,), got "
                             f"{format_shape(scores.shape)} and {format_shape(target.shape)}")
        if not scores.dtype.is_floating_point:
            raise TypeError(f"{self.who}: expected floating-point scores, got {scores.dtype}")
        if target.dtype.category != 1:
            raise DTypeError(f"{self.who}: class-index targets must be integers, got "
                                 f"{target.dtype}")
        rows, classes = scores.shape
        if None not in (rows, target.shape[0]) and rows != target.shape[0]:
            raise ShapeError(f"{self.who}: input batch size {rows} does not match target batch "
                             f"size {target.shape[0]}")
        known = None not in (classes,) + tuple(weight.shape if weight is not None else ())
        if weight is not None and known and tuple(weight.shape) != (classes,):
            raise ShapeError(f"{self.who}: weight must have shape ({classes},), one per class, got "
                             f"{format_shape(weight.shape)}")
        return TensorType(scores.dtype, (rows,) if self.reduction == "none" else ())


class TargetWeights(Op):
    """The coefficients a (M, C) of ``loss = -sum(a * logp)``: per row, (1 - e) w[t] at the
    target plus (e / C) w everywhere, zero for ignored rows, divided by the weighted row count
    for 'mean' (by 1 when every row is ignored, so the gradient is zero there, as in PyTorch).
    Targets and weights carry no gradient, so this is one op computed on raw arrays."""
    __slots__ = ("classes", "ignore_index", "label_smoothing", "mean", "dtype")
    differentiable = False

    def __init__(self, classes, ignore_index, label_smoothing, mean, dtype):
        self.classes = classes
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.mean = mean
        self.dtype = dtype

    def forward(self, backend, target, weight=None):
        xp = backend.xp
        dtype = self.dtype.np
        valid = target != self.ignore_index
        safe = xp.where(valid, target, 0)
        row_weight = valid.astype(dtype) if weight is None else weight[safe] * valid
        weights = xp.zeros((target.shape[0], self.classes), dtype)
        at_target = row_weight * (1 - self.label_smoothing)
        xp.put_along_axis(weights, safe[:, None], at_target[:, None], axis=1)
        if self.label_smoothing:
            spread = self.label_smoothing / self.classes
            weights += (spread * valid)[:, None] * (1.0 if weight is None else weight)
        if self.mean:
            total = row_weight.sum()
            weights /= total if total else 1
        return weights

    def infer(self, target, weight=None):
        return TensorType(self.dtype, (target.shape[0], self.classes))


def class_index_loss(scores, target, weight, from_logits, ignore_index, label_smoothing, reduction,
                     who):
    """The ClassIndexLoss of 2-D scores and 1-D targets."""
    if scores.tensor_type.shape[1] is None:
        raise ShapeError(f"{who}: the number of classes (dimension 1 of the input "
                         f"{format_shape(scores.shape)}) must be known")
    op = ClassIndexLoss(from_logits, int(ignore_index), float(label_smoothing), reduction, who)
    inputs = (scores, target) if weight is None else (scores, target, weight)
    return apply(op, *inputs)


class BinaryCrossEntropy(Op):
    """-(y log x + (1 - y) log(1 - x)) elementwise, each log clamped to >= -100 as in PyTorch.

    The gradient is PyTorch's (x - y) / max(x (1 - x), 1e-12): finite at x = 0 and x = 1,
    where the clamped composition would give 0 / 0.
    """
    __slots__ = ()

    def forward(self, backend, x, y):
        xp = backend.xp
        with xp.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        return -(y * log_x + (1 - y) * log_1mx)

    def vjp(self, out, grad, needs):
        x, y = out._inputs
        grad_x = grad_y = None
        if needs[0]:
            grad_x = grad * (x - y) / maximum(x * (1 - x), 1e-12)
        if needs[1]:
            log_x = maximum(log(maximum(x, 1e-300)), -100.0)
            log_1mx = maximum(log(maximum(1 - x, 1e-300)), -100.0)
            grad_y = grad * (log_1mx - log_x)
        return grad_x, grad_y

    def infer(self, x, y):
        return TensorType(x.dtype, broadcast_shapes("binary_cross_entropy", x.shape, y.shape))
