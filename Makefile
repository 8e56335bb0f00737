# `make run` and `make test` each create .venv and install into it; both are quick once installed.
# `make run` installs what running needs; `make test` adds the test tools (pytest, Playwright).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# setuptools' build warnings are for packagers, not for a council's IT officer starting the product
PIP := PYTHONWARNINGS=ignore $(BIN)/python -m pip
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PYTEST_ARGS ?=

.PHONY: install run test test-fast demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/triage run

test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Skips the suites marked slow; CI runs everything through `make test`.
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# Sends about 30 example messages through the running product (start `make run` first).
demo: $(RUN_STAMP)
	$(BIN)/triage demo

clean:
	rm -rf $(VENV) build *.egg-info
