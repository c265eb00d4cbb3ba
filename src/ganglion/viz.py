"""Figures of a training run: loss and accuracy curves, and test images with predicted labels.

matplotlib is an optional extra (``pip install ganglion[viz]``) imported only when a figure is
drawn. Figures are made with ``matplotlib.figure.Figure`` rather than pyplot, so that no window
system or global pyplot state is involved: drawing works on a headless machine and in threads.
"""
import numpy as np

__all__ = ["pyplot", "training_figure", "save_training_figure"]


def pyplot():
    """``matplotlib.pyplot``, for scripts that draw with it (the examples), or an ImportError
    naming the extra that installs it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("drawing figures needs matplotlib: pip install ganglion[viz]") from None
    return plt


def _figure_class():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("drawing figures needs matplotlib: pip install ganglion[viz]") from None
    return Figure


def _plot_curves(axes, history, names, title):
    epochs = history.get("epoch") or list(range(1, len(history.get("loss", [])) + 1))
    for name in names:
        values = history.get(name)
        if values and any(v is not None for v in values):
            axes.plot(epochs, values, marker="o", label=name.replace("_", " "))
    axes.set_title(title)
    axes.set_xlabel("epoch")
    axes.grid(alpha=0.3)
    if axes.lines:
        axes.legend()


def _image_for_display(image):
    """(H, W) or (H, W, 3) array scaled to [0, 1] from a CHW / HW image of any range."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = image[0] if image.shape[0] == 1 else np.transpose(image, (1, 2, 0))
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def training_figure(history, images=None, labels=None, predictions=None, class_names=None,
                    columns=8):
    """A Figure: loss curves and accuracy curves from ``history`` (train and val), and below
    them a grid of ``images`` titled with predicted labels (red where wrong)."""
    Figure = _figure_class()
    n_images = 0 if images is None else len(images)
    rows = -(-n_images // columns)
    figure = Figure(figsize=(2 + 1.2 * columns, 3.6 + 1.35 * rows), layout="constrained")
    grid = figure.add_gridspec(1 + rows, columns, height_ratios=[2.6] + [1] * rows)
    half = columns // 2
    _plot_curves(figure.add_subplot(grid[0, :half]), history, ["loss", "val_loss"], "loss")
    _plot_curves(figure.add_subplot(grid[0, half:]), history, ["accuracy", "val_accuracy"],
                 "accuracy")
    for k in range(n_images):
        axes = figure.add_subplot(grid[1 + k // columns, k % columns])
        image = _image_for_display(images[k])
        axes.imshow(image, cmap="gray" if image.ndim == 2 else None)
        axes.set_xticks([])
        axes.set_yticks([])
        if predictions is not None:
            name = class_names[predictions[k]] if class_names else str(predictions[k])
            wrong = labels is not None and predictions[k] != labels[k]
            axes.set_title(name, color="red" if wrong else "black", fontsize=10)
    return figure


def save_training_figure(path, history, images=None, labels=None, predictions=None,
                         class_names=None):
    """Draw ``training_figure`` and write it to ``path`` (PNG, or as the suffix says)."""
    figure = training_figure(history, images, labels, predictions, class_names)
    figure.savefig(path, dpi=100)
    return path
