"""ganglion.onnx: models to and from the ONNX format (the optional extra ``ganglion[onnx]``).

``export(model_or_function, example_inputs, path, ...)`` writes a model, or a symbolic
``gn.function``, as an ONNX file, with PyTorch's signature (``torch.onnx.export``): the model
is traced on placeholders by ganglion's own symbolic machinery, each op of the traced graph
becomes ONNX operators (https://onnx.ai/onnx/operators/), parameters and buffers become
initializers named by their ``state_dict`` keys, and ``onnx.checker`` checks the result before
it is written. ``load(path)`` runs an ONNX file as a ganglion Module.

The ``onnx`` package is imported only when a function here is called; without it the call
raises an ImportError naming the extra: ``pip install ganglion[onnx]``.
"""
from ganglion.onnx.export import UnsupportedOnnxOpError, export
from ganglion.onnx.load import load

__all__ = ["export", "load", "UnsupportedOnnxOpError"]
