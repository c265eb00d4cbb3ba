# Each target sets up .venv on first use (python3 -m venv + pip), then runs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean

$(VENV)/.demo-installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[data,train,viz]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(VENV)/bin/ganglion demo

test: $(VENV)/.dev-installed
	$(PY) -m pytest -n 2 -q -p no:cacheprovider tests

bench: $(VENV)/.dev-installed
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
