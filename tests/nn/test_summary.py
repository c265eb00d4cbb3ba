"""Tests of nn.summary: one row per layer call with its output shape (batch as -1) and
parameter count, totals equal to PyTorch's count for the same model, trainable and frozen
parameters told apart, and the model left as it was (mode, hooks, values)."""
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion import nn


def mlp(lib):
    return lib.Sequential(OrderedDict([("flatten", lib.Flatten()), ("fc1", lib.Linear(784, 128)),
                                       ("fc2", lib.Linear(128, 64)), ("out", lib.Linear(64, 10))]))


def body(text):
    """The table's lines between the two rules of '='."""
    lines = text.splitlines()
    first, last = [i for i, line in enumerate(lines) if set(line) == {"="}]
    return lines[first + 1:last]


def rows(text):
    """{layer label: (output shape, parameter count)} from the table's body."""
    parsed = {}
    for line in body(text):
        match = re.match(r"(\S+ \(\w+\))\s+(.*?)\s+([\d,]+)$", line)
        parsed[match.group(1)] = (match.group(2), int(match.group(3).replace(",", "")))
    return parsed


def test_rows_shapes_and_totals_match_pytorch_counts(capsys):
    model = mlp(nn)
    text = nn.summary(model, (1, 28, 28))
    assert capsys.readouterr().out.strip() == text.strip()
    assert rows(text) == {
        "flatten (Flatten)": ("(-1, 784)", 0),
        "fc1 (Linear)": ("(-1, 128)", 784 * 128 + 128),
        "fc2 (Linear)": ("(-1, 64)", 128 * 64 + 64),
        "out (Linear)": ("(-1, 10)", 64 * 10 + 10),
    }
    total = sum(p.numel() for p in mlp(torch.nn).parameters())
    assert f"Total params: {total:,}" in text
    assert f"Trainable params: {total:,}" in text
    assert "Non-trainable params: 0" in text


def test_frozen_parameters_are_non_trainable():
    model = mlp(nn)
    model.fc1.requires_grad_(False)
    text = nn.summary(model, (784,), print_fn=None)
    assert f"Trainable params: {128 * 64 + 64 + 64 * 10 + 10:,}" in text
    assert f"Non-trainable params: {784 * 128 + 128:,}" in text


def test_a_layer_used_twice_gets_two_rows_and_counts_once():
    shared = nn.Linear(8, 8)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.shared = shared
            self.gate = nn.Parameter(gn.ones(8))

        def forward(self, x):
            return self.shared(self.shared(x)) * self.gate

    text = nn.summary(Twice(), (8,), print_fn=None)
    lines = body(text)
    assert [line.split()[:2] for line in lines] == [["shared", "(Linear)"], ["shared", "(Linear)"],
                                                    ["(model)", "(Twice)"]]
    assert [line.split()[-1] for line in lines] == ["72", "0", "8"]
    assert "Total params: 80" in text


def test_several_inputs_and_tuple_outputs():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.mix = nn.Bilinear(3, 4, 5)

        def forward(self, a, b):
            y = self.mix(a, b)
            return y, y.sum(-1)

    text = nn.summary(Pair(), [(3,), (4,)], print_fn=None)
    assert rows(text)["mix (Bilinear)"] == ("(-1, 5)", 3 * 4 * 5 + 5)


def test_model_is_left_unchanged():
    model = mlp(nn)
    model.fc2.eval()
    modes = [m.training for m in model.modules()]
    before = [p.detach().numpy().copy() for p in model.parameters()]
    nn.summary(model, (784,), print_fn=None)
    assert [m.training for m in model.modules()] == modes
    assert all(not m._forward_hooks for m in model.modules())
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)
        assert p.grad is None
    assert model(gn.randn(2, 784)).shape == (2, 10)


def test_a_model_that_needs_values_is_run_on_zeros():
    class Branchy(nn.Module):
        """Python control flow on the data: a placeholder cannot answer it."""

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 2)
            self.split = nn.Unflatten(1, (2, 3))

        def forward(self, x):
            if float(x.sum()) > 1e9:
                x = x * 0
            return self.split(x), self.fc(x)

    text = nn.summary(Branchy(), (6,), print_fn=None)
    assert rows(text)["split (Unflatten)"] == ("(-1, 2, 3)", 0)
    assert rows(text)["fc (Linear)"] == ("(-1, 2)", 14)
    assert len(rows(text)) == 2 and "Total params: 14" in text


def test_tuple_outputs_list_every_shape():
    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(gn.ones(4))

        def forward(self, x):
            return x * self.scale, (x * self.scale).sum(-1)

    assert rows(nn.summary(Both(), (3, 4), print_fn=None)) == {
        "(model) (Both)": ("(-1, 3, 4), (-1, 3)", 4)}


def test_a_wrong_input_shape_gives_the_layer_error():
    model = mlp(nn)
    with pytest.raises(ValueError, match=re.escape(
            "Linear(784, 128): expected input with last dimension 784, got shape (1, 756)")):
        nn.summary(model, (1, 28, 27), print_fn=None)
    assert all(not m._forward_hooks for m in model.modules()) and model.training
