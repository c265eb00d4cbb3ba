"""Theano's ``T.nnet``: sigmoid, softmax, relu and the cross-entropies, as ganglion expressions
(the compiler turns sigmoid + binary cross-entropy and log(softmax) into their stable forms)."""
import ganglion as gn

__all__ = ["sigmoid", "softmax", "relu", "softplus", "binary_crossentropy",
           "categorical_crossentropy", "ultra_fast_sigmoid", "hard_sigmoid"]


def sigmoid(x):
    return gn.sigmoid(x)


ultra_fast_sigmoid = hard_sigmoid = sigmoid


def softmax(x, axis=-1):
    return gn.softmax(x, axis=axis)


def relu(x, alpha=0):
    """max(x, 0), or a leaky relu with slope ``alpha`` below zero (Theano's signature)."""
    return gn.relu(x) if alpha == 0 else gn.leaky_relu(x, alpha)


def softplus(x):
    return gn.softplus(x)


def binary_crossentropy(output, target):
    """-(target log(output) + (1 - target) log(1 - output)), elementwise."""
    return -(target * gn.log(output) + (1 - target) * gn.log(1 - output))


def categorical_crossentropy(coding_dist, true_dist):
    """Per-row -log(coding_dist[i, true_dist[i]]) for integer labels, or
    -sum(true_dist * log(coding_dist), axis=1) for one-hot (or soft) targets."""
    if true_dist.dtype.is_floating_point:
        return -gn.sum(true_dist * gn.log(coding_dist), axis=1)
    # gather, not take_along_axis: a label of -1 is out of range (as in Theano), not the last class.
    picked = gn.gather(coding_dist, 1, gn.unsqueeze(true_dist.long(), 1))
    return -gn.log(gn.squeeze(picked, 1))


# T.nnet.conv2d, T.nnet.conv.conv2d (the older module) and T.nnet.bn, importable by their
# Theano module paths too (``from theano.tensor.nnet.bn import batch_normalization``).
import sys as _sys  # noqa: E402

from ganglion.compat.theano.tensor import nnet_bn as bn, nnet_conv as conv  # noqa: E402
from ganglion.compat.theano.tensor.nnet_conv import conv2d  # noqa: E402

_sys.modules[__name__ + ".bn"] = bn
_sys.modules[__name__ + ".conv"] = conv
__all__ += ["conv2d", "bn", "conv"]
