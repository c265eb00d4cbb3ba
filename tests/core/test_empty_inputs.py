"""Valid empty inputs give PyTorch's empty results (issue 12, item 9): pooling, convolution,
linear and batch-norm layers on a batch of 0, recurrent layers on a batch of 0, and every
reduction over an empty and a non-empty dim of a tensor with a zero-size axis. Each case
compares forward (shape, dtype, values) and backward (gradients of the inputs' own, empty or
not, shapes) with PyTorch through ``oracle.check_op``; the recurrent layers compare their
outputs and every weight's (zero) gradient. Where PyTorch raises instead (max over an empty
dim, zero channels into a pool) the rows are in ``test_bad_inputs_dims.py``.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from oracle import check_op

rng = np.random.default_rng(0)


def _arrays(*shapes):
    return [rng.standard_normal(s) for s in shapes]


# (id, ganglion function, PyTorch function, input shapes, extra check_op arguments)
CASES = [
    # pooling on a batch of 0: the 2x2 stride-2 max pool has a compiled fast path of its own
    ("max_pool2d 2x2", lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2),
     [(0, 2, 8, 8)], {}),
    ("max_pool2d 3x3 s1 p1", lambda x: F.max_pool2d(x, 3, 1, 1),
     lambda x: TF.max_pool2d(x, 3, 1, 1), [(0, 2, 8, 8)], {}),
    ("max_pool2d 3x3 s2 p1 ceil", lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
     lambda x: TF.max_pool2d(x, 3, 2, 1, ceil_mode=True), [(0, 2, 7, 7)], {}),
    ("max_pool2d dilation 2", lambda x: F.max_pool2d(x, 2, 1, 0, 2),
     lambda x: TF.max_pool2d(x, 2, 1, 0, 2), [(0, 2, 6, 6)], {}),
    ("max_pool2d 2x2 return_indices", lambda x: F.max_pool2d(x, 2, return_indices=True),
     lambda x: TF.max_pool2d(x, 2, return_indices=True), [(0, 2, 8, 8)], {}),
    ("max_pool2d 3x3 return_indices", lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
     lambda x: TF.max_pool2d(x, 3, 2, 1, return_indices=True), [(0, 2, 8, 8)], {}),
    ("max_pool1d", lambda x: F.max_pool1d(x, 2), lambda x: TF.max_pool1d(x, 2), [(0, 2, 8)], {}),
    ("max_pool1d padding return_indices", lambda x: F.max_pool1d(x, 3, 2, 1, return_indices=True),
     lambda x: TF.max_pool1d(x, 3, 2, 1, return_indices=True), [(0, 2, 9)], {}),
    ("avg_pool2d 2x2", lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2),
     [(0, 2, 8, 8)], {}),
    ("avg_pool2d 3x3 s2 p1 ceil no pad count",
     lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda x: TF.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     [(0, 2, 7, 7)], {}),
    ("adaptive_avg_pool2d divisible", lambda x: F.adaptive_avg_pool2d(x, 4),
     lambda x: TF.adaptive_avg_pool2d(x, 4), [(0, 2, 8, 8)], {}),
    ("adaptive_avg_pool2d 3", lambda x: F.adaptive_avg_pool2d(x, 3),
     lambda x: TF.adaptive_avg_pool2d(x, 3), [(0, 2, 8, 8)], {}),
    ("adaptive_avg_pool2d 1", lambda x: F.adaptive_avg_pool2d(x, 1),
     lambda x: TF.adaptive_avg_pool2d(x, 1), [(0, 2, 8, 8)], {}),
    ("adaptive_avg_pool2d no channels", lambda x: F.adaptive_avg_pool2d(x, 3),
     lambda x: TF.adaptive_avg_pool2d(x, 3), [(2, 0, 8, 8)], {"grad": False}),  # PyTorch's
    # backward refuses zero channels
    ("adaptive_max_pool2d divisible", lambda x: F.adaptive_max_pool2d(x, 4, True),
     lambda x: TF.adaptive_max_pool2d(x, 4, True), [(0, 2, 8, 8)], {}),
    ("adaptive_max_pool2d 3", lambda x: F.adaptive_max_pool2d(x, 3, True),
     lambda x: TF.adaptive_max_pool2d(x, 3, True), [(0, 2, 8, 8)], {}),
    ("adaptive_max_pool2d 1", lambda x: F.adaptive_max_pool2d(x, 1, True),
     lambda x: TF.adaptive_max_pool2d(x, 1, True), [(0, 2, 8, 8)], {}),
    # convolution, linear and batch norm on a batch of 0 (weights get zero gradients)
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b), lambda x, w, b: TF.conv2d(x, w, b),
     [(0, 2, 8, 8), (3, 2, 3, 3), (3,)], {}),
    ("conv2d stride padding", lambda x, w: F.conv2d(x, w, None, 2, 1),
     lambda x, w: TF.conv2d(x, w, None, 2, 1), [(0, 2, 7, 7), (3, 2, 3, 3)], {}),
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b), lambda x, w, b: TF.conv1d(x, w, b),
     [(0, 2, 8), (3, 2, 3), (3,)], {}),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1),
     lambda x, w, b: TF.conv_transpose2d(x, w, b, 2, 1), [(0, 2, 5, 5), (2, 3, 3, 3), (3,)], {}),
    ("linear", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: TF.linear(x, w, b),
     [(0, 4), (3, 4), (3,)], {}),
    ("batch_norm eval", lambda x, m, v, w, b: F.batch_norm(x, m, gn.abs(v), w, b,
                                                           training=False),
     lambda x, m, v, w, b: TF.batch_norm(x, m, v.abs(), w, b, training=False),
     [(0, 3, 4, 4), (3,), (3,), (3,), (3,)], {"grad_inputs": [0, 3, 4]}),
    # PyTorch (2.x) also normalizes an empty batch in training: an empty result
    ("batch_norm train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
     [(0, 3, 4, 4), (3,), (3,)], {}),
    ("batch_norm train 2-D", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
     [(0, 3), (3,), (3,)], {}),
    # the amax / max over the non-empty dim of a (0, 1) tensor
    ("amax (0, 1) dim 1", lambda x: gn.amax(x, dim=1), lambda x: torch.amax(x, dim=1),
     [(0, 1)], {}),
    ("max (0, 1) dim 1", lambda x: gn.max(x, dim=1), lambda x: torch.max(x, dim=1), [(0, 1)], {}),
    ("softmax over an empty dim", lambda x: gn.softmax(x, dim=0),
     lambda x: torch.softmax(x, dim=0), [(0, 3)], {}),
    ("log_softmax over an empty dim", lambda x: gn.log_softmax(x, dim=0),
     lambda x: torch.log_softmax(x, dim=0), [(0, 3)], {}),
    ("logsumexp over an empty dim", lambda x: gn.logsumexp(x, dim=0),
     lambda x: torch.logsumexp(x, dim=0), [(0, 3)], {}),
]

# Every reduction over each dim of (0, 3) and (2, 0, 3) and over all dims, with and without
# keepdim; max-like ones only over non-empty dims (over an empty one PyTorch raises).
_REDUCTIONS = {
    "sum": (gn.sum, torch.sum), "mean": (gn.mean, torch.mean), "prod": (gn.prod, torch.prod),
    "var": (gn.var, torch.var), "std": (gn.std, torch.std),
    "logsumexp": (gn.logsumexp, torch.logsumexp),
    "amax": (gn.amax, torch.amax), "amin": (gn.amin, torch.amin),
    "max": (gn.max, torch.max), "min": (gn.min, torch.min),
    "argmax": (gn.argmax, torch.argmax), "argmin": (gn.argmin, torch.argmin),
}
_NEEDS_NON_EMPTY = {"amax", "amin", "max", "min", "argmax", "argmin"}
for _shape in [(0, 3), (2, 0, 3)]:
    for _name, (_gn_fn, _torch_fn) in _REDUCTIONS.items():
        for _dim in list(range(len(_shape))) + [tuple(range(len(_shape)))]:
            _empty = 0 in [_shape[d] for d in (_dim if isinstance(_dim, tuple) else (_dim,))]
            if _name in _NEEDS_NON_EMPTY and (_empty or isinstance(_dim, tuple)):
                continue
            if _name == "prod" and isinstance(_dim, tuple):
                continue  # PyTorch's prod takes one dim
            for _keep in (False, True):
                CASES.append((
                    f"{_name} {_shape} dim={_dim} keepdim={_keep}",
                    lambda x, f=_gn_fn, d=_dim, k=_keep: f(x, dim=d, keepdim=k),
                    lambda x, f=_torch_fn, d=_dim, k=_keep: f(x, dim=d, keepdim=k),
                    [_shape], {"grad": _name not in ("argmax", "argmin")}))
    for _name, _gn_fn, _torch_fn in [("softmax", gn.softmax, torch.softmax),
                                     ("log_softmax", gn.log_softmax, torch.log_softmax),
                                     ("cumsum", gn.cumsum, torch.cumsum)]:
        for _dim in range(len(_shape)):
            CASES.append((f"{_name} {_shape} dim={_dim}",
                          lambda x, f=_gn_fn, d=_dim: f(x, dim=d),
                          lambda x, f=_torch_fn, d=_dim: f(x, dim=d), [_shape], {}))
    for _name, _gn_fn, _torch_fn in [("sum", gn.sum, torch.sum), ("mean", gn.mean, torch.mean),
                                     ("prod", gn.prod, torch.prod), ("var", gn.var, torch.var),
                                     ("std", gn.std, torch.std)]:
        CASES.append((f"{_name} {_shape} whole", _gn_fn, _torch_fn, [_shape], {}))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's "mean of empty slice" (nan)
@pytest.mark.filterwarnings("ignore::UserWarning")  # PyTorch's "degrees of freedom is <= 0"
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_empty_input_matches_pytorch(case):
    _, gn_fn, torch_fn, shapes, options = case
    check_op(gn_fn, torch_fn, _arrays(*shapes), gradcheck=False, **options)


def test_batch_norm_layer_in_training_on_an_empty_batch_keeps_its_running_estimates():
    layer, reference = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    out = layer(gn.zeros(0, 3, 4, 4))
    reference(torch.zeros(0, 3, 4, 4))
    assert out.shape == (0, 3, 4, 4)
    np.testing.assert_array_equal(layer.running_mean.numpy(), reference.running_mean.numpy())
    np.testing.assert_array_equal(layer.running_var.numpy(), reference.running_var.numpy())
    with pytest.raises(ValueError, match=r"more than 1 value per channel.*\(1, 3\)"):
        F.batch_norm(gn.zeros(1, 3), None, None, training=True)


# ----- recurrent layers on a batch of 0 ------------------------------------------------------

def _torch_copy(layer, torch_class, **kwargs):
    """The PyTorch layer with ``layer``'s weights (the parameter names are PyTorch's)."""
    reference = torch_class(layer.input_size, layer.hidden_size, **kwargs).double()
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            parameter.copy_(torch.from_numpy(getattr(layer, name).detach().numpy()))
    return reference


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("with_h0", [False, True])
def test_recurrent_layer_on_an_empty_batch(kind, batch_first, bidirectional, num_layers,
                                           with_h0):
    kwargs = dict(num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional)
    layer = getattr(nn, kind)(4, 5, **kwargs).double()
    reference = _torch_copy(layer, getattr(torch.nn, kind), **kwargs)
    shape = (0, 3, 4) if batch_first else (3, 0, 4)
    x, tx = gn.zeros(*shape, dtype=gn.float64, requires_grad=True), \
        torch.zeros(*shape, dtype=torch.float64, requires_grad=True)
    state_shape = (num_layers * (2 if bidirectional else 1), 0, 5)
    state = gn.zeros(*state_shape, dtype=gn.float64, requires_grad=True) if with_h0 else None
    t_state = torch.zeros(*state_shape, dtype=torch.float64, requires_grad=True) \
        if with_h0 else None
    if kind == "LSTM" and with_h0:
        state, t_state = (state, state * 2), (t_state, t_state * 2)
    out, final = layer(x, state)
    t_out, t_final = reference(tx, t_state)
    finals = final if kind == "LSTM" else (final,)
    t_finals = t_final if kind == "LSTM" else (t_final,)
    for g, t in zip((out,) + tuple(finals), (t_out,) + tuple(t_finals)):
        assert g.shape == tuple(t.shape) and g.dtype is gn.float64
    assert out.shape == ((0, 3, 5 * (1 + bidirectional)) if batch_first
                         else (3, 0, 5 * (1 + bidirectional)))
    total = out.sum() + sum(f.sum() for f in finals)
    total.backward()
    (t_out.sum() + sum(f.sum() for f in t_finals)).backward()
    assert x.grad.shape == shape
    for name, parameter in reference.named_parameters():
        grad = getattr(layer, name).grad
        assert grad is not None, f"{name}: no gradient"
        np.testing.assert_array_equal(grad.numpy(), parameter.grad.numpy(), err_msg=name)
    if with_h0:
        h0 = state[0] if kind == "LSTM" else state
        assert h0.grad.shape == state_shape


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_layer_on_an_empty_batch_then_a_full_one(kind):
    """The empty-batch path leaves the layer as it was: the next, full batch matches PyTorch."""
    layer = getattr(nn, kind)(4, 5).double()
    reference = _torch_copy(layer, getattr(torch.nn, kind))
    layer(gn.zeros(3, 0, 4, dtype=gn.float64))
    x = rng.standard_normal((3, 2, 4))
    np.testing.assert_allclose(layer(gn.from_numpy(x))[0].detach().numpy(),
                               reference(torch.from_numpy(x))[0].detach().numpy(), atol=1e-12)


# ----- the compiled (symbolic) path ------------------------------------------------------------

def test_compiled_function_on_an_empty_batch():
    """A graph built on placeholders with an unknown batch runs on a batch of 0."""
    x = gn.placeholder(gn.float64, (None, 2, 8, 8))
    pooled = F.max_pool2d(x, 2)
    scores = gn.logsumexp(gn.reshape(pooled, (-1, 32)), dim=1)
    probabilities = gn.softmax(gn.reshape(pooled, (-1, 32)), dim=0)
    run = gn.function([x], [pooled, scores, probabilities, gn.grad(pooled.sum(), x)[0]])
    values = [np.asarray(v) for v in run(np.zeros((0, 2, 8, 8)))]
    assert [v.shape for v in values] == [(0, 2, 4, 4), (0,), (0, 32), (0, 2, 8, 8)]
    # and the same graph still runs on a full batch
    full = rng.standard_normal((3, 2, 8, 8))
    pooled_full = run(full)[0]
    np.testing.assert_allclose(pooled_full, TF.max_pool2d(torch.from_numpy(full), 2).numpy())


def test_compiled_reduction_over_an_empty_dim():
    x = gn.placeholder(gn.float64, (None, 3))
    run = gn.function([x], [gn.amax(x, dim=1), gn.softmax(x, dim=0), gn.logsumexp(x, dim=0)])
    amax, soft, lse = [np.asarray(v) for v in run(np.zeros((0, 3)))]
    assert amax.shape == (0,) and soft.shape == (0, 3)
    np.testing.assert_array_equal(lse, [-np.inf] * 3)
    with pytest.raises(IndexError, match=r"amax: expected reduction dim 0 to have non-zero size"):
        gn.function([x], gn.amax(x, dim=0))(np.zeros((0, 3)))


def test_pooling_layers_on_an_empty_batch():
    for layer, reference in [(nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
                             (nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
                             (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3))]:
        assert layer(gn.zeros(0, 2, 8, 8)).shape == tuple(reference(torch.zeros(0, 2, 8, 8)).shape)
    # adaptive average pooling also takes zero channels, as PyTorch's does
    assert nn.AdaptiveAvgPool2d(3)(gn.zeros(2, 0, 8, 8)).shape == (2, 0, 3, 3)


def test_mean_and_var_of_nothing_are_nan_without_warnings():
    """NumPy warns "Mean of empty slice"; PyTorch gives the nan silently, and so does ganglion."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(gn.zeros(0, 3).mean().item())
        assert np.isnan(gn.zeros(0, 3).var(dim=0).numpy()).all()
        assert gn.zeros(0, 3).std(dim=1).shape == (0,)
