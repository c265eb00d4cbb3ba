"""TensorFlow 1's graph API on ganglion: ``import ganglion.compat.tensorflow as tf``.

Programs written for TF 1 (define the graph with ``tf.placeholder``, ``tf.get_variable`` /
``tf.layers``, a loss and ``tf.train.*Optimizer(...).minimize(loss)``, then
``sess.run(train_op, feed_dict=...)`` in a ``tf.Session``) run with only their import line
changed. It is a thin layer on ganglion's symbolic engine: TF tensors are symbolic ganglion
tensors, variables are shared variables, and ``Session.run`` compiles one ``ganglion.function``
per (fetches, fed placeholders) signature, with the fetched ops' variable updates as its
``updates``. Reference: the TF 1.15 Python API (names, argument names and defaults, NHWC
layout, variable names). Modules: ``graph`` (graphs, scopes, variables, ops, initializers),
``session``, ``ops`` (math and array ops), ``nn``, ``layers``, ``losses``, ``train``,
``summary``.
"""
from ganglion.compat.tensorflow import layers, losses, nn, summary, train
from ganglion.compat.tensorflow.graph import *  # noqa: F401,F403
from ganglion.compat.tensorflow.graph import bool_ as bool  # noqa: A001 (tf.bool)
from ganglion.compat.tensorflow.graph import initialize_all_variables, local_variables
from ganglion.compat.tensorflow.ops import *  # noqa: F401,F403
from ganglion.compat.tensorflow.ops import truncated_normal_op as truncated_normal
from ganglion.compat.tensorflow.session import InteractiveSession, Session, get_default_session

__version__ = "1.15.0"  # the API version followed (code may check tf.__version__)

Tensor = __import__("ganglion").Tensor
newaxis = None
__all__ = ["layers", "losses", "nn", "summary", "train", "Session", "InteractiveSession",
           "get_default_session", "bool", "truncated_normal", "Tensor", "newaxis",
           "initialize_all_variables", "local_variables"]
