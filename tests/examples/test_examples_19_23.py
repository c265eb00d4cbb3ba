"""Quick runs of the gallery examples 19, 20, 22 and 23 (issue 15): autoencoder vs PCA, GANs,
graph vs imperative, and the families of machine learning. Each asserts the number that shows
its idea worked, loosely (quick-mode thresholds well above what a failed idea gives), and that
its figures were written. They need MNIST and skip without it."""
import os
from pathlib import Path

import numpy as np
import pytest
from example_runner import load_example, run_example

DATA = Path(os.environ.get("GANGLION_DATA", ""))
needs_mnist = pytest.mark.skipif(
    not (DATA / "mnist").is_dir(), reason="MNIST not found: set GANGLION_DATA to a folder "
    "holding mnist/")


@needs_mnist
def test_autoencoder_vs_pca(tmp_path):
    results = run_example("19_autoencoder_vs_pca", tmp_path)
    if results["pca_check"] is not None:  # PCA by gn.linalg.svd agrees with scikit-learn's
        assert results["pca_check"]["direction"] < 1e-4
        assert results["pca_check"]["variance"] < 1e-5
    pca, autoencoder = results["errors"]["PCA"], results["errors"]["autoencoder"]
    # PCA's error falls with the code size; both are far below the error of the mean image
    # (about 0.067 per pixel for MNIST)
    assert pca[2] > pca[8] > pca[32]
    assert autoencoder[2] < 0.062
    # the frozen encoder's 8-D codes carry the digit: a classifier on them beats chance (10%)
    assert results["classifier_accuracy_autoencoder"] > 0.4
    # the convolutional autoencoders rebuild the digits and remove part of the noise
    assert results["conv_error"] < 0.06
    assert results["denoised_error"] < results["noisy_error"]
    for name in ("codes_2d", "reconstruction_error", "reconstructions", "conv_denoising"):
        assert (tmp_path / f"{name}.png").is_file()


def test_pca_of_example_19_matches_the_definition():
    """The example's PCA directions (float32, as gn.tensor makes them) are orthonormal, its
    variances the covariance's eigenvalues and all components rebuild the data."""
    module = load_example("19_autoencoder_vs_pca")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 6)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.1])
    pca = module.PCA(x)
    covariance = np.cov(x, rowvar=False)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(6), atol=1e-5)
    np.testing.assert_allclose(np.linalg.eigvalsh(covariance)[::-1], pca.explained_variance,
                               rtol=1e-5)
    codes = pca.encode(x, 6)
    np.testing.assert_allclose(pca.decode(codes), x, atol=1e-4)


@needs_mnist
def test_gan_painter_learns_the_artists_range(tmp_path):
    results = run_example("20_gan", tmp_path)
    # an untrained painter draws near 0 everywhere, outside the band at the ends (x = +-1
    # needs y in [1, 3]); after training nearly all points are inside
    assert results["painter_inside_band"] > 0.8
    low, _, high = results["painter_a_percentiles"]
    assert 0.8 < low and high < 2.3
    assert 0.0 <= results["dcgan_confident_fraction"] <= 1.0
    for name in ("painter_and_critic", "dcgan_digits", "dcgan_losses"):
        assert (tmp_path / f"{name}.png").is_file()


def test_painter_band_and_fitted_a():
    module = load_example("20_gan")
    real = module.artist_works(np.random.default_rng(0), batch=200)
    assert module.inside_band(real, tolerance=0.0) == 1.0
    assert module.inside_band(np.zeros((5, 15))) < 0.5
    a = module.fitted_a(np.array([1.5 * module.PAINT_POINTS ** 2 + 0.5]))
    np.testing.assert_allclose(a, [1.5], rtol=1e-6)


@needs_mnist
def test_graph_vs_imperative_gives_identical_losses(tmp_path):
    results = run_example("22_graph_vs_imperative", tmp_path)
    for difference in results["max_relative_difference"].values():
        assert difference < 1e-4
    assert results["last_loss"] < results["first_loss"] - 0.3  # the training does train
    assert set(results["seconds_per_step"]) == {"eager", "Theano style", "define-then-run"}
    assert (tmp_path / "graph_vs_imperative.png").is_file()


@needs_mnist
def test_ml_families(tmp_path):
    results = run_example("23_ml_families", tmp_path)
    assert results["kmeans_purity"] > 0.4                 # chance is about 0.11
    assert results["supervised_only_accuracy"] > 0.45     # 100 labels, 10 classes
    returns = results["reinforce_returns"]
    assert np.mean(returns[-5:]) > 2 * np.mean(returns[:3])   # the policy learns
    assert results["ga_best"][-1] > 100                   # a random network falls in ~10-30
    assert (tmp_path / "ml_families.png").is_file()


def test_cartpole_dynamics_follow_the_equations():
    """One Euler step from a known state, worked out by hand from Barto, Sutton & Anderson's
    equations with gymnasium's constants; a fallen pole stops earning reward."""
    module = load_example("23_ml_families")
    env = module.CartPoles(2, np.random.default_rng(0))
    env.state = np.array([[0.0, 0.0, 0.1, 0.0], [0.0, 0.0, 0.25, 0.0]])
    env.alive = np.array([True, False])
    reward = env.step(np.array([1, 1]))
    sin, cos = np.sin(0.1), np.cos(0.1)
    temp = 10.0 / 1.1
    theta_acc = (9.8 * sin - cos * temp) / (0.5 * (4 / 3 - 0.1 * cos ** 2 / 1.1))
    x_acc = temp - 0.05 * theta_acc * cos / 1.1
    np.testing.assert_allclose(env.state[0], [0.0, 0.02 * x_acc, 0.1, 0.02 * theta_acc])
    np.testing.assert_array_equal(reward, [1.0, 0.0])
    np.testing.assert_array_equal(env.state[1], [0.0, 0.0, 0.25, 0.0])  # a fallen cart stays
