"""The fused ops behind ``ganglion.nn.functional``: linear, losses, batch normalization, dropout's
mask, attention and the one-pass activations. Each is one op (one graph node, one kernel call)
where a composition of core ops would cost several passes or Python calls per layer and step;
``nn.functional`` holds the user functions, with PyTorch's signatures, that apply them."""
