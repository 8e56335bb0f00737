# `make run` and `make test` each create .venv and install into it; both are quick once installed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test test-fast demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/triage run

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Skips the suites marked slow; CI runs everything through `make test`.
test-fast: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Sends about 30 example messages through the running product (start `make run` first).
demo: install
	$(BIN)/triage demo

clean:
	rm -rf $(VENV) build *.egg-info
