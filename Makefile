# dermprep: `make demo` and `make test` work on a fresh machine with only Python 3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench docs lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-tf: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[tf]"
	touch $@ $(VENV)/.installed-core

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[demo]"
	touch $@ $(VENV)/.installed-tf $(VENV)/.installed-core

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-demo $(VENV)/.installed-tf $(VENV)/.installed-core

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-demo $(VENV)/.installed-tf $(VENV)/.installed-core

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

## demo: the main job end to end on the embedded synthetic data; report in demo-output/report.html
demo: $(VENV)/.installed-demo
	$(BIN)/dermmodels demo --out demo-output

## test: the whole test suite (the command CI runs), on every core up to 4 (pytest-xdist; each test module's
## tests on one worker, so a module's fixtures are built once); `.venv/bin/python -m pytest` runs it serially
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadscope

## bench: pytest-benchmark suite (ours vs references, same run)
bench: $(VENV)/.installed-bench
	$(BIN)/python -m pytest benchmarks --benchmark-enable --benchmark-columns=min,mean,stddev,rounds -p no:randomly

docs: $(VENV)/.installed-docs $(VENV)/.installed-test
	$(BIN)/python docs/make_figures.py docs/img
	$(BIN)/mkdocs build --strict

lint: $(VENV)/.installed-bench
	$(BIN)/python -m pip install --quiet ruff
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) demo-output site .pytest_cache .benchmarks .hypothesis
