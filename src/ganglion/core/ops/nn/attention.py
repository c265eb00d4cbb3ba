"""The fused ops of attention: ``AttentionWeights`` (``softmax(q @ k^T * scale + mask)`` over the
keys as one op), ``SoftmaxGrad`` (its softmax's gradient in three passes) and ``ScaleLikeQuery``
(the default 1/sqrt(E) scale where E is known only at run time). The user functions
(``scaled_dot_product_attention``, ``multi_head_attention_forward``) are in
``ganglion.nn.functional.attention``, which says how masks and fully masked rows behave.
"""
import math

from ganglion.core import dtypes
from ganglion.core.op import Op, ShapeError, apply, broadcast_shapes, format_shape
from ganglion.core.ops.elementwise import cast
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.shape import sum_to, transpose
from ganglion.core.tensor import TensorType

__all__ = ["AttentionWeights", "SoftmaxGrad", "ScaleLikeQuery", "attention_weights",
           "default_scale"]


# (L, S) -> the causal mask's blocked positions, shared by every call of those sizes.
_CAUSAL_CACHE = {}


def _causal_blocked(backend, length, source_length):
    """A read-only (L, S) bool array, True above the diagonal (the keys a query may not see);
    cached, since a model asks for the same few sizes on every step."""
    key = (length, source_length)
    blocked = _CAUSAL_CACHE.get(key)
    if blocked is None:
        xp = backend.xp
        blocked = xp.triu(xp.ones((length, source_length), dtype=bool), 1)
        blocked.flags.writeable = False
        if len(_CAUSAL_CACHE) > 64:
            _CAUSAL_CACHE.clear()
        _CAUSAL_CACHE[key] = blocked
    return blocked


class AttentionWeights(Op):
    """``softmax(q @ k^T * scale + mask, dim=-1)`` for q (..., L, E), k (..., S, E) and an
    optional mask broadcastable to (..., L, S): bool (True takes part) or float (added).

    ``causal`` masks the keys after each query's position (top-left aligned, as PyTorch).
    ``safe``: a row with every key masked gives zeros (PyTorch's scaled_dot_product_attention)
    instead of NaN (PyTorch's softmax, which MultiheadAttention uses when it returns weights).
    """
    __slots__ = ("scale", "causal", "safe", "mask_is_bool")
    saves_output = True
    returns_new_array = True

    def __init__(self, scale, causal, safe, mask_is_bool=False):
        self.scale = scale
        self.causal = causal
        self.safe = safe
        self.mask_is_bool = mask_is_bool

    @property
    def name(self):
        return "scaled_dot_product_attention"

    def forward(self, backend, q, k, mask=None):
        xp = backend.xp
        if q.dtype != k.dtype:
            raise TypeError("attention: dtypes differ")  # infer() writes the message
        scores = backend.matmul(q, xp.swapaxes(k, -1, -2))
        scale = self.scale if self.scale is not None else default_scale(q.shape[-1])
        scores *= q.dtype.type(scale)
        if mask is not None:
            if self.mask_is_bool:
                xp.copyto(scores, -xp.inf, where=~mask)
            else:
                scores += mask
        if self.causal:
            xp.copyto(scores, -xp.inf, where=_causal_blocked(backend, *scores.shape[-2:]))
        if scores.shape[-1] == 0 or scores.size == 0:
            return scores
        # The stable softmax, in place on the scores.
        row_max = scores.max(axis=-1, keepdims=True)
        if self.safe:
            # A fully masked row has max -inf: subtracting 0 instead keeps exp(-inf) = 0
            # (rather than exp(nan)), and its zero sum is divided as 1 below.
            row_max[row_max == -xp.inf] = 0
            scores -= row_max
        else:
            # A fully masked row gives NaN, as PyTorch's softmax does, without NumPy's warning.
            with xp.errstate(invalid="ignore"):
                scores -= row_max
        xp.exp(scores, out=scores)
        # Row sums by einsum: ndarray.sum over a short last axis runs its loop once per row,
        # about 3x slower at the benchmark's 64 keys. Then one reciprocal per row, not a
        # division per weight.
        total = _row_sums(xp, scores)
        if self.safe:
            total[total == 0] = 1
        scores *= xp.reciprocal(total, out=total)
        return scores

    def vjp(self, out, grad, needs):
        q, k = out._inputs[0], out._inputs[1]
        # The softmax gradient (one op), then the scores' gradient through q @ k^T * scale.
        scores_grad = apply(_SOFTMAX_GRAD, grad, out)
        grad_q = grad_k = grad_mask = None
        if needs[0]:
            grad_q = sum_to(_scaled(matmul(scores_grad, k), self.scale, q), q)
        if needs[1]:
            grad_k = sum_to(_scaled(matmul(transpose(scores_grad, -1, -2), q), self.scale, q), k)
        if len(out._inputs) > 2 and needs[2] and not self.mask_is_bool:
            grad_mask = sum_to(scores_grad, out._inputs[2])
        return (grad_q, grad_k, grad_mask)[:len(out._inputs)]

    def infer(self, q, k, mask=None):
        if q.dtype is not k.dtype:
            raise TypeError(f"scaled_dot_product_attention: query and key dtypes differ "
                            f"({q.dtype.name} and {k.dtype.name})")
        if len(q.shape) < 2 or len(k.shape) < 2:
            raise ShapeError(f"scaled_dot_product_attention: query and key must have at least 2 "
                             f"dimensions, got shapes {format_shape(q.shape)} and "
                             f"{format_shape(k.shape)}")
        if None not in (q.shape[-1], k.shape[-1]) and q.shape[-1] != k.shape[-1]:
            raise ShapeError(f"scaled_dot_product_attention: query {format_shape(q.shape)} and "
                             f"key {format_shape(k.shape)} must have the same last dimension "
                             f"(the embedding size)")
        batch = broadcast_shapes("scaled_dot_product_attention", q.shape[:-2], k.shape[:-2])
        shape = batch + (q.shape[-2], k.shape[-2])
        if mask is not None:
            # The mask is applied in place: it may not add dims to the scores (nor may PyTorch's).
            grown = broadcast_shapes("scaled_dot_product_attention (attn_mask)", shape, mask.shape)
            if len(grown) != len(shape) or any(g != d and None not in (g, d)
                                               for g, d in zip(grown, shape)):
                raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape "
                                 f"{format_shape(mask.shape)} must broadcast to the scores' "
                                 f"shape {format_shape(shape)} (..., L, S)")
        return TensorType(q.dtype, shape)


def default_scale(size):
    """1/sqrt(E); 1 for E = 0 (the scores are then all 0, and PyTorch's weights uniform)."""
    return 1.0 / math.sqrt(size) if size else 1.0


def _row_sums(xp, x, y=None):
    """sum(x, -1) (or sum(x * y, -1), without the product's array), keeping the last dim."""
    if y is None:
        return xp.einsum("...i->...", x)[..., None]
    return xp.einsum("...i,...i->...", x, y)[..., None]


class SoftmaxGrad(Op):
    """``weights * (grad - sum(grad * weights, -1))``: the gradient of softmax's input given the
    gradient ``grad`` of its output ``weights``, in three passes and one new array (as four
    separate ops it made four passes and three arrays)."""
    __slots__ = ()
    returns_new_array = True

    def forward(self, backend, grad, weights):
        xp = backend.xp
        out = xp.subtract(grad, _row_sums(xp, grad, weights))
        out *= weights
        return out

    def vjp(self, out, upstream, needs):
        grad, weights = out._inputs
        # d/d grad is the same map applied to upstream; d/d weights by the product rule.
        grad_grad = apply(self, upstream, weights) if needs[0] else None
        grad_weights = None
        if needs[1]:
            grad_weights = (upstream * (grad - (grad * weights).sum(axis=-1, keepdims=True))
                            - grad * (upstream * weights).sum(axis=-1, keepdims=True))
        return grad_grad, grad_weights

    def infer(self, grad, weights):
        return TensorType(weights.dtype, broadcast_shapes("softmax gradient", grad.shape,
                                                          weights.shape))


_SOFTMAX_GRAD = SoftmaxGrad()


def attention_weights(query, key, attn_mask=None, scale=None, is_causal=False, safe=True):
    """The (..., L, S) attention probabilities of ``query`` over ``key`` (see AttentionWeights)."""
    if scale is None and query.tensor_type.shape[-1] is not None:
        scale = default_scale(query.shape[-1])
    # Left None (worked out from the query when the op runs) where a graph's E is not known yet.
    scale = None if scale is None else float(scale)
    if attn_mask is None:
        return apply(AttentionWeights(scale, bool(is_causal), safe), query, key)
    is_bool = attn_mask.dtype is dtypes.bool_
    if not is_bool and attn_mask.dtype is not query.dtype:
        attn_mask = cast(attn_mask, query.dtype)
    return apply(AttentionWeights(scale, bool(is_causal), safe, is_bool), query, key, attn_mask)


class ScaleLikeQuery(Op):
    """``x / sqrt(E)`` with E the last dimension of ``query``, known only at run time (the
    default scale of attention in a graph built on placeholders of unknown shape)."""
    __slots__ = ()
    saves_inputs = False
    returns_new_array = True

    def forward(self, backend, x, query):
        return x * x.dtype.type(default_scale(query.shape[-1]))

    def vjp(self, out, grad, needs):
        return apply(self, grad, out._inputs[1]), None

    def infer(self, x, query):
        return TensorType(x.dtype, x.shape)


def _scaled(x, scale, query):
    return x * scale if scale is not None else apply(ScaleLikeQuery(), x, query)
