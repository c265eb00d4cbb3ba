"""The ``ganglion`` command: train/eval on the offline digits, summary, and mistakes reported as
one line on stderr with exit code 2 (never a traceback)."""
import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ganglion import cli
from ganglion.io import save
from ganglion.models import get_model

SHARED = Path(os.environ.get("GANGLION_DATA")
              or Path(__file__).resolve().parents[2] / "shared" / "datasets")


@pytest.mark.parametrize("argv, message", [
    (["train", "resnet999", "--dataset", "digits"], "unknown model 'resnet999'; known: "),
    (["train", "mlp", "--dataset", "imagenet"], "unknown dataset 'imagenet'; known: cifar10"),
    (["train", "mlp", "--dataset", "mnist", "--data-dir", "/no/such/folder"],
     "--data-dir /no/such/folder: no such folder"),
    (["train", "mlp", "--dataset", "digits", "--optimizer", "lbfgs"],
     "argument --optimizer: invalid choice: 'lbfgs'"),
    (["train", "mlp", "--dataset", "digits", "--epochs", "many"],
     "argument --epochs: invalid int value: 'many'"),
    (["train", "mlp"], "the following arguments are required: --dataset"),
    (["train", "mlp", "--dataset", "digits", "--weight-decay", "-1"],
     "--weight-decay must be zero or positive"),
    (["train", "mlp", "--dataset", "digits", "--norm-weight-decay", "-0.1"],
     "--norm-weight-decay must be zero or positive"),
    (["train", "mlp", "--dataset", "digits", "--label-smoothing", "1"],
     "--label-smoothing must be in [0, 1), got 1.0"),
    (["train", "mlp", "--dataset", "mnist", "--random-erase", "1.5"],
     "--random-erase must be a probability in [0, 1], got 1.5"),
    (["train", "mlp", "--dataset", "digits", "--random-erase", "0.5"],
     "--random-erase works on mnist and cifar10, not digits"),
    (["train", "mlp", "--dataset", "mnist", "--auto-augment", "augmix"],
     "--auto-augment augmix: unknown policy; known: imagenet, cifar10, svhn, ra, ta_wide"),
    (["train", "mlp", "--dataset", "digits", "--auto-augment", "ta_wide"],
     "--auto-augment works on mnist and cifar10, not digits"),
    (["train", "mlp", "--dataset", "mnist", "--mixup-alpha", "-1"],
     "--mixup-alpha must be zero (off) or positive"),
    (["train", "mlp", "--dataset", "digits", "--cutmix-alpha", "1"],
     "--cutmix-alpha works on mnist and cifar10, not digits"),
    (["train", "mlp", "--dataset", "digits", "--resume", "--out", "/no/such/run"],
     "--resume: /no/such/run/last.safetensors does not exist"),
    (["train", "mlp", "--dataset", "digits", "--init", "/no/such.safetensors"],
     "--init /no/such.safetensors: no such checkpoint file"),
    (["fly"], "invalid choice: 'fly'"),
    (["eval", "/no/such/checkpoint.safetensors", "--dataset", "digits"],
     "/no/such/checkpoint.safetensors: no such checkpoint file"),
])
def test_mistakes_are_one_line_on_stderr_and_exit_code_2(argv, message, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("ganglion: error: ")
    assert message in captured.err


def test_missing_dataset_files_are_one_line_naming_the_folder(tmp_path, capsys):
    assert cli.main(["train", "lenet5", "--dataset", "mnist", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"not found in {tmp_path / 'mnist'}" in err


def test_python_dash_m_ganglion_reports_without_a_traceback():
    result = subprocess.run([sys.executable, "-m", "ganglion", "summary", "nosuchnet"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "unknown model 'nosuchnet'" in result.stderr


def test_summary_lenet5(capsys):
    assert cli.main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "(-1, 6, 28, 28)" in out and "(-1, 16, 5, 5)" in out
    assert "Total params: 61,706" in out


def test_train_writes_checkpoints_and_metrics_and_eval_reads_them(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "digits_cnn", "--dataset", "digits", "--epochs", "2",
                     "--batch-size", "64", "--lr", "0.003", "--quiet", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("test accuracy: ") and lines[-1].endswith("%")
    for name in ("model.safetensors", "last.safetensors", "best.safetensors"):
        assert (out / name).is_file()
    with open(out / "metrics.csv", newline="") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]

    assert cli.main(["eval", str(out / "model.safetensors"), "--dataset", "digits"]) == 0
    assert capsys.readouterr().out.strip() == lines[-1]


def test_resume_continues_an_interrupted_run_exactly(tmp_path, capsys, monkeypatch):
    """A run stopped after 2 of 3 epochs and continued with --resume ends with the same metrics
    (and the same weights) as one uninterrupted run: optimizer, schedule, shuffling and the
    metrics file all continue."""
    import ganglion.train
    argv = ["train", "digits_cnn", "--dataset", "digits", "--epochs", "3", "--batch-size", "64",
            "--optimizer", "sgd", "--lr", "0.05", "--weight-decay", "5e-4", "--quiet", "--out"]
    assert cli.main(argv + [str(tmp_path / "whole")]) == 0
    real_fit = ganglion.train.fit

    def stop_after_two_epochs(model, train_loader, loss_fn, optimizer, epochs, **options):
        return real_fit(model, train_loader, loss_fn, optimizer, 2, **options)
    monkeypatch.setattr(ganglion.train, "fit", stop_after_two_epochs)
    assert cli.main(argv + [str(tmp_path / "parts")]) == 0
    monkeypatch.setattr(ganglion.train, "fit", real_fit)
    assert cli.main(argv + [str(tmp_path / "parts"), "--resume"]) == 0
    capsys.readouterr()

    def rows(run):
        with open(tmp_path / run / "metrics.csv", newline="") as f:
            return list(csv.DictReader(f))
    assert [row["epoch"] for row in rows("parts")] == ["1", "2", "3"]
    assert rows("parts") == rows("whole")
    from ganglion.io import load
    whole, parts = (load(tmp_path / run / "model.safetensors")["model"] for run in ("whole", "parts"))
    for key in whole:
        np.testing.assert_array_equal(parts[key], whole[key])


def test_norm_weight_decay_puts_normalization_parameters_in_their_own_group():
    """resnet20: the 19 batch norms' weights and biases (1,376 values) get the normalization
    layers' decay; the convolutions and the classifier (268,346 values) keep --weight-decay."""
    model = get_model("resnet20")
    groups = cli._parameter_groups(model, 5e-4, 0.0)
    assert [(len(g["params"]), sum(p.numel() for p in g["params"]), g["weight_decay"])
            for g in groups] == [(21, 268346, 5e-4), (38, 1376, 0.0)]
    assert all(p.ndim == 1 for p in groups[1]["params"])
    whole = cli._parameter_groups(model, 5e-4)
    assert len(whole) == 1 and len(whole[0]["params"]) == 59


def test_norm_weight_decay_and_label_smoothing_reach_the_step(tmp_path, capsys, monkeypatch):
    """The options change what one epoch does: a huge decay on the normalization layers
    shrinks their weights (the group split itself is tested above); label smoothing raises the
    training loss of the same run (a smoothed target's cross-entropy is larger)."""
    import ganglion.models
    from ganglion import nn

    def small_cnn_with_batch_norm(name):
        assert name == "digits_cnn"
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.Flatten(), nn.Linear(8 * 8 * 8, 10))
    monkeypatch.setattr(ganglion.models, "get_model", small_cnn_with_batch_norm)
    common = ["train", "digits_cnn", "--dataset", "digits", "--epochs", "1", "--batch-size",
              "64", "--optimizer", "sgd", "--lr", "0.05", "--quiet", "--out"]
    assert cli.main(common + [str(tmp_path / "plain")]) == 0
    assert cli.main(common + [str(tmp_path / "decayed"), "--norm-weight-decay", "5"]) == 0
    assert cli.main(common + [str(tmp_path / "smoothed"), "--label-smoothing", "0.2"]) == 0
    capsys.readouterr()
    from ganglion.io import load
    weights = {run: load(tmp_path / run / "model.safetensors")["model"]
               for run in ("plain", "decayed")}
    assert np.abs(weights["decayed"]["1.weight"]).mean() < 0.5 * np.abs(
        weights["plain"]["1.weight"]).mean()

    def train_loss(run):
        with open(tmp_path / run / "metrics.csv", newline="") as f:
            return float(next(csv.DictReader(f))["loss"])
    assert train_loss("smoothed") > train_loss("plain") + 0.05


def test_init_starts_from_a_checkpoints_weights(tmp_path, capsys):
    """--init loads the weights: a further epoch at a negligible learning rate keeps the first
    run's test accuracy (from random weights it would be near chance); another model's
    checkpoint, or --init with --resume, is one line."""
    first = tmp_path / "first"
    common = ["--dataset", "digits", "--batch-size", "64", "--quiet"]
    assert cli.main(["train", "digits_cnn", *common, "--epochs", "3", "--lr", "0.003", "--out",
                     str(first)]) == 0
    trained = capsys.readouterr().out.strip().splitlines()[-1]
    assert float(trained.split()[-1].rstrip("%")) > 80
    assert cli.main(["train", "digits_cnn", *common, "--epochs", "1", "--optimizer", "sgd", "--lr",
                     "1e-12", "--init", str(first / "model.safetensors"), "--out",
                     str(tmp_path / "second")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == trained

    assert cli.main(["train", "lenet5", *common, "--init", str(first / "model.safetensors"),
                     "--out", str(tmp_path / "third")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--init " in err and "missing keys" in err
    assert cli.main(["train", "digits_cnn", *common, "--init", str(first / "model.safetensors"),
                     "--resume", "--out", str(first)]) == 2
    assert "--init and --resume: choose one" in capsys.readouterr().err


def test_eval_of_a_checkpoint_for_another_model_names_the_key_and_shapes(tmp_path, capsys):
    path = save({"model_name": "digits_cnn", "model": get_model("mlp").state_dict()},
                tmp_path / "wrong.safetensors")
    assert cli.main(["eval", str(path), "--dataset", "digits"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "'1.weight'" in err


def test_summary_with_another_input_size_and_macs(capsys):
    assert cli.main(["summary", "lenet5"]) == 0
    assert "Total MACs: 422,824 (422.82K, per example)" in capsys.readouterr().out
    assert cli.main(["summary", "mlp", "--input", "784"]) == 0  # registered as (1, 28, 28)
    out = capsys.readouterr().out
    assert "(-1, 784)" in out and "Total MACs: 266,200 " in out


def test_summary_input_of_a_resnet(capsys):
    from ganglion.models import list_models
    if "resnet18" not in list_models():
        pytest.skip("resnet18 is not registered in this tree")
    assert cli.main(["summary", "resnet18", "--input", "3,64,64"]) == 0
    out = capsys.readouterr().out
    assert "(-1, 512, 2, 2)" in out and "Total params: 11,689,512" in out


@pytest.mark.parametrize("argv, message", [
    (["summary", "lenet5", "--input", "1,32,32"],
     "model 'lenet5' cannot take an input of shape (1, 32, 32) (its registered input shape is "
     "(1, 28, 28))"),
    (["summary", "lenet5", "--input", "1,x"], "argument --input: invalid shape '1,x'"),
    (["compare", "lenet5", "nosuchnet"], "unknown model 'nosuchnet'; known: "),
    (["compare", "lenet5", "--input", "3,32,32"], "model 'lenet5' cannot take an input"),
    (["compare"], "the following arguments are required: model"),
])
def test_summary_and_compare_mistakes(argv, message, capsys):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert message in captured.err


def test_compare_prints_one_table_and_writes_the_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "models.png"
    assert cli.main(["compare", "perceptron", "lenet5", "mlp", "--time", "--figure",
                     str(figure)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["Model", "Input", "Params", "MACs", "Depth", "ms/image"]
    assert [line.split()[0] for line in lines[2:5]] == ["perceptron", "lenet5", "mlp"]
    assert "61,706 (61.71K)" in lines[3] and lines[-1] == f"figure: {figure}"
    assert figure.stat().st_size > 10_000


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                    reason=f"the shared MNIST files are not at {SHARED / 'mnist'}")
def test_random_erase_reaches_the_training_batches_only():
    """--random-erase P puts BatchRandomErasing after normalization in the training loader:
    with P = 1 every training image has a box of the mean colour (0 after normalizing); the
    test loader is untouched."""
    from ganglion.train.datasets import classification_loaders
    train, test, _ = classification_loaders("mnist", SHARED, 64, seed=1, random_erase=1.0)
    plain_train, plain_test, _ = classification_loaders("mnist", SHARED, 64, seed=1)
    (erased, labels), (images, same_labels) = next(iter(train)), next(iter(plain_train))
    np.testing.assert_array_equal(labels.numpy(), same_labels.numpy())
    changed = erased.numpy() != images.numpy()
    assert changed.reshape(64, -1).any(axis=1).all()
    np.testing.assert_array_equal(erased.numpy()[changed], 0.0)
    np.testing.assert_array_equal(next(iter(test))[0].numpy(), next(iter(plain_test))[0].numpy())


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                    reason=f"the shared MNIST files are not at {SHARED / 'mnist'}")
@pytest.mark.parametrize("policy", ["svhn", "ra", "ta_wide"])
def test_auto_augment_changes_training_images_before_batching(policy):
    """--auto-augment POLICY runs the policy on each uint8 training image (the dataset's
    transform), then the batch conversion: same labels, same shapes, most images changed (an
    operation may be the identity, or a zero magnitude); the test images are untouched."""
    from ganglion.train.datasets import classification_loaders
    train, test, _ = classification_loaders("mnist", SHARED, 64, seed=2, auto_augment=policy)
    plain_train, plain_test, _ = classification_loaders("mnist", SHARED, 64, seed=2)
    (augmented, labels), (images, same_labels) = next(iter(train)), next(iter(plain_train))
    np.testing.assert_array_equal(labels.numpy(), same_labels.numpy())
    assert augmented.shape == images.shape == (64, 1, 28, 28)
    changed = (augmented.numpy() != images.numpy()).reshape(64, -1).any(axis=1)
    assert changed.mean() > 0.5
    np.testing.assert_array_equal(next(iter(test))[0].numpy(), next(iter(plain_test))[0].numpy())


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                    reason=f"the shared MNIST files are not at {SHARED / 'mnist'}")
def test_mixup_and_cutmix_give_probability_labels():
    """--mixup-alpha / --cutmix-alpha mix each training batch last: its labels become (N, 10)
    class probabilities summing to 1, mixtures of two classes; test batches keep indices."""
    from ganglion.train.datasets import classification_loaders
    train, test, _ = classification_loaders("mnist", SHARED, 32, seed=3, mixup_alpha=0.2,
                                            cutmix_alpha=1.0)
    for _, (images, labels) in zip(range(3), train):
        soft = labels.numpy()
        assert images.shape == (32, 1, 28, 28) and soft.shape == (32, 10)
        np.testing.assert_allclose(soft.sum(axis=1), 1, rtol=1e-6)
        assert ((soft > 0).sum(axis=1) <= 2).all()
    assert next(iter(test))[1].ndim == 1
