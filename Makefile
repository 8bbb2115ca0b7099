# kcs-kit — the two commands: `make lab` (set up + demo + JupyterLab) and `make test` (whole suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.kcs-installed
PORT   ?= 8888

.PHONY: install demo lab test lint bench clean-workspace help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

SYSTEM_STAMP := $(VENV)/.kcs-system

# Debian packages the tests and OCR use (apt-packages.txt); installed when missing and we may.
$(SYSTEM_STAMP): apt-packages.txt
	@missing=$$(for p in $$(cat apt-packages.txt); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq $$missing; \
		else echo "please install the Debian packages: $$missing"; exit 1; fi; \
	fi
	@mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml requirements.lock $(SYSTEM_STAMP)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 needed (found $$($(PYTHON) -V))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps rapidocr-onnxruntime==1.4.4
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

install: $(STAMP)  ## create .venv with the exact pinned dependencies

demo: install  ## build the demo workspace (idempotent) and print its summary
	$(BIN)/kcs demo

lab: demo  ## the main job: demo workspace + JupyterLab on 127.0.0.1 (token auth) at the officer notebook
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) --no-browser \
		--ServerApp.root_dir=$(CURDIR) $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/01_officer.ipynb

test: install  ## run the whole test suite
	$(BIN)/python -m pytest -q

lint: install  ## ruff and mypy
	$(BIN)/ruff check kcs_kit widgets tests
	$(BIN)/mypy kcs_kit

bench: install  ## lake benchmark at 1M and 10M rows -> docs/BENCHMARKS.md
	$(BIN)/kcs bench lake --rows 1000000,10000000

clean-workspace:  ## delete the built demo data (data_lake/, vectorstore/ contents)
	find data_lake vectorstore -mindepth 1 ! -name README.md -delete
