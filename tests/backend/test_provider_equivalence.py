"""Every kernel provider against the NumPy reference kernels on the same inputs
(backend/providers.py): convolutions (kernel 1/3/5/7, stride 1/2, padding 0/1/'same', dilation
1/2, groups 1/2/depthwise, odd sizes, batch 1 and 0), max and average pooling, and batch
normalization, forward and both backward passes, float32 and float64; and the registry itself
(the order each setting gives, the fallback where a provider does not apply or is not
installed, float64 never reaching oneDNN)."""
import numpy as np
import pytest

import ganglion as gn
from ganglion.backend import NumpyBackend, batchnorm, conv, pool, providers

rng = np.random.default_rng(19)
ACCELERATED = [name for name in providers.available_providers() if name != "numpy"]
# One parameter per provider, so that a missing library shows as a skip with its reason.
PROVIDERS = [pytest.param(name, marks=pytest.mark.skipif(
    not providers.provider(name).available(),
    reason=f"provider {name} not available: {providers.provider(name).reason}"))
    for name in providers.ORDER["auto"]]
DTYPES = [np.float32, np.float64]


def assert_close(got, want, dtype, what):
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.shape, want.shape, got.dtype)
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    tolerance = 2e-5 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * scale, err_msg=what)


def forced(name, method, *args):
    """backend.<method>(*args) with kernels=name, and which provider ran it."""
    with gn.config(kernels=name):
        return getattr(NumpyBackend, method)(*args), providers.kernel_for(method, *args)


# ----- convolutions ---------------------------------------------------------------------------

def same_padding(k, d):
    total = d * (k - 1)
    return (total // 2, total - total // 2)


# (N, C, H, W), O, kernel, stride, padding (an int or "same"), dilation, groups ("dw" = depthwise)
CONV_CASES = [
    ((2, 3, 9, 11), 4, 1, 1, 0, 1, 1),
    ((2, 4, 9, 9), 6, 3, 1, 1, 1, 1),
    ((3, 4, 10, 7), 4, 3, 2, 1, 1, 2),
    ((2, 3, 13, 12), 5, 5, 1, "same", 1, 1),
    ((1, 2, 15, 15), 3, 7, 2, 1, 1, 1),
    ((2, 4, 11, 11), 4, 3, 1, "same", 2, 2),
    ((2, 3, 12, 13), 2, 3, 2, 0, 2, 1),
    ((1, 6, 9, 9), 6, 3, 1, 1, 1, "dw"),
    ((2, 4, 10, 9), 8, 3, 2, 1, 1, "dw"),
    ((2, 5, 8, 8), 5, 5, 1, "same", 2, "dw"),
    ((2, 3, 7, 7), 6, 7, 1, 0, 1, 3),
    ((0, 3, 8, 8), 4, 3, 1, 1, 1, 1),
    ((0, 4, 8, 8), 4, 3, 1, 1, 1, "dw"),
]


def conv_arguments(case, dtype):
    x_shape, o, k, s, p, d, groups = case
    groups = x_shape[1] if groups == "dw" else groups
    padding = (same_padding(k, d),) * 2 if p == "same" else ((p, p), (p, p))
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal((o, x_shape[1] // groups, k, k)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    out_hw = tuple(conv.conv2d_output_size(x_shape[2 + a], k, s, padding[a], d) for a in (0, 1))
    g = rng.standard_normal((x_shape[0], o) + out_hw).astype(dtype)
    return x, w, b, g, (s, s), padding, (d, d), groups


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x".join(map(str, c[0])) + f"-o{c[1]}k{c[2]}s{c[3]}p{c[4]}d{c[5]}g{c[6]}")
def test_convolutions_equal_the_reference(name, dtype, case):
    x, w, b, g, stride, padding, dilation, groups = conv_arguments(case, dtype)
    calls = {
        "conv2d_forward": ((x, w, b, stride, padding, dilation, groups), conv.conv2d_forward),
        "conv2d_backward_input": ((g, w, x.shape[2:], stride, padding, dilation, groups),
                                  conv.conv2d_backward_input),
        "conv2d_backward_weight": ((x, g, w.shape[2:], stride, padding, dilation, groups),
                                   conv.conv2d_backward_weight),
    }
    for method, (args, reference) in calls.items():
        got, ran = forced(name, method, *args)
        assert ran in (name, "numpy")
        if name == "onednn" and dtype == np.float64:
            assert ran == "numpy"            # oneDNN has no float64 kernels: the registry falls back
        assert_close(got, reference(*args), dtype, f"{method} on {ran}")


# ----- pooling --------------------------------------------------------------------------------

# (N, C, H, W), kernel, stride, padding, dilation, ceil_mode
MAX_POOL_CASES = [
    ((2, 3, 8, 8), 2, 2, 0, 1, False),
    ((2, 3, 9, 11), 3, 2, 1, 1, False),
    ((1, 2, 10, 10), 3, 1, 1, 1, False),
    ((2, 2, 9, 9), 3, 2, 0, 1, True),
    ((1, 3, 11, 9), 2, 1, 0, 2, False),
    ((0, 3, 8, 8), 2, 2, 0, 1, False),
]


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pooling_equals_the_reference(name, dtype, case):
    shape, k, s, p, d, ceil_mode = case
    geometry = ((k, k), (s, s), (p, p), (d, d), ceil_mode)
    x = rng.standard_normal(shape).astype(dtype)
    out, ran = forced(name, "max_pool2d", x, *geometry)
    want = pool.max_pool2d(x, *geometry)
    np.testing.assert_array_equal(out, want, err_msg=f"max_pool2d on {ran}")
    arg, ran = forced(name, "max_pool2d_argmax", x, want, *geometry)
    want_arg = pool.max_pool2d_argmax(x, want, *geometry)
    np.testing.assert_array_equal(pool.max_pool2d_indices(arg, shape, *geometry),
                                  pool.max_pool2d_indices(want_arg, shape, *geometry),
                                  err_msg=f"max_pool2d_argmax on {ran}")
    g = rng.standard_normal(want.shape).astype(dtype)
    got, ran = forced(name, "max_pool2d_scatter", g, want_arg, shape, *geometry)
    assert_close(got, pool.max_pool2d_scatter(g, want_arg, shape, *geometry), dtype,
                 f"max_pool2d_scatter on {ran}")


# (N, C, H, W), kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
AVG_POOL_CASES = [
    ((2, 3, 8, 8), 2, 2, 0, False, True, None),
    ((2, 3, 9, 11), 3, 2, 1, False, True, None),
    ((2, 3, 9, 11), 3, 2, 1, False, False, None),
    ((1, 2, 10, 9), 3, 1, 1, True, False, None),
    ((2, 2, 7, 7), 3, 2, 1, True, True, 4),
    ((0, 2, 6, 6), 2, 2, 0, False, True, None),
]


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", AVG_POOL_CASES)
def test_average_pooling_equals_the_reference(name, dtype, case):
    shape, k, s, p, ceil_mode, include_pad, divisor = case
    options = ((k, k), (s, s), (p, p), ceil_mode, include_pad, divisor)
    x = rng.standard_normal(shape).astype(dtype)
    out, ran = forced(name, "avg_pool2d", x, *options)
    want = pool.avg_pool2d(x, *options)
    assert_close(out, want, dtype, f"avg_pool2d on {ran}")
    g = rng.standard_normal(want.shape).astype(dtype)
    got, ran = forced(name, "avg_pool2d_backward", g, shape, *options)
    assert_close(got, pool.avg_pool2d_backward(g, shape, *options), dtype, f"avg_pool2d_backward on {ran}")


# ----- batch normalization --------------------------------------------------------------------

@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3, 5, 7), (1, 6, 9, 9), (8, 5), (3, 2, 11), (0, 3, 4, 4)])
def test_batch_norm_equals_the_reference(name, dtype, shape):
    channels = shape[1]
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    scale, shift = (rng.standard_normal(channels).astype(dtype) for _ in range(2))
    mean = rng.standard_normal(channels).astype(dtype)
    a, b, d = (rng.standard_normal(channels).astype(dtype) for _ in range(3))
    calls = [("batch_statistics", (x,), batchnorm.batch_statistics),
             ("batch_normalize", (x, scale, shift), batchnorm.batch_normalize),
             ("batch_norm_gradient_sums", (g, x, mean), batchnorm.batch_norm_gradient_sums),
             ("batch_norm_input_gradient", (g, x, mean, a, b, d), batchnorm.batch_norm_input_gradient)]
    for method, args, reference in calls:
        got, ran = forced(name, method, *args)
        want = reference(*args)
        for got_part, want_part in zip(got if isinstance(got, tuple) else [got],
                                       want if isinstance(want, tuple) else [want]):
            # the gradient sums are float64 whatever the input: compare at the input's precision
            assert_close(np.asarray(got_part), np.asarray(want_part), dtype, f"{method} on {ran}")


# ----- the registry ---------------------------------------------------------------------------

def _float32_only(x, *rest):
    return x.dtype == np.float32


@pytest.fixture
def fake_onednn(monkeypatch):
    """A stand-in "onednn" provider: a float32-only batch_normalize that marks its output."""
    calls = []

    def kernel(x, scale, shift):
        calls.append(x.dtype)
        return np.full(x.shape, 7, x.dtype)
    registered = dict(providers._providers)
    stand_in = providers.Provider("onednn", lambda: {
        "batch_normalize": providers.Kernel(kernel, _float32_only)})
    providers.register(stand_in)
    yield calls
    providers._providers.clear()
    providers._providers.update(registered)
    for dispatcher in providers._dispatchers:
        dispatcher.forget()


def test_the_order_of_each_setting(fake_onednn):
    x32, x64 = np.ones((2, 3), np.float32), np.ones((2, 3))
    scale = np.ones(3)
    numba = "numba" if providers.provider("numba").available() else "numpy"
    expected = {"auto": ("onednn", numba), "onednn": ("onednn", "numpy"),
                "numba": (numba, numba), "numpy": ("numpy", "numpy")}
    for setting, (for32, for64) in expected.items():
        with gn.config(kernels=setting):
            assert providers.kernel_for("batch_normalize", x32, scale, scale) == for32, setting
            # float64 does not apply to the float32-only provider: the next one runs
            assert providers.kernel_for("batch_normalize", x64, scale, scale) == for64, setting
            out64 = NumpyBackend.batch_normalize(x64, scale, scale)
            np.testing.assert_array_equal(out64, 2.0)
    with gn.config(kernels="onednn"):
        assert (NumpyBackend.batch_normalize(x32, scale, scale) == 7).all()
    assert fake_onednn == [np.float32]


def test_real_onednn_never_gets_float64():
    if not providers.provider("onednn").available():
        pytest.skip(f"oneDNN not available: {providers.provider('onednn').reason}")
    x, w = np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3))
    args = (None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    with gn.config(kernels="onednn"):
        assert providers.kernel_for("conv2d_forward", x.astype(np.float32), w.astype(np.float32), *args) == "onednn"
        assert providers.kernel_for("conv2d_forward", x, w, *args) == "numpy"
    with gn.config(kernels="auto"):
        assert providers.kernel_for("conv2d_forward", x, w, *args) != "onednn"


def test_an_unavailable_provider_falls_back_and_says_why(monkeypatch):
    registered = dict(providers._providers)

    def missing():
        raise ImportError("libexample.so: cannot open shared object file")
    try:
        providers.register(providers.Provider("onednn", missing))
        assert not providers.provider("onednn").available()
        assert "libexample.so" in providers.provider("onednn").reason
        assert "onednn" not in providers.available_providers()
        x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
        w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
        args = (x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
        with gn.config(kernels="onednn"):
            assert providers.kernel_for("conv2d_forward", *args) == "numpy"
            np.testing.assert_array_equal(NumpyBackend.conv2d_forward(*args), conv.conv2d_forward(*args))
    finally:
        providers._providers.clear()
        providers._providers.update(registered)
        for dispatcher in providers._dispatchers:
            dispatcher.forget()


def test_unknown_provider_names_are_refused():
    with pytest.raises(KeyError, match="no kernel provider 'cuda'; registered: numba, onednn"):
        providers.provider("cuda")
    assert providers.available_providers()[-1] == "numpy"
    assert set(ACCELERATED) <= {"onednn", "numba"}


def test_check_op_runs_the_op_on_every_provider():
    """oracle.check_op forces each available provider in turn: a provider whose kernel is wrong
    fails it, naming the setting, though the default run ("auto") never reaches that kernel
    (a right stand-in "onednn" comes first)."""
    import torch

    from oracle import check_op
    registered = dict(providers._providers)

    def wrong_backward(grad, x, min_val, max_val):
        return grad * 2
    everything = lambda *args: True  # noqa: E731
    try:
        providers.register(providers.Provider("onednn", lambda: {
            "hardtanh_backward": providers.Kernel(NumpyBackend.hardtanh_backward.__wrapped__, everything)}))
        providers.register(providers.Provider("numba", lambda: {
            "hardtanh_backward": providers.Kernel(wrong_backward, everything)}))
        x = rng.standard_normal((4, 5))
        with gn.config(kernels="numpy"):       # a forced setting: only that one runs
            check_op(gn.nn.functional.hardtanh, torch.nn.functional.hardtanh, [x], gradcheck=False)
        with gn.config(kernels="auto"), pytest.raises(AssertionError, match="with kernels='numba'"):
            check_op(gn.nn.functional.hardtanh, torch.nn.functional.hardtanh, [x], gradcheck=False)
    finally:
        providers._providers.clear()
        providers._providers.update(registered)
        for dispatcher in providers._dispatchers:
            dispatcher.forget()
