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

.PHONY: install run test test-integration test-e2e lint format bench browser-deps clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/python -m services.stack $(if $(FRESH),--fresh,)

# Integration test modules each run in a pytest process of their own (with its own embedded
# servers): services under test start background tasks and durable consumers, and one module's
# leftovers must not load or steal messages from the next. The run goes on after a failure and
# fails at the end (tests/run_groups.sh). Two at a time with embedded servers; one at a time
# against given ones (NATS_URL set), where they would share streams and durable consumers.
INTEGRATION_GROUPS = tests/integration/console $(sort $(wildcard tests/integration/test_*.py))
INTEGRATION_JOBS ?= $(if $(NATS_URL),1,2)

test: install browser-deps
	$(BIN)/pytest tests/unit tests/sandbox tests/browser --durations=10 $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-integration
	@$(MAKE) --no-print-directory test-e2e

# End-to-end: every service as a real process (tests/e2e/stack.py) on one stack for the session.
test-e2e: install
	$(BIN)/pytest tests/e2e --durations=10 $(PYTEST_ARGS)

test-integration: install
	@PYTEST_ARGS="$(PYTEST_ARGS)" tests/run_groups.sh $(INTEGRATION_JOBS) $(BIN)/pytest $(INTEGRATION_GROUPS)

lint: install
	$(BIN)/ruff check libs services tests bench
	$(BIN)/ruff format --check libs services tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format libs services tests bench
	$(BIN)/ruff check --fix libs services tests bench

bench: install
	$(BIN)/python -m bench

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here);
# without root or apt the browser tests are skipped with a reason, the rest still run.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	      || echo "could not install chromium: browser tests will be skipped"; \
	  else echo "no /usr/bin/chromium and no root apt-get: browser tests will be skipped"; fi; \
	fi

clean:
	rm -rf $(VENV) $(TOOLS) .revsync .pytest_cache .mypy_cache .ruff_cache
