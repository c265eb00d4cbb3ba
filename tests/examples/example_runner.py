"""Run one numbered example of examples/ in-process, the way the tests of the gallery do.

Every example ``examples/NN_name.py`` has ``main(argv=None) -> dict``: it parses ``--quick``
(a run of seconds for the tests), ``--out DIR`` (where its figures go) and its own options, prints
the numbers that show the idea worked, saves its figures under ``--out`` and returns those numbers
in a dict, so a test asserts on values rather than on printed text.
"""
import importlib.util
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name):
    """The module ``examples/<name>.py`` (``name`` without ``.py``), imported under a private name
    so that examples whose names start with digits import, and each is loaded once per session."""
    module_name = f"ganglion_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def run_example(name, out_dir, *args, quick=True):
    """``main(['--quick', '--out', out_dir, *args])`` of the example; closes the figures it left
    open (a script run keeps them for sphinx-gallery to collect) and returns its results dict."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    argv = (["--quick"] if quick else []) + ["--out", str(out_dir), *map(str, args)]
    try:
        return load_example(name).main(argv)
    finally:
        plt.close("all")
