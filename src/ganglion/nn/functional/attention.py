"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward`` (PyTorch's
torch.nn.functional names and semantics).

The scores and their softmax are one op, ``AttentionWeights`` (``core/ops/nn/attention.py``):
``softmax(q @ k^T * scale + mask)`` over the keys, with the mask applied in place on the scores
(a bool mask by one masked copy, a float mask by one addition, the causal mask by a cached
triangle) instead of as separate ops, each of which would make a pass over (and a copy of) the (..., L, S) scores. Its vjp is the
softmax gradient followed by two matmuls. Dropout and the product with the values stay ordinary
ops (``dropout`` and ``matmul``), so the weights can also be returned (``need_weights``).

Rows whose keys are all masked: ``scaled_dot_product_attention`` gives zeros there (and zero
gradients), as PyTorch 2.x does on every CPU path; ``MultiheadAttention(need_weights=True)``
gives NaN there, as PyTorch's explicit softmax does. The op's ``safe`` flag chooses.
"""
import math

from ganglion.core import dtypes
from ganglion.core.errors import DTypeError, IndexRangeError, ShapeError
from ganglion.core.op import format_shape
from ganglion.core.creation import zeros
from ganglion.core.ops.elementwise import cast, where
from ganglion.core.ops.linalg import matmul
from ganglion.core.ops.reduce import mean
from ganglion.core.ops.shape import (concatenate, expand, pad, permute, reshape, squeeze,
                                     transpose, unsqueeze)
# The ops are imported under their old home's names too (AttentionWeights, SoftmaxGrad, ...).
from ganglion.core.ops.nn.attention import (AttentionWeights, ScaleLikeQuery, SoftmaxGrad,  # noqa: F401
                                           attention_weights)
from ganglion.core.tensor import Tensor
from ganglion.nn.functional.dropout import dropout
from ganglion.nn.functional.linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


class AttentionShapeError(ShapeError, AssertionError):
    """A query, key, value or mask of the wrong rank or size for multi-head attention: PyTorch
    raises AssertionError there, ganglion's shape errors are RuntimeError and ValueError."""


class AttentionMaskTypeError(DTypeError, AssertionError):
    """A mask that is neither bool nor float (PyTorch raises AssertionError there)."""


def _check_attention_inputs(query, key, value, attn_mask, dropout_p, is_causal):
    who = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"{who}: expected query, key and value to be at least 2-dimensional, "
                           f"got shapes {format_shape(query.shape)}, {format_shape(key.shape)} "
                           f"and {format_shape(value.shape)}")
    if not (query.dtype is key.dtype is value.dtype) or not query.dtype.is_floating_point:
        raise RuntimeError(f"{who}: expected query, key and value to have the same floating "
                           f"dtype, got {query.dtype.name}, {key.dtype.name} and "
                           f"{value.dtype.name}")
    if query.shape[-1] != key.shape[-1] and None not in (query.shape[-1], key.shape[-1]):
        raise RuntimeError(f"{who}: query {format_shape(query.shape)} and key "
                           f"{format_shape(key.shape)} must have the same last dimension")
    if key.shape[-2] != value.shape[-2] and None not in (key.shape[-2], value.shape[-2]):
        raise RuntimeError(f"{who}: key {format_shape(key.shape)} and value "
                           f"{format_shape(value.shape)} must have the same number of keys "
                           f"(dimension -2)")
    if attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"{who}: attn_mask must be a Tensor or None, got "
                            f"{type(attn_mask).__name__}")
        if attn_mask.dtype is not dtypes.bool_ and attn_mask.dtype.name not in ("float32",
                                                                                 "float64"):
            raise RuntimeError(f"{who}: expected attn_mask dtype to be bool or float32/float64 "
                               f"(or the query's dtype), got {attn_mask.dtype.name}")
        if attn_mask.ndim < 2:
            # PyTorch reads the mask's dim -2 (the queries), so it needs one.
            raise IndexRangeError(f"{who}: attn_mask must have at least 2 dimensions (queries, "
                                  f"keys), got shape {format_shape(attn_mask.shape)}")
        if is_causal:
            raise RuntimeError(f"{who}: explicit attn_mask should not be set when is_causal=True")
    if not isinstance(dropout_p, (int, float)) or isinstance(dropout_p, bool):
        raise TypeError(f"{who}: dropout_p must be a number, got {dropout_p!r}")
    if dropout_p > 1:
        raise RuntimeError(f"{who}: dropout probability has to be between 0 and 1, but got "
                           f"{dropout_p}")


def _repeat_heads(x, repeats):
    """repeat_interleave along dim -3: (..., H, S, E) -> (..., H * repeats, S, E)."""
    if repeats == 1:
        return x
    shape = tuple(x.shape)
    expanded = expand(unsqueeze(x, -3), *(shape[:-2] + (repeats,) + shape[-2:]))
    return reshape(expanded, shape[:-3] + (shape[-3] * repeats,) + shape[-2:])


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """``softmax(query @ key^T * scale + mask) @ value`` for query (..., L, E), key (..., S, E),
    value (..., S, Ev): (..., L, Ev), as PyTorch's.

    ``attn_mask`` broadcasts to (..., L, S): bool (True = takes part) or float (added to the
    scores). ``is_causal`` masks the keys after each query (no attn_mask then). ``scale``
    defaults to 1/sqrt(E). ``dropout_p`` > 0 drops attention weights whenever given (this
    function has no training flag: pass 0.0 in evaluation, as in PyTorch). ``enable_gqa``: key
    and value may have fewer heads (dim -3) than query, each shared by a group of query heads.
    A query whose keys are all masked gets zeros, as in PyTorch.
    """
    _check_attention_inputs(query, key, value, attn_mask, dropout_p, is_causal)
    if enable_gqa and query.ndim >= 3:
        heads, key_heads = query.shape[-3], key.shape[-3]
        if key_heads == 0 or heads % key_heads or value.shape[-3] != key_heads:
            raise RuntimeError(f"scaled_dot_product_attention: with enable_gqa the number of "
                               f"heads in key and value ({key_heads} and {value.shape[-3]}) must "
                               f"be equal and divide the number of heads in query ({heads})")
        key = _repeat_heads(key, heads // key_heads)
        value = _repeat_heads(value, heads // key_heads)
    weights = attention_weights(query, key, attn_mask, scale, is_causal, safe=True)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, True, who="scaled_dot_product_attention")
    return matmul(weights, value)


# ----- multi-head attention ---------------------------------------------------------------

def additive_mask(mask, name, dtype, who):
    """A bool mask (True = masked out, PyTorch's convention for MultiheadAttention and the
    Transformer layers) as a float mask (-inf where True, 0 elsewhere); a float mask as it is."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{who}: {name} must be a Tensor or None, got {type(mask).__name__}")
    if mask.dtype is dtypes.bool_:
        return cast(where(mask, -math.inf, 0.0), dtype)
    if not mask.dtype.is_floating_point:
        raise AttentionMaskTypeError(f"{who}: only bool and floating types of {name} are "
                                     f"supported, got {mask.dtype.name}")
    return mask if mask.dtype is dtype else cast(mask, dtype)


def _split_heads(x, heads):
    """(N, S, E) -> (N, heads, S, E // heads), a view."""
    n, s, e = x.shape
    return permute(reshape(x, (n, s, heads, e // heads)), (0, 2, 1, 3))


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p,
                                 out_proj_weight, out_proj_bias, training=True,
                                 key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights=True, is_causal=False,
                                 batch_first=False, who="multi_head_attention_forward"):
    """PyTorch's multi-head attention on (L, N, E) query and (S, N, E) key/value (or (N, L, E)
    with ``batch_first``, a ganglion extra that spares two transposes; or unbatched (L, E)).
    Returns (output, weights or None). Masks: bool True = masked out, float = added."""
    if static_k is not None or static_v is not None:
        raise NotImplementedError(f"{who}: static_k and static_v are not supported")
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads, who)
    if not batched:
        query, key, value = unsqueeze(query, 0), unsqueeze(key, 0), unsqueeze(value, 0)
        if key_padding_mask is not None:
            key_padding_mask = unsqueeze(key_padding_mask, 0)
    elif not batch_first:
        # (L, N, E) -> (N, L, E), keeping the identity that marks self-attention.
        same_kv = key is value
        same_qk = query is key
        query = transpose(query, 0, 1)
        key = query if same_qk else transpose(key, 0, 1)
        value = key if same_kv else transpose(value, 0, 1)
    bsz, tgt_len, embed_dim = query.shape
    src_len = key.shape[1]
    if embed_dim != embed_dim_to_check:
        raise AttentionShapeError(f"{who}: expected the query's embedding dimension to be "
                                  f"{embed_dim_to_check}, got {embed_dim} (query shape "
                                  f"{format_shape(query.shape)})")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AttentionShapeError(f"{who}: embed_dim {embed_dim} is not divisible by num_heads "
                                  f"{num_heads}")
    if key.shape[0] != value.shape[0] or key.shape[1] != value.shape[1]:
        raise AttentionShapeError(f"{who}: key {format_shape(key.shape)} and value "
                                  f"{format_shape(value.shape)} must have the same batch and "
                                  f"sequence sizes")
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{who}: need attn_mask if specifying the is_causal hint. You may use "
                           "the Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    dtype = query.dtype
    key_padding_mask = additive_mask(key_padding_mask, "key_padding_mask", dtype, who)
    attn_mask = additive_mask(attn_mask, "attn_mask", dtype, who)

    # In-projection.
    if not use_separate_proj_weight:
        if key.shape[-1] != embed_dim or value.shape[-1] != embed_dim:
            raise AttentionShapeError(f"{who}: key {format_shape(key.shape)} and value "
                                      f"{format_shape(value.shape)} must have the embedding "
                                      f"dimension {embed_dim} of the query")
        if query is key and key is value:
            q, k, v = _project_packed(query, in_proj_weight, in_proj_bias, embed_dim, num_heads)
        else:
            b_q, b_k, b_v = ((None, None, None) if in_proj_bias is None else
                             (in_proj_bias[:embed_dim], in_proj_bias[embed_dim:2 * embed_dim],
                              in_proj_bias[2 * embed_dim:]))
            q = linear(query, in_proj_weight[:embed_dim], b_q)
            k = linear(key, in_proj_weight[embed_dim:2 * embed_dim], b_k)
            v = linear(value, in_proj_weight[2 * embed_dim:], b_v)
            q = _split_heads(q, num_heads)
    else:
        b_q, b_k, b_v = ((None, None, None) if in_proj_bias is None else
                         (in_proj_bias[:embed_dim], in_proj_bias[embed_dim:2 * embed_dim],
                          in_proj_bias[2 * embed_dim:]))
        q = _split_heads(linear(query, q_proj_weight, b_q), num_heads)
        k = linear(key, k_proj_weight, b_k)
        v = linear(value, v_proj_weight, b_v)

    # Masks as (N or 1, heads or 1, L, S), to broadcast over the scores.
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise ShapeError(f"{who}: the shape of the 2D attn_mask is "
                                 f"{format_shape(attn_mask.shape)}, but should be "
                                 f"({tgt_len}, {src_len})")
            attn_mask = reshape(attn_mask, (1, 1, tgt_len, src_len))
        else:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise ShapeError(f"{who}: the shape of the 3D attn_mask is "
                                 f"{format_shape(attn_mask.shape)}, but should be "
                                 f"({bsz * num_heads}, {tgt_len}, {src_len})")
            attn_mask = reshape(attn_mask, (bsz, num_heads, tgt_len, src_len))
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AttentionShapeError(
                f"{who}: expected key_padding_mask of shape ({bsz}, {src_len}) "
                f"(batch, source length), got "
                f"{format_shape(key_padding_mask.shape)}")
        key_padding_mask = reshape(key_padding_mask, (bsz, 1, 1, src_len))

    if k.ndim == 3:  # the packed self-attention projection splits its heads itself
        k, v = _split_heads(k, num_heads), _split_heads(v, num_heads)
    if bias_k is not None or bias_v is not None:
        if bias_k is None or bias_v is None:
            raise RuntimeError(f"{who}: bias_k and bias_v must be given together")
        # One more key and value per sequence, the same for every batch entry.
        k = concatenate([k, expand(reshape(bias_k, (1, num_heads, 1, head_dim)), bsz, num_heads,
                                   1, head_dim)], 2)
        v = concatenate([v, expand(reshape(bias_v, (1, num_heads, 1, head_dim)), bsz, num_heads,
                                   1, head_dim)], 2)
        attn_mask = _pad_keys(attn_mask)
        key_padding_mask = _pad_keys(key_padding_mask)
    if add_zero_attn:
        zero_key = zeros(bsz, num_heads, 1, head_dim, dtype=dtype)
        k = concatenate([k, zero_key], 2)
        v = concatenate([v, zero_key], 2)
        attn_mask = _pad_keys(attn_mask)
        key_padding_mask = _pad_keys(key_padding_mask)

    if key_padding_mask is not None:
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    p = dropout_p if training else 0.0

    # Attention: explicit weights (NaN for fully masked rows, as PyTorch's softmax) when they
    # are returned, else scaled_dot_product_attention's (zeros there).
    weights = attention_weights(q, k, attn_mask, None, False, safe=not need_weights)
    if p > 0:
        weights = dropout(weights, p, True, who=who)
    out = matmul(weights, v)  # (N, heads, L, head_dim)
    out = reshape(permute(out, (0, 2, 1, 3)), (bsz, tgt_len, embed_dim))
    out = linear(out, out_proj_weight, out_proj_bias)
    if not batched:
        out = squeeze(out, 0)
    elif not batch_first:
        out = transpose(out, 0, 1)
    if not need_weights:
        return out, None
    if average_attn_weights:
        weights = mean(weights, axis=1)
    if not batched:
        weights = squeeze(weights, 0)
    return out, weights


def _pad_keys(mask):
    """One more key (a bias or zero-attention key) that takes part: a 0 column."""
    if mask is None:
        return None
    return pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, 1)])


def _project_packed(x, weight, bias, embed_dim, heads):
    """Self-attention's in-projection: (N, L, E) -> q, k, v of (N, heads, L, D).

    Three products with row blocks of the packed weight rather than one with all of it: the
    gradient of a block of the (3E, E) weight is small, while splitting one (N, L, 3E) result
    into q, k and v would give each piece a gradient of the whole result's size (mostly zeros)
    to add up."""
    pieces = []
    for i in range(3):
        rows = slice(i * embed_dim, (i + 1) * embed_dim)
        projected = linear(x, weight[rows], None if bias is None else bias[rows])
        pieces.append(_split_heads(projected, heads))
    return pieces


def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads, who):
    """Whether the input is batched (3-D query); RuntimeError for ranks PyTorch refuses."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: {name} must be a Tensor, got {type(t).__name__}")
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AttentionShapeError(
                f"{who}: for batched (3-D) query, expected key and value to be "
                f"3-D, got shapes {format_shape(key.shape)} and "
                f"{format_shape(value.shape)}")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AttentionShapeError(
                f"{who}: for batched (3-D) query, expected key_padding_mask to be "
                f"None or 2-D, got shape {format_shape(key_padding_mask.shape)}")
        batched = True
    elif query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AttentionShapeError(
                f"{who}: for unbatched (2-D) query, expected key and value to be "
                f"2-D, got shapes {format_shape(key.shape)} and "
                f"{format_shape(value.shape)}")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AttentionShapeError(
                f"{who}: for unbatched (2-D) query, expected key_padding_mask to "
                f"be None or 1-D, got shape {format_shape(key_padding_mask.shape)}")
        batched = False
        if attn_mask is not None and attn_mask.ndim == 3 and tuple(attn_mask.shape) != (
                num_heads, query.shape[0], key.shape[0]):
            raise AttentionShapeError(f"{who}: expected attn_mask of shape ({num_heads}, "
                                      f"{query.shape[0]}, {key.shape[0]}), got "
                                      f"{format_shape(attn_mask.shape)}")
    else:
        raise AttentionShapeError(f"{who}: query should be unbatched 2-D or batched 3-D, got shape "
                                  f"{format_shape(query.shape)}")
    if attn_mask is not None and attn_mask.ndim not in (2, 3):
        raise AttentionShapeError(f"{who}: expected attn_mask to be None, 2-D or 3-D, got shape "
                                  f"{format_shape(attn_mask.shape)}")
    return batched
