"""ganglion.nn.functional: the function form of every layer (PyTorch's torch.nn.functional)."""
from ganglion.nn.functional.activation import *  # noqa: F401,F403
from ganglion.nn.functional.conv import *  # noqa: F401,F403
from ganglion.nn.functional.dropout import *  # noqa: F401,F403
from ganglion.nn.functional.linear import *  # noqa: F401,F403
from ganglion.nn.functional.loss import *  # noqa: F401,F403
from ganglion.nn.functional.normalization import *  # noqa: F401,F403
from ganglion.nn.functional.padding import *  # noqa: F401,F403
from ganglion.nn.functional.pixel_shuffle import *  # noqa: F401,F403
from ganglion.nn.functional.pooling import *  # noqa: F401,F403
from ganglion.nn.functional.recurrent import *  # noqa: F401,F403
from ganglion.nn.functional.attention import *  # noqa: F401,F403
