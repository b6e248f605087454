# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint venv clean

venv: $(STAMP)

# Recreate the environment whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,sync]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/counter $(ARGS)

# ruff, mypy, and the architecture's contracts ([tool.importlinter] in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check counter_app drivers db tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The suite waits far more than it computes (ptys, threads, child processes, Pilot), so
# it runs in several worker processes that overlap their waits, more than the cores.
# TEST_WORKERS=0 runs it in one process (for a debugger, or -x on the first failure).
TEST_WORKERS ?= 4

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
