"""ganglion: a deep-learning framework with eager (PyTorch-style) and symbolic (Theano-style)
code on one engine. This module lists the public API of the core."""
from ganglion import config  # noqa: F401  (settings: gn.config.kernels, gn.config(fusion=False), ...)
from ganglion.core import methods as _methods  # noqa: F401  (binds Tensor's operators first)
from ganglion.core.autograd import grad
from ganglion.core.creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full,
                                    full_like, linspace, ones, ones_like, rand, rand_like, randint,
                                    randn, randn_like, randperm, tensor, zeros, zeros_like)
from ganglion.core.device import device, get_default_device, set_default_device
from ganglion.core.dlpack import from_dlpack
from ganglion.core.dtypes import (DType, bool_, finfo, float16, float32, float64, get_default_dtype,
                                  iinfo, int8, int16, int32, int64, set_default_dtype, uint8)
from ganglion.core.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ganglion.core.ops import (abs, add, all, amax, amin, any, argmax, argmin, broadcast_to, ceil,
                               chunk, clamp, clone, concatenate, cos, cumsum, div, dot, einsum, elu,
                               eq, erf, exp, expand, expm1, flatten, flip, floor, floor_divide,
                               gather, ge, gelu, gt, hardtanh, index_select, le, leaky_relu, log,
                               log1p, log_softmax, logical_and, logical_not, logical_or,
                               logical_xor, logsigmoid, logsumexp, lt, matmul, max, maximum, mean,
                               min, minimum, mul, ne, neg, nonzero, one_hot, outer, pad, permute,
                               pow, prod, relu, relu6, remainder, repeat, reshape, round, rsqrt,
                               scatter_add, selu, sigmoid, sign, sin, softmax, softplus, split,
                               sqrt, square, squeeze, stack, std, sub, sum, take_along_axis, tanh,
                               tile, transpose, unsqueeze, var, where)
from ganglion.core.ops import (acos, acosh, addmm, allclose, arccos, arccosh, arcsin, arcsinh,
                               arctan, arctan2, arctanh, argsort, argwhere, asin, asinh, atan,
                               atan2, atanh, baddbmm, bincount, bitwise_and, bitwise_left_shift,
                               bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor, bmm,
                               cdist, clamp_max, clamp_min, cosh, cummax, cummin, cumprod, diag,
                               diag_embed, diagonal, equal, histc, index_add, index_copy,
                               index_fill, isclose, isfinite, isinf, isnan, isneginf, isposinf,
                               kthvalue, lerp, masked_fill, masked_select, median, meshgrid, mm,
                               msort, multinomial, narrow, roll, rot90, scatter, scatter_reduce,
                               sinh, sort, t, take, tan, topk, trace, tril, triu, unique)
from ganglion.core.ops.norms import tensor_norm as norm
from ganglion.core.legacy_types import (BoolTensor, ByteTensor, CharTensor, DoubleTensor,
                                        FloatTensor, HalfTensor, IntTensor, LongTensor,
                                        ShortTensor, is_complex, is_floating_point,
                                        set_default_tensor_type, typename)
from ganglion.core.random import (Generator, default_generator, get_rng_state, initial_seed,
                                  manual_seed, seed, set_rng_state)
from ganglion.core.random_functions import bernoulli, normal
from ganglion.core.tensor import Size, Tensor, is_tensor, numel

bool = bool_  # noqa: A001  (ganglion.bool, as torch.bool)
# PyTorch's second names for dtypes: the same objects (torch.float is torch.float32).
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
cat = concatenate
clip = clamp
subtract = sub
multiply = mul
divide = div
true_divide = div
swapaxes = transpose
power = pow
absolute = abs

# PyTorch's out= keyword on its elementwise, reduction and joining functions (core/ops/out.py).
from ganglion.core.ops.out import OUT_FUNCTIONS as _OUT_FUNCTIONS, with_out as _with_out  # noqa: E402
for _name in _OUT_FUNCTIONS:
    globals()[_name] = _with_out(globals()[_name], _name)

__version__ = "0.1.0"
from ganglion.symbolic import *  # noqa: E402,F401,F403  (define-and-run API: function, shared, In, placeholders, pp, jit)
from ganglion import nn, optim  # noqa: E402,F401
from ganglion import autograd  # noqa: E402,F401  (torch.autograd: Function, grad, functional, ...)
from ganglion import data, metrics  # noqa: E402,F401
from ganglion import distributions  # noqa: E402,F401  (torch.distributions)
from ganglion import accelerator, backends, cuda, mps  # noqa: E402,F401  (device queries: CPU only)
from ganglion import utils  # noqa: E402,F401  (torch.utils.data: the same objects as ganglion.data)
from ganglion.io import load, load_torch, save  # noqa: E402,F401  (safetensors + JSON; torch .pt weights-only)
import ganglion.train  # noqa: E402,F401  (fit loop, callbacks)
from ganglion import linalg  # noqa: E402,F401  (torch.linalg: norms, inv, det, solve, ...)
