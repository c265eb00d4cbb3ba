"""
Autoencoder vs PCA
==================

An autoencoder squeezes each MNIST digit (784 pixels) through a narrow code and rebuilds it;
PCA does the same with the best *linear* code: the projection on the top principal directions.
This example computes PCA with ganglion's own linear algebra (``gn.linalg.eigh`` of the
training images' covariance matrix; checked against scikit-learn's ``PCA`` when scikit-learn is installed) and
trains MLP autoencoders (784-128-k-128-784, ReLU, sigmoid output, Adam on the mean squared
error) with codes of k = 2, 8 and 32 numbers, then compares:

* the 2-D codes of both, scattered and coloured by digit (the autoencoder's classes overlap
  less);
* the test reconstruction error (mean squared error per pixel, pixels in [0, 1]) of both at
  k = 2, 8, 32: the non-linear code beats the linear one at every size (at 32 only once the
  autoencoder has enough data and epochs: with 4,000 digits and 8 epochs PCA was level with it);
* a small classifier (k-64-10) trained on the frozen encoder's 8-D codes (the encoder half
  alone, its weights untouched), against the same classifier on PCA's 8-D codes;
* a convolutional autoencoder (two strided ``Conv2d`` down to 32@7x7, two ``ConvTranspose2d``
  back up to 28x28) and a denoising variant trained to map digits with Gaussian noise
  (standard deviation 0.5, clipped to [0, 1]) to the clean digits, both trained with binary
  cross-entropy and judged by the mean squared error; figure of reconstructions.

Full mode (20,000 training and 2,000 test digits, 20 epochs for each MLP autoencoder; 4,000
digits and 2 epochs for each convolutional one; batch 64; 3 min 1 s of wall time, 146 s of CPU
time on a 2-core machine at load about 2): PCA by ``eigh`` agrees with scikit-learn to 1.6e-06
(directions) and 3.8e-08 (relative variances); test MSE per pixel PCA vs autoencoder 0.0538 vs
0.0423 at k = 2, 0.0373 vs 0.0210 at k = 8, 0.0174 vs 0.0075 at k = 32 (PCA keeps 74.4% of the
variance with 32 directions); the classifier on the frozen encoder's 8-D codes reaches 91.0%
test accuracy (86.4% on PCA's); the convolutional autoencoder rebuilds test digits to MSE
0.0047; noisy digits (MSE 0.1153 from the clean ones) come out at 0.0499 from the plain
convolutional autoencoder and 0.0211 from the denoising one.

Run: python examples/19_autoencoder_vs_pca.py [--quick] [--out DIR] [--seed N]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.nn as nn
from ganglion.data import MNIST, DataLoader, TensorDataset
from ganglion.viz import pyplot

CODE_SIZES = (2, 8, 32)
FULL = dict(train_images=20000, test_images=2000, ae_epochs=20, conv_images=4000,
            conv_epochs=2, classifier_epochs=30, batch_size=64)
QUICK = dict(train_images=1500, test_images=300, ae_epochs=3, conv_images=1500, conv_epochs=1,
             classifier_epochs=10, batch_size=32)
NOISE_STD = 0.5


def load_digits(train_images, test_images, seed):
    """(x_train, y_train, x_test, y_test): images as float32 (N, 784) in [0, 1], labels int."""
    try:
        train_set, test_set = MNIST(train=True), MNIST(train=False)
    except FileNotFoundError as error:
        sys.exit(f"19_autoencoder_vs_pca needs MNIST: set GANGLION_DATA to a folder holding "
                 f"mnist/ ({error})")
    rows = np.random.default_rng(seed).permutation(len(train_set))[:train_images]
    x_train = train_set.data[rows].reshape(len(rows), -1).astype(np.float32) / 255.0
    x_test = test_set.data[:test_images].reshape(test_images, -1).astype(np.float32) / 255.0
    return x_train, train_set.targets[rows], x_test, test_set.targets[:test_images]


class PCA:
    """Principal component analysis: the principal directions are the eigenvectors of the
    covariance matrix C = (X - mean)^T (X - mean) / (n - 1) (``gn.linalg.eigh``, a symmetric
    eigensolver), ordered by eigenvalue, the variance along each. (The SVD of the centred data,
    X - mean = U S V^T, gives the same directions, V, with S^2 / (n - 1) as variances; for
    thousands of 784-pixel images the 784x784 eigenproblem is the cheaper of the two.)"""

    def __init__(self, x):
        self.mean = x.mean(0)
        centred = gn.tensor(x - self.mean)
        covariance = centred.T @ centred / (len(x) - 1)
        variances, directions = gn.linalg.eigh(covariance)
        self.explained_variance = variances.numpy()[::-1].clip(min=0)
        self.components = directions.numpy()[:, ::-1].T

    def encode(self, x, k):
        return (x - self.mean) @ self.components[:k].T

    def decode(self, codes):
        return codes @ self.components[:codes.shape[1]] + self.mean


def check_pca_against_scikit_learn(x, pca, k=32):
    """Largest difference of the explained variances and of the directions (up to sign) from
    scikit-learn's PCA, or None when scikit-learn is not installed."""
    try:
        from sklearn.decomposition import PCA as SklearnPCA
    except ImportError:
        print("scikit-learn not installed: PCA not cross-checked")
        return None
    reference = SklearnPCA(n_components=k, svd_solver="covariance_eigh").fit(x.astype(np.float64))
    ours = pca.components[:k]
    signs = np.sign(np.sum(ours * reference.components_, axis=1, keepdims=True))
    direction_error = float(np.abs(ours * signs - reference.components_).max())
    variance_error = float(np.abs(pca.explained_variance[:k] - reference.explained_variance_).max()
                           / reference.explained_variance_[0])
    return {"direction": direction_error, "variance": variance_error}


def mlp_autoencoder(code_size):
    encoder = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, code_size))
    decoder = nn.Sequential(nn.Linear(code_size, 128), nn.ReLU(), nn.Linear(128, 784),
                            nn.Sigmoid())
    return encoder, decoder


def conv_autoencoder():
    """28x28 -> 16@14x14 -> 32@7x7 (strided convolutions) -> 16@14x14 -> 1@28x28 (transposed
    convolutions, output_padding 1 so that each doubles the size exactly)."""
    encoder = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
                            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
    decoder = nn.Sequential(
        nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())
    return encoder, decoder


def train_autoencoder(encoder, decoder, x, epochs, batch_size, seed, noise_std=0.0, lr=3e-3,
                      loss_fn=nn.functional.mse_loss):
    """Adam on ``loss_fn`` (mean squared error by default) between the decoded code and the
    clean input; with ``noise_std`` > 0 the encoder reads a noisy copy (a denoising
    autoencoder)."""
    model = nn.Sequential(encoder, decoder)
    optimizer = gn.optim.Adam(model.parameters(), lr=lr)
    loader = DataLoader(TensorDataset(gn.tensor(x)), batch_size=batch_size, shuffle=True,
                        seed=seed)
    noise = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        for (clean,) in loader:
            noisy = clean
            if noise_std:
                noisy = gn.tensor(np.clip(clean.numpy() + noise_std * noise.standard_normal(
                    clean.shape).astype(np.float32), 0.0, 1.0))
            optimizer.zero_grad()
            loss = loss_fn(model(noisy), clean)
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def apply(module, x, batch_size=1000):
    """``module`` on the NumPy array ``x`` in batches, without gradients, as NumPy."""
    with gn.no_grad():
        return np.concatenate([module(gn.tensor(x[i:i + batch_size])).numpy()
                               for i in range(0, len(x), batch_size)])


def mse(a, b):
    return float(np.mean((a - b) ** 2))


def train_code_classifier(codes, labels, test_codes, test_labels, epochs, seed):
    """A small MLP (k-64-10) on fixed codes (standardised with the training codes' statistics);
    returns its test accuracy."""
    mean, std = codes.mean(0), codes.std(0) + 1e-6
    gn.manual_seed(seed)
    classifier = nn.Sequential(nn.Linear(codes.shape[1], 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = gn.optim.Adam(classifier.parameters())
    loader = DataLoader(TensorDataset(gn.tensor((codes - mean) / std), gn.tensor(labels)),
                        batch_size=128, shuffle=True, seed=seed)
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(classifier(x), y).backward()
            optimizer.step()
    predictions = apply(classifier, ((test_codes - mean) / std).astype(np.float32)).argmax(1)
    return float(np.mean(predictions == test_labels))


def plot_codes(ae_codes, pca_codes, labels, out_dir, plt):
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), constrained_layout=True)
    for ax, codes, name in ((axes[0], pca_codes, "PCA (linear) 2-D code"),
                            (axes[1], ae_codes, "autoencoder 2-D code")):
        scatter = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=5, alpha=0.7,
                             vmin=-0.5, vmax=9.5)
        ax.set_title(f"{name} of {len(labels):,} test digits")
        ax.set_xlabel("code 1 (arbitrary units)")
        ax.set_ylabel("code 2 (arbitrary units)")
    fig.colorbar(scatter, ax=axes, ticks=range(10), label="digit")
    fig.savefig(out_dir / "codes_2d.png", dpi=100, bbox_inches="tight")
    return fig


def plot_errors(errors, out_dir, plt):
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    positions = np.arange(len(CODE_SIZES))
    for offset, (name, colour) in ((-0.2, ("PCA", "tab:gray")),
                                   (0.2, ("autoencoder", "tab:blue"))):
        values = [errors[name][k] for k in CODE_SIZES]
        ax.bar(positions + offset, values, width=0.4, color=colour, label=name)
        for x, v in zip(positions + offset, values):
            ax.text(x, v, f"{v:.4f}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(positions, [f"code size {k}" for k in CODE_SIZES])
    ax.set_ylabel("test reconstruction error (MSE per pixel, pixels in [0, 1])")
    ax.set_title("Reconstruction error: linear (PCA) vs non-linear (autoencoder) codes")
    ax.legend()
    fig.savefig(out_dir / "reconstruction_error.png", dpi=100, bbox_inches="tight")
    return fig


def plot_reconstructions(rows, out_dir, plt, name, title):
    """``rows``: list of (label, images (n, 784)); one row of digits per label."""
    n = len(rows[0][1])
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n, 1.45 * len(rows)),
                             constrained_layout=True)
    for r, (label, images) in enumerate(rows):
        for c in range(n):
            axes[r, c].imshow(images[c].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.savefig(out_dir / name, dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="autoencoders vs PCA on MNIST")
    parser.add_argument("--quick", action="store_true", help="2,000 digits, few epochs (tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/19_autoencoder_vs_pca"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QUICK if args.quick else FULL
    plt = pyplot()
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = load_digits(settings["train_images"],
                                                   settings["test_images"], args.seed)
    print(f"{len(x_train):,} training and {len(x_test):,} test digits")

    pca = PCA(x_train)
    check = check_pca_against_scikit_learn(x_train, pca)
    if check is not None:
        print(f"PCA by gn.linalg.eigh vs scikit-learn: directions differ by at most "
              f"{check['direction']:.1e}, variances by {check['variance']:.1e} (relative)")
    kept = np.cumsum(pca.explained_variance) / pca.explained_variance.sum()
    print("PCA keeps " + ", ".join(f"{100 * kept[k - 1]:.1f}% of the variance with {k}"
                                   for k in CODE_SIZES) + " components")

    errors = {"PCA": {}, "autoencoder": {}}
    encoders, shown = {}, {}
    for k in CODE_SIZES:
        gn.manual_seed(args.seed)
        encoder, decoder = mlp_autoencoder(k)
        model = train_autoencoder(encoder, decoder, x_train, settings["ae_epochs"],
                                  settings["batch_size"], args.seed)
        encoders[k] = encoder
        shown[f"autoencoder, k={k}"] = apply(model, x_test[:10])
        shown[f"PCA, k={k}"] = pca.decode(pca.encode(x_test[:10], k))
        errors["autoencoder"][k] = mse(apply(model, x_test), x_test)
        errors["PCA"][k] = mse(pca.decode(pca.encode(x_test, k)), x_test)
        winner = "autoencoder" if errors["autoencoder"][k] < errors["PCA"][k] else "PCA"
        print(f"  ({time.perf_counter() - start:.0f} s)")
        print(f"code size {k:2d}: test MSE per pixel PCA {errors['PCA'][k]:.4f}, "
              f"autoencoder {errors['autoencoder'][k]:.4f} ({winner} better)")

    # The encoder half alone, frozen: its codes are fixed features for a new classifier.
    classifier_k = 8
    frozen = encoders[classifier_k].requires_grad_(False)
    accuracy_ae = train_code_classifier(apply(frozen, x_train), y_train, apply(frozen, x_test),
                                        y_test, settings["classifier_epochs"], args.seed)
    accuracy_pca = train_code_classifier(
        pca.encode(x_train, classifier_k).astype(np.float32), y_train,
        pca.encode(x_test, classifier_k), y_test, settings["classifier_epochs"], args.seed)
    print(f"classifier {classifier_k}-64-10 on frozen {classifier_k}-D codes: test accuracy "
          f"{accuracy_ae:.4f} on the encoder's, {accuracy_pca:.4f} on PCA's")

    # Convolutional autoencoder, then the same architecture trained to remove noise.
    images = lambda x: x.reshape(-1, 1, 28, 28)  # noqa: E731 (flat rows -> image batches)
    noisy_test = np.clip(x_test + NOISE_STD * np.random.default_rng(args.seed + 1)
                         .standard_normal(x_test.shape).astype(np.float32), 0, 1)
    gn.manual_seed(args.seed)
    conv_images = images(x_train[:settings["conv_images"]])
    # Binary cross-entropy, the usual loss for pixels in [0, 1]: with the mean squared error
    # the denoiser first learns the all-white image (most pixels are 0), its sigmoid output
    # saturates and the gradient vanishes; the cross-entropy's gradient does not.
    bce = nn.functional.binary_cross_entropy
    conv = train_autoencoder(*conv_autoencoder(), conv_images, settings["conv_epochs"],
                             settings["batch_size"], args.seed, loss_fn=bce)
    gn.manual_seed(args.seed)
    denoiser = train_autoencoder(*conv_autoencoder(), conv_images, settings["conv_epochs"],
                                 settings["batch_size"], args.seed, noise_std=NOISE_STD,
                                 loss_fn=bce)
    conv_error = mse(apply(conv, images(x_test)).reshape(x_test.shape), x_test)
    noisy_error = mse(noisy_test, x_test)
    plain_on_noisy = apply(conv, images(noisy_test)).reshape(x_test.shape)
    denoised = apply(denoiser, images(noisy_test)).reshape(x_test.shape)
    denoised_error = mse(denoised, x_test)
    print(f"  ({time.perf_counter() - start:.0f} s)")
    print(f"convolutional autoencoder (code 32@7x7): test MSE {conv_error:.4f}")
    print(f"noise std {NOISE_STD}: noisy digits are {noisy_error:.4f} from the clean ones; "
          f"the plain convolutional autoencoder brings them to {mse(plain_on_noisy, x_test):.4f},"
          f" the denoising one to {denoised_error:.4f}")
    seconds = time.perf_counter() - start

    ae_codes = apply(encoders[2], x_test)
    plot_codes(ae_codes, pca.encode(x_test, 2), y_test, args.out, plt)
    plot_errors(errors, args.out, plt)
    plot_reconstructions([("original", x_test[:10])]
                         + [(name, shown[name]) for k in CODE_SIZES
                            for name in (f"PCA, k={k}", f"autoencoder, k={k}")],
                         args.out, plt, "reconstructions.png",
                         "Test digits rebuilt from codes of k numbers: PCA vs MLP autoencoder")
    conv_rows = [("original", x_test[:10]),
                 ("conv AE", apply(conv, images(x_test[:10])).reshape(10, -1)),
                 (f"noisy (std {NOISE_STD})", noisy_test[:10]),
                 ("conv AE on noisy", plain_on_noisy[:10]),
                 ("denoising AE", denoised[:10])]
    plot_reconstructions(conv_rows, args.out, plt, "conv_denoising.png",
                         "Convolutional autoencoder and its denoising variant (test digits)")
    print(f"figures: codes_2d.png, reconstruction_error.png, reconstructions.png, "
          f"conv_denoising.png in {args.out} ({seconds:.0f} s)")
    return {"errors": errors, "pca_check": check, "pca_variance_kept": {k: float(kept[k - 1])
                                                                         for k in CODE_SIZES},
            "classifier_accuracy_autoencoder": accuracy_ae,
            "classifier_accuracy_pca": accuracy_pca, "conv_error": conv_error,
            "noisy_error": noisy_error, "denoised_error": denoised_error,
            "plain_conv_on_noisy_error": mse(plain_on_noisy, x_test), "seconds": seconds}


if __name__ == "__main__":
    main()
