"""
Gradient descent
================

Gradient descent steps against the gradient: ``w <- w - lr * dL/dw``, the gradient taken by
autograd and the step made by ``ganglion.optim.SGD``. The learning rate decides everything:

* On the 1-D loss ``L(x) = x^2`` from x = 4, each step multiplies x by ``1 - 2 lr``: lr = 0.02
  creeps (x = 1.77 after 20 steps), lr = 0.3 converges (x = 4e-8), lr = 1.05 overshoots further
  every step and diverges (x = 27).
* On the 2-D loss ``L(x, y) = (x^2 + 10 y^2) / 2``, whose curvature is 1 along x and 10 along y,
  a rate above 2 / 10 = 0.2 diverges along y while a rate far below it barely moves along x:
  lr = 0.01, 0.15 and 0.21 show both failures and the path that works.
* On ``L(x) = x^4 - 3 x^2 + x``, with a global minimum at x = -1.30 and a local one at x = 1.13,
  every start left of the local maximum at x = 0.17 ends in the global minimum and every start
  right of it in the local one: gradient descent finds the minimum of the basin it starts in.
* A least-squares line fit (intercept and slope, ``L(w) = |X w - y|^2 / 2n``) is solved three
  ways: gradient descent with lr = 1 / (largest eigenvalue of the Hessian ``X^T X / n``) takes
  hundreds of iterations to come within 1e-6 of the answer, Newton's method
  ``w <- w - H^-1 grad`` (the Hessian from ``ganglion.autograd.functional.hessian``) lands on it
  in one step because the loss is quadratic, and the closed form solves the normal equations
  ``X^T X w = X^T y`` (``ganglion.linalg.solve``).

It prints the final point of each path, the basin each start ends in, and the least-squares
comparison (iterations and the distance to the closed-form solution). Full run (41 starts,
1.8 s of CPU time): 1-D x = 1.77 / 4.4e-8 / 26.9 after 20 steps; 2-D after 60 steps
(-2.46, 0.003) not converged, (-0.0003, 0) converged, y = 457 diverged; starts up to x = 0.1 end
at -1.301 (L = -3.514), from 0.2 on at 1.131 (L = -1.070); least squares (200 points, Hessian
condition number 32.8): gradient descent 466 iterations to within 1e-6 of the closed form
(1.0236, 1.9684), Newton's method 1 iteration, 1.7e-14 from it. Figures:
``learning_rates.png`` (1-D and 2-D paths), ``local_and_global_minimum.png`` and
``least_squares.png`` (the paths of gradient descent and Newton's method over the loss contours,
and the distance to the solution per iteration). Quick mode: 11 starts instead of 41.

Run: python examples/07_gradient_descent.py [--quick] [--out DIR] [--seed N]
"""
import argparse
from pathlib import Path

import numpy as np

import ganglion as gn
from ganglion.autograd.functional import hessian
from ganglion.viz import pyplot

LEARNING_RATES_1D = {"too small": 0.02, "good": 0.3, "too large": 1.05}
LEARNING_RATES_2D = {"too small": 0.01, "good": 0.15, "too large": 0.21}
CURVATURE_2D = (1.0, 10.0)
COLOURS = {"too small": "tab:blue", "good": "tab:green", "too large": "tab:red"}


def quadratic_1d(x):
    return x ** 2


def quadratic_2d(w):
    return (CURVATURE_2D[0] * w[0] ** 2 + CURVATURE_2D[1] * w[1] ** 2) / 2


def two_minima(x):
    """x^4 - 3 x^2 + x: global minimum near -1.30, local minimum near 1.13."""
    return x ** 4 - 3 * x ** 2 + x


def descend(loss_fn, start, lr, steps):
    """Plain gradient descent with optim.SGD; returns the path (steps + 1, ...) as an array.
    ``loss_fn`` may return one loss per coordinate (many independent starts at once): their sum
    has the same gradient for each start."""
    w = gn.tensor(start, dtype=gn.float64, requires_grad=True)
    optimizer = gn.optim.SGD([w], lr=lr)
    path = [w.detach().numpy().copy()]
    for _ in range(steps):
        loss = loss_fn(w).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(w.detach().numpy().copy())
    return np.array(path)


def verdict(loss_fn, path):
    start_loss = float(loss_fn(gn.tensor(path[0], dtype=gn.float64)))
    end_loss = float(loss_fn(gn.tensor(path[-1], dtype=gn.float64)))
    if end_loss < 1e-6:
        return "converged"
    return "diverged" if end_loss > start_loss else "not converged yet"


def least_squares_problem(n, seed):
    """Points on the line y = 1 + 2 x plus noise, x in [0, 4]; the design matrix has a column
    of ones (the intercept) and the column of x. Returns X (n, 2) and y (n,), float64."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 4, n)
    y = 1.0 + 2.0 * x + 0.5 * rng.standard_normal(n)
    # from_numpy keeps float64 (gn.tensor would make float32 of it, ganglion's default)
    return gn.from_numpy(np.stack([np.ones(n), x], axis=1)), gn.from_numpy(y)


def least_squares_three_ways(X, y, tolerance=1e-6, max_iterations=100_000):
    """Closed form, gradient descent until within ``tolerance`` of it, and Newton's method."""
    n = X.shape[0]

    def loss_fn(w):
        return ((X @ w - y) ** 2).sum() / (2 * n)

    closed_form = gn.linalg.solve(X.T @ X, X.T @ y)
    hessian_matrix = X.T @ X / n
    largest_curvature = gn.linalg.eigvalsh(hessian_matrix).max().item()
    start = gn.tensor([-2.0, -1.0], dtype=gn.float64)

    w = start.clone().requires_grad_()
    optimizer = gn.optim.SGD([w], lr=1.0 / largest_curvature)
    gd_path = [w.detach().numpy().copy()]
    while (w.detach() - closed_form).norm().item() > tolerance and len(gd_path) <= max_iterations:
        loss = loss_fn(w)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        gd_path.append(w.detach().numpy().copy())

    w = start.clone().requires_grad_()
    newton_path = [w.detach().numpy().copy()]
    while (w.detach() - closed_form).norm().item() > tolerance and len(newton_path) <= 50:
        (gradient,) = gn.autograd.grad(loss_fn(w), [w])
        curvature = hessian(loss_fn, w.detach())
        w = (w.detach() - gn.linalg.solve(curvature, gradient)).requires_grad_()
        newton_path.append(w.detach().numpy().copy())
    return {"closed_form": closed_form.numpy(), "gd_path": np.array(gd_path),
            "newton_path": np.array(newton_path), "lr": 1.0 / largest_curvature,
            "condition_number": float(np.linalg.cond(hessian_matrix.numpy())),
            "hessian_autograd": hessian(loss_fn, start).numpy(),
            "hessian_formula": hessian_matrix.numpy(), "X": X, "y": y}


def plot_learning_rates(paths_1d, paths_2d, out_dir):
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5.5), constrained_layout=True)
    xs = np.linspace(-5, 5, 400)
    ax1.plot(xs, xs ** 2, "k-", lw=1, label="loss L(x) = x^2")
    for name, path in paths_1d.items():
        shown = path[np.abs(path) < 5.5]
        ax1.plot(shown, shown ** 2, "o-", ms=4, lw=1, color=COLOURS[name],
                 label=f"lr = {LEARNING_RATES_1D[name]} ({name}): x = {path[-1]:.3g} after "
                       f"{len(path) - 1} steps")
    ax1.set_xlim(-5.5, 5.5)
    ax1.set_ylim(-1, 30)
    ax1.set_xlabel("parameter x")
    ax1.set_ylabel("loss L(x)")
    ax1.set_title("1-D: gradient descent from x = 4 at three learning rates")
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    grid_x, grid_y = np.meshgrid(np.linspace(-5, 5, 200), np.linspace(-3, 3, 200))
    surface = (CURVATURE_2D[0] * grid_x ** 2 + CURVATURE_2D[1] * grid_y ** 2) / 2
    contours = ax2.contour(grid_x, grid_y, surface, levels=[0.1, 0.5, 1, 2, 4, 8, 16, 32],
                           colors="gray", linewidths=0.8)
    ax2.clabel(contours, fontsize=7)
    for name, path in paths_2d.items():
        inside = np.all(np.abs(path) < [5.5, 3.5], axis=1)
        ax2.plot(path[inside, 0], path[inside, 1], "o-", ms=3, lw=1, color=COLOURS[name],
                 label=f"lr = {LEARNING_RATES_2D[name]} ({name}): ends at "
                       f"({path[-1, 0]:.2g}, {path[-1, 1]:.2g})")
    ax2.plot(0, 0, "k*", ms=14, label="minimum")
    ax2.set_xlim(-5, 5)
    ax2.set_ylim(-3, 3)
    ax2.set_xlabel("parameter x (curvature 1)")
    ax2.set_ylabel("parameter y (curvature 10)")
    ax2.set_title("2-D: L = (x^2 + 10 y^2) / 2 from (-4.5, 1.5); lr must stay below 2/10")
    ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    fig.savefig(out_dir / "learning_rates.png", dpi=100, bbox_inches="tight")
    return fig


def plot_minima(starts, ends, out_dir):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 5.5), constrained_layout=True)
    xs = np.linspace(-2.1, 2.1, 400)
    ax.plot(xs, two_minima(xs), "k-", lw=1.5, label="loss L(x) = x^4 - 3x^2 + x")
    to_global = ends < 0
    for chosen, colour, where in ((to_global, "tab:green", "global minimum"),
                                  (~to_global, "tab:orange", "local minimum")):
        ax.scatter(starts[chosen], two_minima(starts[chosen]), c=colour, s=40, zorder=3,
                   label=f"start that ends in the {where}")
        ax.scatter(ends[chosen][:1], two_minima(ends[chosen][:1]), c=colour, marker="*", s=300,
                   edgecolors="black", zorder=4, label=f"{where}, x = {ends[chosen][0]:.2f}")
    ax.axvline(starts[~to_global].min() - (starts[1] - starts[0]) / 2, color="gray", ls=":",
               label="border between the two basins")
    ax.set_xlabel("parameter x")
    ax.set_ylabel("loss L(x)")
    ax.set_title("Where gradient descent ends depends on where it starts")
    ax.legend(fontsize=9, loc="upper center")
    fig.savefig(out_dir / "local_and_global_minimum.png", dpi=100, bbox_inches="tight")
    return fig


def plot_least_squares(solutions, out_dir):
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5.5), constrained_layout=True)
    closed, gd, newton = solutions["closed_form"], solutions["gd_path"], solutions["newton_path"]
    b, m = np.meshgrid(np.linspace(-3, 4, 200), np.linspace(-1.5, 3.5, 200))
    X, y = solutions["X"], solutions["y"]
    grid = gn.from_numpy(np.stack([b.ravel(), m.ravel()]))             # (2, points)
    surface = (((X @ grid - y.reshape(-1, 1)) ** 2).mean(dim=0) / 2).reshape(b.shape).numpy()
    lowest = float(surface.min())
    contours = ax1.contour(b, m, surface, levels=lowest + np.array([0.02, 0.1, 0.5, 2, 5, 10, 20]),
                           colors="gray", linewidths=0.8)
    ax1.clabel(contours, fontsize=7)
    ax1.plot(gd[:, 0], gd[:, 1], ".-", ms=3, lw=1, color="tab:blue",
             label=f"gradient descent, lr = 1/L_max = {solutions['lr']:.3f}: "
                   f"{len(gd) - 1} iterations")
    ax1.plot(newton[:, 0], newton[:, 1], "s-", ms=7, lw=2, color="tab:red",
             label=f"Newton's method: {len(newton) - 1} iteration")
    ax1.plot(*closed, "k*", ms=16, label=f"closed form ({closed[0]:.3f}, {closed[1]:.3f})")
    ax1.set_xlabel("intercept w0")
    ax1.set_ylabel("slope w1")
    ax1.set_title("Least squares: paths over the contours of the loss (mean squared error / 2)")
    ax1.plot(*gd[0], "ko", ms=8, mfc="none", label=f"start ({gd[0, 0]:g}, {gd[0, 1]:g})")
    ax1.legend(fontsize=8, loc="upper right")
    for path, style, colour, name in ((gd, "-", "tab:blue", "gradient descent"),
                                      (newton, "s-", "tab:red", "Newton's method")):
        distance = np.linalg.norm(path - closed, axis=1)
        ax2.semilogy(np.arange(len(path)), np.maximum(distance, 1e-17), style, color=colour,
                     label=name)
    ax2.axhline(1e-6, color="gray", ls=":", label="tolerance 1e-6")
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("distance to the closed-form solution |w - w*|")
    ax2.set_title("Convergence: one Newton step against hundreds of gradient steps")
    ax2.legend(fontsize=9)
    fig.savefig(out_dir / "least_squares.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Gradient descent: learning rates, minima, "
                                     "and Newton's method on least squares")
    parser.add_argument("--quick", action="store_true", help="11 starts instead of 41")
    parser.add_argument("--out", type=Path, default=Path("runs/07_gradient_descent"))
    parser.add_argument("--seed", type=int, default=0, help="seed of the least-squares data")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}

    paths_1d = {name: descend(quadratic_1d, 4.0, lr, 20).ravel()
                for name, lr in LEARNING_RATES_1D.items()}
    paths_2d = {name: descend(quadratic_2d, [-4.5, 1.5], lr, 60)
                for name, lr in LEARNING_RATES_2D.items()}
    for label, paths, rates, loss_fn in (("1-D", paths_1d, LEARNING_RATES_1D, quadratic_1d),
                                         ("2-D", paths_2d, LEARNING_RATES_2D, quadratic_2d)):
        for name, path in paths.items():
            outcome = verdict(loss_fn, path)
            results[f"{label} {name}"] = {"lr": rates[name], "end": path[-1].tolist(),
                                          "outcome": outcome}
            print(f"{label} loss, lr = {rates[name]:<5} ({name:9s}): after {len(path) - 1} "
                  f"steps at {np.array2string(path[-1], precision=3)}: {outcome}")

    starts = np.linspace(-2, 2, 11 if args.quick else 41)
    ends = descend(two_minima, starts, 0.01, 1000)[-1]
    border = (starts[ends < 0].max(), starts[ends > 0].min())
    print(f"x^4 - 3x^2 + x from {len(starts)} starts in [-2, 2]: the starts up to x = "
          f"{border[0]:.1f} end at x = {ends[ends < 0].min():.3f} (global minimum, L = "
          f"{two_minima(ends[ends < 0].min()):.3f}), those from x = {border[1]:.1f} at x = "
          f"{ends[ends > 0].max():.3f} (local minimum, L = {two_minima(ends[ends > 0].max()):.3f})")
    results["minima"] = {"starts": starts.tolist(), "ends": ends.tolist(), "border": border}

    X, y = least_squares_problem(200, args.seed)
    solutions = least_squares_three_ways(X, y)
    closed = solutions["closed_form"]
    gd_iterations = len(solutions["gd_path"]) - 1
    newton_iterations = len(solutions["newton_path"]) - 1
    gd_error = float(np.linalg.norm(solutions["gd_path"][-1] - closed))
    newton_error = float(np.linalg.norm(solutions["newton_path"][-1] - closed))
    print(f"least squares y = w0 + w1 x on {X.shape[0]} points (Hessian condition number "
          f"{solutions['condition_number']:.1f}):")
    print(f"  closed form (normal equations):  w = ({closed[0]:.6f}, {closed[1]:.6f})")
    print(f"  gradient descent, lr = {solutions['lr']:.4f}: {gd_iterations} iterations, "
          f"{gd_error:.1e} from the closed form")
    print(f"  Newton's method:                 {newton_iterations} iteration, "
          f"{newton_error:.1e} from the closed form")
    results["least_squares"] = {
        "closed_form": closed.tolist(), "gd_iterations": gd_iterations, "gd_error": gd_error,
        "newton_iterations": newton_iterations, "newton_error": newton_error,
        "newton_first_step": solutions["newton_path"][1].tolist(),
        "hessian_error": float(np.abs(solutions["hessian_autograd"]
                                      - solutions["hessian_formula"]).max()),
        "X": X.numpy(), "y": y.numpy()}

    plot_learning_rates(paths_1d, paths_2d, args.out)
    plot_minima(starts, ends, args.out)
    plot_least_squares(solutions, args.out)
    print(f"figures: {args.out / 'learning_rates.png'}, "
          f"{args.out / 'local_and_global_minimum.png'}, {args.out / 'least_squares.png'}")
    return results


if __name__ == "__main__":
    main()
