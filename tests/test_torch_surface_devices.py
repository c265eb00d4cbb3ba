"""Device and backend queries, the default device and ``Generator``, against PyTorch's CPU-only
build (the one installed here): ``ganglion.cuda``, ``ganglion.backends``, ``ganglion.accelerator``,
``ganglion.mps``, ``device`` objects, placing tensors and modules on a device this build lacks,
``set_default_device``, and ``Generator`` with the ``generator=`` argument of the random
functions, ``DataLoader`` and ``random_split``.

Each query returns what PyTorch returns here; each refusal raises an instance of PyTorch's
exception type (``TORCH`` gives PyTorch's call for the rows of the bad-input table).
"""
import numpy as np
import pytest
import torch
from bad_inputs import BadInput, bad_input_test, same_exception_as_torch_test

import ganglion as gn
from ganglion.core.device import DeviceUnavailableError
from ganglion.data import DataLoader, TensorDataset, random_split

# ----- torch.cuda ---------------------------------------------------------------------------
CUDA_CALLS = [
    ("is_available", ()), ("device_count", ()), ("is_initialized", ()), ("manual_seed", (1,)),
    ("manual_seed_all", (1,)), ("seed", ()), ("seed_all", ()), ("empty_cache", ()),
    ("memory_allocated", ()), ("max_memory_allocated", ()), ("memory_reserved", ()),
    ("max_memory_reserved", ()), ("is_bf16_supported", ()), ("get_arch_list", ()),
    ("synchronize", ()), ("current_device", ()), ("get_device_name", ()), ("get_device_name", (0,)),
    ("get_device_properties", (0,)), ("get_device_capability", ()), ("init", ()),
    ("initial_seed", ()), ("get_rng_state", ()), ("mem_get_info", ()), ("set_device", ("cpu",)),
    ("manual_seed", ("a",)),
]


def _outcome(call):
    try:
        return "value", call()
    except Exception as error:  # noqa: BLE001  (the exception is what is compared)
        return "error", error


@pytest.mark.parametrize("name,args", CUDA_CALLS, ids=[f"{n}{a}" for n, a in CUDA_CALLS])
def test_cuda_answers_as_pytorch_without_cuda(name, args):
    kind, ours = _outcome(lambda: getattr(gn.cuda, name)(*args))
    torch_kind, theirs = _outcome(lambda: getattr(torch.cuda, name)(*args))
    assert kind == torch_kind, (name, ours, theirs)
    if kind == "value":
        assert ours == theirs and type(ours) is type(theirs)
    else:
        assert isinstance(ours, type(theirs)), (type(ours), type(theirs))
        if isinstance(ours, DeviceUnavailableError):
            assert f"cuda.{name}" in str(ours) and "'cpu'" in str(ours)


def test_cuda_calls_where_pytorch_fails_internally():
    # PyTorch's CPU build raises an AttributeError from its C module for these two; ganglion
    # refuses set_device clearly and resets the (empty) peak statistics.
    with pytest.raises(AssertionError, match="cuda.set_device.*'cpu'"):
        gn.cuda.set_device(0)
    assert gn.cuda.reset_peak_memory_stats() is None
    context = gn.cuda.device(0)  # constructs, as PyTorch's, and refuses on entry
    with pytest.raises(RuntimeError, match="cuda.device"):
        with context:
            pass


def test_fallback_idiom_runs():
    device = gn.device("cuda" if gn.cuda.is_available() else "cpu")
    model = gn.nn.Linear(3, 2).to(device)
    x = gn.randn(4, 3, device=device)
    assert model(x).device == device and str(device) == "cpu"


# ----- torch.backends, torch.accelerator, torch.mps -------------------------------------------
def test_backends_as_pytorch_without_gpus():
    assert gn.backends.cudnn.is_available() is torch.backends.cudnn.is_available() is False
    assert gn.backends.cudnn.version() is torch.backends.cudnn.version() is None
    for flag in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(gn.backends.cudnn, flag) == getattr(torch.backends.cudnn, flag), flag
    assert gn.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert gn.backends.mps.is_built() is torch.backends.mps.is_built() is False
    assert gn.backends.cuda.is_built() is torch.backends.cuda.is_built() is False
    assert gn.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    assert gn.backends.mkldnn.enabled == torch.backends.mkldnn.enabled
    # PyTorch links oneDNN, MKL and OpenMP; ganglion computes with NumPy and its own loops.
    assert not gn.backends.mkldnn.is_available() and not gn.backends.mkl.is_available()
    assert not gn.backends.openmp.is_available()


def test_backend_flags_are_settable():
    before = gn.backends.cudnn.benchmark, gn.backends.cudnn.deterministic
    try:
        gn.backends.cudnn.benchmark = True
        gn.backends.cudnn.deterministic = True
        gn.backends.cuda.matmul.allow_tf32 = True
        assert gn.backends.cudnn.benchmark and gn.backends.cudnn.deterministic
        assert gn.backends.cuda.matmul.allow_tf32
    finally:
        gn.backends.cudnn.benchmark, gn.backends.cudnn.deterministic = before
        gn.backends.cuda.matmul.allow_tf32 = False


def test_accelerator_and_mps_as_pytorch():
    assert gn.accelerator.is_available() is torch.accelerator.is_available() is False
    assert gn.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert gn.accelerator.current_accelerator(check_available=True) is None
    assert gn.accelerator.device_count() == torch.accelerator.device_count() == 0
    for name in ("current_device_index", "synchronize"):
        with pytest.raises(RuntimeError) as torch_info:
            getattr(torch.accelerator, name)()
        with pytest.raises(torch_info.type, match=f"accelerator.{name}.*none is available"):
            getattr(gn.accelerator, name)()
    assert gn.mps.is_available() is torch.mps.is_available() is False
    assert gn.mps.device_count() == torch.mps.device_count() == 0
    assert gn.mps.manual_seed(0) is torch.mps.manual_seed(0) is None
    for name in ("seed", "empty_cache", "synchronize"):
        with pytest.raises(RuntimeError):
            getattr(torch.mps, name)()
        with pytest.raises(RuntimeError, match=f"mps.{name}"):
            getattr(gn.mps, name)()


# ----- device objects and placement -----------------------------------------------------------
DEVICE_SPECS = [("cpu",), ("cuda",), ("cuda:1",), ("cuda", 0), ("mps",), ("cpu:0",), ("meta",),
                ("cpu", 2)]


@pytest.mark.parametrize("spec", DEVICE_SPECS, ids=[str(s) for s in DEVICE_SPECS])
def test_device_constructs_as_pytorch(spec):
    ours, theirs = gn.device(*spec), torch.device(*spec)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
    assert ours == gn.device(str(theirs)) and hash(ours) == hash(gn.device(str(theirs)))
    assert gn.device(ours) == ours


def test_device_equality():
    assert gn.device("cpu") == gn.device("cpu") and gn.device("cuda") != gn.device("cuda:0")
    assert gn.device("cpu") != gn.device("cuda")
    assert gn.device("cpu") == "cpu"  # ganglion's devices also compare equal to their name


def test_cpu_placement_works_as_pytorch():
    x = gn.zeros(2, 3)
    t = torch.zeros(2, 3)
    assert repr(x.device) == repr(t.device) and str(x.device) == str(t.device) == "cpu"
    assert x.device == gn.device("cpu")
    assert (x.is_cuda, x.is_cpu, x.is_mps, x.is_meta, x.is_xpu) == (t.is_cuda, t.is_cpu, t.is_mps,
                                                                t.is_meta, t.is_xpu)
    assert x.get_device() == t.get_device() == -1
    assert x.to("cpu") is x and x.cpu() is x and x.to(gn.device("cpu")) is x
    assert x.to("cpu:0") is x and x.to(device="cpu") is x
    assert x.to("cpu", non_blocking=True) is x
    assert x.to("cpu", gn.float64).dtype is gn.float64
    for make in (gn.zeros, gn.ones, gn.rand, gn.randn, gn.empty):
        assert make(2, device="cpu").device == "cpu"
        assert make(2, device=gn.device("cpu")).device == "cpu"
    assert gn.tensor([1.0], device="cpu").tolist() == [1.0]
    model = gn.nn.Linear(2, 2, device="cpu")
    assert model.to("cpu") is model and model.cpu() is model


def test_default_device():
    assert repr(gn.get_default_device()) == repr(torch.get_default_device())
    gn.set_default_device("cpu")
    assert gn.get_default_device() == gn.device("cpu")
    gn.set_default_device(None)
    assert gn.get_default_device() == gn.device("cpu")


def test_device_as_a_context_manager():
    with gn.device("cpu") as entered:
        assert entered == gn.device("cpu") and gn.get_default_device() == gn.device("cpu")
        assert gn.zeros(2).device == "cpu"
    assert gn.get_default_device() == gn.device("cpu")
    with pytest.raises(AssertionError) as torch_info:
        with torch.device("cuda"):
            torch.zeros(1)
    with pytest.raises(torch_info.type, match="with device.*'cuda'.*not available"):
        with gn.device("cuda"):
            pass
    assert gn.get_default_device() == gn.device("cpu")


def _default_device():
    return str(gn.get_default_device())


# ----- Generator ------------------------------------------------------------------------------
def test_generator_seeds_as_pytorch():
    ours, theirs = gn.Generator(), torch.Generator()
    assert ours.initial_seed() == theirs.initial_seed()
    assert repr(ours.device) == repr(theirs.device)
    for seed in (0, 3, -1, -2**63, 2**64 - 1):
        assert ours.manual_seed(seed) is ours
        assert ours.initial_seed() == theirs.manual_seed(seed).initial_seed()
    assert ours.manual_seed(np.int64(7)).initial_seed() == 7  # PyTorch wants a Python int here
    seed = ours.seed()
    assert type(seed) is int and ours.initial_seed() == seed and 0 <= seed < 2**64
    assert gn.Generator(device="cpu").initial_seed() == gn.Generator("cpu").initial_seed()


def test_global_seed_as_pytorch():
    assert isinstance(gn.manual_seed(7), gn.Generator) and gn.manual_seed(7) is gn.default_generator
    assert gn.initial_seed() == 7
    gn.manual_seed(-1)
    assert gn.initial_seed() == 2**64 - 1 == torch.manual_seed(-1).initial_seed()
    seed = gn.seed()
    assert type(seed) is int and gn.initial_seed() == seed


def _draws(g):
    return [gn.rand(3, generator=g).tolist(), gn.randn(2, 2, generator=g).tolist(),
            gn.randint(0, 10, (4,), generator=g).tolist(), gn.randint(5, (3,), generator=g).tolist(),
            gn.randperm(6, generator=g).tolist(),
            gn.rand_like(gn.zeros(2), generator=g).tolist(),
            gn.randn_like(gn.zeros(2, dtype=gn.float64), generator=g).tolist(),
            gn.rand(2, dtype=gn.float16, generator=g).tolist()]


def test_generator_argument_is_reproducible_and_independent():
    first = _draws(gn.Generator().manual_seed(11))
    assert _draws(gn.Generator().manual_seed(11)) == first
    assert _draws(gn.Generator().manual_seed(12)) != first
    # A generator's draws leave the global stream alone.
    gn.manual_seed(0)
    expected = gn.rand(4).tolist()
    gn.manual_seed(0)
    _draws(gn.Generator())
    assert gn.rand(4).tolist() == expected
    assert gn.rand(2, generator=None).shape == (2,)


def test_generator_state_round_trip():
    g = gn.Generator().manual_seed(5)
    gn.rand(1, generator=g)
    state = g.get_state()
    assert state.dtype is gn.uint8 and state.ndim == 1
    after = _draws(g)
    g.manual_seed(99)
    assert g.set_state(state) is g
    assert _draws(g) == after and g.initial_seed() == 5
    # A state from one generator restores into another.
    other = gn.Generator()
    other.set_state(state)
    assert _draws(other) == after


def test_dataloader_and_random_split_take_a_generator():
    dataset = TensorDataset(gn.arange(20))

    def epoch(seed):
        loader = DataLoader(dataset, batch_size=5, shuffle=True,
                            generator=gn.Generator().manual_seed(seed))
        return [batch[0].tolist() for batch in loader]

    assert epoch(1) == epoch(1)
    assert epoch(1) != epoch(2)
    assert sorted(sum(epoch(1), [])) == list(range(20))

    def split(seed):
        parts = random_split(range(10), [4, 6], generator=gn.Generator().manual_seed(seed))
        return [[int(i) for i in part.indices] for part in parts]

    assert split(3) == split(3) and split(3) != split(4)
    assert sorted(sum(split(3), [])) == list(range(10))
    # The generator advances: two splits from one generator differ (as PyTorch's).
    g = gn.Generator().manual_seed(3)
    assert random_split(range(10), [5, 5], generator=g)[0].indices.tolist() != \
        random_split(range(10), [5, 5], generator=g)[0].indices.tolist()


_generator = gn.Generator().manual_seed(1)


def _generator_state():
    return _generator.get_state().numpy().tolist()


CASES = [
    # Placing tensors and modules on a device this build lacks.
    BadInput("to cuda", lambda: gn.zeros(2).to("cuda"), AssertionError,
             ["Tensor.to", "'cuda'", "not available", "'cpu' only"]),
    BadInput("to cuda device", lambda: gn.zeros(2).to(gn.device("cuda")), AssertionError,
             ["Tensor.to", "'cuda'", "not available"]),
    BadInput("to mps", lambda: gn.zeros(2).to("mps"), RuntimeError, ["'mps'", "not available"]),
    BadInput("to unknown device", lambda: gn.zeros(2).to("foo"), RuntimeError,
             ["device", "'foo'", "cpu, cuda"]),
    BadInput("zeros on cuda", lambda: gn.zeros(2, device="cuda"), AssertionError,
             ["'cuda'", "not available", "'cpu'"]),
    BadInput("tensor on cuda", lambda: gn.tensor([1.0], device="cuda"), AssertionError,
             ["'cuda'", "not available"]),
    BadInput("randn on cuda:0", lambda: gn.randn(2, device="cuda:0"), AssertionError,
             ["'cuda:0'", "not available"]),
    BadInput("Tensor.cuda", lambda: gn.zeros(2).cuda(), AssertionError,
             ["Tensor.cuda", "'cuda'", "not available", "'cpu'"]),
    BadInput("Tensor.cuda(0)", lambda: gn.zeros(2).cuda(0), RuntimeError,
             ["Tensor.cuda", "'cuda:0'"]),
    BadInput("Module.cuda", lambda: gn.nn.Linear(2, 2).cuda(), AssertionError,
             ["Module.cuda", "'cuda'", "not available"]),
    BadInput("Module.to cuda", lambda: gn.nn.Linear(2, 2).to("cuda"), AssertionError,
             ["Module.to", "'cuda'", "not available"]),
    BadInput("Linear on cuda", lambda: gn.nn.Linear(2, 2, device="cuda"), AssertionError,
             ["'cuda'", "not available"]),
    # Device strings PyTorch refuses.
    BadInput("device unknown type", lambda: gn.device("foo"), RuntimeError,
             ["device", "'foo'", "cpu, cuda"]),
    BadInput("device upper case", lambda: gn.device("CPU"), RuntimeError, ["device", "'CPU'"]),
    BadInput("device bad index", lambda: gn.device("cuda:x"), RuntimeError,
             ["device", "'cuda:x'", "index"]),
    BadInput("device negative index string", lambda: gn.device("cpu:-1"), RuntimeError,
             ["device", "'cpu:-1'", "non-negative"]),
    BadInput("device negative index", lambda: gn.device("cpu", -1), RuntimeError,
             ["device", "negative", "-1"]),
    BadInput("device None", lambda: gn.device(None), TypeError, ["device", "None"]),
    BadInput("device number", lambda: gn.device(0), RuntimeError,
             ["device", "accelerator 0", "'cpu'"]),
    BadInput("set_default_device cuda", lambda: gn.set_default_device("cuda"), AssertionError,
             ["set_default_device", "'cuda'", "not available", "'cpu'"], unchanged=_default_device),
    BadInput("set_default_device unknown", lambda: gn.set_default_device("foo"), RuntimeError,
             ["device", "'foo'"], unchanged=_default_device),
    # Generator.
    BadInput("Generator on cuda", lambda: gn.Generator(device="cuda"), RuntimeError,
             ["Generator", "'cuda'", "not available"]),
    BadInput("Generator on unknown device", lambda: gn.Generator(device="foo"), RuntimeError,
             ["'foo'"]),
    BadInput("Generator.manual_seed float", lambda: _generator.manual_seed(1.5), RuntimeError,
             ["Generator.manual_seed", "integer", "1.5", "float"], unchanged=_generator_state),
    BadInput("Generator.manual_seed string", lambda: _generator.manual_seed("3"), RuntimeError,
             ["Generator.manual_seed", "'3'", "str"], unchanged=_generator_state),
    BadInput("Generator.manual_seed None", lambda: _generator.manual_seed(None), RuntimeError,
             ["Generator.manual_seed", "None"], unchanged=_generator_state),
    BadInput("Generator.manual_seed bool", lambda: _generator.manual_seed(True), RuntimeError,
             ["Generator.manual_seed", "True", "bool"], unchanged=_generator_state),
    BadInput("Generator.manual_seed too large", lambda: _generator.manual_seed(2**64), ValueError,
             ["Generator.manual_seed", str(2**64), "[-2**63, 2**64)"], unchanged=_generator_state),
    BadInput("Generator.manual_seed too small", lambda: _generator.manual_seed(-2**63 - 1),
             ValueError, ["Generator.manual_seed", "out of range"], unchanged=_generator_state),
    BadInput("manual_seed too large", lambda: gn.manual_seed(2**64), ValueError,
             ["manual_seed", "out of range", "2**64"], unchanged=gn.get_rng_state),
    BadInput("set_state list", lambda: _generator.set_state([1, 2]), TypeError,
             ["Generator.set_state", "uint8", "list"], unchanged=_generator_state),
    BadInput("set_state float tensor", lambda: _generator.set_state(gn.zeros(3)), TypeError,
             ["Generator.set_state", "uint8", "float32"], unchanged=_generator_state),
    BadInput("set_state wrong size", lambda: _generator.set_state(gn.zeros(3, dtype=gn.uint8)),
             RuntimeError, ["Generator.set_state", "45 bytes", "got 3"], unchanged=_generator_state),
    BadInput("set_state corrupt", lambda: _generator.set_state(gn.full((45,), 7, dtype=gn.uint8)),
             RuntimeError, ["Generator.set_state", "byte 40", "7"], unchanged=_generator_state),
    BadInput("rand generator int", lambda: gn.rand(2, generator=3), TypeError,
             ["rand", "generator", "Generator", "int"]),
    BadInput("randn generator string", lambda: gn.randn(2, generator="g"), TypeError,
             ["randn", "generator", "str"]),
    BadInput("randint generator int", lambda: gn.randint(0, 5, (2,), generator=3), TypeError,
             ["randint", "generator", "int"]),
    BadInput("randperm generator int", lambda: gn.randperm(3, generator=3), TypeError,
             ["randperm", "generator", "int"]),
    BadInput("random_split generator int", lambda: random_split(range(4), [2, 2], generator=3),
             TypeError, ["random_split", "generator", "int"]),
    BadInput("DataLoader generator int", lambda: DataLoader(range(4), generator=3), TypeError,
             ["DataLoader", "generator", "int"]),
]
test_bad_input = bad_input_test(CASES)

_torch_generator = torch.Generator().manual_seed(1)
TORCH = {
    "to cuda": lambda: torch.zeros(2).to("cuda"),
    "to cuda device": lambda: torch.zeros(2).to(torch.device("cuda")),
    "to mps": lambda: torch.zeros(2).to("mps"),
    "to unknown device": lambda: torch.zeros(2).to("foo"),
    "zeros on cuda": lambda: torch.zeros(2, device="cuda"),
    "tensor on cuda": lambda: torch.tensor([1.0], device="cuda"),
    "randn on cuda:0": lambda: torch.randn(2, device="cuda:0"),
    "Tensor.cuda": lambda: torch.zeros(2).cuda(),
    "Tensor.cuda(0)": lambda: torch.zeros(2).cuda(0),
    "Module.cuda": lambda: torch.nn.Linear(2, 2).cuda(),
    "Module.to cuda": lambda: torch.nn.Linear(2, 2).to("cuda"),
    "Linear on cuda": lambda: torch.nn.Linear(2, 2, device="cuda"),
    "device unknown type": lambda: torch.device("foo"),
    "device upper case": lambda: torch.device("CPU"),
    "device bad index": lambda: torch.device("cuda:x"),
    "device negative index string": lambda: torch.device("cpu:-1"),
    "device negative index": lambda: torch.device("cpu", -1),
    "device None": lambda: torch.device(None),
    "device number": lambda: torch.device(0),
    "set_default_device unknown": lambda: torch.set_default_device("foo"),
    "Generator on cuda": lambda: torch.Generator(device="cuda"),
    "Generator on unknown device": lambda: torch.Generator(device="foo"),
    "Generator.manual_seed float": lambda: _torch_generator.manual_seed(1.5),
    "Generator.manual_seed string": lambda: _torch_generator.manual_seed("3"),
    "Generator.manual_seed None": lambda: _torch_generator.manual_seed(None),
    "Generator.manual_seed bool": lambda: _torch_generator.manual_seed(True),
    "Generator.manual_seed too large": lambda: _torch_generator.manual_seed(2**64),
    "Generator.manual_seed too small": lambda: _torch_generator.manual_seed(-2**63 - 1),
    "manual_seed too large": lambda: torch.manual_seed(2**64),
    "set_state list": lambda: _torch_generator.set_state([1, 2]),
    "set_state float tensor": lambda: _torch_generator.set_state(torch.zeros(3)),
    "set_state wrong size": lambda: _torch_generator.set_state(torch.zeros(3, dtype=torch.uint8)),
    "rand generator int": lambda: torch.rand(2, generator=3),
    "randn generator string": lambda: torch.randn(2, generator="g"),
    "randint generator int": lambda: torch.randint(0, 5, (2,), generator=3),
    "randperm generator int": lambda: torch.randperm(3, generator=3),
}
test_same_exception_type_as_pytorch = same_exception_as_torch_test(CASES, TORCH)
