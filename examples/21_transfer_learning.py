"""
Feature representation and transfer learning
============================================

A network trained on one task learns a representation (its hidden activations) that is useful
for other tasks. Here a CNN is trained on the six animal classes of CIFAR-10 (bird, cat, deer,
dog, frog, horse): by default ``ganglion.models.resnet20`` (He et al. 2016's CIFAR ResNet, 0.27 M
parameters), or with ``--source cifar_cnn`` the smaller plain CNN (three conv blocks, then
2048-256 and a classifier). Its head is then cut off and its representation reused for the four
vehicle classes (airplane, automobile, ship, truck), which it has never seen, with only 100
labelled images per class. Three ways to learn the vehicles are compared on all 4,000 vehicle
test images:

(a) training the same architecture from scratch on the 400 images;
(b) a new linear head on frozen features (``freeze`` the network, ``feature_extractor`` gives
    the activations of named layers; being frozen, they are computed once): for resnet20 the 64
    globally pooled features its classifier ``linear`` read (the head replaces ``linear``, as
    ``model.fc = nn.Linear(512, 4)`` does on a torchvision ResNet), for cifar_cnn its last
    conv block;
(c) fine-tuning: the pretrained network and that head, all trained further at a small
    learning rate (1e-4), starting from (b)'s head so that a random head's large early
    gradients do not wreck the pretrained features (Kumar et al. 2022, "linear probing then
    fine-tuning").

Which layer to reuse? A linear probe on each layer shows it: the first stage's features are
generic but weak for classes, the last conv stage's are the best, and the features just below
the animal classifier are worse again, specialised to animals (Yosinski et al. 2014).

Then a regression on the same 400 vehicle photos: by how many degrees was the photo rotated
(what the "straighten" tool of a photo editor estimates)? Each photo is rotated once by a random
angle in [-45, 45] degrees and cut to a round window, so that the black corners a rotation
leaves cannot give the angle away. A ridge regression on each frozen layer (its penalty chosen
by leave-one-out cross-validation on the training photos) is compared with the same architecture
trained from scratch for the angle, by the mean absolute error on the 4,000 test photos
(predicting 0 degrees gives 22.5). The trend is the opposite of the classification's: the
angle is a low-level property, kept by the early layers and discarded with depth by a
network trained to recognise animals at any tilt or mirror image.

Full mode, resnet20 (the default), measured with ``nice -n 10`` and one thread
(GANGLION_NUM_THREADS=1, OMP_WAIT_POLICY=PASSIVE, oneDNN convolutions) on the 2-core machine
while other jobs kept its load average at 6-9, so the wall times are upper bounds: the source
network (4 epochs over 30,000 animal images, Adam 1e-3, batch 128, random flips) trained in
831 s and reaches 54.3% on the 6,000 animal test images (chance 16.7%); it is cached under
``--out``, and a rerun loads it. Everything else took 476 s; 1,307 s in all, 738 s of CPU.
Vehicles, 100 labelled images per class, 4,000 test images:

- (a) from scratch 43.2%, (b) new head on the frozen pooled features 62.2%, (c) fine-tuning
  67.5%: the animal network's features beat training from scratch by 19 points, and
  fine-tuning every weight adds 5 more;
- a linear head on each frozen layer: stage 1 58.8%, stage 2 64.2%, stage 3 67.3%, the 64
  pooled features below the animal classifier 62.2%;
- rotation angle, mean absolute error: always 0 degrees 22.6, resnet20 from scratch 14.2,
  ridge regression on frozen stage 1 12.6, stage 2 13.1, stage 3 14.4, pooled 14.7: the first
  stage, trained on animals only, beats a resnet20 trained for the angle.

Full mode, ``--source cifar_cnn`` (8 source epochs; measured before the oneDNN provider existed,
at load 10-20): source training 471 s, 69.5% on the animals, the rest 483 s.
(a) from scratch 63.3%, (b) new head on frozen block-3 features 71.1%, (c) fine-tuning 71.0%;
per layer: block 1 62.1%, block 2 68.6%, block 3 71.1%, the 256 units below the animal
classifier 59.6%; rotation: cifar_cnn from scratch 13.6, frozen block 1 13.7, block 2 14.1,
block 3 15.2, the 256 units 17.4 degrees. The smaller network learns more from 400 images
alone (63% against resnet20's 43%), so transfer gains less over scratch with it.

Quick mode (``--quick``: 900 animal images for 1 epoch, 20 vehicle images per class, 200 test
images) checks only that the pipeline learns: about 7 s of CPU with ``--source cifar_cnn`` (the
test's setting), about 18 s with resnet20.

Run: python examples/21_transfer_learning.py [--quick] [--out DIR] [--seed N]
     [--source resnet20|cifar_cnn]
"""
import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.nn as nn
from ganglion.data import CIFAR10, DataLoader, TensorDataset, transforms
from ganglion.models import cifar_cnn, feature_extractor, freeze, resnet20
from ganglion.vision.transforms import functional as TF
from ganglion.viz import pyplot

ANIMALS = ["bird", "cat", "deer", "dog", "frog", "horse"]
VEHICLES = ["airplane", "automobile", "ship", "truck"]
#: Per-channel mean and standard deviation of the CIFAR-10 training images.
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
MAX_ANGLE = 45.0


class CifarCnnSource:
    """cifar_cnn (a Sequential) as the source network. Its reused layers, by index: the max
    pooling that ends each conv block, and the ReLU of the 2048-256 layer. Index 9 is the Flatten
    after block 3 (the same values as 8, as a vector); 10-13 are the animal classifier, cut off.
    The new head goes on block 3's features."""

    name = "cifar_cnn"
    build = staticmethod(cifar_cnn)
    layers = {"2": "block 1\n32x16x16", "5": "block 2\n64x8x8", "8": "block 3\n128x4x4",
              "11": "fc 256\n(below the\nanimal head)"}
    nodes = ("2", "5", "8", "11")
    head_layer = "8"
    full_source_epochs = 8

    @staticmethod
    def features(outputs):
        """{layer: (N, D)} from the extractor's outputs."""
        return {layer: outputs[layer].flatten(1) for layer in CifarCnnSource.layers}

    @staticmethod
    def with_head(network, head):
        """The network's conv blocks (up to the Flatten) followed by ``head``."""
        return nn.Sequential(network[:10], head)


class ResNet20Source:
    """resnet20 (He et al. 2016, the CIFAR ResNet with 0.27 M parameters) as the source network.
    Its reused layers: the output of each of the three stages, and their global average (the 64
    features the animal classifier ``linear`` reads), computed from stage 3's output since the
    pooling is a function in resnet20's forward, not a sub-module. The new head replaces
    ``linear`` on those 64 features, as ``model.fc = nn.Linear(512, 4)`` does on a torchvision
    ResNet."""

    name = "resnet20"
    build = staticmethod(resnet20)
    layers = {"layer1": "stage 1\n16x32x32", "layer2": "stage 2\n32x16x16",
              "layer3": "stage 3\n64x8x8", "pool": "global pool\n64 (below the\nanimal head)"}
    nodes = ("layer1", "layer2", "layer3")
    head_layer = "pool"
    # Half of cifar_cnn's epochs: a step costs about 3x more (0.48 s of CPU at batch 128, one
    # thread, oneDNN convolutions), and the network reaches cifar_cnn's accuracy in fewer epochs.
    full_source_epochs = 4

    @staticmethod
    def features(outputs):
        """{layer: (N, D)} from the extractor's outputs."""
        found = {layer: outputs[layer].flatten(1) for layer in ResNet20Source.nodes}
        found["pool"] = outputs["layer3"].mean((2, 3))
        return found

    @staticmethod
    def with_head(network, head):
        """``network`` with ``head`` in place of its classifier."""
        network.linear = head
        return network


SOURCES = {source.name: source for source in (ResNet20Source, CifarCnnSource)}

FULL = dict(source_per_class=5000, source_epochs=None, shots=100, test_per_class=1000,
            scratch_epochs=40, probe_epochs=100, fine_tune_epochs=20, curve_points=10,
            curve_per_class=250)
QUICK = dict(source_per_class=150, source_epochs=1, shots=20, test_per_class=50,
             scratch_epochs=3, probe_epochs=20, fine_tune_epochs=1, curve_points=1,
             curve_per_class=10)


def load_cifar10():
    """CIFAR-10's train and test sets from $GANGLION_DATA (the JPEG tree or the python batches),
    or exit with a message saying what is missing."""
    try:
        return CIFAR10(train=True), CIFAR10(train=False)
    except FileNotFoundError as error:
        sys.exit(f"21_transfer_learning needs CIFAR-10: set GANGLION_DATA to a folder holding "
                 f"cifar10-jpg/ or cifar-10-batches-py/ ({error})")


def pick_classes(dataset, class_names, per_class, rng):
    """``per_class`` random images of each class in ``class_names``, as uint8 (N, 32, 32, 3)
    images and labels renumbered 0..len(class_names)-1 in that order."""
    chosen, labels = [], []
    for new_label, name in enumerate(class_names):
        where = np.flatnonzero(dataset.targets == dataset.classes.index(name))
        chosen.append(rng.choice(where, size=min(per_class, len(where)), replace=False))
        labels.append(np.full(len(chosen[-1]), new_label, np.int64))
    return dataset.data[np.concatenate(chosen)], np.concatenate(labels)


def to_input(images):
    """uint8 (N, H, W, 3) images -> the normalized float (N, 3, H, W) tensor the network reads."""
    to_tensor = transforms.Compose([transforms.BatchToTensor(),
                                    transforms.BatchNormalize(CIFAR_MEAN, CIFAR_STD)])
    return gn.tensor(to_tensor(images))


def predict(model, x, batch_size=500):
    """``model``'s outputs for all of ``x`` in eval mode (dropout off), batch by batch."""
    model.eval()
    with gn.no_grad():
        return gn.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def accuracy(model, x, y):
    return gn.metrics.accuracy(y, predict(model, x).argmax(1))


def fit(model, optimizer, loss_fn, x, y, epochs, seed, flip=True, curve=None, curve_points=1,
        batch_size=64):
    """``epochs`` of ``optimizer`` on ``loss_fn`` over shuffled batches of (x, y), with random
    horizontal flips of the images when ``flip``. ``curve`` = (x, y) to measure the accuracy on
    at ``curve_points`` evenly spaced epochs; returns [(fraction of training done, accuracy)]."""
    flips = transforms.BatchRandomHorizontalFlip() if flip else None
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed,
                        batch_transform=flips)
    checkpoints = {round(epochs * k / curve_points) for k in range(1, curve_points + 1)}
    history = [(0.0, accuracy(model, *curve))] if curve is not None else []
    for epoch in range(1, epochs + 1):
        model.train()
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).backward()
            optimizer.step()
        if curve is not None and epoch in checkpoints:
            history.append((epoch / epochs, accuracy(model, *curve)))
    return history


def train_source_network(source, x, y, epochs, seed, cache):
    """The ``source`` architecture trained on the animal images, or loaded from ``cache`` if an
    earlier run with the same settings saved it there."""
    model = source.build(num_classes=len(ANIMALS))
    if cache.is_file():
        model.load_state_dict(gn.load(cache))
        print(f"source network: loaded from {cache} (delete it to train again)")
        return model, 0.0
    start = time.perf_counter()
    fit(model, gn.optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss(), x, y, epochs,
        seed, batch_size=128)
    seconds = time.perf_counter() - start
    gn.save(model.state_dict(), cache)
    print(f"source network: trained {epochs} epochs on {len(x)} animal images in "
          f"{seconds:.0f} s, saved to {cache}")
    return model, seconds


class Standardize(nn.Module):
    """(features - mean) / std with the statistics of the training features, kept as buffers.
    The layers' activations have very different scales; standardized, one learning rate (or
    one ridge penalty) suits them all."""

    def __init__(self, features):
        super().__init__()
        self.register_buffer("mean", features.mean(0))
        self.register_buffer("std", features.std(0) + 1e-3)

    def forward(self, features):
        return (features - self.mean) / self.std


def frozen_features(source, extractor, x, batch_size=500):
    """{layer: (N, D) activations} of the frozen ``source`` network for all of ``x``."""
    with gn.no_grad():
        parts = [source.features(extractor(x[i:i + batch_size]))
                 for i in range(0, len(x), batch_size)]
        return {layer: gn.cat([p[layer] for p in parts]) for layer in source.layers}


def linear_probe(train_features, labels, test_features, test_labels, epochs, seed, curve=None,
                 curve_points=1):
    """A new head, Standardize + Linear, trained on frozen features; returns (head, test
    accuracy, learning curve)."""
    head = nn.Sequential(Standardize(train_features),
                         nn.Linear(train_features.shape[1], len(VEHICLES)))
    history = fit(head, gn.optim.Adam(head.parameters(), lr=1e-3), nn.CrossEntropyLoss(),
                  train_features, labels, epochs, seed, flip=False, curve=curve,
                  curve_points=curve_points)
    return head, accuracy(head, test_features, test_labels), history


def fine_tune(source, network, head, x, y, epochs, seed, curve, curve_points):
    """(c): a copy of the pretrained ``network`` (of architecture ``source``) with (b)'s head on
    top, every weight trained at 1e-4, a tenth of the learning rate used from scratch: the
    pretrained weights are adjusted to the vehicles, not overwritten."""
    network = copy.deepcopy(network)
    network.requires_grad_(True)           # the source network was frozen for (b)
    model = source.with_head(network, copy.deepcopy(head))
    history = fit(model, gn.optim.Adam(model.parameters(), lr=1e-4), nn.CrossEntropyLoss(),
                  x, y, epochs, seed, curve=curve, curve_points=curve_points)
    return model, history


def round_window(size):
    """A disk of ones inscribed in a size x size square: where a rotation shows no corner."""
    centre = (size - 1) / 2
    yy, xx = np.mgrid[:size, :size]
    return ((yy - centre) ** 2 + (xx - centre) ** 2 <= (size / 2) ** 2).astype(np.float32)


def rotated(x, rng):
    """Each image of ``x`` rotated by an angle uniform in [-45, 45] degrees (bilinear, counter-
    clockwise), inside a round window; returns (images, angles in degrees)."""
    angles = rng.uniform(-MAX_ANGLE, MAX_ANGLE, size=len(x))
    # Data preparation, once: torchvision's functional rotate, one image at a time.
    images = gn.stack([TF.rotate(image, float(angle), TF.InterpolationMode.BILINEAR)
                       for image, angle in zip(x, angles)])
    return images * gn.tensor(round_window(x.shape[-1])), gn.tensor(angles, dtype=gn.float32)


def ridge_regression(features, targets, test_features, penalties=(1e-2, 1e-1, 1, 10, 100, 1e3)):
    """Ridge regression of ``targets`` on standardized ``features``, solved exactly, with the
    penalty (per feature, times the number of features) that has the smallest leave-one-out
    error on the training examples; returns (the predictions for ``test_features``, the
    penalty used).

    With more features than examples (8192 against 400) it is solved in its dual form, from the
    eigendecomposition of the n x n Gram matrix K = A A^T: the fitted values are
    H y with H = K (K + lam I)^-1, and the leave-one-out residual of example i is
    (y_i - (Hy)_i) / (1 - H_ii), so every penalty is tried without refitting n times."""
    standardize = Standardize(features)
    a, b = standardize(features), standardize(test_features)
    offset = targets.mean()
    y = targets - offset
    eigenvalues, eigenvectors = gn.linalg.eigh(a @ a.T)
    eigenvalues = eigenvalues.clamp(min=0)
    projected = eigenvectors.T @ y
    best = None
    for penalty in penalties:
        lam = penalty * a.shape[1]
        shrink = eigenvalues / (eigenvalues + lam)
        fitted = eigenvectors @ (shrink * projected)
        leverage = (eigenvectors ** 2) @ shrink
        loo_error = ((y - fitted) / (1 - leverage)).abs().mean().item()
        if best is None or loo_error < best[0]:
            best = (loo_error, lam)
    lam = best[1]
    # Dual coefficients: (K + lam I)^-1 y = U diag(1 / (s + lam)) U^T y.
    dual = eigenvectors @ (projected / (eigenvalues + lam))
    return b @ (a.T @ dual) + offset, lam


def rotation_regression(source, extractor, x, x_test, epochs, seed, rng):
    """Mean absolute error (degrees) of the rotation angle of the test photos from a ridge
    regression on each frozen layer, and from the ``source`` architecture trained from scratch
    for it."""
    train_x, train_angles = rotated(x, rng)
    test_x, test_angles = rotated(x_test, rng)
    train_features = frozen_features(source, extractor, train_x)
    test_features = frozen_features(source, extractor, test_x)
    errors = {}
    for layer in source.layers:
        predicted, _ = ridge_regression(train_features[layer], train_angles,
                                        test_features[layer])
        errors[layer] = gn.metrics.mean_absolute_error(test_angles, predicted)
    # From scratch: the angle in units of 45 degrees (targets in [-1, 1]) and no flips, since a
    # mirror image has the opposite angle.
    scratch = nn.Sequential(source.build(num_classes=1), nn.Flatten(0))
    fit(scratch, gn.optim.Adam(scratch.parameters(), lr=1e-3), nn.MSELoss(), train_x,
        train_angles / MAX_ANGLE, epochs, seed, flip=False)
    scratch_error = gn.metrics.mean_absolute_error(test_angles,
                                                   predict(scratch, test_x) * MAX_ANGLE)
    zero_error = test_angles.abs().mean().item()
    return errors, scratch_error, zero_error, (test_x, test_angles)


def plot_transfer(source, results, curves, out_dir):
    """Left: the three test accuracies and chance. Right: their learning curves."""
    plt = pyplot()
    fig, (bars, lines) = plt.subplots(1, 2, figsize=(13, 4.8), constrained_layout=True)
    names = ["(a) from scratch", "(b) new head on\nfrozen features", "(c) fine-tuning"]
    values = [100 * results[k] for k in ("accuracy_scratch", "accuracy_frozen_head",
                                         "accuracy_fine_tune")]
    colours = ["tab:gray", "tab:blue", "tab:orange"]
    drawn = bars.bar(names, values, color=colours)
    bars.bar_label(drawn, fmt="%.1f%%")
    bars.axhline(100 / len(VEHICLES), color="black", linestyle=":", label="chance (25%)")
    bars.set_ylim(0, 100)
    bars.set_ylabel("test accuracy on the 4 vehicle classes (%)")
    bars.set_title(f"{results['shots']} labelled images per vehicle class")
    bars.legend(loc="upper left")
    for (label, history), colour in zip(curves.items(), colours):
        done, acc = zip(*history)
        lines.plot(np.array(done) * 100, np.array(acc) * 100, marker="o", color=colour,
                   label=label)
    lines.axhline(100 / len(VEHICLES), color="black", linestyle=":", label="chance")
    lines.set_xlabel("training done (% of each method's epochs)")
    lines.set_ylabel("accuracy on held-out vehicle test images (%)")
    lines.set_title("Learning curves ((c) starts from (b)'s final head)")
    lines.set_ylim(0, 100)
    lines.legend(loc="lower right")
    fig.suptitle(f"Reusing a CNN ({source.name}) trained on CIFAR-10 animals for vehicles")
    fig.savefig(out_dir / "transfer_accuracy.png", dpi=100, bbox_inches="tight")
    return fig


def plot_layers(source, results, test_x, test_angles, out_dir):
    """Top: rotated test photos, two of each class. Bottom: per layer, the accuracy of a linear
    probe for the vehicle classes and the error of a ridge regression for the rotation angle."""
    plt = pyplot()
    fig = plt.figure(figsize=(13, 7.5), constrained_layout=True)
    grid = fig.add_gridspec(2, 8, height_ratios=[1, 3])
    mean, std = np.array(CIFAR_MEAN)[:, None, None], np.array(CIFAR_STD)[:, None, None]
    window = round_window(test_x.shape[-1])
    per_class = len(test_x) // len(VEHICLES)   # the test photos are grouped by class
    shown = [c * per_class + k for k in range(2) for c in range(len(VEHICLES))]
    for column, i in enumerate(shown):
        ax = fig.add_subplot(grid[0, column])
        image = np.clip(test_x[i].numpy() * std + mean, 0, 1) * window
        ax.imshow(image.transpose(1, 2, 0))
        angle = round(float(test_angles[i]))
        ax.set_title(f"{VEHICLES[i // per_class]}\nrotated {angle:+d}\u00b0", fontsize=10)
        ax.axis("off")
    names = list(source.layers.values())
    probe = fig.add_subplot(grid[1, :4])
    drawn = probe.bar(names, [100 * results["probe_accuracy"][k] for k in source.layers],
                      color="tab:blue", label="linear head on the frozen layer")
    probe.bar_label(drawn, fmt="%.1f%%", label_type="center", color="white")
    probe.axhline(100 * results["accuracy_scratch"], color="tab:gray", linestyle="--",
                  label=f"{source.name} from scratch")
    probe.axhline(25, color="black", linestyle=":", label="chance")
    probe.set_ylim(0, 100)
    probe.set_xlabel("frozen layer of the animal network (input side -> output side)")
    probe.set_ylabel("vehicle test accuracy (%)")
    probe.set_title("Classifying vehicles: deeper is better, until the animal head")
    probe.legend(loc="lower right")
    regress = fig.add_subplot(grid[1, 4:])
    drawn = regress.bar(names, [results["rotation_mae"][k] for k in source.layers],
                        color="tab:purple",
                        label="ridge regression on the frozen layer")
    regress.bar_label(drawn, fmt="%.1f", label_type="center", color="white")
    regress.axhline(results["rotation_mae_scratch"], color="tab:gray", linestyle="--",
                    label=f"{source.name} from scratch")
    regress.axhline(results["rotation_mae_zero"], color="black", linestyle=":",
                    label="always 0 deg")
    regress.set_ylim(0, results["rotation_mae_zero"] * 1.35)
    regress.set_xlabel("frozen layer of the animal network (input side -> output side)")
    regress.set_ylabel("mean absolute error of the angle (degrees)")
    regress.set_title("How far was the photo rotated? Shallower is better")
    regress.legend(loc="upper left")
    fig.suptitle(f"What each layer's representation is good for ({results['shots']} labelled "
                 "photos per vehicle class); top: test photos, rotated and cut round")
    fig.savefig(out_dir / "layers.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Transfer learning from CIFAR-10 animals to "
                                                 "vehicles, and a rotation regression")
    parser.add_argument("--quick", action="store_true", help="tiny subsets, a few seconds")
    parser.add_argument("--out", type=Path, default=Path("runs/21_transfer_learning"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--source", choices=sorted(SOURCES), default="resnet20",
                        help="the source network's architecture (default resnet20)")
    args = parser.parse_args(argv)
    source = SOURCES[args.source]
    print(f"kernels: {gn.config.kernels}, source network: {source.name}")
    args.out.mkdir(parents=True, exist_ok=True)
    settings = QUICK if args.quick else dict(FULL, source_epochs=source.full_source_epochs)
    gn.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()

    train_set, test_set = load_cifar10()
    animals, animal_labels = pick_classes(train_set, ANIMALS, settings["source_per_class"], rng)
    animal_test, animal_test_labels = pick_classes(test_set, ANIMALS, settings["test_per_class"],
                                                   rng)
    vehicles, vehicle_labels = pick_classes(train_set, VEHICLES, settings["shots"], rng)
    test, test_labels = pick_classes(test_set, VEHICLES, settings["test_per_class"], rng)
    x, y = to_input(vehicles), gn.tensor(vehicle_labels)
    x_test, y_test = to_input(test), gn.tensor(test_labels)
    # A fixed part of the test images, measured during training for the learning curves only
    # (nothing is chosen by it); the reported accuracies are on all test images.
    curve_idx = gn.tensor(np.concatenate([np.flatnonzero(test_labels == c)[
        :settings["curve_per_class"]] for c in range(len(VEHICLES))]))
    curve = (x_test[curve_idx], y_test[curve_idx])
    points = settings["curve_points"]

    mode = "quick" if args.quick else "full"
    cache = args.out / (f"source_{source.name}_animals_{mode}_{settings['source_per_class']}"
                        f"x{settings['source_epochs']}_seed{args.seed}.safetensors")
    network, source_seconds = train_source_network(source, to_input(animals),
                                                   gn.tensor(animal_labels),
                                                   settings["source_epochs"], args.seed, cache)
    # The same random numbers from here on whether the source network was trained or loaded.
    gn.manual_seed(args.seed + 1)
    results = {"source": source.name, "head_layer": source.head_layer,
               "shots": settings["shots"], "source_seconds": source_seconds,
               "source_accuracy": accuracy(network, to_input(animal_test),
                                           gn.tensor(animal_test_labels))}
    print(f"source task ({source.name}): {results['source_accuracy']:.1%} test accuracy on "
          f"the 6 animal "
          f"classes (chance {1 / len(ANIMALS):.1%})")

    # (a) from scratch
    scratch = source.build(num_classes=len(VEHICLES))
    curves = {"(a) from scratch": fit(
        scratch, gn.optim.Adam(scratch.parameters(), lr=1e-3), nn.CrossEntropyLoss(), x, y,
        settings["scratch_epochs"], args.seed, curve=curve, curve_points=points)}
    results["accuracy_scratch"] = accuracy(scratch, x_test, y_test)

    # (b) the head cut off, the rest frozen: a new linear head on each layer's features. Each
    # photo and its mirror image, the augmentation the other two get from random flips.
    freeze(network)
    extractor = feature_extractor(network, {node: node for node in source.nodes}).eval()
    train_features = frozen_features(source, extractor, gn.cat([x, x.flip(-1)]))
    test_features = frozen_features(source, extractor, x_test)
    curve_features = frozen_features(source, extractor, curve[0])
    results["probe_accuracy"], heads = {}, {}
    for layer in source.layers:
        heads[layer], results["probe_accuracy"][layer], history = linear_probe(
            train_features[layer], gn.cat([y, y]), test_features[layer], y_test,
            settings["probe_epochs"], args.seed, curve=(curve_features[layer], curve[1]),
            curve_points=points)
        if layer == source.head_layer:
            curves["(b) new head on frozen features"] = history
    results["accuracy_frozen_head"] = results["probe_accuracy"][source.head_layer]
    source_state = {k: v.detach().numpy().copy() for k, v in network.state_dict().items()}

    # (c) fine-tuning, from (b)'s head
    tuned, curves["(c) fine-tuning"] = fine_tune(source, network, heads[source.head_layer],
                                                 x, y, settings["fine_tune_epochs"], args.seed,
                                                 curve, points)
    results["accuracy_fine_tune"] = accuracy(tuned, x_test, y_test)
    # Fine-tuning trained a copy: the frozen source network, which (b) used, is unchanged.
    results["source_unchanged"] = all(np.array_equal(source_state[k], v.detach().numpy())
                                      for k, v in network.state_dict().items())

    print(f"vehicles, {settings['shots']} labelled images per class, accuracy on "
          f"{len(x_test)} test images (chance 25%):")
    print(f"  (a) from scratch:                         {results['accuracy_scratch']:.1%}")
    head_name = source.layers[source.head_layer].splitlines()[0]
    print(f"  {'(b) new head on frozen ' + head_name + ' features:':<42}"
          f"{results['accuracy_frozen_head']:.1%}")
    print(f"  (c) fine-tuning from (b), lr 1e-4:        {results['accuracy_fine_tune']:.1%}")
    print("  linear head on each frozen layer: " + ", ".join(
        f"{name.splitlines()[0]} {results['probe_accuracy'][k]:.1%}"
        for k, name in source.layers.items()))
    plot_transfer(source, results, curves, args.out)

    errors, scratch_error, zero_error, (test_rotated, test_angles) = rotation_regression(
        source, extractor, x, x_test, settings["scratch_epochs"], args.seed, rng)
    results.update(rotation_mae=errors, rotation_mae_scratch=scratch_error,
                   rotation_mae_zero=zero_error,
                   rotation_mae_frozen=errors[source.nodes[0]])
    print(f"rotation angle (uniform in [-45, 45] deg) of the {len(x_test)} test photos, mean "
          f"absolute error in degrees: always 0 {zero_error:.1f}, {source.name} from scratch "
          f"{scratch_error:.1f}; ridge regression on frozen " + ", ".join(
              f"{name.splitlines()[0]} {errors[k]:.1f}" for k, name in source.layers.items()))
    plot_layers(source, results, test_rotated, test_angles, args.out)
    results["seconds"] = time.perf_counter() - start
    print(f"figures in {args.out}; {results['seconds']:.0f} s in all")
    return results


if __name__ == "__main__":
    main()
