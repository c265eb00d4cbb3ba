"""Tracing a model for export: its symbolic graph, and the module that applied each op.

The model runs once on placeholders inside a ``Trace`` (as ``ganglion.jit`` traces), in eval
mode, so that dropout disappears and batch norm reads its running statistics. Forward hooks on
every submodule keep a stack of the modules being called; each symbolic node the trace records
is labelled with the innermost one, ``features.3 (MyOdd)``, which the exporter's errors name.
"""
from ganglion.core.tensor import Tensor
from ganglion.symbolic.jit import _flatten
from ganglion.symbolic.trace import Trace

__all__ = ["trace_model"]


def trace_model(model, placeholders):
    """(the model's output tensors, {id(symbolic tensor): module label}) of ``model`` called
    on ``placeholders``. A Module's training flags are restored afterwards."""
    from ganglion.nn.module import Module

    modules = list(model.named_modules()) if isinstance(model, Module) else []
    training = [(m, m.training) for _, m in modules]
    labels = ModuleLabels()
    handles = []
    try:
        if modules:
            model.eval()
        with Trace() as trace:
            labels.trace = trace
            for name, module in modules:
                handles.append(module.register_forward_pre_hook(labels.enter(name, module)))
                handles.append(module.register_forward_hook(labels.leave))
            result = model(*placeholders)
            labels.mark()
    finally:
        for handle in handles:
            handle.remove()
        for module, flag in training:
            object.__setattr__(module, "training", flag)
    _, outputs = _flatten_outputs(result)
    outputs = [trace.final_values.get(id(o), o) for o in outputs]
    return outputs, labels.paths


def _flatten_outputs(result):
    if hasattr(result, "_asdict") or isinstance(result, (tuple, list, Tensor)) or result is None:
        structure, outputs = _flatten(result)
        if not outputs:
            raise ValueError("export: the model returned no tensors")
        return structure, outputs
    raise TypeError(f"export: the model must return a tensor or a tuple/list of tensors, got "
                    f"{type(result).__name__}")


class ModuleLabels:
    """Forward hooks that label each recorded node with the innermost module being called."""

    def __init__(self):
        self.paths = {}
        self.stack = []
        self.trace = None
        self.done = 0

    def mark(self):
        """Label the nodes recorded since the last hook with the module now innermost."""
        nodes = self.trace.nodes
        label = self.stack[-1] if self.stack else None
        if label is not None:
            for t in nodes[self.done:]:
                self.paths.setdefault(id(t), label)
        self.done = len(nodes)

    def enter(self, name, module):
        label = f"{name} ({type(module).__name__})" if name else f"the model ({type(module).__name__})"

        def hook(module, args):
            self.mark()
            self.stack.append(label)
        return hook

    def leave(self, module, args, out):
        self.mark()
        self.stack.pop()
