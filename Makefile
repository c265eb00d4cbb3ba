# Each target sets up .venv on first use (python3 -m venv + pip), then runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

# Real data for the demo, the docs' gallery and the tests: the datasets folder beside the
# repository when it is there (a development checkout), unless GANGLION_DATA is already set.
# The package itself never looks there.
SHARED_DATASETS := $(abspath ../shared/datasets)
ifneq ($(wildcard $(SHARED_DATASETS)),)
export GANGLION_DATA ?= $(SHARED_DATASETS)
endif

.PHONY: demo test test-numpy-kernels bench docs clean

$(VENV)/.demo-installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[data,train,viz,onednn]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.demo-installed $(VENV)/.docs-installed

demo: $(VENV)/.demo-installed
	$(VENV)/bin/ganglion demo

test: $(VENV)/.dev-installed
	$(PY) -m pytest -n 2 -q -p no:cacheprovider tests

# The op, layer and kernel tests again with only the NumPy reference kernels (no oneDNN, no numba
# loops): every provider must give the reference's results, and the reference must stay right.
test-numpy-kernels: $(VENV)/.dev-installed
	GANGLION_KERNELS=numpy $(PY) -m pytest -n 2 -q -p no:cacheprovider tests/core tests/nn tests/backend

$(VENV)/.docs-installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[docs]'
	touch $@

# The site in docs/_build/html; the gallery runs the examples in full mode, and sphinx-gallery
# reruns only the examples changed since the last build.
docs: $(VENV)/.docs-installed
	cd docs && ../$(PY) -m sphinx -b html . _build/html

bench: $(VENV)/.dev-installed
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis docs/_build docs/auto_examples docs/gen_modules docs/sg_execution_times.rst
