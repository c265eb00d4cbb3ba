"""
The perceptron as a hyperplane
==============================

A perceptron with outputs +1 / -1 (``ganglion.models.perceptron(output='sign')``) computes
``sign(w . x + b)``: it splits the plane along the line ``w . x + b = 0`` (a hyperplane in more
dimensions). Two clouds of 2-D points that a line separates are generated (points closer than a
margin to the line that made them are left out), and Rosenblatt's rule, ``w += lr (y - yhat) x``
for each misclassified point, moves the line until every point is on its side. The example
counts the updates (misclassified points met) until convergence and checks Novikoff's theorem
(1962): with the weights starting at zero, the rule makes at most ``(R / gamma)^2`` updates,
where R is the largest norm of an input (with a constant 1 appended for the bias) and gamma the
margin by which some unit-length separator separates the data; the line that made the data gives
such a separator, so the bound is computed from it.

It prints the number of points, the updates and epochs until convergence, the training accuracy
(1.0) and the bound; the full run (500 points a cloud) converged after 43 updates in 3 epochs
(34, 9, then none) against a bound of 2,482 (1 s of CPU time; the quick run, 100 points a cloud:
17 updates). Figure (``perceptron_hyperplane.png``): the points, the line
after each epoch (faded) and the final line, and the mistakes per epoch.

Run: python examples/03_perceptron_hyperplane.py [--quick] [--out DIR] [--seed N]
"""
import argparse
import math
from pathlib import Path

import ganglion as gn
from ganglion.models import perceptron
from ganglion.viz import pyplot

#: The line that generates the data: TRUE_WEIGHTS . x + TRUE_BIAS = 0.
TRUE_WEIGHTS = (1.0, 2.0)
TRUE_BIAS = -1.0
MARGIN = 0.15


def two_separable_clouds(points_per_cloud, seed):
    """Two Gaussian clouds on either side of the true line, labels +1 and -1, without the
    points closer than MARGIN to the line; shuffled so the classes alternate at random."""
    gn.manual_seed(seed)
    unit_normal = gn.tensor(TRUE_WEIGHTS) / math.hypot(*TRUE_WEIGHTS)
    centre = gn.tensor([3.0, -1.0])  # a point on the line: 3 - 2 - 1 = 0
    clouds, labels = [], []
    for label in (1.0, -1.0):
        points = centre + label * 0.6 * unit_normal + 1.0 * gn.randn(2 * points_per_cloud, 2)
        signed_distance = (points @ gn.tensor(TRUE_WEIGHTS) + TRUE_BIAS) / math.hypot(
            *TRUE_WEIGHTS)
        points = points[label * signed_distance > MARGIN][:points_per_cloud]
        clouds.append(points)
        labels.append(gn.full((len(points),), label))
    x, y = gn.cat(clouds), gn.cat(labels)
    order = gn.randperm(len(x))
    return x[order], y[order]


def novikoff_bound(x, y):
    """``(R / gamma)^2`` for the true separator: R the largest norm of (x, 1), gamma the smallest
    distance of a point to the true hyperplane in the augmented space (w, b) / |(w, b)|."""
    augmented = gn.cat([x, gn.ones(len(x), 1)], dim=1)
    separator = gn.tensor([*TRUE_WEIGHTS, TRUE_BIAS])
    gamma = (y * (augmented @ separator)).min().item() / separator.norm().item()
    radius = augmented.norm(dim=1).max().item()
    return (radius / gamma) ** 2, radius, gamma


def train_until_separated(model, x, y, max_epochs=1000):
    """Epochs of the perceptron rule until one makes no update; returns the updates of each
    epoch and the (weights, bias) after each epoch, for the figure."""
    updates_per_epoch, lines = [], []
    for _ in range(max_epochs):
        updates_per_epoch.append(model.perceptron_rule_step(x, y, lr=1.0))
        lines.append((model.linear.weight.flatten().tolist(), model.linear.bias.item()))
        if updates_per_epoch[-1] == 0:
            break
    return updates_per_epoch, lines


def plot_hyperplane(x, y, lines, updates_per_epoch, bound, out_dir):
    plt = pyplot()
    fig, (ax, ax_updates) = plt.subplots(1, 2, figsize=(13, 5.5),
                                         gridspec_kw={"width_ratios": [1.4, 1]},
                                         constrained_layout=True)
    points, labels = x.numpy(), y.numpy()
    ax.scatter(*points[labels > 0].T, marker="o", s=18, c="tab:blue", label="class +1")
    ax.scatter(*points[labels < 0].T, marker="^", s=18, c="tab:orange", label="class -1")
    lo, hi = points.min(0) - 0.5, points.max(0) + 0.5
    xs = [lo[0], hi[0]]

    def line_y(weights, bias):
        return [-(weights[0] * v + bias) / weights[1] for v in xs]

    for epoch, (weights, bias) in enumerate(lines[:-1], start=1):
        if weights[1] != 0:
            ax.plot(xs, line_y(weights, bias), color="gray", alpha=0.3 + 0.5 * epoch / len(lines),
                    lw=1, label="line after each earlier epoch" if epoch == 1 else None)
    ax.plot(xs, line_y(*lines[-1]), "k-", lw=2.5, label="learned line w.x + b = 0")
    ax.plot(xs, line_y(TRUE_WEIGHTS, TRUE_BIAS), "g--", lw=1.5,
            label="line that generated the data")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("feature x1 (arbitrary units)")
    ax.set_ylabel("feature x2 (arbitrary units)")
    ax.set_title(f"A perceptron separates two clouds ({len(points)} points)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, fontsize=9)
    epochs = range(1, len(updates_per_epoch) + 1)
    ax_updates.bar(epochs, updates_per_epoch, color="tab:red")
    ax_updates.set_xticks(list(epochs))
    ax_updates.set_xlabel("epoch (one pass over the points)")
    ax_updates.set_ylabel("updates (misclassified points met)")
    ax_updates.set_title(f"{sum(updates_per_epoch)} updates in all until convergence\n"
                         f"(Novikoff's bound: at most {bound:.0f})")
    fig.savefig(out_dir / "perceptron_hyperplane.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="The perceptron as a separating hyperplane")
    parser.add_argument("--quick", action="store_true", help="100 points a cloud (for tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/03_perceptron_hyperplane"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    x, y = two_separable_clouds(100 if args.quick else 500, args.seed)
    model = perceptron(in_features=2, output="sign")
    updates_per_epoch, lines = train_until_separated(model, x, y)
    with gn.no_grad():
        accuracy = (model(x) == y).to(gn.float32).mean().item()
    bound, radius, gamma = novikoff_bound(x, y)
    weights, bias = lines[-1]
    print(f"{len(x)} points in two clouds, separable with margin >= {MARGIN}")
    print(f"perceptron rule: {sum(updates_per_epoch)} updates in {len(updates_per_epoch)} epochs "
          f"(updates per epoch {updates_per_epoch}); training accuracy {accuracy:.3f}")
    print(f"learned line: {weights[0]:.2f} x1 + {weights[1]:.2f} x2 {bias:+.2f} = 0")
    print(f"Novikoff's bound (R / gamma)^2 = ({radius:.2f} / {gamma:.3f})^2 = {bound:.0f} "
          f">= {sum(updates_per_epoch)} updates")
    plot_hyperplane(x, y, lines, updates_per_epoch, bound, args.out)
    print(f"figure: {args.out / 'perceptron_hyperplane.png'}")
    return {"points": len(x), "updates": sum(updates_per_epoch),
            "epochs": len(updates_per_epoch), "converged": updates_per_epoch[-1] == 0,
            "train_accuracy": accuracy, "novikoff_bound": bound,
            "weights": weights, "bias": bias}


if __name__ == "__main__":
    main()
