"""The smallest networks: Rosenblatt's perceptron and logistic regression.

``perceptron(in_features=2, output='step')`` is one linear unit ``z = w.x + b`` followed by a
threshold: ``step`` gives 1 where z >= 0 and 0 elsewhere, ``sign`` gives +1 / -1. It is
trained with the perceptron rule (Rosenblatt 1958), not with gradients: for each example,
``w += lr * (y - yhat) * x`` and ``b += lr * (y - yhat)`` (``perceptron_rule_step``, and
``fit_perceptron`` for whole epochs until no example is misclassified). The rule converges on
linearly separable data (AND, OR) and never on XOR, which no single line separates.

``logistic_regression(in_features, num_classes=1)`` is one ``Linear`` layer whose outputs are
logits: with one class, ``sigmoid(logit)`` is P(y = 1) (train with ``BCEWithLogitsLoss``);
with k classes, ``softmax`` over the k logits (train with ``CrossEntropyLoss``; this is
multinomial logistic regression). ``predict_proba`` applies the link function.

Both flatten each example first (so images can be given as they are) and keep their layer as
``linear``: the state dict keys are ``linear.weight`` and ``linear.bias``.
"""
import numpy as np

from ganglion import nn
from ganglion.core.grad_mode import no_grad
from ganglion.models.input_checks import check_feature_input
from ganglion.models.registry import register_model

__all__ = ["Perceptron", "LogisticRegression", "perceptron", "logistic_regression"]


class Perceptron(nn.Module):
    """A single linear unit with a step (0/1) or sign (-1/+1) output. Weights start at zero,
    as in the classic presentation of the rule."""

    def __init__(self, in_features=2, output="step"):
        super().__init__()
        if output not in ("step", "sign"):
            raise ValueError(f"perceptron: output must be 'step' or 'sign', got {output!r}")
        self.output = output
        self.linear = nn.Linear(in_features, 1)
        with no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()

    def net_input(self, x):
        """``w.x + b`` for each example: shape (N,)."""
        check_feature_input("perceptron", x, self.linear.in_features)
        return self.linear(x.flatten(1)).squeeze(-1)

    def forward(self, x):
        z = self.net_input(x)
        one = (z >= 0).to(z.dtype)
        return one if self.output == "step" else one * 2 - 1

    def _arrays(self):
        return (self.linear.weight.detach().numpy()[0].astype(np.float64),
                float(self.linear.bias.detach().numpy()[0]))

    def _store(self, w, b):
        from ganglion.core.creation import tensor
        dtype = self.linear.weight.dtype
        with no_grad():
            self.linear.weight.copy_(tensor(w[None, :], dtype=dtype))
            self.linear.bias.copy_(tensor([b], dtype=dtype))

    def perceptron_rule_step(self, x, y, lr=1.0):
        """One pass of Rosenblatt's rule over the examples ``x`` (N, in_features) with targets
        ``y`` (N,) in {0, 1} for 'step' or {-1, +1} for 'sign', one example at a time:
        ``w += lr (y - yhat) x``, ``b += lr (y - yhat)``. Returns the number of examples that
        were misclassified when their turn came (0: the pass changed nothing)."""
        xs = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float64)
        check_feature_input("perceptron", xs, self.linear.in_features)
        xs = xs.reshape(len(xs), -1)
        ys = np.asarray(y.numpy() if hasattr(y, "numpy") else y, dtype=np.float64).reshape(-1)
        if len(ys) != len(xs):
            # zip would silently drop the examples (or targets) beyond the shorter one.
            raise ValueError(f"perceptron: {len(xs)} examples in x but {len(ys)} targets in y")
        w, b = self._arrays()
        mistakes = 0
        for xi, yi in zip(xs, ys):
            fired = float(xi @ w + b >= 0)
            yhat = fired if self.output == "step" else 2 * fired - 1
            if yhat != yi:
                mistakes += 1
                w = w + lr * (yi - yhat) * xi
                b = b + lr * (yi - yhat)
        self._store(w, b)
        return mistakes

    def fit_perceptron(self, x, y, lr=1.0, epochs=100):
        """Passes of ``perceptron_rule_step`` until one makes no mistake or ``epochs`` passes
        are done. Returns the mistakes of each pass (the last is 0 when the rule converged)."""
        history = []
        for _ in range(epochs):
            history.append(self.perceptron_rule_step(x, y, lr))
            if history[-1] == 0:
                break
        return history

    def extra_repr(self):
        return f"output={self.output!r}"


class LogisticRegression(nn.Module):
    """One linear layer giving logits; ``predict_proba`` gives sigmoid (one class) or softmax
    (k classes) probabilities."""

    def __init__(self, in_features, num_classes=1):
        super().__init__()
        self.num_classes = num_classes
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x):
        check_feature_input("logistic_regression", x, self.linear.in_features)
        return self.linear(x.flatten(1))

    def predict_proba(self, x):
        logits = self(x)
        return logits.sigmoid() if self.num_classes == 1 else logits.softmax(-1)


@register_model("perceptron", input_shape=(2,),
                description="Rosenblatt's perceptron: one linear unit, step or sign output")
def perceptron(in_features=2, output="step"):
    """Rosenblatt's perceptron: one linear unit on ``in_features`` inputs with a ``"step"``
    (0/1) or ``"sign"`` (-1/+1) output."""
    return Perceptron(in_features, output)


@register_model("logistic_regression", input_shape=(784,),
                description="logistic regression: one Linear layer of logits (784 -> 10)")
def logistic_regression(in_features=784, num_classes=10):
    """Binary (``num_classes=1``: a sigmoid output) or multinomial (k classes: softmax)."""
    return LogisticRegression(in_features, num_classes)
