"""``compare(names)``: the architectures side by side, as the history of CNNs is taught.

Each row has the model's parameter count, its multiply-accumulates (MACs) for one example at
the registered input size (224x224 for the ImageNet models, 299x299 for Inception v3, 32x32 for
the CIFAR ones) or at ``input_shape`` when it is given, its depth, and, with ``time=True``, the
measured forward time per image in eval mode. MACs and depth come from ``ganglion.nn.summary``'s
``profile`` and follow its conventions (conv: output elements x in_channels/groups x kernel;
linear: output elements x in_features; pooling windows and norm elements counted too). Depth
is the number of weighted layers (convolutions, linear layers, attention) on the longest path
from input to output: 8 for AlexNet, 16 for VGG-16, 18 for ResNet-18, 22 for GoogLeNet.

    from ganglion.models import compare, compare_table, compare_figure
    rows = compare(["alexnet", "vgg16", "resnet18", "mobilenet_v2"], time=True)
    print(compare_table(rows))
    compare_figure(rows, "models.png")      # needs matplotlib: pip install ganglion[viz]

The command line does the same: ``ganglion compare alexnet vgg16 resnet18 --time --figure
models.png`` (``--input 3,224,224`` overrides the input size of every model).
"""
import time as _time
from dataclasses import dataclass

from ganglion.models.registry import get_model, model_info

__all__ = ["compare", "compare_table", "compare_figure", "ComparisonRow"]


@dataclass(frozen=True)
class ComparisonRow:
    """One model's line of ``compare``: parameters, multiply-adds and depth for ``input_shape``,
    and the seconds per image when timed (else None)."""
    name: str
    input_shape: tuple
    parameters: int
    macs: int
    depth: int
    seconds_per_image: float = None


def compare(names, input_shape=None, time=False, batch=1, repeats=3):
    """A ``ComparisonRow`` per registered model name, in the order given. ``input_shape`` (one
    example, without the batch dimension) replaces every model's registered input shape.
    ``time=True`` measures the forward pass in eval mode without gradients on a random batch
    of ``batch`` examples: the best of ``repeats`` timed calls after one warm-up call, divided
    by ``batch``."""
    from ganglion.nn.summary import profile
    if isinstance(names, str):
        names = [names]
    rows = []
    for name in names:
        info = model_info(name)
        shape = tuple(input_shape) if input_shape is not None else info.input_shape
        model = get_model(name)
        try:
            result = profile(model, shape)
        except Exception as error:  # noqa: BLE001  (any layer's shape error)
            raise ValueError(f"compare: model {name!r} cannot take an input of shape {shape} "
                             f"(its registered input shape is {info.input_shape}): "
                             f"{error}") from error
        seconds = _time_forward(model, shape, batch, repeats) if time else None
        rows.append(ComparisonRow(name, shape, result.parameters, result.macs, result.depth,
                                  seconds))
    return rows


def _time_forward(model, shape, batch, repeats):
    from ganglion.core.grad_mode import no_grad
    from ganglion.core.creation import randn
    modes = {id(module): module.training for module in model.modules()}
    model.eval()
    try:
        x = randn((batch,) + tuple(shape))
        with no_grad():
            model(x)
            best = float("inf")
            for _ in range(repeats):
                start = _time.perf_counter()
                model(x)
                best = min(best, _time.perf_counter() - start)
    finally:
        for module in model.modules():
            object.__setattr__(module, "training", modes[id(module)])
    return best / batch


def _count(value):
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if value >= size:
            return f"{value / size:.2f}{unit}"
    return str(value)


def _both(value):
    return f"{value:,}" + (f" ({_count(value)})" if value >= 1000 else "")


def compare_table(rows):
    """The rows as a text table: model, input, parameters, MACs, depth (and ms per image)."""
    timed = any(row.seconds_per_image is not None for row in rows)
    header = ["Model", "Input", "Params", "MACs", "Depth"] + (["ms/image"] if timed else [])
    cells = [header]
    for row in rows:
        cell = [row.name, "x".join(map(str, row.input_shape)),
                _both(row.parameters), _both(row.macs), str(row.depth)]
        if timed:
            cell.append("-" if row.seconds_per_image is None
                        else f"{row.seconds_per_image * 1e3:.2f}")
        cells.append(cell)
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = []
    for k, cell in enumerate(cells):
        parts = [cell[0].ljust(widths[0]), cell[1].ljust(widths[1])]
        parts += [c.rjust(w) for c, w in zip(cell[2:], widths[2:])]
        lines.append("  ".join(parts).rstrip())
        if k == 0:
            lines.append("-" * len(lines[0]))
    lines.append("MACs: multiply-accumulates per example; depth: weighted layers on the longest "
                 "path")
    return "\n".join(lines)


def compare_figure(rows, path=None, title=None):
    """A scatter of parameters against MACs (both on log axes), one labelled point per model;
    saved to ``path`` when given. Returns the matplotlib Figure. Needs the ``viz`` extra."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("compare_figure draws with matplotlib, which is not installed: "
                          "pip install ganglion[viz]") from None
    figure = Figure(figsize=(8, 6), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    xs = [row.macs for row in rows]
    ys = [row.parameters for row in rows]
    depths = [row.depth for row in rows]
    points = axes.scatter(xs, ys, c=depths, cmap="viridis", s=60, edgecolors="black",
                          linewidths=0.5, zorder=3)
    axes.set_xscale("log")
    axes.set_yscale("log")
    _pad_log_limits(axes, xs, ys)
    _label_points(figure, axes, rows)
    axes.set_xlabel("multiply-accumulates per example (MACs, log scale)")
    axes.set_ylabel("parameters (log scale)")
    sizes = sorted({"x".join(map(str, row.input_shape)) for row in rows})
    where = (f"input {sizes[0]}" if len(sizes) == 1 else
             f"inputs {', '.join(sizes)}" if len(sizes) <= 3 else "each at its registered input")
    axes.set_title(title or f"Parameters vs computation ({where})")
    axes.grid(True, which="major", alpha=0.4)
    if len(set(depths)) > 1:
        figure.colorbar(points, ax=axes, label="depth (weighted layers on the longest path)")
    if path is not None:
        figure.savefig(path)
    return figure


def _label_points(figure, axes, rows, fontsize=9):
    """Name each point, moving a label to another side of its point when it would overlap a
    label already placed or another point (greedy, in display pixels)."""
    scale = figure.dpi / 72
    width_of = lambda text: len(text) * fontsize * 0.6 * scale  # noqa: E731
    height = fontsize * 1.3 * scale
    placed = []
    points = [axes.transData.transform((row.macs, row.parameters)) for row in rows]
    gap = 5
    for row, (px, py) in sorted(zip(rows, points), key=lambda item: -item[0].parameters):
        width = width_of(row.name)
        candidates = [(gap, gap * 0.6), (gap, -height - gap * 0.6), (-width - gap, gap * 0.6),
                      (-width - gap, -height - gap * 0.6), (-width / 2, gap + 2),
                      (-width / 2, -height - gap - 2), (gap, height * 0.9), (gap, -2 * height)]

        def clash(dx, dy):
            box = (px + dx, py + dy, px + dx + width, py + dy + height)
            boxes = any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                        for b in placed)
            dots = any(box[0] - 3 < qx < box[2] + 3 and box[1] - 3 < qy < box[3] + 3
                       for qx, qy in points if (qx, qy) != (px, py))
            return boxes + dots

        dx, dy = min(candidates, key=lambda c: clash(*c))
        placed.append((px + dx, py + dy, px + dx + width, py + dy + height))
        axes.annotate(row.name, (row.macs, row.parameters), textcoords="offset pixels",
                      xytext=(dx, dy), fontsize=fontsize, va="bottom", ha="left")


def _pad_log_limits(axes, xs, ys):
    """Room around the points (a factor of 2 on each side, more on the right for labels)."""
    if xs and ys and min(xs) > 0 and min(ys) > 0:
        axes.set_xlim(min(xs) / 2, max(xs) * 4)
        axes.set_ylim(min(ys) / 2, max(ys) * 2)
