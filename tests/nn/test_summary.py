"""Tests of nn.summary: one row per layer call with its output shape (batch as -1), parameter
count and multiply-accumulates (MACs), totals equal to PyTorch's count for the same model,
trainable and frozen parameters told apart, and the model left as it was (mode, hooks,
values). MACs are checked against hand counts (LeNet-5, grouped and depthwise convolutions)
and the factorization ratios the Inception papers quote, computed from real layers."""
import importlib
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.models
from ganglion import nn


def mlp(lib):
    return lib.Sequential(OrderedDict([("flatten", lib.Flatten()), ("fc1", lib.Linear(784, 128)),
                                       ("fc2", lib.Linear(128, 64)), ("out", lib.Linear(64, 10))]))


def body(text):
    """The table's lines between the two rules of '='."""
    lines = text.splitlines()
    first, last = [i for i, line in enumerate(lines) if set(line) == {"="}]
    return lines[first + 1:last]


def rows(text, macs=False):
    """{layer label: (output shape, parameter count[, MACs])} from the table's body."""
    parsed = {}
    for line in body(text):
        match = re.match(r"(\S+ \(\w+\))\s+(.*?)\s+([\d,]+)\s+([\d,]+)$", line)
        values = (match.group(2), int(match.group(3).replace(",", "")))
        parsed[match.group(1)] = values + ((int(match.group(4).replace(",", "")),) if macs else ())
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
    assert [line.split()[-2] for line in lines] == ["72", "0", "8"]
    assert [line.split()[-1] for line in lines] == ["64", "64", "0"]
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


# ---------------------------------------------------------------- multiply-accumulates

profile = importlib.import_module("ganglion.nn.summary").profile


def test_lenet5_macs_by_hand():
    text = nn.summary(gn.models.lenet5(), (1, 28, 28), print_fn=None)
    table = rows(text, macs=True)
    by_hand = {
        "0 (Conv2d)": 6 * 28 * 28 * 1 * 5 * 5,      # out elements x in_channels x kh x kw
        "2 (MaxPool2d)": 6 * 14 * 14 * 2 * 2,       # one compare per window element
        "3 (Conv2d)": 16 * 10 * 10 * 6 * 5 * 5,
        "5 (MaxPool2d)": 16 * 5 * 5 * 2 * 2,
        "7 (Linear)": 120 * 400,                    # out elements x in_features
        "9 (Linear)": 84 * 120,
        "11 (Linear)": 10 * 84,
    }
    for label, (_, _, count) in table.items():
        assert count == by_hand.get(label, 0), label
    total = sum(by_hand.values())
    assert total == 422_824
    assert f"Total MACs: {total:,} (422.82K, per example)" in text
    assert profile(gn.models.lenet5(), (1, 28, 28)).macs == total


def test_grouped_and_depthwise_convolutions_by_hand():
    grouped = nn.Conv2d(8, 16, 3, padding=1, groups=4)
    assert profile(grouped, (8, 10, 10)).macs == 16 * 10 * 10 * (8 // 4) * 3 * 3 == 28_800
    depthwise = nn.Conv2d(8, 8, 3, groups=8)
    assert profile(depthwise, (8, 10, 10)).macs == 8 * 8 * 8 * 1 * 3 * 3 == 4_608
    pointwise = nn.Conv2d(8, 32, 1)
    assert profile(pointwise, (8, 8, 8)).macs == 32 * 8 * 8 * 8
    # depthwise separable (MobileNet): depthwise 3x3 + pointwise 1x1 against a full 3x3
    separable = profile(nn.Sequential(nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False),
                                      nn.Conv2d(64, 128, 1, bias=False)), (64, 14, 14))
    full = profile(nn.Conv2d(64, 128, 3, padding=1, bias=False), (64, 14, 14))
    assert separable.macs / full.macs == pytest.approx(1 / 128 + 1 / 9)
    assert separable.parameters / full.parameters == pytest.approx(1 / 128 + 1 / 9)
    assert profile(nn.Conv1d(4, 6, 3, groups=2), (4, 10)).macs == 6 * 8 * 2 * 3
    transposed = nn.ConvTranspose2d(4, 6, 3, stride=2)
    assert profile(transposed, (4, 5, 5)).macs == 4 * 5 * 5 * 6 * 3 * 3


@pytest.mark.parametrize("channels", [16, 64])
def test_one_5x5_against_two_3x3_is_18_25_of_the_parameters(channels):
    c = channels
    five = profile(nn.Conv2d(c, c, 5, padding=2, bias=False), (c, 17, 17))
    two = profile(nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False),
                                nn.Conv2d(c, c, 3, padding=1, bias=False)), (c, 17, 17))
    assert two.parameters / five.parameters == pytest.approx(18 / 25) == 0.72
    assert two.macs / five.macs == pytest.approx(18 / 25)
    assert (five.depth, two.depth) == (1, 2)


@pytest.mark.parametrize("channels", [16, 64])
def test_3x3_against_1x3_then_3x1_saves_a_third(channels):
    c = channels
    square = profile(nn.Conv2d(c, c, 3, padding=1, bias=False), (c, 17, 17))
    pair = profile(nn.Sequential(nn.Conv2d(c, c, (1, 3), padding=(0, 1), bias=False),
                                 nn.Conv2d(c, c, (3, 1), padding=(1, 0), bias=False)),
                   (c, 17, 17))
    assert pair.parameters / square.parameters == pytest.approx(6 / 9)
    assert pair.macs / square.macs == pytest.approx(6 / 9)
    assert 1 - pair.macs / square.macs == pytest.approx(1 / 3)


def test_norms_pools_and_free_layers():
    model = nn.Sequential(nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2), nn.Dropout(0.5),
                          nn.LocalResponseNorm(3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.LayerNorm(4))
    table = rows(nn.summary(model, (4, 8, 8), print_fn=None), macs=True)
    assert {label: count for label, (_, _, count) in table.items()} == {
        "0 (BatchNorm2d)": 4 * 8 * 8, "1 (ReLU)": 0, "2 (AvgPool2d)": 4 * 4 * 4 * 2 * 2,
        "3 (Dropout)": 0, "4 (LocalResponseNorm)": 4 * 4 * 4 * 3,
        "5 (AdaptiveAvgPool2d)": 4 * 4 * 4, "6 (Flatten)": 0, "7 (LayerNorm)": 4}


def test_attention_macs():
    attention = nn.MultiheadAttention(8, 2, batch_first=True)

    class Self(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = attention

        def forward(self, x):
            return self.attention(x, x, x, need_weights=False)[0]

    length, embed = 5, 8
    expected = 4 * length * embed * embed + 2 * length * length * embed
    assert profile(Self(), (length, embed)).macs == expected


def test_macs_come_from_shapes_only_and_do_not_scale_with_batch():
    model = gn.models.lenet5()
    calls = []
    model.register_forward_hook(lambda m, a, o: calls.append(o._data is None))
    assert profile(model, (1, 28, 28)).macs == 422_824
    assert calls == [True]  # the placeholder run: nothing was computed


def test_depth_is_the_longest_chain_of_weighted_layers():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(4, 4, 3, padding=1)
            self.b = nn.Conv2d(4, 4, 3, padding=1)
            self.shortcut = nn.Conv2d(4, 4, 1)
            self.fc = nn.Linear(4 * 6 * 6, 2)

        def forward(self, x):
            y = self.b(nn.functional.relu(self.a(x), inplace=True)) + self.shortcut(x)
            return self.fc(y.flatten(1))

    result = profile(Residual(), (4, 6, 6))
    assert result.depth == 3  # a -> b -> fc; the 1x1 shortcut is on a shorter path
    assert profile(gn.models.lenet5(), (1, 28, 28)).depth == 5
    frozen = gn.models.lenet5().requires_grad_(False)
    assert profile(frozen, (1, 28, 28)).depth == 5
