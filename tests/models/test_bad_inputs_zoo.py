"""The model zoo's bad input (issue 14): an image of the wrong size for a fixed-size classifier,
the wrong channel count, one image without its batch dimension, feature vectors of the wrong
length, and unknown model names in the Python API and on the command line. Each error names the
model and the input it expects, and shows what it got.

The large networks are built once (alexnet_original has 61 M parameters) and are given only
inputs that their first check refuses, so no full-size forward pass runs here.
"""
import contextlib
import functools
import io
import tempfile

import ganglion as gn
from ganglion import cli
from ganglion.core.errors import ShapeError
from ganglion.models import get_model

from bad_inputs import BadInput, bad_input_test


@functools.lru_cache(maxsize=None)
def model(name, **kwargs):
    """``get_model(name, **kwargs)`` in eval mode, built once for the whole file."""
    return get_model(name, **kwargs).eval()


def forward(name, *shape, **kwargs):
    return lambda: model(name, **kwargs)(gn.zeros(*shape))


class CommandLineError(Exception):
    """What ``ganglion ...`` printed on stderr when it exited with the usage-error code."""


def command(*argv):
    """Run the ``ganglion`` command; raise CommandLineError(stderr) if it exits with code 2
    after one line on stderr and nothing on stdout (the CLI's promise), else fail. ``train``
    gets a temporary ``--out`` (its callbacks create the run folder)."""
    def run():
        out, err = io.StringIO(), io.StringIO()
        with tempfile.TemporaryDirectory() as run_dir, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            extra = ["--out", run_dir] if argv[0] == "train" else []
            code = cli.main(list(argv) + extra)
        assert code == 2, f"ganglion {' '.join(argv)} exited with {code}"
        assert out.getvalue() == "" and err.getvalue().count("\n") == 1, err.getvalue()
        raise CommandLineError(err.getvalue())
    return run


#: alexnet_original is built without its paper initialisation (N(0, 0.01) on 61 M weights), which
#: the shape check does not need: 0.4 s instead of 2 s.
SMALL_ALEXNET = {"num_classes": 10, "init_weights": False}

CASES = [
    # fixed-size classifiers: the wrong image size
    BadInput("lenet5 32x32 image", forward("lenet5", 2, 1, 32, 32), ShapeError,
             ["lenet5", "expects input of shape (N, 1, 28, 28)", "got (2, 1, 32, 32)"]),
    BadInput("alexnet_original 224x224 image",
             forward("alexnet_original", 1, 3, 224, 224, **SMALL_ALEXNET), ShapeError,
             ["alexnet_original", "(N, 3, 227, 227)", "got input of shape (1, 3, 224, 224)"]),
    BadInput("cifar_cnn 28x28 image", forward("cifar_cnn", 2, 3, 28, 28), ShapeError,
             ["cifar_cnn", "(N, 3, 32, 32)", "got (2, 3, 28, 28)"]),
    BadInput("digits_cnn MNIST-size image", forward("digits_cnn", 2, 1, 28, 28), ShapeError,
             ["digits_cnn", "(N, 1, 8, 8)", "got (2, 1, 28, 28)"]),
    BadInput("inception_v3 below its minimum size", forward("inception_v3", 1, 3, 74, 74,
                                                            num_classes=10),
             ShapeError, ["Inception3", "74x74", "75x75"]),
    BadInput("vgg11_cifar below its minimum size", forward("vgg11_cifar", 1, 3, 16, 16),
             ShapeError, ["VGG", "(N, 3, H, W) with H, W >= 32", "(1, 3, 16, 16)"]),
    # the wrong channel count
    BadInput("lenet5 RGB image", forward("lenet5", 2, 3, 28, 28), ShapeError,
             ["lenet5", "(N, 1, 28, 28)", "got (2, 3, 28, 28)"]),
    BadInput("lenet5 built for RGB given gray", forward("lenet5", 2, 1, 28, 28, in_channels=3),
             ShapeError, ["lenet5", "(N, 3, 28, 28)", "got (2, 1, 28, 28)"]),
    BadInput("alexnet_original gray image",
             forward("alexnet_original", 1, 1, 227, 227, **SMALL_ALEXNET), ShapeError,
             ["alexnet_original", "(N, 3, 227, 227)", "(1, 1, 227, 227)"]),
    BadInput("cifar_cnn gray image", forward("cifar_cnn", 2, 1, 32, 32), ShapeError,
             ["cifar_cnn", "(N, 3, 32, 32)", "got (2, 1, 32, 32)"]),
    BadInput("resnet20 gray image", forward("resnet20", 2, 1, 32, 32), ShapeError,
             ["CifarResNet", "conv1", "(N, 3, H, W)", "(2, 1, 32, 32)"]),
    BadInput("resnet18 gray image", forward("resnet18", 1, 1, 64, 64, num_classes=10),
             ShapeError, ["ResNet", "conv1", "(N, 3, H, W)", "(1, 1, 64, 64)"]),
    BadInput("mobilenet_v2_cifar gray image", forward("mobilenet_v2_cifar", 2, 1, 32, 32),
             ShapeError, ["MobileNetV2", "(N, 3, H, W)", "(2, 1, 32, 32)"]),
    BadInput("googlenet gray image", forward("googlenet", 1, 1, 64, 64, num_classes=10),
             ShapeError, ["GoogLeNet", "(N, 3, H, W)", "(1, 1, 64, 64)"]),
    # one image without its batch dimension
    BadInput("lenet5 unbatched image", forward("lenet5", 1, 28, 28), ShapeError,
             ["lenet5", "(N, 1, 28, 28)", "got (1, 28, 28)", "x.unsqueeze(0)"]),
    BadInput("cifar_cnn unbatched image", forward("cifar_cnn", 3, 32, 32), ShapeError,
             ["cifar_cnn", "got (3, 32, 32)", "x.unsqueeze(0)"]),
    # feature vectors of the wrong length
    BadInput("mlp CIFAR-size image", forward("mlp", 2, 3, 32, 32), ShapeError,
             ["mlp", "784 values per example", "got (2, 3, 32, 32), 3072 values per example"]),
    BadInput("mlp unbatched vector", forward("mlp", 784), ShapeError,
             ["mlp", "(N, 784)", "got (784,)", "x.unsqueeze(0)"]),
    BadInput("perceptron three features", forward("perceptron", 4, 3), ShapeError,
             ["perceptron", "(N, 2)", "got (4, 3), 3 values per example"]),
    BadInput("perceptron one example unbatched", forward("perceptron", 2), ShapeError,
             ["perceptron", "(N, 2)", "got (2,)", "x.unsqueeze(0)"]),
    BadInput("perceptron rule on three features",
             lambda: get_model("perceptron").perceptron_rule_step([[0, 0, 1], [1, 1, 0]], [0, 1]),
             ShapeError, ["perceptron", "(N, 2)", "got (2, 3)"]),
    BadInput("perceptron rule with fewer targets",
             lambda: get_model("perceptron").perceptron_rule_step([[0, 0], [1, 1]], [1]),
             ValueError, ["perceptron", "2 examples", "1 targets"]),
    BadInput("logistic_regression wrong length",
             forward("logistic_regression", 2, 1, 32, 32, in_features=784), ShapeError,
             ["logistic_regression", "784 values per example", "1024 values per example"]),
    # unknown model names
    BadInput("get_model unknown name", lambda: get_model("nosuchnet"), ValueError,
             ["unknown model 'nosuchnet'", "known models:", "lenet5", "resnet20"]),
    BadInput("get_model typo suggests the name", lambda: get_model("lenet"), ValueError,
             ["unknown model 'lenet'", "did you mean 'lenet5'"]),
    BadInput("get_model capitals suggest the name", lambda: get_model("ResNet18"), ValueError,
             ["unknown model 'ResNet18'", "did you mean 'resnet18'"]),
    BadInput("cli summary unknown model", command("summary", "nosuchnet"), CommandLineError,
             ["ganglion: error: unknown model 'nosuchnet'; known:", "alexnet", "vgg16"]),
    BadInput("cli train unknown model", command("train", "nosuchnet", "--dataset", "digits"),
             CommandLineError, ["ganglion: error: unknown model 'nosuchnet'; known:", "lenet5"]),
    BadInput("cli train typo suggests the name",
             command("train", "mobilenetv2", "--dataset", "digits"), CommandLineError,
             ["unknown model 'mobilenetv2'", "did you mean 'mobilenet_v2'"]),
    BadInput("cli compare unknown model", command("compare", "lenet5", "vgg17"),
             CommandLineError, ["unknown model 'vgg17'", "did you mean", "'vgg16'"]),
    BadInput("cli train unknown dataset suggests the name",
             command("train", "lenet5", "--dataset", "cifar"), CommandLineError,
             ["unknown dataset 'cifar'", "did you mean 'cifar10'"]),
    # the right name with the wrong input
    BadInput("cli summary lenet5 with an RGB input",
             command("summary", "lenet5", "--input", "3,32,32"), CommandLineError,
             ["model 'lenet5' cannot take an input of shape (3, 32, 32)",
              "lenet5 expects input of shape (N, 1, 28, 28)"]),
    BadInput("cli train lenet5 on the 8x8 digits",
             command("train", "lenet5", "--dataset", "digits", "--epochs", "1", "--quiet"),
             CommandLineError, ["lenet5 expects input of shape (N, 1, 28, 28)", "(128, 1, 8, 8)"]),
]

test_bad_input = bad_input_test(CASES)


def test_the_checks_let_the_expected_inputs_through():
    """The checks refuse only what the rows above refuse: the documented inputs still run, as
    (N, ...) batches of any N, with images given to the MLP and perceptron as they are."""
    assert tuple(model("lenet5")(gn.zeros(3, 1, 28, 28)).shape) == (3, 10)
    assert tuple(model("lenet5", in_channels=3)(gn.zeros(1, 3, 28, 28)).shape) == (1, 10)
    assert tuple(model("cifar_cnn")(gn.zeros(2, 3, 32, 32)).shape) == (2, 10)
    assert tuple(model("digits_cnn")(gn.zeros(2, 1, 8, 8)).shape) == (2, 10)
    assert tuple(model("mlp")(gn.zeros(2, 1, 28, 28)).shape) == (2, 10)
    assert tuple(model("mlp")(gn.zeros(2, 784)).shape) == (2, 10)
    assert tuple(model("perceptron")(gn.zeros(5, 2)).shape) == (5,)
    logistic = model("logistic_regression", in_features=784)
    assert tuple(logistic(gn.zeros(2, 28, 28)).shape) == (2, 10)


def test_fixed_size_models_keep_their_state_dict_keys():
    """Checking in forward did not change the layouts: the same Sequential keys as before."""
    assert list(get_model("lenet5").state_dict())[:4] == ["0.weight", "0.bias", "3.weight",
                                                          "3.bias"]
    assert list(get_model("cifar_cnn").state_dict())[-2:] == ["13.weight", "13.bias"]
    assert list(get_model("digits_cnn").state_dict())[-2:] == ["8.weight", "8.bias"]
    assert list(get_model("mlp").state_dict())[:2] == ["1.weight", "1.bias"]
