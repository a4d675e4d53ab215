# revsync: `make run` starts the whole stack, `make test` runs every test.
# Both install what they need first: a virtualenv with the locked dependencies (uv.lock).

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test test-integration lint format bench browser-deps clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python -m services.stack $(if $(FRESH),--fresh,)

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-integration: install
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check libs services tests bench
	$(BIN)/ruff format --check libs services tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format libs services tests bench
	$(BIN)/ruff check --fix libs services tests bench

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(TOOLS) .revsync .pytest_cache .mypy_cache .ruff_cache
