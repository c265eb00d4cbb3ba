"""Evaluation metrics for classification and regression, computed on the host with NumPy.

Inputs may be ganglion tensors, NumPy arrays or lists. Classification metrics take predicted
labels, or model outputs where that makes sense: an (N, C) array of logits or probabilities is
turned into labels by argmax, and an (N,) or (N, 1) array of non-integer scores (binary
probabilities) by ``score >= threshold`` (pass ``threshold=0`` for logits). Results follow
scikit-learn's definitions (an undefined ratio, such as precision with no predicted positives,
is 0, as scikit-learn reports it).
"""
import numpy as np

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "precision", "recall", "f1",
           "precision_recall_f1", "roc_curve", "roc_auc", "mean_squared_error",
           "mean_absolute_error", "r2_score"]


def _numpy(x, what):
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return np.asarray(x.detach().numpy())
    array = np.asarray(x)
    if array.dtype == object:
        raise TypeError(f"{what}: expected numbers (a tensor, array or list), got "
                        f"{type(x).__name__}")
    return array


def _labels(y_true, y_pred, what, threshold=0.5):
    """(true labels, predicted labels) as 1-D int64 arrays of one length. True labels given as
    (N, C) class probabilities (one-hot, or mixed by MixUp / CutMix) count as their most
    probable class."""
    y_true = _numpy(y_true, what)
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        y_true = y_true.argmax(axis=1)
    y_true = y_true.reshape(-1).astype(np.int64)
    y_pred = _numpy(y_pred, what)
    if y_pred.ndim == 2 and y_pred.shape[1] > 1:
        y_pred = y_pred.argmax(axis=1)
    else:
        y_pred = y_pred.reshape(-1)
        if y_pred.dtype.kind == "f" and np.any(y_pred != np.round(y_pred)):
            y_pred = y_pred >= threshold
    y_pred = y_pred.astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{what}: {y_true.size} true labels but {y_pred.size} predictions")
    return y_true, y_pred


def accuracy(y_true, y_pred, threshold=0.5):
    """The fraction of predictions equal to the true labels."""
    y_true, y_pred = _labels(y_true, y_pred, "accuracy", threshold)
    return float(np.mean(y_true == y_pred)) if y_true.size else 0.0


def top_k_accuracy(y_true, scores, k=5):
    """The fraction of samples whose true label is among the ``k`` highest of ``scores`` (N, C)."""
    y_true = _numpy(y_true, "top_k_accuracy").reshape(-1).astype(np.int64)
    scores = _numpy(scores, "top_k_accuracy")
    if scores.ndim != 2 or len(scores) != len(y_true):
        raise ValueError(f"top_k_accuracy: scores must be (N, C) for N = {len(y_true)} labels, got "
                         f"shape {scores.shape}")
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean((top == y_true[:, None]).any(axis=1)))


def confusion_matrix(y_true, y_pred, num_classes=None, threshold=0.5):
    """C[i, j] = number of samples of true class i predicted as j (int64, num_classes square;
    by default one more than the largest label seen)."""
    y_true, y_pred = _labels(y_true, y_pred, "confusion_matrix", threshold)
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    if y_true.size and (min(y_true.min(), y_pred.min()) < 0
                        or max(y_true.max(), y_pred.max()) >= num_classes):
        raise ValueError(f"confusion_matrix: labels must lie in [0, {num_classes})")
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _divide(numerator, denominator):
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def precision_recall_f1(y_true, y_pred, average="binary", pos_label=1, threshold=0.5):
    """(precision, recall, F1), each a float, or per-class arrays for ``average=None``.

    ``average``: 'binary' (the class ``pos_label`` only), 'micro' (pooled counts), 'macro'
    (unweighted mean over classes), 'weighted' (mean weighted by each class's support) or None.
    The classes are the labels present in ``y_true`` or ``y_pred``.
    """
    y_true, y_pred = _labels(y_true, y_pred, "precision_recall_f1", threshold)
    classes = np.union1d(y_true, y_pred)
    if average == "binary":
        if len(classes) > 2 or (len(classes) == 2 and pos_label not in classes):
            raise ValueError(f"precision_recall_f1: average='binary' needs two classes including "
                             f"pos_label={pos_label}, found {classes.tolist()}; use 'macro', "
                             "'micro' or 'weighted'")
        classes = np.array([pos_label])
    elif average not in ("micro", "macro", "weighted", None):
        raise ValueError(f"precision_recall_f1: unknown average {average!r}; expected 'binary', "
                         "'micro', 'macro', 'weighted' or None")
    true_positive = np.array([np.sum((y_pred == c) & (y_true == c)) for c in classes])
    predicted = np.array([np.sum(y_pred == c) for c in classes])
    support = np.array([np.sum(y_true == c) for c in classes])
    if average == "micro":
        true_positive, predicted, support = true_positive.sum(), predicted.sum(), support.sum()
    p, r = _divide(true_positive, predicted), _divide(true_positive, support)
    f = _divide(2 * p * r, p + r)
    if average is None:
        return p, r, f
    if average == "macro":
        return float(p.mean()), float(r.mean()), float(f.mean())
    if average == "weighted":
        weights = support / support.sum() if support.sum() else np.zeros_like(p)
        return float(p @ weights), float(r @ weights), float(f @ weights)
    return float(np.sum(p)), float(np.sum(r)), float(np.sum(f))


def precision(y_true, y_pred, average="binary", pos_label=1, threshold=0.5):
    """Of the samples predicted as a class, the fraction that belong to it."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, threshold)[0]


def recall(y_true, y_pred, average="binary", pos_label=1, threshold=0.5):
    """Of the samples of a class, the fraction predicted as it."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, threshold)[1]


def f1(y_true, y_pred, average="binary", pos_label=1, threshold=0.5):
    """The harmonic mean of precision and recall."""
    return precision_recall_f1(y_true, y_pred, average, pos_label, threshold)[2]


def _tie_averaged_ranks(values):
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Runs of equal values share the mean of the ranks they span, so ties count one half.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _binary_auc(is_positive, scores):
    n_pos = int(is_positive.sum())
    n_neg = len(is_positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc: needs samples of both classes (it is undefined otherwise)")
    # The Mann-Whitney U statistic over n_pos * n_neg pairs is the area under the ROC curve.
    ranks = _tie_averaged_ranks(scores)
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_curve(y_true, y_score, pos_label=1, drop_intermediate=True):
    """The ROC curve of a binary scorer: ``(fpr, tpr, thresholds)``, as scikit-learn's.

    ``y_score`` is (N,) scores of the positive class ``pos_label`` (probabilities or logits).
    Point k is the false and true positive rate of predicting positive where
    ``score >= thresholds[k]``; thresholds decrease from ``inf`` (nothing positive, the point
    (0, 0)) to the lowest score (everything positive, (1, 1)). ``drop_intermediate`` leaves
    out the thresholds that lie on a straight segment between their neighbours.
    """
    y_true = _numpy(y_true, "roc_curve").reshape(-1)
    scores = _numpy(y_score, "roc_curve").astype(np.float64)
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if scores.ndim != 1:
        raise ValueError(f"roc_curve: expected (N,) scores of the positive class, got shape "
                         f"{scores.shape}")
    if len(scores) != len(y_true):
        raise ValueError(f"roc_curve: {len(y_true)} labels but {len(scores)} scores")
    is_positive = y_true == pos_label
    n_pos = int(is_positive.sum())
    if n_pos == 0 or n_pos == len(is_positive):
        raise ValueError("roc_curve: needs samples of both classes (pos_label "
                         f"{pos_label!r} and others); a rate would divide by zero")
    order = np.argsort(-scores, kind="mergesort")
    scores, is_positive = scores[order], is_positive[order]
    # The last index of each run of equal scores: one threshold per distinct score.
    ends = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(is_positive)[ends]
    false_positives = ends + 1 - true_positives
    thresholds = scores[ends]
    if drop_intermediate and len(ends) > 2:
        # A point is kept where the curve bends (its second difference is non-zero).
        corners = np.flatnonzero(np.r_[True, np.logical_or(np.diff(false_positives, 2),
                                                           np.diff(true_positives, 2)), True])
        true_positives = true_positives[corners]
        false_positives = false_positives[corners]
        thresholds = thresholds[corners]
    fpr = np.r_[0, false_positives] / false_positives[-1]
    tpr = np.r_[0, true_positives] / true_positives[-1]
    return fpr, tpr, np.r_[np.inf, thresholds]


def roc_auc(y_true, y_score, average="macro"):
    """Area under the ROC curve.

    Binary: ``y_score`` is (N,) scores of class 1 (probabilities or logits), or (N, 2). Multiclass
    (one-vs-rest): ``y_score`` is (N, C); rows that do not sum to 1 are treated as logits and
    passed through softmax first, since one-vs-rest ranks need comparable per-class
    probabilities. ``average`` is 'macro' or 'weighted' (by class prevalence).
    """
    y_true = _numpy(y_true, "roc_auc").reshape(-1).astype(np.int64)
    scores = _numpy(y_score, "roc_auc").astype(np.float64)
    if scores.ndim == 2 and scores.shape[1] == 2 and np.all(np.isin(y_true, (0, 1))):
        scores = scores[:, 1]
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    if len(scores) != len(y_true):
        raise ValueError(f"roc_auc: {len(y_true)} labels but {len(scores)} score rows")
    if scores.ndim == 1:
        return _binary_auc(y_true == 1, scores)
    if not np.allclose(scores.sum(axis=1), 1, atol=1e-4):
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores = shifted / shifted.sum(axis=1, keepdims=True)
    areas = np.array([_binary_auc(y_true == c, scores[:, c]) for c in range(scores.shape[1])])
    if average == "macro":
        return float(areas.mean())
    if average == "weighted":
        prevalence = np.bincount(y_true, minlength=scores.shape[1]) / len(y_true)
        return float(areas @ prevalence)
    raise ValueError(f"roc_auc: unknown average {average!r}; expected 'macro' or 'weighted'")


def _regression_pair(y_true, y_pred, what):
    y_true = _numpy(y_true, what).astype(np.float64)
    y_pred = _numpy(y_pred, what).astype(np.float64)
    if y_true.size != y_pred.size:
        raise ValueError(f"{what}: shapes {y_true.shape} and {y_pred.shape} hold different numbers "
                         "of values")
    # (N,) against (N, 1) is the usual mismatch between targets and a model's output.
    y_pred = y_pred.reshape(y_true.shape)
    if y_true.ndim < 2:
        y_true, y_pred = y_true.reshape(-1, 1), y_pred.reshape(-1, 1)
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _regression_pair(y_true, y_pred, "mean_squared_error")
    return float(np.mean((y_true - y_pred) ** 2))


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _regression_pair(y_true, y_pred, "mean_absolute_error")
    return float(np.mean(np.abs(y_true - y_pred)))


def r2_score(y_true, y_pred):
    """1 - residual sum of squares / total sum of squares, averaged over outputs; a constant
    target gives 1.0 for a perfect prediction and 0.0 otherwise (as in scikit-learn)."""
    y_true, y_pred = _regression_pair(y_true, y_pred, "r2_score")
    residual = np.sum((y_true - y_pred) ** 2, axis=0)
    total = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    scores = np.where(total != 0, 1 - _divide(residual, total), np.where(residual == 0, 1.0, 0.0))
    return float(scores.mean())
