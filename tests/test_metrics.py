"""ganglion.metrics against scikit-learn on random inputs, and the input forms each accepts."""
import numpy as np
import pytest
import sklearn.metrics as skm

import ganglion as gn
from ganglion import metrics


def _classification(seed, n=200, classes=4):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, classes, n)
    logits = rng.standard_normal((n, classes)) + 1.5 * np.eye(classes)[y_true]
    return y_true, logits


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_top_k_and_confusion(seed):
    y_true, logits = _classification(seed)
    y_pred = logits.argmax(1)
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert metrics.accuracy(gn.tensor(y_true), gn.tensor(logits, requires_grad=True)) == \
        pytest.approx(skm.accuracy_score(y_true, y_pred))
    for k in (1, 2, 3):
        assert metrics.top_k_accuracy(y_true, logits, k=k) == pytest.approx(
            skm.top_k_accuracy_score(y_true, logits, k=k, labels=range(4)))
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, logits),
                                  skm.confusion_matrix(y_true, y_pred, labels=range(4)))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_precision_recall_f1_multiclass(seed, average):
    y_true, logits = _classification(seed, classes=5)
    y_pred = logits.argmax(1)
    ours = metrics.precision_recall_f1(y_true, y_pred, average=average)
    theirs = skm.precision_recall_fscore_support(y_true, y_pred, average=average,
                                                 zero_division=0)[:3]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_binary_scores_from_labels_probabilities_and_logits(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, 150)
    prob = np.clip(0.5 * y_true + 0.6 * rng.random(150), 0.01, 0.99)
    y_pred = (prob >= 0.5).astype(int)
    logit = np.log(prob / (1 - prob))
    for ours, theirs in [(metrics.precision, skm.precision_score),
                         (metrics.recall, skm.recall_score), (metrics.f1, skm.f1_score)]:
        expected = theirs(y_true, y_pred, zero_division=0)
        assert ours(y_true, y_pred) == pytest.approx(expected)
        assert ours(y_true, prob) == pytest.approx(expected)
        assert ours(y_true, logit, threshold=0.0) == pytest.approx(expected)
    assert metrics.f1(y_true, 1 - y_pred, pos_label=0) == pytest.approx(
        skm.f1_score(y_true, 1 - y_pred, pos_label=0))


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_binary_with_ties(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, 300)
    scores = np.round(y_true * 0.3 + rng.random(300), 1)  # rounding makes many ties
    assert metrics.roc_auc(y_true, scores) == pytest.approx(skm.roc_auc_score(y_true, scores))
    two_columns = np.stack([1 - scores, scores], 1)
    assert metrics.roc_auc(y_true, two_columns) == pytest.approx(skm.roc_auc_score(y_true, scores))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_roc_auc_one_vs_rest(seed, average):
    y_true, logits = _classification(seed, classes=4)
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    expected = skm.roc_auc_score(y_true, probabilities, multi_class="ovr", average=average)
    assert metrics.roc_auc(y_true, probabilities, average=average) == pytest.approx(expected)
    # Logits are passed through softmax first, giving the same answer.
    assert metrics.roc_auc(y_true, logits, average=average) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(5))
def test_regression_metrics(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.standard_normal((80, 3))
    y_pred = y_true + 0.5 * rng.standard_normal((80, 3))
    for ours, theirs in [(metrics.mean_squared_error, skm.mean_squared_error),
                         (metrics.mean_absolute_error, skm.mean_absolute_error),
                         (metrics.r2_score, skm.r2_score)]:
        assert ours(y_true, y_pred) == pytest.approx(theirs(y_true, y_pred))
        assert ours(y_true[:, 0], gn.tensor(y_pred[:, :1])) == pytest.approx(
            theirs(y_true[:, 0], y_pred[:, 0]))


def test_edge_cases_and_errors():
    assert metrics.r2_score([2.0, 2.0], [2.0, 2.0]) == skm.r2_score([2.0, 2.0], [2.0, 2.0])
    assert metrics.precision([0, 0, 1], [0, 0, 0]) == 0.0
    with pytest.raises(ValueError, match="average='binary' needs two classes"):
        metrics.f1([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="3 true labels but 2 predictions"):
        metrics.accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="needs samples of both classes"):
        metrics.roc_auc([1, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(2,\)"):
        metrics.mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0])
