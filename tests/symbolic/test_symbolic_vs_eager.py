"""Every op of the foundation gives the same values (and gradients) compiled as eagerly.

Each row of ``CASES`` is (name, function of tensors, input shapes). The function runs eagerly on
random float64 inputs, and through ``function`` on placeholders whose dims are all unknown
(None), so that every op's ``infer`` meets partly known shapes; the gradient of the sum of the
result is compared the same way. Ops that need a size at build time (the pieces of cat, split,
chunk; tile's repeats) get placeholders of known shape (``KNOWN_SHAPES``).
"""
import numpy as np
import pytest

import ganglion as gn

KNOWN_SHAPES = {"cat", "tile", "split", "chunk"}
POSITIVE = {"log", "sqrt", "rsqrt", "log1p", "pow_tensor", "prod", "div_tensor"}

CASES = [
    ("add", lambda a, b: a + b, [(3, 4), (4,)]),
    ("sub", lambda a, b: a - b, [(3, 1), (1, 4)]),
    ("mul", lambda a, b: a * b, [(2, 3, 4), (3, 4)]),
    ("div_tensor", lambda a, b: a / b, [(3, 4), (3, 4)]),
    ("pow_tensor", lambda a, b: a ** b, [(3, 4), (3, 4)]),
    ("pow_scalar", lambda a: a ** 3, [(5,)]),
    ("rsub_scalar", lambda a: 2.5 - a, [(5,)]),
    ("maximum", gn.maximum, [(3, 4), (3, 4)]),
    ("minimum", gn.minimum, [(3, 4), (4,)]),
    ("where", lambda a, b: gn.where(a > b, a, b * 2), [(3, 4), (3, 4)]),
    ("clamp", lambda a: gn.clamp(a, -0.5, 0.5), [(3, 4)]),
    ("neg", lambda a: -a, [(3,)]),
    ("abs", gn.abs, [(3, 4)]),
    ("exp", gn.exp, [(3, 4)]),
    ("log", gn.log, [(3, 4)]),
    ("log1p", gn.log1p, [(3, 4)]),
    ("expm1", gn.expm1, [(3, 4)]),
    ("sqrt", gn.sqrt, [(3, 4)]),
    ("rsqrt", gn.rsqrt, [(3, 4)]),
    ("square", gn.square, [(3, 4)]),
    ("sin", gn.sin, [(3, 4)]),
    ("cos", gn.cos, [(3, 4)]),
    ("tanh", gn.tanh, [(3, 4)]),
    ("sigmoid", gn.sigmoid, [(3, 4)]),
    ("relu", gn.relu, [(3, 4)]),
    ("leaky_relu", lambda a: gn.leaky_relu(a, 0.1), [(3, 4)]),
    ("elu", gn.elu, [(3, 4)]),
    ("selu", gn.selu, [(3, 4)]),
    ("gelu", gn.gelu, [(3, 4)]),
    ("gelu_tanh", lambda a: gn.gelu(a, approximate="tanh"), [(3, 4)]),
    ("softplus", gn.softplus, [(3, 4)]),
    ("logsigmoid", gn.logsigmoid, [(3, 4)]),
    ("erf", gn.erf, [(3, 4)]),
    ("hardtanh", gn.hardtanh, [(3, 4)]),
    ("sum_all", gn.sum, [(3, 4)]),
    ("sum_axis", lambda a: a.sum(1, keepdims=True), [(3, 4)]),
    ("mean_all", gn.mean, [(3, 4)]),
    ("mean_axis", lambda a: a.mean(0), [(3, 4)]),
    ("prod", lambda a: a.prod(1), [(3, 4)]),
    ("amax", lambda a: gn.amax(a, 1), [(3, 4)]),
    ("amin", lambda a: gn.amin(a, 0), [(3, 4)]),
    ("var", lambda a: a.var(1), [(3, 4)]),
    ("std", lambda a: a.std(), [(3, 4)]),
    ("logsumexp", lambda a: gn.logsumexp(a, 1), [(3, 4)]),
    ("cumsum", lambda a: gn.cumsum(a, 1), [(3, 4)]),
    ("softmax", lambda a: gn.softmax(a, 1), [(3, 4)]),
    ("log_softmax", lambda a: gn.log_softmax(a, 0), [(3, 4)]),
    ("matmul", gn.matmul, [(3, 4), (4, 5)]),
    ("matmul_vec", gn.matmul, [(3, 4), (4,)]),
    ("matmul_batched", gn.matmul, [(2, 3, 4), (4, 5)]),
    ("dot_vectors", gn.dot, [(4,), (4,)]),
    ("outer", gn.outer, [(3,), (4,)]),
    ("einsum", lambda a, b: gn.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)]),
    ("reshape", lambda a: a.reshape(4, 3), [(3, 4)]),
    ("flatten", lambda a: a.flatten(), [(2, 3, 4)]),
    ("permute", lambda a: a.permute(2, 0, 1), [(2, 3, 4)]),
    ("transpose", lambda a: a.T, [(3, 4)]),
    ("expand", lambda a: a.expand(3, 4), [(1, 4)]),
    ("unsqueeze_squeeze", lambda a: a.unsqueeze(1).squeeze(1), [(3, 4)]),
    ("cat", lambda a, b: gn.cat([a, b], 1), [(3, 2), (3, 4)]),
    ("stack", lambda a, b: gn.stack([a, b], 0), [(3, 4), (3, 4)]),
    ("pad", lambda a: gn.pad(a, (1, 2)), [(3, 4)]),
    ("flip", lambda a: gn.flip(a, 1), [(3, 4)]),
    ("tile", lambda a: gn.tile(a, (2, 1)), [(3, 4)]),
    ("getitem_slice", lambda a: a[1:, ::2], [(3, 4)]),
    ("getitem_int", lambda a: a[:, 1], [(3, 4)]),
    ("split", lambda a: gn.split(a, 2, 1)[1], [(3, 4)]),
    ("chunk", lambda a: a.chunk(3, 0)[2], [(3, 4)]),
]


def _inputs(name, shapes, rng):
    arrays = [rng.standard_normal(s) for s in shapes]
    if name in POSITIVE:
        arrays = [np.abs(a) + 0.5 for a in arrays]
    return arrays


@pytest.mark.parametrize("name, fn, shapes", CASES, ids=[c[0] for c in CASES])
def test_compiled_matches_eager(name, fn, shapes):
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    arrays = _inputs(name, shapes, rng)
    eager_inputs = [gn.tensor(a, dtype=gn.float64, requires_grad=True) for a in arrays]
    eager = fn(*eager_inputs)
    eager.sum().backward()
    placeholders = [gn.placeholder(gn.float64, s if name in KNOWN_SHAPES else (None,) * len(s),
                                   name=f"in{k}") for k, s in enumerate(shapes)]
    out = fn(*placeholders)
    assert out.is_symbolic and out.ndim == eager.ndim
    grads = gn.grad(out.sum(), placeholders)
    f = gn.function(placeholders, [out] + list(grads))
    value, *compiled_grads = f(*arrays)
    np.testing.assert_allclose(value, eager.detach().numpy(), rtol=1e-12, atol=1e-12)
    for t, g in zip(eager_inputs, compiled_grads):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


INTEGER_CASES = [
    ("argmax", lambda a: gn.argmax(a, 1)),
    ("argmin", lambda a: gn.argmin(a, 0)),
    ("compare", lambda a: (a > 0) & (a < 1)),
    ("cast", lambda a: a.long()),
    ("floor", gn.floor),
    ("sign", gn.sign),
    ("gather", lambda a: gn.gather(a, 1, gn.tensor([[0], [2], [1]]))),
]


@pytest.mark.parametrize("name, fn", INTEGER_CASES, ids=[c[0] for c in INTEGER_CASES])
def test_non_differentiable_ops_match_eager(name, fn):
    array = np.random.default_rng(1).standard_normal((3, 4)) * 2
    x = gn.dmatrix("x")
    expected = fn(gn.tensor(array, dtype=gn.float64)).numpy()
    result = gn.function([x], fn(x))(array)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


def test_symbolic_index_arrays():
    logp = gn.dmatrix("logp")
    labels = gn.lvector("labels")
    picked = gn.take_along_axis(logp, labels.unsqueeze(1), 1)
    data = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(gn.function([logp, labels], picked)(data, [1, 0, 1]), [[1], [2], [5]])
