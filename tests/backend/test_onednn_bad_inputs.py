"""Bad inputs to the oneDNN provider's kernels (backend/onednn): every array whose shape the
cached plan does not come from is checked before oneDNN reads it (a wrong size would be read
past its end), and unsupported dtypes are refused, each with a message naming the kernel, the
shape or dtype given and the one expected."""
import numpy as np
import pytest
from bad_inputs import BadInput, bad_input_test

from ganglion.backend.onednn import library

pytestmark = pytest.mark.skipif(not library.available(),
                                reason=f"oneDNN unavailable: {library.unavailable_reason()}")

f32 = np.float32
X = np.ones((2, 3, 8, 8), f32)
W = np.ones((4, 3, 3, 3), f32)
CONV = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
MAX = ((2, 2), (2, 2), (0, 0), (1, 1), False)
AVG = ((2, 2), (2, 2), (0, 0), False, True, None)


def conv():
    from ganglion.backend.onednn import conv
    return conv


def pool():
    from ganglion.backend.onednn import pool
    return pool


def batchnorm():
    from ganglion.backend.onednn import batchnorm
    return batchnorm


def matmul():
    from ganglion.backend.onednn import matmul
    return matmul


CASES = [
    BadInput("conv forward bias size", lambda: conv().conv2d_forward(X, W, np.ones(5, f32), *CONV),
             ValueError, ["onednn.conv2d_forward", "bias", "(5,)", "(4,)"]),
    BadInput("conv forward float64", lambda: conv().conv2d_forward(X.astype(np.float64), W, None, *CONV),
             ValueError, ["onednn.conv2d_forward", "unsupported", "float64"]),
    BadInput("conv input gradient shape",
             lambda: conv().conv2d_backward_input(np.ones((2, 4, 7, 8), f32), W, (8, 8), *CONV),
             ValueError, ["onednn.conv2d_backward_input", "(2, 4, 7, 8)", "(8, 8)"]),
    BadInput("conv weight gradient shape",
             lambda: conv().conv2d_backward_weight(X, np.ones((2, 4, 8, 7), f32), (3, 3), *CONV),
             ValueError, ["onednn.conv2d_backward_weight", "(2, 4, 8, 7)", "(2, 4, 8, 8)"]),
    BadInput("max scatter argmax shape",
             lambda: pool().max_pool2d_scatter(np.ones((2, 3, 4, 4), f32), np.zeros((2, 3, 4, 3), np.int8),
                                               X.shape, *MAX),
             ValueError, ["onednn.max_pool2d_scatter", "argmax", "(2, 3, 4, 3)", "(2, 3, 4, 4)"]),
    BadInput("max scatter gradient shape",
             lambda: pool().max_pool2d_scatter(np.ones((2, 3, 4, 5), f32), np.zeros((2, 3, 4, 4), np.int8),
                                               X.shape, *MAX),
             ValueError, ["onednn.max_pool2d_scatter", "gradient", "(2, 3, 4, 5)"]),
    BadInput("max scatter argmax dtype",
             lambda: pool().max_pool2d_scatter(np.ones((2, 3, 4, 4), f32), np.zeros((2, 3, 4, 4), np.int32),
                                               X.shape, *MAX),
             ValueError, ["onednn.max_pool2d_scatter", "int32", "int8"]),
    BadInput("avg backward gradient shape",
             lambda: pool().avg_pool2d_backward(np.ones((2, 3, 3, 4), f32), X.shape, *AVG),
             ValueError, ["onednn.avg_pool2d_backward", "(2, 3, 3, 4)", "(2, 3, 4, 4)"]),
    BadInput("batch norm gradient shape",
             lambda: batchnorm().batch_norm_backward(np.ones((2, 3, 8, 7), f32), X, np.zeros(3, f32),
                                                     np.ones(3, f32), None, 1e-5, True),
             ValueError, ["onednn.batch_norm_backward", "(2, 3, 8, 7)", "(2, 3, 8, 8)"]),
    BadInput("batch norm weight size",
             lambda: batchnorm().batch_norm_forward_training(X, np.ones(4, f32), None, 1e-5),
             ValueError, ["onednn.batch_norm_forward_training", "weight", "(4,)", "(3,)"]),
    BadInput("batch normalize scale size",
             lambda: batchnorm().batch_normalize(X, np.ones(2, f32), np.zeros(3, f32)),
             ValueError, ["onednn.batch_normalize", "scale", "(2,)", "(3,)"]),
    BadInput("matmul inner sizes", lambda: matmul().matmul(np.ones((2, 3), f32), np.ones((4, 5), f32)),
             ValueError, ["onednn.matmul", "(2, 3)", "(4, 5)"]),
]
test_bad_input = bad_input_test(CASES)
