# crmlib workbench. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DB     := data/crm.sqlite
# Tested versions of every package crmlib[spark,test] needs; `make lock` re-pins it (needs uv).
LOCK   := requirements-lock.txt
EXTRAS := spark,test

comma  := ,

.DEFAULT_GOAL := help
.PHONY: help install lock reports prune test lab sample benchmarks lint docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c $(LOCK) -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name crmlib --display-name "Python (crmlib)" >/dev/null
	touch $(STAMP)

install: $(STAMP) ## create .venv with crmlib[spark,test] at the versions in requirements-lock.txt, and the `crmlib` kernel

# The versions installed in .venv (where `make test` passed) are the constraints (-c /dev/stdin).
lock: ## re-pin requirements-lock.txt to the versions installed (and tested) in .venv, with uv
	$(BIN)/python -m pip freeze --all --exclude-editable | uv pip compile pyproject.toml \
	  $(addprefix --extra ,$(subst $(comma), ,$(EXTRAS)) docs lint) --universal -c /dev/stdin \
	  --python-version $$($(BIN)/python -c 'import platform; print(platform.python_version())') \
	  --annotation-style line --custom-compile-command "make lock" -o $(LOCK)

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

# The documentation site: the `docs` extra into .venv once, then a strict build (a broken link,
# page or API reference fails) into site/.
DOCS_STAMP := $(VENV)/.docs-stamp
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q -c $(LOCK) -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP) ## build the user guide and API reference into site/ (strict: broken links fail)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(STAMP) ## ruff over the package, tests and benchmarks
	$(BIN)/python -m pip install -q -c $(LOCK) -e '.[lint]'
	$(BIN)/ruff check crmlib tests benchmarks

clean: ## remove the environment, generated data, reports and the docs site (not the audit log)
	rm -rf $(VENV) $(DB) reports/*/ reports/.audiences reports/index.html site  # reports/audit.jsonl stays: the audit trail
