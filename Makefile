# The README's two commands. Both install what is missing first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := $(shell cat packages.apt | grep -v '^\#' | tr '\n' ' ')

.PHONY: demo test lint format system-packages venv clean screenshots

system-packages:
	@bash scripts/install-system-packages.sh

$(STAMP): pyproject.toml tests/web/package-lock.json
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,dev]'
	npm ci --prefix tests/web --no-audit --no-fund --silent
	@touch $(STAMP)

venv: system-packages $(STAMP)

demo: venv
	$(VENV)/bin/office360 demo

test: venv
	PY=$(PY) PYTEST_ARGS="$(PYTEST_ARGS)" bash scripts/test.sh

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache
