"""
Losses for classification
=========================

Classifying real photographs (CIFAR-10: 32x32 colour images of ten classes) with models of
growing power, and the loss each is trained on:

1. **A single sigmoid neuron** telling airplanes from automobiles: ``sigmoid(w . x + b)`` on
   the 3,072 pixel values, trained on the binary cross-entropy (``nn.BCEWithLogitsLoss``);
   output above 0.5 means "automobile".
2. **Softmax regression** (multinomial logistic regression) over all ten classes, trained twice
   from the same initial weights with the same optimizer (SGD with momentum): once on the
   squared error between the softmax output and the one-hot target, once on the cross-entropy.
   Squared error's gradient through the softmax vanishes when the model is confidently wrong
   (it carries a factor p (1 - p)), cross-entropy's does not (it is ``p - onehot``): for an
   example wrong by a logit margin of 10 the example prints gradient norms of 9.6e-4 and 1.41.
   Whether that slows training depends on how often the model is that wrong: here, a linear
   model started from small weights, it rarely is, and the learning curves
   (``mse_vs_cross_entropy.png``) show both losses learning at the same pace; the model
   trained on cross-entropy reaches the lower test cross-entropy, the one trained on squared
   error a slightly higher accuracy, and cross-entropy's test loss rises again after about
   seven epochs as it grows over-confident on the training images. Cross-entropy's advantage
   shows where outputs saturate: deep networks, large initial weights.
3. **An MLP** (3072-512-256-10, ReLU) on the cross-entropy.
4. **A CNN** (``ganglion.models.cifar_cnn``: three 3x3 conv blocks, 2048-256-10) on the
   cross-entropy, which uses the images' spatial structure that the models above ignore.

One table of test accuracies shows the progression neuron -> logistic regression -> MLP -> CNN
(``accuracies.png``).

Full mode: a subsample of CIFAR-10 to stay within minutes of CPU time: 10,000 training images
(1,000 per class; the neuron uses all 10,000 airplane and automobile training images) and 5,000
random test images (2,000 airplanes and automobiles for the neuron). Test accuracies: sigmoid
neuron 82.6% (two classes), softmax regression 38.6% on squared error and 36.0% on
cross-entropy (best test cross-entropy 1.86 and 1.83 nats), MLP 43.3% after 10 epochs, CNN
59.1% after 5 epochs. 2 min 50 s of CPU time; the wall time was 41 minutes because the 2-core
machine was shared with many other jobs (load average near 28). Quick mode uses 1,000 training
and 500 test images (neuron about 83%, the ten-class models 22-34%).

Run: python examples/08_classification_losses.py [--quick] [--out DIR] [--seed N]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.nn as nn
from ganglion.data import CIFAR10, DataLoader, TensorDataset
from ganglion.models import cifar_cnn
from ganglion.viz import pyplot

FULL = dict(train_per_class=1000, test_images=5000, neuron_epochs=10, softmax_epochs=12,
            mlp_epochs=10, cnn_epochs=5)
QUICK = dict(train_per_class=100, test_images=500, neuron_epochs=5, softmax_epochs=6,
             mlp_epochs=4, cnn_epochs=2)
#: Per-channel mean and standard deviation of the CIFAR-10 training images.
CIFAR_MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32)
CIFAR_STD = np.array([0.2470, 0.2435, 0.2616], np.float32)
BATCH = 64


def load_cifar10():
    """CIFAR-10's training and test sets from $GANGLION_DATA, or exit saying what is missing."""
    try:
        return CIFAR10(train=True), CIFAR10(train=False)
    except FileNotFoundError as error:
        sys.exit(f"08_classification_losses needs CIFAR-10: set GANGLION_DATA to a folder "
                 f"holding cifar10-jpg/ or cifar-10-batches-py/ ({error})")


def to_input(images):
    """uint8 (N, 32, 32, 3) -> normalised float32 (N, 3, 32, 32) tensor."""
    x = (images.astype(np.float32) / 255.0 - CIFAR_MEAN) / CIFAR_STD
    return gn.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def balanced_subset(dataset, per_class, rng, classes=None):
    """``per_class`` random images of each class (all classes, or those in ``classes``)."""
    classes = range(len(dataset.classes)) if classes is None else classes
    rows = np.concatenate([rng.choice(np.flatnonzero(dataset.targets == c), per_class,
                                      replace=False) for c in classes])
    return rng.permutation(rows)


def predict(model, x, batch_size=1000):
    model.eval()
    with gn.no_grad():
        return gn.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def accuracy_of(model, x, y):
    return gn.metrics.accuracy(y, predict(model, x).argmax(1))


def train(model, x, y, loss_fn, optimizer, epochs, seed, evaluate=None):
    """Mini-batch training for ``epochs``; ``evaluate()`` (if given) is called before training
    and after each epoch and its values collected (the learning curve)."""
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True, seed=seed)
    curve = [evaluate()] if evaluate else []
    for _ in range(epochs):
        model.train()
        for images, labels in loader:
            optimizer.zero_grad()
            loss_fn(model(images), labels).backward()
            optimizer.step()
        if evaluate:
            curve.append(evaluate())
    return curve


# --- 1. the sigmoid neuron -----------------------------------------------------------------


def sigmoid_neuron(train_set, test_set, settings, rng, seed):
    """Airplane (0) vs automobile (1): one linear unit whose logit goes through a sigmoid."""
    per_class = 5000 if settings is FULL else 5 * settings["train_per_class"]
    train_rows = balanced_subset(train_set, per_class, rng, classes=(0, 1))
    test_rows = balanced_subset(test_set, min(1000, settings["test_images"] // 2), rng,
                                classes=(0, 1))
    x = to_input(train_set.data[train_rows]).flatten(1)
    y = gn.tensor(train_set.targets[train_rows].astype(np.float32))
    x_test = to_input(test_set.data[test_rows]).flatten(1)
    y_test = test_set.targets[test_rows]
    neuron = nn.Linear(3072, 1)
    bce = nn.BCEWithLogitsLoss()
    optimizer = gn.optim.SGD(neuron.parameters(), lr=1e-3, momentum=0.9)
    train(neuron, x, y, lambda logit, target: bce(logit.squeeze(1), target), optimizer,
          settings["neuron_epochs"], seed)
    with gn.no_grad():
        probability = gn.sigmoid(neuron(x_test).squeeze(1)).numpy()
        train_probability = gn.sigmoid(neuron(x).squeeze(1)).numpy()
    return dict(test_accuracy=gn.metrics.accuracy(y_test, probability >= 0.5),
                train_accuracy=gn.metrics.accuracy(y.numpy(), train_probability >= 0.5),
                train_images=len(train_rows), test_images=len(test_rows))


# --- 2. softmax regression: squared error vs cross-entropy ---------------------------------


def squared_error_on_softmax(logits, labels):
    """Mean over the batch of sum_k (softmax(z)_k - onehot_k)^2."""
    one_hot = nn.functional.one_hot(labels, 10).to(logits.dtype)
    return ((gn.softmax(logits, dim=1) - one_hot) ** 2).sum(dim=1).mean()


def gradient_when_confidently_wrong(margin=10.0):
    """The gradient of each loss with respect to the logits for one example of class 1 whose
    logit of class 0 is ``margin`` above the others (softmax ~ 1 on the wrong class): its norm
    under squared error (which carries p (1 - p) ~ 0) and under cross-entropy (p - onehot)."""
    norms = {}
    for name, loss_fn in (("squared error on one-hot", squared_error_on_softmax),
                          ("cross-entropy", nn.CrossEntropyLoss())):
        logits = gn.zeros(1, 10)
        with gn.no_grad():
            logits[0, 0] = margin
        logits.requires_grad_(True)
        loss_fn(logits, gn.tensor([1])).backward()
        norms[name] = float(gn.linalg.vector_norm(logits.grad).item())
    return norms


def softmax_regressions(x, y, x_test, y_test, epochs, seed):
    """The same linear 3072 -> 10 model from the same weights, trained on each loss with SGD
    (lr 0.001, momentum 0.9); the test accuracy and cross-entropy after each epoch."""
    flat, flat_test = x.flatten(1), x_test.flatten(1)
    gn.manual_seed(seed)
    initial = nn.Linear(3072, 10).state_dict()
    cross_entropy = nn.CrossEntropyLoss()
    curves = {}
    for name, loss_fn in (("squared error on one-hot", squared_error_on_softmax),
                          ("cross-entropy", cross_entropy)):
        model = nn.Linear(3072, 10)
        model.load_state_dict(initial)
        optimizer = gn.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)

        def evaluate():
            logits = predict(model, flat_test)
            return (gn.metrics.accuracy(y_test, logits.argmax(1)),
                    cross_entropy(logits, y_test).item())
        curves[name] = train(model, flat, y, loss_fn, optimizer, epochs, seed, evaluate)
    return curves


# --- 3 and 4: MLP and CNN ------------------------------------------------------------------


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(3072, 512), nn.ReLU(), nn.Linear(512, 256),
                         nn.ReLU(), nn.Linear(256, 10))


def train_deep(model, x, y, x_test, y_test, epochs, seed, lr):
    optimizer = gn.optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    curve = train(model, x, y, nn.CrossEntropyLoss(), optimizer, epochs, seed,
                  lambda: accuracy_of(model, x_test, y_test))
    return curve, time.perf_counter() - start


# --- figures -------------------------------------------------------------------------------


def plot_loss_curves(curves, out_dir, plt):
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6), constrained_layout=True)
    for name, curve in curves.items():
        epochs = np.arange(len(curve))
        left.plot(epochs, [100 * a for a, _ in curve], "o-", label=f"trained on {name}")
        right.plot(epochs, [loss for _, loss in curve], "o-", label=f"trained on {name}")
    left.axhline(10, color="gray", ls=":", label="chance (10%)")
    left.set_xlabel("epoch")
    left.set_ylabel("test accuracy (%)")
    left.set_title("Softmax regression on CIFAR-10: test accuracy")
    right.set_xlabel("epoch")
    right.set_ylabel("test cross-entropy (nats)")
    right.set_title("The same models' test cross-entropy")
    for ax in (left, right):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle("Same model, same initial weights, same optimizer (SGD, lr 0.001, momentum "
                 "0.9): only the loss differs")
    fig.savefig(out_dir / "mse_vs_cross_entropy.png", dpi=100, bbox_inches="tight")
    return fig


def plot_accuracies(table, curves, out_dir, plt):
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4.8), constrained_layout=True,
                                      gridspec_kw=dict(width_ratios=[1.2, 1]))
    names = list(table)
    values = [100 * table[n] for n in names]
    colours = ["tab:gray", "tab:orange", "tab:blue", "tab:purple", "tab:green"]
    bars = left.barh(range(len(names)), values, color=colours[:len(names)])
    for bar, value in zip(bars, values):
        left.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, f"{value:.1f}%",
                  va="center")
    left.set_yticks(range(len(names)))
    left.set_yticklabels(names, fontsize=9)
    left.invert_yaxis()
    left.set_xlim(0, 105)
    left.set_xlabel("test accuracy (%)")
    left.set_title("From one neuron to a CNN (the neuron: 2 classes, chance 50%; the others: "
                   "10 classes, chance 10%)", fontsize=9)
    for name, curve in curves.items():
        right.plot(np.arange(len(curve)), [100 * a for a in curve], "o-", label=name)
    right.axhline(10, color="gray", ls=":", label="chance (10%)")
    right.set_xlabel("epoch")
    right.set_ylabel("test accuracy (%)")
    right.set_title("Learning curves on the ten classes (all trained on cross-entropy)")
    right.legend()
    right.grid(alpha=0.3)
    fig.savefig(out_dir / "accuracies.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Classification losses and models on CIFAR-10")
    parser.add_argument("--quick", action="store_true",
                        help="1,000 training and 500 test images (for the tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/08_classification_losses"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QUICK if args.quick else FULL
    plt = pyplot()
    gn.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_set, test_set = load_cifar10()
    results = {}

    neuron = sigmoid_neuron(train_set, test_set, settings, rng, args.seed)
    print(f"1. sigmoid neuron, airplane vs automobile ({neuron['train_images']:,} training, "
          f"{neuron['test_images']:,} test images): training accuracy "
          f"{neuron['train_accuracy']:.4f}, test accuracy {neuron['test_accuracy']:.4f}")
    results["neuron"] = neuron

    train_rows = balanced_subset(train_set, settings["train_per_class"], rng)
    test_rows = rng.permutation(len(test_set))[:settings["test_images"]]
    x, y = to_input(train_set.data[train_rows]), gn.tensor(train_set.targets[train_rows])
    x_test = to_input(test_set.data[test_rows])
    y_test = gn.tensor(test_set.targets[test_rows])
    print(f"ten classes: {len(train_rows):,} training images, {len(test_rows):,} test images")

    wrong = gradient_when_confidently_wrong()
    print("2. gradient norm with respect to the logits for an example confidently wrong by a "
          "logit margin of 10: " + ", ".join(f"{k} {v:.2e}" for k, v in wrong.items()))
    results["confidently_wrong_gradients"] = wrong
    curves = softmax_regressions(x, y, x_test, y_test, settings["softmax_epochs"], args.seed)
    for name, curve in curves.items():
        print(f"2. softmax regression on {name}: test accuracy by epoch "
              + " ".join(f"{a:.3f}" for a, _ in curve))
    results["softmax_curves"] = {name: [a for a, _ in c] for name, c in curves.items()}

    gn.manual_seed(args.seed)
    mlp_curve, mlp_seconds = train_deep(mlp(), x, y, x_test, y_test, settings["mlp_epochs"],
                                        args.seed, lr=1e-3)
    print(f"3. MLP 3072-512-256-10: test accuracy {mlp_curve[-1]:.4f} ({mlp_seconds:.0f} s)")
    gn.manual_seed(args.seed)
    cnn_curve, cnn_seconds = train_deep(cifar_cnn(), x, y, x_test, y_test,
                                        settings["cnn_epochs"], args.seed, lr=1e-3)
    print(f"4. CNN (cifar_cnn): test accuracy {cnn_curve[-1]:.4f} ({cnn_seconds:.0f} s)")

    table = {"sigmoid neuron (airplane vs automobile)": neuron["test_accuracy"],
             "softmax regression, squared error": curves["squared error on one-hot"][-1][0],
             "softmax regression, cross-entropy": curves["cross-entropy"][-1][0],
             "MLP 3072-512-256-10": mlp_curve[-1],
             "CNN (cifar_cnn)": cnn_curve[-1]}
    print("\nmodel                                      test accuracy")
    for name, value in table.items():
        print(f"  {name:41s} {value:.4f}")
    results["table"] = table
    results["mlp_curve"], results["cnn_curve"] = mlp_curve, cnn_curve

    plot_loss_curves(curves, args.out, plt)
    plot_accuracies(table, {"softmax regression (SGD)": [a for a, _ in curves["cross-entropy"]],
                            "MLP": mlp_curve, "CNN": cnn_curve}, args.out, plt)
    print(f"figures: mse_vs_cross_entropy.png, accuracies.png in {args.out}")
    return results


if __name__ == "__main__":
    main()
