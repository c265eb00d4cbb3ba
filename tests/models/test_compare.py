"""Tests of ganglion.models.compare: parameters, MACs and depth per registered model (small
models always; the ImageNet ones when their builders have landed, skipped with a reason
otherwise), the text table, the timing column, and the params-vs-MACs figure."""
import sys

import pytest

from ganglion.models import compare, compare_figure, compare_table, list_models

# name: (parameters, MACs per example at the registered input size, depth)
SMALL = {
    "lenet5": (61_706, 422_824, 5),
    "mlp": (266_610, 266_200, 3),
    "perceptron": (3, 2, 1),
    "logistic_regression": (7_850, 7_840, 1),
}
# torchvision's parameter counts; MACs near torchvision's quoted GFLOPS (which are MACs, conv
# and linear only; ours add pooling and norm elements); depth as in the architectures' names
IMAGENET = {
    "alexnet": (61_100_840, 0.71e9, 8),
    "resnet18": (11_689_512, 1.81e9, 18),
    "resnet50": (25_557_032, 4.09e9, 50),
    "googlenet": (6_624_904, 1.50e9, 22),
    "mobilenet_v2": (3_504_872, 0.30e9, 53),
    "resnet20": (269_722, 40.55e6, 20),
}


def require(name):
    if name not in list_models():
        pytest.skip(f"{name} is not registered in this tree")


@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_models_exactly(name):
    require(name)
    (row,) = compare([name])
    assert (row.parameters, row.macs, row.depth) == SMALL[name]
    assert row.seconds_per_image is None


@pytest.mark.parametrize("name", sorted(IMAGENET))
def test_classic_architectures_near_published_numbers(name):
    require(name)
    params, macs, depth = IMAGENET[name]
    (row,) = compare(name)
    assert row.parameters == params
    assert row.macs == pytest.approx(macs, rel=0.03)
    assert row.depth == depth


def test_cifar_cnn_by_hand():
    # conv 3->32 3x3 pad 1 at 32x32, etc.: counted from the layers, cross-checked by summary
    from ganglion.models import get_model
    from ganglion.nn import summary
    (row,) = compare(["cifar_cnn"])
    text = summary(get_model("cifar_cnn"), (3, 32, 32), print_fn=None)
    assert f"Total MACs: {row.macs:,} " in text and f"Total params: {row.parameters:,}" in text


def test_input_shape_overrides_and_a_wrong_one_names_the_model():
    (small,) = compare(["lenet5"], input_shape=(1, 28, 28))
    assert small.input_shape == (1, 28, 28)
    with pytest.raises(ValueError, match=r"model 'lenet5' cannot take an input of shape "
                                         r"\(3, 32, 32\) \(its registered input shape is "
                                         r"\(1, 28, 28\)\)"):
        compare(["lenet5"], input_shape=(3, 32, 32))
    with pytest.raises(ValueError, match="unknown model 'nosuchnet'"):
        compare(["nosuchnet"])


def test_resnet18_macs_scale_with_the_input_area():
    require("resnet18")
    (full,) = compare(["resnet18"])
    (large,) = compare(["resnet18"], input_shape=(3, 448, 448))
    assert full.input_shape == (3, 224, 224) and large.depth == full.depth
    assert large.parameters == full.parameters
    assert large.macs / full.macs == pytest.approx(4, rel=0.001)


def test_time_and_table():
    rows = compare(["lenet5", "mlp"], time=True, repeats=2)
    assert all(row.seconds_per_image > 0 for row in rows)
    table = compare_table(rows)
    lines = table.splitlines()
    assert lines[0].split() == ["Model", "Input", "Params", "MACs", "Depth", "ms/image"]
    assert lines[2].startswith("lenet5") and "61,706 (61.71K)" in lines[2]
    assert "422,824 (422.82K)" in lines[2] and "1x28x28" in lines[2]
    assert "ms/image" not in compare_table(compare(["lenet5"]))


def test_figure(tmp_path):
    pytest.importorskip("matplotlib")
    names = [n for n in ("perceptron", "lenet5", "cifar_cnn", "resnet20", "mobilenet_v2")
             if n in list_models()]
    rows = compare(names)
    path = tmp_path / "models.png"
    figure = compare_figure(rows, path)
    assert path.stat().st_size > 10_000
    axes = figure.axes[0]
    assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
    assert "MACs" in axes.get_xlabel() and "parameters" in axes.get_ylabel()
    assert axes.get_title().startswith("Parameters vs computation")
    assert sorted(t.get_text() for t in axes.texts) == sorted(names)


def test_figure_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install ganglion\[viz\]"):
        compare_figure(compare(["lenet5"]))
