"""``ganglion.mps``: Apple's Metal backend, which this build does not have. ``is_available()`` is
False and ``device_count()`` 0; ``manual_seed`` is accepted and ignored; ``seed``,
``empty_cache`` and ``synchronize`` raise a RuntimeError: each as PyTorch without MPS."""
__all__ = ["is_available", "device_count", "manual_seed", "seed", "synchronize", "empty_cache"]


def _no_mps(name):
    return RuntimeError(f"mps.{name}: there is no MPS backend (this build of ganglion runs on "
                        "'cpu' only)")


def is_available():
    """False: no MPS backend in this build."""
    return False


def device_count():
    """0: no MPS devices."""
    return 0


def manual_seed(seed):
    """Accepted and ignored (no MPS generator); ``int(seed)`` must work, as in PyTorch."""
    int(seed)


def seed():
    raise _no_mps("seed")


def empty_cache():
    raise _no_mps("empty_cache")


def synchronize():
    raise _no_mps("synchronize")
