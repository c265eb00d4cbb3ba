"""The oneDNN provider's convolution kernels (backend/onednn/conv.py) against PyTorch (forward,
and both gradients through autograd) and against the NumPy backend's kernels
(backend/conv.py), over kernel sizes, strides, paddings (uneven included), dilations, groups,
depthwise layers, odd sizes, batch 1 and bias on and off; plus the plan cache under
eviction, non-contiguous inputs, and the unsupported cases (float64, an empty batch)."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from ganglion.backend import conv as numpy_conv
from ganglion.backend.onednn import library

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")

if library.available():
    from ganglion.backend.onednn import _runtime, conv


def torch_conv(x, w, b, stride, padding, dilation, groups, g):
    """PyTorch's output and gradients (x, w, b) for output gradient g."""
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    padded = torch.nn.functional.pad(xt, (padding[1][0], padding[1][1], padding[0][0], padding[0][1]))
    out = torch.nn.functional.conv2d(padded, wt, bt, stride, 0, dilation, groups)
    out.backward(torch.tensor(g))
    return (out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(),
            None if bt is None else bt.grad.numpy())


def close(actual, expected, scale=1.0):
    """float32 agreement: sums of up to a few hundred products, compared relative to their size."""
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4 * scale)


# (N, C, H, W), O, kernel, stride, padding ((top, bottom), (left, right)), dilation, groups, bias
CASES = [
    ((2, 3, 8, 8), 4, (1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, True),     # pointwise
    ((3, 4, 9, 7), 6, (1, 1), (2, 2), ((0, 0), (0, 0)), (1, 1), 1, False),    # strided 1x1
    ((2, 3, 11, 9), 5, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, True),    # odd sizes
    ((1, 3, 10, 10), 8, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, True),   # batch 1, stride 2
    ((2, 6, 13, 13), 4, (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, False),  # LeNet-like 5x5
    ((2, 3, 15, 17), 8, (7, 7), (2, 2), ((3, 3), (3, 3)), (1, 1), 1, True),   # ResNet stem 7x7
    ((2, 4, 12, 12), 6, (3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), 1, True),   # dilation 2
    ((2, 4, 14, 11), 6, (3, 3), (2, 1), ((1, 1), (0, 2)), (1, 2), 2, True),   # groups 2, mixed
    ((2, 8, 9, 9), 8, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 8, False),    # depthwise
    ((2, 8, 10, 10), 8, (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 8, True),   # depthwise stride 2
    ((2, 4, 7, 7), 8, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 4, True),     # multiplier 2
    ((2, 3, 8, 9), 4, (2, 2), (1, 1), ((0, 1), (0, 1)), (1, 1), 1, True),     # 'same', even kernel
    ((3, 16, 4, 4), 32, (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, True),   # tiny planes
    ((2, 5, 9, 8), 7, (3, 3), (2, 2), ((0, 0), (0, 0)), (1, 1), 1, False),    # lost last rows
    ((2, 3, 6, 6), 4, (6, 6), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, True),     # kernel = input
]


def case_id(case):
    x_shape, o, k, s, p, d, groups, bias = case
    return (f"x{'x'.join(map(str, x_shape))}-o{o}-k{k[0]}{k[1]}-s{s[0]}{s[1]}-d{d[0]}{d[1]}"
            f"-g{groups}-b{int(bias)}")


def make_case(case, seed):
    x_shape, o, k, stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal((o, x_shape[1] // groups) + k).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32) if bias else None
    out_hw = tuple((n + sum(p) - dd * (kk - 1) - 1) // ss + 1
                   for n, kk, ss, p, dd in zip(x_shape[2:], k, stride, padding, dilation))
    g = rng.standard_normal((x_shape[0], o) + out_hw).astype(np.float32)
    return x, w, b, g, (stride, padding, dilation, groups)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_pytorch_and_numpy_kernels(case):
    x, w, b, g, geometry = make_case(case, 0)
    assert conv.supports_conv2d(x.shape, w.shape, x.dtype, *geometry)
    out = conv.conv2d_forward(x, w, b, *geometry)
    gx = conv.conv2d_backward_input(g, w, x.shape[2:], *geometry)
    gw, gb = conv.conv2d_backward_weight_bias(x, g, w.shape[2:], *geometry, bias=b is not None)
    gw_alone = conv.conv2d_backward_weight(x, g, w.shape[2:], *geometry)
    t_out, t_gx, t_gw, t_gb = torch_conv(x, w, b, *geometry, g)
    assert out.dtype == gx.dtype == gw.dtype == np.float32
    assert out.shape == t_out.shape and gx.shape == x.shape and gw.shape == w.shape
    fan_in = w[0].size
    close(out, t_out, np.sqrt(fan_in))
    close(gx, t_gx, np.sqrt(fan_in))
    close(gw, t_gw, np.sqrt(g[:, 0].size))
    np.testing.assert_array_equal(gw, gw_alone)
    if b is None:
        assert gb is None
    else:
        close(gb, t_gb, np.sqrt(g[:, 0].size))
    # The NumPy backend's kernels on the same float32 inputs.
    close(out, numpy_conv.conv2d_forward(x, w, b, *geometry), np.sqrt(fan_in))
    close(gx, numpy_conv.conv2d_backward_input(g, w, x.shape[2:], *geometry), np.sqrt(fan_in))
    close(gw, numpy_conv.conv2d_backward_weight(x, g, w.shape[2:], *geometry), np.sqrt(g[:, 0].size))


@pytest.mark.parametrize("plain", [True, False], ids=["plain-nchw", "blocked"])
@pytest.mark.parametrize("stride", [1, 2])
def test_pointwise_layouts_agree(monkeypatch, plain, stride):
    """1x1 convolutions run on plain NCHW by default (conv.PLAIN_POINTWISE); both layouts give
    PyTorch's results, all three passes."""
    monkeypatch.setattr(conv, "PLAIN_POINTWISE", [plain])
    x, w, b, g, geometry = make_case(((3, 24, 9, 8), 40, (1, 1), (stride, stride), ((0, 0), (0, 0)),
                                      (1, 1), 1, True), 5)
    out = conv.conv2d_forward(x, w, b, *geometry)
    gx = conv.conv2d_backward_input(g, w, x.shape[2:], *geometry)
    gw, gb = conv.conv2d_backward_weight_bias(x, g, w.shape[2:], *geometry)
    for actual, expected in zip((out, gx, gw, gb), torch_conv(x, w, b, *geometry, g)):
        close(actual, expected, 10.0)


def test_forward_is_pytorchs_bit_for_bit_on_a_cifar_layer():
    # PyTorch's CPU convolution is oneDNN too: the same primitive gives the same bits.
    x, w, b, g, geometry = make_case(((4, 32, 16, 16), 64, (3, 3), (1, 1), ((1, 1), (1, 1)),
                                      (1, 1), 1, True), 1)
    out = conv.conv2d_forward(x, w, b, *geometry)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                          padding=1).numpy()
    np.testing.assert_array_equal(out, expected)


def test_non_contiguous_inputs_are_copied():
    x, w, b, g, geometry = make_case(((2, 3, 9, 9), 4, (3, 3), (1, 1), ((1, 1), (1, 1)),
                                      (1, 1), 1, True), 2)
    x_t = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)  # same values, F-ish strides
    assert not x_t.flags.c_contiguous
    w_spaced = np.zeros((2 * w.shape[0],) + w.shape[1:], np.float32)
    w_spaced[::2] = w
    w_view = w_spaced[::2]
    assert not w_view.flags.c_contiguous
    np.testing.assert_array_equal(conv.conv2d_forward(x_t, w_view, b, *geometry),
                                  conv.conv2d_forward(x, w, b, *geometry))


def test_plan_cache_evicts_and_stays_correct(monkeypatch):
    """More shapes than the cache holds, twice over: evicted plans free their primitives and
    buffers, and rebuilt ones give the same results (a dangling handle would crash here)."""
    monkeypatch.setattr(_runtime, "CACHE_SIZE", 3)
    _runtime.clear_cache()
    rng = np.random.default_rng(3)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    geometry = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    first = {}
    for round_ in range(2):
        for size in range(5, 9):
            x = np.random.default_rng(size).standard_normal((2, 3, size, size)).astype(np.float32)
            out = conv.conv2d_forward(x, w, None, *geometry)
            gx = conv.conv2d_backward_input(np.ones_like(out), w, (size, size), *geometry)
            if round_ == 0:
                first[size] = (out, gx)
            else:
                np.testing.assert_array_equal(out, first[size][0])
                np.testing.assert_array_equal(gx, first[size][1])
            assert _runtime.cache_size() <= 3
    _runtime.clear_cache()


@pytest.mark.parametrize("x_shape, w_shape, dtype, why", [
    ((2, 3, 8, 8), (4, 3, 3, 3), np.float64, "float64"),
    ((0, 3, 8, 8), (4, 3, 3, 3), np.float32, "empty batch"),
    ((2, 3, 2, 2), (4, 3, 3, 3), np.float32, "kernel larger than the input"),
    ((2, 3, 8, 8), (4, 2, 3, 3), np.float32, "channels do not match"),
])
def test_unsupported_cases(x_shape, w_shape, dtype, why):
    geometry = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert not conv.supports_conv2d(x_shape, w_shape, dtype, *geometry), why
    with pytest.raises(ValueError, match="onednn.conv2d_forward: unsupported convolution"):
        conv.conv2d_forward(np.zeros(x_shape, dtype), np.zeros(w_shape, dtype), None, *geometry)


def test_unavailable_library_is_reported_not_raised():
    """A broken DNNL_LIBRARY: available() is False with the reason, load() raises it."""
    code = ("from ganglion.backend.onednn import library\n"
            "assert library.available() is False\n"
            "reason = library.unavailable_reason()\n"
            "assert 'no-such-libdnnl.so' in reason and \"'onednn' extra\" in reason, reason\n"
            "try:\n    library.load()\nexcept RuntimeError as e:\n    assert 'no-such' in str(e)\n"
            "else:\n    raise SystemExit('load() did not raise')\n")
    env = dict(os.environ, DNNL_LIBRARY="/nonexistent/no-such-libdnnl.so")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_thread_count_follows_the_setting():
    """The primitives run on library.num_threads() OpenMP threads (ganglion's thread count by
    default), set on the calling thread before each run; the results do not depend on it."""
    from ganglion.backend import threads
    x, w, b, g, geometry = make_case(((4, 8, 12, 12), 16, (3, 3), (1, 1), ((1, 1), (1, 1)),
                                      (1, 1), 1, True), 4)
    assert library.num_threads() == threads.count()
    expected = conv.conv2d_forward(x, w, b, *geometry)
    assert library.openmp_max_threads() == threads.count()
    try:
        library.set_num_threads(1)
        np.testing.assert_array_equal(conv.conv2d_forward(x, w, b, *geometry), expected)
        assert library.openmp_max_threads() == 1
        with pytest.raises(ValueError, match="onednn.set_num_threads: expected a positive"):
            library.set_num_threads(0)
    finally:
        library.set_num_threads(None)
    conv.conv2d_forward(x, w, b, *geometry)
    assert library.openmp_max_threads() == threads.count()


def test_thread_count_is_restored_after_another_openmp_user_changed_it():
    """PyTorch (and any library on the same libgomp) sets the calling thread's OpenMP count
    too: the next primitive still runs on ganglion's count, whatever was set in between."""
    from ganglion.backend import threads
    torch = pytest.importorskip("torch")
    x, w, b, g, geometry = make_case(((2, 8, 10, 10), 8, (3, 3), (1, 1), ((1, 1), (1, 1)),
                                      (1, 1), 1, True), 5)
    expected = conv.conv2d_forward(x, w, b, *geometry)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        torch.ones(64, 64).sum()              # PyTorch's own parallel region on this thread
        library._state["gomp"].omp_set_num_threads(1)
        np.testing.assert_array_equal(conv.conv2d_forward(x, w, b, *geometry), expected)
        assert library.openmp_max_threads() == threads.count()
    finally:
        torch.set_num_threads(previous)


def test_thread_count_follows_config_num_threads_at_call_time():
    """ganglion.config.num_threads, changed between calls, is the OpenMP thread count of the
    next primitive (it followed threads.CORES: num_threads=1 left convolutions on every core)."""
    import ganglion as gn
    from ganglion.backend import threads
    x, w, b, g, geometry = make_case(((2, 8, 10, 10), 16, (3, 3), (1, 1), ((1, 1), (1, 1)),
                                      (1, 1), 1, True), 5)
    expected = conv.conv2d_forward(x, w, b, *geometry)
    # 1 and 3: at least one differs from the core count on any machine, and they differ.
    for count in (1, 3, 1):
        with gn.config(num_threads=count):
            np.testing.assert_array_equal(conv.conv2d_forward(x, w, b, *geometry), expected)
            assert library.num_threads() == count
            assert library.openmp_max_threads() == count
    conv.conv2d_forward(x, w, b, *geometry)
    assert library.openmp_max_threads() == threads.count() == (gn.config.num_threads or threads.CORES)


def test_plans_are_made_under_the_thread_count_they_run_on():
    """oneDNN's primitives fix their thread count when made (omp_get_max_threads then): a plan
    built at one count and run after a change kept the old count (made at 2 threads, a
    convolution stayed on 2 after config.num_threads = 1). Each count gets its own plan, made
    after the count is set."""
    import ganglion as gn
    x, w, b, g, geometry = make_case(((2, 8, 11, 9), 16, (3, 3), (2, 1), ((1, 0), (1, 1)),
                                      (1, 1), 1, True), 6)
    _runtime.clear_cache()
    for count in (3, 1, 3):
        with gn.config(num_threads=count):
            conv.conv2d_forward(x, w, b, *geometry)
            conv.conv2d_backward_input(g, w, x.shape[2:], *geometry)
            conv.conv2d_backward_weight_bias(x, g, w.shape[2:], *geometry)
    assert _runtime.cache_size() == 6
    assert sorted(plan.threads for plan in _runtime._cache.values()) == [1, 1, 1, 3, 3, 3]
    assert all(key[-1] == plan.threads for key, plan in _runtime._cache.items())
    _runtime.clear_cache()


def test_avx2_kernels_give_the_same_results():
    """oneDNN picks its kernels from the CPU at run time; capped at AVX2 (machines without
    AVX-512, AMD's before Zen 4) it must still match the NumPy kernels, on a layer and a
    depthwise layer. (Capped at SSE4.1 it passed too; one cap keeps the suite fast.)"""
    isa = "AVX2"
    code = f"""
import numpy as np
from ganglion.backend import conv as numpy_conv
from ganglion.backend.onednn import _runtime, conv
rng = np.random.default_rng(0)
for c, o, groups in ((8, 16, 1), (8, 8, 8)):
    x = rng.standard_normal((3, c, 11, 9)).astype(np.float32)
    w = rng.standard_normal((o, c // groups, 3, 3)).astype(np.float32)
    g = rng.standard_normal((3, o, 6, 5)).astype(np.float32)
    geometry = ((2, 2), ((1, 1), (1, 1)), (1, 1), groups)
    pairs = [(conv.conv2d_forward(x, w, None, *geometry), numpy_conv.conv2d_forward(x, w, None, *geometry)),
             (conv.conv2d_backward_input(g, w, (11, 9), *geometry),
              numpy_conv.conv2d_backward_input(g, w, (11, 9), *geometry)),
             (conv.conv2d_backward_weight(x, g, (3, 3), *geometry),
              numpy_conv.conv2d_backward_weight(x, g, (3, 3), *geometry))]
    for actual, expected in pairs:
        np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-3)
names = " ".join(plan.implementation for plan in _runtime._cache.values())
assert "avx512" not in names, names
print(names)
"""
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA=isa, DNNL_MAX_CPU_ISA=isa)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("preset, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_openmp_waits_passively_unless_told_otherwise(preset, expected):
    """Loading oneDNN in a process without OpenMP yet sets OMP_WAIT_POLICY=PASSIVE before
    libgomp reads it; a policy the user chose is kept."""
    code = ("import os\nfrom ganglion.backend.onednn import library\nlibrary.load()\n"
            "print(os.environ.get('OMP_WAIT_POLICY'))\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == expected


def test_plans_share_their_blocked_buffers():
    """Blocked-layout buffers are shared scratch, grown to the largest need: a second, smaller
    shape adds no memory, and interleaving the shapes leaves every result right."""
    _runtime.clear_cache()
    geometry = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    rng = np.random.default_rng(6)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    big = rng.standard_normal((4, 16, 24, 24)).astype(np.float32)
    small = rng.standard_normal((2, 16, 10, 10)).astype(np.float32)
    expected_big = conv.conv2d_forward(big, w, None, *geometry)
    held = _runtime.scratch_bytes()
    assert held >= (big.nbytes + expected_big.nbytes)   # x and y in blocked layouts
    expected_small = conv.conv2d_forward(small, w, None, *geometry)
    assert _runtime.scratch_bytes() == held
    for _ in range(2):
        np.testing.assert_array_equal(conv.conv2d_forward(big, w, None, *geometry), expected_big)
        np.testing.assert_array_equal(conv.conv2d_forward(small, w, None, *geometry), expected_small)
    np.testing.assert_allclose(expected_small, numpy_conv.conv2d_forward(small, w, None, *geometry),
                               rtol=1e-4, atol=1e-3)
    _runtime.clear_cache()
    assert _runtime.scratch_bytes() == 0


def test_a_child_forked_after_use_turns_onednn_off_instead_of_hanging():
    """GNU OpenMP hangs in a child forked after it ran: there the predicates say False (the
    registry falls back to the NumPy kernels), available() says why, and a direct call raises."""
    code = """
import os, numpy as np
from ganglion.backend.onednn import conv, library
x, w = np.ones((2, 4, 6, 6), np.float32), np.ones((4, 4, 3, 3), np.float32)
geometry = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
conv.conv2d_forward(x, w, None, *geometry)
pid = os.fork()
if pid == 0:
    ok = (not conv.supports_conv2d(x.shape, w.shape, x.dtype, *geometry) and not library.available()
          and "forked" in library.unavailable_reason())
    try:
        conv.conv2d_forward(x, w, None, *geometry)
        ok = False
    except RuntimeError as error:
        ok = ok and "forked" in str(error)
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert conv.supports_conv2d(x.shape, w.shape, x.dtype, *geometry)
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_thread_count_applied_before_loading_is_applied_after():
    """apply_num_threads() called before the library (and its OpenMP runtime) is loaded must
    not count as done: it recorded the count as set, and the next call skipped setting it."""
    code = ("from ganglion.backend.onednn import library\n"
            "library.set_num_threads(1)\n"
            "library.apply_num_threads()\n"
            "library.load()\n"
            "library.apply_num_threads()\n"
            "print(library.openmp_max_threads())\n")
    env = dict(os.environ, OMP_NUM_THREADS="2")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "1"
