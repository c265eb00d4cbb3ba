"""
The evolution of CNNs
=====================

From LeNet (1998) to MobileNetV2 (2018), convolutional networks grew deeper while the best of
them got cheaper. This example measures the landmark architectures with
``ganglion.models.compare`` (parameters and multiply-accumulates (MACs) of one forward pass at
each model's input size), prints them in one table and draws parameters against MACs
(``cnn_evolution.png``). Then it computes, from real ``nn.Conv2d`` layers, the three
factorizations that made the later networks cheap:

* two stacked 3x3 convolutions see the same 5x5 window as one 5x5 convolution (checked by the
  gradient of one output pixel with respect to the input) with 18 C^2 instead of 25 C^2
  weights: 28% fewer (VGG, Inception v2/v3);
* a 1x3 followed by a 3x1 convolution covers 3x3 with 6 C^2 instead of 9 C^2 weights: 33% fewer
  (Inception v3);
* a depthwise 3x3 convolution followed by a pointwise 1x1 (MobileNet) instead of a standard 3x3:
  9 C + C^2 instead of 9 C^2 weights, 1/C + 1/9 of the cost (88% fewer at C = 256);

and two training effects on MNIST, on the same small CNN and the same initial weights:

* ReLU against sigmoid hidden activations (SGD with momentum): the sigmoid network sits on a
  plateau near chance while the ReLU network is already learning (``relu_vs_sigmoid.png``);
* dropout against overfitting: an MLP (784-512-512-10) trained on only a few hundred digits
  learns them by heart (100% training accuracy, training loss towards zero) while its test
  loss, after its minimum, climbs; the same MLP with dropout (p = 0.5) after each hidden layer
  (``dropout_overfitting.png``: training and test curves of both).

Full mode (all eight models; the CNN trained on 6,000 digits for 3 epochs, the MLP on 600
digits for 60 epochs, both tested on 2,000): parameters / MACs LeNet-5 61.7 K / 0.42 M,
AlexNet 61.1 M / 0.71 G, VGG-16 138.4 M / 15.5 G, GoogLeNet 6.6 M / 1.51 G, ResNet-18
11.7 M / 1.82 G, ResNet-50 25.6 M / 4.10 G, Inception v3 23.8 M / 5.73 G (299x299),
MobileNetV2 3.5 M / 0.31 G. Factorizations at 64 channels: 102,400 -> 73,728 weights (28.0%
fewer), 36,864 -> 24,576 (33.3%), 36,864 -> 4,672 (87.3%; 88.5% at 256 channels), receptive
fields equal. ReLU CNN: mean training loss 0.64 in the first quarter of the steps, 0.21 in
the last, test accuracy 96.2%; the sigmoid CNN from the same weights stays at chance (loss
2.30, 10.1%). MLP without dropout: 100% training, 87.7% test accuracy, test loss up from its
lowest 0.446 to 0.654; with dropout: 100% training, 88.8% test, test loss 0.608 (lowest 0.441):
on this small problem dropout narrows the gap only a little. 18 minutes of wall time but
2 min 12 s of CPU time (``nice -n 10`` on the 2-core machine shared with seven other jobs).
Quick mode measures LeNet, GoogLeNet, ResNet-18 and MobileNetV2 only and trains on fewer digits.

Run: python examples/12_cnn_evolution.py [--quick] [--out DIR] [--seed N]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.nn as nn
from ganglion.data import MNIST, DataLoader, TensorDataset
from ganglion.models import compare, compare_figure, compare_table
from ganglion.nn.summary import profile
from ganglion.viz import pyplot

#: The landmark architectures in order of publication (registered names in ganglion.models).
ARCHITECTURES = ["lenet5", "alexnet", "vgg16", "googlenet", "resnet18", "resnet50",
                 "inception_v3", "mobilenet_v2"]
#: AlexNet and VGG-16 hold 61 M and 138 M parameters: building them takes most of a quick run.
QUICK_ARCHITECTURES = ["lenet5", "googlenet", "resnet18", "mobilenet_v2"]
FULL = dict(cnn_images=6000, cnn_epochs=3, mlp_images=600, mlp_epochs=60, test_images=2000)
QUICK = dict(cnn_images=1200, cnn_epochs=1, mlp_images=150, mlp_epochs=12, test_images=300)
CHANNELS = 64
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def load_mnist():
    """MNIST's training and test sets from $GANGLION_DATA, or exit saying what is missing."""
    try:
        return MNIST(train=True), MNIST(train=False)
    except FileNotFoundError as error:
        sys.exit(f"12_cnn_evolution needs MNIST: set GANGLION_DATA to a folder holding mnist/ "
                 f"with the four IDX files ({error})")


def to_input(images):
    """uint8 (N, 28, 28) digits -> normalised float32 (N, 1, 28, 28)."""
    return gn.tensor((images.astype(np.float32)[:, None] / 255.0 - MNIST_MEAN) / MNIST_STD)


# --- factorizations ------------------------------------------------------------------------


def count(module):
    return sum(p.numel() for p in module.parameters())


def receptive_field(module, channels, size=11):
    """Height and width of the input region that one output pixel (the centre one) depends
    on: where the gradient of that pixel with respect to the input is non-zero. The weights
    are made positive first so that no gradient cancels to zero by chance."""
    with gn.no_grad():
        for p in module.parameters():
            p.copy_(p.abs())
    x = gn.rand(1, channels, size, size, requires_grad=True)
    y = module(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    touched = np.argwhere(np.abs(x.grad.numpy()[0]).sum(axis=0) > 0)
    return tuple(int(v) for v in touched.max(axis=0) - touched.min(axis=0) + 1)


def factorizations(channels=CHANNELS, size=32):
    """Each factorization as (name, standard layer, factorized layers), with parameters, MACs
    on a (channels, size, size) input (ganglion.nn.summary.profile) and receptive fields."""
    c = channels
    pairs = [
        ("two 3x3 for one 5x5", nn.Conv2d(c, c, 5, padding=2, bias=False),
         nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False),
                       nn.Conv2d(c, c, 3, padding=1, bias=False))),
        ("1x3 + 3x1 for one 3x3", nn.Conv2d(c, c, 3, padding=1, bias=False),
         nn.Sequential(nn.Conv2d(c, c, (1, 3), padding=(0, 1), bias=False),
                       nn.Conv2d(c, c, (3, 1), padding=(1, 0), bias=False))),
        ("depthwise 3x3 + pointwise 1x1 for one 3x3", nn.Conv2d(c, c, 3, padding=1, bias=False),
         nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False),
                       nn.Conv2d(c, c, 1, bias=False))),
    ]
    rows = []
    for name, standard, factorized in pairs:
        standard_profile = profile(standard, (c, size, size))
        factorized_profile = profile(factorized, (c, size, size))
        rows.append(dict(
            name=name, standard_parameters=count(standard),
            factorized_parameters=count(factorized),
            saving=1 - count(factorized) / count(standard),
            standard_macs=standard_profile.macs, factorized_macs=factorized_profile.macs,
            standard_field=receptive_field(standard, c),
            factorized_field=receptive_field(factorized, c)))
    return rows


def depthwise_saving_by_channels(channel_counts=(8, 16, 32, 64, 128, 256, 512)):
    """1 - (9 C + C^2) / (9 C^2) for each C, counted from built layers."""
    savings = []
    for c in channel_counts:
        standard = count(nn.Conv2d(c, c, 3, bias=False))
        separable = count(nn.Conv2d(c, c, 3, groups=c, bias=False)) + count(
            nn.Conv2d(c, c, 1, bias=False))
        savings.append(1 - separable / standard)
    return list(channel_counts), savings


# --- training effects ----------------------------------------------------------------------


def small_cnn(activation):
    """The same small CNN with a chosen hidden activation (ReLU or Sigmoid)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), activation(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), activation(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 64), activation(), nn.Linear(64, 10))


def evaluate(model, x, y, loss_fn, batch_size=1000):
    """(loss, accuracy) of ``model`` on (x, y) in eval mode."""
    model.eval()
    with gn.no_grad():
        logits = gn.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    return loss_fn(logits, y).item(), gn.metrics.accuracy(y, logits.argmax(1))


def train_activations(x, y, x_test, y_test, epochs, seed):
    """Train small_cnn with ReLU and with Sigmoid from the same initial weights (the layers
    with parameters are identical; copied by state dict); SGD, lr 0.05, momentum 0.9."""
    loss_fn = nn.CrossEntropyLoss()
    gn.manual_seed(seed)
    initial = small_cnn(nn.ReLU).state_dict()
    curves = {}
    for name, activation in (("ReLU", nn.ReLU), ("sigmoid", nn.Sigmoid)):
        model = small_cnn(activation)
        model.load_state_dict(initial)
        optimizer = gn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=seed)
        losses = []
        for _ in range(epochs):
            model.train()
            for images, labels in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(images), labels)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        curves[name] = dict(losses=losses, test=evaluate(model, x_test, y_test, loss_fn))
    return curves


def mlp(dropout):
    layers = [nn.Flatten(), nn.Linear(784, 512), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    layers += [nn.Linear(512, 512), nn.ReLU()]
    layers += [nn.Dropout(dropout)] if dropout else []
    return nn.Sequential(*layers, nn.Linear(512, 10))


def train_dropout(x, y, x_test, y_test, epochs, seed):
    """The MLP with and without dropout (p = 0.5), same initial weights, Adam lr 1e-3,
    batch 50; training and test loss and accuracy after every epoch."""
    loss_fn = nn.CrossEntropyLoss()
    gn.manual_seed(seed)
    initial = mlp(0.0).state_dict()
    histories = {}
    for name, p in (("no dropout", 0.0), ("dropout p = 0.5", 0.5)):
        model = mlp(p)
        # The Linear layers sit at other indices once Dropout layers are inserted.
        for target, source in zip([m for m in model if isinstance(m, nn.Linear)],
                                  [k.split(".")[0] for k in initial if k.endswith("weight")]):
            target.load_state_dict({"weight": initial[f"{source}.weight"],
                                    "bias": initial[f"{source}.bias"]})
        optimizer = gn.optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True, seed=seed)
        history = {"train_loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": []}
        for _ in range(epochs):
            model.train()
            for images, labels in loader:
                optimizer.zero_grad()
                loss_fn(model(images), labels).backward()
                optimizer.step()
            for split, (xs, ys) in (("train", (x, y)), ("test", (x_test, y_test))):
                loss, accuracy = evaluate(model, xs, ys, loss_fn)
                history[f"{split}_loss"].append(loss)
                history[f"{split}_accuracy"].append(accuracy)
        histories[name] = history
    return histories


# --- figures -------------------------------------------------------------------------------


def plot_factorizations(rows, channels, savings, out_dir, plt):
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4.8), constrained_layout=True)
    names = [row["name"].replace(" for ", "\nfor ") for row in rows]
    positions = np.arange(len(rows))
    left.bar(positions - 0.2, [row["standard_parameters"] for row in rows], 0.4,
             label="standard convolution", color="tab:gray")
    left.bar(positions + 0.2, [row["factorized_parameters"] for row in rows], 0.4,
             label="factorized", color="tab:blue")
    for k, row in enumerate(rows):
        left.annotate(f"-{100 * row['saving']:.1f}%", (k + 0.2, row["factorized_parameters"]),
                      textcoords="offset points", xytext=(0, 3), ha="center")
    left.set_xticks(positions)
    left.set_xticklabels(names, fontsize=9)
    left.set_ylabel(f"weights ({CHANNELS} -> {CHANNELS} channels)")
    left.set_title("Parameters of each factorization (built nn.Conv2d layers)")
    left.legend()
    right.plot(channels, [100 * s for s in savings], "o-", label="counted from built layers")
    right.axhline(100 * 8 / 9, color="gray", ls="--", label="limit 1 - 1/9 = 88.9%")
    right.set_xscale("log", base=2)
    right.set_xlabel("channels C (in = out, log scale)")
    right.set_ylabel("weights saved (%)")
    right.set_title("Depthwise-separable vs standard 3x3: saving = 1 - (1/C + 1/9)")
    right.legend()
    right.grid(alpha=0.3)
    fig.savefig(out_dir / "factorizations.png", dpi=100, bbox_inches="tight")
    return fig


def plot_activations(curves, batches_per_epoch, out_dir, plt):
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    window = max(1, min(20, len(next(iter(curves.values()))["losses"]) // 10))
    for name, curve in curves.items():
        losses = np.array(curve["losses"])
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        steps = np.arange(window, len(losses) + 1)
        loss, accuracy = curve["test"]
        ax.plot(steps, smooth, label=f"{name}: test accuracy {100 * accuracy:.1f}%")
    ax.axhline(np.log(10), color="gray", ls=":", label="chance level, ln 10")
    ax.set_xlabel(f"training step (batch of 32; {batches_per_epoch} steps per epoch)")
    ax.set_ylabel(f"training loss (nats, mean of {window} steps)")
    ax.set_title("The same CNN with ReLU or sigmoid activations (SGD, momentum 0.9)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(out_dir / "relu_vs_sigmoid.png", dpi=100, bbox_inches="tight")
    return fig


def plot_dropout(histories, out_dir, plt):
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4.8), constrained_layout=True)
    colours = {"no dropout": "tab:red", "dropout p = 0.5": "tab:blue"}
    for name, history in histories.items():
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        left.plot(epochs, history["train_loss"], "--", color=colours[name],
                  label=f"{name}: training")
        left.plot(epochs, history["test_loss"], color=colours[name], label=f"{name}: test")
        right.plot(epochs, [100 * a for a in history["train_accuracy"]], "--",
                   color=colours[name], label=f"{name}: training")
        right.plot(epochs, [100 * a for a in history["test_accuracy"]], color=colours[name],
                   label=f"{name}: test")
    left.set_yscale("log")
    left.set_xlabel("epoch")
    left.set_ylabel("cross-entropy loss (nats, log scale)")
    left.set_title("Cross-entropy (dashed: training digits, solid: unseen test digits)")
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy (%)")
    right.set_title("Accuracy on the training digits and on unseen test digits")
    for ax in (left, right):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle("Overfitting a small training set: MLP 784-512-512-10 with and without dropout")
    fig.savefig(out_dir / "dropout_overfitting.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Parameters, MACs and factorizations of CNNs")
    parser.add_argument("--quick", action="store_true",
                        help="four architectures and fewer training digits (for the tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/12_cnn_evolution"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QUICK if args.quick else FULL
    plt = pyplot()
    gn.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_set, test_set = load_mnist()
    results = {}

    rows = compare(QUICK_ARCHITECTURES if args.quick else ARCHITECTURES)
    print(compare_table(rows))
    figure = compare_figure(rows, title="The evolution of CNNs: parameters vs multiply-adds "
                            "per image (colour: depth)")
    figure.savefig(args.out / "cnn_evolution.png", dpi=100, bbox_inches="tight")
    results["architectures"] = {row.name: dict(parameters=row.parameters, macs=row.macs,
                                               depth=row.depth) for row in rows}

    print(f"\nfactorizations of a {CHANNELS} -> {CHANNELS} channel convolution on 32x32 maps:")
    factored = factorizations()
    for row in factored:
        print(f"  {row['name']}: {row['standard_parameters']:,} -> "
              f"{row['factorized_parameters']:,} weights ({100 * row['saving']:.1f}% fewer), "
              f"MACs {row['standard_macs']:,} -> {row['factorized_macs']:,}, receptive field "
              f"{row['standard_field']} -> {row['factorized_field']}")
    channels, savings = depthwise_saving_by_channels()
    print("  depthwise-separable saving by channel count: " + ", ".join(
        f"C={c}: {100 * s:.1f}%" for c, s in zip(channels, savings)))
    results["factorizations"] = factored
    results["depthwise_savings"] = dict(zip(channels, savings))
    plot_factorizations(factored, channels, savings, args.out, plt)

    test_rows = rng.permutation(len(test_set))[:settings["test_images"]]
    x_test, y_test = to_input(test_set.data[test_rows]), gn.tensor(test_set.targets[test_rows])
    cnn_rows = rng.permutation(len(train_set))[:settings["cnn_images"]]
    x_cnn, y_cnn = to_input(train_set.data[cnn_rows]), gn.tensor(train_set.targets[cnn_rows])
    print(f"\nReLU vs sigmoid: the same CNN from the same weights, {len(cnn_rows):,} digits, "
          f"{settings['cnn_epochs']} epoch(s)")
    curves = train_activations(x_cnn, y_cnn, x_test, y_test, settings["cnn_epochs"], args.seed)
    for name, curve in curves.items():
        losses = curve["losses"]
        quarter = max(1, len(losses) // 4)
        curve["first_quarter"] = float(np.mean(losses[:quarter]))
        curve["last_quarter"] = float(np.mean(losses[-quarter:]))
        print(f"  {name}: mean training loss over the first quarter of the steps "
              f"{curve['first_quarter']:.3f}, the last quarter {curve['last_quarter']:.3f}; "
              f"test loss {curve['test'][0]:.3f}, test accuracy {curve['test'][1]:.4f}")
    results["activations"] = {name: dict(first_quarter_loss=c["first_quarter"],
                                         last_quarter_loss=c["last_quarter"],
                                         test_loss=c["test"][0], test_accuracy=c["test"][1])
                              for name, c in curves.items()}
    plot_activations(curves, -(-len(cnn_rows) // 32), args.out, plt)

    mlp_rows = cnn_rows[:settings["mlp_images"]]
    x_mlp, y_mlp = to_input(train_set.data[mlp_rows]), gn.tensor(train_set.targets[mlp_rows])
    print(f"\ndropout: an MLP on {len(mlp_rows)} training digits for {settings['mlp_epochs']} "
          f"epochs, tested on {len(test_rows):,}")
    histories = train_dropout(x_mlp, y_mlp, x_test, y_test, settings["mlp_epochs"], args.seed)
    results["dropout"] = {}
    for name, h in histories.items():
        summary = dict(train_accuracy=h["train_accuracy"][-1], test_accuracy=h["test_accuracy"][-1],
                       train_loss=h["train_loss"][-1], test_loss=h["test_loss"][-1],
                       lowest_test_loss=min(h["test_loss"]),
                       gap=h["train_accuracy"][-1] - h["test_accuracy"][-1])
        results["dropout"][name] = summary
        print(f"  {name}: training accuracy {summary['train_accuracy']:.4f}, test accuracy "
              f"{summary['test_accuracy']:.4f} (gap {summary['gap']:.4f}); training loss "
              f"{summary['train_loss']:.4f}, test loss {summary['test_loss']:.3f} (lowest "
              f"{summary['lowest_test_loss']:.3f})")
    plot_dropout(histories, args.out, plt)
    print(f"figures: cnn_evolution.png, factorizations.png, relu_vs_sigmoid.png, "
          f"dropout_overfitting.png in {args.out}")
    return results


if __name__ == "__main__":
    main()
