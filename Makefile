# Everything runs from a local virtual environment made on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: install
	$(BIN)/python scripts/demo.py

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff format --check mate_hf tests scripts training demo_corpus space
	$(BIN)/ruff check mate_hf tests scripts training demo_corpus space

format: install
	$(BIN)/ruff format mate_hf tests scripts training demo_corpus space
	$(BIN)/ruff check --fix mate_hf tests scripts training demo_corpus space

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache outputs
