# Quick start (fresh machine):  make demo   |   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check chromium bench bench-design bench-randomise bench-simulate install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/oncotrial demo

# the browser test of the HTML report drives Debian's Chromium (no Playwright download)
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# lint, architecture contracts (pyproject.toml [tool.importlinter]) and types; `make test` runs it first
check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy src

test: $(STAMP) chromium check
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_stats.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache oncotrial-demo

bench-design: $(STAMP)
	$(BIN)/python benchmarks/bench_design.py

bench-randomise: $(STAMP)
	$(BIN)/python benchmarks/bench_randomise.py

bench-simulate: $(STAMP)
	$(BIN)/python benchmarks/bench_simulate.py
