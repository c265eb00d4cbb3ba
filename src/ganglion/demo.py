"""What ``make demo`` (``ganglion demo``) runs: LeNet-5 learns MNIST, or a small CNN the
scikit-learn digits when MNIST is not at hand.

MNIST is looked for in ``$GANGLION_DATA`` (``make demo`` sets it to a datasets folder beside a
development checkout), else in ``~/.cache/ganglion/datasets``, where it is downloaded (with a progress bar) when the
machine is online. Without MNIST the demo says so in one line and trains on the 1,797 8x8
digits that ship inside scikit-learn. Either way it shows progress bars, saves a checkpoint,
draws the loss/accuracy curves and test images with their predicted labels, and ends with the
line ``test accuracy: NN.NN%``. ``--quick`` trains briefly on the digits (the test suite's run).
"""
import argparse
import os
import time
from pathlib import Path

import ganglion as gn
from ganglion import nn
from ganglion.data import MNIST, DownloadError
from ganglion.data.paths import DEFAULT_DATA_ROOT
from ganglion.io import save
from ganglion.models import get_model
from ganglion.train import LRSchedulerCallback, fit
from ganglion.train.datasets import classification_loaders

__all__ = ["main", "run", "demo_data_root"]

# The recipes, measured on a loaded 2-core machine: LeNet-5 passes 98.5% on MNIST in 4 epochs,
# the digits CNN passes 97% in well under a minute.
RECIPES = {
    "mnist": {"model": "lenet5", "epochs": 4, "batch_size": 128, "lr": 2e-3},
    "digits": {"model": "digits_cnn", "epochs": 30, "batch_size": 32, "lr": 2e-3},
}
QUICK_EPOCHS = 15


def demo_data_root():
    """$GANGLION_DATA, else the user cache."""
    if os.environ.get("GANGLION_DATA"):
        return Path(os.environ["GANGLION_DATA"])
    return DEFAULT_DATA_ROOT.expanduser()


def _mnist_available(root, print_fn):
    """True when MNIST is in ``root`` or could be downloaded there; else says why in one line."""
    try:
        MNIST(root, train=False)
        return True
    except FileNotFoundError:
        pass
    try:
        MNIST(root, train=True, download=True)
        MNIST(root, train=False, download=True)
        return True
    except (DownloadError, OSError) as error:
        print_fn(f"MNIST is not in {root} and could not be downloaded ({type(error).__name__}); "
                 "training a small CNN on scikit-learn's 8x8 digits instead")
        return False


def run(dataset, root=None, epochs=None, out="runs/demo", verbose=1, figure=True,
        print_fn=print):
    """Train the recipe for ``dataset`` ('mnist' or 'digits'); returns (test accuracy,
    history, checkpoint path, figure path or None)."""
    recipe = RECIPES[dataset]
    epochs = epochs or recipe["epochs"]
    gn.manual_seed(0)
    train_loader, test_loader, _ = classification_loaders(dataset, root, recipe["batch_size"],
                                                          seed=0)
    model = get_model(recipe["model"])
    optimizer = gn.optim.Adam(model.parameters(), lr=recipe["lr"])
    # A cosine decay to zero over the run, stepped per batch: a high rate early, a fine one late.
    scheduler = gn.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * len(train_loader))
    print_fn(f"training {recipe['model']} on {dataset}: {len(train_loader.dataset)} training "
             f"and {len(test_loader.dataset)} test images, {epochs} epochs")
    history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, epochs,
                  val_loader=test_loader, metrics=["accuracy"], verbose=verbose,
                  callbacks=[LRSchedulerCallback(scheduler, interval="batch")])
    accuracy = history["val_accuracy"][-1]  # the final model on the whole test set
    out = Path(out)
    checkpoint = save({"model_name": recipe["model"], "dataset": dataset,
                       "model": model.state_dict(), "history": dict(history)},
                      out / "model.safetensors")
    figure_path = _draw(model, test_loader, history, out / "demo.png") if figure else None
    return accuracy, history, checkpoint, figure_path


@gn.no_grad()
def _draw(model, test_loader, history, path):
    from ganglion.viz import save_training_figure
    images, labels = next(iter(test_loader))
    images, labels = images[:24], labels[:24]
    model.eval()
    predictions = model(images).argmax(1).numpy()
    return save_training_figure(path, history, images.numpy(), labels.numpy().tolist(),
                                predictions.tolist())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ganglion demo", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"a short run on the 8x8 digits ({QUICK_EPOCHS} epochs)")
    parser.add_argument("--data-dir", help="where to look for MNIST (default: see above)")
    parser.add_argument("--out", default="runs/demo", help="folder for the checkpoint and figure")
    parser.add_argument("--no-figure", action="store_true", help="do not draw the figure")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.quick:
        dataset, root, epochs = "digits", None, QUICK_EPOCHS
    else:
        root = Path(args.data_dir) if args.data_dir else demo_data_root()
        dataset = "mnist" if _mnist_available(root, print) else "digits"
        epochs = None
    accuracy, _, checkpoint, figure = run(dataset, root, epochs, args.out,
                                          figure=not args.no_figure)
    print(f"checkpoint: {checkpoint}")
    if figure is not None:
        print(f"figure: {figure}")
    print(f"trained and evaluated in {time.perf_counter() - start:.1f} s")
    print(f"test accuracy: {100 * accuracy:.2f}%")
    return accuracy


if __name__ == "__main__":
    main()
