"""The public PyTorch programs in examples/ported/ run under ganglion with only their imports changed.

Each test runs one port briefly in a subprocess (its own arguments where the original has them:
``--epochs 1 --dry-run`` ...; a smaller data file or loop count where it has none, said per test)
and checks what it prints. Where PyTorch can run the same program, the *torch twin* (the port with
its import lines rewritten back, ``ganglion`` -> ``torch``) runs on the same seed and data, and the
test says what is compared: the random streams of the two frameworks differ, so losses are compared
value for value only where the program has no randomness (or it is pinned), and otherwise as
ranges/trends. torchvision is not installed here, so programs that need it are checked against
fixed reference values (ln 10 for a fresh 10-class classifier, the VAE's epoch loss PyTorch gave in
issue 13).

Ports that cannot run yet because ganglion lacks a name are kept and marked
``xfail(strict=True)`` with the missing names: the mark turns into a failure once they land, and
is then removed.
"""
import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTED = ROOT / "examples" / "ported"
CORPUS = Path("/work/corpus")  # the originals, outside the repository (optional)
HAS_TORCH = importlib.util.find_spec("torch") is not None
DATA = os.environ.get("GANGLION_DATA")
HAS_MNIST = DATA is not None and (Path(DATA) / "mnist" / "t10k-images-idx3-ubyte.gz").exists()

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="PyTorch (the oracle) is not installed")
needs_mnist = pytest.mark.skipif(not HAS_MNIST, reason="MNIST is not in $GANGLION_DATA")

IMPORT_LINE = re.compile(r"^(\s*)((?:import|from)\s+ganglion\b.*)$")


def torch_twin_source(text):
    """The port with its import lines rewritten back to PyTorch's (the inverse of the porting)."""
    lines = []
    for line in text.split("\n"):
        match = IMPORT_LINE.match(line)
        if match:
            indent, statement = match.groups()
            if statement == "import ganglion as torch":
                statement = "import torch"
            elif statement == "import ganglion.vision as torchvision":
                statement = "import torchvision"
            else:
                statement = statement.replace("ganglion.vision", "torchvision", 1)
                statement = re.sub(r"\bganglion\b", "torch", statement, count=1)
            line = indent + statement
        lines.append(line)
    return "\n".join(lines)


def without_port_header(text):
    """The program as ported, without the header comment the porting added."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("# Ported from "))
    end = next(i for i, line in enumerate(lines) if line.startswith("# Data: read where"))
    return "\n".join(lines[:start] + lines[end + 2:])


def run_port(relative, args=(), cwd=None, backend="ganglion", replace=None, timeout=180):
    """Run examples/ported/<relative> (or its torch twin) in ``cwd``; returns CompletedProcess.

    ``replace``: {old: new} text substitutions applied to a copy (loop counts, said per test).
    Multi-file ports (a folder) are copied whole so their local imports resolve.
    """
    source = PORTED / relative
    folder = source.parent if source.parent != PORTED else None
    files = sorted(folder.glob("*.py")) if folder else [source]
    for path in files:
        text = path.read_text()
        if backend == "torch":
            text = torch_twin_source(text)
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        (Path(cwd) / path.name).write_text(text)
    # Programs that never seed (regression, dynamic_net, ...) would make the test flaky: a
    # sitecustomize module seeds Python's, NumPy's and the framework's generators before the
    # program starts, from outside the program.
    (Path(cwd) / "sitecustomize.py").write_text(SEEDING.format(framework=backend))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(cwd), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.run([sys.executable, source.name, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


SEEDING = """import random
import numpy
random.seed(0)
numpy.random.seed(0)
import {framework}
{framework}.manual_seed(0)
"""


def ok(result):
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def floats_after(label, text):
    return [float(v) for v in re.findall(re.escape(label) + r"\s*([-+0-9.eE]+)", text)]


def step_losses(text):
    """``t loss`` lines (the tutorials print ``99 1234.5`` every 100 steps) as {t: loss}."""
    return {int(t): float(v) for t, v in re.findall(r"^(\d+) ([-+0-9.eE]+)$", text, re.M)}


# ----------------------------------------------------------------------------- the porting itself
def test_torch_twin_rewrites_only_ganglion_import_lines():
    port = ("import ganglion as torch\nimport ganglion.nn as nn\nfrom ganglion.vision import "
            "datasets, transforms\nimport ganglion.vision as torchvision\n"
            "    from ganglion.optim.lr_scheduler import StepLR\nx = ganglion_count + 1\n"
            "import ganglion.utils.data")
    assert torch_twin_source(port).split("\n") == [
        "import torch", "import torch.nn as nn", "from torchvision import datasets, transforms",
        "import torchvision", "    from torch.optim.lr_scheduler import StepLR",
        "x = ganglion_count + 1", "import torch.utils.data"]


PORT_SOURCES = {
    "mnist_cnn.py": "examples/mnist/main.py",
    "mnist_rnn.py": "examples/mnist_rnn/main.py",
    "regression.py": "examples/regression/main.py",
    "time_sequence_prediction.py": "examples/time_sequence_prediction/train.py",
    "generate_sine_wave.py": "examples/time_sequence_prediction/generate_sine_wave.py",
    "vae.py": "examples/vae/main.py",
    "dcgan.py": "examples/dcgan/main.py",
    "mnist_forward_forward.py": "examples/mnist_forward_forward/main.py",
    "siamese_network.py": "examples/siamese_network/main.py",
    "word_language_model/main.py": "examples/word_language_model/main.py",
    "word_language_model/model.py": "examples/word_language_model/model.py",
    "word_language_model/data.py": "examples/word_language_model/data.py",
    "polynomial_custom_function.py":
        "tutorials/beginner_source/examples_autograd/polynomial_custom_function.py",
    "polynomial_autograd.py": "tutorials/beginner_source/examples_autograd/polynomial_autograd.py",
    "polynomial_optim.py": "tutorials/beginner_source/examples_nn/polynomial_optim.py",
    "polynomial_tensor.py": "tutorials/beginner_source/examples_tensor/polynomial_tensor.py",
    "dynamic_net.py": "tutorials/beginner_source/examples_nn/dynamic_net.py",
    "two_layer_net_custom_function.py":
        "tutorials/beginner_source/examples_autograd/two_layer_net_custom_function.py",
    "neural_networks_tutorial.py": "tutorials/beginner_source/blitz/neural_networks_tutorial.py",
    "nlp_pytorch_tutorial.py": "tutorials/beginner_source/nlp/pytorch_tutorial.py",
}


def test_every_port_is_listed():
    # examples/ported/theano/ holds the Theano programs: tests/compat/test_deeplearning_tutorials.py
    on_disk = sorted(p.relative_to(PORTED).as_posix() for p in PORTED.rglob("*.py")
                     if p.relative_to(PORTED).parts[0] != "theano")
    assert on_disk == sorted(PORT_SOURCES)


@pytest.mark.parametrize("port", sorted(PORT_SOURCES))
def test_port_differs_from_original_only_in_import_lines(port):
    """The torch twin of a port, less its header, is the original program byte for byte."""
    original = CORPUS / PORT_SOURCES[port]
    if not original.exists():
        pytest.skip(f"the original {original} is not on this machine")
    text = (PORTED / port).read_text()
    assert "BSD-3-Clause" in text and "Ported from pytorch/" in text
    assert torch_twin_source(without_port_header(text)) == original.read_text()


# ----------------------------------------------------------------------------- tutorials
@needs_torch
def test_polynomial_custom_function_matches_pytorch_step_for_step(tmp_path):
    """No randomness at all (weights start from torch.full): every printed loss (every 100 of
    2000 steps, through a user-defined autograd.Function) equals PyTorch's to float32 rounding."""
    ours = step_losses(ok(run_port("polynomial_custom_function.py", cwd=tmp_path)))
    theirs = step_losses(ok(run_port("polynomial_custom_function.py", cwd=tmp_path,
                                     backend="torch")))
    assert sorted(ours) == sorted(theirs) == list(range(99, 2000, 100))
    np.testing.assert_allclose([ours[t] for t in sorted(ours)],
                               [theirs[t] for t in sorted(theirs)], rtol=1e-4)


@needs_torch
def test_polynomial_autograd_fails_like_pytorch(tmp_path):
    """This version of the tutorial assigns a float to ``.grad`` (``a.grad = 0.``), which PyTorch
    refuses with a TypeError on the first step; ganglion refuses it the same way."""
    ours = run_port("polynomial_autograd.py", cwd=tmp_path)
    theirs = run_port("polynomial_autograd.py", cwd=tmp_path, backend="torch")
    for result in (ours, theirs):
        assert result.returncode != 0
        last = result.stderr.strip().splitlines()[-1]
        assert last.startswith("TypeError") and "grad" in last and "float" in last, last
        assert "Using cpu device" in result.stdout


@needs_torch
def test_polynomial_optim_converges_like_pytorch(tmp_path):
    """nn.Linear starts from each framework's own random stream, so the losses are compared as a
    trend: both fall at every print after the first few, and both end within 10% of the
    least-squares floor of a cubic fit of sin on these 2000 points (about 8.8)."""
    for backend in ("ganglion", "torch"):
        losses = step_losses(ok(run_port("polynomial_optim.py", cwd=tmp_path, backend=backend)))
        values = [losses[t] for t in sorted(losses)]
        assert len(values) == 20
        assert all(b <= a for a, b in zip(values[5:], values[6:])), (backend, values)
        assert 8.0 < values[-1] < 9.7, (backend, values[-1])


@needs_torch
def test_dynamic_net_runs_and_learns_like_pytorch(tmp_path):
    """Python control flow + weight sharing. Shortened: ``range(30000)`` -> ``range(4000)`` in the
    copy that runs (about 11 s at full length). Random init and random depth per step, so compared
    as a trend (seeded from outside, see run_port): the loss printed at step 3999 is below the one
    at step 1999 in both frameworks."""
    shorten = {"range(30000)": "range(4000)"}
    for backend in ("ganglion", "torch"):
        out = ok(run_port("dynamic_net.py", cwd=tmp_path, backend=backend, replace=shorten))
        losses = step_losses(out)
        assert sorted(losses) == [1999, 3999], out
        assert losses[3999] < losses[1999], (backend, losses)
        assert out.strip().splitlines()[-1].startswith("Result: y = ")


@needs_torch
def test_two_layer_net_custom_function_learns_like_pytorch(tmp_path):
    """A ReLU written as an autograd.Function whose backward masks the gradient in place
    (``grad_input[input < 0] = 0``). Random data and weights (each framework's own stream), so
    compared as a trend: 500 losses printed, and in both frameworks the last is under 1e-3 of the
    first (PyTorch: ~3e7 -> ~1e-4)."""
    for backend in ("ganglion", "torch"):
        losses = step_losses(ok(run_port("two_layer_net_custom_function.py", cwd=tmp_path,
                                         backend=backend)))
        assert sorted(losses) == list(range(500))
        assert losses[499] < 1e-3 * losses[0], (backend, losses[0], losses[499])


@needs_torch
def test_neural_networks_tutorial_like_pytorch(tmp_path):
    """LeNet on one random 32x32 input, MSELoss against the target 1..10. The weights are each
    framework's own random draws, so compared as ranges: a fresh net outputs ~0.1, so the loss
    is within 10% of mean(k^2, k=1..10) = 38.5 in both; conv1.bias.grad is None before
    backward and a 6-vector after it in both. (ganglion's grad_fn chain is made of its primitive
    ops, so the nodes printed from ``next_functions`` have other names than PyTorch's.)"""
    for backend in ("ganglion", "torch"):
        out = ok(run_port("neural_networks_tutorial.py", cwd=tmp_path, backend=backend))
        loss = float(re.search(r"^tensor\(([0-9.]+), grad_fn=", out, re.M).group(1))
        assert abs(loss - 38.5) < 3.85, (backend, loss)
        before = out.split("conv1.bias.grad before backward\n")[1].splitlines()[0]
        after = out.split("conv1.bias.grad after backward\n")[1]
        assert before == "None", (backend, out)
        assert len(re.findall(r"-?[0-9]+\.[0-9]+", after)) == 6, (backend, after)


def test_nlp_pytorch_tutorial_prints_like_pytorch(tmp_path):
    """Once it runs: the first 12 printed lines (V, M, T and their first elements, built from
    Python lists with no randomness) equal PyTorch's, character for character."""
    ours = ok(run_port("nlp_pytorch_tutorial.py", cwd=tmp_path)).splitlines()[:12]
    if not HAS_TORCH:
        pytest.skip("PyTorch (the oracle) is not installed")
    theirs = ok(run_port("nlp_pytorch_tutorial.py", cwd=tmp_path, backend="torch"))
    assert ours == theirs.splitlines()[:12]


def test_polynomial_tensor(tmp_path):
    """Hand-written backward pass; would compare the trend with PyTorch once it runs."""
    losses = step_losses(ok(run_port("polynomial_tensor.py", cwd=tmp_path)))
    assert len(losses) == 20 and losses[1999] < losses[99]


# ----------------------------------------------------------------------------- pytorch/examples
@needs_torch
def test_regression_fits_the_polynomial_like_pytorch(tmp_path):
    """Random target polynomial and batches (no seed in the program): compared as outcomes. Both
    frameworks stop on the program's criterion (smooth-L1 loss < 1e-3) within a few thousand
    batches, and the learned coefficients are within 0.25 of the target ones."""
    for backend in ("ganglion", "torch"):
        out = ok(run_port("regression.py", cwd=tmp_path, backend=backend))
        loss, batches = re.search(r"Loss: ([0-9.]+) after (\d+) batches", out).groups()
        assert float(loss) < 1e-3 and int(batches) < 5000
        learned = [float(v) for v in re.findall(r"[-+][0-9.]+", out.split("Learned function:")[1]
                                                .splitlines()[0])]
        actual = [float(v) for v in re.findall(r"[-+][0-9.]+", out.split("Actual function:")[1]
                                               .splitlines()[0])]
        np.testing.assert_allclose(learned, actual, atol=0.25)


@needs_mnist
def test_mnist_cnn_first_loss_is_ln10(tmp_path):
    """``--epochs 1 --dry-run`` (one training batch, then the 10,000 test images). torchvision is
    not installed, so the reference is the first-batch loss of a freshly initialised 10-class
    classifier, ln 10 = 2.303 (PyTorch's own run of this program prints 2.30-2.33), and a test
    pass over all 10,000 images with a loss that is finite."""
    out = ok(run_port("mnist_cnn.py", ["--epochs", "1", "--dry-run"], cwd=tmp_path))
    first = floats_after("Loss:", out)[0]
    assert abs(first - math.log(10)) < 0.1, out
    test_loss, correct = re.search(r"Average loss: ([0-9.]+), Accuracy: (\d+)/10000", out).groups()
    assert math.isfinite(float(test_loss)) and 0 <= int(correct) <= 10000


@needs_mnist
def test_mnist_rnn_first_loss_is_ln10(tmp_path):
    """LSTM + BatchNorm1d + Dropout2d on 2-D input, ``--epochs 1 --dry-run``; the reference is
    ln 10 within 0.2 for the first batch (fresh classifier), and the dry-run test pass over one
    batch of 1,000 images reports a mean loss near ln 10 too (its printed average divides the
    1,000-image sum by 10,000)."""
    out = ok(run_port("mnist_rnn.py", ["--epochs", "1", "--dry-run"], cwd=tmp_path))
    assert abs(floats_after("Loss:", out)[0] - math.log(10)) < 0.2, out
    average = float(re.search(r"Average loss: ([0-9.]+)", out).group(1))
    assert abs(average * 10 - math.log(10)) < 0.3, out


@needs_mnist
def test_vae_epoch_loss_matches_pytorch_reference(tmp_path):
    """One full epoch over the 60,000 training images (``--epochs 1``; the program writes its
    images to ``results/``, which the original repository ships, so the test makes it). Same seed
    (1); PyTorch's run of this program gave an epoch-1 average loss of 164.82 (issue 13) and a
    first-batch loss of ~545 (784 * ln 2 = 543 for a fresh decoder): compared within 1%."""
    (tmp_path / "results").mkdir()
    out = ok(run_port("vae.py", ["--epochs", "1"], cwd=tmp_path))
    assert abs(floats_after("Loss:", out)[0] - 545) < 15, out
    average = float(re.search(r"Epoch: 1 Average loss: ([0-9.]+)", out).group(1))
    assert abs(average - 164.82) / 164.82 < 0.01, out
    assert (tmp_path / "results" / "sample_1.png").exists()


@needs_mnist
def test_mnist_forward_forward_trains_each_layer(tmp_path):
    """``--epochs 5 --train_size 1000 --test_size 1000``. Random init (compared as ranges): each
    of the two layers reports a finite loss, and the train/test errors are fractions in [0, 1]."""
    out = ok(run_port("mnist_forward_forward.py",
                      ["--epochs", "5", "--train_size", "1000", "--test_size", "1000"],
                      cwd=tmp_path))
    assert out.count("training layer:") == 2
    assert all(math.isfinite(v) for v in floats_after("Loss:", out))
    for label in ("train error:", "test error:"):
        assert 0.0 <= floats_after(label, out)[0] <= 1.0


def _write_sine_data(path, length, save):
    """The data generate_sine_wave.py makes (same seed and formula), with ``length`` steps."""
    rng_state = np.random.get_state()
    np.random.seed(2)
    T, N = 20, 100
    x = np.empty((N, length), "int64")
    x[:] = np.array(range(length)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    np.random.set_state(rng_state)
    with open(path, "wb") as f:
        save(np.sin(x / 1.0 / T).astype("float64"), f)


def test_generate_sine_wave_writes_the_data(tmp_path):
    """The ported generator runs and what it saves loads back with ganglion.load."""
    import ganglion

    ok(run_port("generate_sine_wave.py", cwd=tmp_path))
    data = ganglion.load(str(tmp_path / "traindata.pt"))
    assert np.asarray(data).shape == (100, 1000)
    np.testing.assert_allclose(np.asarray(data)[0, :3], np.sin((np.arange(3) - 8) / 20.0),
                               atol=1.0)  # each row is sin((t + shift) / 20), |shift| < 80


def test_time_sequence_prediction_lbfgs_step(tmp_path):
    """LSTMCell sequence model trained with LBFGS, ``--steps 1``. Data: the generator's formula
    with 40 time steps instead of 1,000 (one step at full length takes ~100 s here). The upstream
    program cannot run under PyTorch >= 2.6 (torch.load's weights_only default refuses the NumPy
    array the generator saves), so there is no twin: checked as a trend, the LBFGS closure's
    losses fall from the first evaluation to the last and the test loss is finite."""
    import ganglion

    _write_sine_data(tmp_path / "traindata.pt", 40, ganglion.save)
    out = ok(run_port("time_sequence_prediction.py", ["--steps", "1"], cwd=tmp_path))
    losses = floats_after("loss:", out)
    assert len(losses) >= 3 and losses[-1] < losses[0], out
    assert math.isfinite(floats_after("test loss:", out)[0])
    assert (tmp_path / "predict0.pdf").exists()


def test_dcgan_fake_data_dry_run(tmp_path):
    out = ok(run_port("dcgan.py", ["--dataset", "fake", "--dry-run", "--niter", "1",
                                   "--batchSize", "8", "--ngf", "8", "--ndf", "8", "--workers",
                                   "0", "--outf", str(tmp_path)], cwd=tmp_path))
    assert "Loss_D" in out


@needs_mnist
def test_siamese_network_dry_run(tmp_path):
    out = ok(run_port("siamese_network.py", ["--epochs", "1", "--dry-run"], cwd=tmp_path))
    assert "Loss" in out


@pytest.mark.xfail(strict=True, reason="missing: ganglion.onnx (the program imports torch.onnx "
                                       "at the top); then torch.save(model) of a whole Module, "
                                       "which ganglion refuses by design (state_dict only)")
def test_word_language_model_lstm(tmp_path):
    """Would run on a three-line corpus with a tiny LSTM and compare the validation loss with
    ln(vocabulary size)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split in ("train", "valid", "test"):
        (corpus / f"{split}.txt").write_text("the cat sat on the mat\nthe dog ate the cat\n" * 3)
    out = ok(run_port("word_language_model/main.py",
                      ["--data", str(corpus), "--emsize", "8", "--nhid", "8", "--nlayers", "1",
                       "--epochs", "1", "--bptt", "5", "--batch_size", "2", "--dry-run",
                       "--save", str(tmp_path / "model.pt")], cwd=tmp_path))
    assert "valid loss" in out
