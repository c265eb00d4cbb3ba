"""RNN, LSTM, GRU and their cells against PyTorch with copied weights.

Each case builds the PyTorch module, loads its state dict into the ganglion module (so the keys
must match), runs both in float64 and compares the outputs, the final states and the gradients
of the input, the initial states and every parameter, over a grid of layers 1/2, bidirectional,
batch_first, with and without an initial state. dropout > 0 is only checked for being active in
training and off in eval (the masks come from different generators). A float64 gradcheck
covers the fused LSTM and GRU ops on tiny sizes, symbolic graphs must match eager results,
and bad shapes must give errors that name the layer and the expected shape.
"""
import itertools

import numpy as np
import pytest
import torch

import ganglion as gn
from ganglion import nn

torch.set_num_threads(1)

T, N, INPUT, HIDDEN = 5, 3, 4, 6


def _pair(kind, torch_kwargs, gn_kwargs=None):
    """A PyTorch layer and the ganglion layer with the same weights, both float64."""
    torch.manual_seed(0)
    reference = getattr(torch.nn, kind)(**torch_kwargs).double()
    layer = getattr(nn, kind)(**(gn_kwargs or torch_kwargs)).double()
    assert list(layer.state_dict()) == list(reference.state_dict())
    layer.load_state_dict({k: v.detach().numpy() for k, v in reference.state_dict().items()})
    return reference, layer


def _inputs(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in shapes]


def _leaf_gn(array):
    return gn.from_numpy(array.copy()).requires_grad_()


def _leaf_torch(array):
    return torch.from_numpy(array.copy()).requires_grad_()


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [t for part in out for t in _flatten(part)]
    return [out]


def _compare(reference, layer, arrays, call):
    """Run ``call(module, *leaves)`` on both; compare outputs and every gradient."""
    t_in, g_in = [_leaf_torch(a) for a in arrays], [_leaf_gn(a) for a in arrays]
    t_out, g_out = _flatten(call(reference, *t_in)), _flatten(call(layer, *g_in))
    assert len(t_out) == len(g_out)
    rng = np.random.default_rng(1)
    t_loss, g_loss = 0, 0
    for t, g in zip(t_out, g_out):
        assert tuple(g.shape) == tuple(t.shape)
        np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), atol=1e-10, rtol=1e-9)
        weight = rng.standard_normal(tuple(t.shape))
        t_loss = t_loss + (t * torch.from_numpy(weight)).sum()
        g_loss = g_loss + (g * gn.from_numpy(weight)).sum()
    t_loss.backward()
    g_loss.backward()
    for i, (t, g) in enumerate(zip(t_in, g_in)):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), atol=1e-10, rtol=1e-8,
                                   err_msg=f"gradient of input {i}")
    t_params = dict(reference.named_parameters())
    for name, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_params[name].grad.numpy(), atol=1e-10,
                                   rtol=1e-8, err_msg=f"gradient of {name}")


LAYERS = [("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "tanh"}),
          ("RNN", {"nonlinearity": "relu"})]
GRID = list(itertools.product([1, 2], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("kind,extra", LAYERS, ids=["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_state", GRID)
def test_layer_matches_torch(kind, extra, num_layers, bidirectional, batch_first, with_state):
    kwargs = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=num_layers,
                  bidirectional=bidirectional, batch_first=batch_first, **extra)
    reference, layer = _pair(kind, kwargs)
    states = num_layers * (2 if bidirectional else 1)
    x_shape = (N, T, INPUT) if batch_first else (T, N, INPUT)
    state_shapes = [(states, N, HIDDEN)] * (2 if kind == "LSTM" else 1) if with_state else []
    arrays = _inputs([x_shape] + state_shapes)

    def call(module, x, *state):
        if not state:
            return module(x)
        return module(x, tuple(state) if kind == "LSTM" else state[0])
    _compare(reference, layer, arrays, call)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_without_bias_and_unbatched_input(kind):
    reference, layer = _pair(kind, dict(input_size=INPUT, hidden_size=HIDDEN, bias=False))
    _compare(reference, layer, _inputs([(T, N, INPUT)]), lambda m, x: m(x))
    reference, layer = _pair(kind, dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=2))
    _compare(reference, layer, _inputs([(T, INPUT)]), lambda m, x: m(x))


def test_sequence_of_one_step():
    reference, layer = _pair("LSTM", dict(input_size=INPUT, hidden_size=HIDDEN, bidirectional=True))
    _compare(reference, layer, _inputs([(1, N, INPUT), (2, N, HIDDEN), (2, N, HIDDEN)]),
             lambda m, x, h, c: m(x, (h, c)))


CELLS = [("LSTMCell", {}), ("GRUCell", {}), ("RNNCell", {"nonlinearity": "tanh"}),
         ("RNNCell", {"nonlinearity": "relu"})]


@pytest.mark.parametrize("kind,extra", CELLS, ids=["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_cell_matches_torch(kind, extra, bias):
    reference, layer = _pair(kind, dict(input_size=INPUT, hidden_size=HIDDEN, bias=bias, **extra))
    shapes = [(N, INPUT)] + [(N, HIDDEN)] * (2 if kind == "LSTMCell" else 1)

    def call(module, x, *state):
        return module(x, tuple(state) if kind == "LSTMCell" else state[0])
    _compare(reference, layer, _inputs(shapes), call)
    _compare(reference, layer, _inputs([(N, INPUT)]), lambda m, x: m(x))
    _compare(reference, layer, _inputs([(INPUT,)]), lambda m, x: m(x))


def test_cell_second_derivative_matches_torch():
    reference, layer = _pair("LSTMCell", dict(input_size=INPUT, hidden_size=HIDDEN))
    x = _inputs([(N, INPUT)])[0]
    t_x, g_x = _leaf_torch(x), _leaf_gn(x)
    t_grad, = torch.autograd.grad(reference(t_x)[0].pow(2).sum(), t_x, create_graph=True)
    g_grad, = gn.grad(layer(g_x)[0].pow(2).sum(), g_x, create_graph=True)
    t_second, = torch.autograd.grad(t_grad.pow(2).sum(), t_x)
    g_second, = gn.grad(g_grad.pow(2).sum(), g_x)
    np.testing.assert_allclose(g_second.numpy(), t_second.numpy(), atol=1e-10, rtol=1e-8)


def _tiny_weights(gates, seed):
    rng = np.random.default_rng(seed)
    shapes = [(gates * 2, 3), (gates * 2, 2), (gates * 2,), (gates * 2,)]
    return [gn.from_numpy(rng.standard_normal(s) * 0.7).requires_grad_() for s in shapes]


def test_lstm_gradcheck_float64():
    weights = _tiny_weights(4, 0)
    rng = np.random.default_rng(1)
    x, h0, c0 = (gn.from_numpy(rng.standard_normal(s)).requires_grad_()
                 for s in [(3, 2, 3), (2, 2, 2), (2, 2, 2)])

    def run(x, h0, c0, *w):
        out, (h, c) = gn.nn.functional.lstm(x, (h0, c0), [tuple(w), tuple(w)], bidirectional=True)
        return out, h, c
    assert gn.autograd.gradcheck(run, [x, h0, c0] + weights)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_gradcheck_float64(nonlinearity):
    weights = _tiny_weights(1, 5)
    rng = np.random.default_rng(4)
    x, h0 = (gn.from_numpy(rng.standard_normal(s)).requires_grad_() for s in [(3, 2, 3), (2, 2, 2)])

    def run(x, h0, *w):
        return gn.nn.functional.rnn(x, h0, [tuple(w), tuple(w)], nonlinearity=nonlinearity,
                                    bidirectional=True)
    assert gn.autograd.gradcheck(run, [x, h0] + weights)


def test_gru_gradcheck_float64():
    weights = _tiny_weights(3, 2)
    rng = np.random.default_rng(3)
    x, h0 = (gn.from_numpy(rng.standard_normal(s)).requires_grad_() for s in [(3, 2, 3), (1, 2, 2)])
    assert gn.autograd.gradcheck(lambda x, h0, *w: gn.nn.functional.gru(x, h0, [tuple(w)]),
                                 [x, h0] + weights)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_fused_double_backward_is_refused_clearly(kind):
    layer = getattr(nn, kind)(INPUT, HIDDEN).double()
    x = _leaf_gn(_inputs([(T, N, INPUT)])[0])
    g, = gn.grad(layer(x)[0].sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward"):
        gn.grad(g.sum(), x)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_dropout_active_in_train_only(kind):
    gn.manual_seed(0)
    layer = getattr(nn, kind)(INPUT, HIDDEN, num_layers=2, dropout=0.5)
    x = gn.from_numpy(_inputs([(T, N, INPUT)])[0].astype(np.float32))

    def output():
        return layer(x)[0].detach().numpy()
    layer.eval()
    first = output()
    np.testing.assert_array_equal(first, output())
    layer.train()
    assert not np.allclose(output(), first)
    assert not np.allclose(output(), output())


def test_default_init_is_uniform_in_bound_and_seeded():
    gn.manual_seed(3)
    first = nn.LSTM(INPUT, 100, num_layers=2)
    gn.manual_seed(3)
    second = nn.LSTM(INPUT, 100, num_layers=2)
    for (name, p), q in zip(first.named_parameters(), second.parameters()):
        values = p.detach().numpy()
        assert values.dtype == np.float32
        assert np.abs(values).max() <= 0.1 and np.abs(values).max() > 0.09, name
        np.testing.assert_array_equal(values, q.detach().numpy())
    assert first.weight_ih_l1.shape == (400, 100)


def test_state_dict_keys_equal_torch():
    for kwargs in [dict(num_layers=2, bidirectional=True), dict(bias=False)]:
        for kind in ["LSTM", "GRU", "RNN"]:
            ours = getattr(nn, kind)(INPUT, HIDDEN, **kwargs).state_dict()
            theirs = getattr(torch.nn, kind)(INPUT, HIDDEN, **kwargs).state_dict()
            assert list(ours) == list(theirs)
            assert all(tuple(ours[k].shape) == tuple(theirs[k].shape) for k in ours)
    for kind in ["LSTMCell", "GRUCell", "RNNCell"]:
        assert list(getattr(nn, kind)(INPUT, HIDDEN).state_dict()) == \
            list(getattr(torch.nn, kind)(INPUT, HIDDEN).state_dict())


def test_float32_forward_matches_torch():
    reference, layer = _pair("LSTM", dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=2))
    reference.float()
    layer.float()
    x = _inputs([(T, N, INPUT)])[0].astype(np.float32)
    out = layer(gn.from_numpy(x))[0]
    assert out.dtype == gn.float32
    expected = reference(torch.from_numpy(x))[0].detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-5)


def test_errors_name_the_layer_and_expected_shape():
    layer = nn.LSTM(64, 256)
    with pytest.raises(ValueError, match=r"LSTM\(64, 256\): expected input of shape \(T, N, 64\), "
                                         r"got \(35, 64, 32\)"):
        layer(gn.zeros(35, 64, 32))
    with pytest.raises(ValueError, match=r"GRU\(4, 6\): expected input of shape \(N, T, 4\)"):
        nn.GRU(4, 6, batch_first=True)(gn.zeros(2, 3, 5))
    with pytest.raises(ValueError, match=r"LSTM\(4, 6\): expected h_0 of shape \(2, 3, 6\), "
                                         r"got \(1, 3, 6\)"):
        nn.LSTM(4, 6, num_layers=2)(gn.zeros(5, 3, 4), (gn.zeros(1, 3, 6), gn.zeros(2, 3, 6)))
    with pytest.raises(ValueError, match=r"RNN\(4, 6\): expected h_0 of shape \(1, 3, 6\)"):
        nn.RNN(4, 6)(gn.zeros(5, 3, 4), gn.zeros(1, 2, 6))
    with pytest.raises(ValueError, match=r"GRUCell\(4, 6\): expected input of shape \(N, 4\), "
                                         r"got \(3, 5\)"):
        nn.GRUCell(4, 6)(gn.zeros(3, 5))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(4, 6, nonlinearity="sigmoid")


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_symbolic_graph_matches_eager(kind):
    from ganglion.symbolic.placeholders import tensor as placeholder
    layer = getattr(nn, kind)(INPUT, HIDDEN, num_layers=2, bidirectional=True, batch_first=True)
    # The fused loops leave the number of steps free, as well as the batch size.
    x = placeholder(gn.float32, (None, None, INPUT))
    h0 = placeholder(gn.float32, (4, None, HIDDEN))
    output, _ = layer(x, (h0, h0) if kind == "LSTM" else h0)
    params = list(layer.parameters())
    compiled = gn.function([x, h0], [output] + list(gn.grad((output * output).sum(), params)))
    x_np, h_np = (a.astype(np.float32) for a in _inputs([(N, T, INPUT), (4, N, HIDDEN)]))
    values = compiled(x_np, h_np)
    h_eager = gn.from_numpy(h_np)
    eager, _ = layer(gn.from_numpy(x_np), (h_eager, h_eager) if kind == "LSTM" else h_eager)
    (eager * eager).sum().backward()
    np.testing.assert_allclose(values[0], eager.detach().numpy(), atol=1e-6)
    for value, p in zip(values[1:], params):
        np.testing.assert_allclose(value, p.grad.numpy(), atol=1e-5)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_compiled_step_loops_equal_the_numpy_form(monkeypatch, kind, bidirectional):
    """With numba (the jit extra), the LSTM and GRU time loops run their arithmetic in compiled
    loops; without it, in NumPy calls. Both must give the same outputs and gradients."""
    from ganglion.backend import providers
    if not providers.provider("numba").available():
        pytest.skip("the compiled loops need numba: pip install 'ganglion[jit]'")
    rng = np.random.default_rng(4)
    data = rng.standard_normal((7, 3, 5)).astype(np.float32)
    results = []
    for kernels in ("numba", "numpy"):
        monkeypatch.setattr(gn.config, "kernels", kernels)
        gn.manual_seed(0)
        layer = getattr(nn, kind)(5, 6, num_layers=2, bidirectional=bidirectional)
        x = gn.tensor(data, requires_grad=True)
        out, state = layer(x)
        states = state if kind == "LSTM" else (state,)
        loss = (out * out).sum() + states[0].sum()
        if kind == "LSTM":
            loss = loss + (states[1] * states[1]).sum()
        loss.backward()
        results.append([out.detach().numpy(), x.grad.numpy()] +
                       [p.grad.numpy() for p in layer.parameters()])
    for compiled, plain in zip(*results):
        np.testing.assert_allclose(compiled, plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("with_state", [False, True])
def test_batch_split_over_the_cores_matches_torch(monkeypatch, kind, with_state):
    """Large LSTMs, GRUs and RNNs run each core's block of sequences through the whole time loop on
    its own (``recurrent.over_batch_rows``); forced on for a small one, the blocks (8 and 12
    rows here, as blocks are multiples of 8 rows) must still give PyTorch's values (float64,
    so that the comparison is tight)."""
    from ganglion.backend import blas_threads, threads
    from ganglion.backend import recurrent
    if threads.CORES < 2 or not blas_threads.available():
        pytest.skip("splitting needs two cores and control of BLAS's thread count")
    monkeypatch.setattr(recurrent, "_SPLIT_MULTIPLY_ADDS_PER_ROW", 0)
    monkeypatch.setattr(recurrent, "_MIN_ROWS", 1)
    batch = 20
    kwargs = dict(input_size=INPUT, hidden_size=HIDDEN, num_layers=2, bidirectional=True)
    reference, layer = _pair(kind, kwargs)
    states = 2 if kind == "LSTM" else 1
    arrays = _inputs([(T, batch, INPUT)] + ([(4, batch, HIDDEN)] * states if with_state else []))

    def call(module, x, *state):
        if not state:
            return module(x)
        return module(x, tuple(state) if kind == "LSTM" else state[0])
    _compare(reference, layer, arrays, call)
