# Two commands for a newcomer: `make synth` and `make test`. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
CONFIG ?=

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_CLI_NOTICES := false

.PHONY: setup synth test lint typecheck unit report verify-ledger bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

## synth: templates, validation-report.json (and the governance report) in cdk.out/
synth: setup
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices $(if $(CONFIG),-c config=$(CONFIG))
	@echo "synthesized: $$(ls cdk.out/*.template.json | wc -l) templates, compliance: cdk.out/validation-report.json"
	$(PY) -m governance_report --assembly cdk.out

## report: the governance report (Markdown + HTML) from an existing cdk.out
report: setup
	$(PY) -m governance_report --assembly cdk.out

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest -n 2 --dist loadfile -q

## test: everything CI runs, offline
test: lint typecheck unit

## verify-ledger: recompute a model group's hash chain (needs AWS credentials)
verify-ledger: setup
	cd lambda && ../$(PY) -m governance verify-ledger --table $(TABLE) --group $(GROUP)

bench: setup
	$(PY) bench/measure.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
