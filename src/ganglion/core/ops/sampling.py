"""multinomial (issue 13): indices drawn from the categorical distributions in the rows of a
probability (or weight) tensor, with or without replacement, from the global generator or a
``generator=``. The draws are vectorised over rows: with replacement by inverse-CDF lookup in
one ``searchsorted``; without, by the Gumbel-top-k trick (the k largest of log p + Gumbel
noise are a sample of k distinct categories). The values are not PyTorch's random stream.
"""
import numpy as np

from ganglion.core.errors import ArgumentError, ShapeError
from ganglion.core.op import format_shape
from ganglion.core.random import numpy_generator
from ganglion.core.tensor import Tensor, make_tensor

__all__ = ["multinomial"]


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``num_samples`` category indices per row of ``input`` (1-D or 2-D non-negative weights,
    not necessarily summing to 1): an int64 tensor of shape (num_samples,) or
    (rows, num_samples)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: expected a Tensor of probabilities, got "
                        f"{type(input).__name__}")
    if input.ndim not in (1, 2):
        raise ShapeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape "
                         f"{format_shape(input.shape)}")
    if not input.dtype.is_floating_point:
        raise ArgumentError(f"multinomial only supports floating-point dtypes for input, got: "
                            f"{input.dtype}")
    if isinstance(num_samples, bool) or not hasattr(type(num_samples), "__index__"):
        raise TypeError(f"multinomial: num_samples must be an integer, got {num_samples!r}")
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise ArgumentError(f"multinomial: cannot sample n_sample <= 0 samples, got "
                            f"num_samples={num_samples}")
    rng = numpy_generator(generator, "multinomial")
    probs = np.asarray(input.detach().numpy(), dtype=np.float64)
    rows = probs.reshape(1, -1) if probs.ndim == 1 else probs
    categories = rows.shape[1]
    if not replacement and num_samples > categories:
        raise ArgumentError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                            f"without replacement (num_samples={num_samples}, {categories} "
                            "categories)")
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise ArgumentError("multinomial: probability tensor contains either `inf`, `nan` or "
                            "element < 0")
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise ArgumentError("multinomial: invalid multinomial distribution (sum of probabilities "
                            f"<= 0 in row {int(np.argmax(totals <= 0))})")
    if replacement:
        cdf = np.cumsum(rows / totals[:, None], axis=1)
        cdf[:, -1] = 1.0  # rounding must not leave a gap above the last category
        # One searchsorted over all rows: row r's CDF is shifted into [r, r + 1].
        offsets = np.arange(len(rows))[:, None]
        u = rng.random((len(rows), num_samples)) + offsets
        flat = np.searchsorted((cdf + offsets).ravel(), u.ravel(), side="right")
        samples = flat.reshape(len(rows), num_samples) - offsets * categories
        # A u that rounds onto a row's upper edge would land in the next row's first bin.
        samples = np.minimum(samples, categories - 1)
    else:
        if ((rows > 0).sum(axis=1) < num_samples).any():
            raise ArgumentError("multinomial: invalid multinomial distribution (with "
                                "replacement=False, not enough non-negative category to sample)")
        with np.errstate(divide="ignore"):
            keys = np.log(rows) + rng.gumbel(size=rows.shape)
        samples = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    samples = samples.astype(np.int64)
    return make_tensor(samples[0] if probs.ndim == 1 else samples)
