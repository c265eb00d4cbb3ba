"""Sphinx configuration of ganglion's documentation site (``make docs``).

The site follows the convention of PyTorch's tutorials, scikit-learn and matplotlib: Sphinx with
sphinx-gallery for the numbered examples of ``examples/`` (run in their full mode; sphinx-gallery
keeps an MD5 of each script and does not rerun an unchanged one), autodoc + autosummary for the API
reference, MathJax for the formulas and pydata-sphinx-theme for the look.

Two kinds of page are written here at each build instead of being kept by hand, so that they
cannot fall behind the code:

* ``gen_modules/<module>.rst``: one API page per public module listing *every* public name
  (``__all__`` where the module has one, else the names not starting with ``_``), grouped into
  classes, functions and other objects, each documented by autodoc from its docstring;
* ``gen_modules/differences.rst``: the section "Known differences from PyTorch" of NOTES.md,
  converted from Markdown (its only markup is inline code and bullet lists).

A public function or class without a docstring is reported as a Sphinx warning, so the test
(tests/test_docs.py, ``-W``) fails on it as on a broken cross-reference.
"""
import importlib
import inspect
import re
import sys
import types
from pathlib import Path

from sphinx.util import logging

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO / "src"))

# The examples read their data through GANGLION_DATA (ganglion.data.paths); `make docs` sets
# it to the datasets folder beside a development checkout, as for `make demo` and the tests.

import ganglion  # noqa: E402

project = "ganglion"
author = "the ganglion developers"
copyright = "the ganglion developers, BSD-3-Clause"  # noqa: A001  (Sphinx's setting name)
version = release = ganglion.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.codeobj.json"]
templates_path = []
html_static_path = ["_static"]
html_css_files = ["ganglion.css"]
html_theme = "pydata_sphinx_theme"
html_title = f"ganglion {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# The API pages are long: the left sidebar lists pages, not every name on them.
# The right-hand "on this page" lists the sections (classes, functions), not every name: the
# table at the top of each section is the index of its names.
toc_object_entries = False
# Keep "--quick" as typed (no en dash) in the examples' "Run:" lines; quotes are still curled.
smartquotes_action = "qe"
# Pages without sub-pages get no left sidebar, so their text and code have the width.
html_sidebars = {"index": [], "getting_started": [], "gen_modules/differences": [],
                 "api/**": ["sidebar-nav-bs"], "gen_modules/**": ["sidebar-nav-bs"]}

# autodoc: members of classes in source order; type hints in the description, not the signature
# (ganglion's signatures are PyTorch's and read best short).
autodoc_default_options = {"members": True, "member-order": "bysource",
                           "exclude-members": "__init__, __new__"}
autodoc_typehints = "description"
autodoc_inherit_docstrings = True
autosummary_generate = False  # the API pages are written below, with their names in place
# Every cross-reference must resolve (a broken one is a warning, and the docs test fails on it).
nitpicky = True
# ganglion's docstrings are reStructuredText prose (no Google/NumPy sections, so no napoleon).

# sphinx-gallery: the numbered examples (examples/NN_name.py) form the gallery and are run;
# examples/ported (PyTorch programs with changed imports) and helper scripts are not part of it.
sphinx_gallery_conf = {
    "examples_dirs": str(REPO / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/\d\d_[a-z0-9_]+\.py$",
    # matched against the file's base name: every script not named NN_name.py stays out
    "ignore_pattern": r"^(?!\d\d_).*\.py$",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
    # Examples print their numbers; show the printout without the return value of main().
    "capture_repr": (),
    "show_memory": False,
    "min_reported_time": 1,
}

# The public modules of the API reference, in the order of its table of contents; each page
# opens with the module's own docstring.
API_MODULES = ["ganglion", "ganglion.nn", "ganglion.optim", "ganglion.data", "ganglion.train",
               "ganglion.symbolic", "ganglion.models", "ganglion.onnx",
               "ganglion.distributed"]
GENERATED = DOCS / "gen_modules"


def public_names(module):
    """The public names of ``module``: its ``__all__``, else every name not starting with ``_``;
    submodules are left out (they have pages of their own or are implementation)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in dir(module) if not name.startswith("_")]
    return sorted((name for name in dict.fromkeys(names)
                   if not isinstance(getattr(module, name), types.ModuleType)),
                  key=str.lower)


def kind_of(obj):
    """'class', 'function' or 'data': which autodoc directive documents ``obj``."""
    if inspect.isclass(obj):
        return "class"
    if inspect.isroutine(obj) or hasattr(obj, "__wrapped__"):
        return "function"
    return "data"


def documented_elsewhere(module_name):
    """{id(object): qualified name} of the objects that another API page documents and
    ``module_name`` re-exports (``import ganglion`` re-exports ganglion.symbolic's API)."""
    if module_name != "ganglion":
        return {}
    symbolic = importlib.import_module("ganglion.symbolic")
    return {id(getattr(symbolic, name)): f"ganglion.symbolic.{name}"
            for name in public_names(symbolic)
            if inspect.isclass(getattr(symbolic, name)) or inspect.isroutine(getattr(symbolic, name))}


def api_page(module_name):
    """The reStructuredText of the API page of ``module_name``: the module's docstring, a table
    of every public name by kind, then each name documented in place (names documented on
    another page are listed with a link there, not documented twice)."""
    module = importlib.import_module(module_name)
    elsewhere = documented_elsewhere(module_name)
    groups = {"class": [], "function": [], "data": []}
    reexported = []
    for name in public_names(module):
        obj = getattr(module, name)
        if id(obj) in elsewhere:
            reexported.append((name, elsewhere[id(obj)]))
        else:
            groups[kind_of(obj)].append(name)
    lines = [f"``{module_name}``", "=" * (len(module_name) + 4), "",
             f".. automodule:: {module_name}", "   :no-members:", ""]
    headings = {"class": "Classes", "function": "Functions", "data": "Constants and aliases"}
    for kind, names in groups.items():
        if not names:
            continue
        lines += [headings[kind], "-" * len(headings[kind]), "",
                  f".. currentmodule:: {module_name}", "", ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in names]
        lines.append("")
        for name in names:
            directive = {"class": "autoclass", "function": "autofunction",
                         "data": "autodata"}[kind]
            lines += [f".. {directive}:: {name}"]
            if kind == "data":
                lines += ["   :no-value:", "   :annotation:"]
            lines.append("")
    if reexported:
        heading = "Re-exported from other modules"
        lines += [heading, "-" * len(heading), "",
                  f"``import {module_name}`` also gives these names, documented on their "
                  "module's page:", ""]
        lines += [f"* ``{module_name}.{name}``: :py:obj:`{target}`" for name, target in reexported]
        lines.append("")
    return "\n".join(lines) + "\n"


def notes_differences():
    """The section "Known differences from PyTorch" of NOTES.md as reStructuredText."""
    notes = (REPO / "NOTES.md").read_text(encoding="utf-8")
    match = re.search(r"^## Known differences from PyTorch\n(.*?)(?=^## |\Z)", notes,
                      flags=re.S | re.M)
    body = match.group(1).strip() if match else "NOTES.md has no such section."
    # Markdown inline code `x` is reStructuredText's ``x``; the bullet lists read the same.
    body = re.sub(r"(?<!`)`([^`\n]+)`(?!`)", r"``\1``", body)
    title = "Differences from PyTorch"
    intro = ("ganglion follows PyTorch's API and numerics; where it differs, on purpose or not "
             "yet, the difference is listed here (kept in ``NOTES.md`` of the repository, "
             "section \"Known differences from PyTorch\", and copied at each build).")
    return f"{title}\n{'=' * len(title)}\n\n{intro}\n\n{body}\n"


def write_if_changed(path, text):
    """Write ``text`` to ``path`` unless it already holds it, so Sphinx does not rebuild the
    page (it compares modification times)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


GENERATED.mkdir(exist_ok=True)
for _name in API_MODULES:
    write_if_changed(GENERATED / f"{_name}.rst", api_page(_name))
write_if_changed(GENERATED / "differences.rst", notes_differences())

_logger = logging.getLogger("ganglion.docs")
#: Public names that had no docstring when the site was first built: the debt to pay, listed so
#: that the build fails on any *new* public name without one. Remove a name once it has one.
KNOWN_UNDOCUMENTED = frozenset(
    line.strip() for line in (DOCS / "undocumented.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#"))
_warned = set()


def warn_missing_docstring(app, what, name, obj, options, lines):
    """A public function, class or method that autodoc documents without a docstring is a
    warning (the docs test fails on it), unless it is one of KNOWN_UNDOCUMENTED."""
    if (what in ("function", "class", "method") and not any(line.strip() for line in lines)
            and name not in KNOWN_UNDOCUMENTED and name not in _warned):
        _warned.add(name)  # autosummary's table and autodoc both ask for the docstring
        _logger.warning(f"{name}: public {what} without a docstring (write one; "
                        "docs/undocumented.txt lists the old debt)", type="ganglion",
                        subtype="missing_docstring")


def setup(app):
    app.connect("autodoc-process-docstring", warn_missing_docstring)
