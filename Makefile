# crmlib workbench. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DB     := data/crm.sqlite

.DEFAULT_GOAL := help
.PHONY: help install reports prune test lab sample benchmarks lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name crmlib --display-name "Python (crmlib)" >/dev/null
	touch $(STAMP)

install: $(STAMP) ## create .venv with crmlib, its dependencies and the `crmlib` Jupyter kernel

$(DB): | $(STAMP)
	$(BIN)/crmlib sample --url sqlite:///$(DB)

sample: $(DB) ## build the sample CRM database (data/crm.sqlite) if it is missing

reports: $(DB) ## run every notebook and publish reports/ plus a site per audience of audiences.yml
	$(BIN)/crmlib run all --audiences audiences.yml

prune: $(STAMP) ## keep the newest 30 runs per report
	$(BIN)/crmlib prune --keep 30

test: $(STAMP) ## unit tests (SQLite and PostgreSQL) and nbval over the notebooks
	$(BIN)/python -m pytest tests --nbval-lax notebooks

lab: $(STAMP) ## start JupyterLab on the project's environment and kernel
	$(BIN)/jupyter lab --notebook-dir=.

benchmarks: $(STAMP) ## run every benchmark in benchmarks/ (prints ratio lines)
	@for b in benchmarks/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP) ## ruff over the package, tests and benchmarks
	$(BIN)/ruff check crmlib tests benchmarks

clean: ## remove the environment, generated data and reports (not the audit log)
	rm -rf $(VENV) $(DB) reports/*/ reports/.audiences reports/index.html  # reports/audit.jsonl stays: the audit trail
