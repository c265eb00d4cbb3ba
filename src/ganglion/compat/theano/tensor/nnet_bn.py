"""Theano's batch normalization functions, ``T.nnet.bn``.

Reference: Theano 1.0's ``theano/tensor/nnet/bn.py``. ``batch_normalization`` applies given
statistics; ``batch_normalization_train`` computes them over ``axes`` ('per-activation': the
batch axis, 'spatial': batch, rows and cols) and gives the new running averages (the variance
in them unbiased, as Theano's); ``batch_normalization_test`` uses running statistics.
"""
import ganglion as _gn

__all__ = ["batch_normalization", "batch_normalization_train", "batch_normalization_test"]


def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """(inputs - mean) * (gamma / std) + beta, broadcast elementwise."""
    if mode not in ("low_mem", "high_mem"):
        raise ValueError(f"batch_normalization: mode must be 'low_mem' or 'high_mem', got {mode!r}")
    return (inputs - mean) * (gamma / std) + beta


def _axes(axes, ndim):
    if axes == "per-activation":
        return (0,)
    if axes == "spatial":
        return (0,) + tuple(range(2, ndim))
    if isinstance(axes, (list, tuple)) and all(isinstance(a, int) for a in axes):
        return tuple(a % ndim for a in axes)
    raise ValueError(f"batch_normalization: axes must be 'per-activation', 'spatial' or a tuple of "
                     f"ints, got {axes!r}")


def batch_normalization_train(inputs, gamma, beta, axes="per-activation", epsilon=1e-4,
                              running_average_factor=0.1, running_mean=None, running_var=None):
    """(out, mean, invstd) with the batch's statistics over ``axes`` (kept as size-1 dims), and
    the new running mean and variance when ``running_mean`` / ``running_var`` are given."""
    axes = _axes(axes, inputs.ndim)
    mean = _gn.mean(inputs, axis=axes, keepdims=True)
    var = _gn.var(inputs, axis=axes, ddof=0, keepdims=True)
    invstd = 1.0 / _gn.sqrt(var + epsilon)
    out = (inputs - mean) * invstd * gamma + beta
    results = [out, mean, invstd]
    factor = running_average_factor
    if running_mean is not None:
        results.append(running_mean * (1 - factor) + mean * factor)
    if running_var is not None:
        count = 1
        for a in axes:
            size = inputs.tensor_type.shape[a]
            count = count * (size if size is not None else inputs.shape[a])
        results.append(running_var * (1 - factor) + var * (count / (count - 1.0) * factor))
    return tuple(results)


def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation", epsilon=1e-4):
    """(inputs - mean) * gamma / sqrt(var + epsilon) + beta, with given (running) statistics."""
    _axes(axes, inputs.ndim)
    return (inputs - mean) * (gamma / _gn.sqrt(var + epsilon)) + beta
