"""Attention layers: MultiheadAttention and the Transformer (encoder and decoder layers and
stacks, and the whole encoder-decoder model), with PyTorch's constructor arguments, parameter
and submodule names, so that ``load_state_dict(torch_module.state_dict())`` loads strictly.

Masks follow PyTorch's convention for these layers: a bool mask is True where attention is NOT
allowed (padding, future positions), a float mask is added to the scores (-inf blocks).

Differences from PyTorch: there is no inference fast path (PyTorch's eval-mode kernels give the
same values to float rounding, except at padded query positions of an encoder given a
``src_key_padding_mask``, which PyTorch's nested-tensor path returns as zeros, while here they
hold whatever the layers compute there, as in PyTorch's training mode).
"""
import copy

from ganglion.backend import current as backend
from ganglion.core import dtypes
from ganglion.core.creation import empty
from ganglion.core.device import check_available as check_device
from ganglion.core.dtypes import as_dtype, get_default_dtype
from ganglion.core.errors import DTypeError
from ganglion.core.tensor import make_tensor
from ganglion.nn import init
from ganglion.nn.containers import ModuleList
from ganglion.nn.functional.activation import gelu, relu
from ganglion.nn.functional.attention import (AttentionShapeError, additive_mask,
                                              multi_head_attention_forward)
from ganglion.nn.layers.arguments import count
from ganglion.nn.layers.dropout import Dropout
from ganglion.nn.layers.linear import Linear
from ganglion.nn.layers.normalization import LayerNorm
from ganglion.nn.module import Module, Parameter

__all__ = ["MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder",
           "TransformerDecoderLayer", "TransformerDecoder", "Transformer"]


def _parameter(shape, dtype, device):
    if device is not None:
        check_device(device)
    dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
    return Parameter(empty(*shape, dtype=dtype))


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al.): ``num_heads`` heads of size embed_dim / num_heads.

    Parameters as in PyTorch: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) stacking
    the query, key and value projections, or ``q_proj_weight``, ``k_proj_weight`` (E, kdim) and
    ``v_proj_weight`` (E, vdim) when kdim or vdim differ from embed_dim; ``out_proj`` (a
    Linear); ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        name = f"MultiheadAttention({embed_dim}, {num_heads})"
        embed_dim = count(name, "embed_dim", embed_dim, 1)
        num_heads = count(name, "num_heads", num_heads, 1)
        if embed_dim % num_heads:
            raise AttentionShapeError(f"{name}: embed_dim must be divisible by num_heads, got "
                                      f"embed_dim={embed_dim} and num_heads={num_heads}")
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not \
                0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a probability between 0 and 1, got "
                             f"{dropout!r}")
        self.embed_dim = embed_dim
        self.kdim = count(name, "kdim", kdim, 1) if kdim is not None else embed_dim
        self.vdim = count(name, "vdim", vdim, 1) if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = _parameter((embed_dim, embed_dim), dtype, device)
            self.k_proj_weight = _parameter((embed_dim, self.kdim), dtype, device)
            self.v_proj_weight = _parameter((embed_dim, self.vdim), dtype, device)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = _parameter((3 * embed_dim, embed_dim), dtype, device)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = _parameter((3 * embed_dim,), dtype, device)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = _parameter((1, 1, embed_dim), dtype, device)
            self.bias_v = _parameter((1, 1, embed_dim), dtype, device)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        # PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal bias_k/bias_v.
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        """(output, weights): output (L, N, E) ((N, L, E) with batch_first, (L, E) unbatched);
        weights (N, L, S) averaged over heads, (N, heads, L, S) otherwise, or None without
        ``need_weights``. ``key_padding_mask`` (N, S): True (or -inf) marks padding keys;
        ``attn_mask`` (L, S) or (N * heads, L, S): True (or -inf) blocks a query-key pair.
        ``is_causal`` is a hint that attn_mask is the causal mask (which must be given)."""
        name = f"MultiheadAttention({self.embed_dim}, {self.num_heads})"
        separate = not self._qkv_same_embed_dim
        return multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal,
            batch_first=self.batch_first, who=name)

    def extra_repr(self):
        return ""


def _activation(activation, who):
    """A string ('relu' or 'gelu', as PyTorch) or a callable."""
    if isinstance(activation, str):
        if activation == "relu":
            return relu
        if activation == "gelu":
            return gelu
        raise RuntimeError(f"{who}: activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(f"{who}: activation must be 'relu', 'gelu' or a callable, got "
                        f"{activation!r}")
    return activation


def _layer_arguments(who, d_model, nhead, dim_feedforward, dropout):
    count(who, "d_model", d_model, 1)
    count(who, "nhead", nhead, 1)
    count(who, "dim_feedforward", dim_feedforward, 1)
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(f"{who}: dropout must be a probability between 0 and 1, got {dropout!r}")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network (linear1, activation, dropout, linear2), each
    in a residual branch with dropout and LayerNorm: after the branch (``norm_first=False``,
    the original Transformer) or before it (``norm_first=True``)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        who = f"TransformerEncoderLayer({d_model}, {nhead})"
        _layer_arguments(who, d_model, nhead, dim_feedforward, dropout)
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        _to_dtype((self.norm1, self.norm2), dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation, who)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention to the encoder's output (``memory``), then a
    feed-forward network; each in a residual branch with dropout and LayerNorm."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        who = f"TransformerDecoderLayer({d_model}, {nhead})"
        _layer_arguments(who, d_model, nhead, dim_feedforward, dropout)
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **factory)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, **factory)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        _to_dtype((self.norm1, self.norm2, self.norm3), dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, who)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                    memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                           memory_is_causal))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _to_dtype(modules, dtype):
    if dtype is not None:
        for module in modules:
            module.to(as_dtype(dtype))


def _clones(module, n, who):
    n = count(who, "num_layers", n)
    if not isinstance(module, Module):
        raise TypeError(f"{who}: expected a layer (an nn.Module) to copy, got "
                        f"{type(module).__name__}")
    # Deep copies, as PyTorch: each layer gets its own parameters, starting equal.
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _sequence_length(x, batch_first):
    if x.ndim == 2:
        return x.shape[0]
    return x.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask, is_causal, size):
    """PyTorch's rule: is_causal=None means 'find out': True when the mask equals the square
    subsequent mask of the sequence length (compared after bool masks become float)."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    if tuple(mask.shape) != (size, size):
        return False
    causal = Transformer.generate_square_subsequent_mask(size, dtype=mask.dtype)
    return bool((mask == causal).all())


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (as ``layers``), then ``norm`` if given.
    ``enable_nested_tensor`` is accepted for PyTorch's signature; ganglion has no nested
    tensors, and ``mask_check`` has no fast path to guard."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        who = "TransformerEncoder"
        src_key_padding_mask = additive_mask(src_key_padding_mask, "src_key_padding_mask",
                                             src.dtype, who)
        mask = additive_mask(mask, "mask", src.dtype, who)
        first = self.layers[0] if len(self.layers) else None
        batch_first = first.self_attn.batch_first if first is not None and hasattr(
            first, "self_attn") else False
        is_causal = _detect_is_causal_mask(mask, is_causal, _sequence_length(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal,
                           src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` (as ``layers``), then ``norm`` if given."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        first = self.layers[0] if len(self.layers) else None
        batch_first = first.self_attn.batch_first if first is not None and hasattr(
            first, "self_attn") else False
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal,
                                               _sequence_length(tgt, batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """The encoder-decoder Transformer ("Attention Is All You Need"): ``encoder`` (a
    TransformerEncoder with a final LayerNorm) reads ``src``, ``decoder`` (a TransformerDecoder
    with a final LayerNorm) reads ``tgt`` and the encoder's output. Parameters with more than
    one dimension start Xavier-uniform, as in PyTorch."""

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation=relu, custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        layer_arguments = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                           batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            _to_dtype((encoder_norm,), dtype)
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*layer_arguments, **factory), num_encoder_layers,
                encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            _to_dtype((decoder_norm,), dtype)
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*layer_arguments, **factory), num_decoder_layers,
                decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batched = src.ndim == 3
        batch_axis = 0 if self.batch_first else 1
        if batched and (tgt.ndim != 3 or src.shape[batch_axis] != tgt.shape[batch_axis]):
            raise RuntimeError(f"Transformer: the batch number of src and tgt must be equal, got "
                               f"shapes {tuple(src.shape)} and {tuple(tgt.shape)} "
                               f"(batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"Transformer: the feature number of src and tgt must be equal to "
                               f"d_model={self.d_model}, got shapes {tuple(src.shape)} and "
                               f"{tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The (sz, sz) mask of a decoder's self-attention: -inf above the diagonal (a position
        may not attend to later ones), 0 elsewhere; with dtype=bool, True above the diagonal
        (as PyTorch's, which fills -inf converted to the dtype)."""
        who = "Transformer.generate_square_subsequent_mask"
        size = count(who, "sz", sz)
        if device is not None:
            check_device(device)
        dtype = as_dtype(dtype) if dtype is not None else get_default_dtype()
        xp = backend.xp
        if dtype is dtypes.bool_:
            return make_tensor(xp.triu(xp.ones((size, size), dtype=bool), 1))
        if not dtype.is_floating_point:
            raise DTypeError(f"{who}: the mask holds -inf, which an {dtype.name} tensor cannot "
                             f"hold; use a float dtype (or bool)")
        return make_tensor(xp.triu(xp.full((size, size), -xp.inf, dtype=dtype.np), 1))

    def _reset_parameters(self):
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
