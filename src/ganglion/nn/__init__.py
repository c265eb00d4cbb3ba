"""ganglion.nn: modules, layers, losses, initializers and the functional API (PyTorch's names)."""
from ganglion.nn import functional, init, parallel, utils  # noqa: F401
from ganglion.nn.containers import *  # noqa: F401,F403
from ganglion.nn.layers.activation import *  # noqa: F401,F403
from ganglion.nn.layers.conv import *  # noqa: F401,F403
from ganglion.nn.layers.dropout import *  # noqa: F401,F403
from ganglion.nn.layers.embedding import *  # noqa: F401,F403
from ganglion.nn.layers.linear import *  # noqa: F401,F403
from ganglion.nn.layers.loss import *  # noqa: F401,F403
from ganglion.nn.layers.normalization import *  # noqa: F401,F403
from ganglion.nn.layers.padding import *  # noqa: F401,F403
from ganglion.nn.layers.pixel_shuffle import *  # noqa: F401,F403
from ganglion.nn.layers.pooling import *  # noqa: F401,F403
from ganglion.nn.layers.recurrent import *  # noqa: F401,F403
from ganglion.nn.layers.sync_batchnorm import SyncBatchNorm  # noqa: F401
from ganglion.nn.layers.transformer import *  # noqa: F401,F403
from ganglion.nn.module import IncompatibleKeys, Module, Parameter  # noqa: F401
from ganglion.nn.parallel import DataParallel  # noqa: F401
from ganglion.nn.summary import *  # noqa: F401,F403
