"""Bad constructor arguments to layers, and bad arguments to the initializers: each row is one
wrong call, the exception it must raise and the words its message must name (the layer with its
arguments, the argument's name, the value, what it must be).

Layers check their arguments when they are built. PyTorch checks some of them (a kernel size of
0, a stride of 0, a negative padding) only at the first forward call; ``TORCH`` runs the call
that fails in PyTorch, and ``test_same_exception_type_as_pytorch`` checks that ganglion's
exception is an instance of PyTorch's type.
"""
import pytest
import torch
from bad_inputs import BadInput, bad_input_test, same_exception_as_torch_test

import ganglion as gn
from ganglion import nn

_weight = gn.ones(3, 4)

CASES = [
    # ----- Linear / Bilinear ------------------------------------------------------------------
    BadInput("Linear negative in_features", lambda: nn.Linear(-1, 3), RuntimeError,
             ["Linear(-1, 3)", "in_features", "non-negative", "-1"]),
    BadInput("Linear negative out_features", lambda: nn.Linear(3, -2), ValueError,
             ["Linear(3, -2)", "out_features", "non-negative", "-2"]),
    BadInput("Linear float in_features", lambda: nn.Linear(2.5, 3), TypeError,
             ["Linear", "in_features", "2.5", "integer"]),
    BadInput("Linear string out_features", lambda: nn.Linear(3, "4"), TypeError,
             ["Linear", "out_features", "'4'", "integer"]),
    BadInput("Bilinear negative in1", lambda: nn.Bilinear(-1, 2, 3), RuntimeError,
             ["Bilinear(-1, 2, 3)", "in1_features", "-1"]),
    BadInput("Bilinear negative out", lambda: nn.Bilinear(1, 2, -3), RuntimeError,
             ["Bilinear(1, 2, -3)", "out_features", "-3"]),
    # ----- convolutions -----------------------------------------------------------------------
    BadInput("Conv2d kernel 0", lambda: nn.Conv2d(1, 1, 0), RuntimeError,
             ["Conv2d(1, 1)", "kernel_size", "positive", "0"]),
    BadInput("Conv2d negative kernel", lambda: nn.Conv2d(1, 1, -1), RuntimeError,
             ["Conv2d(1, 1)", "kernel_size", "-1"]),
    BadInput("Conv2d kernel pair with 0", lambda: nn.Conv2d(1, 1, (3, 0)), RuntimeError,
             ["Conv2d(1, 1)", "kernel_size", "(3, 0)"]),
    BadInput("Conv2d kernel of 3 sizes", lambda: nn.Conv2d(1, 1, (3, 3, 3)), ValueError,
             ["Conv2d(1, 1)", "kernel_size", "tuple of 2", "(3, 3, 3)"]),
    BadInput("Conv2d float kernel", lambda: nn.Conv2d(1, 1, 2.5), TypeError, ["Conv2d(1, 1)", "kernel_size", "2.5"]),
    BadInput("Conv2d negative in_channels", lambda: nn.Conv2d(-1, 1, 3), RuntimeError,
             ["Conv2d(-1, 1)", "in_channels", "non-negative"]),
    BadInput("Conv2d negative out_channels", lambda: nn.Conv2d(1, -1, 3), RuntimeError,
             ["Conv2d(1, -1)", "out_channels", "non-negative"]),
    BadInput("Conv2d stride 0", lambda: nn.Conv2d(1, 1, 3, stride=0), RuntimeError,
             ["Conv2d(1, 1)", "stride", "positive", "0"]),
    BadInput("Conv2d negative stride", lambda: nn.Conv2d(1, 1, 3, stride=(1, -1)), RuntimeError,
             ["Conv2d(1, 1)", "stride", "(1, -1)"]),
    BadInput("Conv2d padding -1", lambda: nn.Conv2d(1, 1, 3, padding=-1), RuntimeError,
             ["Conv2d(1, 1)", "padding", "non-negative", "-1"]),
    BadInput("Conv2d dilation 0", lambda: nn.Conv2d(1, 1, 3, dilation=0), RuntimeError,
             ["Conv2d(1, 1)", "dilation", "positive", "0"]),
    BadInput("Conv2d groups not dividing in_channels", lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError,
             ["Conv2d(3, 4)", "in_channels (3)", "groups=2"]),
    BadInput("Conv2d groups not dividing out_channels", lambda: nn.Conv2d(4, 3, 3, groups=2), ValueError,
             ["Conv2d(4, 3)", "out_channels (3)", "groups=2"]),
    BadInput("Conv2d groups 0", lambda: nn.Conv2d(3, 3, 3, groups=0), ValueError,
             ["Conv2d(3, 3)", "groups", "positive", "0"]),
    BadInput("Conv2d same padding with stride 2", lambda: nn.Conv2d(1, 1, 3, padding="same", stride=2), ValueError,
             ["Conv2d(1, 1)", "'same'", "strided", "(2, 2)"]),
    BadInput("Conv2d unknown padding string", lambda: nn.Conv2d(1, 1, 3, padding="full"), ValueError,
             ["Conv2d(1, 1)", "'full'", "'same'", "'valid'"]),
    BadInput("Conv2d unknown padding_mode", lambda: nn.Conv2d(1, 1, 3, padding_mode="mirror"), ValueError,
             ["Conv2d(1, 1)", "padding_mode", "'mirror'", "'zeros'", "'reflect'"]),
    BadInput("ConvTranspose2d unsupported padding_mode", lambda: nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect"),
             ValueError, ["ConvTranspose2d(1, 1)", "padding_mode", "'reflect'", "only"]),
    BadInput("Conv1d kernel 0", lambda: nn.Conv1d(1, 1, 0), RuntimeError, ["Conv1d(1, 1)", "kernel_size", "0"]),
    BadInput("Conv1d kernel pair", lambda: nn.Conv1d(1, 1, (3, 3)), ValueError,
             ["Conv1d(1, 1)", "kernel_size", "tuple of 1"]),
    BadInput("ConvTranspose2d kernel 0", lambda: nn.ConvTranspose2d(1, 1, 0), RuntimeError,
             ["ConvTranspose2d(1, 1)", "kernel_size", "0"]),
    BadInput("ConvTranspose2d stride 0", lambda: nn.ConvTranspose2d(1, 1, 3, stride=0), RuntimeError,
             ["ConvTranspose2d(1, 1)", "stride", "0"]),
    BadInput("ConvTranspose2d negative output_padding",
             lambda: nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=-1), RuntimeError,
             ["ConvTranspose2d(1, 1)", "output_padding", "-1"]),
    # ----- normalization ----------------------------------------------------------------------
    BadInput("BatchNorm2d negative", lambda: nn.BatchNorm2d(-1), RuntimeError,
             ["BatchNorm2d(-1)", "num_features", "non-negative"]),
    BadInput("BatchNorm1d float", lambda: nn.BatchNorm1d(2.5), TypeError, ["BatchNorm1d(2.5)", "num_features", "integer"]),
    BadInput("LayerNorm negative", lambda: nn.LayerNorm(-1), RuntimeError, ["LayerNorm(-1)", "normalized_shape", "-1"]),
    BadInput("LayerNorm negative in shape", lambda: nn.LayerNorm((2, -1)), RuntimeError,
             ["LayerNorm((2, -1))", "normalized_shape", "-1"]),
    BadInput("GroupNorm zero groups", lambda: nn.GroupNorm(0, 4), ZeroDivisionError,
             ["GroupNorm(0, 4)", "num_groups", "positive"]),
    BadInput("GroupNorm negative groups", lambda: nn.GroupNorm(-2, 4), RuntimeError,
             ["GroupNorm(-2, 4)", "num_groups", "-2"]),
    BadInput("GroupNorm groups not dividing channels", lambda: nn.GroupNorm(3, 4), ValueError,
             ["GroupNorm", "num_channels (4)", "num_groups (3)"]),
    BadInput("BatchNorm2d string momentum", lambda: nn.BatchNorm2d(2, momentum="a"), TypeError,
             ["BatchNorm2d(2)", "momentum", "'a'", "number"]),
    BadInput("BatchNorm1d None eps", lambda: nn.BatchNorm1d(2, eps=None), TypeError, ["BatchNorm1d(2)", "eps", "None"]),
    BadInput("LocalResponseNorm size 0", lambda: nn.LocalResponseNorm(0), RuntimeError,
             ["LocalResponseNorm(0)", "size", "positive"]),
    # ----- dropout ----------------------------------------------------------------------------
    BadInput("Dropout p above 1", lambda: nn.Dropout(p=1.5), ValueError, ["Dropout", "between 0 and 1", "1.5"]),
    BadInput("Dropout negative p", lambda: nn.Dropout(p=-0.1), ValueError, ["Dropout", "-0.1"]),
    BadInput("Dropout2d p above 1", lambda: nn.Dropout2d(p=2), ValueError, ["Dropout2d", "2"]),
    BadInput("Dropout string p", lambda: nn.Dropout("a"), TypeError, ["Dropout", "p", "'a'", "number"]),
    BadInput("Dropout None p", lambda: nn.Dropout(None), TypeError, ["Dropout", "p", "None"]),
    # ----- pooling ----------------------------------------------------------------------------
    BadInput("MaxPool2d kernel 0", lambda: nn.MaxPool2d(0), RuntimeError, ["MaxPool2d(0)", "kernel_size", "positive"]),
    BadInput("MaxPool2d stride 0", lambda: nn.MaxPool2d(2, stride=0), RuntimeError,
             ["MaxPool2d(2)", "stride", "positive", "0"]),
    BadInput("MaxPool2d negative padding", lambda: nn.MaxPool2d(3, padding=-1), RuntimeError,
             ["MaxPool2d(3)", "padding", "-1"]),
    BadInput("MaxPool2d padding above half the kernel", lambda: nn.MaxPool2d(3, padding=2), RuntimeError,
             ["MaxPool2d(3)", "padding", "half", "(2, 2)", "(3, 3)"]),
    BadInput("MaxPool2d dilation 0", lambda: nn.MaxPool2d(2, dilation=0), RuntimeError,
             ["MaxPool2d(2)", "dilation", "0"]),
    BadInput("MaxPool1d kernel 0", lambda: nn.MaxPool1d(0), RuntimeError, ["MaxPool1d(0)", "kernel_size"]),
    BadInput("MaxPool1d kernel pair", lambda: nn.MaxPool1d((2, 2)), ValueError, ["MaxPool1d", "kernel_size", "tuple of 1"]),
    BadInput("AvgPool2d kernel 0", lambda: nn.AvgPool2d(0), RuntimeError, ["AvgPool2d(0)", "kernel_size"]),
    BadInput("AvgPool2d negative kernel", lambda: nn.AvgPool2d(-1), RuntimeError, ["AvgPool2d(-1)", "kernel_size", "-1"]),
    BadInput("AvgPool2d padding above half", lambda: nn.AvgPool2d(2, padding=2), RuntimeError,
             ["AvgPool2d(2)", "padding", "half"]),
    BadInput("AvgPool2d divisor 0", lambda: nn.AvgPool2d(2, divisor_override=0), RuntimeError,
             ["AvgPool2d(2)", "divisor_override", "positive"]),
    BadInput("AdaptiveAvgPool2d negative size", lambda: nn.AdaptiveAvgPool2d(-1), RuntimeError,
             ["AdaptiveAvgPool2d(-1)", "output_size", "non-negative"]),
    BadInput("AdaptiveMaxPool2d negative in pair", lambda: nn.AdaptiveMaxPool2d((2, -1)), RuntimeError,
             ["AdaptiveMaxPool2d((2, -1))", "output_size", "-1"]),
    BadInput("AdaptiveAvgPool2d triple", lambda: nn.AdaptiveAvgPool2d((1, 2, 3)), ValueError,
             ["AdaptiveAvgPool2d", "output_size", "pair"]),
    # ----- embedding and recurrent cells ------------------------------------------------------
    BadInput("Embedding negative rows", lambda: nn.Embedding(-1, 3), RuntimeError,
             ["Embedding(-1, 3)", "num_embeddings", "non-negative"]),
    BadInput("Embedding negative dim", lambda: nn.Embedding(3, -1), RuntimeError,
             ["Embedding(3, -1)", "embedding_dim", "non-negative"]),
    BadInput("Embedding float rows", lambda: nn.Embedding(2.5, 3), TypeError, ["Embedding", "num_embeddings", "2.5"]),
    BadInput("Embedding padding_idx out of range", lambda: nn.Embedding(3, 2, padding_idx=5), ValueError,
             ["Embedding(3, 2)", "padding_idx", "[-3, 3)", "5"]),
    BadInput("RNNCell negative input", lambda: nn.RNNCell(-1, 3), RuntimeError,
             ["RNNCell(-1, 3)", "input_size", "non-negative"]),
    BadInput("LSTMCell negative hidden", lambda: nn.LSTMCell(3, -1), RuntimeError,
             ["LSTMCell(3, -1)", "hidden_size", "-1"]),
    BadInput("GRUCell float hidden", lambda: nn.GRUCell(3, 1.5), TypeError, ["GRUCell(3, 1.5)", "hidden_size"]),
    # ----- activations (checked at the call, as in PyTorch) -----------------------------------
    BadInput("LeakyReLU string slope", lambda: nn.LeakyReLU("a")(gn.ones(2)), TypeError,
             ["leaky_relu", "negative_slope", "'a'", "number"]),
    BadInput("ELU None alpha", lambda: nn.ELU(None)(gn.ones(2)), TypeError, ["elu", "alpha", "None"]),
    BadInput("Softplus string beta", lambda: nn.Softplus("a")(gn.ones(2)), TypeError, ["softplus", "beta", "'a'"]),
    BadInput("Hardtanh min above max", lambda: nn.Hardtanh(1.0, -1.0), ValueError,
             ["Hardtanh", "min_val", "max_val", "greater"]),
    BadInput("hardtanh min above max", lambda: nn.functional.hardtanh(gn.ones(2), 1.0, -1.0), ValueError,
             ["hardtanh", "min_val=1.0", "max_val=-1.0"]),
    BadInput("GELU unknown approximation", lambda: nn.GELU(approximate="fast"), RuntimeError,
             ["GELU", "approximate", "'fast'", "'tanh'"]),
    BadInput("gelu unknown approximation", lambda: nn.functional.gelu(gn.ones(2), approximate="fast"),
             RuntimeError, ["gelu", "approximate", "'fast'", "'tanh'"]),
    BadInput("relu of a list", lambda: gn.relu([1.0]), TypeError, ["relu", "Tensor", "list"]),
    BadInput("neg of a bool tensor", lambda: -gn.tensor([True]), RuntimeError, ["neg", "bool", "logical_not"]),
    # ----- initializers (the tensor must be left as it was) -----------------------------------
    BadInput("uniform_ a above b", lambda: nn.init.uniform_(_weight, 2, 1), RuntimeError,
             ["uniform_", "a=2", "b=1", "a <= b"], unchanged=lambda: _weight.detach().numpy().copy()),
    BadInput("normal_ negative std", lambda: nn.init.normal_(_weight, 0, -1), RuntimeError,
             ["normal_", "std", "-1", ">= 0"], unchanged=lambda: _weight.detach().numpy().copy()),
    BadInput("trunc_normal_ a above b", lambda: nn.init.trunc_normal_(_weight, a=2, b=-2), RuntimeError,
             ["trunc_normal_", "a=2", "b=-2"], unchanged=lambda: _weight.detach().numpy().copy()),
    BadInput("uniform_ string bound", lambda: nn.init.uniform_(_weight, "a"), TypeError,
             ["uniform_", "a", "'a'", "number"], unchanged=lambda: _weight.detach().numpy().copy()),
    BadInput("normal_ None std", lambda: nn.init.normal_(_weight, 0, None), TypeError,
             ["normal_", "std", "None"], unchanged=lambda: _weight.detach().numpy().copy()),
    BadInput("constant_ string", lambda: nn.init.constant_(_weight, "a"), TypeError,
             ["constant_", "val", "'a'"], unchanged=lambda: _weight.detach().numpy().copy()),
    BadInput("uniform_ of an integer tensor", lambda: nn.init.uniform_(gn.ones(2, dtype="int64")),
             NotImplementedError, ["uniform_", "floating-point", "int64"]),
    BadInput("uniform_ of a list", lambda: nn.init.uniform_([1.0]), TypeError, ["uniform_", "Tensor", "list"]),
    BadInput("kaiming_uniform_ of a vector", lambda: nn.init.kaiming_uniform_(gn.ones(3)), ValueError,
             ["fan in", "(3,)", "2 dimensions"]),
    BadInput("kaiming_uniform_ bad mode", lambda: nn.init.kaiming_uniform_(gn.ones(3, 3), mode="fan"), ValueError,
             ["'fan'", "fan_in", "fan_out"]),
    BadInput("eye_ of a 3-d tensor", lambda: nn.init.eye_(gn.ones(3, 3, 3)), ValueError, ["eye_", "2-D", "(3, 3, 3)"]),
]

test_bad_input = bad_input_test(CASES)

# The same mistakes in PyTorch: the constructor, or (where PyTorch checks late) the first forward.
_x1, _x2 = torch.ones(1, 1, 8), torch.ones(1, 1, 8, 8)
TORCH = {
    "Linear negative in_features": lambda: torch.nn.Linear(-1, 3),
    "Linear negative out_features": lambda: torch.nn.Linear(3, -2),
    "Linear float in_features": lambda: torch.nn.Linear(2.5, 3),
    "Bilinear negative in1": lambda: torch.nn.Bilinear(-1, 2, 3),
    "Conv2d kernel 0": lambda: torch.nn.Conv2d(1, 1, 0)(_x2),
    "Conv2d negative kernel": lambda: torch.nn.Conv2d(1, 1, -1),
    "Conv2d negative in_channels": lambda: torch.nn.Conv2d(-1, 1, 3),
    "Conv2d negative out_channels": lambda: torch.nn.Conv2d(1, -1, 3),
    "Conv2d stride 0": lambda: torch.nn.Conv2d(1, 1, 3, stride=0)(_x2),
    "Conv2d negative stride": lambda: torch.nn.Conv2d(1, 1, 3, stride=(1, -1))(_x2),
    "Conv2d padding -1": lambda: torch.nn.Conv2d(1, 1, 3, padding=-1)(_x2),
    "Conv2d dilation 0": lambda: torch.nn.Conv2d(1, 1, 3, dilation=0)(_x2),
    "Conv2d groups not dividing in_channels": lambda: torch.nn.Conv2d(3, 4, 3, groups=2),
    "Conv2d groups not dividing out_channels": lambda: torch.nn.Conv2d(4, 3, 3, groups=2),
    "Conv2d groups 0": lambda: torch.nn.Conv2d(3, 3, 3, groups=0),
    "Conv2d same padding with stride 2": lambda: torch.nn.Conv2d(1, 1, 3, padding="same", stride=2),
    "Conv2d unknown padding string": lambda: torch.nn.Conv2d(1, 1, 3, padding="full"),
    "Conv2d unknown padding_mode": lambda: torch.nn.Conv2d(1, 1, 3, padding_mode="mirror"),
    "Conv1d kernel 0": lambda: torch.nn.Conv1d(1, 1, 0)(_x1),
    "ConvTranspose2d kernel 0": lambda: torch.nn.ConvTranspose2d(1, 1, 0)(_x2),
    "ConvTranspose2d stride 0": lambda: torch.nn.ConvTranspose2d(1, 1, 3, stride=0)(_x2),
    "BatchNorm2d negative": lambda: torch.nn.BatchNorm2d(-1),
    "LayerNorm negative": lambda: torch.nn.LayerNorm(-1),
    "LayerNorm negative in shape": lambda: torch.nn.LayerNorm((2, -1)),
    "GroupNorm zero groups": lambda: torch.nn.GroupNorm(0, 4),
    "GroupNorm negative groups": lambda: torch.nn.GroupNorm(-2, 4)(torch.ones(2, 4, 3)),
    "GroupNorm groups not dividing channels": lambda: torch.nn.GroupNorm(3, 4),
    "BatchNorm2d string momentum": lambda: torch.nn.BatchNorm2d(2, momentum="a")(torch.ones(1, 2, 3, 3)),
    "LocalResponseNorm size 0": lambda: torch.nn.LocalResponseNorm(0)(torch.ones(1, 2, 3, 3)),
    "Dropout string p": lambda: torch.nn.Dropout("a"),
    "Dropout None p": lambda: torch.nn.Dropout(None),
    "uniform_ string bound": lambda: torch.nn.init.uniform_(torch.ones(3, 4), "a"),
    "normal_ None std": lambda: torch.nn.init.normal_(torch.ones(3, 4), 0, None),
    "constant_ string": lambda: torch.nn.init.constant_(torch.ones(3, 4), "a"),
    "uniform_ of an integer tensor": lambda: torch.nn.init.uniform_(torch.ones(2, dtype=torch.int64)),
    "Dropout p above 1": lambda: torch.nn.Dropout(p=1.5),
    "Dropout negative p": lambda: torch.nn.Dropout(p=-0.1),
    "Dropout2d p above 1": lambda: torch.nn.Dropout2d(p=2),
    "MaxPool2d kernel 0": lambda: torch.nn.MaxPool2d(0)(_x2),
    "MaxPool2d stride 0": lambda: torch.nn.MaxPool2d(2, stride=0)(_x2),
    "MaxPool2d negative padding": lambda: torch.nn.MaxPool2d(3, padding=-1)(_x2),
    "MaxPool2d padding above half the kernel": lambda: torch.nn.MaxPool2d(3, padding=2)(_x2),
    "MaxPool2d dilation 0": lambda: torch.nn.MaxPool2d(2, dilation=0)(_x2),
    "MaxPool1d kernel 0": lambda: torch.nn.MaxPool1d(0)(_x1),
    "AvgPool2d kernel 0": lambda: torch.nn.AvgPool2d(0)(_x2),
    "AvgPool2d negative kernel": lambda: torch.nn.AvgPool2d(-1)(_x2),
    "AvgPool2d padding above half": lambda: torch.nn.AvgPool2d(2, padding=2)(_x2),
    "AvgPool2d divisor 0": lambda: torch.nn.AvgPool2d(2, divisor_override=0)(_x2),
    "AdaptiveAvgPool2d negative size": lambda: torch.nn.AdaptiveAvgPool2d(-1)(_x2),
    "AdaptiveMaxPool2d negative in pair": lambda: torch.nn.AdaptiveMaxPool2d((2, -1))(_x2),
    "Embedding negative rows": lambda: torch.nn.Embedding(-1, 3),
    "Embedding negative dim": lambda: torch.nn.Embedding(3, -1),
    "RNNCell negative input": lambda: torch.nn.RNNCell(-1, 3),
    "LSTMCell negative hidden": lambda: torch.nn.LSTMCell(3, -1),
    "LeakyReLU string slope": lambda: torch.nn.LeakyReLU("a")(torch.ones(2)),
    "ELU None alpha": lambda: torch.nn.ELU(None)(torch.ones(2)),
    "Softplus string beta": lambda: torch.nn.Softplus("a")(torch.ones(2)),
    "hardtanh min above max": lambda: torch.nn.functional.hardtanh(torch.ones(2), 1.0, -1.0),
    "gelu unknown approximation": lambda: torch.nn.functional.gelu(torch.ones(2), approximate="fast"),
    "GELU unknown approximation": lambda: torch.nn.GELU(approximate="fast")(torch.ones(2)),
    "relu of a list": lambda: torch.relu([1.0]),
    "neg of a bool tensor": lambda: -torch.tensor([True]),
    "uniform_ a above b": lambda: torch.nn.init.uniform_(torch.ones(3, 4), 2, 1),
    "normal_ negative std": lambda: torch.nn.init.normal_(torch.ones(3, 4), 0, -1),
    "trunc_normal_ a above b": lambda: torch.nn.init.trunc_normal_(torch.ones(3, 4), a=2, b=-2),
    "kaiming_uniform_ of a vector": lambda: torch.nn.init.kaiming_uniform_(torch.ones(3)),
    "kaiming_uniform_ bad mode": lambda: torch.nn.init.kaiming_uniform_(torch.ones(3, 3), mode="fan"),
    "eye_ of a 3-d tensor": lambda: torch.nn.init.eye_(torch.ones(3, 3, 3)),
}
test_same_exception_type_as_pytorch = pytest.mark.filterwarnings("ignore")(
    same_exception_as_torch_test(CASES, TORCH))


@pytest.mark.filterwarnings("ignore")
def test_empty_layers_are_allowed_as_in_pytorch():
    # Zero features, channels or rows are legal (PyTorch builds these layers too), and an
    # empty RNN cell no longer divides by zero when drawing its weights.
    x = gn.ones(2, 3)
    assert nn.Linear(3, 0)(x).shape == (2, 0)
    assert nn.Linear(0, 3).weight.shape == (3, 0)
    assert nn.Conv2d(1, 0, 3).weight.shape == (0, 1, 3, 3)
    assert nn.BatchNorm2d(0).running_mean.shape == (0,)
    assert nn.Embedding(0, 3).weight.shape == (0, 3)
    cell = nn.RNNCell(3, 0)
    assert cell.weight_ih.shape == (0, 3) and cell(x).shape == (2, 0)
    # The largest legal pooling padding, a tuple kernel and stride=None still build.
    assert nn.MaxPool2d(3, padding=1)(gn.ones(1, 1, 4, 4)).shape == (1, 1, 2, 2)
    assert nn.AvgPool2d((2, 4), padding=(1, 2)).kernel_size == (2, 4)
    assert nn.AdaptiveAvgPool2d((None, 2))(gn.ones(1, 1, 4, 4)).shape == (1, 1, 4, 2)
