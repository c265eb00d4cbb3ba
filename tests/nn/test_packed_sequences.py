"""nn.utils.rnn (pad_sequence, pack_padded_sequence, pad_packed_sequence, pack_sequence,
unpad/unpack, PackedSequence) and nn.RNN / LSTM / GRU on packed batches, against PyTorch:
the packed values and indices, padded round trips, and the layers' outputs, final states and
gradients with copied weights."""
import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as torch_rnn

import ganglion as gn
import ganglion.nn as nn
from ganglion.nn.utils import rnn
from bad_inputs import BadInput, bad_input_test

torch.set_num_threads(1)
rng = np.random.default_rng(0)


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach())


def _same_packed(ours, theirs):
    assert isinstance(ours, rnn.PackedSequence) and ours._fields == theirs._fields
    np.testing.assert_allclose(_np(ours.data), _np(theirs.data), rtol=1e-6, atol=1e-7)
    for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        a, b = getattr(ours, name), getattr(theirs, name)
        if b is None:
            assert a is None, name
        else:
            assert a.dtype == gn.int64, name
            np.testing.assert_array_equal(_np(a), b.numpy(), err_msg=name)


@pytest.mark.parametrize("lengths, enforce_sorted", [([4, 2, 1], True), ([3, 3, 1], True),
                                                     ([2, 4, 1], False), ([1, 4, 4, 2], False)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_round_trip_match_torch(lengths, enforce_sorted, batch_first):
    shape = (len(lengths), 4, 2) if batch_first else (4, len(lengths), 2)
    x = rng.standard_normal(shape)
    xg = gn.from_numpy(x).requires_grad_(True)
    xt = torch.tensor(x, requires_grad=True)
    packed = rnn.pack_padded_sequence(xg, lengths, batch_first, enforce_sorted)
    torch_packed = torch_rnn.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)
    _same_packed(packed, torch_packed)
    padded, out_lengths = rnn.pad_packed_sequence(packed, batch_first, padding_value=-1.5,
                                                  total_length=5)
    torch_padded, torch_lengths = torch_rnn.pad_packed_sequence(torch_packed, batch_first,
                                                                padding_value=-1.5, total_length=5)
    np.testing.assert_array_equal(_np(padded), _np(torch_padded))
    np.testing.assert_array_equal(_np(out_lengths), torch_lengths.numpy())
    assert out_lengths.dtype == gn.int64
    w = rng.standard_normal(tuple(torch_padded.shape))
    (padded * gn.from_numpy(w)).sum().backward()
    (torch_padded * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(_np(xg.grad), _np(xt.grad))


def test_lengths_as_a_tensor():
    x = rng.standard_normal((3, 2, 1))
    packed = rnn.pack_padded_sequence(gn.from_numpy(x), gn.tensor([1, 3]), enforce_sorted=False)
    torch_packed = torch_rnn.pack_padded_sequence(torch.tensor(x), torch.tensor([1, 3]), enforce_sorted=False)
    _same_packed(packed, torch_packed)


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_matches_torch(padding_side, batch_first):
    arrays = [rng.standard_normal((n, 3)) for n in (2, 4, 1)]
    ours = [gn.from_numpy(a).requires_grad_(True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = rnn.pad_sequence(ours, batch_first, -2.0, padding_side)
    want = torch_rnn.pad_sequence(theirs, batch_first, -2.0, padding_side)
    np.testing.assert_array_equal(_np(out), _np(want))
    w = rng.standard_normal(tuple(want.shape))
    (out * gn.from_numpy(w)).sum().backward()
    (want * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_np(a.grad), _np(b.grad))


def test_pack_sequence_unpack_and_unpad_match_torch():
    arrays = [rng.standard_normal((n, 2)) for n in (2, 3, 1)]
    for enforce_sorted in (False,):
        packed = rnn.pack_sequence([gn.from_numpy(a) for a in arrays], enforce_sorted)
        torch_packed = torch_rnn.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted)
        _same_packed(packed, torch_packed)
        for ours, a in zip(rnn.unpack_sequence(packed), arrays):
            np.testing.assert_array_equal(_np(ours), a)
    padded = rnn.pad_sequence([gn.from_numpy(a) for a in arrays], batch_first=True)
    for ours, a in zip(rnn.unpad_sequence(padded, gn.tensor([2, 3, 1]), batch_first=True), arrays):
        np.testing.assert_array_equal(_np(ours), a)


def test_packed_sequence_is_a_named_tuple():
    packed = rnn.pack_sequence([gn.ones(2, 1), gn.ones(1, 1)])
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert packed.data is data and sorted_indices is None and unsorted_indices is None
    assert _np(batch_sizes).tolist() == [2, 1]
    assert packed.to(gn.float64).data.dtype == gn.float64
    # Given only sorted_indices, the inverse permutation is filled in, as in PyTorch.
    built = rnn.PackedSequence(data, batch_sizes, gn.tensor([1, 0]))
    assert _np(built.unsorted_indices).tolist() == [1, 0]


def _copy_rnn(ours, theirs):
    ours.load_state_dict({k: gn.from_numpy(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("bidirectional, num_layers", [(False, 1), (True, 2)])
@pytest.mark.parametrize("with_state", [False, True])
def test_recurrent_layers_on_packed_input_match_torch(kind, bidirectional, num_layers, with_state):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional).double()
    ours = getattr(nn, kind)(3, 4, num_layers=num_layers, bidirectional=bidirectional).double()
    _copy_rnn(ours, theirs)
    ours.flatten_parameters()
    theirs.flatten_parameters()
    lengths = [3, 5, 1, 4]
    x = rng.standard_normal((5, 4, 3))
    xg = gn.from_numpy(x).requires_grad_(True)
    xt = torch.tensor(x, requires_grad=True)
    count = num_layers * (2 if bidirectional else 1)
    state_arrays = [rng.standard_normal((count, 4, 4)) for _ in range(2 if kind == "LSTM" else 1)]
    gn_state = [gn.from_numpy(a).requires_grad_(True) for a in state_arrays]
    torch_state = [torch.tensor(a, requires_grad=True) for a in state_arrays]

    def run(module, x, state, lib):
        packed = lib.pack_padded_sequence(x, lengths, enforce_sorted=False)
        hx = None
        if with_state:
            hx = tuple(state) if kind == "LSTM" else state[0]
        out, final = module(packed, hx)
        finals = list(final) if kind == "LSTM" else [final]
        return out, finals

    out, finals = run(ours, xg, gn_state, rnn)
    torch_out, torch_finals = run(theirs, xt, torch_state, torch_rnn)
    _same_packed(out, torch_out)
    for a, b in zip(finals, torch_finals):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6, atol=1e-7)
    weights = [rng.standard_normal(tuple(t.shape)) for t in [torch_out.data] + torch_finals]
    loss = sum(((t * gn.from_numpy(w)).sum() for t, w in zip([out.data] + finals, weights)),
               gn.tensor(0.0, dtype=gn.float64))
    torch_loss = sum((t * torch.tensor(w)).sum() for t, w in zip([torch_out.data] + torch_finals, weights))
    loss.backward()
    torch_loss.backward()
    np.testing.assert_allclose(_np(xg.grad), _np(xt.grad), rtol=1e-6, atol=1e-7)
    if with_state:
        for a, b in zip(gn_state, torch_state):
            np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-6, atol=1e-7)
    torch_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(_np(p.grad), _np(torch_params[name].grad), rtol=1e-6,
                                   atol=1e-7, err_msg=name)


def test_packed_output_pads_back_like_the_padded_run():
    """For a batch of equal lengths the packed path and the fused padded path agree."""
    lstm = nn.LSTM(2, 3, batch_first=True)
    x = gn.from_numpy(rng.standard_normal((2, 4, 2)).astype(np.float32))
    out, (h, c) = lstm(x)
    packed_out, (packed_h, packed_c) = lstm(rnn.pack_padded_sequence(x, [4, 4], batch_first=True))
    padded, _ = rnn.pad_packed_sequence(packed_out, batch_first=True)
    np.testing.assert_allclose(_np(padded), _np(out), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(packed_h), _np(h), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(packed_c), _np(c), rtol=1e-5, atol=1e-6)


_x = gn.zeros(4, 3, 2)
CASES = [
    BadInput("pack unsorted lengths", lambda: rnn.pack_padded_sequence(_x, [1, 4, 2]), RuntimeError,
             ["pack_padded_sequence", "[1, 4, 2]", "decreasing", "enforce_sorted=False"]),
    BadInput("pack zero length", lambda: rnn.pack_padded_sequence(_x, [4, 0, 1], enforce_sorted=False),
             RuntimeError, ["pack_padded_sequence", "greater than 0", "[4, 0, 1]"]),
    BadInput("pack length past the steps", lambda: rnn.pack_padded_sequence(_x, [5, 2, 1]), ValueError,
             ["pack_padded_sequence", "5", "4 steps"]),
    BadInput("pack lengths count", lambda: rnn.pack_padded_sequence(_x, [4, 2]), RuntimeError,
             ["pack_padded_sequence", "batch size 3", "2 lengths"]),
    BadInput("pack 2-d lengths", lambda: rnn.pack_padded_sequence(_x, gn.tensor([[4, 2, 1]])), RuntimeError,
             ["pack_padded_sequence", "1-D", "(1, 3)"]),
    BadInput("pack 1-d input", lambda: rnn.pack_padded_sequence(gn.zeros(4), [4]), ValueError,
             ["pack_padded_sequence", "(T, B, *)", "(4,)"]),
    BadInput("pad_packed short total_length", lambda: rnn.pad_packed_sequence(
             rnn.pack_padded_sequence(_x, [4, 2, 1]), total_length=3), ValueError,
             ["pad_packed_sequence", "total_length=3", "4"]),
    BadInput("pad_packed of a tensor", lambda: rnn.pad_packed_sequence(_x), TypeError,
             ["pad_packed_sequence", "PackedSequence", "Tensor"]),
    BadInput("pad_sequence empty", lambda: rnn.pad_sequence([]), RuntimeError, ["pad_sequence", "empty"]),
    BadInput("pad_sequence trailing shapes", lambda: rnn.pad_sequence([gn.ones(2, 2), gn.ones(3, 3)]),
             RuntimeError, ["pad_sequence", "(2,)", "(3, 3)", "sequence 1"]),
    BadInput("pad_sequence side", lambda: rnn.pad_sequence([gn.ones(2)], padding_side="middle"), RuntimeError,
             ["pad_sequence", "'left'", "'right'", "'middle'"]),
    BadInput("LSTM packed with a wrong h_0", lambda: nn.LSTM(2, 3)(rnn.pack_padded_sequence(_x, [4, 2, 1]),
                                                                     (gn.zeros(1, 2, 3), gn.zeros(1, 2, 3))),
             ValueError, ["LSTM(2, 3)", "h_0", "(1, 3, 3)", "3 sequences", "(1, 2, 3)"]),
    BadInput("GRU packed with the wrong features", lambda: nn.GRU(5, 3)(rnn.pack_padded_sequence(_x, [4, 2, 1])),
             ValueError, ["GRU(5, 3)", "(*, 5)", "(7, 2)"]),
]
test_bad_input = bad_input_test(CASES)
