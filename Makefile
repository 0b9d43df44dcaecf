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

# Train MATE on the bundled demo corpus (held-out sessions 9 and 10), then show its results and a prediction.
demo: install
	$(BIN)/accelerate launch --config_file training/accelerate/cpu.yaml training/run.py training/configs/demo.yaml
	$(BIN)/python training/show_demo.py outputs/demo

# The Space's browser test drives Debian's chromium: install-browser adds it (and chromedriver) when missing.
test: install
	bash .ci/install-browser
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff format --check mate_hf tests benchmarks training demo_corpus space
	$(BIN)/ruff check mate_hf tests benchmarks training demo_corpus space

format: install
	$(BIN)/ruff format mate_hf tests benchmarks training demo_corpus space
	$(BIN)/ruff check --fix mate_hf tests benchmarks training demo_corpus space

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache outputs
