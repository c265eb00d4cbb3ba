"""Oracle tests of the Transformer layers against PyTorch with copied weights (float64, eval
mode so that dropout is off): TransformerEncoderLayer, TransformerEncoder,
TransformerDecoderLayer, TransformerDecoder and Transformer, forward values and the gradients
of every parameter and input; masks, key padding masks, norm_first, activations, batch_first,
unbatched input; generate_square_subsequent_mask; deep-copied layers; dropout in training; and
a table of bad inputs."""
import numpy as np
import pytest
import torch

import ganglion as gn
import ganglion.nn.functional as F
from ganglion import nn
from bad_inputs import BadInput, bad_input_test

# PyTorch's notes on mixed bool and float masks (mixed here on purpose) and on its nested-tensor
# inference path (which ganglion does not have).
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")]

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def build(name, *args, **kwargs):
    """A float64 PyTorch module (eval mode) and ganglion's with its weights, loaded strictly."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(*args, **kwargs).double().eval()
    module = getattr(nn, name)(*args, **{k: v for k, v in kwargs.items()
                                        if k != "activation" or isinstance(v, str)}).double()
    if "activation" in kwargs and not isinstance(kwargs["activation"], str):
        raise AssertionError("pass callables through build_with_activation")
    module.eval()
    assert list(module.state_dict()) == list(reference.state_dict())
    module.load_state_dict(reference.state_dict())
    return module, reference


def compare(module, reference, inputs, masks=None, atol=1e-10, **options):
    """Outputs and the gradients of every parameter and input, through a random projection.
    ``masks``: {argument name: NumPy array}."""
    masks = masks or {}
    torch_inputs = [torch.tensor(a, requires_grad=True) for a in inputs]
    gn_inputs = [gn.from_numpy(a.copy()).requires_grad_(True) for a in inputs]
    out_t = reference(*torch_inputs, **{k: torch.from_numpy(v) for k, v in masks.items()},
                      **options)
    out_g = module(*gn_inputs, **{k: gn.from_numpy(v) for k, v in masks.items()}, **options)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=atol,
                               rtol=1e-8)
    projection = randn(*out_t.shape)
    (out_t * torch.from_numpy(projection)).sum().backward()
    (out_g * gn.from_numpy(projection)).sum().backward()
    torch_parameters = dict(reference.named_parameters())
    named = list(module.named_parameters())
    assert [n for n, _ in named] == list(torch_parameters)
    for name, parameter in named:
        np.testing.assert_allclose(parameter.grad.numpy(), torch_parameters[name].grad.numpy(),
                                   atol=atol, rtol=1e-8, err_msg=name)
    for g, t in zip(gn_inputs, torch_inputs):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=atol, rtol=1e-8)
    return out_g


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer(norm_first, activation, batch_first):
    module, reference = build("TransformerEncoderLayer", 8, 2, 16, activation=activation,
                              norm_first=norm_first, batch_first=batch_first)
    compare(module, reference, [randn(5, 3, 8)])


def test_encoder_layer_callable_activation_no_bias_and_unbatched():
    torch.manual_seed(0)
    reference = torch.nn.TransformerEncoderLayer(8, 2, 16, activation=torch.tanh,
                                                 bias=False).double().eval()
    module = nn.TransformerEncoderLayer(8, 2, 16, activation=gn.tanh, bias=False).double().eval()
    module.load_state_dict(reference.state_dict())
    compare(module, reference, [randn(5, 3, 8)])
    module, reference = build("TransformerEncoderLayer", 8, 2, 16)
    compare(module, reference, [randn(5, 8)])


def test_encoder_layer_masks():
    module, reference = build("TransformerEncoderLayer", 8, 2, 16, batch_first=True)
    padding = np.zeros((3, 5), bool)
    padding[1, 3:] = True
    causal = np.triu(np.ones((5, 5), bool), 1)
    compare(module, reference, [randn(3, 5, 8)],
            {"src_mask": causal, "src_key_padding_mask": padding})
    compare(module, reference, [randn(3, 5, 8)],
            {"src_mask": randn(5, 5), "src_key_padding_mask": np.where(padding, -np.inf, 0.0)})
    compare(module, reference, [randn(3, 5, 8)],
            {"src_mask": np.where(causal, -np.inf, 0.0)}, is_causal=True)


@pytest.mark.parametrize("norm", [False, True])
def test_encoder_stack(norm):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    reference = torch.nn.TransformerEncoder(layer, 2, torch.nn.LayerNorm(8) if norm else None,
                                            enable_nested_tensor=False).double().eval()
    module = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2,
                                   nn.LayerNorm(8) if norm else None).double().eval()
    module.load_state_dict(reference.state_dict())
    padding = np.zeros((3, 6), bool)
    padding[2, 4:] = True
    mask = torch.nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.float64).numpy()
    compare(module, reference, [randn(3, 6, 8)], {"mask": mask, "src_key_padding_mask": padding})
    compare(module, reference, [randn(3, 6, 8)], {"mask": mask})  # is_causal detected


def test_encoder_layers_are_independent_deep_copies():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    encoder = nn.TransformerEncoder(layer, 3, enable_nested_tensor=True, mask_check=False)
    parameters = [layer_.linear1.weight for layer_ in encoder.layers]
    assert len(encoder.layers) == 3 and encoder.num_layers == 3
    assert len({id(p) for p in parameters} | {id(layer.linear1.weight)}) == 4
    for p in parameters:
        np.testing.assert_array_equal(p.detach().numpy(), layer.linear1.weight.detach().numpy())
    parameters[0].detach().numpy()[...] = 0  # changing one copy changes no other
    assert np.abs(parameters[1].detach().numpy()).sum() > 0
    assert len(list(encoder.parameters())) == 3 * len(list(layer.parameters()))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer(norm_first, batch_first):
    module, reference = build("TransformerDecoderLayer", 8, 2, 16, norm_first=norm_first,
                              batch_first=batch_first, activation="gelu")
    tgt, memory = (randn(3, 4, 8), randn(3, 6, 8)) if batch_first else (randn(4, 3, 8),
                                                                         randn(6, 3, 8))
    tgt_padding = np.zeros((3, 4), bool)
    tgt_padding[0, 3] = True
    memory_padding = np.zeros((3, 6), bool)
    memory_padding[1, 2:] = True
    causal = np.triu(np.ones((4, 4), bool), 1)
    compare(module, reference, [tgt, memory],
            {"tgt_mask": causal, "tgt_key_padding_mask": tgt_padding,
             "memory_key_padding_mask": memory_padding, "memory_mask": randn(4, 6)})


def test_decoder_stack_and_unbatched():
    torch.manual_seed(0)
    reference = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(8, 2, 16), 2,
                                            torch.nn.LayerNorm(8)).double().eval()
    module = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 2,
                                   nn.LayerNorm(8)).double().eval()
    module.load_state_dict(reference.state_dict())
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64).numpy()
    compare(module, reference, [randn(4, 2, 8), randn(5, 2, 8)], {"tgt_mask": mask})
    compare(module, reference, [randn(4, 8), randn(5, 8)], {"tgt_mask": mask})
    # A bool causal mask: detected as causal too (it was compared with a float mask of its
    # dtype, which could not be made).
    compare(module, reference, [randn(4, 2, 8), randn(5, 2, 8)],
            {"tgt_mask": np.triu(np.ones((4, 4), bool), 1)})


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer(batch_first):
    module, reference = build("Transformer", 8, 2, 2, 2, 16, batch_first=batch_first)
    assert list(module.state_dict()) == list(reference.state_dict())
    src, tgt = (randn(2, 6, 8), randn(2, 4, 8)) if batch_first else (randn(6, 2, 8),
                                                                     randn(4, 2, 8))
    padding = np.zeros((2, 6), bool)
    padding[1, 5:] = True
    tgt_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    compare(module, reference, [src, tgt],
            {"tgt_mask": tgt_mask.numpy(), "src_key_padding_mask": padding,
             "memory_key_padding_mask": padding})


def test_transformer_initialization_and_float32_default():
    module = nn.Transformer(16, 2, 1, 1, 32)
    weight = module.encoder.layers[0].linear1.weight
    assert weight.dtype == gn.float32
    bound = np.sqrt(6 / (16 + 32))  # Xavier-uniform, as PyTorch's _reset_parameters
    assert np.abs(weight.detach().numpy()).max() <= bound
    assert np.abs(weight.detach().numpy()).max() > 0.8 * bound
    out = module(gn.randn(5, 2, 16), gn.randn(3, 2, 16))
    assert tuple(out.shape) == (3, 2, 16) and out.dtype == gn.float32


def test_generate_square_subsequent_mask():
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    expected = torch.nn.Transformer.generate_square_subsequent_mask(4)
    assert mask.dtype == gn.float32
    np.testing.assert_array_equal(mask.numpy(), expected.numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=gn.float64).dtype == gn.float64
    # bool: True above the diagonal, as PyTorch's -inf converted to bool.
    np.testing.assert_array_equal(
        nn.Transformer.generate_square_subsequent_mask(4, dtype=gn.bool).numpy(),
        torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.bool).numpy())
    assert tuple(nn.Transformer(8, 2, 1, 1, 16).generate_square_subsequent_mask(0).shape) == (0, 0)


def test_eval_matches_pytorch_fast_path():
    """PyTorch's eval-mode inference kernels (no grad) give the same values to rounding."""
    torch.manual_seed(0)
    reference = torch.nn.TransformerEncoderLayer(16, 4, 32, batch_first=True).eval()
    module = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True).eval()
    module.load_state_dict(reference.state_dict())
    x = randn(3, 5, 16).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    with gn.no_grad():
        out = module(gn.from_numpy(x))
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5, rtol=1e-4)


def test_dropout_only_in_training():
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.5)
    x = gn.randn(5, 3, 16)
    layer.eval()
    first, second = layer(x).detach().numpy(), layer(x).detach().numpy()
    np.testing.assert_array_equal(first, second)
    layer.train()
    gn.manual_seed(0)
    trained = layer(x).detach().numpy()
    gn.manual_seed(0)
    np.testing.assert_array_equal(layer(x).detach().numpy(), trained)  # seeded masks repeat
    assert not np.allclose(trained, first)


def test_a_few_training_steps_follow_pytorch():
    """Adam on an encoder layer (dropout off): the losses of five steps agree with PyTorch's."""
    torch.manual_seed(0)
    reference = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    module = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    module.load_state_dict(reference.state_dict())
    x, target = randn(4, 6, 16).astype(np.float32), randn(4, 6, 16).astype(np.float32)
    torch_optimizer = torch.optim.Adam(reference.parameters(), lr=1e-2)
    optimizer = gn.optim.Adam(module.parameters(), lr=1e-2)
    losses, torch_losses = [], []
    for _ in range(5):
        torch_optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(reference(torch.from_numpy(x)),
                                            torch.from_numpy(target))
        loss.backward()
        torch_optimizer.step()
        torch_losses.append(loss.item())
        optimizer.zero_grad()
        loss = F.mse_loss(module(gn.from_numpy(x)), gn.from_numpy(target))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    np.testing.assert_allclose(losses, torch_losses, rtol=1e-4)
    assert losses[-1] < losses[0]


# ----- bad inputs ---------------------------------------------------------------------------

_layer = nn.TransformerEncoderLayer(8, 2, 16)
_transformer = nn.Transformer(8, 2, 1, 1, 16)

CASES = [
    BadInput("encoder layer nhead does not divide", lambda: nn.TransformerEncoderLayer(8, 3),
             AssertionError, ["MultiheadAttention(8, 3)", "divisible"]),
    BadInput("encoder layer unknown activation",
             lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), RuntimeError,
             ["TransformerEncoderLayer(8, 2)", "relu/gelu", "tanh"]),
    BadInput("decoder layer activation not callable",
             lambda: nn.TransformerDecoderLayer(8, 2, activation=3), TypeError,
             ["TransformerDecoderLayer(8, 2)", "activation", "callable", "3"]),
    BadInput("encoder layer dropout above 1",
             lambda: nn.TransformerEncoderLayer(8, 2, dropout=1.5), ValueError,
             ["TransformerEncoderLayer(8, 2)", "dropout", "1.5"]),
    BadInput("encoder layer zero feedforward",
             lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=0), ValueError,
             ["TransformerEncoderLayer(8, 2)", "dim_feedforward", "positive", "0"]),
    BadInput("encoder negative layer count",
             lambda: nn.TransformerEncoder(_layer, -1), ValueError,
             ["TransformerEncoder", "num_layers", "-1"]),
    BadInput("encoder of a non-module",
             lambda: nn.TransformerEncoder("layer", 2), TypeError,
             ["TransformerEncoder", "nn.Module", "str"]),
    BadInput("encoder layer wrong width", lambda: _layer(gn.randn(5, 3, 6)), AssertionError,
             ["MultiheadAttention(8, 2)", "8", "6"]),
    BadInput("encoder layer integer mask",
             lambda: _layer(gn.randn(5, 3, 8), src_mask=gn.zeros(5, 5, dtype=gn.int64)),
             AssertionError, ["attn_mask", "bool and floating", "int64"]),
    BadInput("transformer batch sizes differ",
             lambda: _transformer(gn.randn(5, 2, 8), gn.randn(4, 3, 8)), RuntimeError,
             ["Transformer", "batch number", "(5, 2, 8)", "(4, 3, 8)"]),
    BadInput("transformer wrong d_model",
             lambda: _transformer(gn.randn(5, 2, 8), gn.randn(4, 2, 6)), RuntimeError,
             ["Transformer", "d_model=8", "(4, 2, 6)"]),
    BadInput("square mask negative size",
             lambda: nn.Transformer.generate_square_subsequent_mask(-2), ValueError,
             ["generate_square_subsequent_mask", "sz", "-2"]),
    BadInput("square mask integer dtype",
             lambda: nn.Transformer.generate_square_subsequent_mask(3, dtype=gn.int64),
             RuntimeError, ["generate_square_subsequent_mask", "-inf", "int64", "float dtype"]),
]
test_bad_input = bad_input_test(CASES)
