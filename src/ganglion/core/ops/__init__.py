"""The op library: every differentiable computation ganglion knows, eager and symbolic alike."""
from ganglion.core.ops.conv import *  # noqa: F401,F403
from ganglion.core.ops.elementwise import *  # noqa: F401,F403
from ganglion.core.ops.indexing import *  # noqa: F401,F403
from ganglion.core.ops.linalg import *  # noqa: F401,F403
from ganglion.core.ops.pool import *  # noqa: F401,F403
from ganglion.core.ops.reduce import *  # noqa: F401,F403
from ganglion.core.ops.shape import *  # noqa: F401,F403
from ganglion.core.ops.shape import broadcast_to, flatten, repeat, stack, tile, transpose  # noqa: F401
from ganglion.core.ops.softmax import *  # noqa: F401,F403
from ganglion.core.ops.unary import *  # noqa: F401,F403
from ganglion.core.ops.split import split, chunk  # noqa: F401
from ganglion.core.ops.recurrent import lstm_sequence  # noqa: F401
# Issue 13: the rest of PyTorch's math and tensor functions.
from ganglion.core.ops.norms import *  # noqa: F401,F403
from ganglion.core.ops.pointwise import *  # noqa: F401,F403
from ganglion.core.ops.rearrange import *  # noqa: F401,F403
from ganglion.core.ops.sampling import *  # noqa: F401,F403
from ganglion.core.ops.scatter import *  # noqa: F401,F403
from ganglion.core.ops.sorting import *  # noqa: F401,F403
from ganglion.core.ops.triangular import *  # noqa: F401,F403
