"""The DeepLearningTutorials programs (lisa-lab/DeepLearningTutorials, code/) run under ganglion's
Theano compat layer with only their import lines changed (examples/ported/theano/, issue 16 item 6).

The programs read MNIST from ``mnist.pkl.gz``: the session fixture writes that file from the MNIST
IDX files in $GANGLION_DATA in the original's layout (a pickled ``((train_x, train_y), (valid_x,
valid_y), (test_x, test_y))`` of float32 pixels / 256 and int64 labels, train and validation cut
from the 60k training images at 50,000 as the original, test from the 10k test images) but, for
speed, a subset: the first 3,000 training images, 1,200 validation images and 1,200 test images.

Each program runs shortened through its own function arguments (``n_epochs``, ``batch_size``,
``n_hidden``, ``nkerns``...) in a subprocess (they write files into their working directory; dA
changes directory) with OpenBLAS on one thread: on this 2-core machine, shared by the test
workers, OpenBLAS's spinning worker threads made the small products 30x slower.

What is checked: where the program is deterministic (logistic regression starts from zeros; the
MLP and the dA without corruption start from NumPy's RandomState as the tutorial seeds it), an
independent PyTorch re-implementation written from the tutorial's equations runs the same steps on
the same data and the printed numbers are compared (validation errors to within one example,
costs to 1e-4 relative). The tutorial's documented numbers are for full-length runs on all
50,000 images (logistic_sgd: 7.489% test error after 74 epochs), which a test cannot afford; the
short runs check what the tutorial documents for the start of training: the validation error
falls epoch after epoch and the reconstruction cost falls, with the corrupted dA's cost above the
uncorrupted one's.

lstm.py reads IMDB (imdb.pkl), which is not here: the test writes an imdb.pkl in IMDB's layout from
Tiny Shakespeare (which of two characters, GLOUCESTER or DUKE VINCENTIO, speaks a speech; 400
speeches, 80 for test) and runs the program for two epochs; its model's cost and the gradients
through the masked scan (backpropagation through time) are compared with the same equations in
PyTorch, from the same weights, on a padded minibatch.
"""
import gzip
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PORTS = ROOT / "examples" / "ported" / "theano"
DATA = os.environ.get("GANGLION_DATA")
MNIST = Path(DATA) / "mnist" if DATA else None
HAS_MNIST = MNIST is not None and (MNIST / "train-images-idx3-ubyte.gz").exists()

pytestmark = pytest.mark.skipif(not HAS_MNIST, reason="MNIST IDX files are not in $GANGLION_DATA/mnist")

N_TRAIN, N_VALID, N_TEST = 3000, 1200, 1200

VALIDATION_LINE = re.compile(r"^epoch (\d+), minibatch (\d+)/(\d+), validation error ([0-9.]+) %$",
                             re.MULTILINE)


def _idx(name):
    with gzip.open(MNIST / name, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = np.frombuffer(data, ">i4", ndim, 4)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="session")
def mnist_sets():
    """((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) as mnist.pkl.gz holds them."""
    train_x = (_idx("train-images-idx3-ubyte.gz").reshape(-1, 784) / np.float32(256)).astype(np.float32)
    train_y = _idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    test_x = (_idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784) / np.float32(256)).astype(np.float32)
    test_y = _idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return ((train_x[:N_TRAIN], train_y[:N_TRAIN]),
            (train_x[50000:50000 + N_VALID], train_y[50000:50000 + N_VALID]),
            (test_x[:N_TEST], test_y[:N_TEST]))


@pytest.fixture(scope="session")
def mnist_pkl(tmp_path_factory, mnist_sets):
    path = tmp_path_factory.mktemp("dlt_data") / "mnist.pkl.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        pickle.dump(mnist_sets, f, protocol=2)
    return path


def run_tutorial(call, cwd, timeout=300):
    """Run ``import <module>; <call>`` with examples/ported/theano on the path; returns stdout."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PORTS), str(ROOT / "src")]),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    module = call.split(".")[0]
    result = subprocess.run([sys.executable, "-c", f"import {module}; {call}"], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{call} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout


@pytest.fixture
def torch():
    """PyTorch on one thread for the re-implementations (its thread pool spins on a loaded
    2-core machine: the MLP's 450 small steps took 100 s instead of 2)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def validation_errors(stdout):
    return [float(m.group(4)) for m in VALIDATION_LINE.finditer(stdout)]


def test_ports_change_only_import_lines():
    """Every line of each port below its header is the original's, but import lines."""
    for path in sorted(PORTS.glob("*.py")):
        text = path.read_text()
        header, _, body = text.partition("# (Line numbers above count from the first line after this header.)\n")
        assert body, f"{path.name}: no port header"
        assert header.startswith("# Ported from lisa-lab/DeepLearningTutorials, code/")
        assert "BSD-3-Clause" in header
        changed = re.findall(r"^#   line (\d+): `(.*)` -> `(.*)`$", header, re.MULTILINE)
        lines = body.split("\n")
        for lineno, old, new in changed:
            assert lines[int(lineno) - 1].strip() == new, (path.name, lineno)
            assert old.split()[0] in ("import", "from") and new.split()[0] in ("import", "from", "xrange")


# --- PyTorch re-implementations written from the tutorial's equations (the oracle) ---

def _torch_minibatch_sgd(torch, params, loss_of, sets, batch_size, n_epochs, lr, predict):
    """The tutorials' loop: SGD over the training minibatches in order, the validation error
    (mean of the per-minibatch error rates, in %) after each epoch."""
    (tx, ty), (vx, vy), _ = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in sets]
    n_train, n_valid = len(tx) // batch_size, len(vx) // batch_size
    errors = []
    for _ in range(n_epochs):
        for i in range(n_train):
            sl = slice(i * batch_size, (i + 1) * batch_size)
            loss = loss_of(tx[sl], ty[sl])
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p -= lr * g
        with torch.no_grad():
            rates = [(predict(vx[i * batch_size:(i + 1) * batch_size]) !=
                      vy[i * batch_size:(i + 1) * batch_size]).double().mean().item()
                     for i in range(n_valid)]
        errors.append(float(np.mean(rates)) * 100)
    return errors


def test_logistic_sgd_matches_pytorch(mnist_pkl, mnist_sets, tmp_path, torch):
    n_epochs, batch_size = 4, 600
    out = run_tutorial(f"logistic_sgd.sgd_optimization_mnist(n_epochs={n_epochs}, "
                       f"dataset={str(mnist_pkl)!r}, batch_size={batch_size})", tmp_path)
    errors = validation_errors(out)
    assert len(errors) == n_epochs
    assert "Optimization complete with best validation score of" in out
    assert (tmp_path / "best_model.pkl").exists()  # the program pickles its best classifier

    # load_data stores the images as floatX: float64, Theano's default.
    W = torch.zeros(784, 10, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(10, dtype=torch.float64, requires_grad=True)
    expected = _torch_minibatch_sgd(
        torch, [W, b], lambda x, y: torch.nn.functional.cross_entropy(x.double() @ W + b, y),
        mnist_sets, batch_size, n_epochs, 0.13, lambda x: (x.double() @ W + b).argmax(1))
    # Within one validation image (1/1200 = 0.083%): rounding may flip a near-tie.
    np.testing.assert_allclose(errors, expected, atol=0.09)
    assert errors == sorted(errors, reverse=True) and errors[-1] < 25  # 5 steps an epoch


def test_mlp_matches_pytorch(mnist_pkl, mnist_sets, tmp_path, torch):
    n_epochs, batch_size, n_hidden = 3, 20, 100
    out = run_tutorial(f"mlp.test_mlp(n_epochs={n_epochs}, dataset={str(mnist_pkl)!r}, "
                       f"batch_size={batch_size}, n_hidden={n_hidden})", tmp_path)
    errors = validation_errors(out)
    assert len(errors) == n_epochs

    # The tutorial's initialisation: RandomState(1234), hidden W ~ U(+-sqrt(6/(n_in+n_out))) cast
    # to floatX (float64 here: Theano's default), b and the softmax layer zero.
    dtype = torch.float64
    rng = np.random.RandomState(1234)
    bound = np.sqrt(6.0 / (784 + n_hidden))
    W1 = torch.tensor(rng.uniform(-bound, bound, (784, n_hidden)), dtype=dtype, requires_grad=True)
    b1 = torch.zeros(n_hidden, dtype=dtype, requires_grad=True)
    W2 = torch.zeros(n_hidden, 10, dtype=dtype, requires_grad=True)
    b2 = torch.zeros(10, dtype=dtype, requires_grad=True)

    def logits(x):
        return torch.tanh(x.to(dtype) @ W1 + b1) @ W2 + b2

    def cost(x, y):  # nll + L1_reg * L1 (0) + L2_reg * L2_sqr
        return (torch.nn.functional.cross_entropy(logits(x), y)
                + 0.0001 * ((W1 ** 2).sum() + (W2 ** 2).sum()))

    expected = _torch_minibatch_sgd(torch, [W1, b1, W2, b2], cost, mnist_sets, batch_size,
                                    n_epochs, 0.01, lambda x: logits(x).argmax(1))
    # Within one validation image per 20-image minibatch average (1/1200 = 0.083%).
    np.testing.assert_allclose(errors, expected, atol=0.09)
    assert errors == sorted(errors, reverse=True) and errors[-1] < errors[0]


def test_dA_cost_matches_pytorch_and_falls(mnist_pkl, mnist_sets, tmp_path, torch):
    epochs, batch_size = 2, 20
    out = run_tutorial(f"dA.test_dA(training_epochs={epochs}, dataset={str(mnist_pkl)!r}, "
                       f"batch_size={batch_size}, output_folder={str(tmp_path / 'plots')!r})", tmp_path)
    costs = [float(c) for c in re.findall(r"^Training epoch \d+, cost\s+([0-9.eE+-]+)$", out, re.MULTILINE)]
    assert len(costs) == 2 * epochs
    plain, corrupted = costs[:epochs], costs[epochs:]
    assert plain[1] < plain[0] and corrupted[1] < corrupted[0]
    assert corrupted[-1] > plain[-1]  # reconstructing from 30%-zeroed inputs is harder
    for name in ("filters_corruption_0.png", "filters_corruption_30.png"):
        assert (tmp_path / "plots" / name).stat().st_size > 1000

    # The uncorrupted dA is deterministic: RandomState(123), one randint for the random
    # streams' seed, then W ~ U(+-4 sqrt(6/(784+500))), tied weights, zero biases.
    dtype = torch.float64
    rng = np.random.RandomState(123)
    rng.randint(2 ** 30)
    bound = 4 * np.sqrt(6.0 / (500 + 784))
    W = torch.tensor(rng.uniform(-bound, bound, (784, 500)), dtype=dtype, requires_grad=True)
    bh = torch.zeros(500, dtype=dtype, requires_grad=True)
    bv = torch.zeros(784, dtype=dtype, requires_grad=True)
    x_all = torch.from_numpy(mnist_sets[0][0]).to(dtype)
    expected = []
    for _ in range(epochs):
        c = []
        for i in range(len(x_all) // batch_size):
            x = x_all[i * batch_size:(i + 1) * batch_size]
            z = torch.sigmoid(torch.sigmoid(x @ W + bh) @ W.T + bv)
            cost = (-(x * torch.log(z) + (1 - x) * torch.log(1 - z)).sum(1)).mean()
            grads = torch.autograd.grad(cost, [W, bh, bv])
            with torch.no_grad():
                for p, g in zip([W, bh, bv], grads):
                    p -= 0.1 * g
            c.append(cost.item())
        expected.append(float(np.mean(c)))
    np.testing.assert_allclose(plain, expected, rtol=1e-4)


def test_convolutional_mlp_learns(mnist_pkl, tmp_path):
    out = run_tutorial(f"convolutional_mlp.evaluate_lenet5(n_epochs=2, dataset={str(mnist_pkl)!r}, "
                       f"nkerns=[4, 8], batch_size=100)", tmp_path)
    errors = validation_errors(out)
    assert len(errors) == 2
    assert errors[1] < errors[0] < 60  # from 90% (chance) after 30 and 60 steps of LeNet-5
    assert "Best validation score of" in out


@pytest.fixture(scope="session")
def small_mnist_pkl(tmp_path_factory, mnist_sets):
    """mnist.pkl.gz with the first 1,000 training images only (SdA's 784-1000-1000-1000 stack)."""
    (train_x, train_y), valid, test = mnist_sets
    path = tmp_path_factory.mktemp("dlt_small") / "mnist.pkl.gz"
    with gzip.open(path, "wb", compresslevel=1) as f:
        pickle.dump(((train_x[:1000], train_y[:1000]), valid, test), f, protocol=2)
    return path


def test_SdA_pretrains_and_finetunes(small_mnist_pkl, tmp_path):
    out = run_tutorial(f"SdA.test_SdA(pretraining_epochs=1, training_epochs=2, "
                       f"dataset={str(small_mnist_pkl)!r}, batch_size=20)", tmp_path)
    pretraining = re.findall(r"^Pre-training layer (\d), epoch 0, cost ([0-9.]+)$", out, re.MULTILINE)
    assert [layer for layer, _ in pretraining] == ["0", "1", "2"]
    assert all(np.isfinite(float(cost)) and float(cost) > 0 for _, cost in pretraining)
    errors = validation_errors(out)
    assert len(errors) == 2 and errors[1] < errors[0] < 90


def test_random_streams_take_symbolic_parameters():
    """SdA.py draws its corruption mask with ``binomial(p=1 - corruption_level)`` where
    corruption_level is a scalar input of the compiled function (before: 'input corruption is
    not used'); uniform and normal take symbolic parameters too."""
    import ganglion.compat.theano as theano
    import ganglion.compat.theano.tensor as T
    from ganglion.compat.theano.sandbox.rng_mrg import MRG_RandomStreams

    x, level = T.matrix("x"), T.scalar("level")
    srng = MRG_RandomStreams(7)
    mask = srng.binomial(size=x.shape, n=1, p=1 - level, dtype=theano.config.floatX)
    corrupt = theano.function([x, theano.In(level, value=0.2)], mask * x)
    ones = np.ones((300, 400), dtype=theano.config.floatX)
    kept = corrupt(ones)
    assert set(np.unique(kept)) == {0.0, 1.0} and abs(kept.mean() - 0.8) < 0.01
    assert abs(corrupt(ones, 0.7).mean() - 0.3) < 0.01
    assert corrupt(ones, 0.0).min() == 1.0

    counts = theano.function([level], srng.binomial(size=(20000,), n=3, p=level))(0.5)
    assert counts.dtype == np.int64 and set(np.unique(counts)) == {0, 1, 2, 3}
    assert abs(counts.mean() - 1.5) < 0.05

    low = T.scalar("low")
    values = theano.function([low], srng.uniform(size=(20000,), low=low, high=low + 2))(3.0)
    assert values.min() >= 3.0 and values.max() < 5.0 and abs(values.mean() - 4.0) < 0.05
    normal = theano.function([low], srng.normal(size=(20000,), avg=low, std=2 * low))(1.5)
    assert abs(normal.mean() - 1.5) < 0.1 and abs(normal.std() - 3.0) < 0.1

    with pytest.raises(TypeError, match="binomial: n must be a Python int"):
        srng.binomial(size=(3,), n=T.iscalar("n"), p=0.5)


def write_speaker_imdb_pkl(path, speakers=("GLOUCESTER", "DUKE VINCENTIO")):
    """imdb.pkl in IMDB's layout from Tiny Shakespeare: each speech of the two ``speakers`` is a
    list of word ids (by frequency, from 2; 1 is an unknown word, 0 padding) labelled with its
    speaker; every fifth speech goes to the test set. Returns (train size, test size)."""
    import collections
    text = (Path(DATA) / "tinyshakespeare" / "input.txt").read_text()
    speeches = []
    for block in text.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if lines[0].endswith(":") and lines[0][:-1] in speakers:
            words = re.findall(r"[a-z']+", " ".join(lines[1:]).lower())
            if words:
                speeches.append((words, speakers.index(lines[0][:-1])))
    counts = collections.Counter(w for words, _ in speeches for w in words)
    ids = {w: k + 2 for k, (w, _) in enumerate(counts.most_common())}
    encoded = [([ids[w] for w in words], label) for words, label in speeches]
    test = encoded[::5]
    train = [e for k, e in enumerate(encoded) if k % 5]
    with open(path, "wb") as f:
        for part in (train, test):
            pickle.dump(([x for x, _ in part], [y for _, y in part]), f, -1)
    return len(train), len(test)


@pytest.mark.skipif(not (DATA and (Path(DATA) / "tinyshakespeare" / "input.txt").exists()),
                    reason="Tiny Shakespeare is not in $GANGLION_DATA")
def test_lstm_runs_on_speaker_classification(tmp_path):
    """lstm.py (scan over masked sequences, dropout from MRG_RandomStreams, adadelta) on
    Tiny Shakespeare speeches in IMDB's layout. validFreq is beyond the run: the original's
    get_minibatches_idx returns a zip, which Python 3 consumes on first use, so only the
    final evaluation reads the validation and test minibatches."""
    n_train, n_test = write_speaker_imdb_pkl(tmp_path / "imdb.pkl")
    assert (n_train, n_test) == (320, 80)
    out = run_tutorial("lstm.train_lstm(dim_proj=16, max_epochs=2, n_words=2000, validFreq=100000, "
                       "dispFreq=6, batch_size=16, valid_batch_size=64, saveFreq=100000)", tmp_path)
    assert "285 train examples" in out and "15 valid examples" in out  # speeches under 100 words
    costs = [float(c) for c in re.findall(r"^Epoch\s+\d+ Update\s+\d+ Cost\s+(\S+)$", out, re.MULTILINE)]
    assert len(costs) == 6  # 18 minibatches an epoch, 2 epochs, every 6th update
    # A fresh two-class classifier (embeddings 0.01 * U[0, 1), zero classifier bias): ln 2.
    np.testing.assert_allclose(costs, np.log(2), atol=0.03)
    final = re.search(r"^Train\s+(\S+) Valid\s+(\S+) Test\s+(\S+)$", out, re.MULTILINE)
    errors = [float(v) for v in final.groups()]
    assert all(0 <= e <= 1 for e in errors)
    saved = np.load(tmp_path / "lstm_model.npz")
    assert saved["Wemb"].shape == (2000, 16) and saved["lstm_U"].shape == (16, 64)
    assert float(saved["test_err"]) == errors[2]


@pytest.mark.skipif(not (DATA and (Path(DATA) / "tinyshakespeare" / "input.txt").exists()),
                    reason="Tiny Shakespeare is not in $GANGLION_DATA")
def test_lstm_cost_and_bptt_gradients_match_pytorch(tmp_path, torch, monkeypatch):
    """lstm.py's own model (init_params, build_model: the masked scan, mean pooling, softmax)
    without dropout, its cost and ``tensor.grad`` through the scan on a padded minibatch of the
    speaker data, against the same equations written eagerly in PyTorch from the same weights."""
    import importlib
    write_speaker_imdb_pkl(tmp_path / "imdb.pkl")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(PORTS))
    lstm = importlib.import_module("lstm")
    imdb = importlib.import_module("imdb")
    import ganglion.compat.theano as theano
    import ganglion.compat.theano.tensor as tensor

    options = dict(dim_proj=16, n_words=2000, ydim=2, encoder="lstm", use_dropout=False)
    params = lstm.init_params(options)
    tparams = lstm.init_tparams(params)
    _, x, mask, y, _, _, cost = lstm.build_model(tparams, options)
    grads = tensor.grad(cost, wrt=list(tparams.values()))
    f_cost_grads = theano.function([x, mask, y], [cost] + grads)
    train, _, _ = imdb.load_data(n_words=2000, valid_portion=0.05, maxlen=100)
    picked = list(range(100, 260, 10))  # 16 speeches of different lengths: padding and masks
    xs, ms, ys = imdb.prepare_data([train[0][k] for k in picked], [train[1][k] for k in picked])
    assert len(set(ms.sum(0))) > 5
    got = f_cost_grads(xs, ms, np.asarray(ys))
    for module in ("lstm", "imdb"):  # plain names: leave none behind for other tests
        sys.modules.pop(module, None)

    names = list(tparams)
    p = {k: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    d = options["dim_proj"]
    x_t, m_t = torch.from_numpy(xs), torch.from_numpy(np.asarray(ms, dtype=np.float64))
    below = p["Wemb"][x_t.reshape(-1)].reshape(*xs.shape, d) @ p["lstm_W"] + p["lstm_b"]
    h = c = torch.zeros(xs.shape[1], d, dtype=torch.float64)
    hs = []
    for t in range(xs.shape[0]):
        pre = h @ p["lstm_U"] + below[t]
        i, f, o = (torch.sigmoid(pre[:, k * d:(k + 1) * d]) for k in range(3))
        c_new = f * c + i * torch.tanh(pre[:, 3 * d:])
        c = m_t[t, :, None] * c_new + (1 - m_t[t, :, None]) * c
        h_new = o * torch.tanh(c)
        h = m_t[t, :, None] * h_new + (1 - m_t[t, :, None]) * h
        hs.append(h)
    proj = (torch.stack(hs) * m_t[:, :, None]).sum(0) / m_t.sum(0)[:, None]
    pred = torch.softmax(proj @ p["U"] + p["b"], 1)
    expected_cost = -torch.log(pred[torch.arange(len(ys)), torch.tensor(ys)] + 1e-8).mean()
    expected_grads = torch.autograd.grad(expected_cost, [p[k] for k in names])
    np.testing.assert_allclose(got[0], expected_cost.item(), rtol=1e-10)
    assert all(np.abs(g).max() > 1e-6 for g in got[1:])  # every parameter gets a gradient
    for name, g, e in zip(names, got[1:], expected_grads):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-7, atol=1e-12, err_msg=name)
