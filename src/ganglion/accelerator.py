"""``ganglion.accelerator``: PyTorch's device-agnostic accelerator queries. This build has no
accelerator, so the queries answer False, 0 or None and the calls that need one raise a
RuntimeError, as PyTorch does on a CPU-only machine."""
__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "set_device_index", "synchronize"]


def _none_available(name):
    return RuntimeError(f"accelerator.{name}: cannot access an accelerator device when none is "
                        "available (this build of ganglion runs on 'cpu' only)")


def is_available():
    """False: no accelerator (GPU) backend in this build."""
    return False


def current_accelerator(check_available=False):
    """None: there is no accelerator (a device such as ``device('cuda')`` when there is one)."""
    return None


def device_count():
    """0: no accelerator devices."""
    return 0


def current_device_index():
    raise _none_available("current_device_index")


def set_device_index(device):
    raise _none_available("set_device_index")


def synchronize(device=None):
    raise _none_available("synchronize")
