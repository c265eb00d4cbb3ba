"""Which provider runs the backend's products (backend/matmul.py's ``matmul``,
``linear_forward`` and ``fixed_right_product``): oneDNN for large float32 2-D products under
"auto" and "onednn", OpenBLAS for small, batched, float64 and integer ones, inside a
convolution kernel and under "numpy"; and the fully connected and recurrent layers give the
same results, forward and backward, with products on oneDNN as with ``kernels="numpy"``."""
import numpy as np
import pytest

import ganglion as gn
from ganglion import nn
from ganglion.backend import matmul as products
from ganglion.backend import providers
from ganglion.backend.onednn import library

needs_onednn = pytest.mark.skipif(not library.available(),
                                  reason=f"oneDNN unavailable: {library.unavailable_reason()}")
rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


@needs_onednn
@pytest.mark.parametrize("kernels", ["auto", "onednn"])
def test_large_float32_products_run_on_onednn(kernels):
    x, w = f32(128, 784), f32(512, 784)
    with gn.config(kernels=kernels):
        assert providers.kernel_for("matmul", x, w.T) == "onednn"
        assert providers.kernel_for("linear_forward", x, w, f32(512)) == "onednn"
        assert providers.kernel_for("linear_forward", x, w, None) == "onednn"
        assert products.fixed_right_product.dispatcher.choose(w.T, 64)[0] == "onednn"


@pytest.mark.parametrize("case, a, b", [
    ("10-class head", f32(128, 512), f32(10, 512).T),
    ("float64", f32(128, 784).astype(np.float64), f32(784, 512).astype(np.float64)),
    ("int64", rng.integers(-3, 3, (128, 784)), rng.integers(-3, 3, (784, 512))),
    ("batched", f32(4, 128, 784), f32(784, 512)),
    ("inner sizes differ", f32(128, 784), f32(783, 512)),
    ("weight gradient, left operand transposed", f32(128, 512).T, f32(128, 784)),
])
def test_other_products_stay_on_openblas(case, a, b):
    for kernels in ("auto", "onednn", "numba", "numpy"):
        with gn.config(kernels=kernels):
            assert providers.kernel_for("matmul", a, b) == "numpy", (case, kernels)


def test_numpy_setting_and_convolution_kernels_keep_openblas():
    x, w = f32(128, 784), f32(512, 784)
    for kernels in ("numpy", "numba"):
        with gn.config(kernels=kernels):
            assert providers.kernel_for("matmul", x, w.T) == "numpy"
            assert providers.kernel_for("linear_forward", x, w, None) == "numpy"
            assert products.fixed_right_product.dispatcher.choose(w.T, 64)[0] == "numpy"
    # Inside a convolution kernel, or one core's share of a split kernel, products stay on BLAS.
    with products.convolution_scope():
        assert providers.kernel_for("matmul", x, w.T) == "numpy"
    seen = []
    products.on_each_core(2, lambda lo, hi: seen.append(providers.kernel_for("matmul", x, w.T)))
    assert seen == ["numpy"] * len(seen) and seen


@needs_onednn
def test_dispatched_products_equal_numpy():
    a, b = f32(64, 256), f32(1024, 256).T
    out = np.empty((64, 1024), np.float32)
    assert gn.backend.current.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4 * 16)
    x, w, bias = f32(128, 784), f32(512, 784), f32(512)
    with gn.config(kernels="numpy"):
        expected = gn.backend.current.linear_forward(x, w, bias)
    np.testing.assert_allclose(gn.backend.current.linear_forward(x, w, bias), expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(expected, x @ w.T + bias, rtol=1e-5, atol=1e-4)


@pytest.fixture
def every_product_on_onednn(monkeypatch):
    """Route even the small products of these layers to oneDNN (fast tests)."""
    if not library.available():
        pytest.skip(f"oneDNN unavailable: {library.unavailable_reason()}")
    from ganglion.backend.onednn import matmul as onednn_matmul
    monkeypatch.setattr(onednn_matmul, "SMALLEST_PRODUCT", 1)
    calls = []
    for name in ("matmul", "linear", "fixed_right"):
        function = getattr(onednn_matmul, name)
        monkeypatch.setattr(onednn_matmul, name,
                            lambda *args, _f=function, _n=name, **kw: calls.append(_n) or _f(*args, **kw))
    providers.register(providers.Provider("onednn", providers._onednn_kernels))
    yield calls
    monkeypatch.undo()
    providers.register(providers.Provider("onednn", providers._onednn_kernels))


def _run_layer(kind, kwargs, x, h0, seed=3):
    """Outputs and gradients of a float32 ganglion layer built from ``seed``."""
    gn.manual_seed(seed)
    layer = getattr(nn, kind)(**kwargs)
    xs = gn.from_numpy(x.copy()).requires_grad_()
    states = h0 if h0 is None else tuple(gn.from_numpy(h.copy()).requires_grad_() for h in h0)
    if states is not None and kind != "LSTM":
        states = states[0]
    out, _ = layer(xs, states)
    weights = gn.from_numpy(np.linspace(-1, 1, out.numel(), dtype=np.float32).reshape(out.shape))
    (out * weights).sum().backward()
    grads = [xs.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
    if states is not None:
        grads += [s.grad.numpy() for s in (states if isinstance(states, tuple) else (states,))]
    return [out.detach().numpy()] + grads


@pytest.mark.parametrize("kind, kwargs", [
    ("LSTM", dict(input_size=5, hidden_size=16)),
    ("LSTM", dict(input_size=5, hidden_size=16, bidirectional=True, num_layers=2)),
    ("GRU", dict(input_size=5, hidden_size=16)),
    ("GRU", dict(input_size=5, hidden_size=16, bidirectional=True)),
    ("RNN", dict(input_size=5, hidden_size=16)),
    ("RNN", dict(input_size=5, hidden_size=16, nonlinearity="relu", bidirectional=True)),
])
@pytest.mark.parametrize("kernels", ["auto", "onednn"])
def test_recurrent_layers_with_products_on_onednn_equal_numpy(every_product_on_onednn, kind, kwargs, kernels):
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    x = f32(7, 24, 5)
    h0 = tuple(f32(layers, 24, 16) for _ in range(2 if kind == "LSTM" else 1))
    for initial in (None, h0):
        with gn.config(kernels="numpy"):
            expected = _run_layer(kind, kwargs, x, initial)
        del every_product_on_onednn[:]
        with gn.config(kernels=kernels):
            got = _run_layer(kind, kwargs, x, initial)
        # the time loops' products by W_hh and the input projections / weight gradients
        assert "fixed_right" in every_product_on_onednn and "matmul" in every_product_on_onednn
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(e).max())))


def test_linear_layer_with_products_on_onednn_equals_numpy(every_product_on_onednn):
    x = f32(6, 3, 20)
    results = {}
    for kernels in ("numpy", "auto"):
        gn.manual_seed(1)
        layer = nn.Linear(20, 30)
        xs = gn.from_numpy(x.copy()).requires_grad_()
        with gn.config(kernels=kernels):
            out = layer(xs)
            (out * out).sum().backward()
        results[kernels] = [out.detach().numpy(), xs.grad.numpy(), layer.weight.grad.numpy(),
                            layer.bias.grad.numpy()]
        if kernels == "numpy":
            assert every_product_on_onednn == []
    assert "linear" in every_product_on_onednn
    for g, e in zip(results["auto"], results["numpy"]):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * float(np.abs(e).max()))


@needs_onednn
def test_a_onednn_product_on_two_threads_keeps_the_next_blas_products_single_threaded(monkeypatch):
    monkeypatch.setattr(products, "_scope", [0, 0])
    x, w = f32(128, 784), f32(512, 784)
    with gn.config(num_threads=1, kernels="auto"):
        gn.backend.current.matmul(x, w.T)
        assert products._scope == [0, 0]       # one thread: nothing to keep off
    with gn.config(num_threads=2, kernels="auto"):
        gn.backend.current.matmul(x, w.T)
        # like after a convolution kernel: BLAS's spinning threads would hold oneDNN's core
        assert products._scope == [0, products.PRODUCTS_AFTER_CONVOLUTION]
        products._scope[1] = 0
        gn.backend.current.linear_forward(x, w, None)
        assert products._scope[1] == products.PRODUCTS_AFTER_CONVOLUTION
        products._scope[1] = 0
        products.fixed_right_product(w.T, 64)
        assert products._scope[1] == products.PRODUCTS_AFTER_CONVOLUTION
        products._scope[1] = 0
        with gn.config(kernels="numpy"):
            gn.backend.current.matmul(x, w.T)
        assert products._scope == [0, 0]
