"""
Vanishing and exploding gradients
=================================

Backpropagation through time multiplies the gradient by the recurrent Jacobian once per step, so
in a plain RNN whose recurrent weights scale a vector by 0.9 per step, the gradient that reaches
step 0 of a sequence of length T is about 0.9^T of the one at the end (0.9^100 = 2.7e-5: it
vanishes), and with 1.1 per step it is about 1.1^T (1.1^100 = 1.4e4: it explodes). This
example measures that on a real ``nn.RNN`` (32 tanh units, recurrent matrix ``weight_hh_l0`` set
to 0.9 or 1.1 times a random orthogonal matrix, which scales every vector by exactly that
factor): for each length T it runs the RNN from a small initial state (norm 1e-6, where tanh is
nearly linear) on zero inputs, takes the loss r . h_T for a fixed unit vector r, and reads
the norm of the gradient with respect to the initial state h_0 (``h0.grad``). The same is done
for an ``nn.LSTM``, whose cell state is updated additively, c_t = f_t * c_{t-1} + i_t * g_t: the
gradient through the cell is multiplied by the forget gate f_t per step instead of by the
recurrent matrix, so scaling the recurrent weights 0.9 or 1.1 changes little, and the forget
gate's bias decides how far the gradient reaches (bias 0 gives f = 0.5 and a fast decay; bias 5
gives f = 0.993 and the gradient still arrives after 100 steps).

Then gradient clipping: a tanh RNN with recurrent weights 1.1 x orthogonal learns, by plain SGD
(learning rate 0.05; Adam would hide the gradient's scale), to output the normalised sum of 50
random inputs. Without clipping, the occasional exploding gradient throws the weights far away and
the loss stays near that of predicting 0; with ``nn.utils.clip_grad_norm_`` (max norm 1) or
``nn.utils.clip_grad_value_`` (each component to [-0.1, 0.1]) the same training learns.

It prints the ratio of the RNN's gradient norms at T = 100 and T = 1 against 0.9^99 and 1.1^99, the
LSTM's, and the mean loss of the last 50 training steps without and with each clipping. Full run
(lengths 1-100, 400 SGD steps per run; 53 s of CPU time, 15 min of wall time on a shared, busy
2-core machine): the RNN's gradient over 100 steps is 2.95e-5 (x 0.9) and 1.25e4 (x 1.1) times the
one over 1 step, equal to 0.9^99 and 1.1^99 to three digits; the LSTM's falls to 1e-29 with forget
bias 0 and stays between 0.4 and 0.61 with forget bias 4, for both scales; the exploding RNN's loss
over the last 50 steps is 1.07 without clipping (the loss of predicting 0 is 1), 0.43 with
``clip_grad_norm_`` and 0.36 with ``clip_grad_value_``. Figure
(``vanishing_exploding_gradients.png``): gradient norm vs distance in time (log scale) for the RNN
and the LSTM, the loss curves with and without clipping, and the gradient norm before clipping at
each step. Quick mode: lengths up to 40, 60 training steps per run.

Run: python examples/15_vanishing_exploding_gradients.py [--quick] [--out DIR] [--seed N]
"""
import argparse
from pathlib import Path

import numpy as np

import ganglion as gn
import ganglion.nn as nn
from ganglion.viz import pyplot

HIDDEN = 32
INITIAL_STATE_NORM = 1e-6      # small, so tanh stays in its linear range even after 1.1^100
FORGET_BIASES = (0.0, 4.0)
INPUT_GATE_BIAS = -3.0         # i = 0.047: the cell mostly keeps what it holds
CLIP_MAX_NORM = 1.0
CLIP_VALUE = 0.1
TASK_LENGTH = 50
TASK_BATCH = 32
SGD_LEARNING_RATE = 0.05


def orthogonal(rows, columns, rng):
    """A (rows, columns) matrix with orthonormal columns (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(rng.standard_normal((rows, columns)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def rnn_with_scale(scale, seed, nonlinearity="tanh"):
    """An nn.RNN(1, HIDDEN) whose recurrent matrix is ``scale`` x an orthogonal matrix: it
    multiplies the norm of every state vector by exactly ``scale``."""
    gn.manual_seed(seed)
    rnn = nn.RNN(1, HIDDEN, batch_first=True, nonlinearity=nonlinearity)
    with gn.no_grad():
        rnn.weight_hh_l0.copy_(gn.from_numpy(scale * orthogonal(HIDDEN, HIDDEN,
                                                                np.random.default_rng(seed))))
        # no biases: with zero inputs the state then stays small and tanh nearly linear
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    return rnn


def lstm_with_scale(scale, forget_bias, seed):
    """An nn.LSTM(1, HIDDEN) with each gate's recurrent block ``scale`` x an orthogonal matrix,
    the forget gate's bias set to ``forget_bias``, the input gate's to INPUT_GATE_BIAS and the
    others to 0 (PyTorch's gate order: i, f, g, o)."""
    gn.manual_seed(seed)
    lstm = nn.LSTM(1, HIDDEN, batch_first=True)
    rng = np.random.default_rng(seed)
    blocks = np.concatenate([scale * orthogonal(HIDDEN, HIDDEN, rng) for _ in range(4)])
    bias = np.zeros(4 * HIDDEN, np.float32)
    bias[:HIDDEN] = INPUT_GATE_BIAS
    bias[HIDDEN:2 * HIDDEN] = forget_bias
    with gn.no_grad():
        lstm.weight_hh_l0.copy_(gn.from_numpy(blocks))
        lstm.bias_ih_l0.copy_(gn.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
    return lstm


def gradient_reaching_step_zero(recurrent, lengths, seed):
    """For each sequence length T: ||d(r . h_T) / d(initial state)|| on zero inputs, from a
    small random initial state (for an LSTM, the gradient with respect to h_0 and c_0).
    Computed in float64: the LSTM's vanishing gradient falls below float32's range."""
    recurrent = recurrent.double()
    rng = np.random.default_rng(seed)
    readout = rng.standard_normal(HIDDEN)
    readout /= np.linalg.norm(readout)
    start = rng.standard_normal((1, 1, HIDDEN))
    start *= INITIAL_STATE_NORM / np.linalg.norm(start)
    is_lstm = isinstance(recurrent, nn.LSTM)
    norms = []
    for length in lengths:
        h0 = gn.from_numpy(start.copy()).requires_grad_()
        c0 = gn.from_numpy(start.copy()).requires_grad_()
        inputs = gn.zeros(1, length, 1, dtype=gn.float64)
        outputs, _ = recurrent(inputs, (h0, c0) if is_lstm else h0)
        loss = (outputs[0, -1] * gn.from_numpy(readout)).sum()
        loss.backward()
        squared = float((h0.grad ** 2).sum()) + (float((c0.grad ** 2).sum()) if is_lstm else 0)
        norms.append(np.sqrt(squared))
    return np.array(norms)


def train_summing_task(clipping, steps, seed):
    """SGD on 'output the normalised sum of TASK_LENGTH random inputs' with a tanh RNN whose
    recurrent weights are 1.1 x orthogonal; ``clipping`` is None, 'norm' or 'value'.
    Returns the loss and the gradient norm (before clipping) at each step."""
    rnn = rnn_with_scale(1.1, seed)
    readout = nn.Linear(HIDDEN, 1)
    parameters = list(rnn.parameters()) + list(readout.parameters())
    optimizer = gn.optim.SGD(parameters, lr=SGD_LEARNING_RATE)
    rng = np.random.default_rng(seed + 1)   # the same batches for every clipping choice
    losses, gradient_norms = [], []
    for _ in range(steps):
        inputs = rng.standard_normal((TASK_BATCH, TASK_LENGTH, 1)).astype(np.float32)
        targets = inputs.sum(axis=1) / np.sqrt(TASK_LENGTH)    # variance 1: predicting 0 gives 1
        outputs, _ = rnn(gn.from_numpy(inputs))
        loss = nn.functional.mse_loss(readout(outputs[:, -1]), gn.from_numpy(targets))
        optimizer.zero_grad()
        loss.backward()
        if clipping == "norm":
            # returns the total norm before clipping
            gradient_norms.append(float(nn.utils.clip_grad_norm_(parameters, CLIP_MAX_NORM)))
        else:
            gradient_norms.append(float(nn.utils.clip_grad_norm_(parameters, float("inf"))))
            if clipping == "value":
                nn.utils.clip_grad_value_(parameters, CLIP_VALUE)
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses), np.array(gradient_norms)


def plot(lengths, rnn_norms, lstm_norms, training, out_dir):
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(14, 10), constrained_layout=True)
    ax = axes[0, 0]
    for (scale, norms), colour in zip(rnn_norms.items(), ("tab:blue", "tab:red")):
        ax.plot(lengths, norms, "o-", ms=3, color=colour, label=f"RNN, weights x {scale}: measured")
        ax.plot(lengths, norms[0] * scale ** (lengths - lengths[0]), "--", color="black", lw=1,
                label=f"{scale}^T" if scale == 0.9 else f"{scale}^T (scaled to the first point)")
    ax.set_title("Plain RNN: gradient reaching step 0")
    ax = axes[0, 1]
    styles = {0.9: "-", 1.1: ":"}
    colours = dict(zip(FORGET_BIASES, ("tab:purple", "tab:green")))
    for (scale, bias), norms in lstm_norms.items():
        ax.plot(lengths, norms, styles[scale], color=colours[bias], lw=2,
                label=f"LSTM, weights x {scale}, forget bias {bias:g} "
                      f"(f = {1 / (1 + np.exp(-bias)):.3f})")
    ax.set_title("LSTM: the forget gate, not the weights' scale, sets the decay")
    for ax in axes[0]:
        ax.set_yscale("log")
        ax.set_xlabel("distance in time T (steps between step 0 and the loss)")
        ax.set_ylabel("||d loss / d initial state|| (log scale)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    names = {None: "no clipping", "norm": f"clip_grad_norm_ (max norm {CLIP_MAX_NORM:g})",
             "value": f"clip_grad_value_ (|g| <= {CLIP_VALUE:g})"}
    colours = {None: "tab:red", "norm": "tab:blue", "value": "tab:green"}
    window = 10
    for clipping, (losses, gradient_norms) in training.items():
        steps = np.arange(1, len(losses) + 1)
        smoothed = np.convolve(losses, np.ones(window) / window, mode="valid")
        axes[1, 0].plot(steps[window - 1:], smoothed, color=colours[clipping], lw=2,
                        label=names[clipping])
        axes[1, 1].plot(steps, gradient_norms, color=colours[clipping], lw=1,
                        label=names[clipping])
    axes[1, 0].axhline(1.0, color="gray", ls="--", lw=1, label="loss of always predicting 0")
    axes[1, 0].set_title("Exploding RNN (weights x 1.1), plain SGD: training loss")
    axes[1, 0].set_ylabel(f"mean squared error (mean of {window} steps, log scale)")
    axes[1, 1].set_title("Gradient norm before clipping, each step")
    axes[1, 1].set_ylabel("||gradient|| of all parameters (log scale)")
    for ax, place in zip(axes[1], ("center right", "upper right")):
        ax.set_yscale("log")
        ax.set_xlabel(f"training step (batches of {TASK_BATCH} sequences of {TASK_LENGTH} steps)")
        ax.legend(fontsize=8, loc=place)
    fig.savefig(out_dir / "vanishing_exploding_gradients.png", dpi=100, bbox_inches="tight")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description="Vanishing and exploding gradients in RNNs")
    parser.add_argument("--quick", action="store_true",
                        help="lengths up to 40 and 60 training steps (for tests)")
    parser.add_argument("--out", type=Path, default=Path("runs/15_vanishing_exploding_gradients"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    longest, steps = (40, 60) if args.quick else (100, 400)
    lengths = np.arange(1, longest + 1, 3)
    if lengths[-1] != longest:
        lengths = np.append(lengths, longest)
    rnn_norms = {scale: gradient_reaching_step_zero(rnn_with_scale(scale, args.seed), lengths,
                                                    args.seed) for scale in (0.9, 1.1)}
    lstm_norms = {(scale, bias): gradient_reaching_step_zero(
        lstm_with_scale(scale, bias, args.seed), lengths, args.seed)
        for scale in (0.9, 1.1) for bias in FORGET_BIASES}
    results = {"longest": int(longest)}
    for scale, norms in rnn_norms.items():
        ratio = norms[-1] / norms[0]
        expected = scale ** (longest - lengths[0])
        print(f"plain RNN, recurrent weights x {scale}: the gradient reaching step 0 over "
              f"T = {longest} steps is {ratio:.3g} times that over T = {lengths[0]} "
              f"({scale}^{longest - lengths[0]} = {expected:.3g})")
        results[f"rnn_{scale}_ratio"] = float(ratio)
        results[f"rnn_{scale}_expected_ratio"] = float(expected)
    for (scale, bias), norms in lstm_norms.items():
        print(f"LSTM, recurrent weights x {scale}, forget-gate bias {bias:g}: gradient norm "
              f"{norms[0]:.3g} at T = {lengths[0]}, {norms[-1]:.3g} at T = {longest}")
        results[f"lstm_{scale}_bias{bias:g}_ratio"] = float(norms[-1] / norms[0])
    training = {clipping: train_summing_task(clipping, steps, args.seed)
                for clipping in (None, "norm", "value")}
    tail = 50 if not args.quick else 20
    for clipping, (losses, gradient_norms) in training.items():
        name = {None: "without clipping", "norm": "clip_grad_norm_", "value": "clip_grad_value_"}
        print(f"exploding RNN trained {steps} SGD steps, {name[clipping]}: mean loss of the "
              f"last {tail} steps {np.nanmean(losses[-tail:]):.3f}, largest gradient norm "
              f"{np.nanmax(gradient_norms):.3g}")
        key = "none" if clipping is None else clipping
        results[f"loss_{key}"] = float(np.mean(losses[-tail:]))
        results[f"max_gradient_norm_{key}"] = float(np.nanmax(gradient_norms))
    plot(lengths, rnn_norms, lstm_norms, training, args.out)
    print(f"figure: {args.out / 'vanishing_exploding_gradients.png'}")
    return results


if __name__ == "__main__":
    main()
