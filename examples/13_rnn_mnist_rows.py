"""
RNN, many to one: reading MNIST row by row
==========================================

A recurrent network classifies a handwritten digit by reading its 28x28 image one row at a time:
28 steps, each a 28-pixel input vector, and only the state after the last row goes to a linear
layer that gives the ten class scores (the "many to one" pattern). The same loop is trained twice,
with a plain tanh RNN (``nn.RNN``) and with an LSTM (``nn.LSTM``), both with 128 hidden units,
``batch_first=True``, Adam and cross-entropy, on the real MNIST training set; accuracy is
measured on the 10,000 test images. The plain RNN has to carry what it saw in the first rows
through 27 multiplications by its recurrent matrix, which makes it slower and less stable to
train; the LSTM's additive cell state does not have that problem (example 15 measures why).

It prints each network's test accuracy and parameter count (RNN 21,514, LSTM 82,186). Full mode:
batch 128, learning rate 2e-3, the RNN 2 epochs and the LSTM 3 epochs over the 60,000 training
images, tested on all 10,000 test images: RNN 91.06%, LSTM 97.61% (7.5 min of CPU time, most
of it the RNN's, whose time loop is not a fused op as the LSTM's is; 81 min of wall time on a
shared machine running many other jobs). Quick mode (3,000 training images,
one epoch, 1,000 test images): RNN 39.2%, LSTM 31.3%. Figure (``rnn_mnist_rows.png``): the
training loss and the test accuracy of both networks against the number of images seen, and a
few test digits with the LSTM's prediction.

Run: python examples/13_rnn_mnist_rows.py [--quick] [--out DIR] [--seed N]
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

HIDDEN = 128
BATCH_SIZE = 128
LEARNING_RATE = 2e-3
ROWS, PIXELS_PER_ROW = 28, 28


def load_mnist():
    """MNIST's train and test sets from $GANGLION_DATA, or exit saying what is missing."""
    try:
        return MNIST(train=True), MNIST(train=False)
    except FileNotFoundError as error:
        sys.exit(f"13_rnn_mnist_rows needs MNIST: set GANGLION_DATA to a folder holding "
                 f"mnist/ ({error})")


def images_as_row_sequences(images):
    """uint8 (N, 28, 28) images -> float32 (N, 28 steps, 28 features) in [0, 1]: with
    batch_first=True, row r of the image is the input at time step r."""
    return gn.from_numpy(images.astype(np.float32) / 255.0)


class RowReader(nn.Module):
    """A recurrent layer (``nn.RNN`` or ``nn.LSTM``) reading the rows, then a linear layer on
    the output of the last step."""

    def __init__(self, recurrent_class):
        super().__init__()
        self.recurrent = recurrent_class(PIXELS_PER_ROW, HIDDEN, batch_first=True)
        self.classify = nn.Linear(HIDDEN, 10)

    def forward(self, rows):
        outputs, _ = self.recurrent(rows)      # (N, 28, HIDDEN): the state after every row
        return self.classify(outputs[:, -1])   # many to one: only the last state decides


def test_accuracy(model, images, labels, batch_size=1000):
    model.eval()
    correct = 0
    with gn.no_grad():
        for start in range(0, len(images), batch_size):
            scores = model(images[start:start + batch_size])
            correct += int((scores.argmax(1).numpy() == labels[start:start + batch_size]).sum())
    model.train()
    return correct / len(images)


def train(model, train_images, train_labels, test_images, test_labels, epochs, evaluations, seed):
    """Adam on cross-entropy; the test accuracy is measured ``evaluations`` times per epoch.
    Returns the per-step losses and the (images seen, test accuracy) points."""
    loader = DataLoader(TensorDataset(train_images, gn.from_numpy(train_labels)),
                        batch_size=BATCH_SIZE, shuffle=True, seed=seed)
    optimizer = gn.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    steps_per_epoch = len(loader)
    evaluate_at = set(np.linspace(0, steps_per_epoch, evaluations + 1, dtype=int)[1:] - 1)
    losses, accuracy_curve, seen = [], [], 0
    for _ in range(epochs):
        for step, (rows, labels) in enumerate(loader):
            loss = nn.functional.cross_entropy(model(rows), labels)
            optimizer.zero_grad()
            loss.backward()
            # Gradient clipping keeps the occasional large RNN gradient from undoing training
            # (example 15 shows why plain RNNs need it).
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            losses.append(loss.item())
            seen += len(labels)
            if step in evaluate_at:
                accuracy_curve.append((seen, test_accuracy(model, test_images, test_labels)))
    return losses, accuracy_curve


def plot_training(runs, test_images, test_labels, lstm, out_dir):
    plt = pyplot()
    fig = plt.figure(figsize=(15, 4.8), constrained_layout=True)
    grid = fig.add_gridspec(2, 6, width_ratios=[3, 3, 1, 1, 1, 1])
    loss_ax, accuracy_ax = fig.add_subplot(grid[:, 0]), fig.add_subplot(grid[:, 1])
    for (name, run), colour in zip(runs.items(), ("tab:orange", "tab:blue")):
        seen = BATCH_SIZE * np.arange(1, len(run["losses"]) + 1) / 1000
        window = 20
        smoothed = np.convolve(run["losses"], np.ones(window) / window, mode="valid")
        loss_ax.plot(seen, run["losses"], color=colour, alpha=0.25, lw=0.8)
        loss_ax.plot(seen[window - 1:], smoothed, color=colour, lw=2,
                     label=f"{name} (mean of {window} batches)")
        points = np.array(run["accuracy_curve"])
        accuracy_ax.plot(points[:, 0] / 1000, 100 * points[:, 1], "o-", color=colour,
                         label=f"{name}: {100 * run['accuracy']:.2f}% at the end")
    loss_ax.set_yscale("log")
    loss_ax.set_title("Training loss")
    loss_ax.set_xlabel("training images seen (thousands)")
    loss_ax.set_ylabel("cross-entropy (nats, log scale)")
    loss_ax.legend()
    accuracy_ax.set_title("Test accuracy while training")
    accuracy_ax.set_xlabel("training images seen (thousands)")
    accuracy_ax.set_ylabel("test accuracy (%)")
    accuracy_ax.grid(alpha=0.3)
    accuracy_ax.legend(loc="lower right")
    with gn.no_grad():
        lstm.eval()
        predictions = lstm(test_images[:8]).argmax(1).numpy()
    for i in range(8):
        ax = fig.add_subplot(grid[i // 4, 2 + i % 4])
        ax.imshow(test_images[i].numpy(), cmap="gray_r")
        ax.set_title(f"LSTM: {predictions[i]} (true {test_labels[i]})", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if i % 4 == 0:
            ax.set_ylabel("row = time step", fontsize=8)
    fig.suptitle("Classifying MNIST by reading one 28-pixel row per time step")
    fig.savefig(out_dir / "rnn_mnist_rows.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="RNN and LSTM reading MNIST row by row")
    parser.add_argument("--quick", action="store_true",
                        help="3,000 training images, one epoch (for tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/13_rnn_mnist_rows"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    train_set, test_set = load_mnist()
    rng = np.random.default_rng(args.seed)
    if args.quick:
        train_index = rng.choice(len(train_set), 3000, replace=False)
        test_index = np.arange(1000)
        epochs = {"RNN": 1, "LSTM": 1}
    else:
        train_index, test_index = np.arange(len(train_set)), np.arange(len(test_set))
        epochs = {"RNN": 2, "LSTM": 3}
    train_images = images_as_row_sequences(train_set.data[train_index])
    train_labels = train_set.targets[train_index].astype(np.int64)
    test_images = images_as_row_sequences(test_set.data[test_index])
    test_labels = test_set.targets[test_index].astype(np.int64)
    runs, results, models = {}, {}, {}
    for name, recurrent_class in (("RNN", nn.RNN), ("LSTM", nn.LSTM)):
        gn.manual_seed(args.seed)
        model = RowReader(recurrent_class)
        started = time.perf_counter()
        losses, accuracy_curve = train(model, train_images, train_labels, test_images,
                                       test_labels, epochs[name], 1 if args.quick else 4,
                                       args.seed)
        seconds = time.perf_counter() - started
        accuracy = accuracy_curve[-1][1]
        parameters = sum(p.numel() for p in model.parameters())
        print(f"{name} ({parameters:,} parameters), {epochs[name]} epoch(s) on "
              f"{len(train_labels):,} images in {seconds:.0f} s: test accuracy "
              f"{100 * accuracy:.2f}% on {len(test_labels):,} test images")
        runs[name] = {"losses": losses, "accuracy_curve": accuracy_curve, "accuracy": accuracy}
        results[f"{name.lower()}_accuracy"] = accuracy
        results[f"{name.lower()}_final_loss"] = float(np.mean(losses[-10:]))
        results[f"{name.lower()}_parameters"] = parameters
        models[name] = model
    plot_training(runs, test_images, test_labels, models["LSTM"], args.out)
    print(f"figure: {args.out / 'rnn_mnist_rows.png'}")
    return results


if __name__ == "__main__":
    main()
