"""The demo (`make demo`) in a short run: the loss falls and the fit is good."""
from ganglion import demo


def test_demo_fits_sine_quickly():
    history, test_mse = demo.train(steps=300, print_fn=None)
    assert history[-1] < history[0] / 50
    assert test_mse < 0.02


def test_demo_main_prints_final_error(capsys):
    test_mse = demo.main(["--steps", "200", "--quiet"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("final mean-squared error")
    assert float(out[0].rsplit(":", 1)[1]) == round(test_mse, 5)
