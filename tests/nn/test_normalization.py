"""Oracle tests of normalization (nn/functional/normalization.py, batch_norm_ops.py,
nn/layers/normalization.py): BatchNorm1d/2d against PyTorch in train and eval mode over several
steps, comparing outputs, gradients of input and parameters, and the running statistics after
each step (momentum, cumulative average, no affine, no tracking); float64 gradient checks and
second derivatives; LayerNorm, GroupNorm and LocalResponseNorm with copied weights; buffer names
and reprs; jit-compiled training; errors that name the layer and the expected shape."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ganglion as gn
import ganglion.nn.functional as F
from ganglion import nn
from tests.oracle import check_op

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def _copy_parameters(gn_module, torch_module):
    with torch.no_grad():
        for name, param in torch_module.named_parameters():
            param.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, tuple(param.shape))))
            getattr(gn_module, name).data.copy_(gn.from_numpy(param.numpy()))


def _compare_steps(gn_module, torch_module, shape, steps=3, rtol=1e-10):
    """Run both modules on the same batches; compare outputs, gradients and every buffer."""
    _copy_parameters(gn_module, torch_module)
    for step in range(steps):
        x = randn(*shape) * (step + 1) + step
        seed = randn(*shape)
        gx = gn.from_numpy(x.copy()).requires_grad_()
        tx = torch.tensor(x, requires_grad=True)
        out, expected = gn_module(gx), torch_module(tx)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=rtol,
                                   atol=1e-12)
        (out * gn.from_numpy(seed)).sum().backward()
        (expected * torch.from_numpy(seed)).sum().backward()
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-12)
        for name, param in torch_module.named_parameters():
            np.testing.assert_allclose(getattr(gn_module, name).grad.numpy(), param.grad.numpy(),
                                       rtol=1e-8, err_msg=name)
            param.grad = None
            getattr(gn_module, name).grad = None
        for name, buffer in torch_module.named_buffers():
            np.testing.assert_allclose(getattr(gn_module, name).numpy(), buffer.numpy(), rtol=1e-12,
                                       err_msg=f"{name} after step {step}")


BATCH_NORMS = [
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (6, 3)),
    (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 5)),
    (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 5, 2)),
]
OPTIONS = [{}, {"momentum": 0.3}, {"momentum": None}, {"affine": False}, {"bias": False},
           {"eps": 1e-2}, {"track_running_stats": False}]


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("gn_class, torch_class, shape", BATCH_NORMS)
def test_batch_norm_train_then_eval_against_torch(gn_class, torch_class, shape, options):
    gn_module = gn_class(3, **options).double()
    torch_module = torch_class(3, **options).double()
    assert repr(gn_module) == repr(torch_module)
    assert list(gn_module.state_dict()) == list(torch_module.state_dict())
    _compare_steps(gn_module, torch_module, shape)
    gn_module.eval()
    torch_module.eval()
    _compare_steps(gn_module, torch_module, shape, steps=2)


def test_batch_norm_loads_a_torch_state_dict():
    torch_module = torch.nn.BatchNorm2d(4)
    torch_module(torch.randn(8, 4, 3, 3) * 3 + 1)
    gn_module = nn.BatchNorm2d(4)
    gn_module.load_state_dict({k: v.numpy() for k, v in torch_module.state_dict().items()})
    torch_module.eval()
    gn_module.eval()
    x = randn(2, 4, 3, 3).astype(np.float32)
    np.testing.assert_allclose(gn_module(gn.from_numpy(x)).detach().numpy(),
                               torch_module(torch.from_numpy(x)).detach().numpy(), rtol=1e-5)
    assert gn_module.num_batches_tracked.item() == 1


@pytest.mark.parametrize("training", [True, False])
def test_functional_batch_norm_gradcheck_and_second_order(training):
    x, w, b = randn(4, 3, 2), rng.uniform(0.5, 1.5, 3), randn(3)
    mean, var = randn(3), rng.uniform(0.5, 2, 3)

    def gn_fn(x, w, b):
        return F.batch_norm(x, gn.from_numpy(mean.copy()), gn.from_numpy(var.copy()), w, b,
                            training, 0.1, 1e-5)

    def torch_fn(x, w, b):
        return TF.batch_norm(x, torch.from_numpy(mean.copy()), torch.from_numpy(var.copy()), w, b,
                             training, 0.1, 1e-5)
    check_op(gn_fn, torch_fn, [x, w, b], rtol=1e-7, float32=False)
    # The bias's gradient is constant in every input: only x and w go to second order.
    check_op(gn_fn, torch_fn, [x, w, b], second_order=True, rtol=1e-7, float32=False,
             gradcheck=False, grad_inputs=[0, 1])


def test_batch_norm_float32_matches_torch():
    x = (randn(8, 4, 6, 6) * 2 + 3).astype(np.float32)
    gn_module, torch_module = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    gx, tx = gn.from_numpy(x).requires_grad_(), torch.tensor(x, requires_grad=True)
    gn_module(gx).square().sum().backward()
    torch_module(tx).square().sum().backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(gn_module.running_var.numpy(), torch_module.running_var.numpy(),
                               rtol=1e-5)
    assert gn_module.running_var.dtype is gn.float32


def test_batch_norm_errors_name_the_layer_and_expected_shape():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected input of shape "
                                         r"\(N, 16, H, W\), got \(4, 8, 5, 5\)"):
        nn.BatchNorm2d(16)(gn.zeros(4, 8, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected input of shape \(N, 3\) or "
                                         r"\(N, 3, L\), got \(4, 3, 2, 2\)"):
        nn.BatchNorm1d(3)(gn.zeros(4, 3, 2, 2))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected more than 1 value per "
                                         r"channel"):
        nn.BatchNorm1d(3)(gn.zeros(1, 3))


def test_batch_norm_training_step_compiled_with_jit_updates_running_statistics():
    gn_module = nn.BatchNorm2d(3, momentum=None)
    torch_module = torch.nn.BatchNorm2d(3, momentum=None)

    @gn.jit
    def step(x):
        return gn_module(x).square().sum()
    for _ in range(3):
        x = randn(5, 3, 2, 2).astype(np.float32)
        step(gn.from_numpy(x))
        torch_module(torch.from_numpy(x))
        np.testing.assert_allclose(gn_module.running_mean.numpy(),
                                   torch_module.running_mean.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(gn_module.running_var.numpy(), torch_module.running_var.numpy(),
                                   rtol=1e-5)
    assert gn_module.num_batches_tracked.item() == 3


def test_batch_norm_on_placeholders_builds_a_graph_without_touching_buffers():
    module = nn.BatchNorm1d(3)
    x = gn.placeholder(gn.float32, (None, 3))
    run = gn.function([x], module(x))
    data = randn(6, 3).astype(np.float32)
    expected = torch.nn.BatchNorm1d(3)(torch.from_numpy(data)).detach().numpy()
    np.testing.assert_allclose(run(data), expected, rtol=1e-5, atol=1e-6)
    assert module.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(module.running_mean.numpy(), 0)


@pytest.mark.parametrize("normalized_shape, options", [
    ((5,), {}), ((4, 5), {}), ((5,), {"elementwise_affine": False}), ((5,), {"bias": False})])
def test_layer_norm_against_torch(normalized_shape, options):
    gn_module = nn.LayerNorm(normalized_shape, **options).double()
    torch_module = torch.nn.LayerNorm(normalized_shape, **options).double()
    assert repr(gn_module) == repr(torch_module)
    _compare_steps(gn_module, torch_module, (3, 4, 5), steps=1)
    w, b = rng.uniform(0.5, 1.5, normalized_shape), randn(*normalized_shape)
    check_op(lambda x, w, b: F.layer_norm(x, normalized_shape, w, b),
             lambda x, w, b: TF.layer_norm(x, normalized_shape, w, b), [randn(2, 4, 5), w, b],
             second_order=True)


def test_layer_norm_error_names_expected_shape():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4, 5\)\): expected input of shape "
                                         r"\(\*, 4, 5\), got \(2, 5, 4\)"):
        nn.LayerNorm((4, 5))(gn.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"layer_norm: expected input of shape \(\*, 5\)"):
        F.layer_norm(gn.zeros(2, 4), (5,))
    with pytest.raises(ValueError, match=r"LocalResponseNorm\(2\): expected input of shape "
                                         r"\(N, C, \.\.\.\) with at least 3 dims, got \(2, 4\)"):
        nn.LocalResponseNorm(2)(gn.zeros(2, 4))


@pytest.mark.parametrize("groups, options", [(1, {}), (2, {"bias": False}), (4, {"affine": False})])
def test_group_norm_against_torch(groups, options):
    gn_module = nn.GroupNorm(groups, 4, **options).double()
    torch_module = torch.nn.GroupNorm(groups, 4, **options).double()
    assert repr(gn_module) == repr(torch_module)
    _compare_steps(gn_module, torch_module, (3, 4, 3, 2), steps=1)
    check_op(lambda x: F.group_norm(x, groups), lambda x: TF.group_norm(x, groups),
             [randn(2, 4, 3)])
    with pytest.raises(ValueError, match=r"GroupNorm\(.*, 4\): expected input of shape "
                                         r"\(N, 4, \.\.\.\)"):
        gn_module(gn.zeros(2, 6, 3))


@pytest.mark.parametrize("size", [1, 2, 3, 5])
@pytest.mark.parametrize("shape", [(2, 6, 3), (2, 6, 3, 2)])
def test_local_response_norm_against_torch(size, shape):
    gn_module, torch_module = nn.LocalResponseNorm(size, 0.1, 0.6, 2.0), torch.nn.LocalResponseNorm(
        size, 0.1, 0.6, 2.0)
    assert repr(gn_module) == repr(torch_module)
    check_op(gn_module, torch_module, [randn(*shape)], second_order=True)
