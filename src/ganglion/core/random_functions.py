"""PyTorch's sampling functions that take parameters and a ``generator=``: ``normal``,
``bernoulli``, and the in-place ``Tensor.uniform_``, ``normal_``, ``bernoulli_`` and
``exponential_``.

As in PyTorch, a sample drawn from tensors that require grad requires grad too, with a zero
gradient for its parameters (PyTorch's NormalBackward and BernoulliBackward give zeros; a
reparameterised sample is written ``mean + std * randn_like(std)``). The numbers come from
NumPy's PCG64 streams, so they differ from PyTorch's for the same seed.
"""
import numbers

import numpy as np

from ganglion.core import dtypes
from ganglion.core.creation import zeros_like
from ganglion.core.errors import ArgumentError, UnsupportedDTypeError
from ganglion.core.inplace import inplace
from ganglion.core.op import Op, apply, broadcast_shapes
from ganglion.core.ops import elementwise as ew
from ganglion.core.random import numpy_generator
from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["normal", "bernoulli"]


class RandomSample(Op):
    """A sample drawn outside the graph (input 0), tied to the parameters it was drawn from (the
    other inputs) with a zero gradient for each, as PyTorch's sampling backward functions."""

    __slots__ = ()
    saves_inputs = False

    def forward(self, backend, sample, *parameters):
        return sample

    def vjp(self, out, grad, needs):
        return (None,) + tuple(zeros_like(p) if need else None
                               for p, need in zip(out._inputs[1:], needs[1:]))


def _tied(sample, parameters):
    """``sample`` (an array) as a Tensor, recorded as drawn from the Tensor ``parameters``."""
    tensors = [p for p in parameters if isinstance(p, Tensor)]
    if not any(p.requires_grad for p in tensors):
        return make_tensor(sample)
    return apply(RandomSample(), make_tensor(sample), *tensors)


def _value(name, what, value):
    """A parameter's values as an array (a Tensor's, or a number's), refusing symbolic tensors
    (a sample needs values) and anything but numbers."""
    if isinstance(value, Tensor):
        if value._data is None:
            raise TypeError(f"{name}: {what} is symbolic; draw random numbers in a compiled "
                            "graph with ganglion's random streams instead")
        return value._data
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {what} must be a number or a Tensor, got {value!r} of type "
                        f"{type(value).__name__}")
    return value


def _float_dtype(name, tensors, dtype=None):
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    else:
        dtype = dtypes.result_type(*tensors) if tensors else dtypes.get_default_dtype()
    if not dtype.is_floating_point:
        raise UnsupportedDTypeError(f"{name}: samples a floating-point dtype, got {dtype}")
    return dtype


def _draw_normal(source, shape, np_dtype):
    draw = np_dtype if np_dtype.itemsize >= 4 else np.float32
    return source.standard_normal(shape, dtype=draw)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False):
    """Samples of N(mean, std^2): ``normal(mean_tensor, std_tensor)`` (broadcast together),
    ``normal(mean_tensor, 1.0)``, ``normal(0.0, std_tensor)``, or ``normal(0.0, 1.0, size)``."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    mean_value, std_value = _value("normal", "mean", mean), _value("normal", "std", std)
    if tensors:
        if size is not None:
            raise TypeError("normal: give size= only with a number mean and std (with a tensor, "
                            "the result has its shape)")
        for t in tensors:
            if not t.dtype.is_floating_point:
                raise UnsupportedDTypeError(f"normal: mean and std must be floating-point "
                                            f"tensors, got {t.dtype}")
        shape = broadcast_shapes("normal", *[tuple(t.shape) for t in tensors])
    else:
        if size is None:
            raise TypeError("normal: with a number mean and std, give the size of the result "
                            "(normal(0.0, 1.0, (2, 3)))")
        from ganglion.core.creation import _size
        shape = _size("normal", (size,))
    if np.any(np.asarray(std_value) < 0):
        raise ArgumentError(f"normal: expected std >= 0, got std={_describe(std)}")
    out_dtype = _float_dtype("normal", tensors, dtype)
    source = numpy_generator(generator, "normal")
    sample = _draw_normal(source, shape, out_dtype.np) * std_value + mean_value
    out = _tied(np.asarray(sample, dtype=out_dtype.np), tensors)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _describe(value):
    if isinstance(value, Tensor):
        return f"a tensor holding {float(value._data.min())}"
    return value


def _check_probability(name, p):
    if isinstance(p, Tensor):
        array = p._data
        if array.size and (array.min() < 0 or array.max() > 1 or np.isnan(array).any()):
            raise ArgumentError(f"{name}: every probability must be in [0, 1], got values from "
                                f"{float(np.nanmin(array))} to {float(np.nanmax(array))}")
    elif not 0 <= p <= 1:
        raise ArgumentError(f"{name}: p must be in [0, 1], got p={p}")


def bernoulli(input, p=None, *, generator=None):
    """0/1 samples, 1 with probability ``input`` elementwise (or ``p`` everywhere, if given),
    of ``input``'s floating dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli: expected a Tensor of probabilities, got "
                        f"{type(input).__name__}")
    _value("bernoulli", "input", input)
    if not input.dtype.is_floating_point:
        raise UnsupportedDTypeError(f"bernoulli: expects a floating-point tensor of "
                                    f"probabilities, got {input.dtype}")
    if p is None:
        p = input
    else:
        _value("bernoulli", "p", p)
    _check_probability("bernoulli", p)
    source = numpy_generator(generator, "bernoulli")
    probabilities = p._data if isinstance(p, Tensor) else p
    sample = source.random(tuple(input.shape)) < probabilities
    return _tied(sample.astype(input.dtype.np), [input])


# ----- in-place sampling methods ------------------------------------------------------------
def _refill(tensor, name, sample):
    """Write ``sample`` (an array of the tensor's shape) into ``tensor`` in place. Inside a
    graph the new value has a zero gradient to the old one, as ``fill_``."""
    def replaced(x):
        values = make_tensor(np.asarray(sample, dtype=x.dtype.np))
        return ew.where(ew.constant(True, dtypes.bool_), values, x)
    return inplace(tensor, replaced, name=name)


def _floating_target(name, tensor):
    if tensor._data is None:
        raise TypeError(f"{name}: the tensor is symbolic and has no values to overwrite")
    if not tensor.dtype.is_floating_point:
        raise UnsupportedDTypeError(f"{name}: samples a floating-point dtype, got {tensor.dtype}")


def _bound(name, what, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {what} must be a number, got {value!r} of type "
                        f"{type(value).__name__}")
    return float(value)


def uniform_(self, *bounds, generator=None, **named):
    """Fill with samples of U(from, to) (default [0, 1)): ``x.uniform_(-1, 1)``."""
    if len(bounds) > 2:
        raise TypeError(f"uniform_: takes from and to, got {len(bounds)} values")
    low, high = (list(bounds) + [named.pop("from", 0.0), named.pop("to", 1.0)][len(bounds):])[:2]
    if named:
        raise TypeError(f"uniform_: unexpected keyword arguments {sorted(named)}")
    low, high = _bound("uniform_", "from", low), _bound("uniform_", "to", high)
    _floating_target("uniform_", self)
    if low > high:
        raise ArgumentError(f"uniform_: expects a [from, to) range, got from={low} > to={high}")
    source = numpy_generator(generator, "uniform_")
    draw = self.dtype.np if self.dtype.itemsize >= 4 else np.float32
    sample = source.random(tuple(self.shape), dtype=draw) * (high - low) + low
    return _refill(self, "uniform_", sample)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with samples of N(mean, std^2)."""
    mean, std = _bound("normal_", "mean", mean), _bound("normal_", "std", std)
    _floating_target("normal_", self)
    if std < 0:
        raise ArgumentError(f"normal_: expected std >= 0, got std={std}")
    source = numpy_generator(generator, "normal_")
    return _refill(self, "normal_", _draw_normal(source, tuple(self.shape), self.dtype.np) * std
                   + mean)


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples, 1 with probability ``p`` (a number, or a tensor that broadcasts to
    this one's shape); any dtype, as PyTorch."""
    if self._data is None:
        raise TypeError("bernoulli_: the tensor is symbolic and has no values to overwrite")
    if isinstance(p, Tensor):
        _value("bernoulli_", "p", p)
        broadcast_shapes("bernoulli_", tuple(self.shape), tuple(p.shape))
        probabilities = p._data
    else:
        probabilities = _bound("bernoulli_", "p", p)
    _check_probability("bernoulli_", p)
    source = numpy_generator(generator, "bernoulli_")
    return _refill(self, "bernoulli_", source.random(tuple(self.shape)) < probabilities)


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with samples of the exponential distribution of rate ``lambd``."""
    lambd = _bound("exponential_", "lambd", lambd)
    _floating_target("exponential_", self)
    if lambd <= 0:
        raise ArgumentError(f"exponential_: expects lambd > 0.0, got lambd={lambd}")
    source = numpy_generator(generator, "exponential_")
    return _refill(self, "exponential_", source.standard_exponential(tuple(self.shape)) / lambd)


def _bernoulli_method(self, p=None, *, generator=None):
    return bernoulli(self, p, generator=generator)


Tensor.uniform_ = uniform_
Tensor.normal_ = normal_
Tensor.bernoulli_ = bernoulli_
Tensor.exponential_ = exponential_
Tensor.bernoulli = _bernoulli_method
