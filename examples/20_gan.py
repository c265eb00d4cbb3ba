"""
GAN
===

A generative adversarial network (Goodfellow et al. 2014) pits a generator G, which turns random
numbers into samples, against a discriminator D, which tells real samples from generated ones;
each learns from the other's mistakes.

**The novice painter and the novice critic.** This part follows Morvan Zhou's PyTorch tutorial
(``406_GAN.py``): a famous "artist" paints curves y = a x^2 + (a - 1) at 15 points x in
[-1, 1], with a drawn uniformly in [1, 2], so every painting lies between the lower bound x^2
and the upper bound 2 x^2 + 1. The novice painter G (5 random "ideas" -> 128 ReLU -> 15
points) never sees a painting; the novice critic D (15 -> 128 ReLU -> 1 sigmoid) sees both.
Same losses as the tutorial: D minimises -mean(log D(real) + log(1 - D(G(z)))), G minimises
mean(log(1 - D(G(z)))); Adam, batch 64. The example prints the fraction of generated points
that fall inside the artist's band and the range of a fitted to the generated curves (least
squares of y = a x^2 + a - 1), and draws generated vs real curves and both losses; the critic's
probability for real paintings settles near 0.5 when it can no longer tell.

**DCGAN on MNIST** (Radford et al. 2016, scaled down for a CPU): G maps 32 random numbers
through a linear layer to 64@7x7, then two ``ConvTranspose2d`` (stride 2) with batch norm and
ReLU to a 28x28 ``tanh`` image; D is two strided convolutions with LeakyReLU(0.2) and batch
norm, then a linear logit; Adam (lr 2e-4, betas 0.5, 0.999), binary cross-entropy on logits.
A grid of generated digits is saved, and a LeNet-5 judges them: the fraction of generated
digits it classifies with confidence > 0.9, and which digits it sees. Pass ``--classifier
PATH`` to use the weights example 11 saves
(``runs/11_lenet_mnist_inside/lenet5_mnist.safetensors``); without it, the example trains a
LeNet-5 itself first.

Full mode (painter: 3,000 steps; DCGAN: 4 epochs over 16,000 training digits, 1,000 steps;
LeNet-5 trained here for 2 epochs on 12,000 digits; ``nice -n 10`` on a 2-core machine shared
with other jobs, load average about 30: 18 min 23 s of wall time, 135 s of CPU time): 95.5% of
the generated painting points lie inside the artist's range, the fitted a spans 1.08 to 2.02
(5th to 95th percentile) and the critic gives real paintings probability 0.50; LeNet-5
classifies 25.7% of 1,000 generated digits with confidence > 0.9 (90.0% of real training
digits), the confident ones mostly 0s and 3s. The digits are recognisable by eye in the grid,
but a CPU-sized DCGAN after 1,000 steps still draws many malformed ones; more epochs help.

Run: python examples/20_gan.py [--quick] [--out DIR] [--seed N] [--classifier PATH]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.nn as nn
from ganglion.data import MNIST, DataLoader, TensorDataset
from ganglion.models import lenet5
from ganglion.viz import pyplot

FULL = dict(painter_steps=3000, gan_images=16000, gan_epochs=4, lenet_images=12000,
            lenet_epochs=2)
QUICK = dict(painter_steps=600, gan_images=640, gan_epochs=1, lenet_images=2000,
             lenet_epochs=1)
IDEAS, PAINT_POINTS = 5, np.linspace(-1, 1, 15, dtype=np.float32)
PAINTER_BATCH, PAINTER_LR = 64, 2e-4
LATENT, GAN_BATCH = 32, 64
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


# --- Part 1: the novice painter and the novice critic -------------------------------------

def artist_works(rng, batch=PAINTER_BATCH):
    """Real paintings: a x^2 + (a - 1) at the 15 paint points, a uniform in [1, 2]."""
    a = rng.uniform(1, 2, size=(batch, 1)).astype(np.float32)
    return a * PAINT_POINTS ** 2 + (a - 1)


def inside_band(curves, tolerance=0.05):
    """Fraction of points between the lowest (a = 1) and highest (a = 2) artist curve."""
    lower, upper = PAINT_POINTS ** 2, 2 * PAINT_POINTS ** 2 + 1
    return float(np.mean((curves >= lower - tolerance) & (curves <= upper + tolerance)))


def fitted_a(curves):
    """Least-squares a of y = a (x^2 + 1) - 1 for each curve."""
    basis = PAINT_POINTS ** 2 + 1
    return (curves + 1) @ basis / (basis @ basis)


def train_painter_and_critic(steps, seed):
    gn.manual_seed(seed)
    rng = np.random.default_rng(seed)
    painter = nn.Sequential(nn.Linear(IDEAS, 128), nn.ReLU(), nn.Linear(128, len(PAINT_POINTS)))
    critic = nn.Sequential(nn.Linear(len(PAINT_POINTS), 128), nn.ReLU(), nn.Linear(128, 1),
                           nn.Sigmoid())
    painter_optimizer = gn.optim.Adam(painter.parameters(), lr=PAINTER_LR)
    critic_optimizer = gn.optim.Adam(critic.parameters(), lr=PAINTER_LR)
    history = {"critic_loss": [], "painter_loss": [], "critic_on_real": []}
    for _ in range(steps):
        real = gn.tensor(artist_works(rng))
        fake = painter(gn.randn(PAINTER_BATCH, IDEAS))
        # The critic: real paintings -> 1, the painter's -> 0 (fake detached: G is not moved).
        prob_real, prob_fake = critic(real), critic(fake.detach())
        critic_loss = -gn.mean(gn.log(prob_real) + gn.log(1.0 - prob_fake))
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()
        # The painter: make the (just updated) critic call its paintings real.
        painter_loss = gn.mean(gn.log(1.0 - critic(fake)))
        painter_optimizer.zero_grad()
        painter_loss.backward()
        painter_optimizer.step()
        history["critic_loss"].append(critic_loss.item())
        history["painter_loss"].append(painter_loss.item())
        history["critic_on_real"].append(prob_real.mean().item())
    with gn.no_grad():
        generated = painter(gn.randn(1000, IDEAS)).numpy()
    return generated, {k: np.array(v) for k, v in history.items()}


def plot_painter(generated, history, out_dir, plt):
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    left.fill_between(PAINT_POINTS, PAINT_POINTS ** 2, 2 * PAINT_POINTS ** 2 + 1,
                      color="tab:orange", alpha=0.25, label="range of the artist's curves")
    left.plot(PAINT_POINTS, 2 * PAINT_POINTS ** 2 + 1, color="tab:orange", lw=2,
              label="upper bound 2x^2 + 1 (a = 2)")
    left.plot(PAINT_POINTS, PAINT_POINTS ** 2, color="tab:brown", lw=2,
              label="lower bound x^2 (a = 1)")
    for i, curve in enumerate(generated[:8]):
        left.plot(PAINT_POINTS, curve, color="tab:blue", lw=1, marker=".",
                  label="generated paintings" if i == 0 else None)
    left.set_xlabel("x (paint point)")
    left.set_ylabel("y (paint height)")
    left.set_title("The painter's curves vs the artist's range")
    left.legend(fontsize=8, loc="upper center")
    window = 50
    smooth = lambda v: np.convolve(v, np.ones(window) / window, mode="valid")  # noqa: E731
    steps = np.arange(window, len(history["critic_loss"]) + 1)
    right.plot(steps, smooth(history["critic_loss"]), label="critic (D) loss")
    right.plot(steps, smooth(history["painter_loss"]), label="painter (G) loss")
    right.plot(steps, smooth(history["critic_on_real"]), label="D's probability for real")
    # At equilibrium D outputs 1/2 everywhere: its loss is -2 log(1/2) = log 4, G's log(1/2).
    right.axhline(np.log(4), color="tab:blue", ls=":", label="D loss at equilibrium, log 4")
    right.axhline(np.log(0.5), color="tab:orange", ls=":",
                  label="G loss at equilibrium, log 1/2")
    right.axhline(0.5, color="gray", ls="--", lw=0.8, label="probability 0.5")
    right.set_xlabel("training step")
    right.set_ylabel(f"loss (nats) / probability, mean over {window} steps")
    right.set_title("Both losses over training")
    right.legend(fontsize=8)
    fig.savefig(out_dir / "painter_and_critic.png", dpi=100, bbox_inches="tight")
    return fig


# --- Part 2: DCGAN on MNIST ------------------------------------------------------------------

def generator():
    return nn.Sequential(
        nn.Linear(LATENT, 64 * 7 * 7), nn.BatchNorm1d(64 * 7 * 7), nn.ReLU(),
        nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1), nn.Tanh())


def discriminator():
    return nn.Sequential(
        nn.Conv2d(1, 32, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1))


def train_dcgan(images, epochs, seed):
    """Alternating Adam steps: D on a real and a generated batch, then G to fool D (the
    non-saturating loss: G maximises log D(G(z)))."""
    gn.manual_seed(seed)
    g, d = generator(), discriminator()
    g_optimizer = gn.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_optimizer = gn.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loss_fn = nn.BCEWithLogitsLoss()
    loader = DataLoader(TensorDataset(gn.tensor(images)), batch_size=GAN_BATCH, shuffle=True,
                        drop_last=True, seed=seed)
    ones, zeros = gn.ones(GAN_BATCH, 1), gn.zeros(GAN_BATCH, 1)
    losses = {"D": [], "G": []}
    for _ in range(epochs):
        for (real,) in loader:
            fake = g(gn.randn(GAN_BATCH, LATENT))
            d_loss = loss_fn(d(real), ones) + loss_fn(d(fake.detach()), zeros)
            d_optimizer.zero_grad()
            d_loss.backward()
            d_optimizer.step()
            g_loss = loss_fn(d(fake), ones)
            g_optimizer.zero_grad()
            g_loss.backward()
            g_optimizer.step()
            losses["D"].append(d_loss.item())
            losses["G"].append(g_loss.item())
    g.eval()
    return g, losses


def to_lenet_input(images01):
    return gn.tensor(((images01 - MNIST_MEAN) / MNIST_STD).astype(np.float32))


def get_classifier(path, train_set, settings, seed):
    """LeNet-5 from ``path`` (example 11's weights) or trained here for a few epochs; returns
    the model and its accuracy on 2,000 test digits."""
    model = lenet5()
    if path is not None:
        model.load_state_dict(gn.load(path))
        print(f"LeNet-5 weights from {path}")
    else:
        gn.manual_seed(seed)
        rows = np.random.default_rng(seed).permutation(len(train_set))[:settings["lenet_images"]]
        x = to_lenet_input(train_set.data[rows][:, None] / 255.0)
        loader = DataLoader(TensorDataset(x, gn.tensor(train_set.targets[rows])), batch_size=64,
                            shuffle=True, seed=seed)
        optimizer = gn.optim.Adam(model.parameters(), lr=2e-3)
        for _ in range(settings["lenet_epochs"]):
            for xb, yb in loader:
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(xb), yb).backward()
                optimizer.step()
    model.eval()
    return model


def judge(model, images01):
    with gn.no_grad():
        probabilities = gn.softmax(model(to_lenet_input(images01)), dim=1).numpy()
    return probabilities.max(1), probabilities.argmax(1)


def plot_digits(images01, confidence, predicted, losses, out_dir, plt):
    fig, axes = plt.subplots(8, 8, figsize=(8, 9), constrained_layout=True)
    for ax, image, c, p in zip(axes.flat, images01, confidence, predicted):
        ax.imshow(image[0], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{p} ({c:.2f})", fontsize=8, color="tab:green" if c > 0.9 else "tab:red")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("DCGAN digits; above each: LeNet-5's digit (confidence), green if > 0.9")
    fig.savefig(out_dir / "dcgan_digits.png", dpi=100, bbox_inches="tight")
    curve, ax = plt.subplots(figsize=(8, 4), constrained_layout=True)
    for name, values in losses.items():
        ax.plot(values, lw=0.8, label=f"{name} loss")
    ax.set_xlabel("training step (batch of 64)")
    ax.set_ylabel("binary cross-entropy (nats)")
    ax.set_title("DCGAN losses on MNIST")
    ax.legend()
    curve.savefig(out_dir / "dcgan_losses.png", dpi=100, bbox_inches="tight")
    return fig, curve


def main(argv=None):
    parser = argparse.ArgumentParser(description="1-D GAN and a DCGAN on MNIST")
    parser.add_argument("--quick", action="store_true", help="few steps (for the tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/20_gan"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--classifier", type=Path, default=None,
                        help="LeNet-5 weights saved by example 11 (else one is trained here)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QUICK if args.quick else FULL
    plt = pyplot()
    start = time.perf_counter()

    generated, history = train_painter_and_critic(settings["painter_steps"], args.seed)
    band = inside_band(generated)
    a = fitted_a(generated)
    print(f"painter after {settings['painter_steps']} steps: {100 * band:.1f}% of generated "
          f"points inside the artist's range; fitted a from {np.percentile(a, 5):.2f} to "
          f"{np.percentile(a, 95):.2f} (5th-95th percentile; the artist's a is in [1, 2]); "
          f"critic's probability for real paintings {history['critic_on_real'][-100:].mean():.2f}")
    plot_painter(generated, history, args.out, plt)

    try:
        train_set = MNIST(train=True)
    except FileNotFoundError as error:
        sys.exit(f"20_gan needs MNIST for its DCGAN: set GANGLION_DATA to a folder holding "
                 f"mnist/ ({error})")
    rows = np.random.default_rng(args.seed).permutation(len(train_set))[:settings["gan_images"]]
    images = (train_set.data[rows][:, None].astype(np.float32) / 127.5 - 1.0)  # in [-1, 1]
    g, losses = train_dcgan(images, settings["gan_epochs"], args.seed)
    with gn.no_grad():
        samples = (g(gn.randn(1000, LATENT)).numpy() + 1) / 2
    lenet = get_classifier(args.classifier, train_set, settings, args.seed)
    confidence, predicted = judge(lenet, samples)
    confident = float(np.mean(confidence > 0.9))
    counts = np.bincount(predicted[confidence > 0.9], minlength=10)
    print(f"DCGAN: {settings['gan_epochs']} epoch(s) over {len(images):,} digits; LeNet-5 "
          f"classifies {100 * confident:.1f}% of 1,000 generated digits with confidence > 0.9 "
          f"(confident ones per digit 0-9: {counts.tolist()})")
    real_confidence, _ = judge(lenet, train_set.data[rows[:1000]][:, None] / 255.0)
    print(f"  for comparison, real training digits: "
          f"{100 * np.mean(real_confidence > 0.9):.1f}% with confidence > 0.9")
    plot_digits(samples[:64], confidence, predicted, losses, args.out, plt)
    seconds = time.perf_counter() - start
    print(f"figures: painter_and_critic.png, dcgan_digits.png, dcgan_losses.png in {args.out} "
          f"({seconds:.0f} s)")
    return {"painter_inside_band": band, "painter_a_percentiles": np.percentile(a, [5, 50, 95])
            .tolist(), "critic_on_real": float(history["critic_on_real"][-100:].mean()),
            "dcgan_confident_fraction": confident, "dcgan_confident_counts": counts.tolist(),
            "real_confident_fraction": float(np.mean(real_confidence > 0.9)),
            "seconds": seconds}


if __name__ == "__main__":
    main()
