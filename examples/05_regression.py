"""
Regression
==========

A network with one hidden layer of 16 tanh units fits noisy points, once from a straight line
(y = 1.5 x + 0.5) and once from a curve (y = sin(pi x)), each with Gaussian noise of standard
deviation 0.1. The same training is written twice: in eager, PyTorch style (``nn.Sequential``,
``nn.MSELoss``, ``loss.backward()``, ``optim.SGD`` with momentum) and in Theano style with
``ganglion.compat.theano`` (symbolic inputs ``T.dmatrix``, weights in ``theano.shared``
variables, the gradient from ``T.grad``, and one compiled ``theano.function`` whose ``updates=``
apply the momentum step to the weights and velocities). Both start from the same weights, so
they follow the same path: their losses and predictions agree at every step (here to the last
bit, since both run the same kernels in the same order).

It prints, for each data set, the training mean squared error (near the noise variance, 0.01),
the error against the noise-free function on a grid, and the largest difference between the
eager and the Theano-style predictions. Full run (2,000 steps, 2.7 s of CPU time): line
training MSE 0.0098, against the clean line 0.0003; curve training MSE 0.0070, against the clean
curve 0.0006; eager and Theano-style predictions differ by 0. Figure (``regression_fits.png``):
the fitted curve over the points after 0, 20, 100, 500 and all steps, the Theano-style final fit
dashed on top of the eager one, and the two styles' loss curves. Quick mode: 300 steps.

Run: python examples/05_regression.py [--quick] [--out DIR] [--seed N]
"""
import argparse
import math
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.compat.theano as theano
import ganglion.compat.theano.tensor as T
import ganglion.nn as nn
from ganglion.viz import pyplot

HIDDEN = 16
LEARNING_RATE = 0.05
MOMENTUM = 0.9
NOISE = 0.1
TARGETS = {"line": lambda x: 1.5 * x + 0.5, "curve": lambda x: np.sin(math.pi * x)}


def noisy_points(target, n, seed):
    """n points x in [-1, 1] with y = target(x) + Gaussian noise, as float64 arrays (n, 1)."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-1, 1, n))[:, None]
    return x, target(x) + NOISE * rng.standard_normal(x.shape)


def eager_network(seed):
    gn.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1)).double()


def fit_eager(network, x, y, steps, snapshot_steps, x_plot):
    """PyTorch style: forward, loss, backward, optimizer step. Returns the losses and the
    predictions on ``x_plot`` at the snapshot steps."""
    optimizer = gn.optim.SGD(network.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    loss_fn = nn.MSELoss()
    # from_numpy keeps the float64 of the arrays (gn.tensor would give ganglion's float32)
    inputs, targets, plot_inputs = gn.from_numpy(x), gn.from_numpy(y), gn.from_numpy(x_plot)
    losses, snapshots = [], {}
    for step in range(steps + 1):
        if step in snapshot_steps:
            with gn.no_grad():
                snapshots[step] = network(plot_inputs).numpy().ravel()
        if step == steps:
            break
        loss = loss_fn(network(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, snapshots


def theano_style_trainer(initial_network):
    """Theano style: shared weights (copied from the eager network's starting values, so both
    start alike), a symbolic cost, its symbolic gradient, and compiled functions whose
    ``updates`` do SGD with momentum as PyTorch does (v = m v + g; w = w - lr v)."""
    first, second = initial_network[0], initial_network[2]
    weights = [theano.shared(first.weight.detach().numpy().T.copy(), name="W1"),
               theano.shared(first.bias.detach().numpy().copy(), name="b1"),
               theano.shared(second.weight.detach().numpy().T.copy(), name="W2"),
               theano.shared(second.bias.detach().numpy().copy(), name="b2")]
    velocities = [theano.shared(np.zeros_like(w.get_value()), name=f"v_{w.name}")
                  for w in weights]
    x, y = T.dmatrix("x"), T.dmatrix("y")
    W1, b1, W2, b2 = weights
    prediction = T.dot(T.tanh(T.dot(x, W1) + b1), W2) + b2
    cost = T.mean((prediction - y) ** 2)
    gradients = T.grad(cost, weights)
    updates = []
    for w, v, g in zip(weights, velocities, gradients):
        new_velocity = MOMENTUM * v + g
        updates += [(v, new_velocity), (w, w - LEARNING_RATE * new_velocity)]
    train_step = theano.function([x, y], cost, updates=updates)
    predict = theano.function([x], prediction)
    return train_step, predict


def fit_theano_style(initial_network, x, y, steps, x_plot):
    train_step, predict = theano_style_trainer(initial_network)
    losses = [float(train_step(x, y)) for _ in range(steps)]
    return losses, predict(x_plot).ravel()


def plot_fits(runs, out_dir):
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(18, 5), constrained_layout=True)
    for ax, (name, run) in zip(axes, runs.items()):
        ax.scatter(run["x"].ravel(), run["y"].ravel(), s=12, c="gray", label="noisy points")
        ax.plot(run["x_plot"], TARGETS[name](run["x_plot"]), "k:", lw=1.5,
                label="noise-free function")
        colours = plt.cm.viridis(np.linspace(0, 0.9, len(run["snapshots"])))
        for colour, (step, prediction) in zip(colours, run["snapshots"].items()):
            ax.plot(run["x_plot"], prediction, color=colour, lw=2,
                    label=f"eager fit after {step} steps")
        ax.plot(run["x_plot"], run["theano_prediction"], "r--", lw=1.5,
                label="Theano-style fit, final")
        ax.set_title(f"1-{HIDDEN}-1 tanh network fitting a {name}")
        ax.set_xlabel("input x (arbitrary units)")
        ax.set_ylabel("output y (arbitrary units)")
        ax.legend(fontsize=8, loc="upper left")
    ax = axes[2]
    for (name, run), colour in zip(runs.items(), ("tab:blue", "tab:orange")):
        ax.plot(run["eager_losses"], color=colour, lw=3, alpha=0.5, label=f"{name}: eager")
        ax.plot(run["theano_losses"], "--", color=colour, lw=1.2,
                label=f"{name}: Theano style")
    ax.axhline(NOISE ** 2, color="gray", lw=1, label="noise variance 0.01")
    ax.set_yscale("log")
    ax.set_title("Training loss: the two styles give the same curve")
    ax.set_xlabel("training step (full-batch SGD with momentum)")
    ax.set_ylabel("mean squared error (squared units of y)")
    ax.legend(fontsize=8)
    fig.savefig(out_dir / "regression_fits.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Regression, in eager and in Theano style")
    parser.add_argument("--quick", action="store_true", help="300 steps (for tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/05_regression"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    steps = 300 if args.quick else 2000
    snapshot_steps = sorted({0, 20, 100, 500, steps} & set(range(steps + 1)))
    x_plot = np.linspace(-1, 1, 201)[:, None]
    runs, results = {}, {}
    for offset, (name, target) in enumerate(TARGETS.items()):
        x, y = noisy_points(target, 60, args.seed + offset)
        network = eager_network(args.seed + 10 + offset)
        theano_losses, theano_prediction = fit_theano_style(network, x, y, steps, x_plot)
        eager_losses, snapshots = fit_eager(network, x, y, steps, snapshot_steps, x_plot)
        eager_prediction = snapshots[steps]
        clean_error = float(np.mean((eager_prediction - target(x_plot).ravel()) ** 2))
        style_difference = float(np.abs(eager_prediction - theano_prediction).max())
        print(f"{name}: after {steps} steps training MSE eager {eager_losses[-1]:.4f}, Theano "
              f"style {theano_losses[-1]:.4f} (noise variance {NOISE ** 2:.2f}); MSE against "
              f"the noise-free {name} {clean_error:.4f}; eager and Theano-style predictions "
              f"differ by at most {style_difference:.1e}")
        runs[name] = {"x": x, "y": y, "x_plot": x_plot.ravel(), "snapshots": snapshots,
                      "theano_prediction": theano_prediction, "eager_losses": eager_losses,
                      "theano_losses": theano_losses}
        results[name] = {"train_mse_eager": eager_losses[-1],
                         "train_mse_theano": theano_losses[-1],
                         "initial_loss": eager_losses[0], "clean_mse": clean_error,
                         "eager_theano_max_difference": style_difference,
                         "loss_curve_max_difference": float(np.abs(
                             np.subtract(eager_losses, theano_losses)).max())}
    plot_fits(runs, args.out)
    print(f"figure: {args.out / 'regression_fits.png'}")
    return results


if __name__ == "__main__":
    main()
