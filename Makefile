# idaas developer commands. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` needs only the runtime dependencies; lint, test and bench add the test extras.
RUNTIME := $(VENV)/.installed-runtime
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: run test lint format translations runtime-translations install install-runtime bench clean

# setuptools announces every editable install of a flat layout with a warning; it is not one.
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"

$(RUNTIME): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(QUIET_EDITABLE) $(BIN)/pip install -q -e .
	touch $@

$(INSTALLED): $(RUNTIME)
	$(QUIET_EDITABLE) $(BIN)/pip install -q -e '.[test]'
	touch $@

install-runtime: $(RUNTIME)

install: $(INSTALLED)

# pybabel comes with Babel, a dependency of Flask-Babel (runtime).
runtime-translations: $(RUNTIME)
	$(BIN)/pybabel -q compile --use-fuzzy -d idaas/translations -f

translations: $(INSTALLED) runtime-translations

## Start everything on the embedded defaults (SQLite in instance/, loopback only).
run: runtime-translations
	$(BIN)/idaas demo $(RUN_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## ruff, mypy, pytest on SQLite, again on PostgreSQL when IDAAS_TEST_DATABASE_URL is set,
## then the browser tests in Chromium.
test: translations lint
	env -u IDAAS_TEST_DATABASE_URL $(BIN)/pytest -m "not e2e and not postgresql_only" $(PYTEST_ARGS)
	@if [ -n "$$IDAAS_TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL"; \
		$(BIN)/pytest -m "not e2e and not sqlite_only and not packaging" $(PYTEST_ARGS); \
	else \
		echo "== PostgreSQL pass skipped: set IDAAS_TEST_DATABASE_URL=postgresql+psycopg://user@host/db to run it"; \
	fi
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

## Benchmarks print their figures; run by hand or as a separate CI step.
bench: translations
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## Refresh the message catalogue after changing user-facing strings.
messages: $(INSTALLED)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o idaas/translations/messages.pot .
	$(BIN)/pybabel -q update -i idaas/translations/messages.pot -d idaas/translations

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
