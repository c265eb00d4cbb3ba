"""The global random generator behind rand, randn, randint, randperm and dropout masks.

``manual_seed(seed)`` makes every random function reproducible. The state can be saved and
restored (``get_rng_state`` / ``set_rng_state``) as plain JSON-compatible data, so that training
checkpoints can resume with the same random stream.
"""
from ganglion.backend import current as backend

__all__ = ["manual_seed", "seed", "get_rng_state", "set_rng_state", "generator"]

_generator = [backend.seeded_generator(None)]


def generator():
    """The backend random generator that ganglion's random functions draw from."""
    return _generator[0]


def manual_seed(seed):
    """Reseed the global generator; the same seed gives the same random numbers."""
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        # PyTorch raises ValueError for a string seed; a TypeError (None, a list) stays one.
        error = ValueError if isinstance(seed, str) else TypeError
        raise error(f"manual_seed: the seed must be an integer, got {seed!r}") from None
    if seed < 0:
        raise ValueError(f"manual_seed: the seed must be non-negative, got {seed}")
    _generator[0] = backend.seeded_generator(seed)
    return _generator[0]


def seed():
    """Reseed from the operating system's entropy; returns nothing reproducible."""
    _generator[0] = backend.seeded_generator(None)


def get_rng_state():
    """The generator's state as a dict of plain values (safe to store as JSON)."""
    return _generator[0].bit_generator.state


def set_rng_state(state):
    """Restore a state returned by ``get_rng_state``; the generator is untouched if it is not one."""
    if not isinstance(state, dict):
        raise TypeError(f"set_rng_state: expected the dict that get_rng_state() returns, got "
                        f"{type(state).__name__}")
    try:
        _generator[0].bit_generator.state = state
    except (TypeError, ValueError, KeyError) as error:
        expected = _generator[0].bit_generator.state["bit_generator"]
        raise ValueError(f"set_rng_state: not a state of this generator ({expected}) as "
                         f"get_rng_state() returns it: {error}") from None
