# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test soak bench lint venv clean

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

# Worker processes: one a usable core and one more (tests/workers.py says why and
# counts them). On 2 cores 3 workers took 49 s where 2 took 64 s. TEST_WORKERS=0 runs
# the suite in one process (for a debugger, or -x on the first failure).
TEST_WORKERS ?= $(shell $(PYTHON) tests/workers.py 2>/dev/null || echo 2)

# Bytecode caches on for the suite even where the environment turns them off
# (PYTHONDONTWRITEBYTECODE, common in containers): without them every worker and every
# `counter` subprocess compiles the app again, and pytest rewrites the asserts of every
# test module again, about 4 s of CPU a worker. (Python reads an empty value as unset.)
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

# The lint runs beside the tests, its report printed after theirs: the suite leaves a
# quarter of the cores idle while it waits, and a first lint (mypy without its cache,
# 7 s of CPU) fits in there. Either failing fails `make test`.
test: $(STAMP)
	@lint_log=$$(mktemp); \
	$(MAKE) --no-print-directory lint >"$$lint_log" 2>&1 & lint_pid=$$!; \
	echo "$(PYTEST) -n $(TEST_WORKERS) $(PYTEST_ARGS)"; \
	$(PYTEST) -n $(TEST_WORKERS) $(PYTEST_ARGS); tests=$$?; \
	wait $$lint_pid; lint=$$?; \
	echo "--- make lint, run beside the tests:"; cat "$$lint_log"; rm -f "$$lint_log"; \
	if [ $$lint -ne 0 ]; then echo "make lint failed (above)"; fi; \
	exit $$(( tests != 0 ? tests : lint ))

# The long versions of tests that run short in `make test` (marker `soak`): the memory
# tests at full size. tests/ui/test_memory.py records a day of 200 drop-offs through
# the counter (3 in `make test`); tests/db/test_export_memory.py exports 2,000 against
# 20,000 rows (100 against 500) and tests/db/test_verify_memory.py walks 2,000 against
# 20,000 links (100 against 500). And the property tests (marker `fuzz`) searching as
# far as each asks (tests/fuzzing.py; a fifth of that in `make test`).
soak: $(STAMP)
	COUNTER_FUZZ=full $(PYTEST) -m "soak or fuzz" -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
