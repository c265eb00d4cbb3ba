"""``ganglion.config``: the environment read once (new and deprecated variable names), settings
changed in code with validation, the context manager that restores them, and each setting read
at call time by the code it controls (kernels, array cache, threads, both cache folders)."""
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import ganglion as gn
import ganglion.config
from ganglion.backend import array_cache, blas_threads, providers, threads
from ganglion.data import paths


@pytest.fixture(autouse=True)
def restore_settings():
    before = gn.config.as_dict()
    yield
    for name, value in before.items():
        setattr(gn.config, name, value)


def test_one_object_under_every_import_path():
    from ganglion import config
    assert ganglion.config is gn.config is config
    assert set(dir(gn.config)) >= {"kernels", "fusion", "layout_propagation", "array_cache_mb",
                                   "num_threads", "kernel_cache_dir", "dataset_cache_dir"}


def test_defaults_and_environment_values():
    gn.config.reset({})
    assert gn.config.as_dict() == dict(kernels="auto", fusion=True, layout_propagation=True,
                                       array_cache_mb=2048.0, num_threads=None,
                                       kernel_cache_dir=None, dataset_cache_dir=None)
    gn.config.reset({"GANGLION_KERNELS": "NumPy", "GANGLION_FUSION": "0",
                     "GANGLION_LAYOUT_PROPAGATION": "off", "GANGLION_ARRAY_CACHE_MB": "16",
                     "GANGLION_NUM_THREADS": "1", "GANGLION_KERNEL_CACHE_DIR": "~/kc",
                     "GANGLION_DATASET_CACHE_DIR": "/tmp/ds"})
    assert gn.config.as_dict() == dict(kernels="numpy", fusion=False, layout_propagation=False,
                                       array_cache_mb=16.0, num_threads=1,
                                       kernel_cache_dir=os.path.expanduser("~/kc"),
                                       dataset_cache_dir="/tmp/ds")


def test_the_old_cache_variable_names_work_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="GANGLION_CACHE_DIR is deprecated: set GANGLION_KERNEL_CACHE_DIR"):
        gn.config.reset({"GANGLION_CACHE_DIR": "/tmp/kernels"})
    assert gn.config.kernel_cache_dir == "/tmp/kernels"
    with pytest.warns(DeprecationWarning, match="GANGLION_CACHE is deprecated: set GANGLION_DATASET_CACHE_DIR"):
        gn.config.reset({"GANGLION_CACHE": "/tmp/datasets"})
    assert gn.config.dataset_cache_dir == "/tmp/datasets"
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # the new name wins, and the old one is not read
        gn.config.reset({"GANGLION_CACHE": "/tmp/old", "GANGLION_DATASET_CACHE_DIR": "/tmp/new"})
    assert gn.config.dataset_cache_dir == "/tmp/new"


@pytest.mark.parametrize("name, value, message", [
    ("kernels", "fast", "kernels must be one of 'auto', 'numpy', 'numba', 'onednn', got 'fast'"),
    ("kernels", None, "kernels must be one of"),
    ("fusion", "maybe", "fusion must be True or False"),
    ("layout_propagation", 2, "layout_propagation must be True or False"),
    ("fusion", 2, "fusion must be True or False"),
    ("array_cache_mb", -1, "array_cache_mb must be a finite number of megabytes >= 0"),
    ("array_cache_mb", "lots", "array_cache_mb must be"),
    ("num_threads", 0, "num_threads must be a whole number >= 1, or None"),
    ("num_threads", 1.5, "num_threads must be a whole number"),
    ("kernel_cache_dir", 3, "kernel_cache_dir must be a folder path"),
    ("dataset_cache_dir", ["a"], "dataset_cache_dir must be a folder path"),
])
def test_bad_values_name_the_setting_and_what_it_takes(name, value, message):
    before = getattr(gn.config, name)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        setattr(gn.config, name, value)
    assert getattr(gn.config, name) == before
    with pytest.raises(ValueError, match=f"ganglion.config: {name}"):
        gn.config(**{name: value})


def test_a_bad_environment_value_names_the_variable():
    with pytest.raises(ValueError, match=r"kernels must be one of .* \(from the environment variable GANGLION_KERNELS\)"):
        gn.config.reset({"GANGLION_KERNELS": "gpu"})
    with pytest.raises(ValueError, match=r"num_threads must be .* \(from the environment variable GANGLION_NUM_THREADS\)"):
        gn.config.reset({"GANGLION_NUM_THREADS": "many"})


def test_unknown_settings_are_refused():
    with pytest.raises(AttributeError, match="no setting 'kernel'; the settings are kernels, fusion"):
        gn.config.kernel = "numpy"
    with pytest.raises(AttributeError, match="no setting 'threads'"):
        gn.config(threads=2)
    with pytest.raises(AttributeError, match="has no attribute 'speed'"):
        gn.config.speed


def test_the_context_manager_restores_on_exit_and_on_error():
    gn.config.kernels = "numba"
    with gn.config(kernels="numpy", fusion=False) as settings:
        assert settings is gn.config
        assert (gn.config.kernels, gn.config.fusion) == ("numpy", False)
        with gn.config(kernels="auto"):
            assert gn.config.kernels == "auto"
        assert gn.config.kernels == "numpy"
    assert (gn.config.kernels, gn.config.fusion) == ("numba", True)
    gn.config.array_cache_mb = 64
    with pytest.raises(RuntimeError):
        with gn.config(array_cache_mb=1):
            raise RuntimeError
    assert gn.config.array_cache_mb == 64
    with pytest.raises(ValueError):              # a bad value sets none of the others
        gn.config(fusion=False, kernels="bogus")
    assert gn.config.fusion is True


def test_the_kernels_setting_takes_effect_at_the_next_call():
    x = np.ones((2, 3, 8, 8))
    w = np.ones((3, 1, 3, 3))
    args = (x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 3)     # depthwise, float64
    gn.config.kernels = "numpy"
    assert providers.kernel_for("conv2d_forward", *args) == "numpy"
    gn.config.kernels = "numba"
    expected = "numba" if providers.provider("numba").available() else "numpy"
    assert providers.kernel_for("conv2d_forward", *args) == expected
    from ganglion.backend import current
    assert (current.compiled_loops() is not None) == (expected == "numba")
    gn.config.kernels = "numpy"
    assert current.compiled_loops() is None


def test_array_cache_limit_is_read_at_each_allocation(monkeypatch):
    monkeypatch.setattr(array_cache, "_by_size", {})
    gn.config.array_cache_mb = 0
    array_cache.empty((1 << 18,), np.float32)
    assert array_cache.cached_bytes() == (0, 0)
    gn.config.array_cache_mb = 0.5
    assert array_cache.limit_bytes() == 1 << 19
    kept = array_cache.empty((1 << 18,), np.float32)
    assert array_cache.cached_bytes() == (kept.nbytes, 0)


def test_num_threads_sets_the_kernels_split_and_blas():
    gn.config.num_threads = 3
    assert threads.count() == 3
    if blas_threads.available():
        assert [get() for get, _ in blas_threads._load()] == [3] * len(blas_threads._load())
        with blas_threads.single_threaded():
            assert [get() for get, _ in blas_threads._load()] == [1] * len(blas_threads._load())
        assert [get() for get, _ in blas_threads._load()] == [3] * len(blas_threads._load())
    gn.config.num_threads = None
    assert threads.count() == threads.CORES
    seen = []
    threads.run_all([lambda k=k: seen.append(k) for k in range(5)])
    assert sorted(seen) == list(range(5))


def test_cache_folders_follow_the_settings(tmp_path):
    gn.config.dataset_cache_dir = tmp_path / "datasets"
    assert paths.cache_root() == tmp_path / "datasets"
    gn.config.dataset_cache_dir = None
    assert paths.cache_root() == Path("~/.cache/ganglion/cache").expanduser()
    if not providers.provider("numba").available():
        return
    from ganglion.backend import kernel_cache
    gn.config.kernel_cache_dir = tmp_path / "kernels"
    assert kernel_cache.cache_dir().startswith(str(tmp_path / "kernels" / "kernels" / "numba-"))
