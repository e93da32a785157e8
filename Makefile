# Two commands a new user needs: `make run` (the demo investigation) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint install bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

# In a terminal: the TUI investigating the bundled demo incident. Without one: --query mode.
run: $(STAMP)
	@if [ -t 0 ] && [ -t 1 ]; then \
		LANCE_LOG=error $(BIN)/copilot --demo; \
	else \
		LANCE_LOG=error $(BIN)/copilot --query "$$($(BIN)/copilot demo question)" --format markdown; \
	fi

test: $(STAMP)
	LANCE_LOG=error $(BIN)/python -m pytest

# ruff and mypy, configured in pyproject.toml; .ci/run runs this before the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
