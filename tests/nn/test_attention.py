"""Oracle tests of F.scaled_dot_product_attention and nn.MultiheadAttention against PyTorch:
forward values and every gradient (float64, and float32 forward), bool and float masks that
broadcast, causal masks, scale, grouped-query attention, dropout, fully masked rows, unbatched
and batch-first inputs, PyTorch's parameter layout, and a table of bad inputs."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion import nn
from bad_inputs import BadInput, bad_input_test
from oracle import check_op

# PyTorch's own deprecation notes for mixed bool and float masks, which these tests mix on
# purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning")

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def to_gn(t):
    return gn.from_numpy(t.detach().numpy().copy())


def sdpa_pair(**options):
    """The ganglion and PyTorch functions of (q, k, v[, mask]) with ``options``."""
    def gn_fn(q, k, v, mask=None):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **options)

    def torch_fn(q, k, v, mask=None):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                                **options)
    return gn_fn, torch_fn


@pytest.mark.parametrize("shapes", [
    ((4, 3), (5, 3), (5, 2)),                    # no batch dims
    ((2, 4, 3), (2, 5, 3), (2, 5, 2)),
    ((2, 3, 4, 3), (2, 3, 5, 3), (2, 3, 5, 4)),  # (N, heads, L, E)
    ((2, 1, 2, 4, 3), (1, 2, 5, 3), (2, 5, 2)),  # leading dims that broadcast
])
def test_sdpa_values_and_gradients(shapes):
    check_op(*sdpa_pair(), [randn(*s) for s in shapes])


def test_sdpa_second_derivatives():
    mask = randn(4, 5)
    check_op(*sdpa_pair(), [randn(2, 4, 3), randn(2, 5, 3), randn(2, 5, 2), mask],
             second_order=True, gradcheck=False)


@pytest.mark.parametrize("mask_shape", [(4, 5), (1, 5), (3, 1, 5), (2, 3, 4, 5)])
def test_sdpa_float_mask_broadcasts_and_gets_its_gradient(mask_shape):
    arrays = [randn(2, 3, 4, 3), randn(2, 3, 5, 3), randn(2, 3, 5, 2), randn(*mask_shape)]
    check_op(*sdpa_pair(), arrays)


@pytest.mark.parametrize("mask_shape", [(4, 5), (2, 1, 4, 5), (1, 5)])
def test_sdpa_bool_mask_true_takes_part(mask_shape):
    mask = rng.random(mask_shape) > 0.4
    mask[..., 0] = True  # every query keeps a key (fully masked rows are tested below)
    arrays = [randn(2, 3, 4, 3), randn(2, 3, 5, 3), randn(2, 3, 5, 2), mask]
    check_op(*sdpa_pair(), arrays)


@pytest.mark.parametrize("lengths", [(4, 4), (3, 5), (5, 3)])
def test_sdpa_causal_is_top_left_aligned(lengths):
    length, source = lengths
    arrays = [randn(2, length, 3), randn(2, source, 3), randn(2, source, 2)]
    check_op(*sdpa_pair(is_causal=True), arrays)


def test_sdpa_scale_and_grouped_query_attention():
    check_op(*sdpa_pair(scale=0.3), [randn(2, 4, 3), randn(2, 5, 3), randn(2, 5, 2)])
    # 6 query heads share 3 key/value heads, 2 each.
    check_op(*sdpa_pair(enable_gqa=True), [randn(2, 6, 4, 3), randn(2, 3, 5, 3),
                                           randn(2, 3, 5, 2)])


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_rows_are_zero_as_pytorch(kind):
    """PyTorch 2.x gives zeros (not NaN) for a query whose keys are all masked, and zero
    gradients through it, on every CPU path; so does ganglion."""
    if kind == "bool":
        mask = np.ones((4, 5), bool)
        mask[1] = False
    else:
        mask = np.zeros((4, 5))
        mask[1] = -np.inf
    arrays = [randn(2, 4, 3), randn(2, 5, 3), randn(2, 5, 2), mask]
    check_op(*sdpa_pair(), arrays, gradcheck=False)
    out = F.scaled_dot_product_attention(*[gn.from_numpy(a) for a in arrays[:3]],
                                         attn_mask=gn.from_numpy(mask))
    np.testing.assert_array_equal(out.detach().numpy()[:, 1], 0.0)


def test_sdpa_no_keys_gives_zeros_and_empty_batches_give_empty_results():
    check_op(*sdpa_pair(), [randn(2, 4, 3), randn(2, 0, 3), randn(2, 0, 2)], gradcheck=False)
    out = F.scaled_dot_product_attention(gn.zeros(0, 4, 3), gn.zeros(0, 5, 3), gn.zeros(0, 5, 2))
    assert tuple(out.shape) == (0, 4, 2)


def test_sdpa_zero_embedding_gives_uniform_weights_as_pytorch():
    check_op(*sdpa_pair(), [randn(2, 3, 0), randn(2, 4, 0), randn(2, 4, 2)], gradcheck=False)


@pytest.mark.parametrize("options", [{}, {"is_causal": True}, {"scale": 0.5}])
def test_sdpa_in_a_symbolic_graph_matches_eager(options):
    """On placeholders of unknown shape the default scale is worked out when the graph runs."""
    q, k, v = gn.dtensor3("q"), gn.dtensor3("k"), gn.dtensor3("v")
    out = F.scaled_dot_product_attention(q, k, v, **options)
    compiled = gn.function([q, k, v], [out] + list(gn.grad(out.sum(), [q, k, v])))
    arrays = [randn(2, 4, 3), randn(2, 5, 3), randn(2, 5, 2)]
    eager = [gn.from_numpy(a).requires_grad_(True) for a in arrays]
    expected = F.scaled_dot_product_attention(*eager, **options)
    expected.sum().backward()
    results = compiled(*arrays)
    np.testing.assert_allclose(results[0], expected.detach().numpy(), rtol=1e-12)
    for result, tensor in zip(results[1:], eager):
        np.testing.assert_allclose(result, tensor.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_mha_under_jit_matches_eager():
    module = nn.MultiheadAttention(8, 2, batch_first=True).double()
    x = gn.from_numpy(randn(2, 5, 8))
    compiled = gn.jit(lambda x: module(x, x, x)[0])
    np.testing.assert_allclose(compiled(x).detach().numpy(),
                               module(x, x, x)[0].detach().numpy(), rtol=1e-12)


def test_sdpa_dropout_applies_whenever_dropout_p_is_positive():
    """As in PyTorch, the function has no training flag: dropout_p > 0 always drops."""
    q, k, v = (gn.from_numpy(randn(2, 64, 8).astype(np.float32)) for _ in range(3))
    plain = F.scaled_dot_product_attention(q, k, v).detach().numpy()
    gn.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).detach().numpy()
    assert not np.allclose(dropped, plain)
    # Inverted dropout keeps the expected output: the mean over many draws approaches it.
    gn.manual_seed(1)
    mean = np.mean([F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).detach().numpy()
                    for _ in range(200)], axis=0)
    assert np.abs(mean - plain).mean() < 0.05 * np.abs(plain).mean() + 0.01
    np.testing.assert_array_equal(
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).detach().numpy(), 0.0)
    # Reproducible under the same seed, and the gradient flows through the same mask.
    q.requires_grad_(True)
    gn.manual_seed(3)
    first = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    gn.manual_seed(3)
    second = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)
    np.testing.assert_array_equal(first.detach().numpy(), second.detach().numpy())
    (grad,) = gn.grad(first.sum(), [q])
    assert np.isfinite(grad.numpy()).all() and np.abs(grad.numpy()).sum() > 0


def test_sdpa_float32_and_a_float32_mask_on_float64_query():
    check_op(*sdpa_pair(), [randn(2, 4, 3).astype(np.float32), randn(2, 5, 3).astype(np.float32),
                            randn(2, 5, 2).astype(np.float32)], gradcheck=False, float32=False,
             atol=1e-5, rtol=1e-4)
    q, k, v = (randn(2, 4, 3) for _ in range(3))
    mask = randn(4, 4).astype(np.float32)
    out = F.scaled_dot_product_attention(*[gn.from_numpy(a) for a in (q, k, v)],
                                         attn_mask=gn.from_numpy(mask))
    expected = torch.nn.functional.scaled_dot_product_attention(
        *[torch.from_numpy(a) for a in (q, k, v)], attn_mask=torch.from_numpy(mask))
    assert out.dtype == gn.float64
    np.testing.assert_allclose(out.detach().numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)


# ----- MultiheadAttention -------------------------------------------------------------------

def mha_pair(*args, **kwargs):
    """A float64 PyTorch MultiheadAttention and ganglion's with its weights."""
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(*args, **kwargs).double()
    module = nn.MultiheadAttention(*args, **kwargs).double()
    result = module.load_state_dict(reference.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    return module, reference


def compare_mha(module, reference, inputs, check_weights=True, **call):
    """Outputs, attention weights and the gradients of every parameter and input."""
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in inputs]
    gn_inputs = [gn.from_numpy(a.copy()).requires_grad_(True) for a in inputs]
    if inputs[0] is inputs[1] and inputs[1] is inputs[2]:  # self-attention: one tensor
        torch_inputs = [torch_inputs[0]] * 3
        gn_inputs = [gn_inputs[0]] * 3
    masks = {name: call[name] for name in ("key_padding_mask", "attn_mask") if name in call}
    options = {k: v for k, v in call.items() if k not in masks}
    out_t, weights_t = reference(*torch_inputs, **{k: torch.from_numpy(v) for k, v in
                                                   masks.items()}, **options)
    out_g, weights_g = module(*gn_inputs, **{k: gn.from_numpy(v) for k, v in masks.items()},
                              **options)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=1e-10,
                               rtol=1e-9)
    if weights_t is None:
        assert weights_g is None
    elif check_weights:
        np.testing.assert_allclose(weights_g.detach().numpy(), weights_t.detach().numpy(),
                                   atol=1e-10, rtol=1e-9)
    projection = randn(*out_t.shape)
    (out_t * torch.from_numpy(projection)).sum().backward()
    (out_g * gn.from_numpy(projection)).sum().backward()
    torch_grads = dict(reference.named_parameters())
    for name, parameter in module.named_parameters():
        np.testing.assert_allclose(parameter.grad.numpy(), torch_grads[name].grad.numpy(),
                                   atol=1e-10, rtol=1e-9, err_msg=name)
    for g, t in zip(gn_inputs, torch_inputs):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=1e-10, rtol=1e-9)


def test_mha_parameter_layout_matches_pytorch():
    module, reference = mha_pair(8, 2)
    assert list(module.state_dict()) == list(reference.state_dict())
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    module, reference = mha_pair(8, 2, kdim=5, vdim=3, add_bias_kv=True, bias=False)
    assert list(module.state_dict()) == list(reference.state_dict())
    assert module.in_proj_weight is None and module.in_proj_bias is None
    assert tuple(module.k_proj_weight.shape) == (8, 5)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_mha_self_attention(batch_first, average):
    module, reference = mha_pair(8, 2, batch_first=batch_first)
    x = randn(3, 4, 8)
    compare_mha(module, reference, [x, x, x], average_attn_weights=average)


def test_mha_cross_attention_kdim_vdim_bias_kv_zero_attn_and_no_bias():
    module, reference = mha_pair(8, 2, kdim=5, vdim=3, add_bias_kv=True, add_zero_attn=True)
    compare_mha(module, reference, [randn(4, 2, 8), randn(6, 2, 5), randn(6, 2, 3)])
    module, reference = mha_pair(8, 4, bias=False, add_zero_attn=True, batch_first=True)
    memory = randn(2, 6, 8)
    compare_mha(module, reference, [randn(2, 4, 8), memory, memory])


def test_mha_unbatched():
    module, reference = mha_pair(6, 3)
    x = randn(5, 6)
    compare_mha(module, reference, [x, x, x], average_attn_weights=False)
    compare_mha(module, reference, [x, randn(4, 6), randn(4, 6)],
                key_padding_mask=np.array([False, True, False, False]))


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_masks_bool_and_float(need_weights):
    module, reference = mha_pair(8, 2, batch_first=True)
    x = randn(3, 5, 8)
    padding = np.zeros((3, 5), bool)
    padding[0, 3:] = True
    causal = np.triu(np.ones((5, 5), bool), 1)
    compare_mha(module, reference, [x, x, x], key_padding_mask=padding, attn_mask=causal,
                need_weights=need_weights)
    compare_mha(module, reference, [x, x, x], key_padding_mask=np.where(padding, -np.inf, 0.0),
                attn_mask=randn(3 * 2, 5, 5), need_weights=need_weights)
    # A float key padding mask is added as it is (1.0 is a bias, not "masked").
    compare_mha(module, reference, [x, x, x], key_padding_mask=padding.astype(np.float64),
                need_weights=need_weights)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64).numpy()
    compare_mha(module, reference, [x, x, x], attn_mask=mask, is_causal=True,
                need_weights=need_weights)


def test_mha_fully_masked_rows_nan_with_weights_zero_without():
    """PyTorch's two paths differ here, and ganglion follows both: with need_weights the
    explicit softmax gives NaN for a batch entry whose keys are all padding; without, the
    fused attention gives zeros."""
    module, reference = mha_pair(8, 2)
    x = randn(4, 2, 8)
    padding = np.zeros((2, 4), bool)
    padding[1] = True
    for need_weights in (True, False):
        out_t, _ = reference(*[torch.from_numpy(x)] * 3, key_padding_mask=torch.from_numpy(padding),
                             need_weights=need_weights)
        out_g, _ = module(*[gn.from_numpy(x)] * 3, key_padding_mask=gn.from_numpy(padding),
                          need_weights=need_weights)
        np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=1e-10,
                                   rtol=1e-9)
        assert np.isnan(out_g.detach().numpy()[:, 1]).all() == need_weights


def test_mha_dropout_only_in_training():
    module, reference = mha_pair(8, 2, dropout=0.5)
    x = randn(4, 2, 8)
    module.eval()
    reference.eval()
    compare_mha(module, reference, [x, x, x])
    module.train()
    gn.manual_seed(0)
    out, weights = module(*[gn.from_numpy(x)] * 3, average_attn_weights=False)
    evaluated = module.eval()(*[gn.from_numpy(x)] * 3, average_attn_weights=False)[1]
    # The returned weights are the dropped-out ones, as PyTorch returns them.
    kept = weights.detach().numpy() != 0
    assert 0.2 < kept.mean() < 0.8
    np.testing.assert_allclose(weights.detach().numpy()[kept],
                               2 * evaluated.detach().numpy()[kept], rtol=1e-12)


def test_functional_multi_head_attention_forward():
    module, reference = mha_pair(8, 2)
    x, memory = randn(4, 2, 8), randn(6, 2, 8)

    def arguments(m, to):
        return (to(x), to(memory), to(memory), 8, 2, m.in_proj_weight, m.in_proj_bias, None,
                None, False, 0.0, m.out_proj.weight, m.out_proj.bias)
    out_t, weights_t = torch.nn.functional.multi_head_attention_forward(
        *arguments(reference, torch.from_numpy), training=False)
    out_g, weights_g = F.multi_head_attention_forward(*arguments(module, gn.from_numpy),
                                                      training=False)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(weights_g.detach().numpy(), weights_t.detach().numpy(),
                               rtol=1e-9, atol=1e-12)


def test_mha_float32_default_and_initialization():
    module = nn.MultiheadAttention(16, 4)
    assert module.in_proj_weight.dtype == gn.float32
    np.testing.assert_array_equal(module.in_proj_bias.detach().numpy(), 0.0)
    np.testing.assert_array_equal(module.out_proj.bias.detach().numpy(), 0.0)
    bound = np.sqrt(6 / (16 + 48))  # Xavier-uniform over the packed (48, 16) weight
    assert np.abs(module.in_proj_weight.detach().numpy()).max() <= bound
    x = gn.from_numpy(randn(5, 3, 16).astype(np.float32))
    out, weights = module(x, x, x)
    assert out.dtype == gn.float32 and tuple(out.shape) == (5, 3, 16)
    assert tuple(weights.shape) == (3, 5, 5)
    np.testing.assert_allclose(weights.detach().numpy().sum(-1), 1.0, rtol=1e-5)


# ----- bad inputs ---------------------------------------------------------------------------

def _t(*shape, dtype=np.float64):
    return gn.from_numpy(np.zeros(shape, dtype))


_q, _k, _v = _t(2, 4, 8), _t(2, 5, 8), _t(2, 5, 6)
_module = nn.MultiheadAttention(8, 2)
_x = _t(4, 2, 8, dtype=np.float32)

CASES = [
    BadInput("sdpa mask and is_causal",
             lambda: F.scaled_dot_product_attention(_q, _k, _v, attn_mask=_t(4, 5), is_causal=True),
             RuntimeError, ["scaled_dot_product_attention", "attn_mask", "is_causal"]),
    BadInput("sdpa 1-d query", lambda: F.scaled_dot_product_attention(_t(8), _k, _v),
             RuntimeError, ["scaled_dot_product_attention", "at least 2", "(8,)"]),
    BadInput("sdpa embedding sizes differ",
             lambda: F.scaled_dot_product_attention(_q, _t(2, 5, 7), _v), RuntimeError,
             ["scaled_dot_product_attention", "(2, 4, 8)", "(2, 5, 7)", "last dimension"]),
    BadInput("sdpa key value lengths differ",
             lambda: F.scaled_dot_product_attention(_q, _k, _t(2, 4, 6)), RuntimeError,
             ["scaled_dot_product_attention", "(2, 5, 8)", "(2, 4, 6)"]),
    BadInput("sdpa dtypes differ",
             lambda: F.scaled_dot_product_attention(_q, _k, _t(2, 5, 6, dtype=np.float32)),
             RuntimeError, ["scaled_dot_product_attention", "float64", "float32"]),
    BadInput("sdpa integer mask",
             lambda: F.scaled_dot_product_attention(_q, _k, _v, attn_mask=_t(4, 5, dtype=np.int64)),
             RuntimeError, ["scaled_dot_product_attention", "attn_mask", "int64"]),
    BadInput("sdpa mask shape",
             lambda: F.scaled_dot_product_attention(_q, _k, _v, attn_mask=_t(3, 5)),
             RuntimeError, ["scaled_dot_product_attention", "attn_mask", "(3, 5)"]),
    BadInput("sdpa mask with more batch dims",
             lambda: F.scaled_dot_product_attention(_q, _k, _v, attn_mask=_t(3, 2, 4, 5)),
             RuntimeError, ["scaled_dot_product_attention", "attn_mask", "(3, 2, 4, 5)",
                            "(2, 4, 5)"]),
    BadInput("sdpa 1-d mask",
             lambda: F.scaled_dot_product_attention(_q, _k, _v, attn_mask=_t(5, dtype=bool)),
             IndexError, ["scaled_dot_product_attention", "attn_mask", "at least 2", "(5,)"]),
    BadInput("sdpa dropout above 1",
             lambda: F.scaled_dot_product_attention(_q, _k, _v, dropout_p=1.5), RuntimeError,
             ["scaled_dot_product_attention", "dropout probability", "1.5"]),
    BadInput("sdpa gqa heads do not divide",
             lambda: F.scaled_dot_product_attention(_t(1, 4, 3, 2), _t(1, 3, 3, 2),
                                                    _t(1, 3, 3, 2), enable_gqa=True),
             RuntimeError, ["enable_gqa", "3", "4"]),
    BadInput("sdpa query not a tensor",
             lambda: F.scaled_dot_product_attention(np.zeros((4, 8)), _k, _v), TypeError,
             ["scaled_dot_product_attention", "query", "ndarray"]),
    BadInput("mha embed_dim not divisible", lambda: nn.MultiheadAttention(8, 3), AssertionError,
             ["MultiheadAttention(8, 3)", "divisible", "num_heads=3"]),
    BadInput("mha zero heads", lambda: nn.MultiheadAttention(8, 0), ValueError,
             ["MultiheadAttention(8, 0)", "num_heads", "positive"]),
    BadInput("mha 4-d query", lambda: _module(_t(1, 4, 2, 8), _x, _x), AssertionError,
             ["MultiheadAttention(8, 2)", "2-D or batched 3-D", "(1, 4, 2, 8)"]),
    BadInput("mha 2-d key for batched query", lambda: _module(_x, _t(4, 8), _t(4, 8)),
             AssertionError, ["MultiheadAttention(8, 2)", "key and value", "3-D", "(4, 8)"]),
    BadInput("mha wrong embedding", lambda: _module(*[_t(4, 2, 6, dtype=np.float32)] * 3),
             AssertionError, ["MultiheadAttention(8, 2)", "8", "6"]),
    BadInput("mha key padding mask shape",
             lambda: _module(_x, _x, _x, key_padding_mask=_t(2, 3, dtype=bool)),
             AssertionError, ["MultiheadAttention(8, 2)", "key_padding_mask", "(2, 4)", "(2, 3)"]),
    BadInput("mha 2-d attn_mask shape",
             lambda: _module(_x, _x, _x, attn_mask=_t(4, 3, dtype=bool)), RuntimeError,
             ["MultiheadAttention(8, 2)", "2D attn_mask", "(4, 3)", "(4, 4)"]),
    BadInput("mha 3-d attn_mask shape",
             lambda: _module(_x, _x, _x, attn_mask=_t(2, 4, 4, dtype=bool)), RuntimeError,
             ["MultiheadAttention(8, 2)", "3D attn_mask", "(2, 4, 4)", "(4, 4, 4)"]),
    BadInput("mha is_causal without mask", lambda: _module(_x, _x, _x, is_causal=True),
             RuntimeError, ["MultiheadAttention(8, 2)", "need attn_mask", "is_causal",
                            "generate_square_subsequent_mask"]),
    BadInput("mha integer mask",
             lambda: _module(_x, _x, _x, attn_mask=_t(4, 4, dtype=np.int64)), AssertionError,
             ["MultiheadAttention(8, 2)", "attn_mask", "bool and floating", "int64"]),
]
test_bad_input = bad_input_test(CASES)
