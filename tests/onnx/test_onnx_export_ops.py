"""ganglion.onnx.export op by op: each layer, activation and tensor function the converters
cover, exported with a dynamic batch axis and run by ONNX Runtime (CPU) at two batch sizes,
whose outputs must equal ganglion's within 1e-5 of the output scale. Opsets 13 and 18 are
both tried where a converter writes differently for them (reductions' axes, HardSwish).
"""
import numpy as np
import pytest

import ganglion as gn
import ganglion.nn as nn
import ganglion.nn.functional as F
from ganglion.onnx import UnsupportedOnnxOpError, export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class Lambda(nn.Module):
    """A function of tensors as a module (some cases need parameters beside it)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        return self.attention(x, x, x)[0]


def positive(shape):
    return gn.rand(*shape) + 0.5


def tokens(shape, high=10):
    return gn.randint(0, high, shape)


#: (id, module or function, example factory for one batch size, opsets)
CASES = [
    # layers
    ("linear_3d", nn.Linear(6, 4), lambda n: gn.randn(n, 5, 6)),
    ("linear_no_bias", nn.Linear(6, 4, bias=False), lambda n: gn.randn(n, 6)),
    ("conv_stride_padding_dilation", nn.Conv2d(3, 4, 3, stride=2, padding=2, dilation=2),
     lambda n: gn.randn(n, 3, 9, 9)),
    ("conv_groups_no_bias", nn.Conv2d(4, 6, 3, groups=2, bias=False, padding=1),
     lambda n: gn.randn(n, 4, 7, 7)),
    ("conv_depthwise", nn.Conv2d(4, 4, 5, groups=4, stride=2, padding=2), lambda n: gn.randn(n, 4, 9, 9)),
    ("conv_asymmetric", nn.Conv2d(3, 2, (3, 1), stride=(1, 2), padding=(1, 0)),
     lambda n: gn.randn(n, 3, 6, 7)),
    ("conv1d", nn.Conv1d(3, 4, 3, padding=1), lambda n: gn.randn(n, 3, 10)),
    ("conv_transpose", nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1),
     lambda n: gn.randn(n, 3, 5, 5)),
    ("max_pool_padding", nn.MaxPool2d(3, stride=2, padding=1), lambda n: gn.randn(n, 2, 9, 9)),
    ("max_pool_ceil", nn.MaxPool2d(3, stride=2, ceil_mode=True), lambda n: gn.randn(n, 2, 10, 10)),
    ("max_pool_ceil_drops_last_window", nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
     lambda n: gn.randn(n, 2, 5, 5)),
    ("avg_pool_ceil_drops_last_window", nn.AvgPool2d(2, stride=2, padding=1, ceil_mode=True),
     lambda n: gn.randn(n, 2, 5, 5)),
    ("avg_pool_ceil_overhang", nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
     lambda n: gn.randn(n, 2, 6, 6)),
    ("avg_pool_ceil_overhang_exclude_pad",
     nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
     lambda n: gn.randn(n, 2, 6, 7)),
    ("max_pool_dilation", nn.MaxPool2d(2, stride=1, dilation=2), lambda n: gn.randn(n, 2, 7, 7)),
    ("avg_pool", nn.AvgPool2d(3, stride=2, padding=1), lambda n: gn.randn(n, 2, 9, 9)),
    ("avg_pool_exclude_pad", nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
     lambda n: gn.randn(n, 2, 9, 9)),
    ("adaptive_avg_global", nn.AdaptiveAvgPool2d(1), lambda n: gn.randn(n, 3, 5, 7)),
    ("adaptive_avg_uneven", nn.AdaptiveAvgPool2d((3, 2)), lambda n: gn.randn(n, 3, 7, 5)),
    ("adaptive_max", nn.AdaptiveMaxPool2d((2, 3)), lambda n: gn.randn(n, 3, 4, 6)),
    ("batch_norm_1d", nn.BatchNorm1d(5), lambda n: gn.randn(n, 5)),
    ("batch_norm_no_affine", nn.BatchNorm2d(3, affine=False), lambda n: gn.randn(n, 3, 4, 4)),
    ("layer_norm", nn.LayerNorm(6), lambda n: gn.randn(n, 3, 6)),
    ("local_response_norm", nn.LocalResponseNorm(3, alpha=1e-2, beta=0.75, k=2.0),
     lambda n: gn.randn(n, 6, 4, 4)),
    ("dropout_eval", nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)), lambda n: gn.randn(n, 4)),
    ("embedding", nn.Embedding(10, 3), lambda n: tokens((n, 5))),
    ("multihead_attention", lambda: SelfAttention(), lambda n: gn.randn(n, 5, 8)),
    ("transformer_encoder_layer",
     nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
     lambda n: gn.randn(n, 5, 8)),
    ("attention_causal", lambda x: F.scaled_dot_product_attention(x, x * 2, x, is_causal=True),
     lambda n: gn.randn(n, 2, 5, 4)),
    ("attention_fully_masked_rows", lambda x: F.scaled_dot_product_attention(
        x, x, x, attn_mask=(gn.arange(x.size(1)) > 0)[None, :, None] & (x[:, None, :, 0] > -0.5)),
     lambda n: gn.randn(n, 5, 4)),
    # activations
    ("relu", nn.ReLU(), lambda n: gn.randn(n, 8)),
    ("relu6", nn.ReLU6(), lambda n: gn.randn(n, 8) * 5),
    ("hardtanh", nn.Hardtanh(-2.0, 3.0), lambda n: gn.randn(n, 8) * 3),
    ("leaky_relu", nn.LeakyReLU(0.2), lambda n: gn.randn(n, 8)),
    ("elu", nn.ELU(0.7), lambda n: gn.randn(n, 8)),
    ("selu", nn.SELU(), lambda n: gn.randn(n, 8)),
    ("gelu", nn.GELU(), lambda n: gn.randn(n, 8)),
    ("gelu_tanh", nn.GELU(approximate="tanh"), lambda n: gn.randn(n, 8)),
    ("sigmoid", nn.Sigmoid(), lambda n: gn.randn(n, 8)),
    ("tanh", nn.Tanh(), lambda n: gn.randn(n, 8)),
    ("softplus", nn.Softplus(), lambda n: gn.randn(n, 8) * 10),
    ("softplus_beta_threshold", nn.Softplus(beta=2.0, threshold=3.0), lambda n: gn.randn(n, 8) * 3),
    ("silu", nn.SiLU(), lambda n: gn.randn(n, 8)),
    ("hardswish", nn.Hardswish(), lambda n: gn.randn(n, 8) * 4),
    ("hardsigmoid", nn.Hardsigmoid(), lambda n: gn.randn(n, 8) * 4),
    ("mish", nn.Mish(), lambda n: gn.randn(n, 8)),
    ("prelu", nn.PReLU(), lambda n: gn.randn(n, 8)),
    ("softmax", nn.Softmax(dim=1), lambda n: gn.randn(n, 8)),
    ("log_softmax_last", nn.LogSoftmax(dim=-1), lambda n: gn.randn(n, 3, 8)),
    # shapes and indexing
    ("flatten", nn.Flatten(), lambda n: gn.randn(n, 2, 3, 4)),
    ("view_batch", lambda x: x.view(x.size(0), -1), lambda n: gn.randn(n, 2, 3, 4)),
    ("reshape", lambda x: x.reshape(-1, 4), lambda n: gn.randn(n, 2, 3, 4)),
    ("slicing", lambda x: x[:, 1:3, ::2, -1], lambda n: gn.randn(n, 4, 3, 4)),
    ("slicing_ellipsis_none", lambda x: x[..., None, 1:], lambda n: gn.randn(n, 3, 4)),
    ("index_int_then_none", lambda x: x[:, 1, ..., None] + x[None, :, 2, None, :1].sum(0),
     lambda n: gn.randn(n, 3, 4)),
    ("index_int", lambda x: x[:, 2] + x[:, -1], lambda n: gn.randn(n, 4, 3)),
    ("index_list", lambda x: x[:, [2, 0, 2]], lambda n: gn.randn(n, 4, 3)),
    ("index_select", lambda x: gn.index_select(x, 2, gn.tensor([1, 0])), lambda n: gn.randn(n, 4, 3)),
    ("gather", lambda x: gn.gather(x, 1, (x[:, :2] > 0).long()), lambda n: gn.randn(n, 4)),
    ("gather_corner", lambda x: gn.gather(x, 1, gn.tensor([[0, 3], [1, 1]])), lambda n: gn.randn(n, 4)),
    ("one_hot", lambda t: F.one_hot(t, 6), lambda n: tokens((n, 3), high=6)),
    ("transpose_permute", lambda x: x.transpose(1, 2).permute(0, 3, 2, 1), lambda n: gn.randn(n, 4, 3, 2)),
    ("concat", lambda x: gn.cat([x, x * 2, x[:, :1]], dim=1), lambda n: gn.randn(n, 4)),
    ("stack_unsqueeze_squeeze", lambda x: gn.stack([x, x + 1], dim=1).unsqueeze(-1).squeeze(-1),
     lambda n: gn.randn(n, 4)),
    ("expand", lambda x: x[:, :1].expand(-1, 5) + x.mean(1, keepdim=True), lambda n: gn.randn(n, 4)),
    ("pad_constant", lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), lambda n: gn.randn(n, 2, 3, 3)),
    ("pad_reflect", lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), lambda n: gn.randn(n, 2, 4, 4)),
    ("pad_replicate", lambda x: F.pad(x, (1, 1, 2, 0), mode="replicate"), lambda n: gn.randn(n, 2, 4, 4)),
    ("flip", lambda x: gn.flip(x, dims=(1, 2)), lambda n: gn.randn(n, 3, 4)),
    ("chunk", lambda x: x.chunk(2, dim=1)[1] - x.split(1, dim=1)[0], lambda n: gn.randn(n, 4)),
    # elementwise and reductions
    ("arithmetic", lambda x: (x - 1) / 3 * x ** 2 + 2 ** x - x.abs().sqrt() + gn.exp(-x.abs()),
     lambda n: gn.randn(n, 5)),
    ("logs", lambda x: gn.log(x) + gn.log1p(x) + gn.expm1(x) - x.rsqrt(), lambda n: positive((n, 5))),
    ("trig", lambda x: gn.sin(x) + gn.cos(x) + gn.atan(x) + gn.erf(x) + gn.tan(x * 0.3),
     lambda n: gn.randn(n, 5)),
    ("rounding", lambda x: gn.floor(x) + gn.ceil(x) + gn.sign(x) + gn.round(x * 3),
     lambda n: gn.randn(n, 6) * 3),
    ("minimum_maximum_clamp", lambda x: gn.maximum(x, x * 2) + gn.minimum(x, -x) + x.clamp(-0.5, 0.5),
     lambda n: gn.randn(n, 5)),
    ("where_compare", lambda x: gn.where((x > 0) & (x < 1) | (x == 0), x, x * 3) + (x != x[:, :1]).float(),
     lambda n: gn.randn(n, 5)),
    ("floor_divide_remainder", lambda x: gn.floor_divide(x, 0.7) + gn.remainder(x, -0.6),
     lambda n: gn.randn(n, 6) * 3),
    ("reductions", lambda x: x.mean(dim=1) + x.sum() + x.amax(dim=1) + x.amin(1) + x.prod(1)
     + x.logsumexp(1), lambda n: gn.randn(n, 4)),
    ("reductions_keepdim", lambda x: x - x.mean((1, 2), keepdim=True) + x.max(dim=2, keepdim=True)[0],
     lambda n: gn.randn(n, 3, 4)),
    ("argmax_argmin", lambda x: x.argmax(dim=1) + x.argmin(dim=1, keepdim=True)[:, 0],
     lambda n: gn.randn(n, 5)),
    ("any_all", lambda x: (x > 0).any(dim=1).float() + (x > -1).all(dim=1).int(),
     lambda n: gn.randn(n, 3)),
    ("variance", lambda x: x.var(dim=1) + x.std(dim=1, unbiased=False), lambda n: gn.randn(n, 6)),
    ("cumsum", lambda x: x.cumsum(dim=1), lambda n: gn.randn(n, 5)),
    ("sort_topk", lambda x: gn.sort(x, dim=1)[0] + gn.sort(x, dim=0, descending=True)[1]
     + x.topk(2, dim=1)[0].sum(1, keepdim=True) + x.argsort(dim=1), lambda n: gn.randn(n, 5)),
    ("tril_triu", lambda x: gn.tril(x) + gn.triu(x, 1) * 2 + gn.tril(x, -1), lambda n: gn.randn(n, 4, 5)),
    ("matmul_einsum", lambda x: x @ x.transpose(1, 2) + gn.einsum("bij,bkj->bik", x, x),
     lambda n: gn.randn(n, 3, 4)),
    ("cast_integer_math", lambda t: (t * 3 + 1) // 2 + t % 3, lambda n: tokens((n, 4))),
]


def _module(case_object):
    if isinstance(case_object, nn.Module):
        return case_object
    if case_object.__code__.co_argcount == 0:  # a module built when the test runs
        return case_object()
    return Lambda(case_object)


@pytest.mark.parametrize("name,fn,example", CASES, ids=[c[0] for c in CASES])
def test_op_matches_onnx_runtime(name, fn, example, tmp_path):
    gn.manual_seed(0)
    model = _module(fn).eval()
    path = tmp_path / f"{name}.onnx"
    export(model, example(2), path, dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (2, 5):
        x = example(batch)
        with gn.no_grad():
            expected = model(x).numpy()
        got = session.run(None, {"input": x.numpy()})[0]
        assert got.dtype == expected.dtype and got.shape == expected.shape
        scale = max(1.0, float(np.abs(expected).max()))
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * scale)


REDUCTIONS_AND_HARDSWISH = nn.Sequential(nn.MaxPool2d(2, padding=1, ceil_mode=True),
                                         nn.Flatten(), nn.Hardswish(), Lambda(
    lambda x: x.sum(1) + x.mean(1) + x.amax(1) + x.amin(1) + x.logsumexp(1) + x.prod(1)))


@pytest.mark.parametrize("opset", [13, 14, 18])
def test_opset_dependent_forms(opset, tmp_path):
    path = tmp_path / "net.onnx"
    x = gn.randn(3, 1, 3, 3) * 3
    export(REDUCTIONS_AND_HARDSWISH, x, path, opset_version=opset)
    op_types = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert ("HardSwish" in op_types) == (opset >= 14)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with gn.no_grad():
        expected = REDUCTIONS_AND_HARDSWISH(x).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x.numpy()})[0], expected, atol=1e-5)


def test_reductions_over_every_axis(tmp_path):
    model = Lambda(lambda x: (x.argmax(), x.sum(), x.amax(), x.var()))
    x = gn.randn(3, 4)
    path = tmp_path / "all_axes.onnx"
    export(model, x, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with gn.no_grad():
        expected = [t.numpy() for t in model(x)]
    for got, want in zip(session.run(None, {"input": x.numpy()}), expected):
        assert got.shape == () and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_constants_are_folded(tmp_path):
    """Arithmetic on constants only is computed at export time, not written as nodes."""
    path = tmp_path / "folded.onnx"
    model = Lambda(lambda x: x * (gn.tensor(2.0) * 3 + 1))
    export(model, gn.randn(2, 3), path)
    graph = onnx.load(str(path)).graph
    assert [n.op_type for n in graph.node] == ["Mul", "Identity"]


@pytest.mark.parametrize("fn,words", [
    (lambda x: gn.roll(x, 1, dims=1), ["Roll"]),
    (lambda x: x[x > 0], ["GetItem", "boolean mask"]),
    (lambda x: F.dropout(x, 0.5, training=True), ["dropout", "eval mode"]),
])
def test_unsupported_ops_raise(fn, words, tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), Lambda(fn))
    with pytest.raises(UnsupportedOnnxOpError) as info:
        export(model, gn.randn(2, 4), tmp_path / "x.onnx")
    message = str(info.value)
    for word in words + ["1 (Lambda)"]:
        assert word in message
