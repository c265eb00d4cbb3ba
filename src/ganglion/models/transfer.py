"""Transfer learning: named-layer feature extraction and freezing helpers.

    from ganglion.models import resnet18, feature_extractor, freeze, module_names
    model = resnet18()
    model.fc = ganglion.nn.Linear(512, 4)            # a new head, as in torchvision
    freeze(model, except_=("fc",))                   # only fc keeps requires_grad=True
    model.eval()                                     # batch norm uses (and keeps) its running stats
    feats = feature_extractor(model, ["layer1", "layer4", "avgpool"])
    out = feats(x)                                   # {"layer1": ..., "layer4": ..., "avgpool": ...}

``feature_extractor`` is the counterpart of torchvision's ``create_feature_extractor``, built on
forward hooks instead of an FX graph: the nodes are the names of sub-modules (those that
``module_names(model)`` lists, the names ``named_modules`` gives), not of arbitrary operations
inside a ``forward``. The wrapped model's ``forward`` runs as written and stops (through an
internal exception) as soon as every requested output has been recorded, so the layers after the
last requested one are not computed. A sub-module called more than once in one forward records
its first call (torchvision would name the later calls ``relu_1``, ``relu_2`` ...).

Optimizers skip parameters whose ``grad`` is None, so frozen parameters (``requires_grad=False``,
no gradient) are left untouched by ``step()`` even when they are in the optimizer; passing only
``[p for p in model.parameters() if p.requires_grad]`` is the same and saves the bookkeeping.
Freezing does not change batch norm: its running statistics are updated in training mode whatever
``requires_grad`` says, as in PyTorch. Call ``model.eval()`` (or ``eval()`` on the frozen
backbone alone) to use and keep the stored statistics.
"""
from collections import OrderedDict

from ganglion import nn

__all__ = ["feature_extractor", "FeatureExtractor", "module_names", "freeze", "unfreeze"]


def module_names(model):
    """The names of ``model``'s sub-modules in definition order (``named_modules`` without the
    root): what ``feature_extractor`` accepts as ``return_nodes``, like torchvision's
    ``get_graph_node_names`` restricted to modules."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"module_names: expected a ganglion.nn.Module, got {type(model).__name__}")
    return [name for name, _ in model.named_modules() if name]


def _nodes(model, return_nodes):
    if isinstance(return_nodes, str):
        return_nodes = [return_nodes]
    if isinstance(return_nodes, dict):
        pairs = list(return_nodes.items())
    else:
        try:
            pairs = [(name, name) for name in return_nodes]
        except TypeError:
            raise TypeError("feature_extractor: return_nodes must be a list of sub-module names or "
                            f"a dict {{name: output_name}}, got {type(return_nodes).__name__}"
                            ) from None
    if not pairs:
        raise ValueError("feature_extractor: return_nodes is empty; give at least one of "
                         f"{module_names(model)}")
    valid = module_names(model)
    known = set(valid)
    for name, out_name in pairs:
        if not isinstance(name, str) or name not in known:
            raise ValueError(f"feature_extractor: node {name!r} is not present in model "
                             f"{type(model).__name__}; valid names (module_names(model)): {valid}")
        if not isinstance(out_name, str):
            raise TypeError(f"feature_extractor: the output name for {name!r} must be a str, got "
                            f"{type(out_name).__name__}")
    outs = [out for _, out in pairs]
    if len(set(outs)) != len(outs):
        raise ValueError(f"feature_extractor: output names repeat: {outs}")
    if len({name for name, _ in pairs}) != len(pairs):
        raise ValueError(f"feature_extractor: node names repeat: {[n for n, _ in pairs]}")
    return OrderedDict(pairs)


class _Done(Exception):
    """Raised from the last needed hook to stop the wrapped forward early."""


class FeatureExtractor(nn.Module):
    """Wraps ``model``; ``forward(x)`` returns an OrderedDict {output_name: activation} of the
    named sub-modules' outputs, in the order of ``return_nodes``. The model is held as the
    sub-module ``model`` (so state_dict keys get the prefix ``model.``); ``train()``/``eval()``
    and the parameters are the model's own, shared, not copied."""

    def __init__(self, model, return_nodes):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError("feature_extractor: expected a ganglion.nn.Module, got "
                            f"{type(model).__name__}")
        self.model = model
        object.__setattr__(self, "return_nodes", _nodes(model, return_nodes))

    def forward(self, *args, **kwargs):
        found = {}
        handles = []
        wanted = len(self.return_nodes)

        def hook_for(out_name):
            def hook(module, inputs, output):
                if out_name not in found:
                    found[out_name] = output
                    if len(found) == wanted:
                        raise _Done
            return hook

        try:
            for name, out_name in self.return_nodes.items():
                module = self.model.get_submodule(name)
                handles.append(module.register_forward_hook(hook_for(out_name)))
            self.model(*args, **kwargs)
        except _Done:
            pass
        finally:
            for handle in handles:
                handle.remove()
        missing = [name for name, out in self.return_nodes.items() if out not in found]
        if missing:
            raise RuntimeError(f"feature_extractor: the sub-module(s) {missing} of "
                               f"{type(self.model).__name__} were not called by its forward, so "
                               "they have no output to return")
        return OrderedDict((out, found[out]) for out in self.return_nodes.values())

    def extra_repr(self):
        return f"return_nodes={dict(self.return_nodes)}"


def feature_extractor(model, return_nodes):
    """torchvision's ``create_feature_extractor`` for ganglion models: a Module whose forward
    returns {output_name: activation} of the sub-modules named in ``return_nodes`` (a list of
    names from ``module_names(model)``, or a dict {name: output_name}). Unknown names raise a
    ValueError listing the valid ones."""
    return FeatureExtractor(model, return_nodes)


def _select(model, names, fn_name, arg):
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    params = list(model.named_parameters())
    modules = set(module_names(model))
    chosen = []
    for name in names:
        hits = [(n, p) for n, p in params if n == name or n.startswith(name + ".")]
        if not hits and name not in modules:
            raise ValueError(f"{fn_name}: {arg} names {name!r}, which is neither a sub-module nor "
                             f"a parameter of {type(model).__name__}; sub-modules: "
                             f"{module_names(model)}")
        chosen.extend(hits)
    return params, {id(p) for _, p in chosen}


def freeze(model, except_=()):
    """Set ``requires_grad=False`` on every parameter of ``model`` except those of the
    sub-modules (or parameters) named in ``except_`` (e.g. ``("fc",)``), which get
    ``requires_grad=True``. Returns ``model``. Batch-norm statistics are not frozen by this:
    call ``model.eval()`` for that (see the module docstring)."""
    params, keep = _select(model, except_, "freeze", "except_")
    for _, p in params:
        p.requires_grad_(id(p) in keep)
    return model


def unfreeze(model, only=None):
    """Set ``requires_grad=True`` on every parameter of ``model`` (``only=None``) or on those of
    the named sub-modules or parameters (e.g. ``only=("layer4", "fc")`` to fine-tune the last
    stage and the head); the others keep their current flag. Returns ``model``."""
    if only is None:
        return model.requires_grad_(True)
    params, chosen = _select(model, only, "unfreeze", "only")
    for _, p in params:
        if id(p) in chosen:
            p.requires_grad_(True)
    return model
