# Two commands on a fresh machine: `make dev` runs Plutomi, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint typecheck unit integration e2e bench clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing dependencies into $(VENV) ..."
	@$(BIN)/pip install --disable-pip-version-check --progress-bar off -q -r requirements.txt
	@$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@touch $(STAMP)

dev: $(STAMP)
	$(BIN)/plutomi dev

test: $(STAMP) lint typecheck
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py

clean:
	rm -rf $(VENV) .plutomi .pytest_cache .mypy_cache .ruff_cache
