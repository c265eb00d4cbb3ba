"""
Logic gates
===========

One sigmoid neuron computes AND with the classic hand-set weights: bias -30 and weights 20, 20
give ``sigmoid(-30 + 20 x1 + 20 x2)``, which is 9e-14 unless both inputs are 1 (then 0.99995).
Bias -10 with weights 20, 20 gives OR, and bias 10 with weight -20 gives NOT. Rosenblatt's
perceptron rule (``ganglion.models.perceptron``, weights starting at zero) learns AND and OR
from their four examples in a few epochs, but on XOR it never converges: after a few epochs its
weights return to the same values at the end of every epoch, a cycle that misclassifies
examples forever, because no line separates XOR's classes. A 2-2-1 network of sigmoid units
trained by backpropagation (full-batch SGD with momentum on the binary cross-entropy) solves
XOR: its two hidden units draw two lines, and the output unit combines them.

It prints the three hand-set truth tables, the perceptron's mistakes per epoch on AND (2 3 3 2 1,
no mistake in epoch 6), OR (2 2 1, none in epoch 4) and XOR (not converged after 100 epochs:
from epoch 2 on its weights are the same at the end of every epoch, a cycle), and the XOR
network's outputs (0.001, 0.999, 0.999, 0.001 after 500 steps from seed 0). Backpropagation can
end on a local minimum or plateau of XOR's loss, with some inputs at output near 0.5; the quick
mode restarts from new random weights until one start solves XOR, and the full mode counts how
many of 20 random starts solve it (14 of 20 in the full run, 4.2 s of CPU time). Figure: the four
decision boundaries (``decision_boundaries.png``): AND and OR (hand-set and learned lines),
XOR's perceptron line that fails, and the XOR network's region with its hidden units' lines,
which are the region's edges.

Run: python examples/02_logic_gates.py [--quick] [--out DIR] [--seed N]
"""
import argparse
from pathlib import Path

import ganglion as gn
import ganglion.nn as nn
from ganglion.models import perceptron
from ganglion.viz import pyplot

BINARY_INPUTS = gn.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
TARGETS = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}
#: The classic hand-set sigmoid neurons: (bias, weights).
HAND_SET = {"AND": (-30.0, (20.0, 20.0)), "OR": (-10.0, (20.0, 20.0)), "NOT": (10.0, (-20.0,))}
PERCEPTRON_EPOCHS = 100
XOR_NET_STEPS = 500


def hand_set_neuron(gate, x):
    """``sigmoid(b + w . x)`` with the gate's classic weights."""
    bias, weights = HAND_SET[gate]
    return gn.sigmoid(x @ gn.tensor(weights) + bias)


def learn_with_perceptron_rule(gate, epochs=PERCEPTRON_EPOCHS):
    """Rosenblatt's rule on the gate's four examples, one epoch at a time. Returns the trained
    perceptron, the mistakes of each epoch, and the first epoch whose final weights equal an
    earlier epoch's (the rule is deterministic, so from there it cycles forever), or None."""
    model = perceptron(in_features=2, output="step")
    targets = gn.tensor([float(t) for t in TARGETS[gate]])
    mistakes, weights_after_epoch, cycle_from = [], [], None
    for _ in range(epochs):
        mistakes.append(model.perceptron_rule_step(BINARY_INPUTS, targets, lr=1.0))
        if mistakes[-1] == 0:
            break
        state = (tuple(model.linear.weight.flatten().tolist()), model.linear.bias.item())
        if cycle_from is None and state in weights_after_epoch:
            cycle_from = weights_after_epoch.index(state) + 1
        weights_after_epoch.append(state)
    return model, mistakes, cycle_from


def train_xor_network(seed, steps=XOR_NET_STEPS):
    """A 2-2-1 sigmoid network trained by backpropagation on XOR's four examples. Returns the
    network, the final loss and whether it solved XOR (outputs on the right side of 0.5)."""
    gn.manual_seed(seed)
    network = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1))
    optimizer = gn.optim.SGD(network.parameters(), lr=2.0, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()  # the output sigmoid is applied inside the loss
    targets = gn.tensor([[float(t)] for t in TARGETS["XOR"]])
    for _ in range(steps):
        loss = loss_fn(network(BINARY_INPUTS), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with gn.no_grad():
        outputs = gn.sigmoid(network(BINARY_INPUTS)).flatten().tolist()
    solved = [int(v > 0.5) for v in outputs] == TARGETS["XOR"]
    return network, loss.item(), outputs, solved


def plane(resolution=201):
    grid = gn.linspace(-0.5, 1.5, resolution)
    x1, x2 = gn.meshgrid(grid, grid, indexing="xy")
    return grid.numpy(), x1.shape, gn.stack([x1.flatten(), x2.flatten()], dim=1)


def draw_line(ax, weights, bias, colour, linestyle, label):
    """The line ``w1 x1 + w2 x2 + b = 0`` over the plotted square."""
    w1, w2 = weights
    if w2 != 0:
        ax.plot([-0.5, 1.5], [-(w1 * -0.5 + bias) / w2, -(w1 * 1.5 + bias) / w2], color=colour,
                linestyle=linestyle, lw=2, label=label)
    else:  # a vertical line
        ax.axvline(-bias / w1, color=colour, linestyle=linestyle, lw=2, label=label)


def draw_examples(ax, gate):
    x = BINARY_INPUTS.numpy()
    for cls, marker, colour in ((0, "o", "white"), (1, "s", "red")):
        chosen = [t == cls for t in TARGETS[gate]]
        ax.scatter(x[chosen, 0], x[chosen, 1], marker=marker, s=120, c=colour,
                   edgecolors="black", zorder=3, label=f"target {cls}")


def plot_decision_boundaries(perceptrons, xor_network, out_dir):
    plt = pyplot()
    grid, shape, points = plane()
    fig, axes = plt.subplots(1, 4, figsize=(20, 5.2), constrained_layout=True)
    with gn.no_grad():
        for ax, gate in zip(axes[:2], ("AND", "OR")):
            ax.imshow(hand_set_neuron(gate, points).reshape(shape).numpy(), origin="lower",
                      extent=(-0.5, 1.5, -0.5, 1.5), cmap="Blues", vmin=0, vmax=1)
            bias, weights = HAND_SET[gate]
            draw_line(ax, weights, bias, "black", "--", f"hand-set sigmoid neuron ({bias:g}, "
                      f"{weights[0]:g}, {weights[1]:g})")
            learned = perceptrons[gate]
            draw_line(ax, learned.linear.weight.flatten().tolist(), learned.linear.bias.item(),
                      "green", "-",
                      "learned by the perceptron rule\n(points on it fire: step(0) = 1)")
            ax.set_title(f"{gate}: one neuron suffices\n(shading: the hand-set neuron's output)")
        xor_perceptron = perceptrons["XOR"]
        ax = axes[2]
        ax.imshow(xor_perceptron(points).reshape(shape).numpy(), origin="lower",
                  extent=(-0.5, 1.5, -0.5, 1.5), cmap="Blues", vmin=0, vmax=1)
        draw_line(ax, xor_perceptron.linear.weight.flatten().tolist(),
                  xor_perceptron.linear.bias.item(), "green", "-",
                  f"perceptron's line after {PERCEPTRON_EPOCHS} epochs")
        ax.set_title("XOR: the perceptron rule never converges\n(shading: the perceptron's output)")
        ax = axes[3]
        output = gn.sigmoid(xor_network(points)).reshape(shape).numpy()
        ax.imshow(output, origin="lower", extent=(-0.5, 1.5, -0.5, 1.5), cmap="Blues",
                  vmin=0, vmax=1)
        ax.contour(grid, grid, output, levels=[0.5], colors="black", linewidths=5)
        ax.plot([], [], "k-", lw=5, label="network output = 0.5")
        hidden = xor_network[0]
        for unit, colour in enumerate(("orange", "magenta")):
            draw_line(ax, hidden.weight[unit].tolist(), hidden.bias[unit].item(), colour, ":",
                      f"hidden unit {unit + 1}: w.x + b = 0")
        ax.set_title("XOR: a 2-2-1 network trained by backpropagation\n(shading: the network's "
                     "output)")
    for ax, gate in zip(axes, ("AND", "OR", "XOR", "XOR")):
        draw_examples(ax, gate)
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylim(-0.5, 1.5)
        ax.set_xlabel("input x1 (0 = false, 1 = true)")
        ax.set_ylabel("input x2 (0 = false, 1 = true)")
        ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    fig.suptitle("Decision boundaries of the logic gates (shading: output from 0, white, "
                 "to 1, blue)")
    fig.savefig(out_dir / "decision_boundaries.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Logic gates: hand-set neurons, the perceptron "
                                     "rule, and XOR by backpropagation")
    parser.add_argument("--quick", action="store_true",
                        help="train the XOR network from one start only (for the tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/02_logic_gates"))
    parser.add_argument("--seed", type=int, default=0, help="first random start of the XOR net")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}

    print("hand-set sigmoid neurons (bias, weights):")
    for gate, (bias, weights) in HAND_SET.items():
        inputs = BINARY_INPUTS if gate != "NOT" else gn.tensor([[0.0], [1.0]])
        outputs = hand_set_neuron(gate, inputs).tolist()
        results[f"hand_set_{gate}"] = [int(round(v)) for v in outputs]
        print(f"  {gate:3s} ({bias:g}, {weights}): outputs "
              + ", ".join(f"{v:.2g}" for v in outputs) + f" -> {results[f'hand_set_{gate}']}")

    perceptrons = {}
    for gate in ("AND", "OR", "XOR"):
        model, mistakes, cycle_from = learn_with_perceptron_rule(gate)
        perceptrons[gate] = model
        converged = mistakes[-1] == 0
        with gn.no_grad():
            learned = [int(v) for v in model(BINARY_INPUTS).tolist()]
        results[f"perceptron_{gate}_converged"] = converged
        results[f"perceptron_{gate}_epochs"] = len(mistakes)
        results[f"perceptron_{gate}_outputs"] = learned
        shown = " ".join(map(str, mistakes[:8])) + (" ..." if len(mistakes) > 8 else "")
        if converged:
            print(f"perceptron rule on {gate}: mistakes per epoch {shown}; converged (no mistake "
                  f"in epoch {len(mistakes)}), outputs {learned}")
        else:
            results["perceptron_XOR_cycle_from_epoch"] = cycle_from
            print(f"perceptron rule on {gate}: mistakes per epoch {shown}; not converged after "
                  f"{len(mistakes)} epochs (the weights at the end of every epoch repeat from "
                  f"epoch {cycle_from}: a cycle), outputs {learned}")

    # Quick: random starts until one solves XOR (at most 10). Full: all of 20 starts, counted.
    starts = 10 if args.quick else 20
    solved_starts, network, stuck_losses = 0, None, []
    for seed in range(args.seed, args.seed + starts):
        candidate, loss, outputs, solved = train_xor_network(seed)
        solved_starts += solved
        if not solved:
            stuck_losses.append(loss)
        if solved and network is None:
            network, network_outputs, network_seed = candidate, outputs, seed
        if args.quick and network is not None:
            break
    if network is None:
        raise RuntimeError("no random start of the 2-2-1 network solved XOR")
    print(f"2-2-1 sigmoid network after {XOR_NET_STEPS} steps of backpropagation (seed "
          f"{network_seed}): outputs " + ", ".join(f"{v:.3f}" for v in network_outputs)
          + f" -> {[int(v > 0.5) for v in network_outputs]}")
    results["xor_network_outputs"] = network_outputs
    results["xor_network_solved"] = [int(v > 0.5) for v in network_outputs] == TARGETS["XOR"]
    if not args.quick:
        stuck = (f"; the others end on a local minimum or plateau of the loss (loss "
                 f"{min(stuck_losses):.3f} to {max(stuck_losses):.3f}, some inputs at output "
                 "near 0.5)" if stuck_losses else "")
        print(f"{solved_starts} of {starts} random starts solve XOR{stuck}")
        results["xor_solved_fraction"] = solved_starts / starts

    plot_decision_boundaries(perceptrons, network, args.out)
    print(f"figure: {args.out / 'decision_boundaries.png'}")
    return results


if __name__ == "__main__":
    main()
