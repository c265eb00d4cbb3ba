"""Weight initializers with PyTorch's names, formulas and fan computations.

Each writes into a tensor's array in place (outside the graph, as PyTorch's do under
``no_grad``) and returns the tensor. Samples come from ganglion's global generator, so
``ganglion.manual_seed`` makes initialization reproducible, or from a ``generator=`` (a
``ganglion.Generator``), as in PyTorch. Fans follow PyTorch: for a weight
of shape (out, in, *kernel), fan_in = in * prod(kernel) and fan_out = out * prod(kernel).
"""
import math

from ganglion.backend import current as backend
from ganglion.core.errors import ArgumentError, UnsupportedDTypeError
from ganglion.core.tensor import Tensor
from ganglion.core.random import numpy_generator
from ganglion.core.versions import bump_storage

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_",
           "ones_", "eye_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_"]

_LINEAR_GAINS = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity, param=None):
    """The factor by which to scale a weight's std so that ``nonlinearity`` keeps the
    activations' variance: 1 for linear / conv / sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope ``param``, default 0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (expected one of "
                     f"{', '.join(_LINEAR_GAINS)}, tanh, relu, leaky_relu, selu)")


def _calculate_fan_in_and_fan_out(tensor):
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out cannot be computed for a tensor of shape {shape}: it "
                         "needs at least 2 dimensions (out, in, *kernel)")
    receptive_field = 1
    for d in shape[2:]:
        receptive_field *= d
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} is not supported: use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _number(where, what, value):
    """A bound, mean, std or fill value: a real number (TypeError naming it otherwise)."""
    if hasattr(type(value), "__float__"):  # Python and NumPy numbers, 0-d tensors
        return value
    raise TypeError(f"{where}: {what} must be a number, got {value!r} of type {type(value).__name__}")


def _array(tensor, where):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor to initialize, got {type(tensor).__name__}")
    if tensor._data is None:
        raise TypeError(f"{where}: cannot initialize a symbolic tensor (it has no value); "
                        "initialize the shared variable or parameter it stands for")
    if not tensor.dtype.is_floating_point:
        # PyTorch raises NotImplementedError ("not implemented for 'Long'"); this is both.
        raise UnsupportedDTypeError(f"{where}: expected a floating-point tensor, got {tensor.dtype}")
    return tensor._data


def _fill(tensor, values, where):
    """Write ``values`` (an array of the tensor's shape, or a scalar) into the tensor."""
    data = _array(tensor, where)
    data[...] = values
    bump_storage(data)
    return tensor


def _drawable_in_place(data):
    """Whether NumPy's generator can write samples straight into ``data`` (``out=`` takes
    contiguous, writeable float32 and float64 arrays): a large layer's weights are then drawn
    without a temporary array of their size and a copy (VGG-16's build took 5 s, mostly that)."""
    return (data.dtype in (backend.xp.float32, backend.xp.float64) and data.flags.c_contiguous
            and data.flags.writeable)


def _uniform(shape, low, high, np_dtype, source):
    # Drawn in the target precision (float32 for most models): half the work of float64.
    dtype = np_dtype if np_dtype.itemsize >= 4 else backend.xp.float32
    sample = source.random(shape, dtype=dtype)
    return sample * (high - low) + low


def _normal(shape, mean, std, np_dtype, source):
    dtype = np_dtype if np_dtype.itemsize >= 4 else backend.xp.float32
    return source.standard_normal(shape, dtype=dtype) * std + mean


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with samples from U(a, b)."""
    a, b = _number("uniform_", "a", a), _number("uniform_", "b", b)
    if a > b:
        raise ArgumentError(f"uniform_: expected a <= b (the range [a, b) to draw from), got "
                            f"a={a}, b={b}")
    data = _array(tensor, "uniform_")
    source = numpy_generator(generator, "uniform_")
    if _drawable_in_place(data):  # the same numbers, without two temporaries and a copy
        source.random(dtype=data.dtype, out=data)
        data *= b - a
        data += a
        bump_storage(data)
        return tensor
    return _fill(tensor, _uniform(data.shape, a, b, data.dtype, source), "uniform_")


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with samples from N(mean, std^2)."""
    mean, std = _number("normal_", "mean", mean), _number("normal_", "std", std)
    if std < 0:
        raise ArgumentError(f"normal_: expected std >= 0, got std={std}")
    data = _array(tensor, "normal_")
    source = numpy_generator(generator, "normal_")
    if _drawable_in_place(data):
        source.standard_normal(dtype=data.dtype, out=data)
        data *= std
        data += mean
        bump_storage(data)
        return tensor
    return _fill(tensor, _normal(data.shape, mean, std, data.dtype, source), "normal_")


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) samples restricted to [a, b] (redrawn until they fall inside)."""
    data = _array(tensor, "trunc_normal_")
    if not a < b:
        raise ArgumentError(f"trunc_normal_: the bounds must satisfy a < b, got a={a}, b={b}")
    source = numpy_generator(generator, "trunc_normal_")
    values = _normal(data.shape, mean, std, data.dtype, source)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = _normal(int(outside.sum()), mean, std, data.dtype, source)
        outside = (values < a) | (values > b)
    return _fill(tensor, values, "trunc_normal_")


def constant_(tensor, val):
    """Fill with the value ``val``."""
    return _fill(tensor, _number("constant_", "val", val), "constant_")


def zeros_(tensor):
    return _fill(tensor, 0, "zeros_")


def ones_(tensor):
    return _fill(tensor, 1, "ones_")


def eye_(tensor):
    """The identity matrix (for a 2-D tensor), preserving the inputs' identity in Linear."""
    data = _array(tensor, "eye_")
    if data.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got shape {tuple(data.shape)}")
    return _fill(tensor, backend.xp.eye(*data.shape, dtype=data.dtype), "eye_")


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot & Bengio (2010): N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    if fan == 0:  # an empty tensor: there is nothing to fill
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): U(-b, b) with b = gain * sqrt(3 / fan); ``a`` is the negative slope
    of leaky_relu, ``mode`` which fan keeps the variance (forward: fan_in, backward: fan_out)."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain=1.0, generator=None):
    """Saxe et al. (2013): a (semi-)orthogonal matrix from the QR decomposition of a Gaussian
    one, over the tensor flattened to (shape[0], rest); rows or columns are orthonormal."""
    data = _array(tensor, "orthogonal_")
    if data.ndim < 2:
        raise ValueError(f"orthogonal_: expected at least 2 dimensions, got shape {tuple(data.shape)}")
    if data.size == 0:
        return tensor
    rows = data.shape[0]
    cols = data.size // rows
    xp = backend.xp
    flat = numpy_generator(generator, "orthogonal_").standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    # Signs from R's diagonal make the result uniformly distributed over orthogonal matrices.
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(data.shape), "orthogonal_")
