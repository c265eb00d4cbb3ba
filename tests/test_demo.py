"""The demo (`make demo` = `ganglion demo`) in its quick form, and the sine example's quick run.

The quick demo trains the small CNN on scikit-learn's 8x8 digits (the offline path), so it
needs no data folder; it must still reach the demo's promise of 97% test accuracy and end with
the line `test accuracy: NN.NN%`.
"""
import importlib.util
import re
from pathlib import Path

from ganglion import cli

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_quick_demo_trains_digits_to_97_percent_and_saves_checkpoint_and_figure(tmp_path, capsys):
    assert cli.main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    match = re.fullmatch(r"test accuracy: (\d+\.\d\d)%", lines[-1])
    assert match, lines[-1]
    assert float(match.group(1)) >= 97.0
    assert (tmp_path / "model.safetensors").is_file()
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    assert f"figure: {tmp_path / 'demo.png'}" in lines


def _load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sine_example_quick_run_fits_sine(capsys):
    example = _load_example("sine_regression")
    test_mse = example.main(["--quick", "--quiet"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("final mean-squared error")
    assert float(out[0].rsplit(":", 1)[1]) == round(test_mse, 5)
    assert test_mse < 0.02


def test_sine_example_loss_falls():
    history, _ = _load_example("sine_regression").train(steps=300, print_fn=None)
    assert history[-1] < history[0] / 50
