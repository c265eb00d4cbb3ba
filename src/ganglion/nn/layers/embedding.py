"""Embedding: a lookup table of learned vectors, indexed by integer ids (words, items);
EmbeddingBag: the sum, mean or max of each bag of such vectors."""
from ganglion.core.op import format_shape
from ganglion.core.random import generator
from ganglion.core.tensor import Tensor, make_tensor
from ganglion.nn.functional.recurrent import embedding, embedding_bag
from ganglion.nn.layers.arguments import count
from ganglion.nn.module import Module, Parameter

__all__ = ["Embedding", "EmbeddingBag"]


class Embedding(Module):
    """``num_embeddings`` vectors of size ``embedding_dim``, initialized from N(0, 1).

    The row ``padding_idx`` (if given) starts at zero and receives no gradient, so it stays a
    fixed "no token" vector, as in PyTorch. ``_weight`` supplies the table instead of a random
    one (its shape must be (num_embeddings, embedding_dim)); ``_freeze`` leaves it without
    gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, _weight=None,
                 _freeze=False):
        super().__init__()
        name = f"Embedding({num_embeddings}, {embedding_dim})"
        num_embeddings = count(name, "num_embeddings", num_embeddings)
        embedding_dim = count(name, "embedding_dim", embedding_dim)
        padding_idx = _padding_index(name, padding_idx, num_embeddings)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = padding_idx
        if _weight is None:
            array = generator().standard_normal((num_embeddings, embedding_dim)).astype("float32")
            if padding_idx is not None:
                array[padding_idx] = 0
            weight = Parameter(make_tensor(array), requires_grad=not _freeze)
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"{name}: expected a weight of shape "
                                 f"{format_shape((num_embeddings, embedding_dim))}, got "
                                 f"{format_shape(_weight.shape)}")
            weight = Parameter(_weight, requires_grad=not _freeze)
        self.weight = weight

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None):
        """An Embedding holding ``embeddings`` (a 2-D tensor, shared, not copied); with
        ``freeze`` the table gets no gradient."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            shape = format_shape(embeddings.shape) if hasattr(embeddings, "shape") else "?"
            raise ValueError(f"Embedding.from_pretrained: expected a 2-D tensor, got {shape}")
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze)

    def forward(self, input):
        if input.dtype.category != 1:
            raise TypeError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): expected "
                            f"integer indices, got {input.dtype}")
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"


class EmbeddingBag(Module):
    """``num_embeddings`` vectors of size ``embedding_dim`` (from N(0, 1)), reduced per bag by
    ``mode`` ('mean', 'sum' or 'max'): ``forward(input, offsets=None, per_sample_weights=None)``
    takes 2-D input (one bag per row) or 1-D input with ``offsets``, and returns (bags, dim).

    The row ``padding_idx`` starts at zero and is left out of every bag (see
    ``F.embedding_bag``). ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` are accepted with
    their defaults only."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        name = f"EmbeddingBag({num_embeddings}, {embedding_dim})"
        num_embeddings = count(name, "num_embeddings", num_embeddings)
        embedding_dim = count(name, "embedding_dim", embedding_dim)
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"{name}: mode has to be one of 'sum', 'mean' or 'max', got {mode!r}")
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise NotImplementedError(f"{name}: max_norm, scale_grad_by_freq and sparse are not "
                                      "supported (the gradient is always dense)")
        padding_idx = _padding_index(name, padding_idx, num_embeddings)
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        self.padding_idx = padding_idx
        if _weight is None:
            array = generator().standard_normal((num_embeddings, embedding_dim)).astype("float32")
            if padding_idx is not None:
                array[padding_idx] = 0
            self.weight = Parameter(make_tensor(array))
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"{name}: expected a weight of shape "
                                 f"{format_shape((num_embeddings, embedding_dim))}, got "
                                 f"{format_shape(_weight.shape)}")
            self.weight = Parameter(_weight)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag holding ``embeddings`` (2-D, shared); ``freeze`` stops its gradient."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            shape = format_shape(embeddings.shape) if hasattr(embeddings, "shape") else "?"
            raise ValueError(f"EmbeddingBag.from_pretrained: expected a 2-D tensor, got {shape}")
        rows, dim = embeddings.shape
        bag = cls(rows, dim, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                  include_last_offset, padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, mode=self.mode,
                             per_sample_weights=per_sample_weights,
                             include_last_offset=self.include_last_offset,
                             padding_idx=self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}, mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text


def _padding_index(name, padding_idx, num_embeddings):
    """``padding_idx`` in [0, num_embeddings) (negatives count from the end), or None."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"{name}: padding_idx must be in [-{num_embeddings}, {num_embeddings}), "
                         f"got {padding_idx}")
    return padding_idx % num_embeddings
