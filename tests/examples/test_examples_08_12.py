"""The gallery's examples 8-12 (issue 15) in quick mode, on real data (CIFAR-10, MNIST,
California housing; skipped with the reason when $GANGLION_DATA lacks them). Each test checks
the numbers that show the example's idea worked: accuracies above what the idea's failure would
give, metrics equal to scikit-learn's, convolution arithmetic equal to PyTorch's, parameter
counts equal to the published ones; and that the figures were written. Also
``ganglion.metrics.roc_curve`` (added for example 9) against scikit-learn."""
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import ganglion as gn  # noqa: E402
from bad_inputs import BadInput, bad_input_test  # noqa: E402
from example_runner import run_example  # noqa: E402
from ganglion import metrics  # noqa: E402
from ganglion.data.paths import data_root  # noqa: E402

torch = pytest.importorskip("torch")


def needs(*folders):
    """Skip unless every dataset folder is under $GANGLION_DATA."""
    root = data_root()
    missing = [f for f in folders if not (Path(root) / f).is_dir()]
    return pytest.mark.skipif(bool(missing), reason=f"dataset folder(s) {missing} not found in "
                              f"{root} (set GANGLION_DATA; see /work/shared/datasets/README.md)")


def figures_written(out_dir, names):
    for name in names:
        path = out_dir / name
        assert path.is_file() and path.stat().st_size > 10_000, f"{name} missing or empty"


# --- ganglion.metrics.roc_curve ------------------------------------------------------------


@pytest.mark.parametrize("drop_intermediate", [True, False])
@pytest.mark.parametrize("n, decimals", [(7, 1), (200, 2), (1000, 6)])
def test_roc_curve_matches_scikit_learn(n, decimals, drop_intermediate):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(n)
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]
    # Rounded scores tie, which is where thresholds merge.
    scores = np.round(rng.random(n) + 0.3 * labels, decimals)
    expected = sklearn_metrics.roc_curve(labels, scores, drop_intermediate=drop_intermediate)
    got = metrics.roc_curve(labels, gn.tensor(scores), drop_intermediate=drop_intermediate)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b)
    # The trapezoidal area under the curve is the rank statistic roc_auc computes.
    fpr, tpr, _ = got
    assert np.trapezoid(tpr, fpr) == pytest.approx(metrics.roc_auc(labels, scores), abs=1e-12)


def test_roc_curve_pos_label_and_perfect_scorer():
    fpr, tpr, thresholds = metrics.roc_curve(["a", "b", "b", "a"], [0.9, 0.2, 0.1, 0.8],
                                             pos_label="a")
    assert fpr.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert thresholds[0] == np.inf and thresholds[1:].tolist() == [0.9, 0.8, 0.1]


test_bad_input = bad_input_test([
    BadInput("roc_curve one class", lambda: metrics.roc_curve([1, 1, 1], [0.1, 0.5, 0.9]),
             ValueError, ["roc_curve", "both classes"]),
    BadInput("roc_curve lengths", lambda: metrics.roc_curve([0, 1, 1], [0.1, 0.5]),
             ValueError, ["roc_curve", "3 labels", "2 scores"]),
    BadInput("roc_curve 2-D scores", lambda: metrics.roc_curve([0, 1], np.ones((2, 3))),
             ValueError, ["roc_curve", "(N,)", "(2, 3)"]),
])


# --- example 8 -----------------------------------------------------------------------------


@needs("cifar10-jpg")
def test_classification_losses_on_cifar10(tmp_path):
    results = run_example("08_classification_losses", tmp_path)
    table = results["table"]
    # two classes (chance 0.5); the others have ten (chance 0.1)
    assert table["sigmoid neuron (airplane vs automobile)"] > 0.7
    assert table["softmax regression, cross-entropy"] > 0.2
    assert table["softmax regression, squared error"] > 0.2
    assert table["MLP 3072-512-256-10"] > 0.2
    assert table["CNN (cifar_cnn)"] > 0.15
    wrong = results["confidently_wrong_gradients"]
    assert wrong["squared error on one-hot"] < 1e-3 * wrong["cross-entropy"]
    for curve in results["softmax_curves"].values():
        # both start from the same weights and learn
        assert curve[0] == results["softmax_curves"]["cross-entropy"][0]
        assert max(curve[1:]) > curve[0] + 0.05
    figures_written(tmp_path, ["mse_vs_cross_entropy.png", "accuracies.png"])


def test_squared_error_on_softmax_matches_pytorch():
    from example_runner import load_example
    loss = load_example("08_classification_losses").squared_error_on_softmax
    logits = np.random.default_rng(0).normal(size=(5, 10)).astype(np.float32)
    labels = np.array([0, 3, 9, 3, 1])
    t = torch.tensor(logits)
    expected = ((t.softmax(1) - torch.nn.functional.one_hot(torch.tensor(labels), 10)) ** 2
                ).sum(1).mean()
    assert loss(gn.tensor(logits), gn.tensor(labels)).item() == pytest.approx(
        expected.item(), rel=1e-6)


def test_squared_error_gradient_vanishes_when_confidently_wrong():
    from example_runner import load_example
    norms = load_example("08_classification_losses").gradient_when_confidently_wrong(10.0)
    expected = {}
    for name, loss in (("squared error on one-hot", lambda z, t: (
            (z.softmax(1) - torch.nn.functional.one_hot(t, 10)) ** 2).sum(1).mean()),
            ("cross-entropy", torch.nn.functional.cross_entropy)):
        z = torch.zeros(1, 10)
        z[0, 0] = 10
        z.requires_grad_(True)
        loss(z, torch.tensor([1])).backward()
        expected[name] = z.grad.norm().item()
    assert norms == pytest.approx(expected, rel=1e-3)  # float32 softmax near saturation
    assert norms["squared error on one-hot"] < 1e-3 * norms["cross-entropy"]


# --- example 9 -----------------------------------------------------------------------------


@needs("mnist", "california-housing")
def test_evaluating_models_against_scikit_learn(tmp_path):
    sk = pytest.importorskip("sklearn.metrics")
    results = run_example("09_evaluating_models", tmp_path)
    # in float64, as ganglion.metrics computes (scikit-learn keeps float32 inputs in float32)
    y_true = results["regression_targets"].astype(np.float64)
    for name, predicted in results["regression_predictions"].items():
        predicted = predicted.astype(np.float64)
        report = results["regression"][name]
        assert report["mse"] == pytest.approx(sk.mean_squared_error(y_true, predicted), rel=1e-9)
        assert report["mae"] == pytest.approx(sk.mean_absolute_error(y_true, predicted), rel=1e-9)
        assert report["r2"] == pytest.approx(sk.r2_score(y_true, predicted), rel=1e-9)
    # the models explain most of the variance; predicting the mean explains none
    assert results["regression"]["MLP (64 ReLU units)"]["r2"] > 0.6
    assert abs(results["regression"]["baseline: training mean"]["r2"]) < 0.01

    labels, predicted = results["labels"], results["predicted"]
    probabilities = results["probabilities"]
    assert results["accuracy"] > 0.75
    np.testing.assert_array_equal(results["confusion_matrix"],
                                  sk.confusion_matrix(labels, predicted, labels=range(10)))
    expected = sk.precision_recall_fscore_support(labels, predicted, zero_division=0)
    for got, want in zip(results["per_class"], expected[:3]):
        np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(results["macro"], sk.precision_recall_fscore_support(
        labels, predicted, average="macro", zero_division=0)[:3])
    is_five = (labels == 5).astype(int)
    flagged = (probabilities[:, 5] >= 0.5).astype(int)
    binary = results["binary"]
    assert (binary["precision"], binary["recall"], binary["f1"]) == pytest.approx(
        sk.precision_recall_fscore_support(is_five, flagged, average="binary")[:3])
    assert 0 < binary["recall"] < 1 and binary["precision"] > 0.5
    for got, want in zip(results["roc"], sk.roc_curve(is_five, probabilities[:, 5])):
        np.testing.assert_allclose(got, want)
    assert results["auc"] == pytest.approx(sk.roc_auc_score(is_five, probabilities[:, 5]))
    assert results["macro_auc"] == pytest.approx(
        sk.roc_auc_score(labels, probabilities, multi_class="ovr"))
    assert results["auc"] > 0.95
    figures_written(tmp_path, ["regression.png", "confusion_matrix.png", "roc_curve.png"])


# --- example 10 ----------------------------------------------------------------------------


@needs("cifar10-jpg")
def test_convolution_by_hand_against_pytorch(tmp_path):
    results = run_example("10_convolution_by_hand", tmp_path)
    assert results["hand_vs_conv2d_difference"] < 1e-12
    for row in results["output_sizes"]:
        torch_conv = torch.nn.Conv2d(1, 1, row["k"], stride=row["s"], padding=row["p"])
        torch_size = torch_conv(torch.zeros(1, 1, row["n"], row["n"])).shape[-1]
        assert row["formula"] == row["conv2d"] == torch_size, row
    assert any(row["exact"] != row["formula"] for row in results["output_sizes"])  # floors
    for row in results["parameter_counts"]:
        torch_conv = torch.nn.Conv2d(row["c_in"], row["c_out"], row["k"], bias=row["bias"])
        assert row["formula"] == row["layer"] == sum(p.numel() for p in torch_conv.parameters())
    sharing = results["weight_sharing"]
    assert sharing["fc_weights"] == 10 ** 12 and sharing["conv_parameters"] == 10
    assert sharing["conv_outputs"] == 10 ** 6
    assert (results["max_pool"], results["avg_pool"]) == (3.0, 1.5)
    # the hand-set filters applied by PyTorch with the same replicate padding
    gray = torch.tensor(results["gray_image"])[None, None]
    kernels = torch.tensor([[[[-1., 0, 1], [-2, 0, 2], [-1, 0, 1]]],
                            [[[-1., -2, -1], [0, 0, 0], [1, 2, 1]]],
                            [[[0., 1, 0], [1, -4, 1], [0, 1, 0]]]])
    expected = torch.nn.functional.conv2d(
        torch.nn.functional.pad(gray, (1, 1, 1, 1), mode="replicate"), kernels)[0].numpy()
    np.testing.assert_allclose(results["edge_responses"], expected, atol=1e-5)
    assert results["edge_pixel"][0] == pytest.approx(results["edge_pixel"][1], abs=1e-5)
    figures_written(tmp_path, ["edge_filters.png", "output_size.png"])


# --- example 11 ----------------------------------------------------------------------------


@needs("mnist")
def test_lenet_mnist_inside(tmp_path):
    results = run_example("11_lenet_mnist_inside", tmp_path)
    assert results["parameters"] == 61_706
    assert results["test_accuracy"] > 0.75
    assert results["last_loss"] < results["first_loss"] / 2
    assert [tuple(s) for s in results["feature_map_shapes"][:6]] == [
        (6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 10, 10), (16, 5, 5)]
    assert results["feature_map_shapes"][-1] == (10,)
    # the saved weights load into a fresh lenet5 and give the same predictions
    from ganglion.models import lenet5
    model = lenet5()
    model.load_state_dict(gn.load(results["weights_path"]))
    assert Path(results["weights_path"]).name == "lenet5_mnist.safetensors"
    from ganglion.data import MNIST
    test_set = MNIST(train=False)
    x = gn.tensor((test_set.data[:200, None].astype(np.float32) / 255 - 0.1307) / 0.3081)
    model.eval()
    with gn.no_grad():
        accuracy = metrics.accuracy(test_set.targets[:200], model(x).argmax(1))
    assert accuracy > 0.7
    figures_written(tmp_path, ["training.png", "feature_maps_layer1.png",
                               "feature_maps_layer2.png", "dense_activations.png",
                               "first_layer_filters.png"])


# --- example 12 ----------------------------------------------------------------------------


@needs("mnist")
def test_cnn_evolution(tmp_path):
    results = run_example("12_cnn_evolution", tmp_path)
    architectures = results["architectures"]
    # torchvision's parameter counts for the same architectures (LeNet-5 by its layer sizes)
    assert {name: row["parameters"] for name, row in architectures.items()} == {
        "lenet5": 61_706, "googlenet": 6_624_904, "resnet18": 11_689_512,
        "mobilenet_v2": 3_504_872}
    assert architectures["resnet18"]["macs"] == pytest.approx(1.82e9, rel=0.01)
    savings = {row["name"]: row for row in results["factorizations"]}
    assert savings["two 3x3 for one 5x5"]["saving"] == pytest.approx(1 - 18 / 25)
    assert savings["1x3 + 3x1 for one 3x3"]["saving"] == pytest.approx(1 / 3)
    c = 64
    assert savings["depthwise 3x3 + pointwise 1x1 for one 3x3"]["saving"] == pytest.approx(
        1 - (9 * c + c * c) / (9 * c * c))
    for row in results["factorizations"]:
        assert row["standard_field"] == row["factorized_field"]
        assert row["factorized_macs"] < row["standard_macs"]
    assert savings["two 3x3 for one 5x5"]["factorized_field"] == (5, 5)
    activations = results["activations"]
    # ReLU learns within the epoch; sigmoid stays near chance (ln 10 = 2.30)
    assert activations["ReLU"]["last_quarter_loss"] < 1.5
    assert activations["sigmoid"]["last_quarter_loss"] > 2.0
    assert activations["ReLU"]["test_accuracy"] > activations["sigmoid"]["test_accuracy"] + 0.3
    dropout = results["dropout"]
    # the small training set is learnt by heart, and the test accuracy is far lower
    assert dropout["no dropout"]["train_accuracy"] == 1.0
    assert dropout["no dropout"]["gap"] > 0.1
    assert dropout["dropout p = 0.5"]["test_loss"] < dropout["no dropout"]["test_loss"]
    figures_written(tmp_path, ["cnn_evolution.png", "factorizations.png",
                               "relu_vs_sigmoid.png", "dropout_overfitting.png"])
