"""The names the ported programs still needed (tools/api_coverage.py listed them): the legacy
``torch.Tensor(...)`` constructors, ``load(map_location=)``, ``matmul(input=, other=)``,
``*_like(device=)`` and the loss modules' deprecated ``size_average`` / ``reduce``, each
against PyTorch."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn as nn
from bad_inputs import BadInput, bad_input_test, same_exception_as_torch_test


@pytest.mark.parametrize("args", [(2, 3), (0,), (), ([1.0, 2.5],), ([[1, 2], [3, 4]],),
                                  ((4.0, 5.0),)])
def test_legacy_tensor_constructor_builds_what_pytorch_builds(args):
    ours, theirs = gn.Tensor(*args), torch.Tensor(*args)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype is gn.float32
    if theirs.numel() and not isinstance(args[0], int):  # sizes: PyTorch's memory is garbage
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert not ours.requires_grad and ours.is_leaf


def test_legacy_tensor_constructor_of_a_size_and_of_a_float_tensor():
    assert gn.Tensor(gn.Size([2, 4])).shape == (2, 4)
    for x, y in ((gn.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])),
                 (gn.tensor([1, 2]), torch.tensor([1, 2]))):  # shared, dtype kept
        assert np.shares_memory(gn.Tensor(x)._data, x._data)
        assert gn.Tensor(x).dtype.name == str(torch.Tensor(y).dtype).replace("torch.", "")


def test_load_takes_map_location(tmp_path):
    path = tmp_path / "w.safetensors"
    gn.save({"w": gn.ones(2)}, path)
    for location in (None, "cpu", gn.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        np.testing.assert_array_equal(gn.load(path, map_location=location)["w"].numpy(), [1, 1])


def test_matmul_takes_pytorchs_keywords():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)
    ours = gn.matmul(input=gn.from_numpy(a), other=gn.from_numpy(b))
    theirs = torch.matmul(input=torch.from_numpy(a), other=torch.from_numpy(b))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
def test_like_functions_take_device_and_requires_grad(name):
    x = gn.ones(2, 3)
    out = getattr(gn, name)(x, device="cpu", requires_grad=True)
    assert out.shape == (2, 3) and out.requires_grad and out.device == gn.device("cpu")
    assert gn.full_like(x, 7.0, device="cpu").numpy().tolist() == [[7.0] * 3] * 2


@pytest.mark.filterwarnings("ignore:.*size_average and reduce")
@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
@pytest.mark.parametrize("legacy", [dict(size_average=False), dict(reduce=False),
                                    dict(size_average=True, reduce=True),
                                    dict(size_average=False, reduce=True)])
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "SmoothL1Loss", "BCELoss",
                                  "BCEWithLogitsLoss", "KLDivLoss"])
def test_loss_modules_read_size_average_and_reduce_as_pytorch(name, legacy):
    ours, theirs = getattr(nn, name)(**legacy), getattr(torch.nn, name)(**legacy)
    assert ours.reduction == theirs.reduction
    x = np.array([[0.2, 0.7], [0.4, 0.9]])
    y = np.array([[0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(ours(gn.from_numpy(x), gn.from_numpy(y)).numpy(),
                               theirs(torch.from_numpy(x), torch.from_numpy(y)).numpy(), rtol=1e-12)


def test_legacy_reduction_warns_as_pytorch():
    with pytest.warns(UserWarning, match="reduction='sum' instead"):
        assert nn.CrossEntropyLoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none' instead"):
        assert nn.NLLLoss(reduce=False).reduction == "none"


CASES = [
    BadInput("Tensor of negative sizes", lambda: gn.Tensor(-1, 2), RuntimeError,
             ["Tensor()", "negative dimension", "(-1, 2)"]),
    BadInput("Tensor of a float", lambda: gn.Tensor(3.5), TypeError,
             ["Tensor()", "must be a sequence", "float"]),
    BadInput("Tensor of a Size and more", lambda: gn.Tensor(gn.Size([2]), 3), TypeError,
             ["Tensor()", "Size"]),
    BadInput("load to cuda", lambda: gn.load("unused.safetensors", map_location="cuda"),
             RuntimeError, ["load(map_location=...)", "'cuda'", "cpu"]),
    BadInput("ones_like on cuda", lambda: gn.ones_like(gn.ones(2), device="cuda"), RuntimeError,
             ["'cuda'", "cpu"]),
    BadInput("MSELoss bad reduction", lambda: nn.MSELoss(reduction="avg"), ValueError,
             ["MSELoss", "'avg'"]),
]
test_bad_input = bad_input_test(CASES)

TORCH = {
    "Tensor of negative sizes": lambda: torch.Tensor(-1, 2),
    "Tensor of a float": lambda: torch.Tensor(3.5),
    "ones_like on cuda": lambda: torch.ones_like(torch.ones(2), device="cuda"),
    "MSELoss bad reduction": lambda: torch.nn.MSELoss(reduction="avg")(torch.ones(1), torch.ones(1)),
}
test_same_exception_type_as_pytorch = same_exception_as_torch_test(CASES, TORCH)


def test_vision_mnist_data_and_targets_are_tensors_as_in_torchvision():
    import os
    from pathlib import Path
    root = os.environ.get("GANGLION_DATA")
    if not root or not (Path(root) / "mnist" / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("MNIST is not in $GANGLION_DATA")
    import ganglion.vision as torchvision
    dataset = torchvision.datasets.MNIST(root, train=False)
    assert isinstance(dataset.data, gn.Tensor) and dataset.data.dtype is gn.uint8
    assert dataset.data.shape == (10000, 28, 28) and dataset.targets.dtype is gn.int64
    assert int((dataset.targets == 7).sum()) == 1028  # the test set's count of sevens
    image, label = dataset[0]
    assert label == 7 and np.array_equal(np.asarray(image), dataset.data[0].numpy())
    dataset.data, dataset.targets = dataset.data[:5], dataset.targets[:5].numpy()  # either kind
    assert len(dataset) == 5 and isinstance(dataset.targets, gn.Tensor)


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_creation_takes_size_as_a_keyword(name):
    out, theirs = getattr(gn, name)(size=(2, 3)), getattr(torch, name)(size=(2, 3))
    assert out.shape == tuple(theirs.shape) == (2, 3)
    with pytest.raises(TypeError, match=f"{name}\\(\\): size given both"):
        getattr(gn, name)(2, size=(3,))


def test_tensor_resize_is_pytorchs_deprecated_reshape():
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        ours = gn.arange(6.0, requires_grad=True).resize(3, 2)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        theirs = torch.arange(6.0, requires_grad=True).resize(3, 2)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    assert ours.requires_grad and ours.shape == (3, 2)


@pytest.mark.filterwarnings("ignore:.*size_average and reduce")
@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
@pytest.mark.parametrize("legacy", [dict(size_average=False), dict(reduce=False),
                                    dict(size_average=True)])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "binary_cross_entropy",
                                  "binary_cross_entropy_with_logits", "kl_div"])
def test_functional_losses_read_size_average_and_reduce_as_pytorch(name, legacy):
    # Old PyTorch code (the VAE example until 2019) wrote F.binary_cross_entropy(..., size_average=False).
    x = np.array([[0.2, 0.7], [0.4, 0.9]])
    y = np.array([[0.0, 1.0], [1.0, 1.0]])
    ours = getattr(gn.nn.functional, name)(gn.from_numpy(x), gn.from_numpy(y), **legacy)
    theirs = getattr(torch.nn.functional, name)(torch.from_numpy(x), torch.from_numpy(y), **legacy)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:.*size_average and reduce")
def test_functional_class_losses_take_pytorchs_positional_order():
    # cross_entropy(input, target, weight, size_average, ignore_index, reduce, reduction, ...)
    logits = np.array([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0], [2.0, 0.0, 1.0]])
    target = np.array([1, 2, 0])
    for name in ("cross_entropy", "nll_loss"):
        ours = getattr(gn.nn.functional, name)(gn.from_numpy(logits), gn.from_numpy(target), None,
                                               False, 2, None)
        theirs = getattr(torch.nn.functional, name)(torch.from_numpy(logits),
                                                    torch.from_numpy(target), None, False, 2, None)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
