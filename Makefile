# Quick start (fresh machine):  make demo   |   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check chromium postgres libreoffice bench bench-design bench-randomise bench-simulate install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,server]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/oncotrial demo

# the browser test of the HTML report drives Debian's Chromium (no Playwright download)
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# the Word report is rendered to PDF by LibreOffice in tests/report/test_docx_render.py
libreoffice:
	@command -v soffice >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-writer-nogui >/dev/null; }

# the server tests start a throw-away PostgreSQL 15 cluster themselves (tests/server/conftest.py);
# they need its binaries (initdb, pg_ctl, pg_dump, pg_restore), not a running server
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; }

# lint, architecture contracts (pyproject.toml [tool.importlinter]) and types; `make test` runs it first
check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy src

test: $(STAMP) chromium postgres libreoffice check
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache oncotrial-demo

bench-design: $(STAMP)
	$(BIN)/python benchmarks/bench_design.py

bench-randomise: $(STAMP)
	$(BIN)/python benchmarks/bench_randomise.py

bench-simulate: $(STAMP)
	$(BIN)/python benchmarks/bench_simulate.py
