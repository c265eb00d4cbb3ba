"""``ganglion.viz``: the training figure is drawn without a display and written to a file."""
import numpy as np

from ganglion.viz import save_training_figure


def test_training_figure_with_curves_and_predicted_labels(tmp_path):
    history = {"epoch": [1, 2, 3], "loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.4],
               "accuracy": [0.6, 0.8, 0.9], "val_accuracy": [0.55, 0.75, None]}
    images = np.random.default_rng(0).random((10, 1, 8, 8))
    path = save_training_figure(tmp_path / "fig.png", history, images, labels=list(range(10)),
                                predictions=[0, 1, 2, 3, 4, 5, 6, 7, 8, 0])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pyplot_is_matplotlibs_and_names_the_extra_when_missing(monkeypatch):
    import sys

    import matplotlib.pyplot
    import pytest

    from ganglion.viz import pyplot
    assert pyplot() is matplotlib.pyplot
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install ganglion\[viz\]"):
        pyplot()
