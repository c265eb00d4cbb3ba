"""MixUp and CutMix (torchvision's v2 batch transforms): the mixtures replayed from the seed,
labels as class probabilities that sum to 1, accuracy on mixed labels, and training on them."""
import math

import numpy as np
import pytest

import ganglion as gn
from ganglion.data import DataLoader, TensorDataset
from ganglion.data import transforms as T


def _batch(n=6, classes=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 3, 10, 12), dtype=np.float32), rng.integers(0, classes, n)


def test_mixup_mixes_each_image_with_the_previous_one():
    images, labels = _batch()
    gn.manual_seed(3)
    mixed, soft = T.MixUp(alpha=0.4, num_classes=5)((gn.from_numpy(images),
                                                     gn.from_numpy(labels)))
    lam = np.random.default_rng(3).beta(0.4, 0.4)
    previous = np.roll(np.arange(6), 1)                  # image i is mixed with image i - 1
    np.testing.assert_allclose(mixed.numpy(), lam * images + (1 - lam) * images[previous],
                               rtol=1e-6, atol=1e-7)
    one_hot = np.eye(5)[labels]
    np.testing.assert_allclose(soft.numpy(), lam * one_hot + (1 - lam) * one_hot[previous],
                               rtol=1e-6)
    assert soft.dtype == gn.float32 and np.allclose(soft.numpy().sum(1), 1)


def test_cutmix_pastes_a_box_and_weighs_labels_by_area():
    images, labels = _batch(seed=1)
    for seed in range(6):
        gn.manual_seed(seed)
        mixed, soft = T.CutMix(alpha=1.0, num_classes=5)((images, labels))
        rng = np.random.default_rng(seed)
        lam = rng.beta(1.0, 1.0)
        cx, cy = rng.integers(12), rng.integers(10)
        half_w, half_h = int(0.5 * math.sqrt(1 - lam) * 12), int(0.5 * math.sqrt(1 - lam) * 10)
        x1, x2 = max(cx - half_w, 0), min(cx + half_w, 12)
        y1, y2 = max(cy - half_h, 0), min(cy + half_h, 10)
        expected = images.copy()
        expected[..., y1:y2, x1:x2] = np.roll(images, 1, axis=0)[..., y1:y2, x1:x2]
        np.testing.assert_array_equal(mixed, expected)
        kept = 1 - (x2 - x1) * (y2 - y1) / 120
        one_hot = np.eye(5)[labels]
        np.testing.assert_allclose(soft, kept * one_hot + (1 - kept) * np.roll(one_hot, 1, 0),
                                   rtol=1e-6)


def test_mixing_takes_probability_labels_and_checks_its_input():
    images, labels = _batch()
    soft = np.eye(5, dtype=np.float32)[labels]
    gn.manual_seed(0)
    _, out = T.MixUp()((images, soft))                     # no num_classes needed
    assert out.shape == (6, 5)
    with pytest.raises(ValueError, match="num_classes is needed"):
        T.MixUp()((images, labels))
    with pytest.raises(ValueError, match=r"labels should be in \[0, 3\), got 0..4"):
        T.CutMix(num_classes=3)((images, np.array([0, 1, 2, 3, 4, 0])))
    with pytest.raises(ValueError, match="alpha should be a positive number, got 0"):
        T.MixUp(alpha=0)
    with pytest.raises(TypeError, match=r"CutMix: expected an \(images, labels\) batch"):
        T.CutMix(num_classes=5)(images)


def test_accuracy_reads_probability_labels_as_their_most_probable_class():
    soft = np.array([[0.7, 0.3, 0.0], [0.2, 0.0, 0.8], [0.45, 0.55, 0.0]], np.float32)
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
    assert gn.metrics.accuracy(gn.from_numpy(soft), gn.from_numpy(logits)) == pytest.approx(2 / 3)


def test_fit_trains_on_mixed_batches():
    """A batch transform that mixes: the loss takes the probabilities, the accuracy their most
    probable class, and the network still learns a separable problem."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 3, 4, 4)).astype(np.float32)
    y = (x[:, 0].mean(axis=(1, 2)) > 0).astype(np.int64)
    mix = T.RandomChoice([T.MixUp(0.2, num_classes=2), T.CutMix(1.0, num_classes=2)])
    loader = DataLoader(TensorDataset(gn.from_numpy(x), gn.from_numpy(y)), 32, shuffle=True,
                        seed=0, batch_transform=mix)
    model = gn.nn.Sequential(gn.nn.Flatten(), gn.nn.Linear(48, 2))
    gn.manual_seed(0)
    history = gn.train.fit(model, loader, gn.nn.CrossEntropyLoss(),
                           gn.optim.Adam(model.parameters(), lr=0.05), 8,
                           metrics=["accuracy"], verbose=0)
    assert all(np.isfinite(history["loss"])) and 0 <= history["accuracy"][-1] <= 1
    with gn.no_grad():
        accuracy = gn.metrics.accuracy(gn.from_numpy(y), model(gn.from_numpy(x)))
    assert accuracy > 0.8
