"""Data root resolution: root=, then $GANGLION_DATA, then the default cache folder."""
from pathlib import Path

from ganglion.data import data_root


def test_explicit_root_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("GANGLION_DATA", "/elsewhere")
    assert data_root(tmp_path) == tmp_path


def test_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("GANGLION_DATA", str(tmp_path))
    assert data_root() == tmp_path


def test_default(monkeypatch):
    monkeypatch.delenv("GANGLION_DATA", raising=False)
    assert data_root() == Path.home() / ".cache" / "ganglion" / "datasets"
