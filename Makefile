# The two commands a new user runs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run lint test bench clean

$(BIN)/python:
	@echo "mockverse: creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

# serving needs only the package's own dependencies; tests add the dev extra
$(VENV)/.serving: pyproject.toml | $(BIN)/python
	@echo "mockverse: installing mockverse and what serving needs into $(VENV) (first run only; pip lists each package)"
	@$(BIN)/python -m pip install --progress-bar off -e . | grep -v '^Requirement already satisfied' || true
	@$(BIN)/python -c "import mockverse" && touch $@

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "mockverse: installing mockverse with its dev dependencies (pytest, xdist, playwright, schemathesis, ruff, mypy) into $(VENV)"
	@$(BIN)/python -m pip install --progress-bar off -e '.[dev]' | grep -v '^Requirement already satisfied' || true
	@$(BIN)/python -c "import mockverse, pytest" && touch $@ $(VENV)/.serving

## run: create the venv, install what serving needs, serve the built-in world on http://127.0.0.1:3000
run: $(VENV)/.serving
	@echo "mockverse: serving the built-in world (Ctrl-C stops)"
	$(BIN)/mockverse serve $(ARGS)

## lint: create the venv, install with dev dependencies, check src, tests and bench with ruff, and src with mypy
lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/python -m mypy

## test: lint first (a finding fails the run), then run every test on two xdist workers (PYTEST_ARGS adds options);
## bytecode is cached even where PYTHONDONTWRITEBYTECODE is set, as each test's server process imports the package.
## loadgroup hands out one test (or one xdist_group) at a time in list order, and tests/conftest.py lists the slow
## ones first, slowest first: no worker ends on a long test. (load sends long runs of the list per worker, so the
## slow head would go to one; worksteal splits the list in halves up front and ignores xdist_group.)
test: lint
	@if [ -x scripts/ci-deps.sh ]; then scripts/ci-deps.sh; fi
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

## bench: load-test a warm GET /users/{id} against a raw-ASGI baseline (needs wrk; installed with apt-get as root)
bench: $(VENV)/.installed
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq wrk >/dev/null); } || { echo "make bench needs wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .mockverse test-artifacts .pytest_cache .hypothesis
