"""The compiled-loop cache (backend/kernel_cache.py) is not a way to run code: numba's cache files
are pickles, so a cache folder or file that someone else could have written is never loaded (a
warning says why, and the loops compile in memory with the same results), fresh folders are
private (0700) and files 0600, and nothing is written into the installed package."""
import os
import pickle
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import ganglion as gn
from bad_inputs import BadInput, bad_input_test
from ganglion.backend import fused_loops, kernel_cache

needs_numba = pytest.mark.skipif(not fused_loops.available(),
                                 reason="the compiled loops need numba: pip install 'ganglion[jit]'")
PACKAGE = Path(fused_loops.__file__).resolve().parents[1]          # src/ganglion
CACHE_SUFFIXES = (".nbi", ".nbc")


class _Payload:
    """Unpickling this creates ``marker``: the code a planted cache file would run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh kernel cache folder (config.kernel_cache_dir), with the per-process check and
    warnings forgotten."""
    root = tmp_path / "cache"
    monkeypatch.setattr(gn.config, "kernel_cache_dir", root)
    monkeypatch.setattr(kernel_cache, "_checked", {})
    monkeypatch.setattr(kernel_cache, "_warned", set())
    monkeypatch.setattr(fused_loops, "_compiled", {})
    return root


# A loop no other test file compiles: in6 * (in0 + ... + in5) over float64.
SPEC = fused_loops.LoopSpec([("full", "float64")] * 7,
                            [("add", (("in", 0), ("in", 1)), "float64")]
                            + [("add", (("step", k), ("in", k + 2)), "float64") for k in range(4)]
                            + [("mul", (("step", 4), ("in", 6)), "float64")])
ARRAYS = [np.arange(5.0) + k for k in range(7)]
EXPECTED = sum(ARRAYS[:6]) * ARRAYS[6]


def _run_loop():
    """Compile SPEC afresh (as a new process would: its module and dispatcher are forgotten)
    and run it."""
    module_name = "ganglion_loop_" + __import__("hashlib").sha256(
        SPEC.source((None,)).encode()).hexdigest()[:24]
    sys.modules.pop(module_name, None)
    fused_loops._compiled.clear()
    out = np.empty(5)
    fused_loops.compile_loop(SPEC, (None,))(out, *ARRAYS)
    return out


def _cache_files(root):
    return sorted(p for p in Path(root).rglob("*") if p.suffix in CACHE_SUFFIXES)


def _plant(files, marker):
    for path in files:
        path.write_bytes(pickle.dumps(_Payload(marker)))


@needs_numba
def test_a_fresh_cache_folder_is_private_whatever_the_umask(cache):
    old_umask = os.umask(0o002)          # would leave group-writable folders and files
    try:
        out = _run_loop()
    finally:
        os.umask(old_umask)
    np.testing.assert_allclose(out, EXPECTED)
    folder = Path(kernel_cache.cache_dir())
    assert folder.parent.parent == cache
    for path in (cache, cache / "kernels", folder):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    files = _cache_files(cache)
    assert {p.suffix for p in files} == {".nbi", ".nbc"} and all(p.parent == folder for p in files)
    for path in files + list(folder.glob("ganglion_loop_*.py")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


@needs_numba
def test_a_second_process_loads_the_cache_from_a_trusted_folder(cache):
    _run_loop()
    index = next(p for p in _cache_files(cache) if p.suffix == ".nbi")
    written = index.stat().st_mtime_ns
    kernel_cache._checked.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", kernel_cache.KernelCacheWarning)
        np.testing.assert_allclose(_run_loop(), EXPECTED)
    # loaded, not compiled and saved again
    assert index.stat().st_mtime_ns == written


@needs_numba
def test_an_existing_folder_readable_by_others_is_used_as_it_is(cache):
    folder = Path(kernel_cache.cache_dir())
    folder.mkdir(parents=True)
    for path in (cache, cache / "kernels", folder):
        path.chmod(0o755)
    with warnings.catch_warnings():
        warnings.simplefilter("error", kernel_cache.KernelCacheWarning)
        np.testing.assert_allclose(_run_loop(), EXPECTED)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755 and _cache_files(folder)


@needs_numba
@pytest.mark.parametrize("loosened", ["folder", "kernels", "root"])
def test_planted_index_in_a_folder_others_can_write_is_never_loaded(cache, tmp_path, loosened):
    _run_loop()
    marker = tmp_path / "payload-ran"
    indexes = [p for p in _cache_files(cache) if p.suffix == ".nbi"]
    assert indexes
    _plant(indexes, marker)
    folder = Path(kernel_cache.cache_dir())
    loose = {"folder": folder, "kernels": cache / "kernels", "root": cache}[loosened]
    loose.chmod(0o777)
    kernel_cache._checked.clear()
    before = sorted(os.listdir(folder))
    with pytest.warns(kernel_cache.KernelCacheWarning) as caught:
        out = _run_loop()
    np.testing.assert_allclose(out, EXPECTED)
    assert not marker.exists(), "the planted pickle ran"
    message = str(caught[0].message)
    for words in (str(folder), f"the folder {loose} ", "writable by group and others",
                  "mode 0o777", "expected owner uid", "0o700", "pickle", "in memory"):
        assert words in message, (words, message)
    # nothing written into the untrusted folder either
    assert sorted(os.listdir(folder)) == before


@needs_numba
def test_planted_cache_files_in_a_folder_owned_by_another_user_are_never_loaded(
        cache, tmp_path, monkeypatch):
    _run_loop()
    marker = tmp_path / "payload-ran"
    _plant(_cache_files(cache), marker)
    real_uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 1)    # the folders now belong to another
    kernel_cache._checked.clear()
    with pytest.warns(kernel_cache.KernelCacheWarning) as caught:
        out = _run_loop()
    np.testing.assert_allclose(out, EXPECTED)
    assert not marker.exists(), "the planted pickle ran"
    message = str(caught[0].message)
    assert f"owned by uid {real_uid}" in message and f"expected owner uid {real_uid + 1}" in message
    assert str(cache) in message


@needs_numba
@pytest.mark.parametrize("planted", [".nbi", ".nbc"])
def test_a_planted_file_others_can_write_is_not_loaded_even_in_a_private_folder(
        cache, tmp_path, planted):
    _run_loop()
    marker = tmp_path / "payload-ran"
    files = [p for p in _cache_files(cache) if p.suffix == planted]
    _plant(files, marker)
    for path in files:
        path.chmod(0o666)
    kernel_cache._checked.clear()
    with pytest.warns(kernel_cache.KernelCacheWarning) as caught:
        out = _run_loop()
    np.testing.assert_allclose(out, EXPECTED)
    assert not marker.exists(), "the planted pickle ran"
    message = str(caught[0].message)
    assert f"the cache file {files[0]}" in message and "writable by group and others" in message
    # compiled again and written over the planted file: ours, private, and loadable
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    kernel_cache._checked.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", kernel_cache.KernelCacheWarning)
        np.testing.assert_allclose(_run_loop(), EXPECTED)


@needs_numba
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a file to another user needs root")
def test_a_planted_file_owned_by_another_user_is_not_loaded(cache, tmp_path):
    _run_loop()
    marker = tmp_path / "payload-ran"
    indexes = [p for p in _cache_files(cache) if p.suffix == ".nbi"]
    _plant(indexes, marker)
    for path in indexes:
        path.chmod(0o600)
        os.chown(path, 4321, -1)
    kernel_cache._checked.clear()
    with pytest.warns(kernel_cache.KernelCacheWarning, match="owned by uid 4321"):
        np.testing.assert_allclose(_run_loop(), EXPECTED)
    assert not marker.exists(), "the planted pickle ran"


@needs_numba
def test_the_module_file_in_the_cache_folder_is_never_executed(cache, tmp_path, monkeypatch):
    # A swapped module file that the content check did not catch (another process replacing it
    # between the check and the import) must still not run: the loop is compiled from the
    # source this process generated.
    _run_loop()
    marker = tmp_path / "module-ran"
    (module_file,) = Path(kernel_cache.cache_dir()).glob("ganglion_loop_*.py")
    module_file.write_text(f"open({str(marker)!r}, 'w')\n" + SPEC.source((None,)))
    monkeypatch.setattr(fused_loops, "_holds", lambda path, source: True)
    np.testing.assert_allclose(_run_loop(), EXPECTED)
    assert not marker.exists(), "the module file in the cache folder was executed"


@needs_numba
def test_the_home_cache_root_is_checked_too(tmp_path, monkeypatch):
    home_cache = tmp_path / "xdg"
    home_cache.mkdir(mode=0o700)
    home_cache.chmod(0o775)
    monkeypatch.setattr(gn.config, "kernel_cache_dir", None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home_cache))
    monkeypatch.setattr(kernel_cache, "_checked", {})
    monkeypatch.setattr(kernel_cache, "_warned", set())
    monkeypatch.setattr(fused_loops, "_compiled", {})
    assert kernel_cache.cache_dir().startswith(str(home_cache / "ganglion" / "kernels"))
    with pytest.warns(kernel_cache.KernelCacheWarning, match="writable by group"):
        assert kernel_cache.trusted_directory() is None
    np.testing.assert_allclose(_run_loop(), EXPECTED)
    assert not _cache_files(home_cache)


def test_the_ownership_check_on_stat_results():
    uid = os.getuid()
    private = os.stat_result((stat.S_IFDIR | 0o700, 0, 0, 1, uid, 0, 0, 0, 0, 0))
    readable = os.stat_result((stat.S_IFDIR | 0o755, 0, 0, 1, uid, 0, 0, 0, 0, 0))
    group_writable = os.stat_result((stat.S_IFREG | 0o620, 0, 0, 1, uid, 0, 0, 0, 0, 0))
    foreign = os.stat_result((stat.S_IFDIR | 0o700, 0, 0, 1, uid + 7, 0, 0, 0, 0, 0))
    assert kernel_cache.untrusted_reason(private, "x") is None
    assert kernel_cache.untrusted_reason(readable, "x") is None
    assert kernel_cache.untrusted_reason(group_writable, "the file f") == (
        f"the file f is writable by group (owner uid {uid}, mode 0o620); expected owner uid {uid} "
        "(the current user) and no write permission for group or others (e.g. mode 0o700)")
    assert kernel_cache.untrusted_reason(foreign, "d").startswith(f"d is owned by uid {uid + 7} ")


# Every nn_loops loop, compiled and run in a fresh process (nn_loops is decorated on import).
NN_LOOPS_SCRIPT = r'''
import sys
import numpy as np
from ganglion.backend import nn_loops

rng = np.random.default_rng(0)
f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
x = f32(2, 4, 6)
relu = nn_loops.relu_backward(x, np.maximum(x, 0))
assert np.array_equal(relu, x * (x > 0))
pooled = nn_loops.max_pool_2x2(x)
assert np.array_equal(pooled, x.reshape(2, 2, 2, 3, 2).max(axis=(2, 4)))
if sys.argv[1] == "all":
    wide = f32(4, 10)
    assert np.abs(nn_loops.tanh(wide[:, ::2]) - np.tanh(wide[:, ::2])).max() < 3e-7
    assert np.abs(nn_loops.tanh(wide) - np.tanh(wide)).max() < 3e-7
    n, h = 3, 2
    gates, c, hid = f32(n, 4 * h), np.empty((n, h), np.float32), np.empty((n, h), np.float32)
    c_prev = f32(n, h)
    nn_loops.lstm_step_forward(gates, f32(n, 4 * h), f32(4 * h), c_prev, c, hid)
    nn_loops.lstm_step_backward(gates, c, c_prev, f32(n, h), f32(n, h), f32(n, h),
                                np.empty((n, 4 * h), np.float32), False)
    step = np.empty((n, 5 * h), np.float32)
    nn_loops.gru_step_forward(f32(n, 3 * h), f32(n, 3 * h), f32(3 * h), f32(n, h), step)
    nn_loops.gru_step_backward(step, f32(n, h), f32(n, h), f32(n, h),
                               np.empty((n, 4 * h), np.float32), True)
    param, grad = f32(7), f32(7)
    nn_loops.adam(param, grad, np.zeros(7, np.float32), np.zeros(7, np.float32), None, False,
                  1.0, 0.0, 0.9, 0.999, 1e-8, 1e-3)
    arg = nn_loops.max_pool_2x2_argmax(x, pooled, np.int8)
    nn_loops.max_pool_2x2_scatter(f32(*pooled.shape), arg, x.shape)
print("ok")
'''


def _run_nn_loops(cache_root, which):
    env = dict(os.environ, GANGLION_KERNEL_CACHE_DIR=str(cache_root), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-c", NN_LOOPS_SCRIPT, which], env=env,
                          capture_output=True, text=True, timeout=300)


def _package_cache_files():
    return sorted(p for p in PACKAGE.rglob("*") if p.suffix in CACHE_SUFFIXES or ".tmp." in p.name)


@needs_numba
def test_nn_loops_are_cached_in_the_kernel_cache_and_never_in_the_package(tmp_path):
    result = _run_nn_loops(tmp_path / "cache", "all")
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    assert not _package_cache_files(), "compiled loops were cached inside the package"
    folder = next((tmp_path / "cache" / "kernels").iterdir())
    indexed = {p.name.split("-")[0] for p in folder.glob("nn_loops.*.nbi")}
    assert indexed == {f"nn_loops.{name}" for name in (
        "_relu_backward_loop", "_tanh_loop", "_tanh_rows_loop", "lstm_step_forward",
        "lstm_step_backward", "gru_step_forward", "gru_step_backward", "_adam_loop",
        "_max_2x2_loop", "_argmax_2x2_loop", "_scatter_2x2_loop")}


@needs_numba
def test_planted_nn_loops_index_in_a_folder_others_can_write_is_never_loaded(tmp_path):
    root = tmp_path / "cache"
    first = _run_nn_loops(root, "relu")
    assert first.returncode == 0, first.stderr
    marker = tmp_path / "payload-ran"
    folder = next((root / "kernels").iterdir())
    indexes = sorted(folder.glob("nn_loops.*.nbi"))
    assert len(indexes) == 2          # relu_backward's loop and the pooling loop
    _plant(indexes, marker)
    folder.chmod(0o777)
    second = _run_nn_loops(root, "relu")
    assert second.returncode == 0 and second.stdout.strip() == "ok", second.stderr
    assert not marker.exists(), "the planted pickle ran"
    assert "KernelCacheWarning" in second.stderr and str(folder) in second.stderr
    assert "writable by group and others" in second.stderr


CASES = [
    BadInput("njit_cached with numba's cache option",
             lambda: kernel_cache.njit_cached(cache=True, nogil=True), TypeError,
             ["njit_cached", "cache=True", "backend/kernel_cache.py", "numba.njit"]),
]
test_bad_input = bad_input_test(CASES)
