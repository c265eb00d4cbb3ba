"""Input checks for the zoo's fixed-size networks, made at the top of ``forward``.

A network whose classifier is sized for one input (LeNet-5's 16*5*5 = 400 features come from
28x28 digits) fails deep inside on any other input, with a message about a layer the user never
wrote (``Linear(400, 120): expected input with last dimension 400, got shape (1, 576)``). These
checks look only at the shape (O(1), no data) and name the model, the input it expects and the
input it got, like ``lenet5 expects input of shape (N, 1, 28, 28) ..., got (8, 1, 32, 32)``.
Dimensions that are not plain integers (None or a symbolic size in a traced graph) are unknown
and accepted.
"""
import math

from ganglion.core.errors import ShapeError
from ganglion.core.op import format_shape

__all__ = ["check_image_input", "check_feature_input"]


def _known(dim):
    return isinstance(dim, int)


def _matches(actual, expected):
    return not _known(actual) or actual == expected


def check_image_input(model_name, x, shape, note=""):
    """Refuse ``x`` unless it is a batch (N, C, H, W) with (C, H, W) == ``shape``."""
    actual = tuple(x.shape)
    if len(actual) == 4 and all(_matches(a, e) for a, e in zip(actual[1:], shape)):
        return
    expected = format_shape(("N",) + tuple(shape))
    hint = ""
    if len(actual) == len(shape) and all(_matches(a, e) for a, e in zip(actual, shape)):
        hint = " (one image without its batch dimension: use x.unsqueeze(0))"
    raise ShapeError(f"{model_name} expects input of shape {expected}{note}, got "
                     f"{format_shape(actual)}{hint}")


def check_feature_input(model_name, x, in_features, note=""):
    """Refuse ``x`` unless it is a batch (N, ...) of examples with ``in_features`` values each
    (each example is flattened, so images may be given as they are)."""
    actual = tuple(x.shape)
    per_example = actual[1:]
    if len(actual) >= 2 and (not all(map(_known, per_example))
                             or math.prod(per_example) == in_features):
        return
    if len(actual) < 2:
        got = (f"{format_shape(actual)} (one example without its batch dimension: use "
               f"x.unsqueeze(0))" if actual == (in_features,) else format_shape(actual))
    else:
        got = f"{format_shape(actual)}, {math.prod(per_example)} values per example"
    raise ShapeError(f"{model_name} expects input of shape (N, {in_features}) or (N, ...) with "
                     f"{in_features} values per example{note}, got {got}")
