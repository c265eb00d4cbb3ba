"""Random generators: the global one behind rand, randn, randint, randperm and dropout masks, and
``Generator`` objects for the ``generator=`` argument, as in PyTorch.

``manual_seed(seed)`` makes every random function reproducible. The global state can be saved and
restored (``get_rng_state`` / ``set_rng_state``) as plain JSON-compatible data, so that training
checkpoints can resume with the same random stream.

A ``Generator`` is an independent stream: ``Generator().manual_seed(1)`` passed as
``rand(3, generator=g)``, ``randperm``, ``DataLoader(..., generator=g)`` or
``random_split(..., generator=g)`` draws the same numbers every run, whatever else draws from the
global generator. Its state is a uint8 tensor (``get_state`` / ``set_state``), as PyTorch's. The
streams are NumPy's PCG64, so the numbers differ from PyTorch's for the same seed (only
reproducibility within ganglion is promised). Seeds are 64-bit: PyTorch's range [-2**63, 2**64),
a negative seed taken modulo 2**64, as PyTorch does.
"""
import numbers
import os

import numpy as np

from ganglion.backend import current as backend
from ganglion.core.errors import ArgumentError, DTypeError

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "generator",
           "Generator", "default_generator", "numpy_generator"]

# PyTorch's seed for a new Generator (torch.Generator().initial_seed()): a new generator is
# reproducible without a manual_seed, in both.
DEFAULT_SEED = 67280421310721
_SEED_MIN, _SEED_END = -2**63, 2**64
# get_state()'s layout: initial seed (8 bytes), PCG64 state (16), increment (16), has_uint32 (1),
# uinteger (4), all little-endian.
_STATE_BYTES = 45


def _check_seed_range(name, seed):
    if not _SEED_MIN <= seed < _SEED_END:
        raise ValueError(f"{name}: the seed {seed} is out of range; seeds are 64-bit integers in "
                         "[-2**63, 2**64)")
    return seed % _SEED_END


def _os_seed():
    return int.from_bytes(os.urandom(8), "little")


class Generator:
    """A random stream of its own: ``Generator()``, ``Generator(device='cpu')``.

    ``manual_seed(seed)`` reseeds it (and returns it, so ``Generator().manual_seed(0)`` chains),
    ``seed()`` reseeds it from the operating system and returns the seed, ``initial_seed()`` gives
    the seed it was last seeded with, ``get_state()`` / ``set_state(state)`` save and restore its
    position as a uint8 tensor. A new Generator starts from PyTorch's default seed, 67280421310721.
    """

    __slots__ = ("_generator", "_initial_seed", "device")

    def __init__(self, device="cpu"):
        from ganglion.core.device import check_available
        self.device = check_available(device, "Generator")
        self._seed(DEFAULT_SEED)

    def _seed(self, value):
        self._generator = backend.seeded_generator(value)
        self._initial_seed = value

    def manual_seed(self, seed):
        """Reseed with ``seed`` (an integer in [-2**63, 2**64)); returns the generator."""
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise DTypeError(f"Generator.manual_seed: expected an integer seed, got {seed!r} of "
                             f"type {type(seed).__name__}")
        self._seed(_check_seed_range("Generator.manual_seed", int(seed)))
        return self

    def seed(self):
        """Reseed from the operating system's entropy; returns the new seed."""
        value = _os_seed()
        self._seed(value)
        return value

    def initial_seed(self):
        """The seed this generator was last seeded with (as a non-negative 64-bit integer)."""
        return self._initial_seed

    def get_state(self):
        """The generator's position as a uint8 tensor, for ``set_state``."""
        from ganglion.core.tensor import make_tensor
        state = self._generator.bit_generator.state
        if state.get("bit_generator") != "PCG64":
            raise RuntimeError(f"Generator.get_state: expected a PCG64 stream, got "
                               f"{state.get('bit_generator')}")
        raw = (self._initial_seed.to_bytes(8, "little")
               + state["state"]["state"].to_bytes(16, "little")
               + state["state"]["inc"].to_bytes(16, "little")
               + int(state["has_uint32"]).to_bytes(1, "little")
               + int(state["uinteger"]).to_bytes(4, "little"))
        return make_tensor(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state):
        """Restore a position returned by ``get_state``; returns the generator. A state that is
        not one leaves the generator as it was."""
        from ganglion.core.tensor import Tensor
        if not isinstance(new_state, Tensor):
            raise TypeError(f"Generator.set_state: expected the uint8 tensor that get_state() "
                            f"returns, got {type(new_state).__name__}")
        if new_state.dtype.name != "uint8":
            raise TypeError(f"Generator.set_state: the RNG state must be a uint8 tensor (a "
                            f"ByteTensor) as get_state() returns it, got {new_state.dtype}")
        raw = new_state.detach().numpy().tobytes()
        if len(raw) != _STATE_BYTES:
            raise ArgumentError(f"Generator.set_state: expected a state of {_STATE_BYTES} bytes "
                                f"as get_state() returns it, got {len(raw)}")
        has_uint32 = raw[40]
        if has_uint32 > 1:
            raise ArgumentError(f"Generator.set_state: not a state get_state() returned (byte 40 "
                                f"is {has_uint32}, must be 0 or 1)")
        self._generator.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[8:24], "little"),
                      "inc": int.from_bytes(raw[24:40], "little")},
            "has_uint32": has_uint32,
            "uinteger": int.from_bytes(raw[41:45], "little"),
        }
        self._initial_seed = int.from_bytes(raw[:8], "little")
        return self

    def __repr__(self):
        return f"<ganglion.Generator device='{self.device}' initial_seed={self._initial_seed}>"


def numpy_generator(generator, name):
    """The backend generator that a ``generator=`` argument of ``name`` draws from: the global
    one for None, a Generator's own stream, or a NumPy Generator as it is (ganglion.data took
    those before ``Generator`` existed). Anything else is a TypeError naming ``name``."""
    if generator is None:
        return default_generator._generator
    if isinstance(generator, Generator):
        return generator._generator
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{name}: generator must be a ganglion.Generator (or None), got "
                    f"{generator!r} of type {type(generator).__name__}")


# The global generator, seeded from the operating system at import (PyTorch starts from a fixed
# seed; ganglion always has started from a fresh one).
default_generator = Generator()
default_generator.seed()


def generator():
    """The backend random generator that ganglion's random functions draw from."""
    return default_generator._generator


def manual_seed(seed):
    """Reseed the global generator; the same seed gives the same random numbers. Returns the
    global Generator (``default_generator``), as PyTorch does."""
    try:
        # int(), as PyTorch's manual_seed: '3' and 3.0 are accepted.
        value = int(seed)
    except (TypeError, ValueError):
        # PyTorch raises ValueError for a string seed; a TypeError (None, a list) stays one.
        error = ValueError if isinstance(seed, str) else TypeError
        raise error(f"manual_seed: the seed must be an integer, got {seed!r}") from None
    default_generator._seed(_check_seed_range("manual_seed", value))
    return default_generator


def seed():
    """Reseed the global generator from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed():
    """The seed the global generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state():
    """The generator's state as a dict of plain values (safe to store as JSON)."""
    return default_generator._generator.bit_generator.state


def set_rng_state(state):
    """Restore a state returned by ``get_rng_state``; the generator is untouched if it is not one."""
    if not isinstance(state, dict):
        raise TypeError(f"set_rng_state: expected the dict that get_rng_state() returns, got "
                        f"{type(state).__name__}")
    bit_generator = default_generator._generator.bit_generator
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        expected = bit_generator.state["bit_generator"]
        raise ValueError(f"set_rng_state: not a state of this generator ({expected}) as "
                         f"get_rng_state() returns it: {error}") from None
