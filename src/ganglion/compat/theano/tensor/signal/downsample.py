"""Theano's older pooling module, ``theano.tensor.signal.downsample`` (Theano 0.7/0.8; the
2015 DeepLearningTutorials' LeNet imports it): ``max_pool_2d(input, ds, ignore_border, st,
padding, mode)`` is ``pool.pool_2d`` under its old argument names."""
from ganglion.compat.theano.tensor.signal.pool import pool_2d

__all__ = ["max_pool_2d", "max_pool2D"]


def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
    """Pool windows ``ds`` moved by ``st`` (default ``ds``); see ``pool.pool_2d``."""
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)


max_pool2D = max_pool_2d  # the name of Theano 0.6
