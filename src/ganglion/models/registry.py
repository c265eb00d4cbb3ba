"""The model registry: build a network by name (``get_model('lenet5')``), list the names.

A model registers its builder with the shape of one input example (what ``summary`` and the
command line need to know) and a one-line description:

    @register_model("lenet5", input_shape=(1, 28, 28), description="LeNet-5 for 28x28 digits")
    def lenet5(num_classes=10): ...
"""
import difflib
from dataclasses import dataclass

__all__ = ["register_model", "get_model", "list_models", "model_info", "ModelInfo"]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    builder: object
    input_shape: tuple
    description: str


_REGISTRY = {}


def register_model(name, input_shape, description=""):
    """Decorator: register ``builder(**kwargs) -> Module`` under ``name``."""
    def decorate(builder):
        if name in _REGISTRY:
            raise ValueError(f"register_model: a model named {name!r} is already registered")
        _REGISTRY[name] = ModelInfo(name, builder, tuple(input_shape), description)
        return builder
    return decorate


def model_info(name):
    """The registry entry of ``name``; an unknown name is a ValueError listing the known ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; known models: "
                         f"{', '.join(list_models())}{did_you_mean(name, list_models())}"
                         ) from None


def did_you_mean(name, known):
    """'; did you mean 'lenet5'?' for the names in ``known`` close to ``name`` (a typo, a
    missing depth such as 'resnet'), else ''. The list of known names is long; this puts the
    likely one where the eye finds it."""
    if not isinstance(name, str):
        return ""
    typed = name.lower()
    close = difflib.get_close_matches(typed, list(known), n=3, cutoff=0.6)
    close += [k for k in sorted(known) if k.startswith(typed) and k not in close][:3 - len(close)]
    return f"; did you mean {' or '.join(map(repr, close))}?" if close else ""


def get_model(name, **kwargs):
    """A new instance of the model registered as ``name``, built with ``kwargs``."""
    return model_info(name).builder(**kwargs)


def list_models():
    """The registered model names, sorted."""
    return sorted(_REGISTRY)
