# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2
# worksteal: a test process that runs out of tests takes some of the other's. With the default
# (load) the last few minutes of the suite once ran on one core while the other stood idle.
# Some machines (and Python images) set PYTHONDONTWRITEBYTECODE=1. Then every process the
# tests start (each CLI command, the engine stack, the browser tests' server) compiles Ferry's
# 300 modules from source again: half a second of CPU each time. Caches are git-ignored.
unexport PYTHONDONTWRITEBYTECODE

# Installs come only from the lock files, with hashes: requirements.lock (what runs) and
# requirements-dev.lock (that plus the dev tools, constrained to the same versions).
# uv only writes them; `make lock` re-resolves on purpose, `make lock-check` fails when
# pyproject.toml changed without them. --universal keeps environment markers, so the locks
# install on any platform and on Python 3.11 and newer, whoever runs `make lock`.
UV_VERSION := 0.13.9
UV := $(BIN)/uv
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)
LOCKS := requirements.lock requirements-dev.lock
UV_COMPILE := $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock'

.PHONY: run test lint install install-dev lock lock-check browser clean

run: $(VENV)/.installed  ## Install and start Ferry with embedded defaults (SQLite, Redis if none answers)
	$(BIN)/ferry run

test: $(VENV)/.installed-dev browser  ## Install and run the whole test suite
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Ferry needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(VENV)/bin/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --editable .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/bin/python $(LOCKS) pyproject.toml
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --editable .
	@touch $@ $(VENV)/.installed

$(UV_STAMP): $(VENV)/bin/python
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	@touch $@

lock: $(UV_STAMP)  ## Re-resolve every dependency to the newest version pyproject.toml allows
	$(UV_COMPILE) --upgrade pyproject.toml -o requirements.lock
	$(UV_COMPILE) --upgrade pyproject.toml --extra dev -c requirements.lock -o requirements-dev.lock

# Re-resolves into copies of the locks without --upgrade: uv keeps the pins (and hashes) of the
# file it writes, so only a change in pyproject.toml makes a difference. Header comments are
# skipped, and the copy's directory is taken out of the dev lock's "-c" annotation.
lock-check: $(UV_STAMP)  ## Fail when pyproject.toml and the lock files disagree
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cp $(LOCKS) "$$tmp"/ && \
	$(UV_COMPILE) pyproject.toml -o "$$tmp"/requirements.lock && \
	$(UV_COMPILE) pyproject.toml --extra dev -c "$$tmp"/requirements.lock \
	  -o "$$tmp"/requirements-dev.lock && \
	for f in $(LOCKS); do \
	  sed "s|$$tmp/||" "$$tmp/$$f" | awk 'body || !/^#/ { body = 1; print }' >"$$tmp/$$f.new"; \
	  awk 'body || !/^#/ { body = 1; print }' "$$f" | cmp -s - "$$tmp/$$f.new" || { \
	    echo "$$f does not match pyproject.toml: run \`make lock\` and commit both"; exit 1; }; \
	done; \
	echo "lock-check: $(LOCKS) match pyproject.toml"

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

clean:
	rm -rf $(VENV) instance .pytest_cache
