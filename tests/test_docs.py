"""The documentation site (issue 15): docs/ builds with Sphinx without a single warning.

The build skips running the gallery (``-D plot_gallery=0``: the examples' own tests run them) but
renders every example's page, the API reference of every public name (docs/conf.py warns on a
public function or class without a docstring) and the notes; ``-W --keep-going`` turns each
warning (a docutils error in a docstring, a broken cross-reference) into a failure, all listed.
Skipped when Sphinx is not installed (``pip install -e '.[docs]'``).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def page_text(path):
    """The text of an HTML page without its tags (highlighted code is split into spans)."""
    return re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8"))


def test_docs_build_without_warnings(tmp_path):
    for module in ("sphinx", "sphinx_gallery", "pydata_sphinx_theme"):
        pytest.importorskip(module, reason=f"{module} is not installed (the 'docs' extra)")
    html = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
               "-D", "plot_gallery=0", "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)]
    build = subprocess.run(command, cwd=DOCS, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert build.returncode == 0, f"sphinx-build failed:\n{build.stderr[-6000:]}"
    # The pages the site promises, with their content in them.
    front = (html / "index.html").read_text(encoding="utf-8")
    assert "Getting started" in front and "Gallery of examples" in front
    assert "mathjax" in front.lower()  # the formula on the front page is rendered by MathJax
    getting_started = page_text(html / "getting_started.html")
    assert "make demo" in getting_started and "make test" in getting_started
    assert "gn.function([x, y], cost" in getting_started and "loss.backward()" in getting_started
    gallery = (html / "auto_examples" / "index.html").read_text(encoding="utf-8")
    numbered = sorted(p.stem for p in (DOCS.parent / "examples").glob("[0-9][0-9]_*.py"))
    assert numbered, "no numbered examples found"
    for name in numbered:
        assert f"{name}.html" in gallery, f"examples/{name}.py is missing from the gallery"
    assert "sine_regression" not in gallery  # only the numbered examples form the gallery
    api = {page: (html / "gen_modules" / f"{page}.html").read_text(encoding="utf-8")
           for page in ("ganglion", "ganglion.nn", "ganglion.optim", "ganglion.data",
                        "ganglion.train", "ganglion.symbolic", "ganglion.models")}
    assert 'id="ganglion.nn.Conv2d"' in api["ganglion.nn"]
    assert 'id="ganglion.optim.Adam"' in api["ganglion.optim"]
    assert 'id="ganglion.symbolic.function"' in api["ganglion.symbolic"]
    assert 'id="ganglion.randn"' in api["ganglion"]
    differences = page_text(html / "gen_modules" / "differences.html")
    assert "Differences from PyTorch" in differences and "MulBackward0" in differences
