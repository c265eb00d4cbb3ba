"""The random generator that random transforms draw from.

A DataLoader gives each batch its own generator, seeded from the loader's seed, the epoch and the
batch's position, and installs it for the thread that builds the batch. Random transforms call
``current_generator()`` and so give the same augmentation for the same seed however many worker
threads run and in whatever order they finish. Outside a loader they draw from ganglion's global
generator, so ``ganglion.manual_seed`` makes them reproducible too.
"""
import threading
from contextlib import contextmanager

from ganglion.core.random import generator as global_generator

__all__ = ["current_generator", "using_generator"]

_local = threading.local()


def current_generator():
    """The generator installed for this thread by ``using_generator``, else the global one."""
    rng = getattr(_local, "generator", None)
    return rng if rng is not None else global_generator()


@contextmanager
def using_generator(rng):
    """Install ``rng`` as this thread's generator for the duration of the block."""
    previous = getattr(_local, "generator", None)
    _local.generator = rng
    try:
        yield rng
    finally:
        _local.generator = previous
