"""
Recognising a digit on a panel
==============================

A 5x7 panel of lamps shows a digit; its 35 pixels (1 lit, 0 dark) are the inputs of a network.
First a single sigmoid neuron (``ganglion.models.logistic_regression(35, 1)``) learns to output 1
for "4" and 0 for every other digit. Then a network with one hidden layer of 20 ReLU units
(``ganglion.models.mlp(35, hidden=(20,), num_classes=10)``, softmax outputs) learns all ten
digits. Both train on panels with 0 to 2 pixels flipped at random (so they learn the digits'
shapes rather than exact pixel patterns), and are tested on panels with exactly k pixels flipped,
for k = 0 to 17: accuracy falls as k grows, and with half of the 35 pixels flipped a panel is
noise (both networks fall to chance: 0.1 for ten digits, 0.5 for "4 or not").

It prints the detector's outputs on the ten clean digits (1.00 for "4", 0.00 for the others),
and a table of test accuracy against k for the ten-digit network and for the "4" detector (half
of its test panels show a 4). Full run (1,500 steps, 2,000 test panels per k, 4 s of CPU time):
ten-digit accuracy 1.000 at k = 0, 0.998 at 4, 0.901 at 8, 0.438 at 12, 0.089 at 16; "4"
detector 1.000, 1.000, 1.000, 0.547, 0.495. Figures: ``panels.png`` (clean panels and panels
with 4 and 9 pixels flipped, with the networks' outputs) and ``accuracy_vs_noise.png``. Quick
mode: 200 steps, 200 test panels per k.

Run: python examples/06_digit_panel.py [--quick] [--out DIR] [--seed N]
"""
import argparse
from pathlib import Path

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from ganglion.models import logistic_regression, mlp
from ganglion.viz import pyplot

ROWS, COLUMNS = 7, 5
#: A 5x7 font: each digit as seven rows of five pixels, '#' lit.
FONT = {
    0: [".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."],
    1: ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."],
    2: [".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"],
    3: ["#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."],
    4: ["...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."],
    5: ["#####", "#....", "####.", "....#", "....#", "#...#", ".###."],
    6: ["..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."],
    7: ["#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."],
    8: [".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."],
    9: [".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."],
}
FLIPS = list(range(18))  # up to half the pixels
TRAIN_MAX_FLIPS = 2


def clean_panels():
    """The ten digits as a (10, 35) float tensor of 0/1 pixels, row by row."""
    return gn.tensor([[1.0 if pixel == "#" else 0.0 for row in FONT[d] for pixel in row]
                      for d in range(10)])


def flip_pixels(panels, flips_per_panel):
    """Each panel with ``flips_per_panel[i]`` distinct pixels chosen at random and inverted."""
    n, pixels = panels.shape
    # The first k of a random permutation of the 35 positions are k distinct positions.
    ranks = gn.rand(n, pixels).argsort(dim=1).argsort(dim=1)
    flipped = (ranks < flips_per_panel.reshape(n, 1)).to(panels.dtype)
    return (panels - flipped).abs()


def noisy_batch(digits, max_flips=None, flips=None):
    """Panels of the given digits, each with ``flips`` pixels flipped, or with a random number
    from 0 to ``max_flips``."""
    if flips is None:
        flips_per_panel = gn.randint(0, max_flips + 1, (len(digits),))
    else:
        flips_per_panel = gn.full((len(digits),), flips, dtype=gn.int64)
    return flip_pixels(clean_panels()[digits], flips_per_panel)


def train_four_detector(steps, batch_size=64):
    """One sigmoid neuron: target 1 for "4", 0 for the others; half of each batch shows a 4."""
    detector = logistic_regression(ROWS * COLUMNS, 1)
    optimizer = gn.optim.Adam(detector.parameters(), lr=0.05)
    for _ in range(steps):
        digits = balanced_four_digits(batch_size)
        targets = (digits == 4).to(gn.float32).reshape(-1, 1)
        loss = F.binary_cross_entropy_with_logits(detector(noisy_batch(digits, TRAIN_MAX_FLIPS)),
                                                  targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return detector


def balanced_four_digits(n):
    """n digits, half of them 4 and half drawn from the other nine."""
    others = gn.randint(0, 9, (n - n // 2,))
    others = others + (others >= 4).to(others.dtype)  # skip 4
    return gn.cat([gn.full((n // 2,), 4, dtype=others.dtype), others])


def train_digit_network(steps, batch_size=64):
    """35-20-10 ReLU network with softmax outputs (cross-entropy) for all ten digits."""
    network = mlp(ROWS * COLUMNS, hidden=(20,), num_classes=10)
    optimizer = gn.optim.Adam(network.parameters(), lr=0.01)
    for _ in range(steps):
        digits = gn.randint(0, 10, (batch_size,))
        loss = F.cross_entropy(network(noisy_batch(digits, TRAIN_MAX_FLIPS)), digits)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return network


def accuracy_against_flips(detector, network, panels_per_k):
    """Test accuracy of both networks on fresh panels with exactly k pixels flipped."""
    digit_accuracy, detector_accuracy = [], []
    with gn.no_grad():
        for k in FLIPS:
            digits = gn.randint(0, 10, (panels_per_k,))
            predicted = network(noisy_batch(digits, flips=k)).argmax(dim=1)
            digit_accuracy.append((predicted == digits).to(gn.float32).mean().item())
            digits = balanced_four_digits(panels_per_k)
            says_four = detector(noisy_batch(digits, flips=k)).reshape(-1) > 0
            detector_accuracy.append((says_four == (digits == 4)).to(gn.float32).mean().item())
    return digit_accuracy, detector_accuracy


def show_panel(ax, panel, title, wrong):
    ax.imshow(panel.reshape(ROWS, COLUMNS).numpy(), cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9, color="red" if wrong else "black")


def plot_panels(detector, network, flips_shown, out_dir):
    plt = pyplot()
    fig, axes = plt.subplots(1 + len(flips_shown), 10, figsize=(14, 2.6 * (1 + len(flips_shown))),
                             constrained_layout=True)
    digits = gn.arange(10)
    rows = [clean_panels()] + [noisy_batch(digits, flips=k) for k in flips_shown]
    with gn.no_grad():
        for row, panels in enumerate(rows):
            p_four = gn.sigmoid(detector(panels)).reshape(-1)
            probabilities = F.softmax(network(panels), dim=1)
            confidence, predicted = probabilities.max(dim=1)
            for d in range(10):
                wrong = predicted[d].item() != d or (p_four[d].item() > 0.5) != (d == 4)
                show_panel(axes[row, d], panels[d],
                           f"P(4) = {p_four[d].item():.2f}\nreads {predicted[d].item()} "
                           f"({confidence[d].item():.0%})", wrong)
            axes[row, 0].set_ylabel(f"{flips_shown[row - 1]} pixels flipped" if row
                                    else "clean panels", fontsize=10)
    fig.suptitle("5x7 panels (black: lit pixel), the '4' detector's output P(4) and the "
                 "ten-digit network's answer with its softmax confidence (red: a mistake)")
    fig.savefig(out_dir / "panels.png", dpi=100, bbox_inches="tight")
    return fig


def plot_accuracy(digit_accuracy, detector_accuracy, out_dir):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.8), constrained_layout=True)
    ax.plot(FLIPS, digit_accuracy, "o-", lw=2, label="ten-digit network (35-20-10)")
    ax.plot(FLIPS, detector_accuracy, "s-", lw=2, label="'4' detector (one sigmoid neuron)")
    ax.axhline(0.1, color="tab:blue", ls=":", label="chance, ten digits (0.1)")
    ax.axhline(0.5, color="tab:orange", ls=":", label="chance, '4' or not (0.5)")
    ax.axvspan(0, TRAIN_MAX_FLIPS, color="gray", alpha=0.15,
               label=f"flips seen in training (0-{TRAIN_MAX_FLIPS})")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(f"pixels flipped at random (of {ROWS * COLUMNS})")
    ax.set_ylabel("test accuracy (fraction correct)")
    ax.set_title("Accuracy on noisy panels falls as more pixels are flipped")
    ax.legend(fontsize=9, loc="lower left")
    ax.grid(alpha=0.3)
    fig.savefig(out_dir / "accuracy_vs_noise.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Recognising digits on a 5x7 panel")
    parser.add_argument("--quick", action="store_true",
                        help="200 steps and 200 test panels per noise level (for tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/06_digit_panel"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    steps, panels_per_k = (200, 200) if args.quick else (1500, 2000)
    gn.manual_seed(args.seed)

    detector = train_four_detector(steps)
    with gn.no_grad():
        clean_p_four = gn.sigmoid(detector(clean_panels())).reshape(-1).tolist()
    print("'4' detector (one sigmoid neuron) on the clean digits 0-9: "
          + " ".join(f"{p:.2f}" for p in clean_p_four))
    network = train_digit_network(steps)
    with gn.no_grad():
        clean_predictions = network(clean_panels()).argmax(dim=1).tolist()
    print(f"ten-digit network on the clean digits 0-9 reads: {clean_predictions}")

    digit_accuracy, detector_accuracy = accuracy_against_flips(detector, network, panels_per_k)
    print(f"test accuracy on {panels_per_k} panels per number of flipped pixels k:")
    print("   k  ten digits  '4' detector")
    for k, a, b in zip(FLIPS, digit_accuracy, detector_accuracy):
        print(f"  {k:2d}     {a:.3f}       {b:.3f}")
    plot_panels(detector, network, (4, 9), args.out)
    plot_accuracy(digit_accuracy, detector_accuracy, args.out)
    print(f"figures: {args.out / 'panels.png'}, {args.out / 'accuracy_vs_noise.png'}")
    return {"clean_p_four": clean_p_four, "clean_predictions": clean_predictions,
            "flips": FLIPS, "digit_accuracy": digit_accuracy,
            "detector_accuracy": detector_accuracy}


if __name__ == "__main__":
    main()
