"""
Why non-linear activations
==========================

Squares inside a disc and triangles around it: no line separates them. Two stacked linear
layers, ``Linear(2, 8)`` then ``Linear(8, 1)``, are no more than one: their composition is
``W2 (W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2)``, a single layer whose weights are the product
of the two weight matrices, so its decision boundary is a line. The example trains the stacked
pair and, separately, a single ``Linear(2, 1)`` (both with the logistic loss, full-batch Adam),
builds the collapsed layer from the product of the stacked pair's matrices, and shows that it
gives the stacked network's outputs exactly and equals the learned single layer (the logistic
loss of one linear layer has one minimum, and every local minimum of a deep linear network is
global, so both reach it). Putting a ReLU or a sigmoid between the two layers makes the network
non-linear, and it separates the classes.

It prints the training accuracy of the single layer, the stacked linear pair and the two
non-linear networks, the largest difference between the collapsed layer and the stacked
network's outputs (float32 rounding: 4.8e-7), and the collapsed and learned single-layer
weights side by side. Full run (300 points a class, 2,000 steps, 4.9 s of CPU time): one linear
layer 0.762, two linear layers 0.762, ReLU 1.000, sigmoid 1.000; collapsed (w1, w2, b) =
(0.944, 0.759, -0.321) against the learned single layer's (0.943, 0.759, -0.321), at most
1.7e-5 apart. A second figure draws sigmoid, tanh and ReLU with their
derivatives, computed by autograd (``backward`` on the activation), whose largest values are
0.25, 1 and 1. Figures: ``decision_boundaries.png``, ``activations.png``. Quick mode: 150 points
a class, 300 steps.

Run: python examples/04_nonlinear_activations.py [--quick] [--out DIR] [--seed N]
"""
import argparse
from pathlib import Path

import ganglion as gn
import ganglion.nn as nn
from ganglion.viz import pyplot

DISC_CENTRE = (0.5, 0.5)
SQUARES_RADIUS = 0.9    # squares lie within this distance of the centre ...
TRIANGLES_RADIUS = 1.3  # ... and triangles beyond this one, inside the box [-2, 2]^2
HIDDEN = 8


def squares_and_triangles(points_per_class, seed):
    """Squares (label 1) in a disc, triangles (label 0) around it: not linearly separable."""
    gn.manual_seed(seed)
    candidates = gn.rand(8 * points_per_class, 2) * 4 - 2
    distance = (candidates - gn.tensor(DISC_CENTRE)).norm(dim=1)
    squares = candidates[distance < SQUARES_RADIUS][:points_per_class]
    triangles = candidates[distance > TRIANGLES_RADIUS][:points_per_class]
    x = gn.cat([squares, triangles])
    y = gn.cat([gn.ones(len(squares)), gn.zeros(len(triangles))]).reshape(-1, 1)
    return x, y


def build_networks(seed):
    gn.manual_seed(seed)
    return {"one linear layer": nn.Linear(2, 1),
            "two linear layers": nn.Sequential(nn.Linear(2, HIDDEN), nn.Linear(HIDDEN, 1)),
            "linear + ReLU + linear": nn.Sequential(nn.Linear(2, HIDDEN), nn.ReLU(),
                                                    nn.Linear(HIDDEN, 1)),
            "linear + sigmoid + linear": nn.Sequential(nn.Linear(2, HIDDEN), nn.Sigmoid(),
                                                       nn.Linear(HIDDEN, 1))}


def train(network, x, y, steps, lr=0.05):
    """Full-batch Adam on the logistic loss (the network outputs logits)."""
    optimizer = gn.optim.Adam(network.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        loss = loss_fn(network(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def accuracy(network, x, y):
    with gn.no_grad():
        return ((network(x) > 0).to(y.dtype) == y).to(gn.float32).mean().item()


def collapse(stacked):
    """The single layer equal to ``Linear -> Linear``: weight W2 W1, bias W2 b1 + b2."""
    first, second = stacked[0], stacked[1]
    layer = nn.Linear(first.in_features, second.out_features)
    with gn.no_grad():
        layer.weight.copy_(second.weight @ first.weight)
        layer.bias.copy_(second.weight @ first.bias + second.bias)
    return layer


def activation_curves():
    """Sigmoid, tanh and ReLU on [-5, 5] and their derivatives, taken by autograd."""
    curves = {}
    for name, function in (("sigmoid", gn.sigmoid), ("tanh", gn.tanh), ("ReLU", gn.relu)):
        x = gn.linspace(-5, 5, 1001, requires_grad=True)
        y = function(x)
        y.sum().backward()  # d(sum y)/dx_i = f'(x_i): each output depends on its own input only
        curves[name] = (x.detach().numpy(), y.detach().numpy(), x.grad.numpy())
    return curves


def plot_boundaries(networks, x, y, accuracies, out_dir):
    plt = pyplot()
    grid = gn.linspace(-2.2, 2.2, 221)
    g1, g2 = gn.meshgrid(grid, grid, indexing="xy")
    plane = gn.stack([g1.flatten(), g2.flatten()], dim=1)
    fig, axes = plt.subplots(1, 4, figsize=(20, 5.4), constrained_layout=True)
    points, labels = x.numpy(), y.numpy().ravel()
    for ax, (name, network) in zip(axes, networks.items()):
        with gn.no_grad():
            probability = gn.sigmoid(network(plane)).reshape(g1.shape).numpy()
        ax.contourf(grid.numpy(), grid.numpy(), probability, levels=20, cmap="coolwarm",
                    vmin=0, vmax=1, alpha=0.6)
        ax.contour(grid.numpy(), grid.numpy(), probability, levels=[0.5], colors="black",
                   linewidths=2)
        ax.scatter(*points[labels == 1].T, marker="s", s=16, c="darkred", label="squares (1)")
        ax.scatter(*points[labels == 0].T, marker="^", s=16, c="navy", label="triangles (0)")
        ax.plot([], [], "k-", lw=2, label="decision boundary P = 0.5")
        collapses = " (= one layer W2 W1)" if name == "two linear layers" else ""
        ax.set_title(f"{name}{collapses}\ntraining accuracy {accuracies[name]:.3f}")
        ax.set_xlabel("feature x1 (arbitrary units)")
        ax.set_ylabel("feature x2 (arbitrary units)")
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-2.2, 2.2)
        ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    fig.suptitle("Without an activation two layers draw one line; with one they bend "
                 "(shading: P(square), blue 0 to red 1)")
    fig.savefig(out_dir / "decision_boundaries.png", dpi=100, bbox_inches="tight")
    return fig


def plot_activations(curves, out_dir):
    plt = pyplot()
    fig, (ax_f, ax_d) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    for (name, (x, y, dy)), colour in zip(curves.items(), ("tab:blue", "tab:orange",
                                                            "tab:green")):
        ax_f.plot(x, y, color=colour, lw=2, label=name)
        ax_d.plot(x, dy, color=colour, lw=2, label=f"{name}' (max {dy.max():.2f})")
    ax_f.set_title("Activation functions f(x)")
    ax_d.set_title("Their derivatives f'(x), by autograd")
    for ax, ylabel in ((ax_f, "f(x)"), (ax_d, "f'(x)")):
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.set_xlabel("pre-activation x (dimensionless)")
        ax.set_ylabel(ylabel)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.savefig(out_dir / "activations.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Why networks need non-linear activations")
    parser.add_argument("--quick", action="store_true", help="150 points a class, 300 steps")
    parser.add_argument("--out", type=Path, default=Path("runs/04_nonlinear_activations"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    points_per_class, steps = (150, 300) if args.quick else (300, 2000)

    x, y = squares_and_triangles(points_per_class, args.seed)
    networks = build_networks(args.seed + 1)
    accuracies = {}
    print(f"{len(x)} points: squares inside a disc, triangles around it; {steps} steps of Adam")
    for name, network in networks.items():
        loss = train(network, x, y, steps)
        accuracies[name] = accuracy(network, x, y)
        print(f"  {name:26s} training accuracy {accuracies[name]:.3f}   loss {loss:.4f}")

    stacked, single = networks["two linear layers"], networks["one linear layer"]
    collapsed = collapse(stacked)
    with gn.no_grad():
        output_difference = (collapsed(x) - stacked(x)).abs().max().item()
    collapsed_weights = collapsed.weight.flatten().tolist() + collapsed.bias.tolist()
    single_weights = single.weight.flatten().tolist() + single.bias.tolist()
    weight_difference = max(abs(a - b) for a, b in zip(collapsed_weights, single_weights))
    print(f"W2 W1 and W2 b1 + b2 as one layer: its outputs differ from the stacked network's by "
          f"at most {output_difference:.2g}")
    print("collapsed (w1, w2, b) = (" + ", ".join(f"{v:.3f}" for v in collapsed_weights)
          + "); learned single layer = (" + ", ".join(f"{v:.3f}" for v in single_weights)
          + f"); largest difference {weight_difference:.2g}")

    curves = activation_curves()
    derivative_maxima = {name: float(dy.max()) for name, (_, _, dy) in curves.items()}
    print("largest derivative: " + ", ".join(f"{name} {value:.3f}"
                                             for name, value in derivative_maxima.items()))
    plot_boundaries(networks, x, y, accuracies, args.out)
    plot_activations(curves, args.out)
    print(f"figures: {args.out / 'decision_boundaries.png'}, {args.out / 'activations.png'}")
    sigmoid_x, sigmoid_y, sigmoid_dy = curves["sigmoid"]
    return {"accuracies": accuracies, "collapsed_output_difference": output_difference,
            "collapsed_weights": collapsed_weights, "single_layer_weights": single_weights,
            "collapsed_vs_single_difference": weight_difference,
            "derivative_maxima": derivative_maxima,
            "sigmoid_derivative_error": float(abs(sigmoid_dy - sigmoid_y * (1 - sigmoid_y)).max()),
            "tanh_derivative_error": float(abs(curves["tanh"][2] - (1 - curves["tanh"][1] ** 2))
                                           .max())}


if __name__ == "__main__":
    main()
