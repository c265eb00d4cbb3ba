"""The gallery's first seven examples (issue 15) in quick mode: each test runs one example's
``main(['--quick', '--out', tmp])`` and checks the numbers that show its idea worked, against
the mathematics (truth tables, closed forms, NumPy's least squares) rather than against the
numbers the example happened to print, and that its figures were written."""
import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from example_runner import run_example  # noqa: E402


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_artificial_neuron_truth_tables_and_sigmoid(tmp_path):
    results = run_example("01_artificial_neuron", tmp_path)
    assert results["threshold_tables"] == {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1],
                                           "x1 AND NOT x2": [0, 0, 1, 0]}
    assert results["bias_and_table"] == [0, 0, 0, 1]
    assert results["linear_layer_and_table"] == [0, 0, 0, 1]
    # w = (0.6, 0.6), b = -1: w.x + b is -1, -0.4, -0.4, 0.2 at the four inputs
    net_inputs = [-1.0, -0.4, -0.4, 0.2]
    assert results["sigmoid_and_outputs"] == pytest.approx([sigmoid(z) for z in net_inputs],
                                                           abs=1e-6)
    assert results["steep_sigmoid_and_outputs"] == pytest.approx(
        [sigmoid(10 * z) for z in net_inputs], abs=1e-6)
    assert results["sigmoid_and_table"] == [0, 0, 0, 1]
    assert (tmp_path / "neuron_output_plane.png").stat().st_size > 10_000


def test_logic_gates_perceptron_fails_on_xor_and_backprop_solves_it(tmp_path):
    results = run_example("02_logic_gates", tmp_path)
    assert results["hand_set_AND"] == [0, 0, 0, 1]
    assert results["hand_set_OR"] == [0, 1, 1, 1]
    assert results["hand_set_NOT"] == [1, 0]
    for gate, truth in (("AND", [0, 0, 0, 1]), ("OR", [0, 1, 1, 1])):
        assert results[f"perceptron_{gate}_converged"]
        assert results[f"perceptron_{gate}_epochs"] <= 10
        assert results[f"perceptron_{gate}_outputs"] == truth
    assert not results["perceptron_XOR_converged"]
    assert results["perceptron_XOR_epochs"] == 100
    assert results["perceptron_XOR_outputs"] != [0, 1, 1, 0]
    assert results["perceptron_XOR_cycle_from_epoch"] is not None
    assert results["xor_network_solved"]
    assert results["xor_network_outputs"] == pytest.approx([0, 1, 1, 0], abs=0.1)
    assert (tmp_path / "decision_boundaries.png").exists()


def test_perceptron_hyperplane_converges_within_novikoff_bound(tmp_path):
    results = run_example("03_perceptron_hyperplane", tmp_path)
    assert results["converged"]
    assert results["train_accuracy"] == 1.0
    assert 0 < results["updates"] <= results["novikoff_bound"]
    assert results["points"] == 200
    # the learned line separates the clouds like the generating line x1 + 2 x2 - 1 = 0:
    # its normal points the same way
    w = np.array(results["weights"])
    assert np.dot(w / np.linalg.norm(w), np.array([1, 2]) / math.sqrt(5)) > 0.9
    assert (tmp_path / "perceptron_hyperplane.png").exists()


def test_nonlinear_activations_linear_layers_collapse(tmp_path):
    results = run_example("04_nonlinear_activations", tmp_path)
    accuracies = results["accuracies"]
    # no line separates the disc from the ring around it; a hidden non-linearity does
    assert accuracies["one linear layer"] < 0.85
    assert accuracies["two linear layers"] == pytest.approx(accuracies["one linear layer"],
                                                            abs=0.02)
    assert accuracies["linear + ReLU + linear"] >= 0.97
    assert accuracies["linear + sigmoid + linear"] >= 0.95
    assert results["collapsed_output_difference"] < 1e-5
    assert results["collapsed_vs_single_difference"] < 0.02
    assert results["derivative_maxima"] == pytest.approx(
        {"sigmoid": 0.25, "tanh": 1.0, "ReLU": 1.0}, abs=1e-4)
    assert results["sigmoid_derivative_error"] < 1e-6
    assert results["tanh_derivative_error"] < 1e-5
    assert (tmp_path / "decision_boundaries.png").exists()
    assert (tmp_path / "activations.png").exists()


def test_regression_eager_and_theano_style_give_the_same_fit(tmp_path):
    results = run_example("05_regression", tmp_path)
    for name, clean_limit in (("line", 0.005), ("curve", 0.03)):
        run = results[name]
        assert run["eager_theano_max_difference"] < 1e-9
        assert run["loss_curve_max_difference"] < 1e-9
        assert run["train_mse_eager"] < run["initial_loss"] / 10
        assert run["train_mse_eager"] < 0.03  # the noise variance is 0.01
        assert run["clean_mse"] < clean_limit
    assert (tmp_path / "regression_fits.png").exists()


def test_digit_panel_accuracy_falls_with_flipped_pixels(tmp_path):
    results = run_example("06_digit_panel", tmp_path)
    assert results["clean_predictions"] == list(range(10))
    p_four = results["clean_p_four"]
    assert p_four[4] > 0.9
    assert max(p for digit, p in enumerate(p_four) if digit != 4) < 0.1
    accuracy, detector = results["digit_accuracy"], results["detector_accuracy"]
    flips = results["flips"]
    assert accuracy[0] == 1.0 and detector[0] == 1.0
    # falls with k (sampling noise of 200 panels allows small rises between neighbours)
    assert all(accuracy[k + 3] <= accuracy[k] + 0.05 for k in range(len(flips) - 3))
    assert accuracy[flips.index(12)] < accuracy[0] - 0.3
    assert accuracy[flips.index(16)] < 0.3
    assert detector[-1] < 0.7
    assert (tmp_path / "panels.png").exists()
    assert (tmp_path / "accuracy_vs_noise.png").exists()


def test_gradient_descent_learning_rates_minima_and_newton(tmp_path):
    results = run_example("07_gradient_descent", tmp_path)
    for dims in ("1-D", "2-D"):
        assert results[f"{dims} too small"]["outcome"] == "not converged yet"
        assert results[f"{dims} good"]["outcome"] == "converged"
        assert results[f"{dims} too large"]["outcome"] == "diverged"
    assert results["1-D good"]["end"] == pytest.approx(4 * 0.4 ** 20, rel=1e-6)  # x (1 - 2 lr)^n

    # L'(x) = 4x^3 - 6x + 1: the minima and the local maximum between them
    critical = np.sort(np.roots([4, 0, -6, 1]).real)
    global_minimum, local_maximum, local_minimum = critical
    starts, ends = np.array(results["minima"]["starts"]), np.array(results["minima"]["ends"])
    assert np.allclose(ends[starts < local_maximum], global_minimum, atol=1e-4)
    assert np.allclose(ends[starts > local_maximum], local_minimum, atol=1e-4)

    ls = results["least_squares"]
    reference, *_ = np.linalg.lstsq(ls["X"], ls["y"], rcond=None)
    assert ls["closed_form"] == pytest.approx(reference, abs=1e-10)
    assert ls["newton_iterations"] == 1
    assert ls["newton_error"] < 1e-10
    assert ls["newton_first_step"] == pytest.approx(reference, abs=1e-10)
    assert ls["gd_iterations"] > 100
    assert ls["gd_error"] <= 1e-6
    assert ls["hessian_error"] < 1e-12
    for name in ("learning_rates.png", "local_and_global_minimum.png", "least_squares.png"):
        assert (tmp_path / name).exists()
