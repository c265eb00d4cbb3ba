"""Loss modules: the module form of ``nn.functional.loss``, with PyTorch's constructor
arguments. Errors name the module (``CrossEntropyLoss: input batch size 128 does not match
target batch size 64 ...``)."""
from ganglion.nn.functional import loss as F
from ganglion.nn.module import Module

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "HingeEmbeddingLoss", "PerceptronLoss"]


class _Loss(Module):
    allowed_reductions = F.REDUCTIONS

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        reduction = F.legacy_reduction(size_average, reduce, reduction, type(self).__name__)
        self.reduction = F.check_reduction(reduction, type(self).__name__, self.allowed_reductions)


class _WeightedLoss(_Loss):
    """A loss with per-class (or per-element) weights, kept as a buffer as in PyTorch."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error ``(input - target) ** 2``, reduced by ``reduction`` (PyTorch's
    ``nn.MSELoss``)."""
    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction, who="MSELoss")


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``, reduced by ``reduction`` (PyTorch's
    ``nn.L1Loss``)."""
    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction, who="L1Loss")


class SmoothL1Loss(_Loss):
    """Squared error ``0.5 * d ** 2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``
    (PyTorch's ``nn.SmoothL1Loss``)."""
    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta,
                                who="SmoothL1Loss")


class HuberLoss(_Loss):
    """Squared error ``0.5 * d ** 2`` where ``|d| <= delta``, else ``delta * (|d| - 0.5 *
    delta)`` (PyTorch's ``nn.HuberLoss``)."""
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta, who="HuberLoss")


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits against class indices or class probabilities, with ``weight``,
    ``ignore_index`` and ``label_smoothing`` (PyTorch's ``nn.CrossEntropyLoss``)."""
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean", label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing,
                               who="CrossEntropyLoss")


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities at the target classes, with ``weight`` and
    ``ignore_index`` (PyTorch's ``nn.NLLLoss``)."""
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None,
                 reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction, who="NLLLoss")


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1] against targets in [0, 1] (PyTorch's
    ``nn.BCELoss``)."""
    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction,
                                      who="BCELoss")


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of logits (a sigmoid and BCE in one stable step), with
    ``pos_weight`` (PyTorch's ``nn.BCEWithLogitsLoss``)."""
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean",
                 pos_weight=None):
        super().__init__(weight, size_average, reduce, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight,
                                                  who="BCEWithLogitsLoss")


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence ``target * (log(target) - input)`` of log-probabilities
    ``input``; ``reduction='batchmean'`` is the true KL (PyTorch's ``nn.KLDivLoss``)."""
    allowed_reductions = F.REDUCTIONS + ("batchmean",)

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target,
                        who="KLDivLoss")


class HingeEmbeddingLoss(_Loss):
    """``x`` where the target is 1, ``max(0, margin - x)`` where it is -1 (PyTorch's
    ``nn.HingeEmbeddingLoss``)."""
    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction,
                                      who="HingeEmbeddingLoss")


class PerceptronLoss(_Loss):
    """Rosenblatt's perceptron criterion max(0, -y s) for labels y in {-1, +1} (not in PyTorch)."""

    def __init__(self, reduction="mean"):  # not in PyTorch, so no deprecated arguments
        super().__init__(reduction=reduction)

    def forward(self, input, target):
        return F.perceptron_loss(input, target, self.reduction, who="PerceptronLoss")
