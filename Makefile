# hypertrack — two set-up commands: `make demo` and `make test` (see README).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export DAGSTER_HOME := $(CURDIR)/data/dagster_home

.PHONY: demo test dev install lint chromium clean-data

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# constraints.txt pins the CPU wheel of torch (never a multi-GB CUDA download)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hypertrack demo

chromium:
	bash scripts/install_chromium.sh

test: $(STAMP) chromium
	$(PY) -m ruff check hypertrack_pipeline hypertrack_pipeline_tests bench
	$(PY) -m pytest -q

dev: $(STAMP)
	$(VENV)/bin/dg dev -h 127.0.0.1 -p 3000

lint: $(STAMP)
	$(PY) -m ruff check hypertrack_pipeline hypertrack_pipeline_tests bench

clean-data:
	@echo "This deletes everything under data/ except the instance config. Recorded data cannot be recovered."
	@read -p "Type yes to continue: " ans && [ "$$ans" = yes ]
	find data -mindepth 1 -maxdepth 1 ! -name README.md ! -name dagster_home -exec rm -rf {} +
