"""nn.summary(model, input_shape): each layer's output shape and parameter count."""

__all__ = []
