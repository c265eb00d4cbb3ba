"""
The artificial neuron
=====================

The McCulloch-Pitts neuron (1943) multiplies each binary input by a weight in [-1, 1], adds the
products and fires (outputs 1) when the sum reaches a threshold of 1.0, else outputs 0. With
weights (0.6, 0.6) it computes AND, with (1.0, 1.0) OR, and a negative (inhibitory) weight in
(1.0, -1.0) gives "x1 AND NOT x2". Moving the threshold to the other side of the inequality as
a bias ``b = -1.0`` gives the form every layer uses, ``step(w . x + b)``, with the same truth
tables; that neuron is ``nn.Linear(2, 1)`` followed by a step. Replacing the step by a sigmoid
gives a graded output, ``sigmoid(w . x + b)``, which crosses 0.5 exactly where the step jumps,
and approaches the step as the weights and bias are scaled up (a gain of 10 here).

The example prints the truth tables (AND 0 0 0 1, OR 0 1 1 1, x1 AND NOT x2 0 0 1 0), the
sigmoid neuron's outputs at the four corners (0.269, 0.401, 0.401, 0.550 for AND; with gain 10:
0.000045, 0.018, 0.018, 0.881) and draws the neuron's output over the input plane for the
step, the sigmoid and the sigmoid with gain 10 (``neuron_output_plane.png``). It computes
everything at once, so the quick and full modes are the same (1.3 s of CPU time, imports included).

Run: python examples/01_artificial_neuron.py [--quick] [--out DIR]
"""
import argparse
from pathlib import Path

import ganglion as gn
import ganglion.nn as nn
from ganglion.viz import pyplot

#: The four binary inputs (x1, x2) in the order of a truth table.
BINARY_INPUTS = gn.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
THRESHOLD = 1.0
#: Weights in [-1, 1] for which the threshold-1.0 neuron computes each gate.
GATE_WEIGHTS = {"AND": (0.6, 0.6), "OR": (1.0, 1.0), "x1 AND NOT x2": (1.0, -1.0)}


def threshold_neuron(x, weights, threshold=THRESHOLD):
    """McCulloch-Pitts: 1 where the weighted sum of the inputs reaches the threshold, else 0."""
    weighted_sum = x @ gn.tensor(weights)
    return (weighted_sum >= threshold).to(gn.float32)


def step_neuron_with_bias(x, weights, bias):
    """The threshold moved into a bias: 1 where ``w . x + b >= 0``."""
    return (x @ gn.tensor(weights) + bias >= 0).to(gn.float32)


def sigmoid_neuron(x, weights, bias, gain=1.0):
    """The graded neuron ``sigmoid(gain * (w . x + b))``; a larger gain is a steeper sigmoid."""
    return gn.sigmoid(gain * (x @ gn.tensor(weights) + bias))


def as_linear_layer(weights, bias):
    """The same neuron as PyTorch-style layer: ``nn.Linear(2, 1)`` with the weights set by hand."""
    layer = nn.Linear(2, 1)
    with gn.no_grad():
        layer.weight.copy_(gn.tensor([weights]))
        layer.bias.fill_(bias)
    return layer


def truth_table(outputs):
    return [int(round(v)) for v in outputs.flatten().tolist()]


def plot_output_planes(weights, bias, out_dir):
    """The neuron's output over the input plane [-0.5, 1.5]^2: step, sigmoid, sigmoid x10."""
    plt = pyplot()
    grid = gn.linspace(-0.5, 1.5, 201)
    x1, x2 = gn.meshgrid(grid, grid, indexing="xy")
    plane = gn.stack([x1.flatten(), x2.flatten()], dim=1)
    panels = [("step(w.x + b)", step_neuron_with_bias(plane, weights, bias)),
              ("sigmoid(w.x + b)", sigmoid_neuron(plane, weights, bias)),
              ("sigmoid(10 (w.x + b))", sigmoid_neuron(plane, weights, bias, gain=10.0))]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)
    corners = BINARY_INPUTS.numpy()
    for ax, (title, output) in zip(axes, panels):
        image = ax.imshow(output.reshape(x1.shape).numpy(), origin="lower", cmap="viridis",
                          extent=(-0.5, 1.5, -0.5, 1.5), vmin=0, vmax=1)
        ax.contour(grid.numpy(), grid.numpy(), output.reshape(x1.shape).numpy(), levels=[0.5],
                   colors="white", linewidths=2, linestyles="--")
        ax.scatter(corners[:, 0], corners[:, 1], c="red", s=60, edgecolors="white", zorder=3,
                   label="binary inputs")
        for (a, b), value in zip(corners, truth_outputs(title, weights, bias)):
            ax.annotate(f"{value:.2f}", (a, b), textcoords="offset points", xytext=(6, 6),
                        color="white", fontsize=10, fontweight="bold")
        ax.set_title(f"output = {title}")
        ax.set_xlabel("input x1 (dimensionless)")
        ax.set_ylabel("input x2 (dimensionless)")
        ax.legend(loc="lower left", fontsize=8)
    fig.colorbar(image, ax=axes, label="neuron output (0 = silent, 1 = fires)", shrink=0.9)
    fig.suptitle(f"The AND neuron (w = {weights}, b = {bias}) over the input plane; "
                 "dashed: output = 0.5, the decision line")
    fig.savefig(out_dir / "neuron_output_plane.png", dpi=100, bbox_inches="tight")
    return fig


def truth_outputs(title, weights, bias):
    """The neuron of the panel ``title`` at the four binary inputs."""
    if title.startswith("step"):
        values = step_neuron_with_bias(BINARY_INPUTS, weights, bias)
    elif title.startswith("sigmoid(10"):
        values = sigmoid_neuron(BINARY_INPUTS, weights, bias, gain=10.0)
    else:
        values = sigmoid_neuron(BINARY_INPUTS, weights, bias)
    return values.flatten().tolist()


def main(argv=None):
    parser = argparse.ArgumentParser(description="The McCulloch-Pitts neuron, bias and sigmoid")
    parser.add_argument("--quick", action="store_true",
                        help="accepted for the test suite; this example is always quick")
    parser.add_argument("--out", type=Path, default=Path("runs/01_artificial_neuron"))
    parser.add_argument("--seed", type=int, default=0, help="unused: nothing here is random")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}

    print("McCulloch-Pitts neuron: fires (1) when sum_i w_i x_i >= 1.0")
    print("  x1 x2 | " + " | ".join(f"{gate} w={w}" for gate, w in GATE_WEIGHTS.items()))
    tables = {gate: truth_table(threshold_neuron(BINARY_INPUTS, w))
              for gate, w in GATE_WEIGHTS.items()}
    for row, (a, b) in enumerate(BINARY_INPUTS.tolist()):
        print(f"   {a:.0f}  {b:.0f} | " + " | ".join(
            f"{tables[gate][row]:^{len(gate) + len(str(w)) + 3}}"
            for gate, w in GATE_WEIGHTS.items()))
    results["threshold_tables"] = tables

    and_weights, and_bias = GATE_WEIGHTS["AND"], -THRESHOLD
    with_bias = truth_table(step_neuron_with_bias(BINARY_INPUTS, and_weights, and_bias))
    layer = as_linear_layer(and_weights, and_bias)
    with gn.no_grad():
        layer_table = truth_table((layer(BINARY_INPUTS) >= 0).to(gn.float32))
    print(f"with the threshold as a bias b = {and_bias}: step(w.x + b) gives AND {with_bias}; "
          f"nn.Linear(2, 1) + step gives {layer_table}")
    results["bias_and_table"] = with_bias
    results["linear_layer_and_table"] = layer_table

    sigmoid_and = sigmoid_neuron(BINARY_INPUTS, and_weights, and_bias).flatten().tolist()
    steep_and = sigmoid_neuron(BINARY_INPUTS, and_weights, and_bias, gain=10.0).flatten().tolist()
    print("sigmoid(w.x + b) at the four inputs: " + ", ".join(f"{v:.3f}" for v in sigmoid_and)
          + f" -> above 0.5: {[int(v > 0.5) for v in sigmoid_and]}")
    print("sigmoid(10 (w.x + b)), a steeper sigmoid, approaches the step: "
          + ", ".join(f"{v:.6f}" for v in steep_and))
    results["sigmoid_and_outputs"] = sigmoid_and
    results["sigmoid_and_table"] = [int(v > 0.5) for v in sigmoid_and]
    results["steep_sigmoid_and_outputs"] = steep_and

    plot_output_planes(and_weights, and_bias, args.out)
    print(f"figure: {args.out / 'neuron_output_plane.png'}")
    return results


if __name__ == "__main__":
    main()
