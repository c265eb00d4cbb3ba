"""``ganglion.cuda``: what ``torch.cuda`` answers on a build without CUDA, so that programs
written to fall back to the CPU (``device = 'cuda' if torch.cuda.is_available() else 'cpu'``)
simply run.

Each function does what PyTorch's CPU-only build does: the queries (``is_available``,
``device_count``, ``is_initialized``, the memory counters) answer False or 0, seeding and cache
calls are accepted and do nothing, and the calls that need a GPU (``synchronize``,
``current_device``, ``get_device_name``, ``set_device``, ...) raise ``DeviceUnavailableError``,
an AssertionError as PyTorch's "Torch not compiled with CUDA enabled" (and a RuntimeError and a
ValueError), naming the call and the devices this build has. A GPU backend may come later; this
module is where it will answer differently.
"""
from ganglion.core import dtypes as _dtypes
from ganglion.core.device import AVAILABLE_TYPES, DeviceUnavailableError
from ganglion.core.legacy_types import cuda_legacy_type

__all__ = ["is_available", "device_count", "is_initialized", "init", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "initial_seed", "get_rng_state", "set_rng_state",
           "synchronize", "current_device", "set_device", "get_device_name",
           "get_device_properties", "get_device_capability", "is_bf16_supported", "empty_cache",
           "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "reset_peak_memory_stats", "mem_get_info", "get_arch_list", "device", "FloatTensor",
           "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor"]

# The legacy GPU tensor types (torch.cuda.FloatTensor, ...): they exist, so that code choosing a
# type by `cuda.is_available()` runs; calling one raises, and no tensor is an instance of one.
FloatTensor = cuda_legacy_type(_dtypes.float32)
DoubleTensor = cuda_legacy_type(_dtypes.float64)
HalfTensor = cuda_legacy_type(_dtypes.float16)
LongTensor = cuda_legacy_type(_dtypes.int64)
IntTensor = cuda_legacy_type(_dtypes.int32)
ShortTensor = cuda_legacy_type(_dtypes.int16)
CharTensor = cuda_legacy_type(_dtypes.int8)
ByteTensor = cuda_legacy_type(_dtypes.uint8)
BoolTensor = cuda_legacy_type(_dtypes.bool_)


def _no_cuda(name):
    return DeviceUnavailableError(
        f"cuda.{name}: ganglion was built without CUDA (this build runs on "
        f"{', '.join(repr(t) for t in AVAILABLE_TYPES)} only); check cuda.is_available() first")


# ----- queries: no GPU here -----------------------------------------------------------------
def is_available():
    """False: this build of ganglion has no CUDA backend."""
    return False


def device_count():
    """0: no CUDA devices."""
    return 0


def is_initialized():
    """False: CUDA is never initialised in this build."""
    return False


def is_bf16_supported(including_emulation=True):
    """False: there is no CUDA device to support bfloat16."""
    return False


def get_arch_list():
    """[]: no CUDA architectures were compiled in."""
    return []


# ----- seeding: accepted and ignored, as PyTorch does without CUDA -------------------------
def manual_seed(seed):
    """Accepted and ignored (no CUDA generator); ``int(seed)`` must work, as in PyTorch."""
    int(seed)  # PyTorch's check: manual_seed('a') is a ValueError even without CUDA


def manual_seed_all(seed):
    """Accepted and ignored (no CUDA generators); ``int(seed)`` must work, as in PyTorch."""
    int(seed)


def seed():
    """Accepted and ignored (no CUDA generator)."""


def seed_all():
    """Accepted and ignored (no CUDA generators)."""


def initial_seed():
    raise _no_cuda("initial_seed")


def get_rng_state(device="cuda"):
    raise _no_cuda("get_rng_state")


def set_rng_state(new_state, device="cuda"):
    raise _no_cuda("set_rng_state")


# ----- memory: nothing is allocated on a GPU ------------------------------------------------
def empty_cache():
    """Nothing to release: accepted and ignored, as PyTorch does without CUDA."""


def memory_allocated(device=None):
    """0 bytes: no GPU memory is ever allocated in this build."""
    return 0


def max_memory_allocated(device=None):
    """0 bytes: no GPU memory is ever allocated in this build."""
    return 0


def memory_reserved(device=None):
    """0 bytes: no GPU memory is ever reserved in this build."""
    return 0


def max_memory_reserved(device=None):
    """0 bytes: no GPU memory is ever reserved in this build."""
    return 0


def reset_peak_memory_stats(device=None):
    """Nothing to reset (PyTorch's CPU build fails here with an internal AttributeError; the peak
    of nothing is simply reset)."""


def mem_get_info(device=None):
    raise _no_cuda("mem_get_info")


# ----- calls that need a device -------------------------------------------------------------
def init():
    raise _no_cuda("init")


def synchronize(device=None):
    raise _no_cuda("synchronize")


def current_device():
    raise _no_cuda("current_device")


def set_device(device):
    raise _no_cuda("set_device")


def get_device_name(device=None):
    raise _no_cuda("get_device_name")


def get_device_properties(device=None):
    raise _no_cuda("get_device_properties")


def get_device_capability(device=None):
    raise _no_cuda("get_device_capability")


class device:
    """``with cuda.device(0):`` selects a GPU: constructs, as in PyTorch, and refuses on entry."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        raise _no_cuda("device")

    def __exit__(self, *exc_info):
        return False
