"""Example 21 (issue 15, item 21; issue 14's transfer-learning example) in quick mode: a CNN
trained on CIFAR-10's animals, reused for the vehicles (scratch, frozen features, fine-tuning)
and for the rotation angle of the photos. The quick run uses the cheaper cifar_cnn source (the
default resnet20 source is checked piece by piece, without data, below) and checks that the
pipeline learns (a head on frozen features well above chance, the rotation error below the
always-0 guess), that fine-tuning left the frozen source network untouched, and that the figures
and the cached source network were written. The example's ridge regression (dual form,
leave-one-out penalty) is checked against NumPy's primal solution and a brute-force
leave-one-out."""
import os
from pathlib import Path

import numpy as np
import pytest

import ganglion as gn

pytest.importorskip("matplotlib")

from example_runner import load_example, run_example  # noqa: E402

CIFAR = Path(os.environ.get("GANGLION_DATA", "/nonexistent")) / "cifar10-jpg"


@pytest.mark.skipif(not CIFAR.is_dir() and not (CIFAR.parent / "cifar-10-batches-py").is_dir(),
                    reason=f"CIFAR-10 is not under $GANGLION_DATA ({CIFAR.parent})")
def test_transfer_learning_quick(tmp_path):
    results = run_example("21_transfer_learning", tmp_path, "--source", "cifar_cnn")
    assert results["source"] == "cifar_cnn" and results["head_layer"] == "8"
    for key in ("accuracy_scratch", "accuracy_frozen_head", "accuracy_fine_tune",
                "source_accuracy"):
        assert 0.0 <= results[key] <= 1.0, key
    # 4 classes: chance is 0.25 and a broken feature path (zeros, wrong layer) stays there.
    assert results["accuracy_frozen_head"] > 0.35
    assert results["accuracy_fine_tune"] > 0.35
    assert set(results["probe_accuracy"]) == {"2", "5", "8", "11"}
    assert results["accuracy_frozen_head"] == results["probe_accuracy"]["8"]
    assert results["source_unchanged"] is True
    # The angle is uniform in [-45, 45]: guessing 0 is off by 22.5 degrees on average.
    assert 18 < results["rotation_mae_zero"] < 27
    assert min(results["rotation_mae"].values()) < results["rotation_mae_zero"] - 1.0
    assert (tmp_path / "transfer_accuracy.png").stat().st_size > 10_000
    assert (tmp_path / "layers.png").stat().st_size > 10_000
    assert list(tmp_path.glob("source_cifar_cnn_animals_quick_*.safetensors"))


def test_resnet20_source_features_and_new_head():
    """The resnet20 source: the reused layers' shapes, the global pool equal to what the animal
    classifier reads, and the network with a new head computing that head on those features;
    fine-tuning it trains the convolutions too."""
    import copy
    example = load_example("21_transfer_learning")
    source = example.SOURCES["resnet20"]
    gn.manual_seed(0)
    network = source.build(num_classes=6).eval()
    x = gn.tensor(np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32))
    extractor = gn.models.feature_extractor(network, {n: n for n in source.nodes}).eval()
    with gn.no_grad():
        features = source.features(extractor(x))
        assert {k: tuple(v.shape) for k, v in features.items()} == {
            "layer1": (3, 16 * 32 * 32), "layer2": (3, 32 * 16 * 16), "layer3": (3, 64 * 8 * 8),
            "pool": (3, 64)}
        assert set(features) == set(source.layers) and source.head_layer in features
        np.testing.assert_allclose(network.linear(features["pool"]).numpy(), network(x).numpy(),
                                   rtol=1e-5, atol=1e-5)
        head = gn.nn.Linear(64, 4)
        tuned = source.with_head(copy.deepcopy(network), head)
        np.testing.assert_allclose(tuned(x).numpy(), head(features["pool"]).numpy(),
                                   rtol=1e-5, atol=1e-5)
    before = tuned.conv1.weight.detach().numpy().copy()
    gn.nn.functional.cross_entropy(tuned.train()(x), gn.tensor([0, 1, 2])).backward()
    assert tuned.conv1.weight.grad is not None and tuned.conv1.weight.grad.abs().sum().item() > 0
    np.testing.assert_array_equal(network.conv1.weight.detach().numpy(), before)


def numpy_ridge(features, targets, test_features, lam):
    """Primal ridge regression on features standardized as the example does (std + 1e-3)."""
    mean, std = features.mean(0), features.std(0, ddof=1) + 1e-3
    a, b = (features - mean) / std, (test_features - mean) / std
    weights = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ (targets - targets.mean()))
    return b @ weights + targets.mean()


def test_ridge_regression_dual_form_and_leave_one_out_penalty():
    example = load_example("21_transfer_learning")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(30, 12))
    targets = features[:, 0] * 3 - features[:, 1] + rng.normal(scale=2.0, size=30)
    test_features = rng.normal(size=(7, 12))
    penalties = (1e-2, 1.0, 10.0, 100.0)
    predicted, lam = example.ridge_regression(gn.tensor(features), gn.tensor(targets),
                                              gn.tensor(test_features), penalties)
    # The penalty: the smallest mean absolute leave-one-out error, by refitting n times (with
    # the standardization and the target mean of all n examples, as the closed form has them).
    a = (features - features.mean(0)) / (features.std(0, ddof=1) + 1e-3)
    centred = targets - targets.mean()
    loo = {}
    for penalty in penalties:
        errors = []
        for i in range(len(features)):
            keep = np.arange(len(features)) != i
            ridge = penalty * a.shape[1] * np.eye(a.shape[1])
            weights = np.linalg.solve(a[keep].T @ a[keep] + ridge,
                                      a[keep].T @ centred[keep])
            errors.append(abs(a[i] @ weights - centred[i]))
        loo[penalty] = np.mean(errors)
    assert len({round(v, 6) for v in loo.values()}) == len(penalties)
    assert lam == pytest.approx(min(loo, key=loo.get) * features.shape[1])
    expected = numpy_ridge(features, targets, test_features, lam)
    np.testing.assert_allclose(predicted.numpy(), expected, rtol=1e-4, atol=1e-4)
